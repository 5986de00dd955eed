package live

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/threat-intel/threat-intel/internal/source"
)

// Input kinds of InputStatus.Kind.
const (
	KindFile = "file"
	KindUDP  = "udp"
	KindTCP  = "tcp"
)

// InputStatus is the state of one input, for the health endpoint.
type InputStatus struct {
	// Name is the path or glob pattern as configured, or the endpoint such
	// as "udp://0.0.0.0:5514".
	Name string `json:"name"`
	Kind string `json:"kind"` // KindFile, KindUDP or KindTCP
	// Addr is the bound address of a listener, which differs from Name
	// when the configured port is 0.
	Addr string `json:"addr,omitempty"`
	// Active is true while a listener is bound, or while a file input
	// follows at least one file.
	Active bool `json:"active"`
	// Files is the number of files a file input follows.
	Files int `json:"files,omitempty"`
	// Connections is the number of open connections of a TCP listener.
	Connections int `json:"connections,omitempty"`
	// Lines is the number of lines or messages received since start-up.
	Lines uint64 `json:"lines"`
	// LastLineAt is when the last line was received, by the source's clock.
	LastLineAt time.Time `json:"last_line_at,omitzero"`
	// Err describes what is wrong with the input now, such as a pattern
	// that matches no file; it is empty when the input works.
	Err string `json:"error,omitempty"`
}

// input is the live state behind an InputStatus. The counters are updated
// for every line, so they are atomic. The rest changes rarely and is
// guarded by mu.
type input struct {
	name, kind string

	lines       atomic.Uint64
	lastLine    atomic.Int64 // Unix nanoseconds, 0 before the first line
	connections atomic.Int64

	mu     sync.Mutex
	addr   string
	active bool
	files  int
	err    string
}

func newInput(name, kind string) *input {
	return &input{name: name, kind: kind}
}

// received counts one line arrived at now.
func (in *input) received(now time.Time) {
	in.lines.Add(1)
	in.lastLine.Store(now.UnixNano())
}

func (in *input) setListening(addr string, active bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.addr = addr
	in.active = active
}

// setFiles records the files a file input follows and its current
// problem, and returns the problem it had before.
func (in *input) setFiles(files int, problem string) (previous string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	previous = in.err
	in.files = files
	in.active = files > 0
	in.err = problem
	return previous
}

func (in *input) status() InputStatus {
	in.mu.Lock()
	st := InputStatus{
		Name:   in.name,
		Kind:   in.kind,
		Addr:   in.addr,
		Active: in.active,
		Files:  in.files,
		Err:    in.err,
	}
	in.mu.Unlock()

	st.Connections = int(in.connections.Load())
	st.Lines = in.lines.Load()
	if ns := in.lastLine.Load(); ns != 0 {
		st.LastLineAt = time.Unix(0, ns)
	}
	return st
}

// InputError is returned by Source.Observe, with the Observation, when some
// inputs have a problem. The Observation is worth reporting when another
// input works; a report made only of failed inputs would be empty for the
// wrong reason.
type InputError struct {
	Failed []InputStatus // the inputs whose Err is set
	// Working is the number of inputs that are active: bound, or following
	// at least one file.
	Working int
}

var _ source.PartialError = (*InputError)(nil)

func (e *InputError) Error() string {
	msgs := make([]string, len(e.Failed))
	for i, f := range e.Failed {
		msgs[i] = fmt.Sprintf("%s input %q: %s", f.Kind, f.Name, f.Err)
	}
	return fmt.Sprintf("%d live inputs have problems (%d working): %s", len(e.Failed), e.Working, strings.Join(msgs, "; "))
}

// Partial reports whether at least one input works, so the Observation that
// comes with the error holds real data.
func (e *InputError) Partial() bool { return e.Working > 0 }

// logLimiter lets one log message through per interval and counts the ones
// it holds back, so that a flood of bad connections cannot flood the log.
type logLimiter struct {
	interval time.Duration

	mu         sync.Mutex
	next       time.Time
	suppressed int
}

// allow reports whether a message may be logged now, and how many were
// held back since the last one that was.
func (l *logLimiter) allow() (ok bool, suppressed int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if now.Before(l.next) {
		l.suppressed++
		return false, 0
	}
	l.next = now.Add(l.interval)
	suppressed, l.suppressed = l.suppressed, 0
	return true, suppressed
}
