package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

// The addresses the main fixture lists, sorted.
var (
	scanBlocked  = sorted(attackerA, attackerUDP, attackerV6, attackerPing, attackerV6Ping)
	scanOutbound = sorted(outboundWeb, outboundC2, outboundDNS, outboundPing, outboundV6)
)

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// reportState is what the tests compare of /api/report: its time, its
// staleness, the listed addresses and their provider statuses.
type reportState struct {
	GeneratedAt string
	Stale       bool
	Blocked     []string
	Outbound    []string
	// Providers maps each listed address to its provider statuses.
	Providers map[string]map[string]string
}

func (s *server) reportState(t testing.TB) reportState {
	t.Helper()
	type row struct {
		IP    string `json:"ip"`
		Intel struct {
			Providers map[string]string `json:"providers"`
		} `json:"intel"`
	}
	var rep struct {
		GeneratedAt string `json:"generated_at"`
		Stale       bool   `json:"stale"`
		BlockedIPs  []row  `json:"blocked_ips"`
		OutboundIPs []row  `json:"outbound_ips"`
	}
	s.getJSON(t, "/api/report", &rep)
	st := reportState{GeneratedAt: rep.GeneratedAt, Stale: rep.Stale, Providers: map[string]map[string]string{}}
	for _, r := range rep.BlockedIPs {
		st.Blocked = append(st.Blocked, r.IP)
		st.Providers[r.IP] = r.Intel.Providers
	}
	for _, r := range rep.OutboundIPs {
		st.Outbound = append(st.Outbound, r.IP)
		st.Providers[r.IP] = r.Intel.Providers
	}
	slices.Sort(st.Blocked)
	slices.Sort(st.Outbound)
	return st
}

func TestServeRestartServesStoredReport(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	dataDir := t.TempDir()
	p := startProviders(t)
	first := startScanService(t, p, serveOptions{DataDir: dataDir})
	before := first.reportState(t)
	first.stop(t)

	// The second process cannot read its log, so its first cycle fails.
	missing := filepath.Join(t.TempDir(), "missing.log")
	second := startServe(t, serveOptions{DataDir: dataDir, Env: append(p.env(), "FILTERLOG_PATH="+missing, "WAN_INTERFACES="+wan)})

	// The stored report is served from the start, whether or not the
	// first cycle has failed yet.
	got := second.reportState(t)
	if got.GeneratedAt != before.GeneratedAt {
		t.Errorf("generated_at after the restart = %s, want %s from before it", got.GeneratedAt, before.GeneratedAt)
	}
	if !slices.Equal(got.Blocked, before.Blocked) || !slices.Equal(got.Outbound, before.Outbound) {
		t.Errorf("addresses after the restart = %v and %v, want %v and %v", got.Blocked, got.Outbound, before.Blocked, before.Outbound)
	}

	second.waitFirstCycle(t)
	after := second.reportState(t)
	if !after.Stale {
		t.Error("report after the failed cycle: stale = false, want true")
	}
	if after.GeneratedAt != before.GeneratedAt || !slices.Equal(after.Blocked, before.Blocked) {
		t.Errorf("report after the failed cycle = %s %v, want the stored one %s %v", after.GeneratedAt, after.Blocked, before.GeneratedAt, before.Blocked)
	}

	h := second.health(t)
	if h.Status != "degraded" {
		t.Errorf("/health status = %q, want degraded", h.Status)
	}
	if !h.ReportAvailable || !h.Stale {
		t.Errorf("/health report_available = %v, stale = %v, want both true", h.ReportAvailable, h.Stale)
	}
	if !slices.ContainsFunc(h.Reasons, func(r string) bool { return strings.Contains(r, missing) }) {
		t.Errorf("/health reasons = %q, want one naming the input %s", h.Reasons, missing)
	}

	second.stop(t)
}

// emptyVector is a successful Prometheus query reply with no series.
const emptyVector = `{"status":"success","data":{"resultType":"vector","result":[]}}`

func TestServeBeforeFirstReport(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	// A VictoriaMetrics that holds every query until the test releases it,
	// so the first cycle is still running while the routes are checked.
	release := make(chan struct{})
	vm := providertest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, emptyVector)
	}))
	s := startServe(t, serveOptions{Env: []string{"VICTORIAMETRICS_URL=" + vm.URL}})
	waitFor(t, cycleTimeout, "the first cycle's query to VictoriaMetrics", func() bool { return len(vm.Requests()) > 0 })

	h := s.health(t)
	if h.Status != "starting" || h.ReportAvailable {
		t.Errorf("/health during the first cycle = %q, report_available %v; want starting, false", h.Status, h.ReportAvailable)
	}
	for _, path := range []string{"/api/report", "/api/report/blocked", "/api/report/outbound"} {
		r := s.get(t, path)
		var body struct {
			Error string `json:"error"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || r.status != http.StatusServiceUnavailable || body.Error == "" {
			t.Errorf("GET %s before the first report: status %d, body %s; want 503 with an error message", path, r.status, r.body)
		}
	}
	infinity := map[string]string{
		"/api/infinity/summary":             "[{}]",
		"/api/infinity/narrative":           "[{}]",
		"/api/infinity/blocked_ips":         "[]",
		"/api/infinity/outbound_all":        "[]",
		"/api/infinity/outbound_suspicious": "[]",
		"/api/infinity/threats":             "[]",
		"/api/infinity/actions":             "[]",
		"/api/infinity/ports":               "[]",
		"/api/infinity/critical_ports":      "[]",
	}
	for path, want := range infinity {
		r := s.get(t, path)
		if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != want {
			t.Errorf("GET %s before the first report: status %d, body %s; want 200 %s", path, r.status, r.body, want)
		}
	}

	close(release)
	s.waitReport(t)
	if r := s.get(t, "/api/report"); r.status != http.StatusOK {
		t.Errorf("GET /api/report after the first cycle: status %d, want 200; body %s", r.status, r.body)
	}
	if r := s.get(t, "/api/infinity/summary"); strings.TrimSpace(string(r.body)) == "[{}]" {
		t.Error("/api/infinity/summary after the first cycle is still [{}]")
	}

	s.stop(t)
}

func TestServeProviderOutageDegradesEnrichmentOnly(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	retryAfter := func(t testing.TB) http.Header {
		_, header := providertest.APIHeaders(t, "abuseipdb-error-429-docs.headers.txt")
		header.Set("Content-Type", "application/json")
		return header
	}
	// Five lookups run at once, fewer than the ten addresses of the
	// fixture, so a provider that pauses after a 429 is seen to stop.
	const concurrency = 5
	// statuses lists the statuses every address may show for the provider
	// that is down. first is the status of the first lookups, so at least
	// one address shows it.
	tests := []struct {
		name        string
		provider    string
		handler     func(t testing.TB) http.Handler
		first       string
		statuses    []string
		maxRequests int
	}{
		{
			name:     "AbuseIPDB 503",
			provider: "abuseipdb",
			handler: func(t testing.TB) http.Handler {
				return corpusReply(t, http.StatusServiceUnavailable, "abuseipdb-error-503-ciscosecurity.json")
			},
			first:    "failed: HTTP 503",
			statuses: []string{"failed: HTTP 503"},
			// Three attempts for each of the ten addresses.
			maxRequests: 3 * 10,
		},
		{
			name:     "AbuseIPDB 429 with Retry-After",
			provider: "abuseipdb",
			handler: func(t testing.TB) http.Handler {
				return providertest.Reply(http.StatusTooManyRequests, retryAfter(t), providertest.APIFile(t, "abuseipdb-error-429-docs.json"))
			},
			// The 429's headers also report that no request is left today
			// (X-RateLimit-Remaining: 0), so addresses looked up after it
			// may show the spent daily budget instead.
			first:    "skipped: rate limited",
			statuses: []string{"skipped: rate limited", "skipped: budget"},
			// The lookups already under way when the 429 arrives, and no
			// request after it.
			maxRequests: concurrency,
		},
		{
			name:     "GreyNoise 429 without Retry-After",
			provider: "greynoise",
			handler: func(t testing.TB) http.Handler {
				return corpusReply(t, http.StatusTooManyRequests, "greynoise-community-429-ratelimit-graylog.json")
			},
			first:       "skipped: rate limited",
			statuses:    []string{"skipped: rate limited"},
			maxRequests: concurrency,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := startProviders(t)
			outage := providertest.NewServer(t, tc.handler(t))
			switch tc.provider {
			case "abuseipdb":
				p.abuse = outage
			case "greynoise":
				p.greynoise = outage
			}
			s := startScanService(t, p, serveOptions{Env: []string{fmt.Sprintf("ENRICHMENT_CONCURRENCY=%d", concurrency)}})

			got := s.reportState(t)
			if !slices.Equal(got.Blocked, scanBlocked) || !slices.Equal(got.Outbound, scanOutbound) {
				t.Errorf("report lists %v and %v, want every address: %v and %v", got.Blocked, got.Outbound, scanBlocked, scanOutbound)
			}
			if got.Stale {
				t.Error("report is stale, want a fresh report despite the provider outage")
			}
			firstSeen := false
			for addr, statuses := range got.Providers {
				st := statuses[tc.provider]
				firstSeen = firstSeen || st == tc.first
				if !slices.Contains(tc.statuses, st) {
					t.Errorf("%s: %s status = %q, want one of %q", addr, tc.provider, st, tc.statuses)
				}
				for name, st := range statuses {
					if name != tc.provider && (strings.HasPrefix(st, "failed") || strings.HasPrefix(st, "skipped")) {
						t.Errorf("%s: %s status = %q, want only %s affected", addr, name, st, tc.provider)
					}
				}
			}

			if n := len(outage.Requests()); n > tc.maxRequests {
				t.Errorf("%s received %d requests, want at most %d", tc.provider, n, tc.maxRequests)
			}
			if !firstSeen {
				t.Errorf("no address has the %s status %q", tc.provider, tc.first)
			}

			h := s.health(t)
			if h.Status != "ok" && h.Status != "degraded" {
				t.Errorf("/health status = %q, want ok, or degraded naming %s", h.Status, tc.provider)
			}
			for _, reason := range h.Reasons {
				if !strings.Contains(strings.ToLower(reason), tc.provider) {
					t.Errorf("/health reason %q does not name %s, the only provider down", reason, tc.provider)
				}
			}
			s.stop(t)
		})
	}
}

func TestServeShutdownWithSlowClient(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	s := startServe(t, serveOptions{Env: []string{"SYSLOG_LISTEN=udp://127.0.0.1:0"}})
	s.waitFirstCycle(t)

	// A client that sends part of its request headers and then nothing.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatalf("connecting to serve: %v", err)
	}
	defer conn.Close()
	if _, err := fmt.Fprint(conn, "GET /api/report HTTP/1.1\r\nHost: 127.0.0.1\r\n"); err != nil {
		t.Fatalf("sending the partial request: %v", err)
	}
	// The server still serves requests on other connections while the
	// slow client holds its own.
	s.health(t)

	s.stop(t)
}

func TestServeAPIToken(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	const token = "api-TOKEN-e2e"
	s := startServe(t, serveOptions{Env: []string{"SYSLOG_LISTEN=udp://127.0.0.1:0", "API_TOKEN=" + token}})
	s.waitReport(t)

	for _, path := range routePaths() {
		open := path == "/health" || path == "/metrics"
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			r := s.get(t, path)
			if open {
				if r.status != http.StatusOK {
					t.Errorf("GET %s without a token: status %d, want 200", path, r.status)
				}
				return
			}
			if r.status != http.StatusUnauthorized {
				t.Errorf("GET %s without a token: status %d, want 401", path, r.status)
			}
			if r := s.get(t, path, "Authorization", "Bearer wrong-"+token); r.status != http.StatusUnauthorized {
				t.Errorf("GET %s with a wrong token: status %d, want 401", path, r.status)
			}
			r = s.get(t, path, "Authorization", "Bearer "+token)
			if r.status == http.StatusUnauthorized {
				t.Errorf("GET %s with the token: status 401, want the route's answer", path)
			}
			if strings.Contains(string(r.body), token) {
				t.Errorf("GET %s: the body contains the token", path)
			}
		})
	}

	s.stop(t)
	if strings.Contains(s.log.String(), token) {
		t.Error("the log contains the API token")
	}
}
