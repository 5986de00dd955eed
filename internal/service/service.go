package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/threat-intel/threat-intel/internal/api"
	"github.com/threat-intel/threat-intel/internal/blocklist"
	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/cycle"
	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/metrics"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/scheduler"
	"github.com/threat-intel/threat-intel/internal/scoring"
	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/source/live"
	"github.com/threat-intel/threat-intel/internal/source/stack"
	"github.com/threat-intel/threat-intel/internal/store"
	"github.com/threat-intel/threat-intel/internal/window"
)

// leaseName is the store lease that lets one replica run each cycle.
const leaseName = "cycle"

// Options configures a Service.
type Options struct {
	Config *config.Config
	Logger *slog.Logger
	// Listener, when set, is served instead of listening on
	// Config.ListenAddr; tests pass one on 127.0.0.1:0.
	Listener net.Listener
	// Narrator writes the narrative of each report. Nil means the one the
	// configuration selects.
	Narrator cycle.Narrator
}

// Service is the long-running threat-intel: an event source, a cycle on a
// schedule, and the HTTP API with /metrics serving the last report.
type Service struct {
	cfg      *config.Config
	log      *slog.Logger
	pipeline *Pipeline
	live     *live.Source  // nil with another source
	stack    *stack.Source // nil with another source
	runner   *cycle.Runner
	sched    *scheduler.Scheduler
	api      *api.API
	block    *blocklist.Blocklist
	metrics  *metrics.Metrics
	server   *http.Server
	listener net.Listener

	holder  string // lease holder name, "" without a lease
	trigger chan struct{}

	mu        sync.Mutex
	current   *report.Report // the report being served, nil before the first
	lineCount map[string]uint64
	tooOld    uint64 // events the live source dropped as older than the window, so far
	// failing names the providers whose every lookup failed in the last
	// cycle, with the failure of the first one.
	failing map[intel.Provider]string
}

// New assembles the service and loads the last report from the store, so
// every route answers at once after a restart. It starts nothing.
func New(ctx context.Context, o Options) (*Service, error) {
	cfg := o.Config
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, log: log, listener: o.Listener, lineCount: map[string]uint64{}}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	p, err := OpenPipeline(ctx, PipelineOptions{Config: cfg, Logger: log, Registerer: reg})
	if err != nil {
		return nil, err
	}
	s.pipeline = p

	src, name, err := s.openSource()
	if err != nil {
		p.Close()
		return nil, err
	}

	sources := []string{name}
	if s.stack != nil {
		sources = []string{stack.BackendMetrics, stack.BackendLogs}
	}
	s.metrics, err = metrics.New(reg, metrics.Options{SkipReasons: filterlog.SkipReasons(), Sources: sources})
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("registering metrics: %w", err)
	}

	if o.Narrator == nil {
		if o.Narrator, err = NewNarrator(cfg, log, reg); err != nil {
			p.Close()
			return nil, err
		}
	}

	s.runner = &cycle.Runner{
		Source:     src,
		SourceName: name,
		Enricher:   p.Engine,
		Narrator:   o.Narrator,
		Scorer:     p.Scorer,
		Catalog:    p.Catalog,
		Lookback:   time.Duration(cfg.LookbackHours) * time.Hour,
		TopPorts:   cfg.TopPorts,
		Log:        log,
	}

	if s.block, err = OpenBlocklist(cfg, p); err != nil {
		p.Close()
		return nil, fmt.Errorf("blocklist settings: %w", err)
	}

	s.api = api.New(api.Options{
		Logger:       log,
		Token:        cfg.APIToken,
		Health:       s.health,
		Metrics:      metrics.Handler(reg, log),
		LookupCached: s.lookupCached,
		Sources:      s.sources,
		Blocklist:    s.blocklistText,
		Classifier:   p.Classifier,
	})

	s.trigger = make(chan struct{}, 1)
	sched := scheduler.Options{Interval: cfg.Interval, Timeout: cfg.CycleTimeout, Job: s.runCycle, Log: log, Trigger: s.trigger}
	if cfg.RedisURL != "" {
		// Replicas sharing Redis take turns through a lease. The holder is
		// the host name and listen address, which a restarted process keeps,
		// so a restart does not wait for its own lease to expire, while two
		// replicas on one host still differ.
		hostname, _ := os.Hostname()
		s.holder = hostname + "/" + cfg.ListenAddr
		sched.Lease, sched.LeaseName, sched.Holder = p.Store, leaseName, s.holder
		sched.Skipped = s.followStoredReport
	}
	s.sched, err = scheduler.New(sched)
	if err != nil {
		p.Close()
		return nil, err
	}

	s.loadLastReport(ctx)
	return s, nil
}

// openSource returns the configured event source and its name.
func (s *Service) openSource() (source.Source, string, error) {
	cfg := s.cfg
	if cfg.VictoriaMetricsURL != "" {
		return s.openStack()
	}
	if len(cfg.FilterlogPaths) == 0 && cfg.SyslogListen == "" {
		return nil, "", errors.New("no event source: set FILTERLOG_PATH (log files to follow), SYSLOG_LISTEN (syslog receiver) or VICTORIAMETRICS_URL")
	}
	lookback := time.Duration(cfg.LookbackHours) * time.Hour
	src, err := live.New(live.Options{
		Paths:  cfg.FilterlogPaths,
		Listen: cfg.SyslogListen,
		Parser: filterlog.Options{Location: cfg.Location},
		Window: window.Config{
			Classifier:    s.pipeline.Classifier,
			WANInterfaces: cfg.WANInterfaces,
			TopBlocked:    cfg.TopBlockedIPs,
			TopOutbound:   cfg.TopOutboundIPs,
			MaxTracked:    cfg.MaxTracked,
			MaxLookback:   lookback,
		},
		Logger:       s.log,
		PollInterval: cfg.FollowInterval,
	})
	if err != nil {
		return nil, "", err
	}
	s.live = src
	return src, "filterlog", nil
}

// followStoredReport serves the report another replica saved, when it is
// not the one already served. Replicas that do not hold the cycle lease
// run it instead of a cycle.
func (s *Service) followStoredReport(ctx context.Context) error {
	r, err := s.storedReport(ctx)
	if err != nil || r == nil {
		return err
	}
	s.mu.Lock()
	same := s.current != nil && s.current.GeneratedAt == r.GeneratedAt && s.current.Stale == r.Stale
	s.mu.Unlock()
	if !same {
		s.publish(*r)
	}
	return nil
}

// loadLastReport serves the report the store kept from before a restart.
func (s *Service) loadLastReport(ctx context.Context) {
	r, err := s.storedReport(ctx)
	if err != nil {
		s.log.Warn("could not load the last report; routes answer after the first cycle", "err", err)
		return
	}
	if r == nil {
		return
	}
	s.publish(*r)
	s.log.Info("serving the stored report until the first cycle", "generated_at", r.GeneratedAt)
}

// storedReport returns the report in the store, or nil when none was saved.
func (s *Service) storedReport(ctx context.Context) (*report.Report, error) {
	data, err := s.pipeline.Store.LoadReport(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading the stored report: %w", err)
	}
	var r report.Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decoding the stored report: %w", err)
	}
	return &r, nil
}

// Run serves the API, runs the event source and the schedule, and returns
// after ctx is cancelled and everything has stopped, or when the listener
// or the source fails to start.
func (s *Service) Run(ctx context.Context) error {
	defer s.pipeline.Close()

	ln := s.listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.cfg.ListenAddr); err != nil {
			return fmt.Errorf("listening on LISTEN_ADDR %s: %w", s.cfg.ListenAddr, err)
		}
	}
	s.server = api.Server(ln.Addr().String(), s.api.Handler())
	s.server.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)

	// Registered before anything starts, so an early SIGHUP runs a cycle
	// instead of taking the default action, which ends the process.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 3)
	var wg sync.WaitGroup

	wg.Go(func() {
		if err := s.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("serving HTTP: %w", err)
			cancel()
		}
	})
	if s.live != nil {
		wg.Go(func() {
			if err := s.live.Run(ctx); err != nil {
				errs <- fmt.Errorf("starting the log inputs: %w", err)
				cancel()
			}
		})
	}
	if s.pipeline.Feeds != nil {
		wg.Go(func() { s.pipeline.Feeds.Run(ctx) })
	}
	wg.Go(func() { s.sched.Run(ctx) })
	wg.Go(func() { s.forwardHangups(ctx, hup) })

	s.log.Info("threat-intel started", "listen", ln.Addr().String(), "source", s.runner.SourceName,
		"interval_seconds", s.cfg.Interval.Seconds())
	<-ctx.Done()

	shutdownCtx, stop := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer stop()
	if err := s.server.Shutdown(shutdownCtx); err != nil {
		// Clients still connected when the bound passed, such as one that
		// never finishes its headers, are cut off: stopping on time is the
		// graceful outcome here, not a failure.
		s.log.Warn("closing connections still open after SHUTDOWN_TIMEOUT_SECONDS", "err", err)
		s.server.Close()
	}
	wg.Wait()
	if s.holder != "" {
		// Hand the schedule to another replica at once.
		if err := s.pipeline.Store.Unlock(shutdownCtx, leaseName, s.holder); err != nil {
			s.log.Warn("could not release the cycle lease; another replica takes over when it expires", "err", err)
		}
	}
	close(errs)

	var runErr error
	for err := range errs {
		runErr = errors.Join(runErr, err)
	}
	s.log.Info("threat-intel stopped")
	return runErr
}

// forwardHangups runs a cycle now when the process receives SIGHUP, as
// operators expect of a daemon, without waiting for the interval.
func (s *Service) forwardHangups(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			s.log.Info("SIGHUP received: running a cycle now")
			select {
			case s.trigger <- struct{}{}:
			default: // a cycle is already pending
			}
		}
	}
}

// runCycle is the scheduled job: one cycle, then publish, persist and
// count it. A failed cycle keeps the last report, marked stale.
func (s *Service) runCycle(ctx context.Context) error {
	started := time.Now()
	res, err := s.runner.Run(ctx, time.Time{})
	s.countLines()
	s.noteOldEvents()
	if err != nil {
		s.markStale()
		s.metrics.ObserveCycle(time.Since(started), err, 0, 0)
		return err
	}

	r := res.Report
	s.publish(r)
	if data, err := json.Marshal(r); err != nil {
		s.log.Error("encoding the report for the store", "err", err)
	} else if err := s.pipeline.Store.SaveReport(ctx, data); err != nil {
		s.log.Warn("could not save the report; a restart will wait for the first cycle", "err", err)
	}

	s.updateBlocklist(ctx, r)
	s.noteFailingProviders(res.Lookups)

	cacheHits := 0
	for _, l := range res.Lookups {
		cacheHits += len(l.Cached)
	}
	s.metrics.ObserveCycle(time.Since(started), nil, len(res.Lookups), cacheHits)
	return nil
}

// updateBlocklist merges the report into the blocklist. A failure is
// logged: the firewall keeps the list it fetched last.
func (s *Service) updateBlocklist(ctx context.Context, r report.Report) {
	d, err := s.block.Update(ctx, r, time.Now())
	if err != nil {
		s.log.Warn("could not update the blocklist; serving the previous one", "err", err)
		return
	}
	if d.Discarded != nil {
		s.log.Warn("the stored blocklist was unreadable and was rebuilt from this report", "err", d.Discarded)
	}
	s.metrics.SetBlocklistSize(d.Listed)
	if len(d.Added) > 0 || len(d.Removed) > 0 {
		s.log.Info("blocklist updated", "added", len(d.Added), "removed", len(d.Removed), "listed", d.Listed)
	}
}

// blocklistText serves /api/blocklist.txt for family "", "4" or "6".
func (s *Service) blocklistText(family string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return s.block.Text(ctx, family, time.Now())
}

// publish makes r the report every route and /metrics serve.
func (s *Service) publish(r report.Report) {
	if err := s.api.Publish(r); err != nil {
		s.log.Error("publishing the report", "err", err)
		return
	}
	s.mu.Lock()
	s.current = &r
	s.mu.Unlock()
	s.metrics.SetReport(&r)
}

// markStale republishes the current report marked stale, so clients see
// that it is from an earlier cycle instead of an empty one.
func (s *Service) markStale() {
	s.mu.Lock()
	cur := s.current
	s.mu.Unlock()
	if cur == nil || cur.Stale {
		return
	}
	stale := *cur
	stale.Stale = true
	s.publish(stale)
}

// countLines adds the lines the live source read since the last cycle to
// the parser metric.
func (s *Service) countLines() {
	if s.live == nil {
		return
	}
	total := s.live.Lines()
	delta := make(map[string]uint64, len(total))
	s.mu.Lock()
	for k, v := range total {
		if v > s.lineCount[k] {
			delta[k] = v - s.lineCount[k]
		}
		s.lineCount[k] = v
	}
	s.mu.Unlock()
	s.metrics.AddLines(delta)
}

// noteOldEvents logs the events the live source dropped since the last
// cycle because they are older than the window, so replaying an old log
// does not look like an idle firewall.
func (s *Service) noteOldEvents() {
	if s.live == nil {
		return
	}
	total := s.live.Events().TooOld
	s.mu.Lock()
	added := total - s.tooOld
	s.tooOld = total
	s.mu.Unlock()
	if added > 0 {
		s.log.Info("events older than the window were not counted; raise LOOKBACK_HOURS to include them",
			"events", added, "lookback_hours", s.cfg.LookbackHours)
	}
}

// noteFailingProviders records the providers whose every lookup of the
// cycle failed, for /health and the sources table.
func (s *Service) noteFailingProviders(lookups map[netip.Addr]intel.Lookup) {
	attempted := map[intel.Provider]int{}
	failed := map[intel.Provider]int{}
	first := map[intel.Provider]string{}
	for _, l := range lookups {
		for name, st := range l.Status {
			switch {
			case st.Answered():
				attempted[name]++
			case st.IsFailure():
				attempted[name]++
				failed[name]++
				if first[name] == "" {
					first[name] = string(st)
				}
			}
		}
	}
	failing := map[intel.Provider]string{}
	for name, n := range attempted {
		if n > 0 && failed[name] == n {
			failing[name] = fmt.Sprintf("all %d lookups of the last cycle failed (%s)", n, first[name])
		}
	}
	s.mu.Lock()
	s.failing = failing
	s.mu.Unlock()
}

// lookupCached serves /api/ip for addresses outside the report, from the
// cache only.
func (s *Service) lookupCached(ctx context.Context, addr netip.Addr) (intel.Intel, bool, error) {
	l, found, err := s.pipeline.Engine.Cached(ctx, addr)
	if err != nil || (!found && l.GeoIP == nil && len(l.Feeds) == 0) {
		return intel.Intel{}, false, err
	}
	return s.pipeline.Scorer.Score(l, scoring.Inbound), true, nil
}

// sources serves /api/infinity/sources.
func (s *Service) sources() []api.SourceRow {
	health := s.pipeline.Engine.Health()
	stats := s.pipeline.Engine.Stats()
	rows := make([]api.SourceRow, 0, len(intel.Providers))
	for _, name := range intel.Providers {
		h, st := health[name], stats[name]
		row := api.SourceRow{
			Provider:        string(name),
			Configured:      h.Configured,
			Status:          "ok",
			DailyBudget:     h.DailyBudget,
			BudgetRemaining: h.BudgetRemaining,
			Requests:        st.Requests,
			Failures:        st.Failures,
			RateLimited:     st.RateLimited,
			CacheHits:       st.CacheHits,
			CacheMisses:     st.CacheMisses,
		}
		if n := st.CacheHits + st.CacheMisses; n > 0 {
			row.CacheHitRate = float64(st.CacheHits) / float64(n)
		}
		s.mu.Lock()
		failing := s.failing[name]
		s.mu.Unlock()
		switch {
		case !h.Configured:
			row.Status = "not configured"
		case failing != "":
			row.Status, row.Detail = "failing", failing
		case h.Disabled:
			row.Status, row.Detail = "disabled", h.DisabledReason
		case !h.BlockedUntil.IsZero():
			row.Status = "rate limited"
			row.BlockedUntil = h.BlockedUntil.UTC().Format(time.RFC3339)
		case h.DailyBudget > 0 && h.BudgetRemaining == 0:
			row.Status = "budget exhausted"
		}
		rows = append(rows, row)
	}
	return rows
}
