// Package stack is the event source of the observability stack. It reads
// the top blocked sources, the top outbound destinations with their
// sources, the number of distinct blocked sources and the active interfaces
// from VictoriaMetrics or Prometheus, and the targeted ports from Loki. Any
// failed query fails the observation, so an outage never turns into an
// empty report.
package stack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"sync"
	"time"

	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/source/loki"
	"github.com/threat-intel/threat-intel/internal/source/promql"
)

// Backend names, as they appear in errors, health and QueryDone.
const (
	BackendMetrics = "victoriametrics"
	BackendLogs    = "loki"
)

// Query names, as they appear in errors and QueryDone.
const (
	QueryBlocked            = "blocked sources"
	QueryDistinctBlocked    = "distinct blocked sources"
	QueryOutbound           = "outbound destinations"
	QueryDestinationSources = "sources of outbound destinations"
	QueryInterfaces         = "interfaces"
	QueryPorts              = "targeted ports"
)

// queryOrder is the order in which an Observe error lists failed queries.
var queryOrder = []string{QueryBlocked, QueryDistinctBlocked, QueryOutbound, QueryDestinationSources, QueryInterfaces, QueryPorts}

// NoLogsNote is the health note of the Loki backend when no Loki URL is set.
const NoLogsNote = "LOKI_URL is not set, so targeted ports are not queried"

// Observer receives the outcome of every query, for metrics. Its methods
// are called from several goroutines at once.
type Observer interface {
	// QueryDone reports one query: the backend, the query name, how long it
	// took, and its error or nil.
	QueryDone(backend, query string, d time.Duration, err error)
}

// Config configures a Source.
type Config struct {
	// VictoriaMetricsURL is the base URL of VictoriaMetrics or Prometheus.
	// Required.
	VictoriaMetricsURL string
	// LokiURL is the base URL of Loki. Empty skips the port query, so the
	// observation has no ports, and Health gives the reason.
	LokiURL string
	// LokiSelector is the stream selector of the filterlog lines. Default
	// loki.DefaultSelector.
	LokiSelector string
	// LokiLineFilter is a text every filterlog line contains. Default
	// loki.DefaultLineFilter, and "-" means none.
	LokiLineFilter string
	// Timeout bounds each query. Default 30 s.
	Timeout time.Duration

	// TopBlocked, TopOutbound and TopPorts are the sizes of the lists.
	// Zero skips the blocked or outbound query, and returns every port.
	TopBlocked  int
	TopOutbound int
	TopPorts    int
	// WANInterfaces are the interfaces that face the internet. Empty
	// means every interface.
	WANInterfaces []string
	// OwnPrefixes are the operator's own public prefixes.
	OwnPrefixes []netip.Prefix
	// ExtraMatchers are added to every metrics selector, to pick one
	// firewall or tenant when several share the server.
	ExtraMatchers []promql.Matcher

	// MetricsParams are added to every metrics query, such as nocache=1.
	MetricsParams url.Values
	// HTTPClient sends every request. Nil means a default client.
	HTTPClient *http.Client
	// Observer, if set, receives the outcome of every query.
	Observer Observer
	// Now returns the current time, used when Observe gets a zero until.
	// Nil means time.Now.
	Now func() time.Time
}

// Source implements source.Source over VictoriaMetrics and Loki. It is safe
// for concurrent use.
type Source struct {
	metrics  *promql.Firewall
	ports    *loki.PortCounter // nil without Loki
	observer Observer
	now      func() time.Time

	mu     sync.Mutex
	health map[string]*BackendHealth
}

// New returns the Source of cfg.
func New(cfg Config) (*Source, error) {
	if cfg.VictoriaMetricsURL == "" {
		return nil, errors.New("missing VictoriaMetrics URL: set VICTORIAMETRICS_URL, such as http://victoriametrics:8428")
	}
	client, err := promql.New(promql.Options{
		BaseURL:    cfg.VictoriaMetricsURL,
		Timeout:    cfg.Timeout,
		Params:     cfg.MetricsParams,
		HTTPClient: cfg.HTTPClient,
	})
	if err != nil {
		return nil, fmt.Errorf("invalid VICTORIAMETRICS_URL: %w", err)
	}
	firewall, err := promql.NewFirewall(client, promql.FirewallOptions{
		ExtraMatchers: cfg.ExtraMatchers,
		WANInterfaces: cfg.WANInterfaces,
		OwnPrefixes:   cfg.OwnPrefixes,
		TopBlocked:    cfg.TopBlocked,
		TopOutbound:   cfg.TopOutbound,
	})
	if err != nil {
		return nil, err
	}

	s := &Source{
		metrics:  firewall,
		observer: cfg.Observer,
		now:      cfg.Now,
		health: map[string]*BackendHealth{
			BackendMetrics: {Name: BackendMetrics, URL: client.BaseURL(), Configured: true},
			BackendLogs:    {Name: BackendLogs, Note: NoLogsNote},
		},
	}
	if s.now == nil {
		s.now = time.Now
	}

	if cfg.LokiURL != "" {
		logs, err := loki.New(loki.Options{BaseURL: cfg.LokiURL, Timeout: cfg.Timeout, HTTPClient: cfg.HTTPClient})
		if err != nil {
			return nil, fmt.Errorf("invalid LOKI_URL: %w", err)
		}
		s.ports, err = loki.NewPortCounter(logs, loki.PortOptions{
			Selector:      cfg.LokiSelector,
			LineFilter:    cfg.LokiLineFilter,
			WANInterfaces: cfg.WANInterfaces,
			OwnPrefixes:   cfg.OwnPrefixes,
			TopPorts:      cfg.TopPorts,
		})
		if err != nil {
			return nil, fmt.Errorf("invalid LOKI_SELECTOR: %w", err)
		}
		s.health[BackendLogs] = &BackendHealth{Name: BackendLogs, URL: logs.BaseURL(), Configured: true}
	}
	return s, nil
}

// Metrics returns the metrics queries, to show or log them.
func (s *Source) Metrics() *promql.Firewall { return s.metrics }

// Ports returns the Loki port query, nil when Loki is not configured.
func (s *Source) Ports() *loki.PortCounter { return s.ports }

// Observe runs every query for the window of length lookback that ends at
// until (zero: now) and returns the Observation. The metrics queries run
// concurrently with each other and with the Loki query. Any failed or
// timed-out query fails the call with an error that names the backend and
// the query, and every query runs to its end, so the error lists every
// failure and Health learns the state of both backends.
func (s *Source) Observe(ctx context.Context, until time.Time, lookback time.Duration) (source.Observation, error) {
	if lookback <= 0 {
		return source.Observation{}, fmt.Errorf("invalid lookback %s: want a positive duration", lookback)
	}
	if until.IsZero() {
		until = s.now()
	}
	obs := source.Observation{Start: until.Add(-lookback), End: until}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		errs     = map[string]error{} // by query name
		failures = map[string]error{} // the first error of each backend
	)
	run := func(backend, query string, fn func() error) {
		wg.Go(func() {
			started := time.Now()
			err := fn()
			if s.observer != nil {
				s.observer.QueryDone(backend, query, time.Since(started), err)
			}
			if err == nil {
				return
			}
			err = &QueryError{Backend: backend, Query: query, Err: err}
			mu.Lock()
			defer mu.Unlock()
			errs[query] = err
			if failures[backend] == nil {
				failures[backend] = err
			}
		})
	}

	var blocked []promql.RankedAddr
	var distinct int
	run(BackendMetrics, QueryBlocked, func() (err error) {
		blocked, err = s.metrics.TopBlocked(ctx, until, lookback)
		return err
	})
	run(BackendMetrics, QueryDistinctBlocked, func() (err error) {
		distinct, err = s.metrics.DistinctBlocked(ctx, until, lookback)
		return err
	})
	run(BackendMetrics, QueryInterfaces, func() (err error) {
		obs.Interfaces, err = s.metrics.Interfaces(ctx, until, lookback)
		return err
	})

	var outbound []promql.RankedAddr
	var destinationSources map[netip.Addr]promql.DestinationSources
	outboundDone := make(chan error, 1)
	run(BackendMetrics, QueryOutbound, func() (err error) {
		outbound, err = s.metrics.TopOutbound(ctx, until, lookback)
		outboundDone <- err
		return err
	})
	wg.Go(func() {
		// The sources query needs the destinations, so it starts when they
		// are known, and not at all when their query failed.
		if err := <-outboundDone; err != nil {
			return
		}
		run(BackendMetrics, QueryDestinationSources, func() (err error) {
			destinationSources, err = s.metrics.DestinationSources(ctx, until, lookback, outbound)
			return err
		})
	})

	if s.ports != nil {
		run(BackendLogs, QueryPorts, func() (err error) {
			obs.Ports, err = s.ports.Count(ctx, until, lookback)
			return err
		})
	}
	wg.Wait()

	// A cancelled call shows nothing about the state of the backends.
	if ctx.Err() == nil {
		s.recordHealth(failures)
	}
	if len(errs) > 0 {
		ordered := make([]error, 0, len(errs))
		for _, q := range queryOrder {
			if err := errs[q]; err != nil {
				ordered = append(ordered, err)
			}
		}
		return source.Observation{Start: obs.Start, End: obs.End}, errors.Join(ordered...)
	}

	fillObservation(&obs, blocked, distinct, outbound, destinationSources)
	return obs, nil
}

// fillObservation sets the address lists of obs from the query results.
func fillObservation(obs *source.Observation, blocked []promql.RankedAddr, distinct int, outbound []promql.RankedAddr, sources map[netip.Addr]promql.DestinationSources) {
	obs.Blocked = make([]source.AddrCount, len(blocked))
	for i, b := range blocked {
		obs.Blocked[i] = source.AddrCount{Addr: b.Addr, Count: b.Count}
	}
	// The count and the top list come from two queries at the same time,
	// so the count is at least the list's length unless the data changed
	// between them.
	obs.DistinctBlocked = max(distinct, len(blocked))

	obs.Outbound = make([]source.Outbound, len(outbound))
	for i, o := range outbound {
		srcs := sources[o.Addr]
		obs.Outbound[i] = source.Outbound{Addr: o.Addr, Count: o.Count, InternalSources: srcs.Internal, NATSources: srcs.NAT}
	}
}

// QueryError is a query of one backend that failed.
type QueryError struct {
	Backend string // BackendMetrics or BackendLogs
	Query   string // one of the Query constants
	Err     error
}

func (e *QueryError) Error() string {
	return "querying " + e.Backend + " for " + e.Query + ": " + e.Err.Error()
}

func (e *QueryError) Unwrap() error { return e.Err }
