package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/api"
)

// internalAddr is an address that /api/ip serves without any lookup.
const internalAddr = "10.0.0.1"

// routePaths returns a request path for every route the API serves. The
// {ip} route is asked for two listed addresses (one blocked, one outbound)
// and an internal one.
func routePaths() []string {
	var paths []string
	for _, route := range api.New(api.Options{}).Routes() {
		if !strings.Contains(route, "{ip}") {
			paths = append(paths, route)
			continue
		}
		for _, addr := range []string{attackerA, outboundWeb, internalAddr} {
			paths = append(paths, strings.Replace(route, "{ip}", addr, 1))
		}
	}
	return paths
}

// startScanService writes the main fixture log and starts serve on it
// with p as the providers, then waits for the first report. opts.Env is
// added after the settings of the fixture.
func startScanService(t *testing.T, p *providers, opts serveOptions) *server {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "filter.log")
	writeLog(t, logPath, logLines(scanFlows()))
	opts.Env = append(append(p.env(), "FILTERLOG_PATH="+logPath, "WAN_INTERFACES="+wan, "LOOKBACK_HOURS=1"), opts.Env...)
	s := startServe(t, opts)
	s.waitReport(t)
	return s
}

func TestServeRoutesMatchGolden(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	s := startScanService(t, startProviders(t), serveOptions{})

	for _, path := range routePaths() {
		r := s.get(t, path)
		checkGolden(t, path, r)
		checkNoKeys(t, "GET "+path, string(r.body))
	}

	t.Run("report fields", func(t *testing.T) { checkReportFields(t, s) })
	t.Run("infinity fields", func(t *testing.T) { checkInfinityFields(t, s) })
	t.Run("ip route", func(t *testing.T) { checkIPRoute(t, s) })

	s.stop(t)
	checkNoKeys(t, "the log", s.log.String())
}

// checkNoKeys fails the test when text, named by where, contains a
// provider key.
func checkNoKeys(t *testing.T, where, text string) {
	t.Helper()
	for _, key := range providerKeys {
		if strings.Contains(text, key) {
			t.Errorf("%s contains the provider key %q", where, key)
		}
	}
}

// The field lists of the reference service, which Grafana dashboards and
// scripts written against it read.
var (
	reportKeys  = []string{"generated_at", "lookback_hours", "summary", "blocked_ips", "outbound_ips", "port_analysis", "narrative"}
	summaryKeys = []string{"total_blocked_ips", "known_bad_actors_inbound", "known_bad_actors_outbound", "critical_ports_targeted", "overall_risk_level"}
	rowKeys     = []string{"ip", "count", "direction", "action", "intel"}
	portKeys    = []string{"port", "service", "risk_level", "count", "description"}
	intelKeys   = []string{"ip", "country", "org", "classification", "composite_score", "threat_level", "abuse_confidence_score",
		"pulse_count", "gn_classification", "gn_name", "riot", "is_known_bad_actor", "likely_false_positive"}
	infinityAddressKeys = []string{"ip", "events", "org", "country", "score", "threat_level", "abuse_score", "otx_pulses", "greynoise", "is_known_bad_actor"}
)

// reportTimeFormat matches generated_at: UTC to the second.
var reportTimeFormat = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)

// countryCode matches an ISO 3166 alpha-2 country code.
var countryCode = regexp.MustCompile(`^[A-Z]{2}$`)

func checkReportFields(t *testing.T, s *server) {
	var rep map[string]any
	s.getJSON(t, "/api/report", &rep)
	requireKeys(t, "report", rep, reportKeys...)
	if at, _ := rep["generated_at"].(string); !reportTimeFormat.MatchString(at) {
		t.Errorf("generated_at = %q, want UTC YYYY-MM-DDTHH:MM:SSZ", at)
	}
	if rep["lookback_hours"] != 1.0 {
		t.Errorf("lookback_hours = %v, want 1", rep["lookback_hours"])
	}
	requireKeys(t, "summary", object(t, "summary", rep["summary"]), summaryKeys...)

	blocked := objects(t, "blocked_ips", rep["blocked_ips"])
	if len(blocked) == 0 {
		t.Fatal("blocked_ips is empty")
	}
	for _, row := range blocked {
		requireKeys(t, "blocked_ips row", row, rowKeys...)
		checkIntel(t, row)
	}
	outbound := objects(t, "outbound_ips", rep["outbound_ips"])
	if len(outbound) == 0 {
		t.Fatal("outbound_ips is empty")
	}
	for _, row := range outbound {
		requireKeys(t, "outbound_ips row", row, slices.Concat(rowKeys, []string{"src_ips"})...)
		checkIntel(t, row)
	}

	ports := object(t, "port_analysis", rep["port_analysis"])
	requireKeys(t, "port_analysis", ports, "top_blocked_ports", "critical_ports_hit")
	for _, list := range []string{"top_blocked_ports", "critical_ports_hit"} {
		rows := objects(t, list, ports[list])
		if len(rows) == 0 {
			t.Errorf("port_analysis.%s is empty", list)
		}
		for _, row := range rows {
			requireKeys(t, list+" row", row, portKeys...)
		}
	}
}

// checkIntel checks the intel of a report row: every reference field, the
// row's own address, and an ISO country code.
func checkIntel(t *testing.T, row map[string]any) {
	t.Helper()
	in := object(t, "intel", row["intel"])
	requireKeys(t, "intel", in, intelKeys...)
	if in["ip"] != row["ip"] {
		t.Errorf("intel.ip = %v in the row of %v", in["ip"], row["ip"])
	}
	if c, _ := in["country"].(string); !countryCode.MatchString(c) {
		t.Errorf("intel.country of %v = %q, want an ISO 3166 alpha-2 code", row["ip"], c)
	}
}

func checkInfinityFields(t *testing.T, s *server) {
	tables := []struct {
		path string
		keys []string
	}{
		{"/api/infinity/blocked_ips", infinityAddressKeys},
		{"/api/infinity/outbound_all", slices.Concat(infinityAddressKeys, []string{"internal_sources"})},
		{"/api/infinity/outbound_suspicious", slices.Concat(infinityAddressKeys, []string{"source"})},
		{"/api/infinity/summary", summaryKeys},
		{"/api/infinity/threats", []string{"threat"}},
		{"/api/infinity/actions", []string{"action"}},
		{"/api/infinity/narrative", []string{"risk_level", "executive_summary"}},
		{"/api/infinity/ports", portKeys},
		{"/api/infinity/critical_ports", portKeys},
	}
	for _, tc := range tables {
		var rows []any
		s.getJSON(t, tc.path, &rows)
		if len(rows) == 0 {
			t.Errorf("%s is empty, so its fields cannot be checked", tc.path)
			continue
		}
		for _, row := range objects(t, tc.path, rows) {
			requireKeys(t, tc.path+" row", row, tc.keys...)
			for key, v := range row {
				switch v.(type) {
				case map[string]any, []any:
					t.Errorf("%s row field %q is %T: Infinity reads only top-level scalar fields", tc.path, key, v)
				}
			}
		}
	}
}

func checkIPRoute(t *testing.T, s *server) {
	tests := []struct {
		name, path string
		status     int
		source     string
	}{
		{"blocked address", "/api/ip/" + attackerA, http.StatusOK, "report"},
		{"outbound address", "/api/ip/" + outboundWeb, http.StatusOK, "report"},
		{"IPv6 address", "/api/ip/" + attackerV6, http.StatusOK, "report"},
		{"internal address", "/api/ip/" + internalAddr, http.StatusOK, "internal"},
		{"malformed address", "/api/ip/not-an-ip", http.StatusBadRequest, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.get(t, tc.path)
			if r.status != tc.status {
				t.Fatalf("GET %s: status %d, want %d; body %s", tc.path, r.status, tc.status, r.body)
			}
			var body map[string]any
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatalf("GET %s: body is not a JSON object: %v\n%s", tc.path, err, r.body)
			}
			if tc.status != http.StatusOK {
				if msg, _ := body["error"].(string); !strings.Contains(msg, "not-an-ip") {
					t.Errorf("error = %q, want a message naming the value", msg)
				}
				return
			}
			if body["source"] != tc.source {
				t.Errorf("source = %v, want %q", body["source"], tc.source)
			}
			requireKeys(t, "intel", object(t, "intel", body["intel"]), "ip", "classification", "composite_score", "is_known_bad_actor")
		})
	}
}

// requireKeys fails the test for every key that obj lacks. label names
// obj in the failure.
func requireKeys(t *testing.T, label string, obj map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			t.Errorf("%s has no field %q; it has %v", label, k, sortedKeys(obj))
		}
	}
}

func sortedKeys(obj map[string]any) []string {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// object returns v as a JSON object, failing the test when it is not one.
func object(t *testing.T, label string, v any) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("%s is %T, want a JSON object", label, v)
	}
	return m
}

// objects returns v as an array of JSON objects, failing the test when it
// is not one.
func objects(t *testing.T, label string, v any) []map[string]any {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("%s is %T, want a JSON array", label, v)
	}
	out := make([]map[string]any, len(list))
	for i, item := range list {
		out[i] = object(t, label+" item", item)
	}
	return out
}

func TestServeOverallRiskBenignBadActor(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	// AbuseIPDB confidence 100 for an address that IPinfo places in AS15169
	// Google, a network on the benign list. The score marks it a likely
	// false positive and still a known bad actor, because the confidence
	// outweighs the network.
	p := newProviders(t,
		corpusReply(t, http.StatusOK, "abuseipdb-check-verbose-docs.json"),
		corpusReply(t, http.StatusNotFound, "greynoise-community-404-notfound-graylog.json"),
		notFound,
		corpusReply(t, http.StatusOK, "ipinfo-lite-8.8.8.8-official-docs.json"),
	)
	logPath := filepath.Join(t.TempDir(), "filter.log")
	writeLog(t, logPath, logLines(times(3, block("tcp", attackerA, wanAddr4, 22))))
	s := startServe(t, serveOptions{Env: append(p.env(), "FILTERLOG_PATH="+logPath, "WAN_INTERFACES="+wan)})
	s.waitReport(t)

	var rep struct {
		Summary struct {
			OverallRiskLevel      string `json:"overall_risk_level"`
			KnownBadActorsInbound int    `json:"known_bad_actors_inbound"`
		} `json:"summary"`
		BlockedIPs []struct {
			Intel struct {
				ThreatLevel         string `json:"threat_level"`
				IsKnownBadActor     bool   `json:"is_known_bad_actor"`
				LikelyFalsePositive bool   `json:"likely_false_positive"`
			} `json:"intel"`
		} `json:"blocked_ips"`
	}
	s.getJSON(t, "/api/report", &rep)
	if len(rep.BlockedIPs) != 1 {
		t.Fatalf("blocked_ips has %d rows, want 1", len(rep.BlockedIPs))
	}
	in := rep.BlockedIPs[0].Intel
	if !in.IsKnownBadActor || !in.LikelyFalsePositive {
		t.Fatalf("intel = %+v, want a known bad actor flagged as a likely false positive", in)
	}
	if rep.Summary.KnownBadActorsInbound != 1 {
		t.Errorf("known_bad_actors_inbound = %d, want 1", rep.Summary.KnownBadActorsInbound)
	}
	if rep.Summary.OverallRiskLevel != in.ThreatLevel {
		t.Errorf("overall_risk_level = %q, want %q, the level of the known bad actor: a bad actor counts even on a benign network",
			rep.Summary.OverallRiskLevel, in.ThreatLevel)
	}

	s.stop(t)
}
