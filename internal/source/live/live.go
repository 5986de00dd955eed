// Package live is the event source of the service. It receives firewall
// log lines as they are written, from syslog over UDP and TCP and from log
// files that it follows. Their events go into one time-bucketed window, of
// which every cycle takes a snapshot.
//
// At start-up the files' existing lines inside the lookback window are read,
// so the first report is complete. Then the files are polled: growth is read,
// a rotated file is read to its end before its successor is read from the
// start, and a truncated file is read again from the start.
package live

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/window"
)

// Defaults for the zero fields of Options.
const (
	DefaultPollInterval   = 500 * time.Millisecond
	DefaultRotateWait     = 5 * time.Second
	DefaultMaxConnections = 256
	DefaultIdleTimeout    = 5 * time.Minute
)

// OutcomeParsed is the Lines key for lines that parsed. Skipped lines are
// counted under their filterlog skip reason.
const OutcomeParsed = "parsed"

// outcomeOther counts skip errors with a reason filterlog does not list,
// which Parse never returns. It shows in Lines only when not zero.
const outcomeOther = "error"

// Options configures a Source.
type Options struct {
	// Paths are the log files and glob patterns to follow. Plain files are
	// read from the start and followed. Gzip files are read once at
	// start-up, because they are rotated logs that no longer grow. A glob
	// such as /var/log/filter.log* brings the rotated files into the
	// start-up read; a plain path reads only the file it names.
	Paths []string
	// Listen is the syslog listen specification that ParseListen reads,
	// such as "udp://0.0.0.0:5514,tcp://0.0.0.0:5514" or ":5514" for both.
	Listen string

	// Parser sets the zone of timestamps without one. Its Now defaults to
	// the source's clock.
	Parser filterlog.Options
	// Window sets the classifier, the WAN interfaces, the top-N sizes and
	// the memory bound. MaxLookback is required: it is the longest lookback
	// Observe serves, and lines older than that are not counted. Its Now
	// defaults to the source's clock.
	Window window.Config

	// Now is the clock that dates received lines and ends a window whose
	// end is not given. It is called from several goroutines. Nil means
	// time.Now. Polling and timeouts use the real time whatever Now returns.
	Now func() time.Time
	// Logger receives start, stop and input problems. Nil discards them.
	Logger *slog.Logger

	// PollInterval is how often followed files are checked for growth,
	// rotation and truncation, and glob patterns for new files. Default:
	// DefaultPollInterval.
	PollInterval time.Duration
	// RotateWait is how long a file that was rotated away or deleted is
	// still read after its last growth, for the lines a writer adds before
	// it reopens its log. Default: DefaultRotateWait.
	RotateWait time.Duration

	// MaxConnections caps the open TCP connections of each TCP listener.
	// Connections beyond it are closed at once. Default:
	// DefaultMaxConnections.
	MaxConnections int
	// IdleTimeout closes a TCP connection that sends nothing for this long.
	// Default: DefaultIdleTimeout.
	IdleTimeout time.Duration
}

// Source is the live event source. New configures it, Run receives lines
// until its context ends, and Observe takes snapshots meanwhile. It is safe
// for concurrent use.
type Source struct {
	opts      Options
	endpoints []Endpoint
	now       func() time.Time
	log       *slog.Logger
	window    *window.Window
	lookback  time.Duration

	outcomes map[string]*atomic.Uint64 // read-only after New
	other    atomic.Uint64
	tooOld   atomic.Uint64

	files   []*input // one per path, in the order given
	servers []*input // one per endpoint, in the order given

	// parsers lends parsers to the TCP connections. There can be far more
	// connections than cores, so sharing pays for a parser's interned
	// strings once per core instead of once per connection.
	parsers chan *lineParser

	started   atomic.Bool
	ready     chan struct{} // closed when the start-up read is done or failed
	readyOnce sync.Once
	startErr  error // set before ready is closed
}

var _ source.Source = (*Source)(nil)

// lineParser is a parser with the event it fills.
type lineParser struct {
	parser *filterlog.Parser
	event  filterlog.Event
}

// New returns a Source, or an error naming the invalid option.
func New(opts Options) (*Source, error) {
	endpoints, err := ParseListen(opts.Listen)
	if err != nil {
		return nil, err
	}
	if len(opts.Paths) == 0 && len(endpoints) == 0 {
		return nil, errors.New("no live input: set FILTERLOG_PATH to log files or SYSLOG_LISTEN to a syslog address")
	}
	if err := checkPaths(opts.Paths); err != nil {
		return nil, err
	}
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}

	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.Parser.Now == nil {
		opts.Parser.Now = now
	}
	cfg := opts.Window
	if cfg.Now == nil {
		cfg.Now = now
	}
	w, err := window.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("invalid window settings: %w", err)
	}

	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	s := &Source{
		opts:      opts,
		endpoints: endpoints,
		now:       now,
		log:       logger,
		window:    w,
		lookback:  cfg.MaxLookback,
		outcomes:  make(map[string]*atomic.Uint64),
		ready:     make(chan struct{}),
	}
	s.outcomes[OutcomeParsed] = new(atomic.Uint64)
	for _, reason := range filterlog.SkipReasons() {
		s.outcomes[reason] = new(atomic.Uint64)
	}
	for _, path := range opts.Paths {
		s.files = append(s.files, newInput(path, KindFile))
	}
	for _, e := range endpoints {
		s.servers = append(s.servers, newInput(e.String(), e.Network))
	}

	s.parsers = make(chan *lineParser, runtime.GOMAXPROCS(0))
	for range cap(s.parsers) {
		s.parsers <- s.newLineParser()
	}
	return s, nil
}

func (o *Options) setDefaults() error {
	durations := []struct {
		name  string
		value *time.Duration
		def   time.Duration
	}{
		{"poll interval", &o.PollInterval, DefaultPollInterval},
		{"rotate wait", &o.RotateWait, DefaultRotateWait},
		{"idle timeout", &o.IdleTimeout, DefaultIdleTimeout},
	}
	var errs []error
	for _, d := range durations {
		switch {
		case *d.value < 0:
			errs = append(errs, fmt.Errorf("invalid %s %v: must be positive, or 0 for the default %v", d.name, *d.value, d.def))
		case *d.value == 0:
			*d.value = d.def
		}
	}
	switch {
	case o.MaxConnections < 0:
		errs = append(errs, fmt.Errorf("invalid maximum connections %d: must be positive, or 0 for the default %d", o.MaxConnections, DefaultMaxConnections))
	case o.MaxConnections == 0:
		o.MaxConnections = DefaultMaxConnections
	}
	return errors.Join(errs...)
}

// checkPaths rejects paths that can never be followed.
func checkPaths(paths []string) error {
	for _, path := range paths {
		switch {
		case path == "":
			return errors.New("invalid log file path: empty")
		case path == "-":
			return errors.New("invalid log file path \"-\": standard input cannot be followed by the service; pass a file or use SYSLOG_LISTEN")
		}
		if _, err := filepath.Match(path, ""); err != nil {
			return fmt.Errorf("invalid glob pattern %q: %w", path, err)
		}
	}
	return nil
}

func (s *Source) newLineParser() *lineParser {
	return &lineParser{parser: filterlog.NewParser(s.opts.Parser)}
}

// Run binds the syslog listeners, reads the files' start-up content and
// then receives lines until ctx ends. It returns nil after ctx ends and
// every listener, connection and file is closed, or at once with an error
// when a listener cannot be bound. Run may be called once.
func (s *Source) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("live source already started: Run may be called once")
	}

	servers, err := s.bind(ctx)
	if err != nil {
		s.markReady(err)
		return err
	}

	var wg sync.WaitGroup
	for _, srv := range servers {
		wg.Go(func() { srv.serve(ctx) })
	}
	if len(s.files) > 0 {
		f := newFollower(s)
		wg.Go(func() { f.run(ctx, func() { s.markReady(nil) }) })
	} else {
		s.markReady(nil)
	}

	s.log.Info("live input started", "paths", s.opts.Paths, "syslog", s.listening(), "lookback", s.lookback)
	<-ctx.Done()
	wg.Wait()
	s.log.Info("live input stopped")
	return nil
}

func (s *Source) markReady(err error) {
	s.readyOnce.Do(func() {
		s.startErr = err
		close(s.ready)
	})
}

// Ready returns a channel that is closed once Run has bound the listeners
// and read the files' start-up content, or failed to.
func (s *Source) Ready() <-chan struct{} { return s.ready }

// listening returns the bound addresses, for the start-up log.
func (s *Source) listening() []string {
	var addrs []string
	for _, in := range s.servers {
		st := in.status()
		addrs = append(addrs, st.Kind+"://"+st.Addr)
	}
	return addrs
}

// Observe returns the Observation of the window (until-lookback, until],
// with a zero until meaning now and a non-positive lookback meaning the
// window's maximum lookback. It first waits until Run has read the files'
// start-up content, so that the first report is complete. Before Run is
// called, it waits until ctx ends.
//
// Observation.Lines counts the lines received since start-up, not only
// those of the window. When some inputs have a problem, the error is an
// *InputError that comes with the Observation.
func (s *Source) Observe(ctx context.Context, until time.Time, lookback time.Duration) (source.Observation, error) {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return source.Observation{}, fmt.Errorf("waiting for the live input to start: %w", ctx.Err())
	}
	if s.startErr != nil {
		return source.Observation{}, fmt.Errorf("live input failed to start: %w", s.startErr)
	}
	if lookback > s.lookback {
		return source.Observation{}, fmt.Errorf("invalid lookback %v: the live window keeps only %v; raise the window's maximum lookback", lookback, s.lookback)
	}
	if until.IsZero() {
		until = s.now()
	}

	obs := s.window.Snapshot(until, lookback)
	obs.Lines = make(map[string]uint64)
	for outcome, n := range s.Lines() {
		if n > 0 {
			obs.Lines[outcome] = n
		}
	}

	var inputErr InputError
	for _, st := range s.Inputs() {
		if st.Active {
			inputErr.Working++
		}
		if st.Err != "" {
			inputErr.Failed = append(inputErr.Failed, st)
		}
	}
	if len(inputErr.Failed) > 0 {
		return obs, &inputErr
	}
	return obs, nil
}

// Lines returns the number of lines received since start-up by outcome:
// OutcomeParsed or a filterlog skip reason. Every outcome is present, at
// zero until it happens, so metrics can create their series up front.
func (s *Source) Lines() map[string]uint64 {
	lines := make(map[string]uint64, len(s.outcomes)+1)
	for outcome, n := range s.outcomes {
		lines[outcome] = n.Load()
	}
	if n := s.other.Load(); n > 0 {
		lines[outcomeOther] = n
	}
	return lines
}

// Events returns what happened to the parsed events: added to the window,
// dropped as older than the maximum lookback, dated in the future or
// without a timestamp.
func (s *Source) Events() window.Stats {
	stats := s.window.Stats()
	stats.TooOld += s.tooOld.Load()
	return stats
}

// Inputs returns the state of every input: the file paths in the order
// given, then the syslog endpoints.
func (s *Source) Inputs() []InputStatus {
	statuses := make([]InputStatus, 0, len(s.files)+len(s.servers))
	for _, in := range s.files {
		statuses = append(statuses, in.status())
	}
	for _, in := range s.servers {
		statuses = append(statuses, in.status())
	}
	return statuses
}

// handle parses one line or message that in received and adds its event.
func (s *Source) handle(lp *lineParser, in *input, line []byte) {
	err := lp.parser.Parse(line, &lp.event)
	s.record(in, &lp.event, err)
}

// handleShared is handle with a parser borrowed from the shared set.
func (s *Source) handleShared(in *input, line []byte) {
	lp := <-s.parsers
	s.handle(lp, in, line)
	s.parsers <- lp
}

// record counts a line's outcome and adds its event to the window. Events
// older than the maximum lookback are dropped here, so that old lines read
// at start-up never enter the window.
func (s *Source) record(in *input, ev *filterlog.Event, err error) {
	now := s.now()
	in.received(now)
	if err != nil {
		s.countSkip(err)
		return
	}
	s.outcomes[OutcomeParsed].Add(1)
	if t := ev.Time; !t.IsZero() && !t.After(now.Add(-s.lookback)) {
		s.tooOld.Add(1)
		return
	}
	s.window.Add(ev)
}

// countSkip counts a skipped line under its reason.
func (s *Source) countSkip(err error) {
	var skip *filterlog.SkipError
	if errors.As(err, &skip) {
		if counter, ok := s.outcomes[skip.Reason]; ok {
			counter.Add(1)
			return
		}
	}
	s.other.Add(1)
}
