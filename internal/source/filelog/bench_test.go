package filelog

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/source/filelog/filelogtest"
)

var benchLines = flag.Int("bench-lines", 10_000_000, "number of lines in the file BenchmarkObserve generates")

// BenchmarkObserve generates a log of -bench-lines lines over one hour and
// measures one Observe of the whole file. The lines are 45% blocked IPv4
// from a few heavy scanners, 15% blocked IPv6 from a new source each time,
// 36% outbound on the WAN and LAN, and 4% LAN blocks. It reports lines/s and
// the peak resident memory of the test process (VmHWM), which includes the
// test binary itself but not the generated file's page cache.
func BenchmarkObserve(b *testing.B) {
	path := filepath.Join(b.TempDir(), "filter.log")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := filelogtest.Generate(f, filelogtest.Options{Lines: *benchLines, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}

	s, err := New(Options{Paths: []string{path}})
	if err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	for range b.N {
		obs, err := s.Observe(b.Context(), time.Time{}, time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		if got := obs.Lines[OutcomeParsed]; got != uint64(*benchLines) {
			b.Fatalf("parsed %d lines, want %d (outcomes %v)", got, *benchLines, obs.Lines)
		}
	}
	b.StopTimer()

	b.ReportMetric(float64(*benchLines)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	if hwm, err := peakRSS(); err == nil {
		b.ReportMetric(float64(hwm)/(1<<20), "peak-RSS-MiB")
	} else {
		b.Logf("peak RSS unknown: %v", err)
	}
}

// peakRSS returns the process's peak resident set size in bytes, from the
// VmHWM line of /proc/self/status (Linux only).
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if value, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			kib, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(value, []byte("kB")))), 10, 64)
			return kib << 10, err
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, os.ErrNotExist
}
