package feeds

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestParseLargeFile parses a generated 50 MiB list that repeats a few
// thousand entries, and checks that parsing allocates far less than the
// file's size: the file is streamed, and repeats are dropped as they come.
func TestParseLargeFile(t *testing.T) {
	const size = 50 << 20
	path := filepath.Join(t.TempDir(), "large.txt")
	file, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(file)
	written := 0
	for i := 0; written < size; i++ {
		var line string
		switch {
		case i%50 == 0:
			line = fmt.Sprintf("# comment %d mentions 192.0.2.%d\r\n", i, i/50%256)
		case i%50 == 1:
			line = fmt.Sprintf("2001:db8::%x\r\n", i/50%256)
		case i%50 == 2:
			line = fmt.Sprintf("203.0.113.%d/32 ; note\r\n", i/50%256)
		case i%2 == 0:
			line = fmt.Sprintf("192.0.2.%d\r\n", i/2%256)
		default:
			line = fmt.Sprintf("198.51.100.%d\r\n", i/2%256)
		}
		n, err := w.WriteString(line)
		if err != nil {
			t.Fatal(err)
		}
		written += n
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	res, err := Parse(f, FormatAuto, path)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}

	// 256 hosts in each of the three IPv4 documentation /24s, and 256 IPv6
	// hosts.
	if got, want := len(res.Prefixes), 4*256; got != want {
		t.Errorf("entries = %d, want %d", got, want)
	}
	if res.Skipped != 0 {
		t.Errorf("Skipped = %d, want 0: %v", res.Skipped, res.SkippedLines)
	}
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("parsed %d lines of %d bytes, allocating %d bytes", res.Lines, written, allocated)
	if limit := uint64(16 << 20); allocated > limit {
		t.Errorf("Parse allocated %d bytes for a %d-byte file, want at most %d", allocated, written, limit)
	}
}
