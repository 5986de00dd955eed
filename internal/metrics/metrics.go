// Package metrics exports the service's Prometheus metrics: per-address and
// per-port gauges read from the current report at scrape time, and counters
// and histograms of the cycles, the parser and the event sources.
//
// The provider request, cache and budget series belong to the enrichment
// engine and the token counter to the narrative. Both register their own
// series under other names.
package metrics

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/report"
)

// OutcomeParsed is the outcome label value of threat_intel_parser_lines_total
// for lines that parsed. Skipped lines are counted under their skip reason.
const OutcomeParsed = "parsed"

// Outcome label values of threat_intel_cycles_total.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// cycleBuckets are the upper bounds, in seconds, of the cycle duration
// histogram. A cycle waits for provider rate limits, so it can take minutes.
var cycleBuckets = []float64{1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

// sourceQueryBuckets are the upper bounds, in seconds, of the source query
// histogram: from a quick metrics query to a read of a large log file.
var sourceQueryBuckets = []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// Options configures New.
type Options struct {
	// SkipReasons are the parser's skip reasons (filterlog.SkipReasons()).
	// Their series of threat_intel_parser_lines_total start at zero, next
	// to "parsed", so that a rate over them is defined before the first
	// skipped line.
	SkipReasons []string
	// Sources are the names of the event sources, such as "filterlog",
	// whose query series start at zero.
	Sources []string
	// Now is the clock that sets the last success time. Nil means time.Now.
	Now func() time.Time
}

// Metrics holds the service's series. Its methods are safe for concurrent use.
type Metrics struct {
	current atomic.Pointer[report.Report]
	now     func() time.Time

	lastSuccess    prometheus.Gauge
	ipsProcessed   prometheus.Counter
	cacheHits      prometheus.Counter
	cycleDuration  prometheus.Histogram
	cycles         *prometheus.CounterVec
	parserLines    *prometheus.CounterVec
	sourceDuration *prometheus.HistogramVec
	sourceErrors   *prometheus.CounterVec
	blocklistSize  prometheus.Gauge
}

// New registers the report collector and the service metrics on reg. The
// series with a bounded set of label values are created at zero, so a
// dashboard shows 0 rather than no data. It fails when reg is nil or
// already holds a series of the same name.
func New(reg prometheus.Registerer, opts Options) (*Metrics, error) {
	if reg == nil {
		return nil, errors.New("metrics: nil registerer: pass a *prometheus.Registry")
	}

	m := &Metrics{
		now: opts.Now,

		// The next three names are those of the Python service this one
		// replaces. The timestamp lacks the "_seconds" suffix of the
		// naming convention, but dashboards query it by this name.
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "threat_intel_enrichment_last_success_timestamp",
			Help: "Time the last successful cycle ended, in seconds since the Unix epoch. 0 before the first success.",
		}),
		ipsProcessed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "threat_intel_enrichment_ips_processed_total",
			Help: "Addresses enriched by the cycles.",
		}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "threat_intel_cache_hits_total",
			Help: "Provider lookups answered from the cache, over all providers.",
		}),

		cycleDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "threat_intel_cycle_duration_seconds",
			Help:    "Duration of the cycles, failed ones included.",
			Buckets: cycleBuckets,
		}),
		cycles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "threat_intel_cycles_total",
			Help: "Cycles run, by outcome: success or failure.",
		}, []string{"outcome"}),
		parserLines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "threat_intel_parser_lines_total",
			Help: "Firewall log lines read, by outcome: parsed or the reason the line was skipped.",
		}, []string{"outcome"}),
		sourceDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "threat_intel_source_query_duration_seconds",
			Help:    "Duration of the queries to the event sources, failed ones included.",
			Buckets: sourceQueryBuckets,
		}, []string{"source"}),
		sourceErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "threat_intel_source_errors_total",
			Help: "Failed queries to the event sources.",
		}, []string{"source"}),
		blocklistSize: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "threat_intel_blocklist_entries",
			Help: "Addresses on the blocklist served at /api/blocklist.txt after the last update.",
		}),
	}
	if m.now == nil {
		m.now = time.Now
	}

	collectors := []prometheus.Collector{
		newReportCollector(&m.current),
		m.lastSuccess, m.ipsProcessed, m.cacheHits,
		m.cycleDuration, m.cycles, m.parserLines, m.sourceDuration, m.sourceErrors, m.blocklistSize,
	}
	for _, c := range collectors {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: registering the service metrics: %w", err)
		}
	}

	m.cycles.WithLabelValues(OutcomeSuccess)
	m.cycles.WithLabelValues(OutcomeFailure)
	m.parserLines.WithLabelValues(OutcomeParsed)
	for _, reason := range opts.SkipReasons {
		m.parserLines.WithLabelValues(labelValue(reason))
	}
	for _, source := range opts.Sources {
		m.sourceDuration.WithLabelValues(labelValue(source))
		m.sourceErrors.WithLabelValues(labelValue(source))
	}
	return m, nil
}

// SetReport makes r the report that the per-address and per-port series
// show from the next scrape on. Nil removes them. The collector reads r at
// every scrape, so the caller must not change r after the call.
func (m *Metrics) SetReport(r *report.Report) {
	m.current.Store(r)
}

// SetBlocklistSize records the number of addresses on the blocklist.
func (m *Metrics) SetBlocklistSize(n int) {
	m.blocklistSize.Set(float64(n))
}

// ObserveCycle records one cycle: its duration and outcome (err nil means
// success), the addresses it enriched and its cache hits over all
// providers. A successful cycle also sets the last success time to now.
// Negative counts are ignored, because a counter cannot go down.
func (m *Metrics) ObserveCycle(duration time.Duration, err error, ipsProcessed, cacheHits int) {
	m.cycleDuration.Observe(duration.Seconds())
	if ipsProcessed > 0 {
		m.ipsProcessed.Add(float64(ipsProcessed))
	}
	if cacheHits > 0 {
		m.cacheHits.Add(float64(cacheHits))
	}

	if err != nil {
		m.cycles.WithLabelValues(OutcomeFailure).Inc()
		return
	}
	m.cycles.WithLabelValues(OutcomeSuccess).Inc()
	m.lastSuccess.Set(float64(m.now().UnixNano()) / 1e9)
}

// AddLines adds line counts by outcome ("parsed" or a skip reason), such as
// source.Observation.Lines. The counts must be of lines not passed before:
// a source that reads its files again in every cycle counts those lines
// again, so the counter then measures parser work, not distinct lines.
func (m *Metrics) AddLines(lines map[string]uint64) {
	for outcome, n := range lines {
		m.parserLines.WithLabelValues(labelValue(outcome)).Add(float64(n))
	}
}

// ObserveSourceQuery records one query to the named event source: its
// duration, and an error when err is not nil.
func (m *Metrics) ObserveSourceQuery(source string, duration time.Duration, err error) {
	source = labelValue(source)
	m.sourceDuration.WithLabelValues(source).Observe(duration.Seconds())
	if err != nil {
		m.sourceErrors.WithLabelValues(source).Inc()
	}
}
