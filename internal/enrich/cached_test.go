package enrich

import (
	"context"
	"net/netip"
	"testing"

	"github.com/threat-intel/threat-intel/internal/intel"
)

func TestCachedNeverCallsProviders(t *testing.T) {
	env := newTestEnv(t)
	e := env.engine()
	warm := netip.MustParseAddr("203.0.113.7")
	cold := netip.MustParseAddr("198.51.100.7")

	e.Enrich(context.Background(), []netip.Addr{warm})
	before := env.requests()

	l, found, err := e.Cached(context.Background(), warm)
	if err != nil || !found {
		t.Fatalf("Cached(%s) = found %v, err %v; want the cached answers", warm, found, err)
	}
	for _, name := range intel.Providers {
		if l.Status[name] != intel.StatusOK {
			t.Errorf("%s status = %q, want ok from the cache", name, l.Status[name])
		}
	}
	if l.AbuseIPDB == nil || len(l.Cached) != len(intel.Providers) {
		t.Errorf("cached lookup = %+v, want every provider's result", l)
	}

	l, found, err = e.Cached(context.Background(), cold)
	if err != nil || found {
		t.Fatalf("Cached(%s) = found %v, err %v; want nothing cached", cold, found, err)
	}
	if l.Status[intel.OTX] != intel.StatusNotCached {
		t.Errorf("OTX status = %q, want %q", l.Status[intel.OTX], intel.StatusNotCached)
	}

	after := env.requests()
	for name, n := range after {
		if n != before[name] {
			t.Errorf("%s received %d requests during cache-only lookups", name, n-before[name])
		}
	}
}

func TestCachedStoreFailure(t *testing.T) {
	env := newTestEnv(t)
	e := env.engine()
	if err := env.store.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.Cached(context.Background(), netip.MustParseAddr("203.0.113.7")); err == nil {
		t.Error("Cached on a closed store succeeded, want the store's error")
	}
}
