package metrics

import (
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
)

// benchReport returns a report of the default size: 50 blocked sources,
// 20 outbound destinations and 20 ports.
func benchReport() *report.Report {
	r := &report.Report{GeneratedAt: "2026-02-22T10:00:00Z", Summary: report.Summary{OverallRiskLevel: "high"}}
	row := func(i int, direction, action string) report.AddressRow {
		ip := fmt.Sprintf("198.51.100.%d", i)
		return report.AddressRow{
			IP: ip, Count: uint64(1000 - i), Direction: direction, Action: action,
			Intel: intel.Intel{
				IP: ip, Country: "NL", Org: "Example Hosting B.V.", Classification: "malicious",
				CompositeScore: 55, AbuseConfidenceScore: 80, PulseCount: 4, GNClassification: "malicious",
				IsKnownBadActor: true, Providers: answeredAll(),
			},
		}
	}
	for i := range 50 {
		r.BlockedIPs = append(r.BlockedIPs, row(i, "in", "block"))
	}
	for i := range 20 {
		r.OutboundIPs = append(r.OutboundIPs, report.OutboundRow{AddressRow: row(100+i, "out", "pass")})
	}
	for i := range 20 {
		r.PortAnalysis.TopBlockedPorts = append(r.PortAnalysis.TopBlockedPorts,
			report.PortRow{Port: 1000 + i, Protocol: "tcp", Service: "Example", RiskLevel: "medium", Count: uint64(100 - i)})
	}
	return r
}

// BenchmarkGather measures one scrape's gathering, without HTTP and text
// encoding, of a registry holding the service metrics and a report of
// default size.
func BenchmarkGather(b *testing.B) {
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{SkipReasons: []string{"bad_header", "too_long"}, Sources: []string{"filterlog"}})
	if err != nil {
		b.Fatalf("New: %v", err)
	}
	m.SetReport(benchReport())

	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatalf("Gather: %v", err)
		}
	}
}
