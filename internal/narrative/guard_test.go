package narrative

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/report"
)

func TestFindAddresses(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{name: "ipv4", text: "block 203.0.113.7 now", want: []string{"203.0.113.7"}},
		{name: "sentence end", text: "Block 203.0.113.7.", want: []string{"203.0.113.7"}},
		{name: "cidr", text: "add 203.0.113.0/24 to pfBlockerNG", want: []string{"203.0.113.0/24"}},
		{name: "cidr masked", text: "203.0.113.9/24", want: []string{"203.0.113.0/24"}},
		{name: "bad prefix length kept as address", text: "203.0.113.9/40", want: []string{"203.0.113.9"}},
		{name: "ipv6", text: "block 2001:db8::dead:beef, now", want: []string{"2001:db8::dead:beef"}},
		{name: "ipv6 cidr", text: "2001:db8:bad::/48.", want: []string{"2001:db8:bad::/48"}},
		{name: "ipv6 trailing colon", text: "address 2001:db8::1: blocked", want: []string{"2001:db8::1"}},
		{name: "ipv6 brackets and port", text: "[2001:db8::5]:443", want: []string{"2001:db8::5"}},
		{name: "ipv6 zone", text: "fe80::1%igc0", want: []string{"fe80::1"}},
		{name: "mapped ipv4", text: "::ffff:192.168.1.1", want: []string{"192.168.1.1"}},
		{name: "mapped prefix", text: "::ffff:192.168.1.0/120", want: []string{"192.168.1.0/24"}},
		{name: "label before", text: "IP:192.168.1.1", want: []string{"192.168.1.1"}},
		{name: "leading zeros", text: "block 192.168.001.001", want: []string{"192.168.1.1"}},
		{name: "defanged", text: "block 192.168.1[.]1 and 2001:db8[:]:1", want: []string{"192.168.1.1", "2001:db8::1"}},
		{name: "port suffix", text: "203.0.113.7:22", want: []string{"203.0.113.7"}},
		{name: "two and a repeat", text: "203.0.113.7, 198.51.100.1 and 203.0.113.7", want: []string{"203.0.113.7", "198.51.100.1"}},
		{name: "version-like quad counts", text: "v1.2.3.4", want: []string{"1.2.3.4"}},
		{name: "no addresses", text: "Firewall > Rules > igc0.201 — 22/tcp SSH at 10:00:05, AS64500, score 82.5", want: nil},
		{name: "octet out of range", text: "999.1.1.1", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, m := range findAddresses(tt.text) {
				got = append(got, m.String())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("findAddresses(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func FuzzFindAddresses(f *testing.F) {
	for _, seed := range []string{
		"block 203.0.113.7", "2001:db8::/32", "::ffff:10.0.0.1/104", "192.168.001.001/8", "[.](.)", ":::", "1.2.3.4.5.6/99",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, m := range findAddresses(text) {
			if !m.prefix.IsValid() || m.prefix != m.prefix.Masked() {
				t.Fatalf("findAddresses(%q) returned %v", text, m.prefix)
			}
			if m.prefix.Addr().Is4In6() || m.prefix.Addr().Zone() != "" {
				t.Fatalf("findAddresses(%q) returned unnormalized %v", text, m.prefix)
			}
		}
	})
}

func TestRecommendsBlocking(t *testing.T) {
	tests := []struct {
		line string
		want bool
	}{
		{"Firewall > Rules > igc0 — add a block rule for 203.0.113.7", true},
		{"Block 203.0.113.7 on igc0.", true},
		{"Add 203.0.113.0/24 to pfBlockerNG > IP > IPv4", true},
		{"Set the rule action to Reject for 203.0.113.7", true},
		{"Deny 203.0.113.7", true},
		{"Drop traffic from 203.0.113.7", true},
		{"203.0.113.7 should be blocked", true},
		{"Make sure 192.168.1.1 is blocked everywhere", true},
		{"Do not hesitate to block 192.168.1.1", true},
		{"Do not block 192.0.2.53: it is Example Public DNS.", false},
		{"Never block 192.0.2.53; avoid blocking benign CDNs.", false},
		{"No block is suggested for 198.51.100.66.", false},
		{"Do not block 192.0.2.53; block 192.168.1.1 instead", true},
		{"203.0.113.7 was blocked 1,520 times", false},
		{"Diagnostics > States — filter by 198.51.100.77 and kill its states", false},
		{"Inspect 192.168.1.20 for malware", false},
	}
	for _, tt := range tests {
		if got := recommendsBlocking(tt.line); got != tt.want {
			t.Errorf("recommendsBlocking(%q) = %v, want %v", tt.line, got, tt.want)
		}
	}
}

// guardFacts are the facts of the storm fixture with an own prefix and a WAN address.
func guardFacts(t *testing.T) *facts {
	t.Helper()
	r, c := loadFixture(t, "storm")
	c.OwnPrefixes = mustPrefixes(t, []string{"203.0.113.128/25"})
	c.WANAddress = netip.MustParseAddr("203.0.113.130")
	r.OutboundIPs[0].SrcIPs = []string{"192.168.10.5"}
	return newFacts(r, c)
}

func TestLineVetoes(t *testing.T) {
	f := guardFacts(t)
	tests := []struct {
		name string
		line string
		want map[string]string // address → substring of the reason; nil means keep
	}{
		{name: "bad actor", line: "Firewall > Rules > igc0 — add a block rule for 203.0.113.7, direction in"},
		{name: "false positive above 50", line: "Block 198.51.100.23"},
		{name: "private", line: "Block 192.168.1.1", want: map[string]string{"192.168.1.1": "private address"}},
		{name: "loopback", line: "Block 127.0.0.1", want: map[string]string{"127.0.0.1": "loopback address"}},
		{name: "cgnat", line: "Block 100.64.0.9", want: map[string]string{"100.64.0.9": "cgnat address"}},
		{name: "unique local", line: "Block fd00::1", want: map[string]string{"fd00::1": "unique-local address"}},
		{name: "own prefix", line: "Block 203.0.113.200", want: map[string]string{"203.0.113.200": "in OWN_PREFIXES (203.0.113.128/25)"}},
		{name: "wan address", line: "Block 203.0.113.130", want: map[string]string{"203.0.113.130": "the firewall's WAN address"}},
		{name: "allowlisted", line: "Block 198.51.100.66", want: map[string]string{"198.51.100.66": "on the ALLOWLIST (198.51.100.66/32)"}},
		{name: "false positive at 10", line: "Block 192.0.2.10",
			want: map[string]string{"192.0.2.10": "likely false positive with AbuseIPDB confidence 10, not above 50"}},
		{name: "not in report", line: "Block 198.51.100.99", want: map[string]string{"198.51.100.99": "not in the report"}},
		{name: "one bad among good", line: "Block 203.0.113.7 and 192.168.1.1", want: map[string]string{"192.168.1.1": "private address"}},
		{name: "internal sender of a blockable destination", line: "Block 192.0.2.80, reached from 192.168.10.5"},
		{name: "internal host that sent nothing there", line: "Block 192.0.2.80 and 192.168.10.9",
			want: map[string]string{"192.168.10.9": "private address"}},
		{name: "cluster prefix", line: "pfBlockerNG > IP > IPv4 — add 203.0.113.0/29 for AS64500"},
		{name: "prefix with a false positive", line: "Block 192.0.2.0/24",
			want: map[string]string{"192.0.2.0/24": "contains 192.0.2.10, likely false positive"}},
		{name: "prefix over own space", line: "Block 203.0.113.192/26",
			want: map[string]string{"203.0.113.192/26": "overlaps OWN_PREFIXES (203.0.113.128/25)"}},
		{name: "prefix over the wan address", line: "Block 203.0.113.0/24",
			want: map[string]string{"203.0.113.0/24": "contains the firewall's WAN address"}},
		{name: "prefix too broad", line: "Block 203.0.0.0/8", want: map[string]string{"203.0.0.0/8": "broader than /16"}},
		{name: "private prefix", line: "Block 10.1.0.0/16", want: map[string]string{"10.1.0.0/16": "covers non-public addresses"}},
		{name: "prefix without report address", line: "Block 198.18.0.0/16",
			want: map[string]string{"198.18.0.0/16": "contains no address of the report"}},
		{name: "everything", line: "Block 0.0.0.0/0", want: map[string]string{"0.0.0.0/0": "broader than /16"}},
		{name: "cluster asn", line: "pfBlockerNG > IP > IPv4 — add a custom list for AS64500"},
		{name: "asn of a false positive", line: "pfBlockerNG > IP > IPv4 — add a custom list for AS64502",
			want: map[string]string{"AS64502": "contains 192.0.2.10, likely false positive"}},
		{name: "asn of an allowlisted address", line: "Block AS64504",
			want: map[string]string{"AS64504": "on the ALLOWLIST"}},
		{name: "asn not in report", line: "Block AS15169 entirely", want: map[string]string{"AS15169": "ASN not in the report"}},
		{name: "lower-case as is a word", line: "Block 203.0.113.7 as 5 rules"},
		{name: "advice not to block", line: "Do not block 192.0.2.10 or 192.168.1.1."},
		{name: "description only", line: "192.168.1.1 was blocked by the default rule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]string{}
			for _, v := range f.lineVetoes(tt.line) {
				got[v.target] = v.reason
			}
			if len(got) != len(tt.want) {
				t.Fatalf("vetoes %v, want %v", got, tt.want)
			}
			for addr, reason := range tt.want {
				if !strings.Contains(got[addr], reason) {
					t.Errorf("veto of %s: %q, want %q", addr, got[addr], reason)
				}
			}
		})
	}
}

func TestApplyGuardrails(t *testing.T) {
	f := guardFacts(t)
	rec, logger := newLogRecorder()
	n := goodAnswerNarrative(t)
	n.TopThreats = []string{
		"203.0.113.7 is the worst source.",
		"192.168.1.1 is compromised: block it.",
	}
	n.RecommendedActions = []string{
		"Firewall > Rules > igc0 — add a block rule for 203.0.113.7, direction in.",
		"Firewall > Rules > igc0 — add a block rule for 192.168.1.1, direction in.",
		"Do not block 192.0.2.10 (Example Search Crawler).",
	}
	n.InboundAnalysis = "Traffic was heavy. Block 198.51.100.99 at once. SSH was the target."
	n.RiskLevel = "none"

	got := applyGuardrails(n, f, logger)

	wantThreats := []string{"203.0.113.7 is the worst source."}
	if !slices.Equal(got.TopThreats, wantThreats) {
		t.Errorf("top threats %q, want %q", got.TopThreats, wantThreats)
	}
	wantActions := []string{n.RecommendedActions[0], n.RecommendedActions[2]}
	if !slices.Equal(got.RecommendedActions, wantActions) {
		t.Errorf("actions %q, want %q", got.RecommendedActions, wantActions)
	}
	if want := "Traffic was heavy. SSH was the target."; got.InboundAnalysis != want {
		t.Errorf("inbound analysis %q, want %q", got.InboundAnalysis, want)
	}
	if got.RiskLevel != "critical" {
		t.Errorf("risk level %q, want the report's critical", got.RiskLevel)
	}

	dropped := rec.droppedIPs(t)
	for _, ip := range []string{"192.168.1.1", "198.51.100.99"} {
		if _, ok := dropped[ip]; !ok {
			t.Errorf("drop of %s not logged; logged %v", ip, dropped)
		}
	}
	if len(rec.records(t, "narrative risk level raised")) != 1 {
		t.Error("risk level change not logged")
	}
}

func TestApplyGuardrailsKeepsOneStepDown(t *testing.T) {
	f := guardFacts(t)
	_, logger := newLogRecorder()
	n := goodAnswerNarrative(t)
	n.RiskLevel = "high"
	if got := applyGuardrails(n, f, logger); got.RiskLevel != "high" {
		t.Errorf("risk level %q, want the model's high (one step below critical)", got.RiskLevel)
	}
}

func TestSplitSentences(t *testing.T) {
	got := splitSentences("Block 203.0.113.7. It sent 1.5k events! Why? Because.")
	want := []string{"Block 203.0.113.7.", "It sent 1.5k events!", "Why?", "Because."}
	if !slices.Equal(got, want) {
		t.Errorf("splitSentences = %q, want %q", got, want)
	}
}

func goodAnswerNarrative(t *testing.T) report.Narrative {
	t.Helper()
	n, err := parseNarrative([]byte(goodAnswer().json(t)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
