// Package cycle runs one analysis cycle: observe the window, enrich its
// public addresses, score them in their direction, and build the report.
// The one-shot report command and the scheduler of the service share it.
package cycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/ports"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/scoring"
	"github.com/threat-intel/threat-intel/internal/source"
)

// Enricher looks each address up with the threat-intelligence providers. It never fails as a whole: a provider that fails is recorded in
// each lookup's status.
type Enricher interface {
	Enrich(ctx context.Context, addrs []netip.Addr) map[netip.Addr]intel.Lookup
}

// Narrator writes the analyst's narrative of a finished report. It never
// fails: a model that fails is replaced by a deterministic text.
type Narrator interface {
	Narrate(ctx context.Context, r report.Report) report.Narrative
}

// Runner holds what a cycle needs. Enricher may be nil: every address is
// then scored with no provider answer.
type Runner struct {
	Source     source.Source
	SourceName string
	Enricher   Enricher
	Narrator   Narrator // nil leaves the narrative unavailable
	Scorer     *scoring.Scorer
	Catalog    *ports.Catalog
	Lookback   time.Duration
	TopPorts   int
	Now        func() time.Time
	Log        *slog.Logger
}

// Result is a finished cycle.
type Result struct {
	Report      report.Report
	Observation source.Observation
	Lookups     map[netip.Addr]intel.Lookup
}

// Run observes the window ending at until (zero: the source's newest event
// or now), enriches and scores its addresses and builds the report. A
// source error fails the cycle; provider errors only degrade the intel.
func (r *Runner) Run(ctx context.Context, until time.Time) (Result, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	started := now()

	obs, err := r.Source.Observe(ctx, until, r.Lookback)
	var partial source.PartialError
	switch {
	case err == nil:
	case errors.As(err, &partial) && partial.Partial():
		r.logger().Warn("some inputs could not be read; reporting the rest", "source", r.SourceName, "err", err)
	default:
		return Result{Observation: obs}, fmt.Errorf("observing %s: %w", r.SourceName, err)
	}

	addrs := Addresses(obs)
	var lookups map[netip.Addr]intel.Lookup
	if r.Enricher != nil && len(addrs) > 0 {
		// Provider pacing can stretch this step to minutes, so log its start.
		r.logger().Info("enriching addresses", "addresses", len(addrs))
		lookups = r.Enricher.Enrich(ctx, addrs)
	}
	if err := ctx.Err(); err != nil {
		return Result{Observation: obs}, fmt.Errorf("enriching: %w", err)
	}

	blocked := make(map[netip.Addr]intel.Intel, len(obs.Blocked))
	for _, b := range obs.Blocked {
		blocked[b.Addr] = r.Scorer.Score(lookupFor(lookups, b.Addr), scoring.Inbound)
	}
	outbound := make(map[netip.Addr]intel.Intel, len(obs.Outbound))
	for _, o := range obs.Outbound {
		outbound[o.Addr] = r.Scorer.Score(lookupFor(lookups, o.Addr), scoring.Outbound)
	}

	rep := report.Build(report.Input{
		Observation:   obs,
		LookbackHours: int(r.Lookback / time.Hour),
		GeneratedAt:   started,
		BlockedIntel:  blocked,
		OutboundIntel: outbound,
		Catalog:       r.Catalog,
		Source:        r.SourceName,
		TopPorts:      r.TopPorts,
	})
	// The narrative comes last, after the source returned its observation,
	// so a failed cycle never spends model tokens.
	if r.Narrator != nil {
		rep.Narrative = r.Narrator.Narrate(ctx, rep)
	}
	r.logger().Info("cycle finished",
		"source", r.SourceName,
		"blocked", len(obs.Blocked),
		"outbound", len(obs.Outbound),
		"ports", len(obs.Ports),
		"risk", rep.Summary.OverallRiskLevel,
		"duration_seconds", now().Sub(started).Seconds())
	return Result{Report: rep, Observation: obs, Lookups: lookups}, nil
}

// Addresses returns the distinct addresses of the observation that are
// enriched: the blocked sources, then the outbound destinations.
func Addresses(obs source.Observation) []netip.Addr {
	seen := make(map[netip.Addr]bool, len(obs.Blocked)+len(obs.Outbound))
	out := make([]netip.Addr, 0, len(obs.Blocked)+len(obs.Outbound))
	add := func(a netip.Addr) {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	for _, b := range obs.Blocked {
		add(b.Addr)
	}
	for _, o := range obs.Outbound {
		add(o.Addr)
	}
	return out
}

// lookupFor returns the lookup of a, or an empty one when the address was
// not enriched, so scoring still fills the record's identity.
func lookupFor(lookups map[netip.Addr]intel.Lookup, a netip.Addr) intel.Lookup {
	if l, ok := lookups[a]; ok {
		return l
	}
	return intel.Lookup{Addr: a, Status: map[intel.Provider]intel.Status{}}
}

func (r *Runner) logger() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.New(slog.DiscardHandler)
}
