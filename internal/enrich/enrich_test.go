package enrich

import (
	"context"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

var testAddr = netip.MustParseAddr("203.0.113.10")

func TestEnrichStatus(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(t *testing.T, env *testEnv)
		addr     string
		provider intel.Provider
		// cycles is how many times Enrich runs; the last result is checked.
		cycles int
		want   intel.Status
	}{
		{
			name:     "ok",
			provider: intel.AbuseIPDB,
			want:     intel.StatusOK,
		},
		{
			name:     "not found greynoise not observed",
			provider: intel.GreyNoise,
			setup: func(t *testing.T, env *testEnv) {
				env.fakes[intel.GreyNoise].Set(corpusReply(t, http.StatusNotFound, "greynoise-community-404-notfound-graylog.json"))
			},
			want: intel.StatusNotFound,
		},
		{
			name:     "not found otx 404",
			provider: intel.OTX,
			setup: func(t *testing.T, env *testEnv) {
				env.fakes[intel.OTX].Set(providertest.Reply(http.StatusNotFound, providertest.JSON(), []byte(`{"detail":"Not found."}`)))
			},
			want: intel.StatusNotFound,
		},
		{
			name:     "not found ipinfo bogon",
			provider: intel.IPinfo,
			setup: func(t *testing.T, env *testEnv) {
				env.fakes[intel.IPinfo].Set(providertest.Reply(http.StatusOK, providertest.JSON(), []byte(`{"ip":"203.0.113.10","bogon":true}`)))
			},
			want: intel.StatusNotFound,
		},
		{
			name:     "skipped internal",
			provider: intel.AbuseIPDB,
			addr:     "192.168.1.20",
			want:     intel.StatusSkippedInternal,
		},
		{
			name:     "skipped no key",
			provider: intel.OTX,
			setup:    func(t *testing.T, env *testEnv) { env.cfg.OTXAPIKey = "" },
			want:     intel.StatusSkippedNoKey,
		},
		{
			name:     "skipped disabled",
			provider: intel.AbuseIPDB,
			setup: func(t *testing.T, env *testEnv) {
				env.fakes[intel.AbuseIPDB].Set(corpusReply(t, http.StatusUnauthorized, "abuseipdb-error-401-docs.json"))
			},
			cycles: 2,
			want:   intel.StatusSkippedDisabled,
		},
		{
			name:     "skipped rate limited",
			provider: intel.GreyNoise,
			setup: func(t *testing.T, env *testEnv) {
				env.fakes[intel.GreyNoise].Set(retryAfter("3600", providertest.APIFile(t, "greynoise-community-429-ratelimit-graylog.json")))
			},
			want: intel.StatusSkippedRateLimited,
		},
		{
			name:     "skipped budget",
			provider: intel.IPinfo,
			setup: func(t *testing.T, env *testEnv) {
				env.setLimits(intel.IPinfo, func(l *Limits) { l.DailyBudget = 1 })
				env.store.TakeBudget(t.Context(), intel.IPinfo, env.clock.Now(), 1)
			},
			want: intel.StatusSkippedBudget,
		},
		{
			name:     "failed unauthorized",
			provider: intel.OTX,
			setup: func(t *testing.T, env *testEnv) {
				env.fakes[intel.OTX].Set(providertest.Reply(http.StatusForbidden, providertest.JSON(), []byte(`{"detail":"Authentication required"}`)))
			},
			want: intel.Failed("unauthorized"),
		},
		{
			name:     "failed HTTP 503",
			provider: intel.AbuseIPDB,
			setup: func(t *testing.T, env *testEnv) {
				env.fakes[intel.AbuseIPDB].Set(corpusReply(t, http.StatusServiceUnavailable, "abuseipdb-error-503-ciscosecurity.json"))
			},
			want: intel.Failed("HTTP 503"),
		},
		{
			name:     "failed HTTP 422",
			provider: intel.AbuseIPDB,
			setup: func(t *testing.T, env *testEnv) {
				env.fakes[intel.AbuseIPDB].Set(corpusReply(t, http.StatusUnprocessableEntity, "abuseipdb-error-422-docs.json"))
			},
			want: intel.Failed("HTTP 422"),
		},
		{
			name:     "failed timeout",
			provider: intel.GreyNoise,
			setup: func(t *testing.T, env *testEnv) {
				env.cfg.ProviderTimeout = 100 * time.Millisecond
				env.fakes[intel.GreyNoise].Set(providertest.Stall())
			},
			want: intel.Failed("timeout"),
		},
		{
			name:     "failed malformed response",
			provider: intel.OTX,
			setup: func(t *testing.T, env *testEnv) {
				env.fakes[intel.OTX].Set(providertest.Reply(http.StatusOK, providertest.JSON(), []byte(`{"pulse_info":`)))
			},
			want: intel.Failed("malformed response"),
		},
		{
			name:     "failed connection refused",
			provider: intel.IPinfo,
			setup:    func(t *testing.T, env *testEnv) { env.cfg.IPinfoBaseURL = providertest.ClosedURL(t) },
			want:     intel.Failed("connection refused"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			if tt.setup != nil {
				tt.setup(t, env)
			}
			addr := testAddr
			if tt.addr != "" {
				addr = netip.MustParseAddr(tt.addr)
			}
			e := env.engine()

			var lookups map[netip.Addr]intel.Lookup
			for range max(tt.cycles, 1) {
				lookups = e.Enrich(t.Context(), []netip.Addr{addr})
			}

			got, ok := lookups[addr]
			if !ok {
				t.Fatalf("no lookup for %s; got %v", addr, lookups)
			}
			if status := got.Status[tt.provider]; status != tt.want {
				t.Errorf("status of %s = %q, want %q", tt.provider, status, tt.want)
			}
			if len(got.Status) != len(intel.Providers) {
				t.Errorf("statuses %v, want one for each of %v", got.Status, intel.Providers)
			}
		})
	}
}

func TestEnrichResultsFromCorpus(t *testing.T) {
	env := newTestEnv(t)
	e := env.engine()

	lookups := e.Enrich(t.Context(), []netip.Addr{testAddr})

	got := lookups[testAddr]
	if got.Addr != testAddr {
		t.Errorf("Addr = %s, want %s", got.Addr, testAddr)
	}
	if got.Internal {
		t.Error("Internal = true for a public address")
	}
	if got.AbuseIPDB == nil || got.AbuseIPDB.AbuseConfidenceScore != 100 || got.AbuseIPDB.CountryCode != "CN" {
		t.Errorf("AbuseIPDB = %+v, want score 100 and country CN from the docs answer", got.AbuseIPDB)
	}
	if got.GreyNoise == nil || !got.GreyNoise.Noise || !got.GreyNoise.Observed {
		t.Errorf("GreyNoise = %+v, want an observed noise answer", got.GreyNoise)
	}
	if got.OTX == nil || got.OTX.PulseCount != 39 {
		t.Errorf("OTX = %+v, want pulse count 39", got.OTX)
	}
	if got.IPinfo == nil || got.IPinfo.ASN != "AS15169" {
		t.Errorf("IPinfo = %+v, want ASN AS15169", got.IPinfo)
	}
	if len(got.Cached) != 0 {
		t.Errorf("Cached = %v on a first cycle, want none", got.Cached)
	}
	if got.FetchedAt.IsZero() {
		t.Error("FetchedAt is zero after fresh answers")
	}
}

func TestEnrichNotFoundKeepsGreyNoiseValue(t *testing.T) {
	env := newTestEnv(t)
	env.fakes[intel.GreyNoise].Set(corpusReply(t, http.StatusNotFound, "greynoise-community-404-notfound-graylog.json"))
	e := env.engine()

	first := e.Enrich(t.Context(), []netip.Addr{testAddr})[testAddr]
	second := e.Enrich(t.Context(), []netip.Addr{testAddr})[testAddr]

	for name, l := range map[string]intel.Lookup{"fresh": first, "cached": second} {
		if l.Status[intel.GreyNoise] != intel.StatusNotFound {
			t.Errorf("%s: status %q, want %q", name, l.Status[intel.GreyNoise], intel.StatusNotFound)
		}
		if l.GreyNoise == nil || l.GreyNoise.Observed || l.GreyNoise.Classification != "unknown" {
			t.Errorf("%s: GreyNoise = %+v, want not observed with classification unknown", name, l.GreyNoise)
		}
	}
	if !slices.Contains(second.Cached, intel.GreyNoise) {
		t.Errorf("second cycle Cached = %v, want greynoise", second.Cached)
	}
}

func TestEnrichInternalAddressesSendNothing(t *testing.T) {
	env := newTestEnv(t)
	for _, name := range intel.Providers {
		env.setLimits(name, func(l *Limits) { l.DailyBudget = 100 })
	}
	env.options.Classifier = netclass.New([]netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")})
	e := env.engine()
	internal := addrs(t,
		"10.1.2.3",           // RFC 1918
		"172.16.5.4",         // RFC 1918
		"192.168.1.1",        // RFC 1918
		"100.64.0.1",         // CGNAT
		"127.0.0.1",          // loopback
		"::1",                // IPv6 loopback
		"fd00::1",            // unique local
		"fe80::1",            // link-local
		"169.254.10.1",       // link-local
		"::ffff:192.168.1.1", // IPv4-mapped private
		"::ffff:127.0.0.1",   // IPv4-mapped loopback
		"224.0.0.251",        // multicast
		"0.0.0.0",            // unspecified
		"255.255.255.255",    // broadcast
		"198.51.100.7",       // own prefix
	)

	lookups := e.Enrich(t.Context(), internal)

	for name, n := range env.requests() {
		if n != 0 {
			t.Errorf("%s received %d requests for internal addresses, want 0", name, n)
		}
	}
	for _, a := range internal {
		l, ok := lookups[a]
		if !ok {
			t.Errorf("no lookup for %s", a)
			continue
		}
		if !l.Internal {
			t.Errorf("%s: Internal = false", a)
		}
		for _, name := range intel.Providers {
			if l.Status[name] != intel.StatusSkippedInternal {
				t.Errorf("%s: status of %s = %q, want %q", a, name, l.Status[name], intel.StatusSkippedInternal)
			}
			if _, found, err := env.store.Get(t.Context(), name, a); err != nil || found {
				t.Errorf("%s: %s cache entry found=%v err=%v, want none", a, name, found, err)
			}
		}
	}
	for _, name := range intel.Providers {
		used, err := env.store.BudgetUsed(t.Context(), name, env.clock.Now())
		if err != nil || used != 0 {
			t.Errorf("%s budget used = %d (err %v), want 0", name, used, err)
		}
	}
}

func TestEnrichMappedAddressLookedUpOnce(t *testing.T) {
	env := newTestEnv(t)
	e := env.engine()
	plain := netip.MustParseAddr("203.0.113.5")
	mapped := netip.MustParseAddr("::ffff:203.0.113.5")

	lookups := e.Enrich(t.Context(), []netip.Addr{plain, mapped, plain})

	if len(lookups) != 2 {
		t.Errorf("got %d lookups, want 2 (one per distinct input address)", len(lookups))
	}
	for name, n := range env.requests() {
		if n != 1 {
			t.Errorf("%s received %d requests, want 1", name, n)
		}
	}
	if got := lookups[mapped]; got.Addr != mapped || got.Status[intel.OTX] != intel.StatusOK {
		t.Errorf("mapped lookup = %+v, want Addr %s and status ok", got, mapped)
	}
}

func TestEnrichCancelledContextSendsNothing(t *testing.T) {
	env := newTestEnv(t)
	e := env.engine()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	lookups := e.Enrich(ctx, []netip.Addr{testAddr})

	for _, name := range intel.Providers {
		if got := lookups[testAddr].Status[name]; got != intel.Failed("cancelled") {
			t.Errorf("status of %s = %q, want %q", name, got, intel.Failed("cancelled"))
		}
	}
	for name, n := range env.requests() {
		if n != 0 {
			t.Errorf("%s received %d requests after cancellation, want 0", name, n)
		}
	}
}

func TestEnrichFailuresLoggedOncePerCycle(t *testing.T) {
	env := newTestEnv(t)
	env.fakes[intel.OTX].Set(providertest.Reply(http.StatusOK, providertest.JSON(), []byte(`not json`)))
	e := env.engine()

	lookups := e.Enrich(t.Context(), publicAddrs(6))

	if n := countStatus(lookups, intel.OTX, intel.Failed("malformed response")); n != 6 {
		t.Errorf("%d addresses failed with a malformed response, want 6", n)
	}
	if lines := env.logs.Lines("level=WARN", "provider lookup failed", "provider=otx"); len(lines) != 1 {
		t.Errorf("got %d Warn lines for the OTX failures, want 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if lines := env.logs.Lines("level=INFO", "enrichment finished", "failed=6"); len(lines) != 1 {
		t.Errorf("summary line with failed=6 missing:\n%s", env.logs)
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	valid := func(t *testing.T) Options {
		env := newTestEnv(t)
		return Options{
			Providers:   ProvidersFromConfig(env.cfg),
			Store:       env.store,
			Limits:      env.limits,
			Concurrency: 1,
		}
	}
	tests := []struct {
		name   string
		change func(*Options)
		want   string
	}{
		{"no store", func(o *Options) { o.Store = nil }, "no store"},
		{"zero concurrency", func(o *Options) { o.Concurrency = 0 }, "invalid concurrency 0"},
		{"missing limits", func(o *Options) { delete(o.Limits, intel.OTX) }, `no limits for provider "otx"`},
		{"duplicate provider", func(o *Options) { o.Providers = append(o.Providers, o.Providers[0]) }, `"abuseipdb" is given twice`},
		{"nil provider", func(o *Options) { o.Providers = append(o.Providers, nil) }, "provider 4 is nil"},
		{"zero cache TTL", func(o *Options) { o.Limits[intel.GreyNoise] = Limits{NotFoundTTL: time.Hour} }, "invalid cache TTL 0s"},
		{"negative rate", func(o *Options) {
			o.Limits[intel.IPinfo] = Limits{RatePerMinute: -1, CacheTTL: time.Hour, NotFoundTTL: time.Hour}
		}, "invalid rate -1 per minute"},
		{"negative budget", func(o *Options) {
			o.Limits[intel.IPinfo] = Limits{DailyBudget: -1, CacheTTL: time.Hour, NotFoundTTL: time.Hour}
		}, "invalid daily budget -1"},
		{"jitter above 1", func(o *Options) { o.Retry.Jitter = 1.5 }, "invalid retry jitter 1.5"},
		{"max delay below base", func(o *Options) { o.Retry = RetryPolicy{BaseDelay: time.Second, MaxDelay: time.Millisecond} }, "below the base"},
		{"negative attempts", func(o *Options) { o.Retry.MaxAttempts = -1 }, "invalid retry attempts -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := valid(t)
			tt.change(&opts)
			_, err := New(opts)
			if err == nil {
				t.Fatalf("New succeeded, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRetryDelay(t *testing.T) {
	policy := RetryPolicy{MaxAttempts: 5, BaseDelay: 100 * time.Millisecond, MaxDelay: 300 * time.Millisecond}
	tests := []struct {
		attempt int
		want    time.Duration
	}{
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 300 * time.Millisecond},
		{4, 300 * time.Millisecond},
		{80, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := policy.delay(tt.attempt); got != tt.want {
			t.Errorf("delay(%d) = %s, want %s", tt.attempt, got, tt.want)
		}
	}

	policy.Jitter = 0.5
	for range 100 {
		if got := policy.delay(2); got < 100*time.Millisecond || got > 200*time.Millisecond {
			t.Fatalf("delay(2) with jitter 0.5 = %s, want 100ms to 200ms", got)
		}
	}
}
