package live

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/window"
)

// base is the time of the fixed test clock: the fixtures in testdata date
// their lines in the hour before it.
var base = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

// testClock is a settable clock.
type testClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *testClock {
	c := new(testClock)
	c.set(t)
	return c
}

func (c *testClock) now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

// testOptions returns options for a source with a one-hour window, a clock
// at base, UTC for zone-less timestamps and fast polling.
func testOptions(t *testing.T) Options {
	t.Helper()
	return Options{
		Parser:       filterlog.Options{Location: time.UTC},
		Now:          newClock(base).now,
		Logger:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		PollInterval: 20 * time.Millisecond,
		RotateWait:   200 * time.Millisecond,
		Window:       window.Config{MaxLookback: time.Hour},
	}
}

// start creates a Source, runs it until the test ends and waits until it
// is ready.
func start(t *testing.T, opts Options) *Source {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of cancel")
		}
	})

	select {
	case <-s.Ready():
	case err := <-done:
		t.Fatalf("Run returned before ready: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("source not ready within 5s")
	}
	return s
}

// waitFor polls cond until it holds or 5 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitLines waits until the source has received want lines in total.
func waitLines(t *testing.T, s *Source, want uint64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d lines", want), func() bool { return totalLines(s) >= want })
}

func totalLines(s *Source) uint64 {
	var n uint64
	for _, c := range s.Lines() {
		n += c
	}
	return n
}

// settle waits a few polls and checks that the line count stayed at want,
// so that a duplicate read would show.
func settle(t *testing.T, s *Source, want uint64) {
	t.Helper()
	time.Sleep(10 * s.opts.PollInterval)
	if got := totalLines(s); got != want {
		t.Errorf("lines = %d after settling, want %d (%v)", got, want, s.Lines())
	}
}

func observe(t *testing.T, s *Source, until time.Time) source.Observation {
	t.Helper()
	obs, err := s.Observe(t.Context(), until, time.Hour)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	return obs
}

// blockedCounts returns the blocked sources of obs with their counts.
func blockedCounts(obs source.Observation) map[netip.Addr]uint64 {
	counts := make(map[netip.Addr]uint64)
	for _, b := range obs.Blocked {
		counts[b.Addr] = b.Count
	}
	return counts
}

func checkBlocked(t *testing.T, obs source.Observation, want map[string]uint64) {
	t.Helper()
	got := blockedCounts(obs)
	for addr, n := range want {
		if c := got[netip.MustParseAddr(addr)]; c != n {
			t.Errorf("blocked %s: count %d, want %d (all: %v)", addr, c, n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("blocked sources = %v, want %d of them", got, len(want))
	}
}

// inputStatus returns the status of the input named name.
func inputStatus(t testing.TB, s *Source, name string) InputStatus {
	t.Helper()
	for _, st := range s.Inputs() {
		if st.Name == name {
			return st
		}
	}
	t.Fatalf("no input named %q in %+v", name, s.Inputs())
	return InputStatus{}
}

// boundAddr returns the bound address of the first listener of kind.
func boundAddr(t testing.TB, s *Source, kind string) string {
	t.Helper()
	for _, st := range s.Inputs() {
		if st.Kind == kind {
			return st.Addr
		}
	}
	t.Fatalf("no %s listener in %+v", kind, s.Inputs())
	return ""
}

func readTestdata(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// blockLine returns an RFC 5424 filterlog line of a blocked inbound TCP
// packet from src to port 22 at ts.
func blockLine(ts time.Time, src string) string {
	return fmt.Sprintf("<134>1 %s fw.example.com filterlog 30177 - - 5,,,1000000103,igb0,match,block,in,4,0x0,,52,54321,0,none,6,tcp,44,%s,198.51.100.1,51515,22,0,S,1234,,1024,,mss",
		ts.UTC().Format(time.RFC3339Nano), src)
}

// blockLines returns n block lines from src, a second apart, ending a
// minute before base, each with its LF.
func blockLines(n int, src string) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(blockLine(base.Add(-time.Minute-time.Duration(n-i)*time.Second), src))
		b.WriteByte('\n')
	}
	return b.String()
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendFile(t *testing.T, path, content string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(content); err != nil {
		t.Fatal(err)
	}
}

func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dialing %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func write(t *testing.T, conn net.Conn, data string) {
	t.Helper()
	if _, err := conn.Write([]byte(data)); err != nil {
		t.Fatalf("writing to %s: %v", conn.RemoteAddr(), err)
	}
}

// octetFrame frames msg with octet counting.
func octetFrame(msg string) string {
	return fmt.Sprintf("%d %s", len(msg), msg)
}

// waitClosed waits until the server closes conn: a read returns EOF or a
// reset instead of timing out.
func waitClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	_, err := conn.Read(buf)
	if err == nil {
		t.Fatal("server sent data; want the connection closed")
	}
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection still open after 5s; want it closed by the server")
	}
}

func joinLines(lines ...string) string {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
