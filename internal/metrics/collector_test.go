package metrics

import (
	"testing"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
)

// reportMetricNames are the families of the report collector.
var reportMetricNames = []string{
	"threat_intel_ip_score",
	"threat_intel_ip_event_count",
	"threat_intel_abuseipdb_score",
	"threat_intel_otx_pulses",
	"threat_intel_greynoise_classification",
	"threat_intel_known_bad_actor",
	"threat_intel_port_event_count",
	"threat_intel_report_generated_timestamp_seconds",
	"threat_intel_report_stale",
	"threat_intel_report_total_blocked_ips",
	"threat_intel_report_known_bad_actors_inbound",
	"threat_intel_report_known_bad_actors_outbound",
	"threat_intel_report_critical_ports_targeted",
	"threat_intel_report_overall_risk_level",
}

// fixtureExposition is the report collector's output for fixtureReport.
const fixtureExposition = `
# HELP threat_intel_abuseipdb_score AbuseIPDB abuse confidence score, 0 to 100, of an address in the current report. Absent when AbuseIPDB gave no answer.
# TYPE threat_intel_abuseipdb_score gauge
threat_intel_abuseipdb_score{direction="in",ip="198.51.100.23"} 0
threat_intel_abuseipdb_score{direction="in",ip="203.0.113.7"} 100
threat_intel_abuseipdb_score{direction="out",ip="192.0.2.44"} 25
threat_intel_abuseipdb_score{direction="out",ip="203.0.113.7"} 100
# HELP threat_intel_greynoise_classification GreyNoise classification of an address in the current report: 2 malicious, 1 unknown or suspicious, 0 benign, -1 RIOT (known benign service). Absent when GreyNoise gave no answer.
# TYPE threat_intel_greynoise_classification gauge
threat_intel_greynoise_classification{direction="in",ip="198.51.100.23"} -1
threat_intel_greynoise_classification{direction="in",ip="203.0.113.7"} 2
threat_intel_greynoise_classification{direction="out",ip="192.0.2.44"} 1
threat_intel_greynoise_classification{direction="out",ip="203.0.113.7"} 2
# HELP threat_intel_ip_event_count Events of an address in the current report's lookback window.
# TYPE threat_intel_ip_event_count gauge
threat_intel_ip_event_count{action="block",direction="in",ip="198.51.100.23"} 57
threat_intel_ip_event_count{action="block",direction="in",ip="2001:db8::5"} 9
threat_intel_ip_event_count{action="block",direction="in",ip="203.0.113.7"} 412
threat_intel_ip_event_count{action="pass",direction="out",ip="192.0.2.44"} 31
threat_intel_ip_event_count{action="pass",direction="out",ip="203.0.113.7"} 2
# HELP threat_intel_ip_score Composite threat score, 0 to 100, of an address in the current report.
# TYPE threat_intel_ip_score gauge
threat_intel_ip_score{classification="benign",country="US",direction="in",ip="198.51.100.23",org="Example CDN"} 0
threat_intel_ip_score{classification="malicious",country="NL",direction="in",ip="203.0.113.7",org="Example Hosting B.V."} 82.5
threat_intel_ip_score{classification="malicious",country="NL",direction="out",ip="203.0.113.7",org="Example Hosting B.V."} 82.5
threat_intel_ip_score{classification="suspicious",country="DE",direction="out",ip="192.0.2.44",org="Example Telecom GmbH"} 34
threat_intel_ip_score{classification="unknown",country="",direction="in",ip="2001:db8::5",org=""} 0
# HELP threat_intel_known_bad_actor 1 when an address in the current report is a known bad actor, otherwise 0.
# TYPE threat_intel_known_bad_actor gauge
threat_intel_known_bad_actor{country="",direction="in",ip="2001:db8::5"} 0
threat_intel_known_bad_actor{country="DE",direction="out",ip="192.0.2.44"} 1
threat_intel_known_bad_actor{country="NL",direction="in",ip="203.0.113.7"} 1
threat_intel_known_bad_actor{country="NL",direction="out",ip="203.0.113.7"} 0
threat_intel_known_bad_actor{country="US",direction="in",ip="198.51.100.23"} 0
# HELP threat_intel_otx_pulses OTX pulses that list an address in the current report. Absent when OTX gave no answer.
# TYPE threat_intel_otx_pulses gauge
threat_intel_otx_pulses{direction="in",ip="198.51.100.23"} 0
threat_intel_otx_pulses{direction="in",ip="203.0.113.7"} 12
threat_intel_otx_pulses{direction="out",ip="192.0.2.44"} 3
threat_intel_otx_pulses{direction="out",ip="203.0.113.7"} 12
# HELP threat_intel_port_event_count Blocked inbound events per targeted port listed in the current report, TCP and UDP summed when both have the same service and risk level.
# TYPE threat_intel_port_event_count gauge
threat_intel_port_event_count{port="22",port_service="SSH",risk_level="high"} 300
threat_intel_port_event_count{port="3389",port_service="RDP",risk_level="critical"} 2
threat_intel_port_event_count{port="443",port_service="HTTPS",risk_level="low"} 5
threat_intel_port_event_count{port="443",port_service="QUIC",risk_level="medium"} 3
threat_intel_port_event_count{port="53",port_service="DNS",risk_level="medium"} 50
# HELP threat_intel_report_generated_timestamp_seconds Time the current report was generated, in seconds since the Unix epoch.
# TYPE threat_intel_report_generated_timestamp_seconds gauge
threat_intel_report_generated_timestamp_seconds 1771754400
# HELP threat_intel_report_stale 1 when the current report is kept from an earlier cycle because the latest one failed, otherwise 0.
# TYPE threat_intel_report_stale gauge
threat_intel_report_stale 0
# HELP threat_intel_report_critical_ports_targeted Distinct port numbers with a high or critical risk level targeted in the current report's lookback window.
# TYPE threat_intel_report_critical_ports_targeted gauge
threat_intel_report_critical_ports_targeted 2
# HELP threat_intel_report_known_bad_actors_inbound Known bad actors among the blocked sources of the current report.
# TYPE threat_intel_report_known_bad_actors_inbound gauge
threat_intel_report_known_bad_actors_inbound 1
# HELP threat_intel_report_known_bad_actors_outbound Known bad actors among the outbound destinations of the current report.
# TYPE threat_intel_report_known_bad_actors_outbound gauge
threat_intel_report_known_bad_actors_outbound 1
# HELP threat_intel_report_overall_risk_level Overall risk level of the current report: 0 none, 1 low, 2 medium, 3 high, 4 critical.
# TYPE threat_intel_report_overall_risk_level gauge
threat_intel_report_overall_risk_level 4
# HELP threat_intel_report_total_blocked_ips Distinct blocked public sources in the current report's lookback window.
# TYPE threat_intel_report_total_blocked_ips gauge
threat_intel_report_total_blocked_ips 1234
`

func TestCollectorFixtureExposition(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetReport(fixtureReport())

	compareExposition(t, reg, fixtureExposition, reportMetricNames...)
}

func TestCollectorNoReportNoSeries(t *testing.T) {
	_, reg := newTestMetrics(t)

	if n := countSeries(t, reg, reportMetricNames...); n != 0 {
		t.Errorf("series before the first report = %d, want 0", n)
	}
}

func TestCollectorDepartedSeriesVanish(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetReport(fixtureReport())
	before := gatherSeries(t, reg)

	next := fixtureReport()
	next.BlockedIPs = next.BlockedIPs[:1]   // 198.51.100.23 and 2001:db8::5 leave
	next.OutboundIPs = next.OutboundIPs[1:] // 192.0.2.44 leaves
	next.PortAnalysis.CriticalPortsHit = next.PortAnalysis.CriticalPortsHit[:1]
	next.PortAnalysis.TopBlockedPorts = next.PortAnalysis.TopBlockedPorts[:1] // 53 and 443 leave, 3389 leaves
	m.SetReport(next)
	after := gatherSeries(t, reg)

	departed := []string{
		`threat_intel_ip_score{classification="benign",country="US",direction="in",ip="198.51.100.23",org="Example CDN"}`,
		`threat_intel_ip_event_count{action="block",direction="in",ip="2001:db8::5"}`,
		`threat_intel_known_bad_actor{country="DE",direction="out",ip="192.0.2.44"}`,
		`threat_intel_abuseipdb_score{direction="out",ip="192.0.2.44"}`,
		`threat_intel_otx_pulses{direction="in",ip="198.51.100.23"}`,
		`threat_intel_greynoise_classification{direction="in",ip="198.51.100.23"}`,
		`threat_intel_port_event_count{port="53",port_service="DNS",risk_level="medium"}`,
		`threat_intel_port_event_count{port="3389",port_service="RDP",risk_level="critical"}`,
	}
	for _, key := range departed {
		if _, ok := before[key]; !ok {
			t.Errorf("series %s missing before the change, so this check proves nothing", key)
		}
		if _, ok := after[key]; ok {
			t.Errorf("series %s still present after its address or port left the report", key)
		}
	}

	kept := []string{
		`threat_intel_ip_score{classification="malicious",country="NL",direction="in",ip="203.0.113.7",org="Example Hosting B.V."}`,
		`threat_intel_ip_event_count{action="pass",direction="out",ip="203.0.113.7"}`,
		`threat_intel_port_event_count{port="22",port_service="SSH",risk_level="high"}`,
	}
	for _, key := range kept {
		if _, ok := after[key]; !ok {
			t.Errorf("series %s missing, but its address or port is still in the report", key)
		}
	}
}

func TestCollectorSetReportNilClears(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetReport(fixtureReport())
	m.SetReport(nil)

	if n := countSeries(t, reg, reportMetricNames...); n != 0 {
		t.Errorf("series after SetReport(nil) = %d, want 0", n)
	}
}

func TestCollectorGreyNoiseValue(t *testing.T) {
	tests := []struct {
		name   string
		status intel.Status
		class  string
		riot   bool
		want   float64
		absent bool
	}{
		{name: "malicious", status: intel.StatusOK, class: "malicious", want: 2},
		{name: "unknown", status: intel.StatusOK, class: "unknown", want: 1},
		{name: "suspicious", status: intel.StatusOK, class: "suspicious", want: 1},
		{name: "benign", status: intel.StatusOK, class: "benign", want: 0},
		{name: "upper case", status: intel.StatusOK, class: "Malicious", want: 2},
		{name: "riot benign", status: intel.StatusOK, class: "benign", riot: true, want: -1},
		{name: "riot unknown", status: intel.StatusOK, class: "unknown", riot: true, want: -1},
		{name: "not observed", status: intel.StatusNotFound, class: "unknown", want: 1},
		{name: "failed", status: intel.Failed("HTTP 503"), absent: true},
		{name: "rate limited", status: intel.StatusSkippedRateLimited, absent: true},
		{name: "no key", status: intel.StatusSkippedNoKey, absent: true},
		{name: "internal", status: intel.StatusSkippedInternal, absent: true},
		{name: "no status", status: "", absent: true},
	}
	const key = `threat_intel_greynoise_classification{direction="in",ip="203.0.113.9"}`
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			providers := map[intel.Provider]intel.Status{}
			if tc.status != "" {
				providers[intel.GreyNoise] = tc.status
			}
			m, reg := newTestMetrics(t)
			m.SetReport(&report.Report{BlockedIPs: []report.AddressRow{{
				IP: "203.0.113.9", Count: 1,
				Intel: intel.Intel{GNClassification: tc.class, RIOT: tc.riot, Providers: providers},
			}}})

			got, ok := gatherSeries(t, reg)[key]
			if tc.absent {
				if ok {
					t.Errorf("series present with value %v, want no series", got)
				}
				return
			}
			if !ok {
				t.Fatalf("series %s missing", key)
			}
			if got != tc.want {
				t.Errorf("value = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCollectorProviderSeriesNeedAnswer(t *testing.T) {
	tests := []struct {
		name   string
		status intel.Status
		want   bool
	}{
		{name: "ok", status: intel.StatusOK, want: true},
		{name: "not found", status: intel.StatusNotFound, want: true},
		{name: "failed", status: intel.Failed("timeout"), want: false},
		{name: "budget", status: intel.StatusSkippedBudget, want: false},
		{name: "disabled", status: intel.StatusSkippedDisabled, want: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, reg := newTestMetrics(t)
			m.SetReport(&report.Report{BlockedIPs: []report.AddressRow{{
				IP: "203.0.113.9", Count: 1,
				Intel: intel.Intel{Providers: map[intel.Provider]intel.Status{
					intel.AbuseIPDB: tc.status,
					intel.OTX:       tc.status,
				}},
			}}})
			series := gatherSeries(t, reg)

			_, abuse := series[`threat_intel_abuseipdb_score{direction="in",ip="203.0.113.9"}`]
			if abuse != tc.want {
				t.Errorf("abuseipdb series present = %v, want %v", abuse, tc.want)
			}
			_, otx := series[`threat_intel_otx_pulses{direction="in",ip="203.0.113.9"}`]
			if otx != tc.want {
				t.Errorf("otx series present = %v, want %v", otx, tc.want)
			}
		})
	}
}

func TestCollectorDuplicateRowKeepsFirst(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetReport(&report.Report{BlockedIPs: []report.AddressRow{
		{IP: "203.0.113.9", Count: 10, Intel: intel.Intel{CompositeScore: 40}},
		{IP: "203.0.113.9", Count: 3, Intel: intel.Intel{CompositeScore: 90}},
	}})

	series := gatherSeries(t, reg)
	if got := series[`threat_intel_ip_event_count{action="block",direction="in",ip="203.0.113.9"}`]; got != 10 {
		t.Errorf("event count = %v, want 10 from the first row", got)
	}
	if got := series[`threat_intel_ip_score{classification="",country="",direction="in",ip="203.0.113.9",org=""}`]; got != 40 {
		t.Errorf("score = %v, want 40 from the first row", got)
	}
}

func TestCollectorDirectionFromList(t *testing.T) {
	m, reg := newTestMetrics(t)
	// Rows without direction and action, as a hand-built report may have:
	// the list decides, so the same address in both lists stays two series.
	m.SetReport(&report.Report{
		BlockedIPs:  []report.AddressRow{{IP: "203.0.113.9", Count: 5}},
		OutboundIPs: []report.OutboundRow{{AddressRow: report.AddressRow{IP: "203.0.113.9", Count: 6}}},
	})

	series := gatherSeries(t, reg)
	if got, ok := series[`threat_intel_ip_event_count{action="block",direction="in",ip="203.0.113.9"}`]; !ok || got != 5 {
		t.Errorf("inbound event count = %v (present %v), want 5", got, ok)
	}
	if got, ok := series[`threat_intel_ip_event_count{action="pass",direction="out",ip="203.0.113.9"}`]; !ok || got != 6 {
		t.Errorf("outbound event count = %v (present %v), want 6", got, ok)
	}
}

func TestCollectorReportFields(t *testing.T) {
	tests := []struct {
		name          string
		generatedAt   string
		risk          string
		stale         bool
		wantTimestamp float64 // 0: no series
		wantRisk      float64 // -1: no series
		wantStale     float64
	}{
		{name: "report format", generatedAt: "2026-02-22T10:00:00Z", risk: "high", wantTimestamp: 1771754400, wantRisk: 3},
		{name: "rfc3339 offset", generatedAt: "2026-02-22T11:00:00+01:00", risk: "none", wantTimestamp: 1771754400, wantRisk: 0},
		{name: "unparsable time", generatedAt: "yesterday", risk: "low", wantRisk: 1},
		{name: "empty time", generatedAt: "", risk: "medium", wantRisk: 2},
		{name: "unknown risk", generatedAt: "2026-02-22T10:00:00Z", risk: "severe", wantTimestamp: 1771754400, wantRisk: -1},
		{name: "stale", generatedAt: "2026-02-22T10:00:00Z", risk: "critical", stale: true, wantTimestamp: 1771754400, wantRisk: 4, wantStale: 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, reg := newTestMetrics(t)
			m.SetReport(&report.Report{
				GeneratedAt: tc.generatedAt,
				Stale:       tc.stale,
				Summary:     report.Summary{OverallRiskLevel: tc.risk},
			})
			series := gatherSeries(t, reg)

			ts, ok := series["threat_intel_report_generated_timestamp_seconds{}"]
			if tc.wantTimestamp == 0 && ok {
				t.Errorf("timestamp series present with %v, want none", ts)
			}
			if tc.wantTimestamp != 0 && ts != tc.wantTimestamp {
				t.Errorf("timestamp = %v (present %v), want %v", ts, ok, tc.wantTimestamp)
			}

			risk, ok := series["threat_intel_report_overall_risk_level{}"]
			if tc.wantRisk < 0 && ok {
				t.Errorf("risk series present with %v, want none", risk)
			}
			if tc.wantRisk >= 0 && (!ok || risk != tc.wantRisk) {
				t.Errorf("risk = %v (present %v), want %v", risk, ok, tc.wantRisk)
			}

			if got := series["threat_intel_report_stale{}"]; got != tc.wantStale {
				t.Errorf("stale = %v, want %v", got, tc.wantStale)
			}
		})
	}
}

func TestCollectorPortProtocolsSummed(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.SetReport(&report.Report{PortAnalysis: report.PortAnalysis{
		TopBlockedPorts: []report.PortRow{
			{Port: 161, Protocol: "udp", Service: "SNMP", RiskLevel: "high", Count: 7},
			{Port: 161, Protocol: "tcp", Service: "SNMP", RiskLevel: "high", Count: 2},
		},
		CriticalPortsHit: []report.PortRow{
			{Port: 161, Protocol: "udp", Service: "SNMP", RiskLevel: "high", Count: 7},
			{Port: 161, Protocol: "tcp", Service: "SNMP", RiskLevel: "high", Count: 2},
			{Port: 5900, Protocol: "tcp", Service: "VNC", RiskLevel: "critical", Count: 1},
		},
	}})

	want := `
# HELP threat_intel_port_event_count Blocked inbound events per targeted port listed in the current report, TCP and UDP summed when both have the same service and risk level.
# TYPE threat_intel_port_event_count gauge
threat_intel_port_event_count{port="161",port_service="SNMP",risk_level="high"} 9
threat_intel_port_event_count{port="5900",port_service="VNC",risk_level="critical"} 1
`
	compareExposition(t, reg, want, "threat_intel_port_event_count")
}
