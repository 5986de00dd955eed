// Package scheduler runs the analysis cycle of the service: once at
// start-up, then every interval, never two at a time, each bounded by a
// timeout and cancelled on shutdown. A panic inside a cycle is recovered
// and recorded as a failed cycle, so one bad input cannot stop the service.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"
)

// Job is one cycle. It must honour ctx.
type Job func(ctx context.Context) error

// Lease lets several replicas share one schedule: only the holder of the
// lease runs a cycle. The store's TryLock satisfies it.
type Lease interface {
	TryLock(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
}

// Options configures a Scheduler.
type Options struct {
	Interval time.Duration // time between cycle starts
	Timeout  time.Duration // bound of one cycle; zero means Interval
	Job      Job
	Log      *slog.Logger

	// Lease, when set, is taken before each cycle under LeaseName by Holder
	// for Interval plus Timeout, so another replica takes over once a
	// holder stops renewing. Without a lease every replica runs cycles.
	Lease     Lease
	LeaseName string
	Holder    string

	// Trigger, when set, starts an extra cycle when it receives; for tests
	// and for an operator's manual refresh.
	Trigger <-chan struct{}

	// Skipped, when set, runs instead of Job when another replica holds the
	// lease, so a follower can pick up what the holder produced.
	Skipped Job
}

// Outcome describes the last finished cycle.
type Outcome struct {
	Started  time.Time
	Duration time.Duration
	Err      error // nil on success
	Skipped  bool  // another replica holds the lease
}

// Scheduler runs Options.Job on its schedule.
type Scheduler struct {
	opts Options

	// cycleMu makes cycles run one at a time, even when RunOnce is called
	// beside Run.
	cycleMu sync.Mutex

	mu          sync.Mutex
	last        Outcome
	lastSuccess time.Time
	running     bool
}

// New returns a Scheduler, or an error for an interval or timeout that is
// not positive or a missing job.
func New(opts Options) (*Scheduler, error) {
	if opts.Interval <= 0 {
		return nil, fmt.Errorf("invalid interval %v: must be positive", opts.Interval)
	}
	if opts.Timeout < 0 {
		return nil, fmt.Errorf("invalid cycle timeout %v: must be positive", opts.Timeout)
	}
	if opts.Timeout == 0 {
		opts.Timeout = opts.Interval
	}
	if opts.Job == nil {
		return nil, errors.New("no job to schedule")
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Lease != nil && (opts.LeaseName == "" || opts.Holder == "") {
		return nil, errors.New("a lease needs a name and a holder")
	}
	return &Scheduler{opts: opts}, nil
}

// Run runs a cycle at once and then every interval until ctx is cancelled,
// and returns after the running cycle, if any, has stopped.
func (s *Scheduler) Run(ctx context.Context) {
	ticker := time.NewTicker(s.opts.Interval)
	defer ticker.Stop()

	for {
		s.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-s.opts.Trigger:
		}
	}
}

// RunOnce runs one cycle now, unless another replica holds the lease, and
// returns its outcome. A cycle that outlives Timeout is cancelled.
func (s *Scheduler) RunOnce(ctx context.Context) Outcome {
	if ctx.Err() != nil {
		return Outcome{Err: ctx.Err()}
	}
	s.cycleMu.Lock()
	defer s.cycleMu.Unlock()
	started := time.Now()

	if s.opts.Lease != nil {
		ttl := s.opts.Interval + s.opts.Timeout
		held, err := s.opts.Lease.TryLock(ctx, s.opts.LeaseName, s.opts.Holder, ttl)
		if err != nil {
			s.opts.Log.Warn("cycle lease not checked; skipping this cycle", "err", err)
		}
		if !held {
			out := Outcome{Started: started, Skipped: true}
			if s.opts.Skipped != nil {
				if err := s.opts.Skipped(ctx); err != nil {
					s.opts.Log.Warn("following the replica that holds the cycle lease", "err", err)
				}
			}
			s.record(out)
			return out
		}
	}

	s.setRunning(true)
	defer s.setRunning(false)

	cctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	err := s.safeRun(cctx)
	if err != nil && errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		err = fmt.Errorf("cycle timed out after %v: %w", s.opts.Timeout, err)
	}

	out := Outcome{Started: started, Duration: time.Since(started), Err: err}
	s.record(out)
	if err != nil {
		s.opts.Log.Error("cycle failed", "err", err, "duration_seconds", out.Duration.Seconds())
	}
	return out
}

// safeRun runs the job and turns a panic into an error carrying the stack.
func (s *Scheduler) safeRun(ctx context.Context) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("cycle panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return s.opts.Job(ctx)
}

func (s *Scheduler) record(out Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = out
	if out.Err == nil && !out.Skipped {
		s.lastSuccess = out.Started.Add(out.Duration)
	}
}

func (s *Scheduler) setRunning(v bool) {
	s.mu.Lock()
	s.running = v
	s.mu.Unlock()
}

// Last returns the outcome of the last cycle and when a cycle last
// succeeded (zero when none has).
func (s *Scheduler) Last() (last Outcome, lastSuccess time.Time, running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, s.lastSuccess, s.running
}
