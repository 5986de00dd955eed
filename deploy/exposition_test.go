package deploy

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"

	"github.com/threat-intel/threat-intel/internal/api/apitest"
	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/metrics"
	"github.com/threat-intel/threat-intel/internal/service"
)

// recordingRegisterer registers on a registry and keeps the collectors, so
// that the descriptors of vectors without series yet can be read too.
type recordingRegisterer struct {
	reg        *prometheus.Registry
	collectors []prometheus.Collector
}

func (r *recordingRegisterer) Register(c prometheus.Collector) error {
	if err := r.reg.Register(c); err != nil {
		return err
	}
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *recordingRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

func (r *recordingRegisterer) Unregister(c prometheus.Collector) bool {
	return r.reg.Unregister(c)
}

// seriesLabels maps each series name of /metrics to its label names, and
// each label name to the values the fixture report gives it. A label known
// only from a descriptor has no values.
type seriesLabels map[string]map[string]map[string]bool

// exposedSeries returns the series names of /metrics with their labels. It
// registers what `serve` registers, from the same constructors:
// the Go and process collectors, the pipeline with the enrichment engine,
// the service metrics with the fixture report of the API tests, and the
// narrative. Vectors that have no series yet, such as the provider budget
// gauge before the first request, count with the labels of their
// descriptors.
func exposedSeries(t *testing.T) seriesLabels {
	t.Helper()
	ctx := context.Background()
	cfg, err := config.Register(flag.NewFlagSet("test", flag.ContinueOnError)).Load([]string{"DATA_DIR=" + t.TempDir()}, "")
	if err != nil {
		t.Fatal(err)
	}

	rec := &recordingRegisterer{reg: prometheus.NewRegistry()}
	rec.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	p, err := service.OpenPipeline(ctx, service.PipelineOptions{Config: cfg, Registerer: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	m, err := metrics.New(rec, metrics.Options{SkipReasons: filterlog.SkipReasons(), Sources: []string{"filterlog"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := service.NewNarrator(cfg, slog.New(slog.DiscardHandler), rec); err != nil {
		t.Fatal(err)
	}
	r := apitest.Report()
	m.SetReport(&r)
	m.ObserveCycle(time.Second, nil, len(r.BlockedIPs)+len(r.OutboundIPs), 1)

	gathered, err := rec.reg.Gather()
	if err != nil {
		t.Fatalf("gathering the metrics: %v", err)
	}
	out := seriesLabels{}
	add := func(name string, labels map[string]map[string]bool, extra ...string) {
		set := map[string]map[string]bool{}
		for l, values := range labels {
			set[l] = values
		}
		for _, l := range extra {
			set[l] = map[string]bool{}
		}
		out[name] = set
	}
	families := map[string]bool{}
	for _, mf := range gathered {
		labels := map[string]map[string]bool{}
		for _, metric := range mf.GetMetric() {
			for _, lp := range metric.GetLabel() {
				if labels[lp.GetName()] == nil {
					labels[lp.GetName()] = map[string]bool{}
				}
				labels[lp.GetName()][lp.GetValue()] = true
			}
		}
		name := mf.GetName()
		families[name] = true
		switch mf.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			add(name+"_bucket", labels, "le")
			add(name+"_sum", labels)
			add(name+"_count", labels)
		case dto.MetricType_SUMMARY:
			add(name, labels, "quantile")
			add(name+"_sum", labels)
			add(name+"_count", labels)
		default:
			add(name, labels)
		}
	}

	// A vector without series is not gathered, so its name and labels
	// come from its descriptor. The descriptor does not tell a histogram
	// from a gauge, which is why only names not gathered are added.
	for _, c := range rec.collectors {
		ch := make(chan *prometheus.Desc)
		go func() {
			c.Describe(ch)
			close(ch)
		}()
		for d := range ch {
			name, labels, err := parseDesc(d.String())
			if err != nil {
				t.Fatal(err)
			}
			if families[name] {
				continue
			}
			set := map[string]map[string]bool{}
			for _, l := range labels {
				set[l] = map[string]bool{}
			}
			out[name] = set
		}
	}

	// Guard the builder itself: these series must be there, or the checks
	// that use the result would pass for the wrong reason.
	for name, label := range map[string]string{
		"threat_intel_ip_score":                   "classification",
		"threat_intel_port_event_count":           "port_service",
		"threat_intel_provider_requests_total":    "outcome",
		"threat_intel_provider_budget_remaining":  "provider",
		"threat_intel_narrative_tokens_total":     "direction",
		"threat_intel_cycle_duration_seconds_sum": "",
	} {
		labels, ok := out[name]
		if !ok {
			t.Fatalf("the assembled /metrics lacks %s", name)
		}
		if _, ok := labels[label]; label != "" && !ok {
			t.Fatalf("the assembled /metrics has %s without its label %q", name, label)
		}
	}
	return out
}

// parseDesc reads the metric name and the constant and variable label
// names out of prometheus.Desc.String(), which client_golang formats as
// Desc{fqName: "…", help: "…", [unit: "…",] constLabels: {a="…"}, variableLabels: {b,c(d)}}.
// client_golang exports no accessor for them.
func parseDesc(s string) (string, []string, error) {
	fail := func(part string) (string, []string, error) {
		return "", nil, fmt.Errorf("reading %s of the descriptor %s: the format of prometheus.Desc.String() changed", part, s)
	}

	rest, ok := strings.CutPrefix(s, `Desc{fqName: `)
	if !ok {
		return fail("the name")
	}
	quoted, err := strconv.QuotedPrefix(rest)
	if err != nil {
		return fail("the name")
	}
	name, _ := strconv.Unquote(quoted)
	rest = rest[len(quoted):]

	for _, field := range []string{", help: ", ", unit: "} {
		var found bool
		if rest, found = strings.CutPrefix(rest, field); !found {
			continue
		}
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return fail(strings.Trim(field, ", :"))
		}
		rest = rest[len(q):]
	}

	var labels []string
	if rest, ok = strings.CutPrefix(rest, ", constLabels: {"); !ok {
		return fail("the constant labels")
	}
	for !strings.HasPrefix(rest, "}") {
		rest = strings.TrimPrefix(rest, ",")
		label, value, ok := strings.Cut(rest, "=")
		if !ok {
			return fail("the constant labels")
		}
		q, err := strconv.QuotedPrefix(value)
		if err != nil {
			return fail("the constant labels")
		}
		labels = append(labels, label)
		rest = value[len(q):]
	}
	rest = rest[1:]

	variable, ok := strings.CutPrefix(rest, ", variableLabels: {")
	if !ok || !strings.HasSuffix(variable, "}}") {
		return fail("the variable labels")
	}
	variable = strings.TrimSuffix(variable, "}}")
	if variable != "" {
		for _, l := range strings.Split(variable, ",") {
			// A label with a constraint prints as c(name).
			l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")")
			labels = append(labels, l)
		}
	}
	return name, labels, nil
}

func TestParseDesc(t *testing.T) {
	vec := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name:        "example_total",
		Help:        `help with "quotes", braces {} and = signs`,
		ConstLabels: prometheus.Labels{"zone": `a,b="c"}`},
	}, []string{"provider", "outcome"})
	ch := make(chan *prometheus.Desc, 1)
	vec.Describe(ch)
	name, labels, err := parseDesc((<-ch).String())
	if err != nil {
		t.Fatal(err)
	}
	if name != "example_total" {
		t.Errorf("name = %q, want example_total", name)
	}
	if want := []string{"zone", "provider", "outcome"}; strings.Join(labels, " ") != strings.Join(want, " ") {
		t.Errorf("labels = %v, want %v", labels, want)
	}

	if _, _, err := parseDesc("Desc{name: x}"); err == nil {
		t.Error("parseDesc accepted a string in another format")
	}
}

// scrapeConfig is the part of the scrape configuration the tests read.
type scrapeConfig struct {
	Global struct {
		ScrapeInterval string `yaml:"scrape_interval"`
	} `yaml:"global"`
	ScrapeConfigs []struct {
		JobName        string `yaml:"job_name"`
		MetricsPath    string `yaml:"metrics_path"`
		ScrapeInterval string `yaml:"scrape_interval"`
		StaticConfigs  []struct {
			Targets []string          `yaml:"targets"`
			Labels  map[string]string `yaml:"labels"`
		} `yaml:"static_configs"`
	} `yaml:"scrape_configs"`
}

// scrapeTargetLabels returns the labels the scrape of threat-intel adds to
// every series: job, instance and the static labels of its targets.
func scrapeTargetLabels(t *testing.T) map[string]bool {
	t.Helper()
	var cfg scrapeConfig
	readYAML(t, scrapeFile, &cfg)
	out := map[string]bool{"job": true, "instance": true}
	for _, job := range cfg.ScrapeConfigs {
		if job.JobName != "threat-intel" {
			continue
		}
		for _, sc := range job.StaticConfigs {
			for l := range sc.Labels {
				out[l] = true
			}
		}
		return out
	}
	t.Fatalf("%s has no job threat-intel", scrapeFile)
	return nil
}

// listenPort returns the port of a host:port listen address.
func listenPort(t *testing.T, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("invalid listen address %q: %v", addr, err)
	}
	return port
}
