package cycle

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/scoring"
	"github.com/threat-intel/threat-intel/internal/source"
)

type fakeSource struct {
	obs source.Observation
	err error
}

func (f fakeSource) Observe(context.Context, time.Time, time.Duration) (source.Observation, error) {
	return f.obs, f.err
}

type partialErr struct{ partial bool }

func (e partialErr) Error() string { return "one input failed" }
func (e partialErr) Partial() bool { return e.partial }

// recordingEnricher answers every address with an OTX result of 5 pulses
// and remembers what it was asked.
type recordingEnricher struct{ asked []netip.Addr }

func (r *recordingEnricher) Enrich(_ context.Context, addrs []netip.Addr) map[netip.Addr]intel.Lookup {
	r.asked = append(r.asked, addrs...)
	out := map[netip.Addr]intel.Lookup{}
	for _, a := range addrs {
		out[a] = intel.Lookup{Addr: a, Status: map[intel.Provider]intel.Status{intel.OTX: intel.StatusOK},
			OTX: &intel.OTXResult{PulseCount: 5}}
	}
	return out
}

var (
	attacker = netip.MustParseAddr("203.0.113.9")
	both     = netip.MustParseAddr("198.51.100.20")
	server   = netip.MustParseAddr("192.0.2.80")
)

func observation() source.Observation {
	return source.Observation{
		Blocked:         []source.AddrCount{{Addr: attacker, Count: 40}, {Addr: both, Count: 3}},
		DistinctBlocked: 2,
		Outbound:        []source.Outbound{{Addr: both, Count: 7}, {Addr: server, Count: 2}},
	}
}

// countingNarrator counts the narratives it is asked for.
type countingNarrator struct{ calls int }

func (n *countingNarrator) Narrate(_ context.Context, r report.Report) report.Narrative {
	n.calls++
	return report.Narrative{Available: true, Provider: "test", RiskLevel: r.Summary.OverallRiskLevel}
}

func newRunner(t *testing.T, src source.Source, e Enricher) *Runner {
	t.Helper()
	scorer, err := scoring.New(scoring.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	return &Runner{Source: src, SourceName: "test", Enricher: e, Scorer: scorer, Lookback: time.Hour,
		Now: func() time.Time { return time.Date(2026, 11, 20, 15, 0, 0, 0, time.UTC) }}
}

func TestRunScoresEachDirection(t *testing.T) {
	e := &recordingEnricher{}
	res, err := newRunner(t, fakeSource{obs: observation()}, e).Run(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Addr{attacker, both, server}; !slices.Equal(e.asked, want) {
		t.Errorf("enriched %v, want each address once: %v", e.asked, want)
	}

	// 5 OTX pulses score 7.5: below the inbound threshold of 25, above the
	// outbound rule of more than 2 pulses.
	var inbound, outbound bool
	for _, b := range res.Report.BlockedIPs {
		if b.IP == both.String() {
			inbound = b.Intel.IsKnownBadActor
		}
	}
	for _, o := range res.Report.OutboundIPs {
		if o.IP == both.String() {
			outbound = o.Intel.IsKnownBadActor
		}
	}
	if inbound || !outbound {
		t.Errorf("%s: inbound bad actor %v, outbound %v; want false and true", both, inbound, outbound)
	}
	if got := res.Report.GeneratedAt; got != "2026-11-20T15:00:00Z" {
		t.Errorf("generated_at = %q", got)
	}
}

func TestRunSourceErrors(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"failed source fails the cycle", errors.New("connection refused"), true},
		{"partial read is reported", partialErr{partial: true}, false},
		{"partial error with nothing read fails", partialErr{partial: false}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &recordingEnricher{}
			n := &countingNarrator{}
			r := newRunner(t, fakeSource{obs: observation(), err: tt.err}, e)
			r.Narrator = n
			res, err := r.Run(context.Background(), time.Time{})
			if (err != nil) != tt.wantErr {
				t.Fatalf("error = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr && len(e.asked) != 0 {
				t.Errorf("a failed cycle enriched %d addresses", len(e.asked))
			}
			if tt.wantErr && n.calls != 0 {
				t.Errorf("a failed cycle asked for %d narratives, want none: no tokens on a failed cycle", n.calls)
			}
			if !tt.wantErr && (n.calls != 1 || !res.Report.Narrative.Available) {
				t.Errorf("narratives asked %d, narrative %+v; want one, in the report", n.calls, res.Report.Narrative)
			}
			if !tt.wantErr && len(res.Report.BlockedIPs) != 2 {
				t.Errorf("partial cycle reported %d blocked addresses, want 2", len(res.Report.BlockedIPs))
			}
		})
	}
}

func TestRunWithoutEnricher(t *testing.T) {
	res, err := newRunner(t, fakeSource{obs: observation()}, nil).Run(context.Background(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Report.Summary.TotalBlockedIPs != 2 || res.Report.BlockedIPs[0].Intel.ThreatLevel != "none" {
		t.Errorf("summary %+v, first intel %+v", res.Report.Summary, res.Report.BlockedIPs[0].Intel)
	}
}
