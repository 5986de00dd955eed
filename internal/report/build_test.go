package report

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/ports"
	"github.com/threat-intel/threat-intel/internal/source"
)

func TestBuildGoldenJSON(t *testing.T) {
	r := Build(fixtureInput())
	got, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "build.golden.json", append(got, '\n'))
}

func TestBuildEmptyObservationJSON(t *testing.T) {
	r := Build(Input{GeneratedAt: time.Date(2026, 2, 22, 10, 0, 0, 0, time.UTC), Source: "file"})
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`"blocked_ips":[]`,
		`"outbound_ips":[]`,
		`"top_blocked_ports":[]`,
		`"critical_ports_hit":[]`,
		`"interfaces":[]`,
		`"top_threats":[]`,
		`"recommended_actions":[]`,
		`"overall_risk_level":"none"`,
		`"available":false`,
		`"provider":"none"`,
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("JSON lacks %s:\n%s", want, raw)
		}
	}
	if strings.Contains(string(raw), "null") {
		t.Errorf("JSON contains null:\n%s", raw)
	}
}

func TestBuildTotalBlockedIsDistinctCount(t *testing.T) {
	in := Input{Observation: source.Observation{
		Blocked: []source.AddrCount{
			{Addr: mustAddr("203.0.113.1"), Count: 10},
			{Addr: mustAddr("203.0.113.2"), Count: 5},
		},
		DistinctBlocked: 500,
	}}
	s := Build(in).Summary
	if s.TotalBlockedIPs != 500 {
		t.Errorf("TotalBlockedIPs = %d, want DistinctBlocked 500 and not the row count 2", s.TotalBlockedIPs)
	}
	if s.BlockedEvents != 15 {
		t.Errorf("BlockedEvents = %d, want 15", s.BlockedEvents)
	}
}

// scored returns an Intel record with the fields the summary rules read.
func scored(score float64, level string, falsePositive, badActor bool) intel.Intel {
	return intel.Intel{CompositeScore: score, ThreatLevel: level, LikelyFalsePositive: falsePositive, IsKnownBadActor: badActor}
}

func TestBuildOverallRiskLevel(t *testing.T) {
	in1, in2 := mustAddr("203.0.113.1"), mustAddr("203.0.113.2")
	out1 := mustAddr("198.51.100.1")
	tests := []struct {
		name     string
		blocked  map[netip.Addr]intel.Intel
		outbound map[netip.Addr]intel.Intel
		want     string
	}{
		{
			name:    "highest score wins",
			blocked: map[netip.Addr]intel.Intel{in1: scored(30, "medium", false, false), in2: scored(80, "critical", false, false)},
			want:    "critical",
		},
		{
			name:    "likely false positive ignored",
			blocked: map[netip.Addr]intel.Intel{in1: scored(30, "medium", false, false), in2: scored(80, "critical", true, false)},
			want:    "medium",
		},
		{
			name:    "only false positives",
			blocked: map[netip.Addr]intel.Intel{in1: scored(60, "high", true, false), in2: scored(80, "critical", true, false)},
			want:    "none",
		},
		{
			name:    "false positive that is a bad actor anyway counts",
			blocked: map[netip.Addr]intel.Intel{in1: scored(30, "medium", false, false), in2: scored(80, "critical", true, true)},
			want:    "critical",
		},
		{
			name:     "outbound counts",
			blocked:  map[netip.Addr]intel.Intel{in1: scored(12, "low", false, false)},
			outbound: map[netip.Addr]intel.Intel{out1: scored(60, "high", false, true)},
			want:     "high",
		},
		{
			name: "no enrichment",
			want: "none",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{
				Observation: source.Observation{
					Blocked:  []source.AddrCount{{Addr: in1, Count: 3}, {Addr: in2, Count: 2}},
					Outbound: []source.Outbound{{Addr: out1, Count: 1}},
				},
				BlockedIntel:  tt.blocked,
				OutboundIntel: tt.outbound,
			}
			if got := Build(in).Summary.OverallRiskLevel; got != tt.want {
				t.Errorf("OverallRiskLevel = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestBuildOverallRiskWithoutRows(t *testing.T) {
	if got := Build(Input{}).Summary.OverallRiskLevel; got != "none" {
		t.Errorf("OverallRiskLevel = %q, want none", got)
	}
}

func TestBuildKnownBadActors(t *testing.T) {
	in1, in2, out1 := mustAddr("203.0.113.1"), mustAddr("203.0.113.2"), mustAddr("198.51.100.1")
	in := Input{
		Observation: source.Observation{
			Blocked:  []source.AddrCount{{Addr: in1, Count: 3}, {Addr: in2, Count: 2}},
			Outbound: []source.Outbound{{Addr: out1, Count: 1}, {Addr: mustAddr("198.51.100.2"), Count: 1}},
		},
		BlockedIntel: map[netip.Addr]intel.Intel{
			in1: scored(60, "high", false, true),
			in2: scored(20, "low", false, false),
		},
		OutboundIntel: map[netip.Addr]intel.Intel{
			out1: scored(40, "medium", false, true),
		},
	}
	s := Build(in).Summary
	if s.KnownBadActorsInbound != 1 {
		t.Errorf("KnownBadActorsInbound = %d, want 1", s.KnownBadActorsInbound)
	}
	if s.KnownBadActorsOutbound != 1 {
		t.Errorf("KnownBadActorsOutbound = %d, want 1", s.KnownBadActorsOutbound)
	}
	if s.OutboundDestinations != 2 {
		t.Errorf("OutboundDestinations = %d, want 2", s.OutboundDestinations)
	}
}

func TestBuildSourceList(t *testing.T) {
	tests := []struct {
		name string
		out  source.Outbound
		want []string
	}{
		{
			name: "internal sources",
			out: source.Outbound{
				InternalSources: []netip.Addr{mustAddr("192.168.1.20"), mustAddr("fd00::5")},
				NATSources:      []netip.Addr{mustAddr("192.0.2.1")},
			},
			want: []string{"192.168.1.20", "fd00::5"},
		},
		{
			name: "NAT note",
			out:  source.Outbound{NATSources: []netip.Addr{mustAddr("192.0.2.1"), mustAddr("192.0.2.2")}},
			want: []string{"pfSense NAT (192.0.2.1)"},
		},
		{
			name: "neither",
			out:  source.Outbound{},
			want: []string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.out.Addr = mustAddr("198.51.100.80")
			tt.out.Count = 7
			r := Build(Input{Observation: source.Observation{Outbound: []source.Outbound{tt.out}}})
			row := r.OutboundIPs[0]
			if !slices.Equal(row.SrcIPs, tt.want) || row.SrcIPs == nil {
				t.Errorf("SrcIPs = %#v, want %#v", row.SrcIPs, tt.want)
			}
			if row.Direction != "out" || row.Action != "pass" {
				t.Errorf("direction, action = %q, %q, want out, pass", row.Direction, row.Action)
			}
		})
	}
}

func TestBuildSourceListJSON(t *testing.T) {
	r := Build(Input{Observation: source.Observation{Outbound: []source.Outbound{{Addr: mustAddr("198.51.100.80")}}}})
	raw, err := json.Marshal(r.OutboundIPs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"src_ips":[]`) {
		t.Errorf("outbound row without sources = %s, want src_ips []", raw)
	}
}

func TestBuildBlockedRows(t *testing.T) {
	r := Build(fixtureInput())
	if len(r.BlockedIPs) != 4 {
		t.Fatalf("got %d blocked rows, want 4", len(r.BlockedIPs))
	}
	row := r.BlockedIPs[0]
	if row.IP != "203.0.113.7" || row.Count != 1520 || row.Direction != "in" || row.Action != "block" {
		t.Errorf("first row = %+v", row)
	}
	if row.Intel.Org != "Example Hosting B.V." {
		t.Errorf("first row org = %q, want the intel record's", row.Intel.Org)
	}
}

func TestBuildIntelByDirection(t *testing.T) {
	a := mustAddr("203.0.113.50")
	r := Build(Input{
		Observation: source.Observation{
			Blocked:  []source.AddrCount{{Addr: a, Count: 4}},
			Outbound: []source.Outbound{{Addr: a, Count: 2}},
		},
		BlockedIntel:  map[netip.Addr]intel.Intel{a: scored(20, "low", false, false)},
		OutboundIntel: map[netip.Addr]intel.Intel{a: scored(20, "low", false, true)},
	})
	if r.BlockedIPs[0].Intel.IsKnownBadActor {
		t.Errorf("blocked row took the outbound record: %+v", r.BlockedIPs[0].Intel)
	}
	if !r.OutboundIPs[0].Intel.IsKnownBadActor {
		t.Errorf("outbound row took the blocked record: %+v", r.OutboundIPs[0].Intel)
	}
}

func TestBuildIntelPlaceholder(t *testing.T) {
	r := Build(Input{Observation: source.Observation{
		Blocked: []source.AddrCount{{Addr: mustAddr("2001:db8::1"), Count: 1}},
	}})
	got := r.BlockedIPs[0].Intel
	if got.IP != "2001:db8::1" {
		t.Errorf("IP = %q, want 2001:db8::1", got.IP)
	}
	if got.Country != "" || got.ThreatLevel != "none" || got.Classification != "unknown" || got.CompositeScore != 0 || got.Internal {
		t.Errorf("placeholder = %+v, want empty country, level none, classification unknown, score 0, not internal", got)
	}
	if got.Providers == nil || len(got.Providers) != 0 {
		t.Errorf("Providers = %#v, want an empty map", got.Providers)
	}
}

func TestBuildIntelNilListsEmptied(t *testing.T) {
	a := mustAddr("203.0.113.9")
	r := Build(Input{
		Observation:  source.Observation{Blocked: []source.AddrCount{{Addr: a, Count: 1}}},
		BlockedIntel: map[netip.Addr]intel.Intel{a: {CompositeScore: 12, ThreatLevel: "low"}},
	})
	raw, err := json.Marshal(r.BlockedIPs[0].Intel)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"ip":"203.0.113.9"`, `"providers":{}`, `"components":[]`, `"sources":[]`, `"threat_level":"low"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("intel JSON lacks %s:\n%s", want, raw)
		}
	}
}

func TestBuildPortAnalysis(t *testing.T) {
	in := Input{
		Observation: source.Observation{Ports: []source.PortCount{
			{Port: 80, Protocol: "tcp", Count: 500},
			{Port: 3389, Protocol: "tcp", Count: 300},
			{Port: 40000, Protocol: "udp", Count: 200},
			{Port: 3389, Protocol: "udp", Count: 100},
			{Port: 22, Protocol: "tcp", Count: 50},
			{Port: 161, Protocol: "udp", Count: 10},
		}},
		TopPorts: 3,
	}
	pa := Build(in).PortAnalysis
	s := Build(in).Summary

	wantTop := []PortRow{
		{Port: 80, Protocol: "tcp", Service: "HTTP", RiskLevel: "low", Count: 500, Description: ports.Default().Lookup(80, "tcp").Description},
		{Port: 3389, Protocol: "tcp", Service: "RDP", RiskLevel: "critical", Count: 300, Description: ports.Default().Lookup(3389, "tcp").Description},
		{Port: 40000, Protocol: "udp", Service: "unknown", RiskLevel: "medium", Count: 200},
	}
	if !slices.Equal(pa.TopBlockedPorts, wantTop) {
		t.Errorf("TopBlockedPorts = %+v, want %+v", pa.TopBlockedPorts, wantTop)
	}

	var hit []string
	for _, p := range pa.CriticalPortsHit {
		hit = append(hit, p.Service+"/"+p.Protocol)
	}
	if want := []string{"RDP/tcp", "RDP/udp", "SSH/tcp"}; !slices.Equal(hit, want) {
		t.Errorf("CriticalPortsHit = %v, want %v (capped at 3, beyond the top ports)", hit, want)
	}

	// 3389 over TCP and UDP counts once; 161/udp is below the cap but counts.
	if s.CriticalPortsTargeted != 3 {
		t.Errorf("CriticalPortsTargeted = %d, want 3 (3389, 22, 161)", s.CriticalPortsTargeted)
	}
}

func TestBuildPortsSortedByCount(t *testing.T) {
	in := Input{Observation: source.Observation{Ports: []source.PortCount{
		{Port: 22, Protocol: "tcp", Count: 5},
		{Port: 23, Protocol: "tcp", Count: 50},
	}}}
	top := Build(in).PortAnalysis.TopBlockedPorts
	if top[0].Port != 23 {
		t.Errorf("first port = %d, want 23 with the most events", top[0].Port)
	}
}

func TestBuildDefaultTopPorts(t *testing.T) {
	var observed []source.PortCount
	for p := range 30 {
		observed = append(observed, source.PortCount{Port: uint16(30000 + p), Protocol: "tcp", Count: uint64(100 - p)})
	}
	pa := Build(Input{Observation: source.Observation{Ports: observed}}).PortAnalysis
	if len(pa.TopBlockedPorts) != DefaultTopPorts {
		t.Errorf("got %d top ports, want %d", len(pa.TopBlockedPorts), DefaultTopPorts)
	}
}

func TestBuildUsesGivenCatalog(t *testing.T) {
	dir := t.TempDir()
	override := `{"3389": {"service": "Jump-Host", "risk_level": "low"}}`
	if err := os.WriteFile(filepath.Join(dir, ports.OverrideFile), []byte(override), 0o600); err != nil {
		t.Fatal(err)
	}
	catalog, err := ports.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := Build(Input{
		Observation: source.Observation{Ports: []source.PortCount{{Port: 3389, Protocol: "tcp", Count: 9}}},
		Catalog:     catalog,
	})
	if got := r.PortAnalysis.TopBlockedPorts[0]; got.Service != "Jump-Host" || got.RiskLevel != "low" {
		t.Errorf("port row = %+v, want the override's Jump-Host with risk low", got)
	}
	if len(r.PortAnalysis.CriticalPortsHit) != 0 || r.Summary.CriticalPortsTargeted != 0 {
		t.Errorf("low-risk override still counted as critical: %+v", r.PortAnalysis.CriticalPortsHit)
	}
}

func TestBuildNarrative(t *testing.T) {
	tests := []struct {
		name      string
		narrative *Narrative
		available bool
		provider  string
	}{
		{"none given", nil, false, "none"},
		{"given with nil lists", &Narrative{Available: true, Provider: "rules", ExecutiveSummary: "Quiet hour."}, true, "rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := Build(Input{Narrative: tt.narrative}).Narrative
			if n.Available != tt.available || n.Provider != tt.provider {
				t.Errorf("available, provider = %v, %q, want %v, %q", n.Available, n.Provider, tt.available, tt.provider)
			}
			if n.TopThreats == nil || n.RecommendedActions == nil {
				t.Errorf("lists are nil: %+v", n)
			}
		})
	}
}

func TestBuildTimes(t *testing.T) {
	zone := time.FixedZone("UTC-5", -5*3600)
	r := Build(Input{
		GeneratedAt: time.Date(2026, 2, 22, 5, 0, 5, 999_000_000, zone),
		Observation: source.Observation{
			Start: time.Date(2026, 2, 22, 4, 0, 0, 0, zone),
			End:   time.Date(2026, 2, 22, 5, 0, 0, 0, zone),
		},
	})
	if r.GeneratedAt != "2026-02-22T10:00:05Z" {
		t.Errorf("GeneratedAt = %q, want 2026-02-22T10:00:05Z", r.GeneratedAt)
	}
	if r.Window.Start != "2026-02-22T09:00:00Z" || r.Window.End != "2026-02-22T10:00:00Z" {
		t.Errorf("Window = %+v, want 09:00 to 10:00 UTC", r.Window)
	}
}

func TestBuildZeroWindow(t *testing.T) {
	if w := Build(Input{}).Window; w.Start != "" || w.End != "" {
		t.Errorf("Window = %+v, want empty strings for zero times", w)
	}
}

func TestBuildApproximate(t *testing.T) {
	s := Build(Input{Observation: source.Observation{Approximate: true, ErrorBound: 42}}).Summary
	if !s.Approximate || s.ErrorBound != 42 {
		t.Errorf("Approximate, ErrorBound = %v, %d, want true, 42", s.Approximate, s.ErrorBound)
	}
}

func TestBuildCopiesObservation(t *testing.T) {
	in := fixtureInput()
	r := Build(in)
	r.Interfaces[0] = "changed"
	r.Lines["parsed"] = 1
	if in.Observation.Interfaces[0] != "igc0" || in.Observation.Lines["parsed"] != 5000 {
		t.Errorf("changing the report changed the observation: %v %v", in.Observation.Interfaces, in.Observation.Lines)
	}
}

func BenchmarkBuild(b *testing.B) {
	in := largeInput()
	for b.Loop() {
		Build(in)
	}
}

// largeInput is a cycle at the default TOP_BLOCKED_IPS and TOP_OUTBOUND_IPS
// caps: 50 blocked sources and 20 outbound destinations, all enriched, with
// 200 ports.
func largeInput() Input {
	in := fixtureInput()
	obs := &in.Observation
	obs.Blocked, obs.Outbound, obs.Ports = nil, nil, nil
	in.BlockedIntel = map[netip.Addr]intel.Intel{}
	in.OutboundIntel = map[netip.Addr]intel.Intel{}
	base := mustAddr("203.0.113.0")
	for i := range 50 {
		a := base
		for range i {
			a = a.Next()
		}
		obs.Blocked = append(obs.Blocked, source.AddrCount{Addr: a, Count: uint64(1000 - i)})
		in.BlockedIntel[a] = scored(float64(i), "low", i%7 == 0, i%5 == 0)
	}
	out := mustAddr("198.51.100.0")
	for i := range 20 {
		out = out.Next()
		obs.Outbound = append(obs.Outbound, source.Outbound{
			Addr: out, Count: uint64(100 - i),
			InternalSources: []netip.Addr{mustAddr("192.168.1.10")}, NATSources: []netip.Addr{mustAddr("192.0.2.1")},
		})
	}
	for i := range 200 {
		obs.Ports = append(obs.Ports, source.PortCount{Port: uint16(1 + i*37), Protocol: "tcp", Count: uint64(500 - i)})
	}
	obs.DistinctBlocked = 4000
	return in
}
