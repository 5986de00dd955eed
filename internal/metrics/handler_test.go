package metrics

import (
	"bytes"
	"errors"
	"log/slog"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
)

// oddOrg is an organisation name with every character the text format
// escapes, non-ASCII letters and a byte that is not UTF-8.
const oddOrg = "Ünïcødé \"Quoted\" Org\nsecond line \\ backslash \xff 東京"

// busyMetrics returns Metrics with the fixture report, an address with
// odd label values and a value in every service series.
func busyMetrics(t *testing.T) (*Metrics, *prometheus.Registry) {
	t.Helper()
	m, reg := newTestMetrics(t)

	r := fixtureReport()
	r.BlockedIPs = append(r.BlockedIPs, report.AddressRow{
		IP: "2001:db8::beef", Count: 3, Direction: "in", Action: "block",
		Intel: intel.Intel{Country: "C\"I", Org: oddOrg, Classification: "unknown", Providers: answeredAll()},
	})
	r.PortAnalysis.TopBlockedPorts = append(r.PortAnalysis.TopBlockedPorts,
		report.PortRow{Port: 8443, Protocol: "tcp", Service: "HTTPS \"alt\"\n", RiskLevel: "medium", Count: 1})
	m.SetReport(r)

	m.ObserveCycle(42*time.Second, nil, 70, 12)
	m.ObserveCycle(time.Second, errors.New("observing filterlog: no input"), 0, 0)
	m.AddLines(map[string]uint64{OutcomeParsed: 1000, "bad_header": 3})
	m.ObserveSourceQuery("filterlog", 300*time.Millisecond, nil)
	return m, reg
}

// referenceFamilies are the metric names that the dashboards of the Python
// service query.
var referenceFamilies = []string{
	"threat_intel_ip_score",
	"threat_intel_ip_event_count",
	"threat_intel_abuseipdb_score",
	"threat_intel_otx_pulses",
	"threat_intel_greynoise_classification",
	"threat_intel_known_bad_actor",
	"threat_intel_port_event_count",
	"threat_intel_enrichment_last_success_timestamp",
	"threat_intel_enrichment_ips_processed_total",
	"threat_intel_cache_hits_total",
}

func TestNoReservedLabelNames(t *testing.T) {
	_, reg := busyMetrics(t)
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}

	// A scrape job's target labels overwrite metric labels of these names.
	reserved := []string{"service", "job", "instance"}
	seen := make(map[string]bool)
	for _, mf := range families {
		seen[mf.GetName()] = true
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if slices.Contains(reserved, l.GetName()) {
					t.Errorf("family %s has a label named %q", mf.GetName(), l.GetName())
				}
			}
		}
	}
	for _, name := range referenceFamilies {
		if !seen[name] {
			t.Errorf("family %s missing, so its labels were not checked", name)
		}
	}
}

func TestLabelValuesEscaped(t *testing.T) {
	_, reg := busyMetrics(t)
	families := parseExposition(t, scrape(t, reg))

	wantOrg := strings.ToValidUTF8(oddOrg, "\uFFFD")
	score := findSeries(t, families["threat_intel_ip_score"], "ip", "2001:db8::beef")
	if got := labelOf(score, "org"); got != wantOrg {
		t.Errorf("org label = %q, want %q", got, wantOrg)
	}
	if got := labelOf(score, "country"); got != "C\"I" {
		t.Errorf("country label = %q, want %q", got, "C\"I")
	}

	port := findSeries(t, families["threat_intel_port_event_count"], "port", "8443")
	if got := labelOf(port, "port_service"); got != "HTTPS \"alt\"\n" {
		t.Errorf("port_service label = %q, want %q", got, "HTTPS \"alt\"\n")
	}
}

func TestPromtoolCheckMetrics(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatalf("promtool not found (%v): install the Debian package prometheus (apt-get install prometheus), which provides /usr/bin/promtool", err)
	}
	_, reg := busyMetrics(t)
	body := scrape(t, reg)

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	var output bytes.Buffer
	cmd.Stdout = &output
	cmd.Stderr = &output
	runErr := cmd.Run()

	// promtool exits 3 when it finds lint problems and another non-zero code
	// when the input does not parse.
	var exitErr *exec.ExitError
	if runErr != nil && (!errors.As(runErr, &exitErr) || exitErr.ExitCode() != 3) {
		t.Fatalf("promtool check metrics: %v\n%s", runErr, output.String())
	}

	// Both names are those of the Python service, and dashboards query
	// them, so they keep the "_count" suffix that promtool reserves for
	// histograms and summaries.
	allowed := []string{
		`threat_intel_ip_event_count non-histogram and non-summary metrics should not have "_count" suffix`,
		`threat_intel_port_event_count non-histogram and non-summary metrics should not have "_count" suffix`,
	}
	for _, line := range strings.Split(strings.TrimSpace(output.String()), "\n") {
		if line != "" && !slices.Contains(allowed, line) {
			t.Errorf("promtool: %s", line)
		}
	}
}

// failingCollector sends one good gauge and one invalid metric.
type failingCollector struct {
	good *prometheus.Desc
	bad  *prometheus.Desc
}

func (c failingCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.good
	ch <- c.bad
}

func (c failingCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(c.good, prometheus.GaugeValue, 1)
	ch <- prometheus.NewInvalidMetric(c.bad, errors.New("reading the test value failed"))
}

func TestHandlerContinuesOnCollectorError(t *testing.T) {
	_, reg := newTestMetrics(t)
	reg.MustRegister(failingCollector{
		good: prometheus.NewDesc("test_good", "A gauge that collects.", nil, nil),
		bad:  prometheus.NewDesc("test_bad", "A gauge that fails.", nil, nil),
	})
	var logs bytes.Buffer
	handler := Handler(reg, slog.New(slog.NewTextHandler(&logs, nil)))

	body := serve(t, handler)

	families := parseExposition(t, body)
	for _, name := range []string{"test_good", "threat_intel_cycles_total"} {
		if _, ok := families[name]; !ok {
			t.Errorf("family %s missing from the partial scrape", name)
		}
	}
	if _, ok := families["test_bad"]; ok {
		t.Error("family test_bad served despite its error")
	}
	if !strings.Contains(logs.String(), "serving metrics failed") || !strings.Contains(logs.String(), "reading the test value failed") {
		t.Errorf("log %q lacks the failure and its cause", logs.String())
	}
}

func TestHandlerNilLogger(t *testing.T) {
	_, reg := newTestMetrics(t)
	reg.MustRegister(failingCollector{
		good: prometheus.NewDesc("test_good", "A gauge that collects.", nil, nil),
		bad:  prometheus.NewDesc("test_bad", "A gauge that fails.", nil, nil),
	})

	body := serve(t, Handler(reg, nil))
	if !bytes.Contains(body, []byte("test_good 1")) {
		t.Errorf("body lacks test_good 1:\n%s", body)
	}
}

func TestErrorLogRepeats(t *testing.T) {
	var logs bytes.Buffer
	now := fixedNow
	l := newErrorLog(slog.New(slog.NewTextHandler(&logs, nil)), func() time.Time { return now })

	l.Println("error gathering metrics:", "A")
	l.Println("error gathering metrics:", "A") // within the interval: left out
	now = now.Add(time.Minute)
	l.Println("error gathering metrics:", "A") // left out
	now = now.Add(repeatInterval)
	l.Println("error gathering metrics:", "A") // logged with 2 repeats
	l.Println("error gathering metrics:", "B") // a new error: logged at once

	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("logged %d lines, want 3:\n%s", len(lines), logs.String())
	}
	wants := []string{
		`err="error gathering metrics: A" repeats_not_logged=0`,
		`err="error gathering metrics: A" repeats_not_logged=2`,
		`err="error gathering metrics: B" repeats_not_logged=0`,
	}
	for i, want := range wants {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want it to contain %q", i+1, lines[i], want)
		}
	}
}

func TestScrapeDuringSetReport(t *testing.T) {
	m, reg := newTestMetrics(t)
	reports := []*report.Report{fixtureReport(), nil, {BlockedIPs: fixtureReport().BlockedIPs[:1]}}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			m.SetReport(reports[i%len(reports)])
			m.ObserveCycle(time.Second, nil, 1, 1)
			m.AddLines(map[string]uint64{OutcomeParsed: 1})
			m.ObserveSourceQuery("filterlog", time.Millisecond, nil)
		}
	}()

	for range 200 {
		if _, err := reg.Gather(); err != nil {
			t.Errorf("Gather during SetReport: %v", err)
			break
		}
	}
	close(stop)
	wg.Wait()
}

// findSeries returns the metric of mf whose label name has value, failing
// the test when there is none.
func findSeries(t *testing.T, mf *dto.MetricFamily, name, value string) *dto.Metric {
	t.Helper()
	if mf == nil {
		t.Fatalf("family missing, so no series with %s=%q", name, value)
	}
	for _, m := range mf.GetMetric() {
		if labelOf(m, name) == value {
			return m
		}
	}
	t.Fatalf("family %s has no series with %s=%q", mf.GetName(), name, value)
	return nil
}

func labelOf(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
