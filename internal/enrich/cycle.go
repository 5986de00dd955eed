package enrich

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/store"
)

// outcome is the end of one provider's lookup of one address.
type outcome struct {
	status    intel.Status
	value     any // an intel result pointer, or nil
	cached    bool
	fetchedAt time.Time
}

// cycle is the state of one Enrich call: what has been logged in it, so
// that a fault repeated for every address is logged once, and its counts
// for the summary line.
type cycle struct {
	cacheReadWarned   atomic.Bool
	cacheWriteWarned  atomic.Bool
	cacheDecodeWarned atomic.Bool
	budgetWarned      atomic.Bool
	// failureLogged holds one flag per provider. The map is filled before
	// the lookups start and only read afterwards.
	failureLogged map[intel.Provider]*atomic.Bool

	requests  atomic.Int64
	cacheHits atomic.Int64
	failures  atomic.Int64
	skipped   atomic.Int64
}

func (e *Engine) newCycle() *cycle {
	c := &cycle{failureLogged: map[intel.Provider]*atomic.Bool{}}
	for _, ps := range e.providers {
		c.failureLogged[ps.name] = new(atomic.Bool)
	}
	return c
}

// warnOnce logs msg at Warn the first time it is called with flag in a
// cycle, and at Debug afterwards.
func (e *Engine) warnOnce(flag *atomic.Bool, msg string, args ...any) {
	level := slog.LevelDebug
	if flag.CompareAndSwap(false, true) {
		level = slog.LevelWarn
	}
	e.logger.Log(context.Background(), level, msg, args...)
}

// Enrich looks every address up with every provider and returns one Lookup
// per distinct input address. It always returns, with a status for every
// provider: a provider that fails, is rate limited or is out of budget
// marks its own status and never holds back the others. Internal addresses
// are never sent anywhere.
//
// Each provider works through the addresses on its own, with at most
// Concurrency lookups in flight, so the cycle lasts as long as its slowest
// provider. Cancelling ctx ends the waits and the requests in flight. Their
// lookups end with "failed: cancelled" or, when ctx's deadline passed,
// "failed: cycle deadline".
//
// An IPv4-mapped IPv6 address and its IPv4 form are looked up once and
// share a cache entry. Each gets its own Lookup under the key it was given.
func (e *Engine) Enrich(ctx context.Context, addrs []netip.Addr) map[netip.Addr]intel.Lookup {
	start := time.Now()
	c := e.newCycle()

	// Look each address up once, in its canonical form.
	index := make(map[netip.Addr]int, len(addrs))
	var unique []netip.Addr
	for _, a := range addrs {
		key := canonical(a)
		if _, seen := index[key]; !seen {
			index[key] = len(unique)
			unique = append(unique, key)
		}
	}

	outcomes := make([][]outcome, len(unique))
	internal := make([]bool, len(unique))
	var public []int
	for i, a := range unique {
		outcomes[i] = make([]outcome, len(e.providers))
		if e.classifier.IsPublic(a) {
			public = append(public, i)
			continue
		}
		internal[i] = true
		for p, ps := range e.providers {
			outcomes[i][p] = e.skip(c, ps, intel.StatusSkippedInternal, skipInternal)
		}
	}

	// Each goroutine writes only the outcomes of its own provider column.
	var wg sync.WaitGroup
	for p, ps := range e.providers {
		wg.Go(func() {
			e.enrichWith(ctx, c, ps, unique, public, func(i int, r outcome) { outcomes[i][p] = r })
		})
	}
	wg.Wait()

	lookups := make(map[netip.Addr]intel.Lookup, len(addrs))
	for _, a := range addrs {
		i := index[canonical(a)]
		l := e.assemble(a, internal[i], outcomes[i])
		if !internal[i] {
			for _, src := range e.local {
				src.LookupLocal(canonical(a), &l)
			}
		}
		lookups[a] = l
	}

	e.logger.Info("enrichment finished",
		"addresses", len(unique),
		"internal", len(unique)-len(public),
		"requests", c.requests.Load(),
		"cache_hits", c.cacheHits.Load(),
		"failed", c.failures.Load(),
		"skipped", c.skipped.Load(),
		"duration_seconds", time.Since(start).Seconds())
	return lookups
}

// canonical returns the form an address is looked up and cached in: IPv4
// for an IPv4-mapped address, and without an IPv6 zone.
func canonical(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// enrichWith runs the lookups of one provider for the public addresses
// (indexes into addrs) and passes each outcome to set. When more than
// batchThreshold addresses are uncached, a BatchProvider first gets them
// in batch requests. The addresses left over are looked up one at a time.
func (e *Engine) enrichWith(ctx context.Context, c *cycle, ps *providerState, addrs []netip.Addr, public []int, set func(int, outcome)) {
	if !ps.provider.Configured() {
		for _, i := range public {
			set(i, e.skip(c, ps, intel.StatusSkippedNoKey, skipNoKey))
		}
		return
	}

	var cached map[netip.Addr]store.Entry
	if ps.disabled() == "" {
		cached = e.readCache(ctx, c, ps, addrs, public)
	}

	pending := public
	if bp, ok := ps.provider.(BatchProvider); ok {
		pending = e.enrichBatch(ctx, c, ps, bp, addrs, public, cached, set)
	}

	var g errgroup.Group
	g.SetLimit(e.concurrency)
	for _, i := range pending {
		g.Go(func() error {
			set(i, e.lookup(ctx, c, ps, addrs[i], cached))
			return nil
		})
	}
	g.Wait()
}

// readCache returns the unexpired cache entries of the provider for the
// public addresses. A store error is logged and treated as no entries, so
// the results are fetched again.
func (e *Engine) readCache(ctx context.Context, c *cycle, ps *providerState, addrs []netip.Addr, public []int) map[netip.Addr]store.Entry {
	if len(public) == 0 {
		return nil
	}
	keys := make([]netip.Addr, len(public))
	for j, i := range public {
		keys[j] = addrs[i]
	}
	entries, err := e.store.GetMany(ctx, ps.name, keys)
	if err != nil {
		if ctx.Err() == nil {
			e.warnOnce(&c.cacheReadWarned, "reading the cache failed; fetching the results again",
				"provider", ps.name, "err", err)
		}
		return nil
	}
	return entries
}

// assemble builds the Lookup of one address from its per-provider outcomes.
func (e *Engine) assemble(a netip.Addr, internal bool, outcomes []outcome) intel.Lookup {
	l := intel.Lookup{
		Addr:     a,
		Internal: internal,
		Status:   make(map[intel.Provider]intel.Status, len(e.providers)),
	}
	for p, ps := range e.providers {
		r := outcomes[p]
		l.Status[ps.name] = r.status
		if r.value != nil {
			attachValue(&l, r.value)
		}
		if r.cached {
			l.Cached = append(l.Cached, ps.name)
		}
		if r.fetchedAt.After(l.FetchedAt) {
			l.FetchedAt = r.fetchedAt
		}
	}
	return l
}
