package enrich

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
	"github.com/threat-intel/threat-intel/internal/store"
)

// batchThreshold is the number of uncached public addresses above which a
// BatchProvider's lookups go out as batch requests. Up to this many single
// requests run concurrently and finish about as fast as one batch, and a
// batch that returns results for only some addresses costs one request
// more than the single lookups alone.
const batchThreshold = 5

// enrichBatch sends the uncached public addresses (indexes into addrs) to
// a BatchProvider in batches of at most MaxBatch addresses, when more than
// batchThreshold of them are uncached. It passes the outcome of every
// address it settles to set, and returns the indexes left for single
// lookups: the cached addresses, and those a batch returned nothing usable
// for or could not be sent for.
//
// NOTE: each batch request takes one call from the daily budget and one
// token from the bucket, whatever its size. Whether IPinfo bills a batch
// as one request or per address is not checked here. If it bills per
// address, the daily budget caps batch requests, not addresses.
func (e *Engine) enrichBatch(ctx context.Context, c *cycle, ps *providerState, bp BatchProvider, addrs []netip.Addr, public []int, cached map[netip.Addr]store.Entry, set func(int, outcome)) []int {
	maxBatch := bp.MaxBatch()
	if maxBatch < 1 || ps.disabled() != "" {
		return public
	}

	// An entry that cannot be decoded counts as cached here. Its single
	// lookup then misses and fetches it alone.
	var rest, uncached []int
	for _, i := range public {
		if _, ok := cached[addrs[i]]; ok {
			rest = append(rest, i)
			continue
		}
		uncached = append(uncached, i)
	}
	if len(uncached) <= batchThreshold {
		return public
	}

	for start := 0; start < len(uncached); start += maxBatch {
		batch := uncached[start:min(start+maxBatch, len(uncached))]
		rest = append(rest, e.sendBatch(ctx, c, ps, bp, addrs, batch, set)...)
	}
	return rest
}

// sendBatch sends one batch request for the addresses at indexes batch,
// with the waits, budget, token and retries of a single fetch, and returns
// the indexes left for single lookups.
//
// When the request cannot be sent (a long Retry-After block, a spent
// budget, no token before the deadline, a cancelled ctx), the first
// address takes that outcome and the others are returned. Their single
// lookups then meet the same limit, and each is counted once.
func (e *Engine) sendBatch(ctx context.Context, c *cycle, ps *providerState, bp BatchProvider, addrs []netip.Addr, batch []int, set func(int, outcome)) []int {
	batchAddrs := make([]netip.Addr, len(batch))
	for j, i := range batch {
		batchAddrs[j] = addrs[i]
	}
	// settle counts the cache miss of every address in the batch and sets
	// its outcome, as a single lookup would.
	settle := func(result func(i int) outcome) {
		for _, i := range batch {
			e.countMiss(ps)
			set(i, result(i))
		}
	}

	var previousErr string
	for attempt := 1; ; attempt++ {
		if ps.disabled() != "" {
			// A concurrent Enrich call saw the key rejected.
			return batch
		}
		if r, stop := e.waitUnblocked(ctx, c, ps); stop {
			e.countMiss(ps)
			set(batch[0], r)
			return batch[1:]
		}
		if r, stop := e.admit(ctx, c, ps); stop {
			e.countMiss(ps)
			set(batch[0], r)
			return batch[1:]
		}

		results, err := bp.FetchBatch(ctx, batchAddrs)
		ps.stats.calls.Add(1)
		c.requests.Add(1)
		e.countRequest(ps, Result{}, err)
		if err == nil {
			return e.batchFetched(ctx, c, ps, addrs, batch, results, set)
		}
		if ctx.Err() != nil {
			settle(func(int) outcome { return e.cancelled(ctx, c, ps) })
			return nil
		}

		var limited *provider.RateLimitedError
		switch {
		case errors.As(err, &limited):
			ps.stats.rateLimited.Add(1)
			e.rateLimited(ctx, c, ps, limited)
			if attempt >= e.retry.MaxAttempts {
				settle(func(int) outcome { return e.skip(c, ps, intel.StatusSkippedRateLimited, skipRateLimited) })
				return nil
			}
			// The next pass waits for the Retry-After time or skips.

		case errors.Is(err, provider.ErrUnauthorized):
			e.disableProvider(ps, err)
			settle(func(i int) outcome { return e.fail(c, ps, addrs[i], "unauthorized", err) })
			return nil

		case provider.Retryable(err) && attempt < e.retry.MaxAttempts:
			delay := e.retry.delay(attempt)
			e.logBatchRetry(ps, len(batch), attempt, delay, err, previousErr)
			if sleep(ctx, delay) != nil {
				settle(func(int) outcome { return e.cancelled(ctx, c, ps) })
				return nil
			}

		default:
			e.logger.Warn("provider batch request failed; looking the addresses up one at a time",
				"provider", ps.name, "addresses", len(batch), "err", err)
			return batch
		}
		previousErr = err.Error()
	}
}

// batchFetched caches and sets the outcome of every address the batch
// returned a result for, exactly as a single fetch does, and returns the
// indexes of the others.
func (e *Engine) batchFetched(ctx context.Context, c *cycle, ps *providerState, addrs []netip.Addr, batch []int, results map[netip.Addr]Result, set func(int, outcome)) []int {
	var missing []int
	for _, i := range batch {
		res, ok := results[addrs[i]]
		if !ok {
			missing = append(missing, i)
			continue
		}
		e.countMiss(ps)
		set(i, e.fetched(ctx, c, ps, addrs[i], res))
	}
	if len(missing) > 0 {
		e.logger.Debug("provider batch returned no result for some addresses; looking them up one at a time",
			"provider", ps.name, "addresses", len(batch), "missing", len(missing))
	}
	return missing
}

// countMiss counts one lookup that found no usable cache entry.
func (e *Engine) countMiss(ps *providerState) {
	ps.stats.cacheMisses.Add(1)
	e.metrics.cacheMisses.WithLabelValues(string(ps.name)).Inc()
}

// logBatchRetry logs a batch retry at Warn when its error differs from the
// previous attempt's, and at Debug when it repeats it.
func (e *Engine) logBatchRetry(ps *providerState, addresses, attempt int, delay time.Duration, err error, previousErr string) {
	msg := "retrying provider batch request"
	args := []any{"provider", ps.name, "addresses", addresses, "attempt", attempt + 1,
		"max_attempts", e.retry.MaxAttempts, "delay_seconds", delay.Seconds(), "err", err}
	if err.Error() == previousErr {
		e.logger.Debug(msg, args...)
		return
	}
	e.logger.Warn(msg, args...)
}
