package enrich

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// Cached returns what the cache holds for a public address, with the local
// sources applied, without calling any provider, spending budget or
// writing anything. found is false when no provider has a cached answer.
// Providers without one have the status "not cached". The error is the
// store's, when it cannot be read.
func (e *Engine) Cached(ctx context.Context, addr netip.Addr) (l intel.Lookup, found bool, err error) {
	key := canonical(addr)
	l = intel.Lookup{Addr: addr, Status: make(map[intel.Provider]intel.Status, len(e.providers))}

	for _, ps := range e.providers {
		entry, ok, err := e.store.Get(ctx, ps.name, key)
		if err != nil {
			return intel.Lookup{}, false, fmt.Errorf("reading the cached %s result: %w", ps.name, err)
		}
		if !ok {
			l.Status[ps.name] = intel.StatusNotCached
			continue
		}
		value, err := decodeValue(ps.name, entry.Value)
		if err == nil {
			err = checkValue(ps.name, value)
		}
		if err != nil {
			l.Status[ps.name] = intel.StatusNotCached
			continue
		}
		found = true
		l.Status[ps.name] = entry.Outcome.Status()
		attachValue(&l, value)
		l.Cached = append(l.Cached, ps.name)
		if entry.StoredAt.After(l.FetchedAt) {
			l.FetchedAt = entry.StoredAt
		}
	}

	for _, src := range e.local {
		src.LookupLocal(key, &l)
	}
	return l, found, nil
}
