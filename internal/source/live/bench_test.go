package live

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/window"
)

// benchSource runs a Source with a discarding logger until stop is called.
func benchSource(b *testing.B, opts Options) (s *Source, stop func()) {
	b.Helper()
	opts.Parser = filterlog.Options{Location: time.UTC}
	opts.Now = newClock(base).now
	opts.Window = window.Config{MaxLookback: time.Hour}
	s, err := New(opts)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Ready()
	return s, func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
}

// benchWait waits until the source has counted want lines.
func benchWait(b *testing.B, s *Source, want uint64) {
	b.Helper()
	deadline := time.Now().Add(time.Minute)
	for totalLines(s) < want {
		if time.Now().After(deadline) {
			b.Fatalf("only %d of %d lines counted within a minute", totalLines(s), want)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkTCPIngest measures one TCP connection's lines through framing,
// parsing and the window, from the first write until the last line is
// counted. One op is one line.
func BenchmarkTCPIngest(b *testing.B) {
	for _, framing := range []string{"newline", "octet counted"} {
		b.Run(framing, func(b *testing.B) {
			s, stop := benchSource(b, Options{Listen: "tcp://127.0.0.1:0"})
			defer stop()
			conn, err := net.Dial("tcp", boundAddr(b, s, KindTCP))
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close()

			const batch = 1000
			var chunk strings.Builder
			for i := range batch {
				line := blockLine(base.Add(-time.Duration(i)*time.Second), "192.0.2.10")
				if framing == "newline" {
					chunk.WriteString(line + "\n")
				} else {
					chunk.WriteString(octetFrame(line))
				}
			}
			data := []byte(chunk.String())
			b.SetBytes(int64(len(data) / batch))

			b.ResetTimer()
			sent := 0
			for sent < b.N {
				if _, err := conn.Write(data); err != nil {
					b.Fatal(err)
				}
				sent += batch
			}
			benchWait(b, s, uint64(sent))
			b.StopTimer()
			b.ReportMetric(float64(sent)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}

// BenchmarkFollowStartup measures the start-up read of a plain log file of
// 100,000 lines. One op is one whole read.
func BenchmarkFollowStartup(b *testing.B) {
	path := filepath.Join(b.TempDir(), "filter.log")
	const lines = 100_000
	var content strings.Builder
	for i := range lines {
		content.WriteString(blockLine(base.Add(-time.Duration(i%3000)*time.Second), "192.0.2.10"))
		content.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(content.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(content.Len()))

	for b.Loop() {
		s, stop := benchSource(b, Options{Paths: []string{path}})
		got := totalLines(s)
		stop()
		if got != lines {
			b.Fatalf("read %d lines, want %d", got, lines)
		}
	}
	b.ReportMetric(float64(lines*b.N)/b.Elapsed().Seconds(), "lines/s")
}
