package enrich

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
	"github.com/threat-intel/threat-intel/internal/store"
)

// lookup returns one provider's outcome for one public address. The checks
// run in this order: a disabled provider, the cache, then fetch.
func (e *Engine) lookup(ctx context.Context, c *cycle, ps *providerState, addr netip.Addr, cached map[netip.Addr]store.Entry) outcome {
	if ps.disabled() != "" {
		return e.skip(c, ps, intel.StatusSkippedDisabled, skipDisabled)
	}

	if entry, ok := cached[addr]; ok {
		if r, ok := e.fromCache(c, ps, entry); ok {
			return r
		}
	}
	ps.stats.cacheMisses.Add(1)
	e.metrics.cacheMisses.WithLabelValues(string(ps.name)).Inc()

	return e.fetch(ctx, c, ps, addr)
}

// fromCache decodes a cache entry. A value that cannot be decoded, which
// an older or damaged entry may hold, is logged and counts as a miss.
func (e *Engine) fromCache(c *cycle, ps *providerState, entry store.Entry) (outcome, bool) {
	value, err := decodeValue(ps.name, entry.Value)
	if err == nil {
		err = checkValue(ps.name, value)
	}
	if err != nil {
		e.warnOnce(&c.cacheDecodeWarned, "ignoring an unreadable cache entry", "provider", ps.name, "err", err)
		return outcome{}, false
	}

	ps.stats.cacheHits.Add(1)
	c.cacheHits.Add(1)
	e.metrics.cacheHits.WithLabelValues(string(ps.name)).Inc()
	return outcome{
		status:    entry.Outcome.Status(),
		value:     value,
		cached:    true,
		fetchedAt: entry.StoredAt,
	}, true
}

// fetch sends the provider at most MaxAttempts requests about addr. Before
// each request it waits out a short Retry-After block (or skips on a long
// one), then takes one call from the daily budget and a token from the
// provider's bucket.
func (e *Engine) fetch(ctx context.Context, c *cycle, ps *providerState, addr netip.Addr) outcome {
	var previousErr string
	for attempt := 1; ; attempt++ {
		if r, stop := e.waitUnblocked(ctx, c, ps); stop {
			return r
		}
		if r, stop := e.admit(ctx, c, ps); stop {
			return r
		}

		res, err := ps.provider.Fetch(ctx, addr)
		ps.stats.calls.Add(1)
		c.requests.Add(1)
		e.countRequest(ps, res, err)
		if err == nil {
			return e.fetched(ctx, c, ps, addr, res)
		}
		if ctx.Err() != nil {
			return e.cancelled(ctx, c, ps)
		}

		var limited *provider.RateLimitedError
		switch {
		case errors.As(err, &limited):
			ps.stats.rateLimited.Add(1)
			e.rateLimited(ctx, c, ps, limited)
			if attempt >= e.retry.MaxAttempts {
				return e.skip(c, ps, intel.StatusSkippedRateLimited, skipRateLimited)
			}
			// The next pass waits for the Retry-After time or skips.

		case errors.Is(err, provider.ErrUnauthorized):
			e.disableProvider(ps, err)
			return e.fail(c, ps, addr, "unauthorized", err)

		case provider.Retryable(err) && attempt < e.retry.MaxAttempts:
			delay := e.retry.delay(attempt)
			e.logRetry(ps, addr, attempt, delay, err, previousErr)
			if sleep(ctx, delay) != nil {
				return e.cancelled(ctx, c, ps)
			}

		default:
			return e.fail(c, ps, addr, failureReason(err), err)
		}
		previousErr = err.Error()
	}
}

// waitUnblocked waits until the provider's Retry-After time when it is at
// most the patience away. A later time skips the lookup at once, so a
// quota that resets hours away never stalls the cycle.
func (e *Engine) waitUnblocked(ctx context.Context, c *cycle, ps *providerState) (outcome, bool) {
	for {
		now := time.Now()
		until := ps.blocked(now)
		if until.IsZero() {
			return outcome{}, false
		}
		wait := until.Sub(now)
		if wait > e.patience(ctx, now) {
			return e.skip(c, ps, intel.StatusSkippedRateLimited, skipRateLimited), true
		}
		if sleep(ctx, wait) != nil {
			return e.cancelled(ctx, c, ps), true
		}
		// Another lookup may have met a new 429 meanwhile, so check again.
	}
}

// patience returns how long a lookup may wait for a Retry-After time: the
// engine's maximum, or less when ctx ends sooner.
func (e *Engine) patience(ctx context.Context, now time.Time) time.Duration {
	patience := e.maxRateLimitWait
	if deadline, ok := ctx.Deadline(); ok {
		patience = min(patience, deadline.Sub(now))
	}
	return patience
}

// admit takes one call from the provider's daily budget, then waits for a
// token from its bucket. The budget comes first so that a spent budget is
// known without waiting for a token. The token comes last so that the
// request leaves on the bucket's schedule, however long the store took.
//
// NOTE: a lookup cancelled during the token wait, or whose token would come
// after ctx's deadline, has already taken its budget call. At most
// Concurrency calls per provider and cycle can be lost that way.
func (e *Engine) admit(ctx context.Context, c *cycle, ps *providerState) (outcome, bool) {
	if r, stop := e.takeBudget(ctx, c, ps); stop {
		return r, true
	}

	reservation := ps.limiter.Reserve()
	delay := reservation.Delay()
	if deadline, ok := ctx.Deadline(); ok && time.Now().Add(delay).After(deadline) {
		reservation.Cancel()
		return e.skip(c, ps, intel.StatusSkippedRateLimited, skipRateLimited), true
	}
	if sleep(ctx, delay) != nil {
		reservation.Cancel()
		return e.cancelled(ctx, c, ps), true
	}
	return outcome{}, false
}

// takeBudget takes one call from the provider's daily budget. It fails
// closed: when the store cannot count, the call is not made.
func (e *Engine) takeBudget(ctx context.Context, c *cycle, ps *providerState) (outcome, bool) {
	limit := ps.limits.DailyBudget
	if limit == 0 {
		return outcome{}, false
	}
	now := e.now().UTC()
	day := now.Format(time.DateOnly)
	if ps.spent(day) {
		e.budgetSpent(ps, day)
		return e.skip(c, ps, intel.StatusSkippedBudget, skipBudget), true
	}

	remaining, ok, err := e.store.TakeBudget(ctx, ps.name, now, limit)
	if err != nil {
		if ctx.Err() != nil {
			return e.cancelled(ctx, c, ps), true
		}
		e.warnOnce(&c.budgetWarned, "counting the daily budget failed; budgeted providers are not called until the store is reachable",
			"provider", ps.name, "err", err)
		return e.skip(c, ps, intel.StatusSkippedBudget, skipBudget), true
	}
	if !ok {
		e.budgetSpent(ps, day)
		return e.skip(c, ps, intel.StatusSkippedBudget, skipBudget), true
	}

	ps.noteBudget(day, remaining, e.metrics.budgetRemaining.WithLabelValues(string(ps.name)))
	return outcome{}, false
}

// budgetSpent records that the provider's budget for day is spent and logs
// it once per provider and day.
func (e *Engine) budgetSpent(ps *providerState, day string) {
	if ps.markSpent(day, e.metrics.budgetRemaining.WithLabelValues(string(ps.name))) {
		e.logger.Warn("provider daily budget spent; skipping it until the next UTC day",
			"provider", ps.name, "daily_budget", ps.limits.DailyBudget, "day", day)
	}
}

// fetched turns a provider's result into an outcome and caches it. A cache
// write failure is logged, and the result is still used.
func (e *Engine) fetched(ctx context.Context, c *cycle, ps *providerState, addr netip.Addr, res Result) outcome {
	if err := checkValue(ps.name, res.Value); err != nil {
		return e.fail(c, ps, addr, "unsupported result", err)
	}
	if res.Quota.HasRemaining && res.Quota.Remaining == 0 && res.Quota.Reset.After(time.Now()) {
		// This request used the last call of the provider's own quota.
		e.blockUntil(ctx, c, ps, res.Quota.Reset, false, "provider quota spent; pausing its requests until the reset", nil)
	}

	o := outcome{status: intel.StatusOK, value: res.Value, fetchedAt: e.now()}
	ttl := ps.limits.CacheTTL
	cacheOutcome := store.Found
	if res.NotFound {
		o.status = intel.StatusNotFound
		ttl = ps.limits.NotFoundTTL
		cacheOutcome = store.NotFound
	}

	value, err := encodeValue(res.Value)
	if err == nil {
		err = e.store.Put(ctx, ps.name, addr, cacheOutcome, value, ttl)
	}
	if err != nil {
		e.warnOnce(&c.cacheWriteWarned, "writing the cache failed; results are used but will be fetched again next cycle",
			"provider", ps.name, "err", err)
	}
	e.logger.Debug("provider lookup done", "provider", ps.name, "ip", addr, "status", o.status)
	return o
}

// rateLimited blocks the provider until the retry time of its 429 response.
func (e *Engine) rateLimited(ctx context.Context, c *cycle, ps *providerState, limited *provider.RateLimitedError) {
	e.blockUntil(ctx, c, ps, limited.RetryAt, limited.RetryAtEstimated, "provider rate limited; pausing its requests", limited)
}

// blockUntil stops requests to the provider until retryAt, on the real
// clock, and logs the start of a block once. When a block that is not an
// estimate lasts past the end of the current UTC day, the day's budget is
// marked spent in the store, so that a restart does not spend a request to
// meet the same refusal. A block that ends within the day is kept in memory
// only, because the provider accepts requests again the same day. cause,
// if not nil, is logged with the start of the block.
func (e *Engine) blockUntil(ctx context.Context, c *cycle, ps *providerState, retryAt time.Time, estimated bool, msg string, cause error) {
	now := time.Now()
	if ps.block(retryAt, now) {
		args := []any{"provider", ps.name, "retry_at", retryAt.UTC().Format(time.RFC3339),
			"wait_seconds", retryAt.Sub(now).Round(time.Second).Seconds()}
		if cause != nil {
			args = append(args, "err", cause)
		}
		e.logger.Warn(msg, args...)
	}

	if estimated || ps.limits.DailyBudget == 0 {
		return
	}
	// Compare on the calendar clock, which tests may shift.
	calendarNow := e.now().UTC()
	calendarRetryAt := calendarNow.Add(retryAt.Sub(now))
	nextDay := time.Date(calendarNow.Year(), calendarNow.Month(), calendarNow.Day()+1, 0, 0, 0, 0, time.UTC)
	if calendarRetryAt.Before(nextDay) {
		return
	}
	if err := e.store.ExhaustBudget(ctx, ps.name, calendarNow, ps.limits.DailyBudget); err != nil {
		e.warnOnce(&c.budgetWarned, "marking the daily budget spent failed", "provider", ps.name, "err", err)
	}
	e.budgetSpent(ps, calendarNow.Format(time.DateOnly))
}

// disableProvider disables the provider for the rest of the process after
// it rejected the key, and logs that once. The log names the setting to fix
// and never the key.
func (e *Engine) disableProvider(ps *providerState, err error) {
	reason := "the provider rejected the API key"
	var httpErr *provider.HTTPError
	if errors.As(err, &httpErr) {
		reason += " (HTTP " + strconv.Itoa(httpErr.Status) + ")"
	}
	if ps.disable(reason) {
		e.logger.Error("provider rejected the API key and is disabled until restart; check "+keySetting(ps.name),
			"provider", ps.name, "err", err)
	}
}

// keySetting names the setting that holds a provider's key.
func keySetting(name intel.Provider) string {
	switch name {
	case intel.AbuseIPDB:
		return "ABUSEIPDB_API_KEY"
	case intel.GreyNoise:
		return "GREYNOISE_API_KEY"
	case intel.OTX:
		return "OTX_API_KEY"
	case intel.IPinfo:
		return "IPINFO_TOKEN"
	}
	return "the provider's API key"
}

// logRetry logs a retry at Warn when its error differs from the previous
// attempt's, and at Debug when it repeats it.
func (e *Engine) logRetry(ps *providerState, addr netip.Addr, attempt int, delay time.Duration, err error, previousErr string) {
	msg := "retrying provider request"
	args := []any{"provider", ps.name, "ip", addr, "attempt", attempt + 1,
		"max_attempts", e.retry.MaxAttempts, "delay_seconds", delay.Seconds(), "err", err}
	if err.Error() == previousErr {
		e.logger.Debug(msg, args...)
		return
	}
	e.logger.Warn(msg, args...)
}

// skip returns a skipped outcome and counts it.
func (e *Engine) skip(c *cycle, ps *providerState, status intel.Status, reason string) outcome {
	ps.stats.skipped.Add(1)
	c.skipped.Add(1)
	e.metrics.skipped.WithLabelValues(string(ps.name), reason).Inc()
	return outcome{status: status}
}

// fail returns a failed outcome and counts it. The first failure of each
// provider in a cycle is logged at Warn and later ones at Debug, so an
// outage logs one line per provider and cycle.
func (e *Engine) fail(c *cycle, ps *providerState, addr netip.Addr, reason string, err error) outcome {
	ps.stats.failures.Add(1)
	c.failures.Add(1)
	e.warnOnce(c.failureLogged[ps.name], "provider lookup failed", "provider", ps.name, "ip", addr, "err", err)
	return outcome{status: intel.Failed(reason)}
}

// cancelled returns the outcome of a lookup that ctx ended.
func (e *Engine) cancelled(ctx context.Context, c *cycle, ps *providerState) outcome {
	ps.stats.failures.Add(1)
	c.failures.Add(1)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return outcome{status: intel.Failed("cycle deadline")}
	}
	return outcome{status: intel.Failed("cancelled")}
}

// countRequest counts one request sent, by how it ended.
func (e *Engine) countRequest(ps *providerState, res Result, err error) {
	label := outcomeOK
	switch {
	case err == nil && res.NotFound:
		label = outcomeNotFound
	case err == nil:
	case errors.Is(err, provider.ErrRateLimited):
		label = outcomeRateLimited
	case errors.Is(err, provider.ErrUnauthorized):
		label = outcomeUnauthorized
	case isTimeout(err):
		label = outcomeTimeout
	default:
		label = outcomeError
	}
	e.metrics.requests.WithLabelValues(string(ps.name), label).Inc()
}

// delay returns the pause before retry number attempt (1 for the first
// retry): BaseDelay doubled per earlier retry, at most MaxDelay, less a
// random part of up to Jitter of it.
func (p RetryPolicy) delay(attempt int) time.Duration {
	d := p.MaxDelay
	if shift := attempt - 1; shift < 32 {
		if doubled := p.BaseDelay << shift; doubled > 0 && doubled < p.MaxDelay {
			d = doubled
		}
	}
	if p.Jitter > 0 {
		d -= time.Duration(rand.Float64() * p.Jitter * float64(d))
	}
	return d
}

// sleep waits for d or until ctx ends, and then returns ctx's error.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}
