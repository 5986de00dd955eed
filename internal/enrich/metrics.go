package enrich

import (
	"fmt"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// Request outcomes, the values of the outcome label of
// threat_intel_provider_requests_total. Each request sent counts once,
// retries included.
const (
	outcomeOK           = "ok"
	outcomeNotFound     = "not_found"
	outcomeRateLimited  = "rate_limited"
	outcomeUnauthorized = "unauthorized"
	outcomeError        = "error"
	outcomeTimeout      = "timeout"
)

var requestOutcomes = []string{outcomeOK, outcomeNotFound, outcomeRateLimited, outcomeUnauthorized, outcomeError, outcomeTimeout}

// Skip reasons, the values of the reason label of
// threat_intel_provider_skipped_total.
const (
	skipInternal    = "internal"
	skipNoKey       = "no_key"
	skipDisabled    = "disabled"
	skipRateLimited = "rate_limited"
	skipBudget      = "budget"
)

var skipReasons = []string{skipInternal, skipNoKey, skipDisabled, skipRateLimited, skipBudget}

// metrics are the provider series. Their names are read by the dashboard,
// so they never change.
type metrics struct {
	requests        *prometheus.CounterVec
	cacheHits       *prometheus.CounterVec
	cacheMisses     *prometheus.CounterVec
	budgetRemaining *prometheus.GaugeVec
	skipped         *prometheus.CounterVec
}

// newMetrics registers the series on reg and creates every label
// combination of the known providers and of names at zero, so that a
// dashboard shows 0 rather than no data. The budget gauge is the exception:
// it appears with the first budget taken, because 0 would read as "spent".
func newMetrics(reg prometheus.Registerer, names []intel.Provider) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "threat_intel_provider_requests_total",
			Help: "Requests sent to threat-intelligence providers, retries included, by how they ended.",
		}, []string{"provider", "outcome"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "threat_intel_provider_cache_hits_total",
			Help: "Provider lookups served from the cache.",
		}, []string{"provider"}),
		cacheMisses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "threat_intel_provider_cache_misses_total",
			Help: "Provider lookups that found no unexpired cache entry.",
		}, []string{"provider"}),
		budgetRemaining: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "threat_intel_provider_budget_remaining",
			Help: "Requests left in the provider's daily budget today, as of the last request.",
		}, []string{"provider"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "threat_intel_provider_skipped_total",
			Help: "Provider lookups not sent, by reason: internal, no_key, disabled, rate_limited, budget.",
		}, []string{"provider", "reason"}),
	}

	for _, c := range []prometheus.Collector{m.requests, m.cacheHits, m.cacheMisses, m.budgetRemaining, m.skipped} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("enrich: registering the provider metrics: %w", err)
		}
	}

	all := slices.Clone(intel.Providers)
	for _, name := range names {
		if !slices.Contains(all, name) {
			all = append(all, name)
		}
	}
	for _, name := range all {
		p := string(name)
		for _, outcome := range requestOutcomes {
			m.requests.WithLabelValues(p, outcome)
		}
		for _, reason := range skipReasons {
			m.skipped.WithLabelValues(p, reason)
		}
		m.cacheHits.WithLabelValues(p)
		m.cacheMisses.WithLabelValues(p)
	}
	return m, nil
}
