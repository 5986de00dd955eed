package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/api/apitest"
)

// goldenTargets are the requests whose JSON bodies are kept as golden files.
var goldenTargets = []string{
	"/health",
	"/api/report",
	"/api/report/blocked",
	"/api/report/outbound",
	"/api/infinity/summary",
	"/api/infinity/narrative",
	"/api/infinity/threats",
	"/api/infinity/actions",
	"/api/infinity/blocked_ips",
	"/api/infinity/outbound_all",
	"/api/infinity/outbound_suspicious",
	"/api/infinity/ports",
	"/api/infinity/critical_ports",
	"/api/infinity/sources",
	"/api/ip/" + apitest.BadActor.String(),
	"/api/ip/" + apitest.BothDirections.String(),
	"/api/ip/" + apitest.Cached.String(),
	"/api/ip/192.168.1.20",
}

func TestRoutesMatchGoldenFiles(t *testing.T) {
	h := newPublished(t).Handler()
	for _, target := range goldenTargets {
		t.Run(target, func(t *testing.T) {
			rec := get(t, h, target, http.StatusOK)
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			checkGolden(t, target, rec.Body.Bytes())
		})
	}
}

// infinityFields are the keys every row of an Infinity route must have: the
// reference service's names, which dashboards already read, and the ones
// added since.
var infinityFields = map[string][]string{
	"/api/infinity/summary": {
		"total_blocked_ips", "known_bad_actors_inbound", "known_bad_actors_outbound",
		"critical_ports_targeted", "overall_risk_level", "generated_at", "lookback_hours", "stale",
	},
	"/api/infinity/narrative": {
		"risk_level", "executive_summary", "inbound_analysis", "outbound_analysis", "port_analysis",
		"available", "model", "provider", "error",
	},
	"/api/infinity/threats": {"threat"},
	"/api/infinity/actions": {"action"},
	"/api/infinity/blocked_ips": {
		"ip", "events", "org", "country", "score", "threat_level", "abuse_score", "otx_pulses",
		"greynoise", "is_known_bad_actor", "asn", "likely_false_positive",
	},
	"/api/infinity/outbound_all": {
		"ip", "events", "org", "country", "score", "threat_level", "abuse_score", "otx_pulses",
		"greynoise", "is_known_bad_actor", "internal_sources", "asn", "likely_false_positive",
	},
	"/api/infinity/outbound_suspicious": {
		"ip", "events", "org", "country", "score", "threat_level", "abuse_score", "otx_pulses",
		"greynoise", "is_known_bad_actor", "source", "asn", "likely_false_positive",
	},
	"/api/infinity/ports":          {"port", "protocol", "service", "risk_level", "count", "description"},
	"/api/infinity/critical_ports": {"port", "protocol", "service", "risk_level", "count", "description"},
	"/api/infinity/sources": {
		"provider", "configured", "status", "budget_remaining", "cache_hit_rate", "blocked_until",
	},
}

func TestInfinityRowsHaveReferenceFields(t *testing.T) {
	h := newPublished(t).Handler()
	for target, fields := range infinityFields {
		t.Run(target, func(t *testing.T) {
			rows := decodeRows(t, get(t, h, target, http.StatusOK).Body.Bytes())
			if len(rows) == 0 {
				t.Fatal("no rows: the fixture must give every Infinity route at least one")
			}
			for i, row := range rows {
				for _, f := range fields {
					if _, ok := row[f]; !ok {
						t.Errorf("row %d has no %q field", i, f)
					}
				}
			}
		})
	}
}

func TestInfinityRowsAreFlat(t *testing.T) {
	a := newPublished(t)
	h := a.Handler()
	var checked int
	for _, pattern := range a.Routes() {
		if !strings.HasPrefix(pattern, "/api/infinity/") {
			continue
		}
		checked++
		t.Run(pattern, func(t *testing.T) {
			if _, ok := infinityFields[pattern]; !ok {
				t.Errorf("route has no entry in infinityFields")
			}
			rows := decodeRows(t, get(t, h, pattern, http.StatusOK).Body.Bytes())
			for i, row := range rows {
				for k, v := range row {
					switch v.(type) {
					case map[string]any, []any:
						t.Errorf("row %d: %q is %T; Infinity reads only top-level scalar values", i, k, v)
					}
				}
			}
		})
	}
	if checked != len(infinityFields) {
		t.Errorf("checked %d Infinity routes, want %d", checked, len(infinityFields))
	}
}

func TestInfinityBlockedIPValues(t *testing.T) {
	h := newPublished(t).Handler()
	rows := decodeRows(t, get(t, h, "/api/infinity/blocked_ips", http.StatusOK).Body.Bytes())
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4", len(rows))
	}
	first := rows[0]
	want := map[string]any{
		"ip": "203.0.113.7", "events": 1520.0, "org": "Example Hosting B.V.", "country": "NL",
		"score": 82.5, "threat_level": "critical", "abuse_score": 100.0, "otx_pulses": 12.0,
		"greynoise": "malicious", "is_known_bad_actor": true, "asn": "AS64500",
		"likely_false_positive": false,
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("%s = %#v, want %#v", k, first[k], v)
		}
	}
	// RIOT keeps the GreyNoise classification and sets riot.
	if rows[1]["greynoise"] != "benign" {
		t.Errorf("RIOT row greynoise = %#v, want \"benign\"", rows[1]["greynoise"])
	}
	if rows[1]["riot"] != true {
		t.Errorf("RIOT row riot = %#v, want true", rows[1]["riot"])
	}
}

func TestOutboundSuspiciousKeepsBadActors(t *testing.T) {
	h := newPublished(t).Handler()
	rows := decodeRows(t, get(t, h, "/api/infinity/outbound_suspicious", http.StatusOK).Body.Bytes())

	var ips []string
	for _, row := range rows {
		ips = append(ips, row["ip"].(string))
		if row["is_known_bad_actor"] != true {
			t.Errorf("%s: is_known_bad_actor = %#v, want true", row["ip"], row["is_known_bad_actor"])
		}
		if row["source"] != row["internal_sources"] {
			t.Errorf("%s: source %#v differs from internal_sources %#v", row["ip"], row["source"], row["internal_sources"])
		}
	}
	want := []string{apitest.CommandAndControl.String(), apitest.BothDirections.String()}
	if !slices.Equal(ips, want) {
		t.Errorf("rows %v, want %v", ips, want)
	}
	if got := rows[0]["source"]; got != "192.168.1.20, 10.0.0.5" {
		t.Errorf("source of the internal senders = %#v, want \"192.168.1.20, 10.0.0.5\"", got)
	}
	if got := rows[1]["source"]; got != "pfSense NAT (192.0.2.1)" {
		t.Errorf("source behind NAT = %#v, want \"pfSense NAT (192.0.2.1)\"", got)
	}
}

func TestSummaryRowValues(t *testing.T) {
	h := newPublished(t).Handler()
	rows := decodeRows(t, get(t, h, "/api/infinity/summary", http.StatusOK).Body.Bytes())
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	want := map[string]any{
		"total_blocked_ips": 137.0, "known_bad_actors_inbound": 1.0, "known_bad_actors_outbound": 2.0,
		"overall_risk_level": "critical", "generated_at": "2026-02-22T10:00:05Z", "lookback_hours": 1.0,
		"stale": false, "max_score": 82.5,
	}
	for k, v := range want {
		if rows[0][k] != v {
			t.Errorf("%s = %#v, want %#v", k, rows[0][k], v)
		}
	}
}

func TestReportRoutesServeReportParts(t *testing.T) {
	h := newPublished(t).Handler()
	full := get(t, h, "/api/report", http.StatusOK).Body.Bytes()
	var parts struct {
		BlockedIPs  json.RawMessage `json:"blocked_ips"`
		OutboundIPs json.RawMessage `json:"outbound_ips"`
	}
	if err := json.Unmarshal(full, &parts); err != nil {
		t.Fatal(err)
	}

	for target, want := range map[string]json.RawMessage{
		"/api/report/blocked":  parts.BlockedIPs,
		"/api/report/outbound": parts.OutboundIPs,
	} {
		got := bytes.TrimSpace(get(t, h, target, http.StatusOK).Body.Bytes())
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the report's array:\n%s\nwant\n%s", target, got, want)
		}
	}
}

func TestJSONIsNotHTMLEscaped(t *testing.T) {
	h := newPublished(t).Handler()
	for _, target := range []string{"/api/report", "/api/infinity/blocked_ips", "/api/infinity/actions"} {
		body := get(t, h, target, http.StatusOK).Body.String()
		if strings.Contains(body, `\u0026`) || strings.Contains(body, `\u003c`) || strings.Contains(body, `\u003e`) {
			t.Errorf("%s: body has HTML escapes: %s", target, body)
		}
	}
	body := get(t, h, "/api/infinity/blocked_ips", http.StatusOK).Body.String()
	if !strings.Contains(body, "Example Research & Education <Network>") {
		t.Errorf("organisation name with & < > missing from %s", body)
	}
}

func TestPublishReplacesSnapshot(t *testing.T) {
	a := newPublished(t)
	h := a.Handler()
	first := get(t, h, "/api/infinity/summary", http.StatusOK)

	r := apitest.Report()
	r.Stale = true
	r.Summary.TotalBlockedIPs = 5
	if err := a.Publish(r); err != nil {
		t.Fatal(err)
	}
	second := get(t, h, "/api/infinity/summary", http.StatusOK)

	rows := decodeRows(t, second.Body.Bytes())
	if rows[0]["total_blocked_ips"] != 5.0 {
		t.Errorf("total_blocked_ips = %#v after the second Publish, want 5", rows[0]["total_blocked_ips"])
	}
	if rows[0]["stale"] != true {
		t.Errorf("stale = %#v after publishing a stale report, want true", rows[0]["stale"])
	}
	if first.Header().Get("ETag") == second.Header().Get("ETag") {
		t.Errorf("ETag %s did not change with the body", first.Header().Get("ETag"))
	}
}

func TestPublishRejectsNaNScore(t *testing.T) {
	a := newPublished(t)
	h := a.Handler()
	before := get(t, h, "/api/report", http.StatusOK).Body.String()

	r := apitest.Report()
	r.BlockedIPs[0].Intel.CompositeScore = nan()
	if err := a.Publish(r); err == nil {
		t.Fatal("Publish accepted a NaN score")
	}
	if after := get(t, h, "/api/report", http.StatusOK).Body.String(); after != before {
		t.Error("a failed Publish changed the served report")
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}
