package scheduler

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func newScheduler(t *testing.T, opts Options) *Scheduler {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunStartsAtOnceAndRepeats(t *testing.T) {
	var runs atomic.Int32
	start := time.Now()
	var first atomic.Int64
	s := newScheduler(t, Options{Interval: 50 * time.Millisecond, Job: func(ctx context.Context) error {
		if runs.Add(1) == 1 {
			first.Store(int64(time.Since(start)))
		}
		return nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 280*time.Millisecond)
	defer cancel()
	s.Run(ctx)

	if d := time.Duration(first.Load()); d > 40*time.Millisecond {
		t.Errorf("first cycle started after %v, want at once", d)
	}
	if n := runs.Load(); n < 3 {
		t.Errorf("%d cycles in 280ms at a 50ms interval, want at least 3", n)
	}
	if _, lastSuccess, _ := s.Last(); lastSuccess.IsZero() {
		t.Error("Last reports no successful cycle")
	}
}

func TestCyclesNeverOverlap(t *testing.T) {
	var running, maxRunning atomic.Int32
	s := newScheduler(t, Options{Interval: 5 * time.Millisecond, Job: func(ctx context.Context) error {
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := maxRunning.Load()
			if n <= m || maxRunning.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		return nil
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()

	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.Run(ctx) }()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			s.RunOnce(ctx)
		}
	}()
	wg.Wait()
	if m := maxRunning.Load(); m != 1 {
		t.Errorf("%d cycles ran at once, want 1", m)
	}
}

func TestPanicBecomesFailedCycle(t *testing.T) {
	var logs bytes.Buffer
	s := newScheduler(t, Options{
		Interval: time.Hour,
		Log:      slog.New(slog.NewTextHandler(&logs, nil)),
		Job:      func(ctx context.Context) error { panic("bad input") },
	})
	out := s.RunOnce(context.Background())
	if out.Err == nil || !strings.Contains(out.Err.Error(), "cycle panicked: bad input") {
		t.Fatalf("outcome error = %v, want the panic", out.Err)
	}
	if !strings.Contains(logs.String(), "cycle failed") {
		t.Errorf("no error logged:\n%s", logs.String())
	}
	last, lastSuccess, _ := s.Last()
	if last.Err == nil || !lastSuccess.IsZero() {
		t.Errorf("Last = %+v, success %v; want the failure recorded and no success", last, lastSuccess)
	}
}

func TestTimeoutCancelsCycle(t *testing.T) {
	s := newScheduler(t, Options{Interval: time.Hour, Timeout: 30 * time.Millisecond, Job: func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}})
	start := time.Now()
	out := s.RunOnce(context.Background())
	if time.Since(start) > time.Second {
		t.Errorf("cycle ran %v past its 30ms timeout", time.Since(start))
	}
	if out.Err == nil || !strings.Contains(out.Err.Error(), "timed out after 30ms") {
		t.Errorf("outcome error = %v, want a timeout", out.Err)
	}
}

func TestShutdownCancelsRunningCycle(t *testing.T) {
	started := make(chan struct{})
	s := newScheduler(t, Options{Interval: time.Hour, Job: func(ctx context.Context) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	<-started
	cancel()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}

type fakeLease struct {
	mu      sync.Mutex
	holder  string
	err     error
	callers []string
}

func (l *fakeLease) TryLock(_ context.Context, name, holder string, ttl time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.callers = append(l.callers, holder)
	if l.err != nil {
		return false, l.err
	}
	if l.holder == "" {
		l.holder = holder
	}
	return l.holder == holder, nil
}

func TestLeaseLetsOneReplicaRun(t *testing.T) {
	lease := &fakeLease{}
	var runsA, runsB atomic.Int32
	a := newScheduler(t, Options{Interval: time.Hour, Lease: lease, LeaseName: "cycle", Holder: "a",
		Job: func(context.Context) error { runsA.Add(1); return nil }})
	b := newScheduler(t, Options{Interval: time.Hour, Lease: lease, LeaseName: "cycle", Holder: "b",
		Job: func(context.Context) error { runsB.Add(1); return nil }})

	var followed atomic.Int32
	b.opts.Skipped = func(context.Context) error { followed.Add(1); return nil }

	a.RunOnce(context.Background())
	out := b.RunOnce(context.Background())
	if !out.Skipped {
		t.Error("replica b ran while a holds the lease")
	}
	if followed.Load() != 1 {
		t.Errorf("replica b followed %d times, want once for its skipped cycle", followed.Load())
	}
	if runsA.Load() != 1 || runsB.Load() != 0 {
		t.Errorf("runs a=%d b=%d, want 1 and 0", runsA.Load(), runsB.Load())
	}
}

func TestLeaseErrorSkipsCycle(t *testing.T) {
	var logs bytes.Buffer
	lease := &fakeLease{err: errors.New("store unreachable")}
	var runs atomic.Int32
	s := newScheduler(t, Options{Interval: time.Hour, Lease: lease, LeaseName: "cycle", Holder: "a",
		Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Job: func(context.Context) error { runs.Add(1); return nil }})
	if out := s.RunOnce(context.Background()); !out.Skipped || runs.Load() != 0 {
		t.Errorf("outcome %+v, runs %d; want a skipped cycle", out, runs.Load())
	}
	if !strings.Contains(logs.String(), "store unreachable") {
		t.Errorf("lease error not logged:\n%s", logs.String())
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	job := func(context.Context) error { return nil }
	tests := []struct {
		name string
		opts Options
	}{
		{"zero interval", Options{Job: job}},
		{"negative timeout", Options{Interval: time.Second, Timeout: -time.Second, Job: job}},
		{"no job", Options{Interval: time.Second}},
		{"lease without holder", Options{Interval: time.Second, Job: job, Lease: &fakeLease{}, LeaseName: "cycle"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.opts); err == nil {
				t.Error("New succeeded, want an error")
			}
		})
	}
}
