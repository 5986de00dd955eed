package main

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// reservedLabels are label names a metric must not carry, because the
// scrape job sets them and Prometheus or VictoriaMetrics would overwrite
// or rename them.
var reservedLabels = []string{"service", "job", "instance"}

func TestServeMetricsFollowReport(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	p := startProviders(t)
	logPath := filepath.Join(t.TempDir(), "filter.log")
	flowsA := append(times(2, block("tcp", attackerA, wanAddr4, 22)), block("tcp", attackerA, wanAddr4, 3389))
	writeLog(t, logPath, logLines(flowsA))

	// One blocked source is reported, so an attacker with more events than
	// A takes its place.
	s := startServe(t, serveOptions{Env: append(p.env(), "FILTERLOG_PATH="+logPath, "WAN_INTERFACES="+wan, "TOP_BLOCKED_IPS=1")})
	s.waitReport(t)

	families := s.metrics(t)
	if !hasSeries(families, "threat_intel_ip_score", map[string]string{"ip": attackerA, "direction": "in"}) {
		t.Errorf("/metrics has no threat_intel_ip_score series of %s after the first cycle", attackerA)
	}
	checkPortSeries(t, families, map[string]string{"22": "SSH", "3389": "RDP"})
	checkNoReservedLabels(t, families)
	checkPromtool(t, s.scrape(t))

	// Rewrite the log with attacker B only. The window keeps A's events,
	// but B's five outnumber A's three, so B is the one blocked source
	// reported. The follower notices a truncation by the size shrinking, so
	// B's lines are written after it has seen the empty file.
	writeLog(t, logPath, nil)
	s.waitLog(t, "log file truncated; reading it again from the start", cycleTimeout)
	writeLog(t, logPath, logLines(times(5, block("tcp", attackerB, wanAddr4, 5900))))
	waitFor(t, cycleTimeout, attackerB+" in the report after a SIGHUP", func() bool {
		s.runCycle(t)
		return reportLists(t, s, attackerB)
	})

	families = s.metrics(t)
	if hasSeries(families, "threat_intel_ip_score", map[string]string{"ip": attackerA}) {
		t.Errorf("/metrics still has a threat_intel_ip_score series of %s, which left the report", attackerA)
	}
	for _, name := range []string{"threat_intel_ip_event_count", "threat_intel_abuseipdb_score", "threat_intel_known_bad_actor"} {
		if hasSeries(families, name, map[string]string{"ip": attackerA}) {
			t.Errorf("/metrics still has a %s series of %s, which left the report", name, attackerA)
		}
	}
	if !hasSeries(families, "threat_intel_ip_score", map[string]string{"ip": attackerB, "direction": "in"}) {
		t.Errorf("/metrics has no threat_intel_ip_score series of %s", attackerB)
	}
	checkPortSeries(t, families, map[string]string{"5900": "VNC"})
	checkNoReservedLabels(t, families)

	s.stop(t)
}

// reportLists reports whether /api/report lists addr among the blocked
// sources.
func reportLists(t testing.TB, s *server, addr string) bool {
	t.Helper()
	var rep struct {
		BlockedIPs []struct {
			IP string `json:"ip"`
		} `json:"blocked_ips"`
	}
	s.getJSON(t, "/api/report", &rep)
	for _, b := range rep.BlockedIPs {
		if b.IP == addr {
			return true
		}
	}
	return false
}

// hasSeries reports whether family name has a series with every label in
// want.
func hasSeries(families map[string]*dto.MetricFamily, name string, want map[string]string) bool {
	for _, m := range families[name].GetMetric() {
		got := labels(m)
		match := true
		for k, v := range want {
			if got[k] != v {
				match = false
			}
		}
		if match {
			return true
		}
	}
	return false
}

// checkPortSeries checks that threat_intel_port_event_count has a series
// for every port in services, labelled with the port's service name in
// port_service and a risk level.
func checkPortSeries(t *testing.T, families map[string]*dto.MetricFamily, services map[string]string) {
	t.Helper()
	for port, service := range services {
		found := false
		for _, m := range families["threat_intel_port_event_count"].GetMetric() {
			l := labels(m)
			if l["port"] != port {
				continue
			}
			found = true
			if l["port_service"] != service {
				t.Errorf("port %s: port_service = %q, want %q", port, l["port_service"], service)
			}
			if l["risk_level"] == "" {
				t.Errorf("port %s: no risk_level label: %v", port, l)
			}
		}
		if !found {
			t.Errorf("/metrics has no threat_intel_port_event_count series for port %s", port)
		}
	}
}

// checkNoReservedLabels fails the test for every threat_intel_* series
// with a label that a scrape job sets.
func checkNoReservedLabels(t *testing.T, families map[string]*dto.MetricFamily) {
	t.Helper()
	for name, f := range families {
		if !strings.HasPrefix(name, "threat_intel_") {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, reserved := range reservedLabels {
				if _, ok := labels(m)[reserved]; ok {
					t.Errorf("%s has a label %q, which the scrape job overwrites: %v", name, reserved, labels(m))
				}
			}
		}
	}
}

// allowedPromtoolProblems are the only findings of promtool check metrics
// that the exposition may have: the reference's two metric names that end
// in _count without being histograms, kept so existing dashboards work.
var allowedPromtoolProblems = map[string]bool{
	"threat_intel_ip_event_count":   true,
	"threat_intel_port_event_count": true,
}

// checkPromtool runs promtool check metrics on the exposition and fails
// the test for every finding outside allowedPromtoolProblems.
func checkPromtool(t *testing.T, exposition []byte) {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): run scripts/test-services.sh, which installs the Debian package prometheus", err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(exposition)
	out, runErr := cmd.CombinedOutput()

	var unexpected []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		name, _, _ := strings.Cut(line, " ")
		if !allowedPromtoolProblems[name] {
			unexpected = append(unexpected, line)
		}
	}
	if len(unexpected) > 0 {
		t.Errorf("promtool check metrics (%v) found:\n%s", runErr, strings.Join(unexpected, "\n"))
	}
}
