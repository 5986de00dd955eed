package report

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/source"
)

var update = flag.Bool("update", false, "rewrite golden files")

var mustAddr = netip.MustParseAddr

// fixtureInput is a small cycle with documentation addresses: four blocked
// sources (one not enriched, one a likely false positive), three outbound
// destinations (internal sources, NAT only, neither) and seven ports.
func fixtureInput() Input {
	start := time.Date(2026, 2, 22, 9, 0, 0, 0, time.UTC)
	obs := source.Observation{
		Start: start,
		End:   start.Add(time.Hour),
		Blocked: []source.AddrCount{
			{Addr: mustAddr("203.0.113.7"), Count: 1520},
			{Addr: mustAddr("198.51.100.23"), Count: 640},
			{Addr: mustAddr("2001:db8::dead:beef"), Count: 88},
			{Addr: mustAddr("192.0.2.44"), Count: 12},
		},
		DistinctBlocked: 137,
		Outbound: []source.Outbound{
			{
				Addr:            mustAddr("198.51.100.80"),
				Count:           300,
				InternalSources: []netip.Addr{mustAddr("192.168.1.20"), mustAddr("192.168.1.31"), mustAddr("10.0.0.5")},
				NATSources:      []netip.Addr{mustAddr("192.0.2.1")},
			},
			{Addr: mustAddr("203.0.113.200"), Count: 45, NATSources: []netip.Addr{mustAddr("192.0.2.1")}},
			{Addr: mustAddr("2001:db8:1::53"), Count: 3},
		},
		Ports: []source.PortCount{
			{Port: 3389, Protocol: "tcp", Count: 900},
			{Port: 22, Protocol: "tcp", Count: 400},
			{Port: 23, Protocol: "tcp", Count: 150},
			{Port: 53, Protocol: "udp", Count: 80},
			{Port: 40000, Protocol: "tcp", Count: 12},
			{Port: 3389, Protocol: "udp", Count: 5},
			{Port: 443, Protocol: "tcp", Count: 3},
		},
		Interfaces: []string{"igc0", "igc0.201"},
		Lines:      map[string]uint64{"parsed": 5000, "not filterlog": 12, "malformed": 3},
	}

	blocked := map[netip.Addr]intel.Intel{
		mustAddr("203.0.113.7"): {
			IP: "203.0.113.7", Country: "NL", Org: "Example Hosting B.V.", Classification: "malicious",
			CompositeScore: 82.5, ThreatLevel: "critical", AbuseConfidenceScore: 100, PulseCount: 12,
			GNClassification: "malicious", IsKnownBadActor: true, ASN: "AS64500", ASName: "EXAMPLE-HOSTING",
			Providers: map[intel.Provider]intel.Status{intel.AbuseIPDB: intel.StatusOK, intel.GreyNoise: intel.StatusOK},
			Explanation: intel.Explanation{
				Components: []intel.Component{{Name: "abuseipdb", Points: 50, Detail: "abuse confidence 100 × 0.5"}},
				Sources:    []intel.Provider{intel.AbuseIPDB, intel.GreyNoise},
			},
		},
		mustAddr("198.51.100.23"): {
			IP: "198.51.100.23", Country: "US", Org: "Example Cloud Services", Classification: "benign",
			CompositeScore: 60, ThreatLevel: "high", AbuseConfidenceScore: 70, LikelyFalsePositive: true,
			ASN: "AS64501",
		},
		mustAddr("2001:db8::dead:beef"): {
			IP: "2001:db8::dead:beef", Country: "DE", Classification: "suspicious", CompositeScore: 30,
			ThreatLevel: "medium", ASName: "Example Research Network for Very Long Organisation Names e.V.",
		},
	}
	outbound := map[netip.Addr]intel.Intel{
		mustAddr("198.51.100.80"): {
			IP: "198.51.100.80", Country: "RU", Org: "Example Bulletproof Ltd", Classification: "malicious",
			CompositeScore: 45, ThreatLevel: "medium", PulseCount: 8, IsKnownBadActor: true,
		},
		mustAddr("203.0.113.200"): {
			IP: "203.0.113.200", Country: "US", Org: "Example CDN", Classification: "benign",
			ThreatLevel: "none", RIOT: true, LikelyFalsePositive: true,
		},
	}

	narrative := &Narrative{
		RiskLevel:        "critical",
		ExecutiveSummary: "One hosting address sent 1520 blocked packets, mostly RDP and SSH probes. One internal host talks to an address with OTX pulses.",
		TopThreats: []string{
			"203.0.113.7 (Example Hosting B.V., AS64500): RDP brute force, abuse confidence 100.",
			"198.51.100.23 (Example Cloud Services): likely false positive.",
		},
		InboundAnalysis:  "Inbound scans target RDP on 3389/tcp and SSH on 22/tcp.",
		OutboundAnalysis: "192.168.1.20 sends to 198.51.100.80, which has 8 OTX pulses.",
		PortAnalysis:     "RDP is the most targeted service.",
		RecommendedActions: []string{
			"Firewall > Rules > igc0: add a block rule for 203.0.113.7, direction in.",
			"Diagnostics > States: filter by 198.51.100.80 to confirm the internal host.",
		},
		Available: true,
		Model:     "rules-v1",
		Provider:  "rules",
	}

	return Input{
		Observation:   obs,
		LookbackHours: 1,
		GeneratedAt:   time.Date(2026, 2, 22, 11, 0, 5, 123, time.FixedZone("CET", 3600)),
		BlockedIntel:  blocked,
		OutboundIntel: outbound,
		Narrative:     narrative,
		Source:        "file",
	}
}

// checkGolden compares got with testdata/name, or rewrites the file when
// the test runs with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update to accept):\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}
