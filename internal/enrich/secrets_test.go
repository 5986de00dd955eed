package enrich

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

// echoCredentials responds with status and a body that quotes every
// credential the request carried, as a hostile or broken server might.
func echoCredentials(status int, header http.Header) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		quoted := strings.Join([]string{
			r.Header.Get("Key"), r.Header.Get("X-Otx-Api-Key"), r.URL.Query().Get("token"), r.URL.String(),
		}, " ")
		for name, values := range header {
			w.Header()[name] = values
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"errors":[{"detail":%q}],"message":%q,"error":%q,"detail":%q}`, quoted, quoted, quoted, quoted)
	})
}

func TestEnrichNeverRevealsKeys(t *testing.T) {
	env := newTestEnv(t)
	env.cfg.ProviderTimeout = 100 * time.Millisecond
	env.setLimits(intel.AbuseIPDB, func(l *Limits) { l.DailyBudget = 50 })

	// One lookup at a time, so each address gets the next response in order.
	env.options.Concurrency = 1
	unavailable := echoCredentials(http.StatusServiceUnavailable, nil)
	env.fakes[intel.AbuseIPDB].Set(sequence(
		unavailable, unavailable, unavailable, // retried, then "failed: HTTP 503"
		echoCredentials(http.StatusUnauthorized, nil), // then disabled
	))
	env.fakes[intel.GreyNoise].Set(echoCredentials(http.StatusTooManyRequests, http.Header{"Retry-After": {"3600"}}))
	env.fakes[intel.OTX].Set(sequence(
		echoCredentials(http.StatusBadRequest, nil),
		echoCredentials(http.StatusOK, nil), // malformed: no pulse_info
		echoCredentials(http.StatusForbidden, nil),
	))
	env.fakes[intel.IPinfo].Set(providertest.Stall())

	var collected []string
	for cycle := range 2 {
		if cycle == 1 {
			// A new engine, as after a restart, meets a refused connection.
			env.cfg.IPinfoBaseURL = providertest.ClosedURL(t)
		}
		e := env.engine()
		lookups := e.Enrich(t.Context(), publicAddrs(4))
		data, err := json.Marshal(lookups)
		if err != nil {
			t.Fatal(err)
		}
		collected = append(collected, string(data))
		health, err := json.Marshal(e.Health())
		if err != nil {
			t.Fatal(err)
		}
		collected = append(collected, string(health), fmt.Sprintf("%+v", e.Stats()))
	}
	families, err := env.registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	collected = append(collected, fmt.Sprint(families), env.logs.String())

	// The paths above must have been driven, or the check proves nothing.
	for _, want := range []string{`failed: HTTP 503`, `failed: unauthorized`, `skipped: rate limited`, `failed: HTTP 400`,
		`failed: malformed response`, `failed: timeout`, `failed: connection refused`, `skipped: disabled`} {
		if !strings.Contains(strings.Join(collected, "\n"), want) {
			t.Errorf("no lookup reached %q, so its path was not checked", want)
		}
	}
	// The echoed keys reached the error texts, redacted.
	if !strings.Contains(env.logs.String(), provider.Redacted) {
		t.Errorf("no log line shows %s, so the echoed keys never reached an error text:\n%s", provider.Redacted, env.logs)
	}
	for _, text := range collected {
		for _, key := range allKeys {
			for _, form := range []string{key, url.QueryEscape(key)} {
				if strings.Contains(text, form) {
					t.Errorf("the output contains the key %q:\n%s", form, excerpt(text, form))
				}
			}
		}
	}
}

// excerpt returns the text around the first occurrence of s.
func excerpt(text, s string) string {
	i := strings.Index(text, s)
	return text[max(i-200, 0):min(i+len(s)+200, len(text))]
}

func TestMetricsCreatedAtZero(t *testing.T) {
	env := newTestEnv(t)
	env.engine()

	counts := map[string]int{
		"threat_intel_provider_requests_total":     len(intel.Providers) * len(requestOutcomes),
		"threat_intel_provider_skipped_total":      len(intel.Providers) * len(skipReasons),
		"threat_intel_provider_cache_hits_total":   len(intel.Providers),
		"threat_intel_provider_cache_misses_total": len(intel.Providers),
		// The gauge appears with the first budget taken.
		"threat_intel_provider_budget_remaining": 0,
	}
	for name, want := range counts {
		got, err := testutil.GatherAndCount(env.registry, name)
		if err != nil {
			t.Fatalf("gathering %s: %v", name, err)
		}
		if got != want {
			t.Errorf("%s has %d series before any lookup, want %d", name, got, want)
		}
	}
}

func TestMetricsCountSkips(t *testing.T) {
	env := newTestEnv(t)
	env.cfg.OTXAPIKey = ""
	e := env.engine()

	e.Enrich(t.Context(), addrs(t, "10.0.0.1", "fd00::2", "203.0.113.9"))

	want := `
# HELP threat_intel_provider_skipped_total Provider lookups not sent, by reason: internal, no_key, disabled, rate_limited, budget.
# TYPE threat_intel_provider_skipped_total counter
threat_intel_provider_skipped_total{provider="abuseipdb",reason="budget"} 0
threat_intel_provider_skipped_total{provider="abuseipdb",reason="disabled"} 0
threat_intel_provider_skipped_total{provider="abuseipdb",reason="internal"} 2
threat_intel_provider_skipped_total{provider="abuseipdb",reason="no_key"} 0
threat_intel_provider_skipped_total{provider="abuseipdb",reason="rate_limited"} 0
threat_intel_provider_skipped_total{provider="greynoise",reason="budget"} 0
threat_intel_provider_skipped_total{provider="greynoise",reason="disabled"} 0
threat_intel_provider_skipped_total{provider="greynoise",reason="internal"} 2
threat_intel_provider_skipped_total{provider="greynoise",reason="no_key"} 0
threat_intel_provider_skipped_total{provider="greynoise",reason="rate_limited"} 0
threat_intel_provider_skipped_total{provider="ipinfo",reason="budget"} 0
threat_intel_provider_skipped_total{provider="ipinfo",reason="disabled"} 0
threat_intel_provider_skipped_total{provider="ipinfo",reason="internal"} 2
threat_intel_provider_skipped_total{provider="ipinfo",reason="no_key"} 0
threat_intel_provider_skipped_total{provider="ipinfo",reason="rate_limited"} 0
threat_intel_provider_skipped_total{provider="otx",reason="budget"} 0
threat_intel_provider_skipped_total{provider="otx",reason="disabled"} 0
threat_intel_provider_skipped_total{provider="otx",reason="internal"} 2
threat_intel_provider_skipped_total{provider="otx",reason="no_key"} 1
threat_intel_provider_skipped_total{provider="otx",reason="rate_limited"} 0
# HELP threat_intel_provider_cache_misses_total Provider lookups that found no unexpired cache entry.
# TYPE threat_intel_provider_cache_misses_total counter
threat_intel_provider_cache_misses_total{provider="abuseipdb"} 1
threat_intel_provider_cache_misses_total{provider="greynoise"} 1
threat_intel_provider_cache_misses_total{provider="ipinfo"} 1
threat_intel_provider_cache_misses_total{provider="otx"} 0
`
	err := testutil.GatherAndCompare(env.registry, strings.NewReader(want),
		"threat_intel_provider_skipped_total", "threat_intel_provider_cache_misses_total")
	if err != nil {
		t.Error(err)
	}
}
