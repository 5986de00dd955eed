package enrich

import (
	"context"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
	"github.com/threat-intel/threat-intel/internal/store"
)

func TestEnrichShortRetryAfterBlocksOnlyThatProvider(t *testing.T) {
	env := newTestEnv(t)
	greyNoise := env.fakes[intel.GreyNoise]
	greyNoise.Set(sequence(
		retryAfter("2", providertest.APIFile(t, "greynoise-community-429-ratelimit-graylog.json")),
		corpusReply(t, http.StatusOK, okBodies[intel.GreyNoise]),
	))
	env.options.Concurrency = 1
	e := env.engine()
	addresses := publicAddrs(3)

	start := time.Now()
	lookups := e.Enrich(t.Context(), addresses)

	for _, name := range intel.Providers {
		if n := countStatus(lookups, name, intel.StatusOK); n != len(addresses) {
			t.Errorf("%s answered %d of %d addresses, want all", name, n, len(addresses))
		}
	}
	if n := greyNoise.Count(); n != len(addresses)+1 {
		t.Errorf("GreyNoise received %d requests, want %d (one 429, then one per address)", n, len(addresses)+1)
	}
	// The server records when each request arrived. GreyNoise's second request
	// must wait for the Retry-After time; the others must not wait at all.
	if waited := greyNoise.arrivals()[1].Sub(start); waited < 2*time.Second {
		t.Errorf("GreyNoise was asked again %s after the start, before its 2 s Retry-After", waited)
	}
	for _, name := range []intel.Provider{intel.AbuseIPDB, intel.OTX, intel.IPinfo} {
		arrivals := env.fakes[name].arrivals()
		if last := arrivals[len(arrivals)-1].Sub(start); last > time.Second {
			t.Errorf("%s's last request arrived %s after the start, want well before GreyNoise's 2 s block ends", name, last)
		}
	}
	if got := e.Stats()[intel.GreyNoise].RateLimited; got != 1 {
		t.Errorf("GreyNoise RateLimited = %d, want 1", got)
	}
}

func TestEnrichLongRetryAfterSkipsWithoutSleeping(t *testing.T) {
	env := newTestEnv(t)
	greyNoise := env.fakes[intel.GreyNoise]
	greyNoise.Set(retryAfter("3600", providertest.APIFile(t, "greynoise-community-429-ratelimit-graylog.json")))
	env.options.Concurrency = 1
	e := env.engine()
	addresses := publicAddrs(4)

	start := time.Now()
	first := e.Enrich(t.Context(), addresses)
	second := e.Enrich(t.Context(), addresses)
	elapsed := time.Since(start)

	for i, lookups := range []map[netip.Addr]intel.Lookup{first, second} {
		if n := countStatus(lookups, intel.GreyNoise, intel.StatusSkippedRateLimited); n != len(addresses) {
			t.Errorf("cycle %d: %d of %d GreyNoise lookups rate limited, want all", i+1, n, len(addresses))
		}
		if n := countStatus(lookups, intel.AbuseIPDB, intel.StatusOK); n != len(addresses) {
			t.Errorf("cycle %d: AbuseIPDB answered %d of %d, want all", i+1, n, len(addresses))
		}
	}
	if n := greyNoise.Count(); n != 1 {
		t.Errorf("GreyNoise received %d requests, want 1: the block must stop the rest", n)
	}
	// Sleeping for the Retry-After would take an hour, and even the 30 s
	// patience would show here.
	if elapsed > 10*time.Second {
		t.Errorf("two cycles took %s, want no sleep for a one-hour Retry-After", elapsed)
	}
	health := e.Health()[intel.GreyNoise]
	if until := time.Until(health.BlockedUntil); until < 59*time.Minute || until > time.Hour {
		t.Errorf("Health BlockedUntil is %s away, want about one hour", until)
	}
	if lines := env.logs.Lines("level=WARN", "provider rate limited", "provider=greynoise"); len(lines) != 1 {
		t.Errorf("got %d Warn lines for the block, want 1:\n%s", len(lines), env.logs)
	}
	if got := testutil.ToFloat64(e.metrics.skipped.WithLabelValues("greynoise", "rate_limited")); got != 8 {
		t.Errorf("skipped_total{greynoise,rate_limited} = %g, want 8", got)
	}
}

func TestEnrichUnauthorizedDisablesProviderWithOneLogLine(t *testing.T) {
	env := newTestEnv(t)
	abuse := env.fakes[intel.AbuseIPDB]
	abuse.Set(corpusReply(t, http.StatusUnauthorized, "abuseipdb-error-401-docs.json"))
	e := env.engine()
	addresses := publicAddrs(8)

	first := e.Enrich(t.Context(), addresses)
	sentFirst := abuse.Count()
	second := e.Enrich(t.Context(), addresses)

	// Lookups already in flight when the first 401 arrives fail on their own;
	// at most Concurrency of them.
	if sentFirst < 1 || sentFirst > env.options.Concurrency {
		t.Errorf("AbuseIPDB received %d requests in the first cycle, want 1 to %d", sentFirst, env.options.Concurrency)
	}
	unauthorized := countStatus(first, intel.AbuseIPDB, intel.Failed("unauthorized"))
	disabled := countStatus(first, intel.AbuseIPDB, intel.StatusSkippedDisabled)
	if unauthorized != sentFirst || unauthorized+disabled != len(addresses) {
		t.Errorf("first cycle: %d failed unauthorized and %d disabled, want %d and %d", unauthorized, disabled, sentFirst, len(addresses)-sentFirst)
	}
	if n := countStatus(second, intel.AbuseIPDB, intel.StatusSkippedDisabled); n != len(addresses) {
		t.Errorf("second cycle: %d of %d lookups disabled, want all", n, len(addresses))
	}
	if n := abuse.Count(); n != sentFirst {
		t.Errorf("AbuseIPDB received %d requests after it was disabled, want 0", n-sentFirst)
	}
	if n := countStatus(second, intel.OTX, intel.StatusOK); n != len(addresses) {
		t.Errorf("OTX answered %d of %d, want all: a disabled provider must not touch the others", n, len(addresses))
	}

	lines := env.logs.Lines("level=ERROR")
	if len(lines) != 1 {
		t.Fatalf("got %d Error lines, want exactly 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "ABUSEIPDB_API_KEY") || !strings.Contains(lines[0], "provider=abuseipdb") {
		t.Errorf("the Error line does not name the provider and ABUSEIPDB_API_KEY: %s", lines[0])
	}
	health := e.Health()[intel.AbuseIPDB]
	if !health.Disabled || !strings.Contains(health.DisabledReason, "HTTP 401") {
		t.Errorf("Health = %+v, want disabled with the reason HTTP 401", health)
	}
	if got := testutil.ToFloat64(e.metrics.requests.WithLabelValues("abuseipdb", "unauthorized")); got != float64(sentFirst) {
		t.Errorf("requests_total{abuseipdb,unauthorized} = %g, want %d", got, sentFirst)
	}
}

func TestEnrichRetries503ThenOK(t *testing.T) {
	env := newTestEnv(t)
	abuse := env.fakes[intel.AbuseIPDB]
	abuse.Set(sequence(
		corpusReply(t, http.StatusServiceUnavailable, "abuseipdb-error-503-ciscosecurity.json"),
		corpusReply(t, http.StatusOK, okBodies[intel.AbuseIPDB]),
	))
	e := env.engine()

	got := e.Enrich(t.Context(), []netip.Addr{testAddr})[testAddr]

	if got.Status[intel.AbuseIPDB] != intel.StatusOK {
		t.Errorf("status %q, want ok after a retry", got.Status[intel.AbuseIPDB])
	}
	if n := abuse.Count(); n != 2 {
		t.Errorf("AbuseIPDB received %d requests, want 2", n)
	}
	if got := testutil.ToFloat64(e.metrics.requests.WithLabelValues("abuseipdb", "error")); got != 1 {
		t.Errorf("requests_total{abuseipdb,error} = %g, want 1", got)
	}
	if got := testutil.ToFloat64(e.metrics.requests.WithLabelValues("abuseipdb", "ok")); got != 1 {
		t.Errorf("requests_total{abuseipdb,ok} = %g, want 1", got)
	}
	if lines := env.logs.Lines("level=WARN", "retrying provider request", "provider=abuseipdb"); len(lines) != 1 {
		t.Errorf("got %d Warn retry lines, want 1:\n%s", len(lines), env.logs)
	}
}

func TestEnrichTimeoutRetriedThenFails(t *testing.T) {
	env := newTestEnv(t)
	env.cfg.ProviderTimeout = 100 * time.Millisecond
	greyNoise := env.fakes[intel.GreyNoise]
	greyNoise.Set(providertest.Stall())
	env.options.Retry.MaxAttempts = 3
	e := env.engine()

	got := e.Enrich(t.Context(), []netip.Addr{testAddr})[testAddr]

	if want := intel.Failed("timeout"); got.Status[intel.GreyNoise] != want {
		t.Errorf("status %q, want %q", got.Status[intel.GreyNoise], want)
	}
	if n := greyNoise.Count(); n != 3 {
		t.Errorf("GreyNoise received %d requests, want 3 (MaxAttempts)", n)
	}
	if got := testutil.ToFloat64(e.metrics.requests.WithLabelValues("greynoise", "timeout")); got != 3 {
		t.Errorf("requests_total{greynoise,timeout} = %g, want 3", got)
	}
	// Two retries with the same error: the first at Warn, the repeat at Debug.
	if lines := env.logs.Lines("level=WARN", "retrying provider request"); len(lines) != 1 {
		t.Errorf("got %d Warn retry lines, want 1:\n%s", len(lines), env.logs)
	}
	if lines := env.logs.Lines("level=DEBUG", "retrying provider request"); len(lines) != 1 {
		t.Errorf("got %d Debug retry lines, want 1:\n%s", len(lines), env.logs)
	}
}

func TestEnrichDailyBudget(t *testing.T) {
	for _, backend := range []string{"bbolt", "redis"} {
		t.Run(backend, func(t *testing.T) {
			env := newTestEnv(t)
			if backend == "redis" {
				env.store = openRedisStore(t, env.clock)
			}
			env.setLimits(intel.AbuseIPDB, func(l *Limits) { l.DailyBudget = 3 })
			abuse := env.fakes[intel.AbuseIPDB]
			e := env.engine()

			lookups := e.Enrich(t.Context(), publicAddrs(5))

			if n := abuse.Count(); n != 3 {
				t.Errorf("AbuseIPDB received %d requests, want 3 (the budget)", n)
			}
			if n := countStatus(lookups, intel.AbuseIPDB, intel.StatusOK); n != 3 {
				t.Errorf("%d AbuseIPDB lookups ok, want 3", n)
			}
			if n := countStatus(lookups, intel.AbuseIPDB, intel.StatusSkippedBudget); n != 2 {
				t.Errorf("%d AbuseIPDB lookups skipped for budget, want 2", n)
			}
			if n := countStatus(lookups, intel.OTX, intel.StatusOK); n != 5 {
				t.Errorf("OTX answered %d of 5, want all: it has no budget", n)
			}
			if h := e.Health()[intel.AbuseIPDB]; h.BudgetRemaining != 0 || h.DailyBudget != 3 {
				t.Errorf("Health = %+v, want budget 3 with 0 remaining", h)
			}
			if got := testutil.ToFloat64(e.metrics.budgetRemaining.WithLabelValues("abuseipdb")); got != 0 {
				t.Errorf("budget_remaining{abuseipdb} = %g, want 0", got)
			}

			// A new engine on the same store (a restart) finds the spent budget.
			restarted := env.engine()
			other := publicAddrs(10)[5:]
			again := restarted.Enrich(t.Context(), other)

			if n := abuse.Count(); n != 3 {
				t.Errorf("AbuseIPDB received %d requests after the restart, want 0", n-3)
			}
			if n := countStatus(again, intel.AbuseIPDB, intel.StatusSkippedBudget); n != len(other) {
				t.Errorf("after the restart %d of %d lookups skipped for budget, want all", n, len(other))
			}
			if lines := env.logs.Lines("level=WARN", "daily budget spent", "provider=abuseipdb"); len(lines) != 2 {
				t.Errorf("got %d Warn lines for the spent budget, want 1 per engine:\n%s", len(lines), env.logs)
			}
		})
	}
}

func TestEnrichBudgetResetsNextUTCDay(t *testing.T) {
	env := newTestEnv(t)
	env.setLimits(intel.AbuseIPDB, func(l *Limits) { l.DailyBudget = 1 })
	e := env.engine()
	addresses := publicAddrs(2)

	first := e.Enrich(t.Context(), addresses)
	env.clock.Advance(24 * time.Hour)
	// The first cycle's results have expired by now, so the second day
	// requests the other address only if its budget is new.
	second := e.Enrich(t.Context(), addresses[1:])

	if n := countStatus(first, intel.AbuseIPDB, intel.StatusSkippedBudget); n != 1 {
		t.Errorf("day 1: %d lookups skipped for budget, want 1", n)
	}
	if got := second[addresses[1]].Status[intel.AbuseIPDB]; got != intel.StatusOK {
		t.Errorf("day 2: status %q, want ok from the new day's budget", got)
	}
}

func TestEnrichStoreUnreachableFailsClosed(t *testing.T) {
	env := newTestEnv(t)
	host := strings.TrimPrefix(providertest.ClosedURL(t), "http://")
	unreachable, err := store.Open(t.Context(), store.Options{RedisURL: "redis://" + host + "/9", Clock: env.clock.Now})
	if err != nil {
		t.Fatalf("opening the Redis store: %v", err)
	}
	t.Cleanup(func() { unreachable.Close() })
	env.store = unreachable
	env.setLimits(intel.AbuseIPDB, func(l *Limits) { l.DailyBudget = 100 })
	env.setLimits(intel.GreyNoise, func(l *Limits) { l.DailyBudget = 100 })
	e := env.engine()
	addresses := publicAddrs(4)

	lookups := e.Enrich(t.Context(), addresses)

	for _, name := range []intel.Provider{intel.AbuseIPDB, intel.GreyNoise} {
		if n := env.fakes[name].Count(); n != 0 {
			t.Errorf("%s received %d requests without a reachable budget store, want 0", name, n)
		}
		if n := countStatus(lookups, name, intel.StatusSkippedBudget); n != len(addresses) {
			t.Errorf("%s: %d of %d lookups skipped for budget, want all", name, n, len(addresses))
		}
	}
	for _, name := range []intel.Provider{intel.OTX, intel.IPinfo} {
		if n := countStatus(lookups, name, intel.StatusOK); n != len(addresses) {
			t.Errorf("%s answered %d of %d, want all: it has no budget", name, n, len(addresses))
		}
	}
	if lines := env.logs.Lines("level=WARN", "counting the daily budget failed"); len(lines) != 1 {
		t.Errorf("got %d Warn lines for the budget store, want 1 per cycle:\n%s", len(lines), env.logs)
	}
}

func TestEnrichSpentQuotaMarksBudget(t *testing.T) {
	tests := []struct {
		name string
		// hour is the UTC hour of the test clock; retryAfter is in seconds.
		hour       int
		retryAfter string
		// wantUsed is the budget count in the store after the 429.
		wantUsed int
	}{
		// The docs' 429 sets Retry-After to 29241 s (8.1 h). From 18:00 that
		// passes midnight, so nothing more can be sent today.
		{name: "reset after midnight", hour: 18, retryAfter: "29241", wantUsed: 900},
		// From 12:00 the same wait ends at 20:07 today, so the provider
		// takes requests again later today and the budget is left alone.
		{name: "reset later today", hour: 12, retryAfter: "29241", wantUsed: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.clock = newClockAt(tt.hour)
			env.store = openBoltStore(t, env.clock)
			_, header := providertest.APIHeaders(t, "abuseipdb-error-429-docs.headers.txt")
			header.Set("Retry-After", tt.retryAfter)
			header.Set("Content-Type", "application/json")
			abuse := env.fakes[intel.AbuseIPDB]
			abuse.Set(providertest.Reply(http.StatusTooManyRequests, header, providertest.APIFile(t, "abuseipdb-error-429-docs.json")))
			env.setLimits(intel.AbuseIPDB, func(l *Limits) { l.DailyBudget = 900 })
			env.options.Concurrency = 1
			e := env.engine()

			lookups := e.Enrich(t.Context(), publicAddrs(3))

			if n := countStatus(lookups, intel.AbuseIPDB, intel.StatusSkippedRateLimited); n != 3 {
				t.Errorf("%d of 3 lookups rate limited, want all", n)
			}
			used, err := env.store.BudgetUsed(t.Context(), intel.AbuseIPDB, env.clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if used != tt.wantUsed {
				t.Errorf("budget used = %d, want %d", used, tt.wantUsed)
			}

			restarted := env.engine()
			again := restarted.Enrich(t.Context(), publicAddrs(3))
			wantStatus, wantRequests := intel.StatusSkippedBudget, 1
			if tt.wantUsed < 900 {
				// A restart loses the in-memory block and sends one more request.
				wantStatus, wantRequests = intel.StatusSkippedRateLimited, 2
			}
			if n := countStatus(again, intel.AbuseIPDB, wantStatus); n != 3 {
				t.Errorf("after a restart %d of 3 lookups %q, want all", n, wantStatus)
			}
			if n := abuse.Count(); n != wantRequests {
				t.Errorf("AbuseIPDB received %d requests in total, want %d", n, wantRequests)
			}
		})
	}
}

func TestEnrichQuotaHeaderOnSuccessPauses(t *testing.T) {
	env := newTestEnv(t)
	reset := time.Now().Add(2 * time.Hour).Unix()
	header := providertest.JSON()
	header.Set("X-RateLimit-Remaining", "0")
	header.Set("X-RateLimit-Reset", strconv.FormatInt(reset, 10))
	abuse := env.fakes[intel.AbuseIPDB]
	abuse.Set(providertest.Reply(http.StatusOK, header, providertest.APIFile(t, okBodies[intel.AbuseIPDB])))
	env.options.Concurrency = 1
	e := env.engine()

	lookups := e.Enrich(t.Context(), publicAddrs(3))

	if n := abuse.Count(); n != 1 {
		t.Errorf("AbuseIPDB received %d requests, want 1: its answer said no quota remains", n)
	}
	if n := countStatus(lookups, intel.AbuseIPDB, intel.StatusOK); n != 1 {
		t.Errorf("%d lookups ok, want 1", n)
	}
	if n := countStatus(lookups, intel.AbuseIPDB, intel.StatusSkippedRateLimited); n != 2 {
		t.Errorf("%d lookups rate limited, want 2", n)
	}
}

func TestEnrichPacesWithTokenBucket(t *testing.T) {
	env := newTestEnv(t)
	// 1200 per minute is one request per 50 ms after a burst of 1.
	env.setLimits(intel.IPinfo, func(l *Limits) { l.RatePerMinute = 1200; l.Burst = 1 })
	e := env.engine()

	start := time.Now()
	e.Enrich(t.Context(), publicAddrs(5))

	arrivals := env.fakes[intel.IPinfo].arrivals()
	if len(arrivals) != 5 {
		t.Fatalf("IPinfo received %d requests, want 5", len(arrivals))
	}
	// The fifth token comes four intervals of 50 ms after the first. The
	// first request may arrive late because it opens the connection, so
	// measure from the start of the cycle.
	if span := arrivals[4].Sub(start); span < 200*time.Millisecond {
		t.Errorf("5 requests at 1200/min arrived within %s of the start, want at least 200 ms", span)
	}
}

func TestEnrichPacingPastDeadlineSkips(t *testing.T) {
	env := newTestEnv(t)
	// One request per minute: the second request would come after the
	// deadline, so it is skipped at once rather than sent late.
	env.setLimits(intel.OTX, func(l *Limits) { l.RatePerMinute = 1; l.Burst = 1 })
	env.options.Concurrency = 1
	e := env.engine()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()

	lookups := e.Enrich(ctx, publicAddrs(2))

	if n := countStatus(lookups, intel.OTX, intel.StatusOK); n != 1 {
		t.Errorf("%d OTX lookups ok, want 1", n)
	}
	if n := countStatus(lookups, intel.OTX, intel.StatusSkippedRateLimited); n != 1 {
		t.Errorf("%d OTX lookups rate limited, want 1", n)
	}
	if ctx.Err() != nil {
		t.Error("Enrich ran into the deadline instead of skipping the lookup that could not fit")
	}
}
