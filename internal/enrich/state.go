package enrich

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// providerState is the engine's memory of one provider between lookups and
// cycles. The limiter is shared by all lookups of the provider.
type providerState struct {
	provider Provider
	name     intel.Provider
	limits   Limits
	limiter  *rate.Limiter

	mu sync.Mutex
	// blockedUntil is the provider's latest Retry-After time, on the real
	// clock. No request is sent before it.
	blockedUntil time.Time
	// disabledReason is set once the provider rejected its key, and the
	// provider is skipped for the rest of the process.
	disabledReason string
	// budgetDay is the UTC date ("2006-01-02") that budgetRemaining counts.
	budgetDay string
	// budgetRemaining is the lowest count of calls left on budgetDay seen by
	// this process, or -1 before the first. At 0 later lookups that day skip
	// without calling the store.
	budgetRemaining int
	// spentLogged is the UTC date whose spent budget has been logged.
	spentLogged string

	stats providerCounters
}

// providerCounters are the cumulative counts behind Stats.
type providerCounters struct {
	calls       atomic.Int64
	rateLimited atomic.Int64
	cacheHits   atomic.Int64
	cacheMisses atomic.Int64
	failures    atomic.Int64
	skipped     atomic.Int64
}

func newProviderState(p Provider, limits Limits) *providerState {
	return &providerState{
		provider:        p,
		name:            p.Name(),
		limits:          limits,
		limiter:         limits.limiter(),
		budgetRemaining: -1,
	}
}

// disabled returns the reason the provider was disabled, or "".
func (ps *providerState) disabled() string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.disabledReason
}

// disable marks the provider disabled and reports whether this call did it,
// so that exactly one caller logs it.
func (ps *providerState) disable(reason string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.disabledReason != "" {
		return false
	}
	ps.disabledReason = reason
	return true
}

// blocked returns the Retry-After time that is still ahead of now, or the
// zero time.
func (ps *providerState) blocked(now time.Time) time.Time {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.blockedUntil.After(now) {
		return ps.blockedUntil
	}
	return time.Time{}
}

// block moves the Retry-After time forward to until. It reports whether no
// block was in force at now, which marks the start of a new block.
func (ps *providerState) block(until, now time.Time) (started bool) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	started = !ps.blockedUntil.After(now)
	if until.After(ps.blockedUntil) {
		ps.blockedUntil = until
	}
	return started
}

// noteBudget records that remaining calls are left on day and sets gauge
// to the lowest count known for that day. Concurrent lookups finish in any
// order, but a day's count only falls, so the lowest is the latest.
func (ps *providerState) noteBudget(day string, remaining int, gauge prometheus.Gauge) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.budgetDay != day || ps.budgetRemaining < 0 || remaining < ps.budgetRemaining {
		ps.budgetDay = day
		ps.budgetRemaining = remaining
	}
	gauge.Set(float64(ps.budgetRemaining))
}

// markSpent records that the budget of day is spent, and reports whether
// that is news, so that it is logged once a day.
func (ps *providerState) markSpent(day string, gauge prometheus.Gauge) bool {
	ps.noteBudget(day, 0, gauge)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.spentLogged == day {
		return false
	}
	ps.spentLogged = day
	return true
}

// spent reports whether no call is left in the budget of day.
func (ps *providerState) spent(day string) bool {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.budgetDay == day && ps.budgetRemaining == 0
}

// budgetLeft returns the calls left on day, or -1 when unknown.
func (ps *providerState) budgetLeft(day string) int {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.budgetDay != day {
		return -1
	}
	return ps.budgetRemaining
}
