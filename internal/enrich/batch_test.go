package enrich

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/provider/ipinfo"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
	"github.com/threat-intel/threat-intel/internal/store"
)

const (
	ipinfoBatchPath = "/batch/lite"
	ipinfoLitePath  = "/lite/"
)

// ipinfoEntry is the Lite API entry the fake IPinfo returns for ip. Its
// as_name contains the address, so that a test can tell entries apart.
func ipinfoEntry(ip string) string {
	return fmt.Sprintf(`{"ip":%q,"asn":"AS64496","as_name":"Example %s","as_domain":"example.net","country_code":"NL","country":"Netherlands"}`, ip, ip)
}

// ipinfoLite responds like IPinfo's Lite API to single lookups (GET
// /lite/{ip}) and batches (POST /batch/lite with a JSON array of
// addresses). Batch responses leave out the addresses in omit, and the
// addresses in bogons get a bogon entry in both kinds of response.
func ipinfoLite(omit, bogons []string) http.Handler {
	entry := func(ip string) string {
		if slices.Contains(bogons, ip) {
			return fmt.Sprintf(`{"ip":%q,"bogon":true}`, ip)
		}
		return ipinfoEntry(ip)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, ipinfoLitePath) {
			fmt.Fprint(w, entry(strings.TrimPrefix(r.URL.Path, ipinfoLitePath)))
			return
		}
		var ips []string
		if r.Method != http.MethodPost || r.URL.Path != ipinfoBatchPath || json.NewDecoder(r.Body).Decode(&ips) != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"unexpected request"}`)
			return
		}
		var entries []string
		for _, ip := range ips {
			if !slices.Contains(omit, ip) {
				entries = append(entries, fmt.Sprintf("%q:%s", ip, entry(ip)))
			}
		}
		fmt.Fprint(w, "{"+strings.Join(entries, ",")+"}")
	})
}

// batchRequests and singleRequests count the fake IPinfo's batch POSTs and
// single Lite GETs.
func batchRequests(f *fakeProvider) int {
	n := 0
	for _, r := range f.Requests() {
		if r.Method == http.MethodPost && r.Path == ipinfoBatchPath {
			n++
		}
	}
	return n
}

func singleRequests(f *fakeProvider) []string {
	var paths []string
	for _, r := range f.Requests() {
		if r.Method == http.MethodGet && strings.HasPrefix(r.Path, ipinfoLitePath) {
			paths = append(paths, r.Path)
		}
	}
	return paths
}

// batchBody returns the addresses posted in the nth request of f.
func batchBody(t *testing.T, f *fakeProvider, n int) []string {
	t.Helper()
	var ips []string
	if err := json.Unmarshal(f.Requests()[n].Body, &ips); err != nil {
		t.Fatalf("request %d body is not a JSON array of addresses: %v", n, err)
	}
	return ips
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func TestEnrichBatchSendsUncachedTogether(t *testing.T) {
	env := newTestEnv(t)
	addresses := publicAddrs(10)
	bogon := addresses[4]
	fake := env.fakes[intel.IPinfo]
	fake.Set(ipinfoLite(nil, []string{bogon.String()}))
	e := env.engine()

	first := e.Enrich(t.Context(), addresses)

	if n := fake.Count(); n != 1 {
		t.Fatalf("IPinfo received %d requests, want 1 batch", n)
	}
	if n := batchRequests(fake); n != 1 {
		t.Errorf("IPinfo received %d batch requests, want 1", n)
	}
	if got := batchBody(t, fake, 0); !slices.Equal(got, addrStrings(addresses)) {
		t.Errorf("batch body = %v, want %v", got, addresses)
	}
	for _, a := range addresses {
		l := first[a]
		if a == bogon {
			if l.Status[intel.IPinfo] != intel.StatusNotFound || l.IPinfo != nil {
				t.Errorf("%s: status %q and result %+v, want not found without a result", a, l.Status[intel.IPinfo], l.IPinfo)
			}
			continue
		}
		if l.Status[intel.IPinfo] != intel.StatusOK {
			t.Errorf("%s: status %q, want ok", a, l.Status[intel.IPinfo])
		}
		want := intel.IPinfoResult{CountryCode: "NL", Country: "Netherlands", ASN: "AS64496", ASName: "Example " + a.String(), ASDomain: "example.net"}
		if l.IPinfo == nil || *l.IPinfo != want {
			t.Errorf("%s: IPinfo = %+v, want %+v", a, l.IPinfo, want)
		}
	}
	if got := testutil.ToFloat64(e.metrics.requests.WithLabelValues("ipinfo", "ok")); got != 1 {
		t.Errorf("requests_total{ipinfo,ok} = %g, want 1", got)
	}
	if got := testutil.ToFloat64(e.metrics.cacheMisses.WithLabelValues("ipinfo")); got != 10 {
		t.Errorf("cache_misses_total{ipinfo} = %g, want 10", got)
	}
	if stats := e.Stats()[intel.IPinfo]; stats.Requests != 1 || stats.CacheMisses != 10 {
		t.Errorf("IPinfo stats %+v, want 1 request and 10 misses", stats)
	}
	entry, found, err := env.store.Get(t.Context(), intel.IPinfo, bogon)
	if err != nil || !found || entry.Outcome != store.NotFound {
		t.Errorf("bogon cache entry %+v found=%v err=%v, want a not-found entry", entry, found, err)
	}

	second := e.Enrich(t.Context(), addresses)

	if n := fake.Count(); n != 1 {
		t.Errorf("the second cycle sent %d IPinfo requests, want 0", n-1)
	}
	for _, a := range addresses {
		if !slices.Contains(second[a].Cached, intel.IPinfo) || second[a].Status[intel.IPinfo] != first[a].Status[intel.IPinfo] {
			t.Errorf("%s: second cycle Cached %v status %q, want ipinfo cached with status %q",
				a, second[a].Cached, second[a].Status[intel.IPinfo], first[a].Status[intel.IPinfo])
		}
	}

	// Past the one-hour not-found TTL only the bogon is uncached, which is
	// below the threshold, so it is looked up alone.
	env.clock.Advance(time.Hour + time.Minute)
	e.Enrich(t.Context(), addresses)

	if got, want := singleRequests(fake), []string{ipinfoLitePath + bogon.String()}; !slices.Equal(got, want) {
		t.Errorf("after the not-found TTL IPinfo received single requests %v, want %v", got, want)
	}
	if n := batchRequests(fake); n != 1 {
		t.Errorf("IPinfo received %d batch requests in all, want 1", n)
	}
}

func TestEnrichBatchThreshold(t *testing.T) {
	tests := []struct {
		addresses   int
		wantBatches int
		wantSingles int
	}{
		{addresses: 2, wantBatches: 0, wantSingles: 2},
		{addresses: batchThreshold, wantBatches: 0, wantSingles: batchThreshold},
		{addresses: batchThreshold + 1, wantBatches: 1, wantSingles: 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d addresses", tt.addresses), func(t *testing.T) {
			env := newTestEnv(t)
			fake := env.fakes[intel.IPinfo]
			fake.Set(ipinfoLite(nil, nil))
			e := env.engine()

			lookups := e.Enrich(t.Context(), publicAddrs(tt.addresses))

			if n := batchRequests(fake); n != tt.wantBatches {
				t.Errorf("IPinfo received %d batch requests, want %d", n, tt.wantBatches)
			}
			if n := len(singleRequests(fake)); n != tt.wantSingles {
				t.Errorf("IPinfo received %d single requests, want %d", n, tt.wantSingles)
			}
			if n := countStatus(lookups, intel.IPinfo, intel.StatusOK); n != tt.addresses {
				t.Errorf("%d of %d IPinfo lookups ok, want all", n, tt.addresses)
			}
		})
	}
}

func TestEnrichBatchCountsOnlyUncached(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	fake.Set(ipinfoLite(nil, nil))
	e := env.engine()
	addresses := publicAddrs(12)

	// Four cached addresses leave eight uncached, above the threshold.
	e.Enrich(t.Context(), addresses[:4])
	e.Enrich(t.Context(), addresses)

	if n := batchRequests(fake); n != 1 {
		t.Fatalf("IPinfo received %d batch requests, want 1", n)
	}
	if got, want := batchBody(t, fake, len(fake.Requests())-1), addrStrings(addresses[4:]); !slices.Equal(got, want) {
		t.Errorf("batch body = %v, want only the uncached %v", got, want)
	}
	if stats := e.Stats()[intel.IPinfo]; stats.CacheHits != 4 || stats.CacheMisses != 12 {
		t.Errorf("IPinfo stats %+v, want 4 hits and 12 misses", stats)
	}
}

func TestEnrichBatchMissingFallsBackToSingle(t *testing.T) {
	env := newTestEnv(t)
	addresses := publicAddrs(10)
	omitted := addrStrings([]netip.Addr{addresses[1], addresses[5], addresses[8]})
	fake := env.fakes[intel.IPinfo]
	fake.Set(ipinfoLite(omitted, nil))
	e := env.engine()

	lookups := e.Enrich(t.Context(), addresses)

	if n := batchRequests(fake); n != 1 {
		t.Errorf("IPinfo received %d batch requests, want 1", n)
	}
	var want []string
	for _, ip := range omitted {
		want = append(want, ipinfoLitePath+ip)
	}
	got := singleRequests(fake)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("single requests %v, want one for each omitted address %v", got, want)
	}
	for _, a := range addresses {
		l := lookups[a]
		if l.Status[intel.IPinfo] != intel.StatusOK || l.IPinfo == nil || l.IPinfo.ASName != "Example "+a.String() {
			t.Errorf("%s: status %q result %+v, want ok with its own entry", a, l.Status[intel.IPinfo], l.IPinfo)
		}
	}
	if stats := e.Stats()[intel.IPinfo]; stats.Requests != 4 || stats.CacheMisses != 10 {
		t.Errorf("IPinfo stats %+v, want 4 requests and 10 misses", stats)
	}
}

func TestEnrichBatchRetries503ThenOK(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	fake.Set(sequence(
		providertest.Reply(http.StatusServiceUnavailable, providertest.JSON(), []byte(`{"error":"unavailable"}`)),
		ipinfoLite(nil, nil),
	))
	e := env.engine()
	addresses := publicAddrs(10)

	lookups := e.Enrich(t.Context(), addresses)

	if n := batchRequests(fake); n != 2 {
		t.Errorf("IPinfo received %d batch requests, want 2", n)
	}
	if n := len(singleRequests(fake)); n != 0 {
		t.Errorf("IPinfo received %d single requests, want 0", n)
	}
	if n := countStatus(lookups, intel.IPinfo, intel.StatusOK); n != len(addresses) {
		t.Errorf("%d of %d IPinfo lookups ok, want all", n, len(addresses))
	}
	if got := testutil.ToFloat64(e.metrics.requests.WithLabelValues("ipinfo", "error")); got != 1 {
		t.Errorf("requests_total{ipinfo,error} = %g, want 1", got)
	}
	if lines := env.logs.Lines("level=WARN", "retrying provider batch request", "provider=ipinfo"); len(lines) != 1 {
		t.Errorf("got %d Warn retry lines, want 1:\n%s", len(lines), env.logs)
	}
}

func TestEnrichBatchShortRetryAfterRetried(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	fake.Set(sequence(
		retryAfter("1", providertest.APIFile(t, "ipinfo-error-429-unauthenticated.json")),
		ipinfoLite(nil, nil),
	))
	e := env.engine()
	addresses := publicAddrs(10)

	start := time.Now()
	lookups := e.Enrich(t.Context(), addresses)

	if n := batchRequests(fake); n != 2 || fake.Count() != 2 {
		t.Errorf("IPinfo received %d requests, %d of them batches, want 2 batches", fake.Count(), n)
	}
	if waited := fake.arrivals()[1].Sub(start); waited < time.Second {
		t.Errorf("the batch was sent again %s after the start, before its 1 s Retry-After", waited)
	}
	if n := countStatus(lookups, intel.IPinfo, intel.StatusOK); n != len(addresses) {
		t.Errorf("%d of %d lookups ok, want all", n, len(addresses))
	}
}

func TestEnrichBatchConnectionRefused(t *testing.T) {
	env := newTestEnv(t)
	env.cfg.IPinfoBaseURL = providertest.ClosedURL(t)
	e := env.engine()
	addresses := publicAddrs(10)

	lookups := e.Enrich(t.Context(), addresses)

	if n := countStatus(lookups, intel.IPinfo, intel.Failed("connection refused")); n != len(addresses) {
		t.Errorf("%d of %d lookups failed with connection refused, want all", n, len(addresses))
	}
	if lines := env.logs.Lines("level=WARN", "provider batch request failed", "provider=ipinfo"); len(lines) != 1 {
		t.Errorf("got %d Warn lines for the failed batch, want 1:\n%s", len(lines), env.logs)
	}
	if strings.Contains(env.logs.String(), ipinfoToken) {
		t.Error("the log contains the IPinfo token")
	}
}

func TestEnrichBatchFailureFallsBackToSingle(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	lite := ipinfoLite(nil, nil)
	fake.Set(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			// A 404 is not retried: the batch endpoint is not there.
			providertest.Reply(http.StatusNotFound, providertest.JSON(), []byte(`{"error":"not found"}`)).ServeHTTP(w, r)
			return
		}
		lite.ServeHTTP(w, r)
	}))
	e := env.engine()
	addresses := publicAddrs(10)

	lookups := e.Enrich(t.Context(), addresses)

	if n := batchRequests(fake); n != 1 {
		t.Errorf("IPinfo received %d batch requests, want 1", n)
	}
	if n := len(singleRequests(fake)); n != len(addresses) {
		t.Errorf("IPinfo received %d single requests, want %d", n, len(addresses))
	}
	if n := countStatus(lookups, intel.IPinfo, intel.StatusOK); n != len(addresses) {
		t.Errorf("%d of %d IPinfo lookups ok, want all", n, len(addresses))
	}
	if lines := env.logs.Lines("level=WARN", "provider batch request failed", "provider=ipinfo"); len(lines) != 1 {
		t.Errorf("got %d Warn lines for the failed batch, want 1:\n%s", len(lines), env.logs)
	}
	if stats := e.Stats()[intel.IPinfo]; stats.CacheMisses != int64(len(addresses)) {
		t.Errorf("IPinfo stats %+v, want %d misses, one per address", stats, len(addresses))
	}
}

func TestEnrichBatchUnauthorizedDisables(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	fake.Set(providertest.Reply(http.StatusUnauthorized, providertest.JSON(), []byte(`{"error":"Unknown token"}`)))
	e := env.engine()
	addresses := publicAddrs(10)

	first := e.Enrich(t.Context(), addresses)
	second := e.Enrich(t.Context(), addresses)

	if n := fake.Count(); n != 1 {
		t.Errorf("IPinfo received %d requests, want the one batch", n)
	}
	if n := countStatus(first, intel.IPinfo, intel.Failed("unauthorized")); n != len(addresses) {
		t.Errorf("first cycle: %d of %d lookups failed unauthorized, want all", n, len(addresses))
	}
	if n := countStatus(second, intel.IPinfo, intel.StatusSkippedDisabled); n != len(addresses) {
		t.Errorf("second cycle: %d of %d lookups disabled, want all", n, len(addresses))
	}
	lines := env.logs.Lines("level=ERROR")
	if len(lines) != 1 {
		t.Fatalf("got %d Error lines, want exactly 1:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "IPINFO_TOKEN") || !strings.Contains(lines[0], "provider=ipinfo") {
		t.Errorf("the Error line does not name the provider and IPINFO_TOKEN: %s", lines[0])
	}
	if strings.Contains(env.logs.String(), ipinfoToken) {
		t.Error("the log contains the IPinfo token")
	}
	if h := e.Health()[intel.IPinfo]; !h.Disabled || !strings.Contains(h.DisabledReason, "HTTP 401") {
		t.Errorf("Health = %+v, want disabled with the reason HTTP 401", h)
	}
}

func TestEnrichBatchLongRetryAfterSkipsAll(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	fake.Set(retryAfter("3600", providertest.APIFile(t, "ipinfo-error-429-unauthenticated.json")))
	e := env.engine()
	addresses := publicAddrs(10)

	start := time.Now()
	lookups := e.Enrich(t.Context(), addresses)

	if n := fake.Count(); n != 1 {
		t.Errorf("IPinfo received %d requests, want the one batch", n)
	}
	if n := countStatus(lookups, intel.IPinfo, intel.StatusSkippedRateLimited); n != len(addresses) {
		t.Errorf("%d of %d lookups rate limited, want all", n, len(addresses))
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("Enrich took %s, want no wait for a one-hour Retry-After", elapsed)
	}
	if h := e.Health()[intel.IPinfo]; h.BlockedUntil.Before(time.Now().Add(50 * time.Minute)) {
		t.Errorf("Health BlockedUntil = %s, want about an hour ahead", h.BlockedUntil)
	}
	if stats := e.Stats()[intel.IPinfo]; stats.RateLimited != 1 || stats.Skipped != int64(len(addresses)) || stats.CacheMisses != int64(len(addresses)) {
		t.Errorf("IPinfo stats %+v, want 1 rate limited, %d skipped and %d misses", stats, len(addresses), len(addresses))
	}
}

func TestEnrichBatchTakesOneBudgetCall(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	fake.Set(ipinfoLite(nil, nil))
	env.setLimits(intel.IPinfo, func(l *Limits) { l.DailyBudget = 1 })
	e := env.engine()
	addresses := publicAddrs(10)

	lookups := e.Enrich(t.Context(), addresses)

	if n := batchRequests(fake); n != 1 || fake.Count() != 1 {
		t.Errorf("IPinfo received %d requests, %d of them batches, want 1 batch", fake.Count(), n)
	}
	if n := countStatus(lookups, intel.IPinfo, intel.StatusOK); n != len(addresses) {
		t.Errorf("%d of %d lookups ok, want all from the one budgeted batch", n, len(addresses))
	}
	used, err := env.store.BudgetUsed(t.Context(), intel.IPinfo, env.clock.Now())
	if err != nil || used != 1 {
		t.Errorf("budget used = %d (err %v), want 1", used, err)
	}
}

func TestEnrichBatchSpentBudgetSkipsAll(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	fake.Set(ipinfoLite(nil, nil))
	env.setLimits(intel.IPinfo, func(l *Limits) { l.DailyBudget = 1 })
	env.store.TakeBudget(t.Context(), intel.IPinfo, env.clock.Now(), 1)
	e := env.engine()
	addresses := publicAddrs(10)

	lookups := e.Enrich(t.Context(), addresses)

	if n := fake.Count(); n != 0 {
		t.Errorf("IPinfo received %d requests with a spent budget, want 0", n)
	}
	if n := countStatus(lookups, intel.IPinfo, intel.StatusSkippedBudget); n != len(addresses) {
		t.Errorf("%d of %d lookups skipped for budget, want all", n, len(addresses))
	}
	if stats := e.Stats()[intel.IPinfo]; stats.Skipped != int64(len(addresses)) || stats.CacheMisses != int64(len(addresses)) {
		t.Errorf("IPinfo stats %+v, want %d skipped and %d misses, one per address", stats, len(addresses), len(addresses))
	}
}

func TestEnrichBatchLeavesOutInternal(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	fake.Set(ipinfoLite(nil, nil))
	env.options.Classifier = netclass.New([]netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")})
	e := env.engine()
	public := addrs(t, "203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4",
		"2001:db8::1", "2001:db8::2", "::ffff:203.0.113.7")
	internal := addrs(t, "10.1.2.3", "192.168.1.1", "100.64.0.1", "fd00::1",
		"::ffff:192.168.1.9", "127.0.0.1", "198.51.100.7")

	lookups := e.Enrich(t.Context(), append(slices.Clone(public), internal...))

	if n := fake.Count(); n != 1 {
		t.Fatalf("IPinfo received %d requests, want 1 batch", n)
	}
	body := batchBody(t, fake, 0)
	wantBody := []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "2001:db8::1", "2001:db8::2", "203.0.113.7"}
	if !slices.Equal(body, wantBody) {
		t.Errorf("batch body = %v, want only the public addresses %v", body, wantBody)
	}
	for _, a := range internal {
		if got := lookups[a].Status[intel.IPinfo]; got != intel.StatusSkippedInternal {
			t.Errorf("%s: status %q, want %q", a, got, intel.StatusSkippedInternal)
		}
	}
	for _, a := range public {
		if got := lookups[a].Status[intel.IPinfo]; got != intel.StatusOK {
			t.Errorf("%s: status %q, want ok", a, got)
		}
	}
}

func TestEnrichBatchNeedsToken(t *testing.T) {
	// The full API accepts single lookups without a token, but its batch
	// endpoint needs one, so every address is looked up alone.
	env := newTestEnv(t)
	env.cfg.IPinfoMode = "full"
	env.cfg.IPinfoToken = ""
	fake := env.fakes[intel.IPinfo]
	e := env.engine()
	addresses := publicAddrs(10)

	lookups := e.Enrich(t.Context(), addresses)

	if n := batchRequests(fake); n != 0 {
		t.Errorf("IPinfo received %d batch requests without a token, want 0", n)
	}
	if n := fake.Count(); n != len(addresses) {
		t.Errorf("IPinfo received %d requests, want %d single lookups", n, len(addresses))
	}
	if n := countStatus(lookups, intel.IPinfo, intel.StatusOK); n != len(addresses) {
		t.Errorf("%d of %d lookups ok, want all", n, len(addresses))
	}
}

func TestEnrichBatchSplitsAtMaxBatch(t *testing.T) {
	env := newTestEnv(t)
	env.cfg.AbuseIPDBAPIKey, env.cfg.GreyNoiseAPIKey, env.cfg.OTXAPIKey = "", "", ""
	fake := env.fakes[intel.IPinfo]
	fake.Set(ipinfoLite(nil, nil))
	env.setLimits(intel.IPinfo, func(l *Limits) { l.DailyBudget = 10 })
	e := env.engine()
	var addresses []netip.Addr
	for a := netip.MustParseAddr("2001:db8::1"); len(addresses) < ipinfo.MaxBatchSize+1; a = a.Next() {
		addresses = append(addresses, a)
	}

	lookups := e.Enrich(t.Context(), addresses)

	if n := batchRequests(fake); n != 2 || fake.Count() != 2 {
		t.Fatalf("IPinfo received %d requests, %d of them batches, want 2 batches", fake.Count(), n)
	}
	for i, want := range []int{ipinfo.MaxBatchSize, 1} {
		if n := len(batchBody(t, fake, i)); n != want {
			t.Errorf("batch %d posted %d addresses, want %d", i+1, n, want)
		}
	}
	if n := countStatus(lookups, intel.IPinfo, intel.StatusOK); n != len(addresses) {
		t.Errorf("%d of %d lookups ok, want all", n, len(addresses))
	}
	used, err := env.store.BudgetUsed(t.Context(), intel.IPinfo, env.clock.Now())
	if err != nil || used != 2 {
		t.Errorf("budget used = %d (err %v), want 2, one per batch", used, err)
	}
}

func TestEnrichBatchCancelledSendsNothing(t *testing.T) {
	env := newTestEnv(t)
	fake := env.fakes[intel.IPinfo]
	fake.Set(ipinfoLite(nil, nil))
	e := env.engine()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	addresses := publicAddrs(10)

	lookups := e.Enrich(ctx, addresses)

	if n := fake.Count(); n != 0 {
		t.Errorf("IPinfo received %d requests after cancellation, want 0", n)
	}
	if n := countStatus(lookups, intel.IPinfo, intel.Failed("cancelled")); n != len(addresses) {
		t.Errorf("%d of %d lookups cancelled, want all", n, len(addresses))
	}
	if stats := e.Stats()[intel.IPinfo]; stats.Failures != int64(len(addresses)) {
		t.Errorf("IPinfo stats %+v, want %d failures, one per address", stats, len(addresses))
	}
}
