package live

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/window"
)

func TestNewRejectsInvalidOptions(t *testing.T) {
	valid := func() Options {
		return Options{Paths: []string{"/var/log/filter.log"}, Window: window.Config{MaxLookback: time.Hour}}
	}
	tests := []struct {
		name    string
		modify  func(*Options)
		wantErr string
	}{
		{"no input", func(o *Options) { o.Paths = nil }, "no live input"},
		{"standard input", func(o *Options) { o.Paths = []string{"-"} }, "standard input cannot be followed"},
		{"empty path", func(o *Options) { o.Paths = []string{""} }, "invalid log file path: empty"},
		{"bad glob", func(o *Options) { o.Paths = []string{"/var/log/[filter.log"} }, `invalid glob pattern "/var/log/[filter.log"`},
		{"bad listen address", func(o *Options) { o.Listen = "http://:80" }, `invalid syslog listen address "http://:80"`},
		{"negative poll interval", func(o *Options) { o.PollInterval = -time.Second }, "invalid poll interval -1s"},
		{"negative idle timeout", func(o *Options) { o.IdleTimeout = -time.Second }, "invalid idle timeout -1s"},
		{"negative maximum connections", func(o *Options) { o.MaxConnections = -1 }, "invalid maximum connections -1"},
		{"no lookback", func(o *Options) { o.Window.MaxLookback = 0 }, "invalid maximum lookback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid()
			tt.modify(&opts)
			_, err := New(opts)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestLinesListsEveryOutcome(t *testing.T) {
	s, err := New(Options{Listen: "127.0.0.1:0", Window: window.Config{MaxLookback: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	lines := s.Lines()
	for _, outcome := range append(filterlog.SkipReasons(), OutcomeParsed) {
		n, ok := lines[outcome]
		if !ok {
			t.Errorf("Lines has no %q", outcome)
		}
		if n != 0 {
			t.Errorf("Lines[%q] = %d before any input, want 0", outcome, n)
		}
	}
}

func TestRunStopsWithoutLeaks(t *testing.T) {
	before := runtime.NumGoroutine()

	opts := syslogOptions(t)
	opts.Paths = []string{filepath.Join(t.TempDir(), "*.log")}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	<-s.Ready()

	// An open connection in the middle of a message must not hold up
	// the shutdown.
	conn, err := net.Dial("tcp", boundAddr(t, s, KindTCP))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	write(t, conn, "<134>1 2025-03-14T11:59:00Z fw filterlog - - - 5,,,")
	waitFor(t, "the connection to be accepted", func() bool {
		return inputStatus(t, s, "tcp://127.0.0.1:0").Connections == 1
	})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v after cancel, want nil", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return within 2s of cancel")
	}

	for _, st := range s.Inputs() {
		if st.Kind != KindFile && st.Active {
			t.Errorf("listener %s still active after Run returned", st.Name)
		}
	}
	waitFor(t, "the goroutines to end", func() bool { return runtime.NumGoroutine() <= before })
}

func TestRunTwice(t *testing.T) {
	s := start(t, syslogOptions(t))
	err := s.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "already started") {
		t.Errorf("second Run = %v, want an \"already started\" error", err)
	}
}

func TestRunBindFailure(t *testing.T) {
	occupied, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer occupied.Close()

	opts := testOptions(t)
	opts.Listen = "udp://127.0.0.1:0,tcp://" + occupied.Addr().String()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "listening for syslog on tcp://"+occupied.Addr().String()) {
		t.Fatalf("Run = %v, want an error naming the occupied address", err)
	}

	if _, err := s.Observe(t.Context(), time.Time{}, time.Hour); err == nil || !strings.Contains(err.Error(), "failed to start") {
		t.Errorf("Observe after a failed start = %v, want \"failed to start\"", err)
	}
}

func TestObserveWaitsForStart(t *testing.T) {
	s, err := New(syslogOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = s.Observe(ctx, time.Time{}, time.Hour)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Observe before Run = %v, want the context's deadline error", err)
	}
}

func TestObserveLookbackTooLong(t *testing.T) {
	s := start(t, syslogOptions(t))
	_, err := s.Observe(t.Context(), time.Time{}, 2*time.Hour)
	if err == nil || !strings.Contains(err.Error(), "invalid lookback 2h0m0s") {
		t.Errorf("Observe with a lookback over the maximum = %v, want \"invalid lookback 2h0m0s\"", err)
	}
}

func TestObserveUntilDefaultsToClock(t *testing.T) {
	opts := syslogOptions(t)
	clock := newClock(base)
	opts.Now = clock.now
	s := start(t, opts)

	conn := dial(t, "udp", boundAddr(t, s, KindUDP))
	write(t, conn, blockLine(base.Add(-time.Minute), "192.0.2.90"))
	waitLines(t, s, 1)

	if obs := observe(t, s, time.Time{}); !obs.End.Equal(base) {
		t.Errorf("End = %v, want the clock's %v", obs.End, base)
	}
	clock.set(base.Add(2 * time.Hour))
	obs := observe(t, s, time.Time{})
	if len(obs.Blocked) != 0 {
		t.Errorf("blocked = %v two hours later, want the event aged out", obs.Blocked)
	}
}

func TestObservePartialWhenOneInputFails(t *testing.T) {
	opts := syslogOptions(t)
	missing := filepath.Join(t.TempDir(), "filter.log")
	opts.Paths = []string{missing}
	s := start(t, opts)

	_, err := s.Observe(t.Context(), time.Time{}, time.Hour)
	var inputErr *InputError
	if !errors.As(err, &inputErr) {
		t.Fatalf("Observe = %v, want an *InputError", err)
	}
	if !inputErr.Partial() {
		t.Error("Partial() = false, want true: the listeners work")
	}
	names := make([]string, len(inputErr.Failed))
	for i, f := range inputErr.Failed {
		names[i] = f.Name
	}
	if !slices.Equal(names, []string{missing}) {
		t.Errorf("failed inputs = %v, want only %s", names, missing)
	}
	if !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "file not found") {
		t.Errorf("error %q does not name the file and the problem", err)
	}
}
