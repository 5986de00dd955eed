package enrich

import (
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// ProviderStats counts one provider's work since the Engine was created.
type ProviderStats struct {
	// Requests is the number of requests sent, retries included.
	Requests int64 `json:"requests"`
	// RateLimited is the number of 429 responses received.
	RateLimited int64 `json:"rate_limited"`
	CacheHits   int64 `json:"cache_hits"`
	CacheMisses int64 `json:"cache_misses"`
	// Failures is the number of lookups that ended "failed: …".
	Failures int64 `json:"failures"`
	// Skipped is the number of lookups that sent no request: internal
	// address, no key, disabled, rate limited or out of budget.
	Skipped int64 `json:"skipped"`
}

// Stats returns the counts of every provider.
func (e *Engine) Stats() map[intel.Provider]ProviderStats {
	out := make(map[intel.Provider]ProviderStats, len(e.providers))
	for _, ps := range e.providers {
		out[ps.name] = ProviderStats{
			Requests:    ps.stats.calls.Load(),
			RateLimited: ps.stats.rateLimited.Load(),
			CacheHits:   ps.stats.cacheHits.Load(),
			CacheMisses: ps.stats.cacheMisses.Load(),
			Failures:    ps.stats.failures.Load(),
			Skipped:     ps.stats.skipped.Load(),
		}
	}
	return out
}

// ProviderHealth is the state of one provider, for a health endpoint.
type ProviderHealth struct {
	// Configured is false when the provider has no key and is skipped.
	Configured bool `json:"configured"`
	// Disabled is true after the provider rejected its key. It stays
	// disabled until the process restarts.
	Disabled       bool   `json:"disabled"`
	DisabledReason string `json:"disabled_reason,omitempty"`
	// BlockedUntil is the provider's pending Retry-After time, or zero.
	BlockedUntil time.Time `json:"blocked_until,omitzero"`
	// DailyBudget is the configured cap, 0 when none is counted.
	DailyBudget int `json:"daily_budget"`
	// BudgetRemaining is the lowest count of calls left today that this
	// process has seen, or -1 before its first request today and when no
	// budget is counted.
	BudgetRemaining int `json:"budget_remaining"`
}

// Health returns the state of every provider. It reads only memory and
// never calls the store, so it is cheap.
func (e *Engine) Health() map[intel.Provider]ProviderHealth {
	now := time.Now()
	today := e.now().UTC().Format(time.DateOnly)
	out := make(map[intel.Provider]ProviderHealth, len(e.providers))
	for _, ps := range e.providers {
		configured := ps.provider.Configured()
		budgetLeft := ps.budgetLeft(today)
		ps.mu.Lock()
		h := ProviderHealth{
			Configured:      configured,
			Disabled:        ps.disabledReason != "",
			DisabledReason:  ps.disabledReason,
			DailyBudget:     ps.limits.DailyBudget,
			BudgetRemaining: budgetLeft,
		}
		if ps.blockedUntil.After(now) {
			h.BlockedUntil = ps.blockedUntil
		}
		ps.mu.Unlock()
		if h.DailyBudget == 0 {
			h.BudgetRemaining = -1
		}
		out[ps.name] = h
	}
	return out
}
