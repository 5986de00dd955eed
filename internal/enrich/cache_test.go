package enrich

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
	"github.com/threat-intel/threat-intel/internal/store"
)

func TestEnrichSecondCycleUsesCache(t *testing.T) {
	for _, backend := range []string{"bbolt", "redis"} {
		t.Run(backend, func(t *testing.T) {
			env := newTestEnv(t)
			if backend == "redis" {
				env.store = openRedisStore(t, env.clock)
			}
			e := env.engine()
			addresses := publicAddrs(5)

			first := e.Enrich(t.Context(), addresses)
			before := env.requests()
			second := e.Enrich(t.Context(), addresses)
			after := env.requests()

			for _, name := range intel.Providers {
				if before[name] != len(addresses) {
					t.Errorf("%s: first cycle sent %d requests, want %d", name, before[name], len(addresses))
				}
				if after[name] != before[name] {
					t.Errorf("%s: second cycle sent %d requests, want 0", name, after[name]-before[name])
				}
			}
			for _, a := range addresses {
				if !slices.Equal(second[a].Cached, intel.Providers) {
					t.Errorf("%s: Cached = %v, want %v", a, second[a].Cached, intel.Providers)
				}
				for _, name := range intel.Providers {
					if second[a].Status[name] != first[a].Status[name] {
						t.Errorf("%s: %s status %q from the cache, %q when fetched", a, name, second[a].Status[name], first[a].Status[name])
					}
				}
				if second[a].AbuseIPDB == nil || *second[a].AbuseIPDB != *first[a].AbuseIPDB {
					t.Errorf("%s: cached AbuseIPDB %+v differs from the fetched %+v", a, second[a].AbuseIPDB, first[a].AbuseIPDB)
				}
				// The store stamps the entry when it is written, just after the fetch.
				if d := second[a].FetchedAt.Sub(first[a].FetchedAt); d < 0 || d > time.Second {
					t.Errorf("%s: FetchedAt %s from the cache, want the time of the fetch %s", a, second[a].FetchedAt, first[a].FetchedAt)
				}
			}
			stats := e.Stats()[intel.OTX]
			if stats.CacheHits != int64(len(addresses)) || stats.CacheMisses != int64(len(addresses)) {
				t.Errorf("OTX stats %+v, want %d hits and %d misses", stats, len(addresses), len(addresses))
			}
		})
	}
}

func TestEnrichFailureIsNotCached(t *testing.T) {
	env := newTestEnv(t)
	abuse := env.fakes[intel.AbuseIPDB]
	abuse.Set(corpusReply(t, http.StatusServiceUnavailable, "abuseipdb-error-503-ciscosecurity.json"))
	e := env.engine()

	failed := e.Enrich(t.Context(), []netip.Addr{testAddr})[testAddr]
	if got := failed.Status[intel.AbuseIPDB]; got != intel.Failed("HTTP 503") {
		t.Fatalf("status during the outage = %q, want %q", got, intel.Failed("HTTP 503"))
	}
	if _, found, _ := env.store.Get(t.Context(), intel.AbuseIPDB, testAddr); found {
		t.Error("a failed lookup was cached")
	}

	abuse.Set(corpusReply(t, http.StatusOK, okBodies[intel.AbuseIPDB]))
	before := abuse.Count()
	recovered := e.Enrich(t.Context(), []netip.Addr{testAddr})[testAddr]

	if got := recovered.Status[intel.AbuseIPDB]; got != intel.StatusOK {
		t.Errorf("status after recovery = %q, want %q", got, intel.StatusOK)
	}
	if n := abuse.Count() - before; n != 1 {
		t.Errorf("the cycle after recovery sent %d requests, want 1", n)
	}
	if slices.Contains(recovered.Cached, intel.AbuseIPDB) {
		t.Error("the answer after recovery is marked cached")
	}
}

func TestEnrichNotFoundUsesShorterTTL(t *testing.T) {
	env := newTestEnv(t)
	env.fakes[intel.GreyNoise].Set(corpusReply(t, http.StatusNotFound, "greynoise-community-404-notfound-graylog.json"))
	for _, name := range intel.Providers {
		env.setLimits(name, func(l *Limits) { l.CacheTTL = 24 * time.Hour; l.NotFoundTTL = time.Hour })
	}
	e := env.engine()
	enrich := func() map[intel.Provider]int {
		before := env.requests()
		e.Enrich(t.Context(), []netip.Addr{testAddr})
		after := env.requests()
		sent := map[intel.Provider]int{}
		for _, name := range intel.Providers {
			sent[name] = after[name] - before[name]
		}
		return sent
	}

	enrich()
	steps := []struct {
		name    string
		advance time.Duration
		want    map[intel.Provider]int
	}{
		{"within both TTLs", 30 * time.Minute, map[intel.Provider]int{}},
		{"not-found TTL passed", time.Hour, map[intel.Provider]int{intel.GreyNoise: 1}},
		{"found TTL passed", 24 * time.Hour, map[intel.Provider]int{intel.AbuseIPDB: 1, intel.GreyNoise: 1, intel.OTX: 1, intel.IPinfo: 1}},
	}
	for _, step := range steps {
		env.clock.Advance(step.advance)
		sent := enrich()
		for _, name := range intel.Providers {
			if sent[name] != step.want[name] {
				t.Errorf("%s: %s sent %d requests, want %d", step.name, name, sent[name], step.want[name])
			}
		}
	}
}

func TestEnrichStoreWriteFailureStillAnswers(t *testing.T) {
	env := newTestEnv(t)
	e := env.engine()
	// A closed bbolt store fails every call: reads, writes and budgets.
	if err := env.store.Close(); err != nil {
		t.Fatal(err)
	}

	lookups := e.Enrich(t.Context(), publicAddrs(3))

	for _, name := range intel.Providers {
		if n := countStatus(lookups, name, intel.StatusOK); n != 3 {
			t.Errorf("%s answered %d of 3 addresses, want 3 (providers without a budget do not need the store)", name, n)
		}
	}
	if lines := env.logs.Lines("level=WARN", "writing the cache failed"); len(lines) != 1 {
		t.Errorf("got %d Warn lines for the cache writes, want 1:\n%s", len(lines), env.logs)
	}
	if lines := env.logs.Lines("level=WARN", "reading the cache failed"); len(lines) != 1 {
		t.Errorf("got %d Warn lines for the cache reads, want 1:\n%s", len(lines), env.logs)
	}
}

func TestEnrichUnreadableCacheEntryIsRefetched(t *testing.T) {
	env := newTestEnv(t)
	if err := env.store.Put(t.Context(), intel.OTX, testAddr, store.Found, []byte(`{"pulse_count":"many"}`), time.Hour); err != nil {
		t.Fatal(err)
	}
	e := env.engine()

	got := e.Enrich(t.Context(), []netip.Addr{testAddr})[testAddr]

	if got.Status[intel.OTX] != intel.StatusOK || got.OTX == nil || got.OTX.PulseCount != 39 {
		t.Errorf("OTX status %q result %+v, want a fresh result with 39 pulses", got.Status[intel.OTX], got.OTX)
	}
	if n := env.fakes[intel.OTX].Count(); n != 1 {
		t.Errorf("OTX received %d requests, want 1", n)
	}
	if lines := env.logs.Lines("level=WARN", "unreadable cache entry"); len(lines) != 1 {
		t.Errorf("got %d Warn lines for the bad entry, want 1:\n%s", len(lines), env.logs)
	}
}

func TestEnrichCachesNothingForOversizedBody(t *testing.T) {
	env := newTestEnv(t)
	env.fakes[intel.OTX].Set(providertest.Oversized(5<<20, "pulse_info"))
	e := env.engine()

	got := e.Enrich(t.Context(), []netip.Addr{testAddr})[testAddr]

	if want := intel.Failed("response too large"); got.Status[intel.OTX] != want {
		t.Errorf("status %q, want %q", got.Status[intel.OTX], want)
	}
	if got.Status[intel.AbuseIPDB] != intel.StatusOK {
		t.Errorf("AbuseIPDB status %q, want ok: one provider's fault must not touch the others", got.Status[intel.AbuseIPDB])
	}
	if _, found, _ := env.store.Get(t.Context(), intel.OTX, testAddr); found {
		t.Error("the failed OTX lookup was cached")
	}
}
