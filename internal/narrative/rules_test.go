package narrative

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/report"
)

var fixtures = []string{"quiet", "storm", "outbound"}

func TestRulesGolden(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			r, c := loadFixture(t, name)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(Rules(r, c)); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()

			path := filepath.Join("testdata", "rules-"+name+".golden.json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("rules narrative of %s differs from %s (run go test -update and review the diff):\n%s", name, path, got)
			}
		})
	}
}

// The rules narrative must never recommend what the guardrails would drop
// from a model's response.
func TestRulesPassGuardrails(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			r, c := loadFixture(t, name)
			n := Rules(r, c)
			rec, logger := newLogRecorder()
			guarded := applyGuardrails(n, newFacts(r, c), logger)
			if dropped := rec.droppedIPs(t); len(dropped) > 0 {
				t.Errorf("guardrails dropped lines of the rules narrative: %v", dropped)
			}
			if len(guarded.RecommendedActions) != len(n.RecommendedActions) {
				t.Errorf("actions: %d after guardrails, want %d", len(guarded.RecommendedActions), len(n.RecommendedActions))
			}
		})
	}
}

func TestRulesFields(t *testing.T) {
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			r, c := loadFixture(t, name)
			n := Rules(r, c)
			checkComplete(t, n)
			if n.Provider != ProviderRules || n.Model != "" || n.Error != "" {
				t.Errorf("provider %q, model %q, error %q; want rules, empty, empty", n.Provider, n.Model, n.Error)
			}
			if n.RiskLevel != r.Summary.OverallRiskLevel {
				t.Errorf("risk level %q, want the report's %q", n.RiskLevel, r.Summary.OverallRiskLevel)
			}
		})
	}
}

// checkComplete fails when a field of n a dashboard shows is empty.
func checkComplete(t *testing.T, n report.Narrative) {
	t.Helper()
	if !n.Available {
		t.Error("available is false")
	}
	if levelRank(n.RiskLevel) < 0 {
		t.Errorf("risk level %q is not a level", n.RiskLevel)
	}
	for name, text := range map[string]string{
		"executive_summary": n.ExecutiveSummary,
		"inbound_analysis":  n.InboundAnalysis,
		"outbound_analysis": n.OutboundAnalysis,
		"port_analysis":     n.PortAnalysis,
	} {
		if strings.TrimSpace(text) == "" {
			t.Errorf("%s is empty", name)
		}
	}
	if len(n.TopThreats) == 0 {
		t.Error("top_threats is empty")
	}
	if len(n.RecommendedActions) == 0 {
		t.Error("recommended_actions is empty")
	}
}

func TestRulesStormActions(t *testing.T) {
	r, c := loadFixture(t, "storm")
	n := Rules(r, c)
	actions := strings.Join(n.RecommendedActions, "\n")

	for _, want := range []string{
		"pfBlockerNG > IP > IPv4 — add a custom list for AS64500 (EXAMPLE-HOSTING): 203.0.113.7, 203.0.113.8 and 203.0.113.9",
		"Firewall > Rules > igc0, igc0.201 or lagg0.102 (whichever faces the internet) — add a block rule for source 198.51.100.23",
		"Firewall > Rules > igc0, igc0.201 or lagg0.102 (whichever faces the internet) — add a block rule for source 2001:db8:bad::7",
		"Firewall > NAT > Port Forward — confirm that no rule exposes 22/tcp SSH, 23/tcp Telnet or 3389/tcp RDP",
		"Do not block 192.0.2.10",
	} {
		if !strings.Contains(actions, want) {
			t.Errorf("actions lack %q:\n%s", want, actions)
		}
	}
	for _, line := range n.RecommendedActions {
		if strings.Contains(line, "198.51.100.66") {
			t.Errorf("action names the allowlisted bad actor 198.51.100.66: %q", line)
		}
		if strings.Contains(line, "192.0.2.10") && !strings.HasPrefix(line, "Do not block") {
			t.Errorf("action names the likely false positive 192.0.2.10: %q", line)
		}
	}

	threats := strings.Join(n.TopThreats, "\n")
	for _, want := range []string{
		"198.51.100.66 (Example ISP, AS64504, CN) — score 27.5 (medium)",
		"No block is suggested: it is on the ALLOWLIST (198.51.100.66/32).",
		"192.0.2.10 (Example Search Crawler, AS64502, US) — likely false positive (AS64502 is Example Search, a well-known benign network)",
		"AbuseIPDB confidence 70 is above 50, so it is treated as a threat",
		"No answer from otx, so the score may be low.",
	} {
		if !strings.Contains(threats, want) {
			t.Errorf("top threats lack %q:\n%s", want, threats)
		}
	}
}

func TestRulesOutboundActions(t *testing.T) {
	r, c := loadFixture(t, "outbound")
	n := Rules(r, c)
	actions := strings.Join(n.RecommendedActions, "\n")

	for _, want := range []string{
		"Firewall > Rules > igc1 — add a block rule for destination 198.51.100.77, direction out",
		"Diagnostics > States — filter by 198.51.100.77 and kill its states, then inspect 192.168.1.20 and 192.168.1.31 for malware",
		"Diagnostics > States — filter by 203.0.113.150 to find the internal host behind NAT (the WAN log shows only 198.51.100.2)",
		"Firewall > Rules > igc1 — add a block rule for destination 203.0.113.150, direction out",
	} {
		if !strings.Contains(actions, want) {
			t.Errorf("actions lack %q:\n%s", want, actions)
		}
	}
	if strings.Contains(actions, "192.0.2.53") {
		t.Errorf("actions name the RIOT destination 192.0.2.53:\n%s", actions)
	}
	if !strings.Contains(n.OutboundAnalysis, "from 192.168.1.20 and 192.168.1.31") {
		t.Errorf("outbound analysis does not name the internal sources: %q", n.OutboundAnalysis)
	}
	if !strings.Contains(n.ExecutiveSummary, "the last 2 hours") {
		t.Errorf("summary does not state the 2-hour window: %q", n.ExecutiveSummary)
	}
}

func TestRulesQuiet(t *testing.T) {
	r, c := loadFixture(t, "quiet")
	n := Rules(r, c)
	if len(n.RecommendedActions) != 1 || !strings.HasPrefix(n.RecommendedActions[0], "No firewall change is needed for the last hour") {
		t.Errorf("actions = %q, want one no-change line", n.RecommendedActions)
	}
	if !strings.Contains(n.RecommendedActions[0], "default deny on igc0") {
		t.Errorf("no-change line does not name the WAN interface igc0: %q", n.RecommendedActions[0])
	}
	threats := strings.Join(n.TopThreats, "\n")
	if !strings.Contains(threats, "192.0.2.53 (Example Public DNS, AS64496, US) — likely false positive (GreyNoise RIOT lists it as a known benign service)") {
		t.Errorf("top threats do not flag the RIOT source as a likely false positive:\n%s", threats)
	}
}

// A report with nothing in it still gets a narrative in every field.
func TestRulesEmptyReport(t *testing.T) {
	n := Rules(report.Report{LookbackHours: 1}, Context{})
	checkComplete(t, n)
	if n.RiskLevel != "none" {
		t.Errorf("risk level %q, want none", n.RiskLevel)
	}
}

// Rows whose address does not parse are described but never recommended
// for blocking.
func TestRulesInvalidAddress(t *testing.T) {
	r, c := loadFixture(t, "outbound")
	r.OutboundIPs[1].IP = "bogus"
	r.BlockedIPs[0].IP = "also bogus"
	r.BlockedIPs[0].Intel.IsKnownBadActor = true
	n := Rules(r, c)
	checkComplete(t, n)
	for _, line := range n.RecommendedActions {
		if strings.Contains(line, "bogus") {
			t.Errorf("action names an invalid address: %q", line)
		}
	}
}

// An ASN that also holds a likely false positive gets single rules, not a
// pfBlockerNG list that would block the false positive too.
func TestRulesClusterWithFalsePositive(t *testing.T) {
	r, c := loadFixture(t, "storm")
	r.BlockedIPs[4].Intel.ASN = "AS64500" // 192.0.2.10, likely false positive, abuse 10
	n := Rules(r, c)
	actions := strings.Join(n.RecommendedActions, "\n")
	for _, line := range n.RecommendedActions {
		if strings.HasPrefix(line, "pfBlockerNG") && strings.Contains(line, "AS64500") {
			t.Errorf("pfBlockerNG list for AS64500, which contains a likely false positive: %q", line)
		}
	}
	for _, ip := range []string{"203.0.113.7", "203.0.113.8", "203.0.113.9"} {
		if !strings.Contains(actions, "add a block rule for source "+ip+",") {
			t.Errorf("no single block rule for %s:\n%s", ip, actions)
		}
	}
	rec, logger := newLogRecorder()
	applyGuardrails(n, newFacts(r, c), logger)
	if dropped := rec.droppedIPs(t); len(dropped) > 0 {
		t.Errorf("guardrails dropped rules lines: %v", dropped)
	}
}
