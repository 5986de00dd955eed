package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/cycle"
	"github.com/threat-intel/threat-intel/internal/filterlog"

	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/service"
	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/source/filelog"
	"github.com/threat-intel/threat-intel/internal/source/stack"
	"github.com/threat-intel/threat-intel/internal/window"
)

func reportFlags(fs *flag.FlagSet, c *invocation) {
	fs.BoolVar(&c.json, "json", false, "print the /api/report JSON body instead of tables")
	fs.StringVar(&c.until, "until", "", "end of the report window, RFC 3339 (e.g. 2026-11-20T15:00:00Z); default: the newest event in the input")
}

func runReport(ctx context.Context, c *invocation) int {
	until, err := parseUntil(c.until)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel report: %v\n", err)
		return exitUsage
	}
	src, name, err := c.cycleSource()
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel report: %v\n", err)
		return exitUsage
	}
	runner, p, err := c.newRunner(ctx, src, name)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel report: %v\n", err)
		return exitFail
	}
	defer p.Close()

	res, err := runner.Run(ctx, until)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel report: %v\n", err)
		return exitFail
	}

	if c.json {
		enc := json.NewEncoder(c.env.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		err = enc.Encode(res.Report)
	} else {
		err = report.WriteText(c.env.Stdout, res.Report, report.TextOptions{})
	}
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel report: writing the report: %v\n", err)
		return exitFail
	}
	return exitOK
}

func parseUntil(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid --until %q: want an RFC 3339 time such as 2026-11-20T15:00:00Z", s)
	}
	return t, nil
}

// cycleSource returns the event source of a one-shot cycle: the log files
// given, or else VictoriaMetrics and Loki when VICTORIAMETRICS_URL is set.
func (c *invocation) cycleSource() (source.Source, string, error) {
	if len(c.cfg.FilterlogPaths)+len(c.args) == 0 && c.cfg.VictoriaMetricsURL != "" {
		src, err := service.NewStackSource(c.cfg, nil)
		return src, stack.BackendMetrics, err
	}
	src, err := c.fileSource()
	return src, "filterlog", err
}

// fileSource returns the built-in log reader over FILTERLOG_PATH and the
// positional arguments.
func (c *invocation) fileSource() (*filelog.Source, error) {
	paths := append(append([]string(nil), c.cfg.FilterlogPaths...), c.args...)
	if len(paths) == 0 {
		return nil, errors.New("no input: pass log files with --filterlog FILE (or set FILTERLOG_PATH; - reads standard input), or set VICTORIAMETRICS_URL")
	}
	return filelog.New(filelog.Options{
		Paths:  paths,
		Parser: filterlog.Options{Location: c.cfg.Location, Now: c.env.Now},
		Window: window.Config{
			Classifier:    netclass.New(c.cfg.OwnPrefixes),
			WANInterfaces: c.cfg.WANInterfaces,
			TopBlocked:    c.cfg.TopBlockedIPs,
			TopOutbound:   c.cfg.TopOutboundIPs,
			MaxTracked:    c.cfg.MaxTracked,
		},
		Stdin: c.env.Stdin,
	})
}

// newRunner assembles a cycle over src from the configuration, with the
// pipeline it opened; the caller closes the pipeline. A store that cannot be
// opened only leaves the providers out: the report is still made.
func (c *invocation) newRunner(ctx context.Context, src source.Source, name string) (*cycle.Runner, *service.Pipeline, error) {
	p, err := service.OpenPipeline(ctx, c.pipelineOptions(true))
	if err != nil {
		return nil, nil, err
	}
	narrator, err := service.NewNarrator(c.cfg, c.log, prometheus.NewRegistry())
	if err != nil {
		p.Close()
		return nil, nil, err
	}
	r := &cycle.Runner{
		Narrator:   narrator,
		Source:     src,
		SourceName: name,
		Scorer:     p.Scorer,
		Catalog:    p.Catalog,
		Lookback:   time.Duration(c.cfg.LookbackHours) * time.Hour,
		TopPorts:   c.cfg.TopPorts,
		Now:        c.env.Now,
		Log:        c.log,
	}
	// A nil *enrich.Engine must not become a non-nil interface value.
	if p.Engine != nil {
		r.Enricher = p.Engine
	}
	return r, p, nil
}
