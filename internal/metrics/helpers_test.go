package metrics

import (
	"bytes"
	"cmp"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
)

// fixedNow is the clock of the tests: 2026-02-22T10:05:00Z.
var fixedNow = time.Date(2026, 2, 22, 10, 5, 0, 0, time.UTC)

// answeredAll is the provider status of a record every provider answered.
func answeredAll() map[intel.Provider]intel.Status {
	return map[intel.Provider]intel.Status{
		intel.AbuseIPDB: intel.StatusOK,
		intel.GreyNoise: intel.StatusOK,
		intel.OTX:       intel.StatusOK,
		intel.IPinfo:    intel.StatusOK,
	}
}

// fixtureReport returns a report with documentation addresses that covers
// every kind of series. It has an address in both directions, providers
// that failed or were skipped, and a RIOT address. Among its ports are one
// over TCP and UDP with the same catalog entry, one with different entries,
// and one listed in both port lists.
func fixtureReport() *report.Report {
	return &report.Report{
		GeneratedAt:   "2026-02-22T10:00:00Z",
		LookbackHours: 1,
		Summary: report.Summary{
			TotalBlockedIPs:        1234,
			KnownBadActorsInbound:  1,
			KnownBadActorsOutbound: 1,
			CriticalPortsTargeted:  2,
			OverallRiskLevel:       "critical",
		},
		BlockedIPs: []report.AddressRow{
			{
				IP: "203.0.113.7", Count: 412, Direction: "in", Action: "block",
				Intel: intel.Intel{
					IP: "203.0.113.7", Country: "NL", Org: "Example Hosting B.V.", Classification: "malicious",
					CompositeScore: 82.5, ThreatLevel: "critical", AbuseConfidenceScore: 100, PulseCount: 12,
					GNClassification: "malicious", IsKnownBadActor: true, Providers: answeredAll(),
				},
			},
			{
				IP: "198.51.100.23", Count: 57, Direction: "in", Action: "block",
				Intel: intel.Intel{
					IP: "198.51.100.23", Country: "US", Org: "Example CDN", Classification: "benign",
					ThreatLevel: "none", GNClassification: "benign", RIOT: true, LikelyFalsePositive: true,
					Providers: map[intel.Provider]intel.Status{
						intel.AbuseIPDB: intel.StatusOK,
						intel.GreyNoise: intel.StatusOK,
						intel.OTX:       intel.StatusNotFound,
						intel.IPinfo:    intel.StatusOK,
					},
				},
			},
			{
				IP: "2001:db8::5", Count: 9, Direction: "in", Action: "block",
				Intel: intel.Intel{
					IP: "2001:db8::5", Classification: "unknown", ThreatLevel: "none",
					Providers: map[intel.Provider]intel.Status{
						intel.AbuseIPDB: intel.Failed("timeout"),
						intel.GreyNoise: intel.StatusSkippedRateLimited,
						intel.OTX:       intel.StatusSkippedNoKey,
					},
				},
			},
		},
		OutboundIPs: []report.OutboundRow{
			{
				AddressRow: report.AddressRow{
					IP: "192.0.2.44", Count: 31, Direction: "out", Action: "pass",
					Intel: intel.Intel{
						IP: "192.0.2.44", Country: "DE", Org: "Example Telecom GmbH", Classification: "suspicious",
						CompositeScore: 34, ThreatLevel: "medium", AbuseConfidenceScore: 25, PulseCount: 3,
						GNClassification: "unknown", IsKnownBadActor: true,
						Providers: map[intel.Provider]intel.Status{
							intel.AbuseIPDB: intel.StatusOK,
							intel.GreyNoise: intel.StatusNotFound,
							intel.OTX:       intel.StatusOK,
							intel.IPinfo:    intel.StatusOK,
						},
					},
				},
				SrcIPs: []string{"10.0.0.12"},
			},
			{
				AddressRow: report.AddressRow{
					IP: "203.0.113.7", Count: 2, Direction: "out", Action: "pass",
					Intel: intel.Intel{
						IP: "203.0.113.7", Country: "NL", Org: "Example Hosting B.V.", Classification: "malicious",
						CompositeScore: 82.5, ThreatLevel: "critical", AbuseConfidenceScore: 100, PulseCount: 12,
						GNClassification: "malicious", IsKnownBadActor: false, Providers: answeredAll(),
					},
				},
				SrcIPs: []string{"pfSense NAT (192.0.2.1)"},
			},
		},
		PortAnalysis: report.PortAnalysis{
			TopBlockedPorts: []report.PortRow{
				{Port: 22, Protocol: "tcp", Service: "SSH", RiskLevel: "high", Count: 300},
				{Port: 53, Protocol: "udp", Service: "DNS", RiskLevel: "medium", Count: 40},
				{Port: 53, Protocol: "tcp", Service: "DNS", RiskLevel: "medium", Count: 10},
				{Port: 443, Protocol: "tcp", Service: "HTTPS", RiskLevel: "low", Count: 5},
				{Port: 443, Protocol: "udp", Service: "QUIC", RiskLevel: "medium", Count: 3},
			},
			CriticalPortsHit: []report.PortRow{
				{Port: 22, Protocol: "tcp", Service: "SSH", RiskLevel: "high", Count: 300},
				{Port: 3389, Protocol: "tcp", Service: "RDP", RiskLevel: "critical", Count: 2},
			},
		},
		Source: "filterlog",
	}
}

// newTestMetrics returns Metrics registered on a new registry, with two
// skip reasons and one source created at zero and the clock at fixedNow.
func newTestMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := New(reg, Options{
		SkipReasons: []string{"bad_header", "too_long"},
		Sources:     []string{"filterlog"},
		Now:         func() time.Time { return fixedNow },
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, reg
}

// seriesKey writes a series as name{label="value",…} with the labels
// sorted by name, as the text format does.
func seriesKey(name string, labels []*dto.LabelPair) string {
	pairs := make([]string, 0, len(labels))
	for _, l := range labels {
		pairs = append(pairs, l.GetName()+"="+`"`+l.GetValue()+`"`)
	}
	slices.Sort(pairs)
	return name + "{" + strings.Join(pairs, ",") + "}"
}

// gatherSeries returns the value of every gauge and counter series of g by
// its seriesKey. It fails the test when gathering fails.
func gatherSeries(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := make(map[string]float64)
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			var v float64
			switch {
			case m.GetGauge() != nil:
				v = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				v = m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				v = float64(m.GetHistogram().GetSampleCount())
			}
			out[seriesKey(mf.GetName(), m.GetLabel())] = v
		}
	}
	return out
}

// scrape serves g through Handler and returns the text exposition.
func scrape(t *testing.T, g prometheus.Gatherer) []byte {
	t.Helper()
	return serve(t, Handler(g, nil))
}

// serve sends one GET for the text format to h on a 127.0.0.1 server and
// returns the body, failing the test unless the status is 200.
func serve(t *testing.T, h http.Handler) []byte {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatalf("building the request: %v", err)
	}
	// Ask for the classic text format that promtool and the text parser read.
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the /metrics body: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: status %d, body %q", resp.StatusCode, body)
	}
	return body
}

// parseExposition parses text exposition with the Prometheus text parser.
func parseExposition(t *testing.T, body []byte) map[string]*dto.MetricFamily {
	t.Helper()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the exposition: %v\n%s", err, body)
	}
	return families
}

// compareExposition checks that the named families of g are exactly those
// of the text exposition want, label order and sample order aside. It
// replaces testutil.GatherAndCompare, because that package imports
// github.com/kylelemons/godebug, which go.sum does not list.
func compareExposition(t *testing.T, g prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	gathered, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var got []*dto.MetricFamily
	for _, mf := range gathered {
		if slices.Contains(names, mf.GetName()) {
			got = append(got, mf)
		}
	}

	parsed := parseExposition(t, []byte(strings.TrimLeft(want, "\n")))
	var expected []*dto.MetricFamily
	for _, mf := range parsed {
		if !slices.Contains(names, mf.GetName()) {
			t.Fatalf("expected exposition has family %s, which is not among the names compared", mf.GetName())
		}
		expected = append(expected, mf)
	}

	gotText, wantText := normalizedText(t, got), normalizedText(t, expected)
	if gotText == wantText {
		return
	}
	gotLines := strings.Split(gotText, "\n")
	wantLines := strings.Split(wantText, "\n")
	reported := false
	for _, line := range wantLines {
		if !slices.Contains(gotLines, line) {
			t.Errorf("missing:    %s", line)
			reported = true
		}
	}
	for _, line := range gotLines {
		if !slices.Contains(wantLines, line) {
			t.Errorf("unexpected: %s", line)
			reported = true
		}
	}
	if !reported {
		t.Errorf("exposition has the expected lines in another order\n--- got\n%s\n--- want\n%s", gotText, wantText)
	}
}

// normalizedText writes families as text exposition sorted by family name,
// with the samples of each family sorted by their labels.
func normalizedText(t *testing.T, families []*dto.MetricFamily) string {
	t.Helper()
	families = slices.Clone(families)
	slices.SortFunc(families, func(a, b *dto.MetricFamily) int { return cmp.Compare(a.GetName(), b.GetName()) })

	var buf bytes.Buffer
	for _, mf := range families {
		for _, m := range mf.GetMetric() {
			slices.SortFunc(m.Label, func(a, b *dto.LabelPair) int { return cmp.Compare(a.GetName(), b.GetName()) })
		}
		slices.SortFunc(mf.Metric, func(a, b *dto.Metric) int {
			return cmp.Compare(seriesKey(mf.GetName(), a.GetLabel()), seriesKey(mf.GetName(), b.GetLabel()))
		})
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatalf("writing family %s as text: %v", mf.GetName(), err)
		}
	}
	return buf.String()
}

// countSeries returns the number of series of the named families in g.
func countSeries(t *testing.T, g prometheus.Gatherer, names ...string) int {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	n := 0
	for _, mf := range families {
		if slices.Contains(names, mf.GetName()) {
			n += len(mf.GetMetric())
		}
	}
	return n
}
