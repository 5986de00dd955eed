package metrics

import (
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
)

// FuzzLabelValues checks that any organisation, country and port service
// text from a provider or the catalog yields an exposition that parses
// back to the same label values, with invalid UTF-8 replaced.
func FuzzLabelValues(f *testing.F) {
	f.Add("Example Hosting B.V.", "NL", "SSH")
	f.Add(oddOrg, "C\"I", "HTTPS \"alt\"\n")
	f.Add("", "", "")
	f.Add("\\", "\n", "\xff\xfe")
	f.Add("a=\"b\",c=\"d\"}", "}", "{")

	f.Fuzz(func(t *testing.T, org, country, service string) {
		reg := prometheus.NewRegistry()
		m, err := New(reg, Options{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		m.SetReport(&report.Report{
			BlockedIPs: []report.AddressRow{{
				IP: "203.0.113.9", Count: 1,
				Intel: intel.Intel{Country: country, Org: org},
			}},
			PortAnalysis: report.PortAnalysis{TopBlockedPorts: []report.PortRow{
				{Port: 22, Protocol: "tcp", Service: service, RiskLevel: "high", Count: 1},
			}},
		})

		families, err := reg.Gather()
		if err != nil {
			t.Fatalf("Gather: %v", err)
		}
		var buf bytes.Buffer
		for _, mf := range families {
			if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
				t.Fatalf("writing %s as text: %v", mf.GetName(), err)
			}
		}
		parsed := parseExposition(t, buf.Bytes())

		score := findSeries(t, parsed["threat_intel_ip_score"], "ip", "203.0.113.9")
		if got, want := labelOf(score, "org"), labelValue(org); got != want {
			t.Errorf("org label = %q, want %q", got, want)
		}
		if got, want := labelOf(score, "country"), labelValue(country); got != want {
			t.Errorf("country label = %q, want %q", got, want)
		}
		port := findSeries(t, parsed["threat_intel_port_event_count"], "port", "22")
		if got, want := labelOf(port, "port_service"), labelValue(service); got != want {
			t.Errorf("port_service label = %q, want %q", got, want)
		}
	})
}
