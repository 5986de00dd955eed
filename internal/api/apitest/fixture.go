// Package apitest builds a small fixed report for the HTTP API's tests, its
// benchmarks and the load tool. Every public address is a documentation
// address, and the same call always returns the same report.
package apitest

import (
	"net/netip"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/source"
)

// Addresses of the fixture report, named for the case each one covers.
var (
	// BadActor is blocked inbound and a known bad actor.
	BadActor = netip.MustParseAddr("203.0.113.7")
	// FalsePositive is blocked inbound and a likely false positive.
	FalsePositive = netip.MustParseAddr("198.51.100.23")
	// BlockedIPv6 is blocked inbound and has an organisation name with
	// characters that an HTML-escaping JSON encoder would rewrite.
	BlockedIPv6 = netip.MustParseAddr("2001:db8::dead:beef")
	// BothDirections is blocked inbound and also an outbound destination.
	BothDirections = netip.MustParseAddr("192.0.2.44")
	// CommandAndControl is an outbound destination with known internal
	// senders and a bad-actor record.
	CommandAndControl = netip.MustParseAddr("198.51.100.80")
	// BehindNAT is an outbound destination seen only after NAT.
	BehindNAT = netip.MustParseAddr("203.0.113.200")
	// Uncached is in no report row and has no cached record.
	Uncached = netip.MustParseAddr("203.0.113.99")
	// Cached is in no report row but has a cached record.
	Cached = netip.MustParseAddr("198.51.100.150")
	// WANAddress is the translated source of the outbound traffic.
	WANAddress = netip.MustParseAddr("192.0.2.1")
)

// GeneratedAt is the generation time of the fixture report.
var GeneratedAt = time.Date(2026, 2, 22, 10, 0, 5, 0, time.UTC)

// Report returns the fixture report: four blocked sources, three outbound
// destinations (internal senders, NAT only, and one also blocked), six
// targeted ports and a narrative.
func Report() report.Report {
	start := GeneratedAt.Add(-time.Hour)
	obs := source.Observation{
		Start: start,
		End:   GeneratedAt,
		Blocked: []source.AddrCount{
			{Addr: BadActor, Count: 1520},
			{Addr: FalsePositive, Count: 640},
			{Addr: BlockedIPv6, Count: 88},
			{Addr: BothDirections, Count: 12},
		},
		DistinctBlocked: 137,
		Outbound: []source.Outbound{
			{
				Addr:            CommandAndControl,
				Count:           300,
				InternalSources: []netip.Addr{netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("10.0.0.5")},
				NATSources:      []netip.Addr{WANAddress},
			},
			{Addr: BehindNAT, Count: 45, NATSources: []netip.Addr{WANAddress}},
			{Addr: BothDirections, Count: 7, NATSources: []netip.Addr{WANAddress}},
		},
		Ports: []source.PortCount{
			{Port: 3389, Protocol: "tcp", Count: 900},
			{Port: 22, Protocol: "tcp", Count: 400},
			{Port: 23, Protocol: "tcp", Count: 150},
			{Port: 53, Protocol: "udp", Count: 80},
			{Port: 40000, Protocol: "tcp", Count: 12},
			{Port: 443, Protocol: "tcp", Count: 3},
		},
		Interfaces: []string{"igc0", "igc0.201"},
		Lines:      map[string]uint64{"parsed": 5000, "malformed": 3},
	}

	return report.Build(report.Input{
		Observation:   obs,
		LookbackHours: 1,
		GeneratedAt:   GeneratedAt,
		BlockedIntel:  blockedIntel(),
		OutboundIntel: outboundIntel(),
		Narrative:     narrative(),
		Source:        "file",
	})
}

// CachedIntel returns the cached record of Cached.
func CachedIntel() intel.Intel {
	return intel.Intel{
		IP: Cached.String(), Country: "FR", Org: "Example Transit SAS", Classification: "suspicious",
		CompositeScore: 27.5, ThreatLevel: "medium", AbuseConfidenceScore: 55, GNClassification: "unknown",
		ASN: "AS64510", ASName: "EXAMPLE-TRANSIT",
		Providers: map[intel.Provider]intel.Status{intel.AbuseIPDB: intel.StatusOK, intel.GreyNoise: intel.StatusNotFound},
		Explanation: intel.Explanation{
			Components: []intel.Component{{Name: "abuseipdb", Points: 27.5, Detail: "abuse confidence 55 × 0.5"}},
			Sources:    []intel.Provider{intel.AbuseIPDB, intel.GreyNoise},
		},
	}
}

func blockedIntel() map[netip.Addr]intel.Intel {
	return map[netip.Addr]intel.Intel{
		BadActor: {
			IP: BadActor.String(), Country: "NL", Org: "Example Hosting B.V.", Classification: "malicious",
			CompositeScore: 82.5, ThreatLevel: "critical", AbuseConfidenceScore: 100, PulseCount: 12,
			GNClassification: "malicious", GNName: "Example Scanner", IsKnownBadActor: true,
			ASN: "AS64500", ASName: "EXAMPLE-HOSTING",
			Providers: map[intel.Provider]intel.Status{
				intel.AbuseIPDB: intel.StatusOK, intel.GreyNoise: intel.StatusOK, intel.OTX: intel.StatusOK,
			},
			Explanation: intel.Explanation{
				Components: []intel.Component{
					{Name: "abuseipdb", Points: 50, Detail: "abuse confidence 100 × 0.5"},
					{Name: "otx", Points: 18, Detail: "12 pulses of 20 × 30"},
					{Name: "greynoise", Points: 14.5, Detail: "malicious"},
				},
				Sources: []intel.Provider{intel.AbuseIPDB, intel.GreyNoise, intel.OTX},
			},
		},
		FalsePositive: {
			IP: FalsePositive.String(), Country: "US", Org: "Example Cloud Services", Classification: "benign",
			CompositeScore: 60, ThreatLevel: "high", AbuseConfidenceScore: 70, GNClassification: "benign",
			RIOT: true, LikelyFalsePositive: true, ASN: "AS64501",
		},
		BlockedIPv6: {
			IP: BlockedIPv6.String(), Country: "DE", Org: "Example Research & Education <Network>",
			Classification: "suspicious", CompositeScore: 30, ThreatLevel: "medium",
			GNClassification: "unknown",
		},
		BothDirections: {
			IP: BothDirections.String(), Country: "GB", Org: "Example Telecom plc", Classification: "suspicious",
			CompositeScore: 35, ThreatLevel: "medium", PulseCount: 4,
		},
	}
}

func outboundIntel() map[netip.Addr]intel.Intel {
	return map[netip.Addr]intel.Intel{
		CommandAndControl: {
			IP: CommandAndControl.String(), Country: "RU", Org: "Example Bulletproof Ltd", Classification: "malicious",
			CompositeScore: 45, ThreatLevel: "medium", PulseCount: 8, IsKnownBadActor: true, ASN: "AS64502",
		},
		BehindNAT: {
			IP: BehindNAT.String(), Country: "US", Org: "Example CDN", Classification: "benign",
			ThreatLevel: "none", GNClassification: "benign", RIOT: true, LikelyFalsePositive: true,
		},
		// Outbound, four pulses make it a known bad actor, while inbound
		// they do not.
		BothDirections: {
			IP: BothDirections.String(), Country: "GB", Org: "Example Telecom plc", Classification: "suspicious",
			CompositeScore: 35, ThreatLevel: "medium", PulseCount: 4, IsKnownBadActor: true,
		},
	}
}

func narrative() *report.Narrative {
	return &report.Narrative{
		RiskLevel:        "critical",
		ExecutiveSummary: "One hosting address sent 1520 blocked packets, mostly RDP & SSH probes.",
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
}
