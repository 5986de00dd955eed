package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/filterlog"
)

// serviceCounterNames are the service families without buckets.
var serviceCounterNames = []string{
	"threat_intel_enrichment_last_success_timestamp",
	"threat_intel_enrichment_ips_processed_total",
	"threat_intel_cache_hits_total",
	"threat_intel_cycles_total",
	"threat_intel_parser_lines_total",
	"threat_intel_source_errors_total",
}

func TestNewNilRegisterer(t *testing.T) {
	m, err := New(nil, Options{})
	if err == nil {
		t.Fatal("New(nil) returned no error")
	}
	if m != nil {
		t.Errorf("New(nil) returned %v, want nil", m)
	}
	if !strings.Contains(err.Error(), "nil registerer") {
		t.Errorf("error %q does not name the nil registerer", err)
	}
}

func TestNewTwiceOnOneRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg, Options{}); err != nil {
		t.Fatalf("first New: %v", err)
	}

	_, err := New(reg, Options{})
	if err == nil {
		t.Fatal("second New on the same registry returned no error")
	}
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		t.Errorf("error %v does not wrap prometheus.AlreadyRegisteredError", err)
	}
}

func TestNewSeriesStartAtZero(t *testing.T) {
	_, reg := newTestMetrics(t)

	want := `
# HELP threat_intel_cache_hits_total Provider lookups answered from the cache, over all providers.
# TYPE threat_intel_cache_hits_total counter
threat_intel_cache_hits_total 0
# HELP threat_intel_cycles_total Cycles run, by outcome: success or failure.
# TYPE threat_intel_cycles_total counter
threat_intel_cycles_total{outcome="failure"} 0
threat_intel_cycles_total{outcome="success"} 0
# HELP threat_intel_enrichment_ips_processed_total Addresses enriched by the cycles.
# TYPE threat_intel_enrichment_ips_processed_total counter
threat_intel_enrichment_ips_processed_total 0
# HELP threat_intel_enrichment_last_success_timestamp Time the last successful cycle ended, in seconds since the Unix epoch. 0 before the first success.
# TYPE threat_intel_enrichment_last_success_timestamp gauge
threat_intel_enrichment_last_success_timestamp 0
# HELP threat_intel_parser_lines_total Firewall log lines read, by outcome: parsed or the reason the line was skipped.
# TYPE threat_intel_parser_lines_total counter
threat_intel_parser_lines_total{outcome="bad_header"} 0
threat_intel_parser_lines_total{outcome="parsed"} 0
threat_intel_parser_lines_total{outcome="too_long"} 0
# HELP threat_intel_source_errors_total Failed queries to the event sources.
# TYPE threat_intel_source_errors_total counter
threat_intel_source_errors_total{source="filterlog"} 0
`
	compareExposition(t, reg, want, serviceCounterNames...)

	if n := countSeries(t, reg, "threat_intel_cycle_duration_seconds"); n != 1 {
		t.Errorf("cycle duration series = %d, want 1", n)
	}
	if n := countSeries(t, reg, "threat_intel_source_query_duration_seconds"); n != 1 {
		t.Errorf("source query duration series = %d, want 1 for filterlog", n)
	}
}

func TestNewParserReasonsAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg, Options{SkipReasons: filterlog.SkipReasons()}); err != nil {
		t.Fatalf("New: %v", err)
	}
	series := gatherSeries(t, reg)

	reasons := filterlog.SkipReasons()
	if len(reasons) == 0 {
		t.Fatal("filterlog.SkipReasons() is empty, so this check proves nothing")
	}
	for _, outcome := range append(reasons, OutcomeParsed) {
		key := `threat_intel_parser_lines_total{outcome="` + outcome + `"}`
		got, ok := series[key]
		if !ok {
			t.Errorf("series %s missing", key)
			continue
		}
		if got != 0 {
			t.Errorf("series %s = %v, want 0", key, got)
		}
	}
}

func TestObserveCycle(t *testing.T) {
	m, reg := newTestMetrics(t)

	m.ObserveCycle(90*time.Second, nil, 70, 40)
	m.ObserveCycle(3*time.Second, errors.New("observing filterlog: no input"), 5, 1)
	m.ObserveCycle(time.Second, errors.New("enriching: context canceled"), -1, -2)
	series := gatherSeries(t, reg)

	checks := []struct {
		key  string
		want float64
	}{
		{`threat_intel_cycles_total{outcome="success"}`, 1},
		{`threat_intel_cycles_total{outcome="failure"}`, 2},
		{`threat_intel_enrichment_ips_processed_total{}`, 75},
		{`threat_intel_cache_hits_total{}`, 41},
		// Only the successful cycle sets the time, to the clock of newTestMetrics.
		{`threat_intel_enrichment_last_success_timestamp{}`, float64(fixedNow.Unix())},
		{`threat_intel_cycle_duration_seconds{}`, 3}, // sample count
	}
	for _, c := range checks {
		got, ok := series[c.key]
		if !ok {
			t.Errorf("series %s missing", c.key)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", c.key, got, c.want)
		}
	}
}

func TestObserveCycleDurationSum(t *testing.T) {
	m, reg := newTestMetrics(t)
	m.ObserveCycle(90*time.Second, nil, 0, 0)
	m.ObserveCycle(1500*time.Millisecond, errors.New("observing filterlog: no input"), 0, 0)

	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range families {
		if mf.GetName() != "threat_intel_cycle_duration_seconds" {
			continue
		}
		h := mf.GetMetric()[0].GetHistogram()
		if got := h.GetSampleSum(); got != 91.5 {
			t.Errorf("sample sum = %v, want 91.5 seconds", got)
		}
		return
	}
	t.Fatal("threat_intel_cycle_duration_seconds missing")
}

func TestAddLines(t *testing.T) {
	m, reg := newTestMetrics(t)

	lines := map[string]uint64{OutcomeParsed: 10, "bad_header": 2, "error": 1}
	m.AddLines(lines)
	m.AddLines(lines)
	m.AddLines(nil)
	series := gatherSeries(t, reg)

	checks := []struct {
		outcome string
		want    float64
	}{
		{OutcomeParsed, 20},
		{"bad_header", 4},
		{"too_long", 0},
		{"error", 2}, // not created up front, appears with its first line
	}
	for _, c := range checks {
		key := `threat_intel_parser_lines_total{outcome="` + c.outcome + `"}`
		got, ok := series[key]
		if !ok {
			t.Errorf("series %s missing", key)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", key, got, c.want)
		}
	}
}

func TestObserveSourceQuery(t *testing.T) {
	m, reg := newTestMetrics(t)

	m.ObserveSourceQuery("filterlog", 2*time.Second, nil)
	m.ObserveSourceQuery("filterlog", time.Second, errors.New("reading /var/log/filter.log: permission denied"))
	m.ObserveSourceQuery("loki", 100*time.Millisecond, errors.New("querying loki: HTTP 502"))
	m.ObserveSourceQuery("bad\xffname", time.Millisecond, errors.New("failed"))
	series := gatherSeries(t, reg)

	checks := []struct {
		key  string
		want float64
	}{
		{`threat_intel_source_errors_total{source="filterlog"}`, 1},
		{`threat_intel_source_errors_total{source="loki"}`, 1},
		{`threat_intel_source_errors_total{source="bad` + "\uFFFD" + `name"}`, 1},
		{`threat_intel_source_query_duration_seconds{source="filterlog"}`, 2}, // sample count
		{`threat_intel_source_query_duration_seconds{source="loki"}`, 1},
	}
	for _, c := range checks {
		got, ok := series[c.key]
		if !ok {
			t.Errorf("series %s missing", c.key)
			continue
		}
		if got != c.want {
			t.Errorf("%s = %v, want %v", c.key, got, c.want)
		}
	}
}
