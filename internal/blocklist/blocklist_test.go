package blocklist_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/blocklist"
	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/scoring"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// badActor returns the intel of a known bad actor with the level of score.
func badActor(ip string, score float64) intel.Intel {
	return intel.Intel{
		IP:                   ip,
		Classification:       scoring.ClassMalicious,
		CompositeScore:       score,
		ThreatLevel:          scoring.Level(score),
		AbuseConfidenceScore: 100,
		PulseCount:           39,
		IsKnownBadActor:      true,
	}
}

func blocked(in intel.Intel) report.AddressRow {
	return report.AddressRow{IP: in.IP, Count: 10, Direction: "in", Action: "block", Intel: in}
}

func outbound(in intel.Intel) report.OutboundRow {
	return report.OutboundRow{
		AddressRow: report.AddressRow{IP: in.IP, Count: 3, Direction: "out", Action: "pass", Intel: in},
		SrcIPs:     []string{"192.168.1.20"},
	}
}

func inboundReport(rows ...intel.Intel) report.Report {
	var r report.Report
	for _, in := range rows {
		r.BlockedIPs = append(r.BlockedIPs, blocked(in))
	}
	return r
}

func newList(t *testing.T, st blocklist.Store, opts blocklist.Options) *blocklist.Blocklist {
	t.Helper()
	b, err := blocklist.New(st, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

func mustUpdate(t *testing.T, b *blocklist.Blocklist, r report.Report, now time.Time) blocklist.Diff {
	t.Helper()
	d, err := b.Update(context.Background(), r, now)
	if err != nil {
		t.Fatalf("Update at %s: %v", now.Format(time.RFC3339), err)
	}
	return d
}

func listed(t *testing.T, b *blocklist.Blocklist, now time.Time) []string {
	t.Helper()
	entries, err := b.Entries(context.Background(), now)
	if err != nil {
		t.Fatalf("Entries at %s: %v", now.Format(time.RFC3339), err)
	}
	return addrsOf(entries)
}

func addrsOf(entries []blocklist.Entry) []string {
	out := []string{}
	for _, e := range entries {
		out = append(out, e.Addr.String())
	}
	return out
}

func removedOf(d blocklist.Diff) map[string]string {
	out := map[string]string{}
	for _, r := range d.Removed {
		out[r.Addr.String()] = r.Reason
	}
	return out
}

func prefixes(t *testing.T, s ...string) []netip.Prefix {
	t.Helper()
	out := make([]netip.Prefix, 0, len(s))
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func TestUpdateListingRule(t *testing.T) {
	t.Parallel()

	withOpts := func(f func(*blocklist.Options)) blocklist.Options {
		o := blocklist.DefaultOptions()
		if f != nil {
			f(&o)
		}
		return o
	}
	tests := []struct {
		name   string
		opts   blocklist.Options
		report report.Report
		want   []string
	}{
		{
			name:   "high inbound bad actor",
			opts:   withOpts(nil),
			report: inboundReport(badActor("203.0.113.10", 60)),
			want:   []string{"203.0.113.10"},
		},
		{
			name:   "critical IPv6 bad actor",
			opts:   withOpts(nil),
			report: inboundReport(badActor("2001:db8::10", 90)),
			want:   []string{"2001:db8::10"},
		},
		{
			name: "outbound command and control",
			opts: withOpts(nil),
			report: report.Report{OutboundIPs: []report.OutboundRow{
				outbound(badActor("198.51.100.20", 55)),
			}},
			want: []string{"198.51.100.20"},
		},
		{
			name:   "private address",
			opts:   withOpts(nil),
			report: inboundReport(badActor("192.168.1.1", 90)),
		},
		{
			name:   "CGNAT address",
			opts:   withOpts(nil),
			report: inboundReport(badActor("100.64.0.1", 90)),
		},
		{
			name:   "loopback address",
			opts:   withOpts(nil),
			report: inboundReport(badActor("127.0.0.1", 90)),
		},
		{
			name:   "unique local IPv6",
			opts:   withOpts(nil),
			report: inboundReport(badActor("fd00::1", 90)),
		},
		{
			name:   "link-local IPv6",
			opts:   withOpts(nil),
			report: inboundReport(badActor("fe80::1", 90)),
		},
		{
			name:   "own prefix",
			opts:   withOpts(func(o *blocklist.Options) { o.OwnPrefixes = prefixes(t, "203.0.113.0/24") }),
			report: inboundReport(badActor("203.0.113.10", 90)),
		},
		{
			name:   "own prefix as IPv4-mapped address",
			opts:   withOpts(func(o *blocklist.Options) { o.OwnPrefixes = prefixes(t, "203.0.113.0/24") }),
			report: inboundReport(badActor("::ffff:203.0.113.10", 90)),
		},
		{
			name:   "allowlisted prefix",
			opts:   withOpts(func(o *blocklist.Options) { o.Allowlist = prefixes(t, "198.51.100.0/24") }),
			report: inboundReport(badActor("198.51.100.7", 90)),
		},
		{
			name:   "allowlisted IPv6 address",
			opts:   withOpts(func(o *blocklist.Options) { o.Allowlist = prefixes(t, "2001:db8::7/128") }),
			report: inboundReport(badActor("2001:db8::7", 90), badActor("2001:db8::8", 90)),
			want:   []string{"2001:db8::8"},
		},
		{
			name:   "DNS resolver",
			opts:   withOpts(func(o *blocklist.Options) { o.DNSResolvers = prefixes(t, "198.51.100.53/32") }),
			report: inboundReport(badActor("198.51.100.53", 90)),
		},
		{
			name: "likely false positive",
			opts: withOpts(nil),
			report: inboundReport(func() intel.Intel {
				in := badActor("203.0.113.10", 80)
				in.LikelyFalsePositive = true
				return in
			}()),
		},
		{
			name: "marked internal in report",
			opts: withOpts(nil),
			report: inboundReport(func() intel.Intel {
				in := badActor("203.0.113.10", 80)
				in.Internal = true
				return in
			}()),
		},
		{
			name:   "below minimum level",
			opts:   withOpts(nil),
			report: inboundReport(badActor("203.0.113.10", 49.9)),
		},
		{
			name:   "medium with minimum medium",
			opts:   withOpts(func(o *blocklist.Options) { o.MinLevel = scoring.LevelMedium }),
			report: inboundReport(badActor("203.0.113.10", 30)),
			want:   []string{"203.0.113.10"},
		},
		{
			name:   "high with minimum critical",
			opts:   withOpts(func(o *blocklist.Options) { o.MinLevel = scoring.LevelCritical }),
			report: inboundReport(badActor("203.0.113.10", 74.9), badActor("203.0.113.11", 75)),
			want:   []string{"203.0.113.11"},
		},
		{
			name: "not a bad actor",
			opts: withOpts(nil),
			report: inboundReport(func() intel.Intel {
				in := badActor("203.0.113.10", 90)
				in.IsKnownBadActor = false
				return in
			}()),
		},
		{
			name: "unknown level uses score",
			opts: withOpts(nil),
			report: inboundReport(func() intel.Intel {
				in := badActor("203.0.113.10", 80)
				in.ThreatLevel = ""
				return in
			}()),
			want: []string{"203.0.113.10"},
		},
		{
			name: "non-finite score",
			opts: withOpts(nil),
			report: inboundReport(func() intel.Intel {
				in := badActor("203.0.113.10", 80)
				in.CompositeScore = math.NaN()
				return in
			}()),
		},
		{
			name:   "invalid address",
			opts:   withOpts(nil),
			report: inboundReport(badActor("203.0.113.300", 90)),
		},
		{
			name: "intel of another address",
			opts: withOpts(nil),
			report: report.Report{BlockedIPs: []report.AddressRow{
				{IP: "203.0.113.10", Intel: badActor("203.0.113.11", 90)},
			}},
		},
		{
			name: "address only in intel",
			opts: withOpts(nil),
			report: report.Report{BlockedIPs: []report.AddressRow{
				{Intel: badActor("203.0.113.12", 90)},
			}},
			want: []string{"203.0.113.12"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newList(t, &memStore{}, tt.opts)

			d := mustUpdate(t, b, tt.report, t0)

			want := tt.want
			if want == nil {
				want = []string{}
			}
			if got := addrsOf(d.Added); !slices.Equal(got, want) {
				t.Errorf("added = %v, want %v", got, want)
			}
			if got := listed(t, b, t0); !slices.Equal(got, want) {
				t.Errorf("listed = %v, want %v", got, want)
			}
			if d.Listed != len(want) {
				t.Errorf("Listed = %d, want %d", d.Listed, len(want))
			}
		})
	}
}

func TestUpdateEntryFields(t *testing.T) {
	t.Parallel()
	b := newList(t, &memStore{}, blocklist.DefaultOptions())
	in := badActor("203.0.113.10", 82.5)
	in.GNClassification = "malicious"
	in.Feeds = []string{"spamhaus-drop"}
	in.GNName = "Mirai\nbotnet"
	in.Org = "Example\tHosting"

	mustUpdate(t, b, inboundReport(in), t0)
	entries, err := b.Entries(context.Background(), t0)
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}

	want := []blocklist.Entry{{
		Addr:       netip.MustParseAddr("203.0.113.10"),
		FirstSeen:  t0,
		LastSeen:   t0,
		Score:      82.5,
		Level:      scoring.LevelCritical,
		Directions: []scoring.Direction{scoring.Inbound},
		Reason:     "abuse 100, OTX 39 pulses, GreyNoise malicious, feeds spamhaus-drop",
	}}
	if !reflect.DeepEqual(entries, want) {
		t.Errorf("entries =\n%+v\nwant\n%+v", entries, want)
	}
}

func TestUpdateReasonCleaned(t *testing.T) {
	t.Parallel()
	b := newList(t, &memStore{}, blocklist.DefaultOptions())
	in := badActor("203.0.113.10", 82.5)
	in.Feeds = []string{"bad\nname", strings.Repeat("x", 300)}

	d := mustUpdate(t, b, inboundReport(in), t0)

	if len(d.Added) != 1 {
		t.Fatalf("added %d entries, want 1", len(d.Added))
	}
	reason := d.Added[0].Reason
	if strings.ContainsAny(reason, "\n\r\t") {
		t.Errorf("reason %q contains a control character", reason)
	}
	if len(reason) > 200 {
		t.Errorf("reason is %d bytes, want at most 200", len(reason))
	}
}

func TestUpdateDirections(t *testing.T) {
	t.Parallel()
	both := []scoring.Direction{scoring.Inbound, scoring.Outbound}
	tests := []struct {
		name  string
		steps []report.Report
		want  []scoring.Direction
	}{
		{
			name: "inbound only",
			steps: []report.Report{
				inboundReport(badActor("203.0.113.10", 60)),
			},
			want: []scoring.Direction{scoring.Inbound},
		},
		{
			name: "outbound only",
			steps: []report.Report{
				{OutboundIPs: []report.OutboundRow{outbound(badActor("203.0.113.10", 60))}},
			},
			want: []scoring.Direction{scoring.Outbound},
		},
		{
			name: "both in one report",
			steps: []report.Report{{
				BlockedIPs:  []report.AddressRow{blocked(badActor("203.0.113.10", 60))},
				OutboundIPs: []report.OutboundRow{outbound(badActor("203.0.113.10", 70))},
			}},
			want: both,
		},
		{
			name: "both across reports",
			steps: []report.Report{
				{OutboundIPs: []report.OutboundRow{outbound(badActor("203.0.113.10", 60))}},
				inboundReport(badActor("203.0.113.10", 60)),
			},
			want: both,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newList(t, &memStore{}, blocklist.DefaultOptions())
			now := t0
			for _, r := range tt.steps {
				mustUpdate(t, b, r, now)
				now = now.Add(time.Hour)
			}

			entries, err := b.Entries(context.Background(), now)
			if err != nil {
				t.Fatalf("Entries: %v", err)
			}
			if len(entries) != 1 {
				t.Fatalf("listed %v, want one entry", addrsOf(entries))
			}
			if !slices.Equal(entries[0].Directions, tt.want) {
				t.Errorf("directions = %v, want %v", entries[0].Directions, tt.want)
			}
		})
	}
}

func TestUpdateHigherScoreOfTwoRows(t *testing.T) {
	t.Parallel()
	b := newList(t, &memStore{}, blocklist.DefaultOptions())
	r := report.Report{
		BlockedIPs:  []report.AddressRow{blocked(badActor("203.0.113.10", 60))},
		OutboundIPs: []report.OutboundRow{outbound(badActor("203.0.113.10", 80))},
	}

	d := mustUpdate(t, b, r, t0)

	if len(d.Added) != 1 {
		t.Fatalf("added %d entries, want 1", len(d.Added))
	}
	if d.Added[0].Score != 80 {
		t.Errorf("score = %v, want 80", d.Added[0].Score)
	}
	if d.Added[0].Level != scoring.LevelCritical {
		t.Errorf("level = %q, want %q", d.Added[0].Level, scoring.LevelCritical)
	}
}

// TestNarrativeCannotList shows that the list comes from report intel only:
// a narrative that recommends blocking internal, allowlisted or unknown
// addresses adds none of them.
func TestNarrativeCannotList(t *testing.T) {
	t.Parallel()
	opts := blocklist.DefaultOptions()
	opts.Allowlist = prefixes(t, "198.51.100.7/32")
	opts.DNSResolvers = prefixes(t, "198.51.100.53/32")
	b := newList(t, &memStore{}, opts)

	r := inboundReport(
		badActor("203.0.113.10", 80),
		badActor("198.51.100.7", 95),
		badActor("198.51.100.53", 95),
	)
	r.Narrative = report.Narrative{
		Available: true,
		Provider:  "anthropic",
		TopThreats: []string{
			"198.51.100.7 is scanning SSH",
		},
		ExecutiveSummary: "Block 192.168.1.1, 198.51.100.7 and 203.0.113.99 now.",
		RecommendedActions: []string{
			"block 192.168.1.1",
			"block 198.51.100.7",
			"block 198.51.100.53",
			"block 203.0.113.99",
			"block 2001:db8::99 in pfBlockerNG > IP > IPv6",
		},
	}

	d := mustUpdate(t, b, r, t0)

	want := []string{"203.0.113.10"}
	if got := addrsOf(d.Added); !slices.Equal(got, want) {
		t.Errorf("added = %v, want %v", got, want)
	}
	text, err := b.Text(context.Background(), blocklist.FamilyAll, t0)
	if err != nil {
		t.Fatalf("Text: %v", err)
	}
	for _, addr := range []string{"192.168.1.1", "198.51.100.7", "198.51.100.53", "203.0.113.99", "2001:db8::99"} {
		if strings.Contains(string(text), addr) {
			t.Errorf("list contains %s, which only the narrative named:\n%s", addr, text)
		}
	}
}

func TestUpdateExpiry(t *testing.T) {
	t.Parallel()
	seen := inboundReport(badActor("203.0.113.10", 60))
	lower := inboundReport(func() intel.Intel {
		in := badActor("203.0.113.10", 20)
		in.IsKnownBadActor = false
		return in
	}())
	empty := report.Report{}

	type step struct {
		at         time.Duration
		report     report.Report
		wantListed bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{
			name: "listed 23h later",
			steps: []step{
				{0, seen, true},
				{23 * time.Hour, empty, true},
			},
		},
		{
			name: "listed 1s before TTL",
			steps: []step{
				{0, seen, true},
				{24*time.Hour - time.Second, empty, true},
			},
		},
		{
			name: "removed at TTL",
			steps: []step{
				{0, seen, true},
				{24 * time.Hour, empty, false},
			},
		},
		{
			name: "removed 1s after TTL",
			steps: []step{
				{0, seen, true},
				{24*time.Hour + time.Second, empty, false},
			},
		},
		{
			name: "seen again extends",
			steps: []step{
				{0, seen, true},
				{12 * time.Hour, seen, true},
				{24*time.Hour + time.Second, empty, true},
				{36*time.Hour - time.Second, empty, true},
				{36*time.Hour + time.Second, empty, false},
			},
		},
		{
			name: "seen below threshold does not extend",
			steps: []step{
				{0, seen, true},
				{12 * time.Hour, lower, true},
				{24*time.Hour + time.Second, lower, false},
			},
		},
		{
			name: "seen at expiry keeps it",
			steps: []step{
				{0, seen, true},
				{24*time.Hour + time.Second, seen, true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := newList(t, &memStore{}, blocklist.DefaultOptions())
			for _, s := range tt.steps {
				now := t0.Add(s.at)
				d := mustUpdate(t, b, s.report, now)

				got := slices.Contains(listed(t, b, now), "203.0.113.10")
				if got != s.wantListed {
					t.Fatalf("at t0+%s: listed = %v, want %v", s.at, got, s.wantListed)
				}
				if !s.wantListed && removedOf(d)["203.0.113.10"] != "expired" {
					t.Errorf("at t0+%s: removed = %v, want 203.0.113.10 expired", s.at, removedOf(d))
				}
			}
		})
	}
}

func TestUpdateKeepsFirstSeen(t *testing.T) {
	t.Parallel()
	b := newList(t, &memStore{}, blocklist.DefaultOptions())
	mustUpdate(t, b, inboundReport(badActor("203.0.113.10", 60)), t0)
	d := mustUpdate(t, b, inboundReport(badActor("203.0.113.10", 90)), t0.Add(12*time.Hour))

	if len(d.Added) != 0 {
		t.Errorf("second sighting added %v, want nothing", addrsOf(d.Added))
	}
	entries, err := b.Entries(context.Background(), t0.Add(12*time.Hour))
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	if len(entries) != 1 {
		t.Fatalf("listed %v, want one entry", addrsOf(entries))
	}
	e := entries[0]
	if !e.FirstSeen.Equal(t0) {
		t.Errorf("FirstSeen = %s, want %s", e.FirstSeen, t0)
	}
	if want := t0.Add(12 * time.Hour); !e.LastSeen.Equal(want) {
		t.Errorf("LastSeen = %s, want %s", e.LastSeen, want)
	}
	if e.Score != 90 {
		t.Errorf("Score = %v, want the latest 90", e.Score)
	}
	if e.Level != scoring.LevelCritical {
		t.Errorf("Level = %q, want %q", e.Level, scoring.LevelCritical)
	}
}

func TestUpdateLastSeenNeverMovesBack(t *testing.T) {
	t.Parallel()
	b := newList(t, &memStore{}, blocklist.DefaultOptions())
	mustUpdate(t, b, inboundReport(badActor("203.0.113.10", 60)), t0.Add(time.Hour))
	mustUpdate(t, b, inboundReport(badActor("203.0.113.10", 60)), t0)

	entries, err := b.Entries(context.Background(), t0)
	if err != nil {
		t.Fatalf("Entries: %v", err)
	}
	if len(entries) != 1 {
		t.Fatalf("listed %v, want one entry", addrsOf(entries))
	}
	if want := t0.Add(time.Hour); !entries[0].LastSeen.Equal(want) {
		t.Errorf("LastSeen = %s, want %s", entries[0].LastSeen, want)
	}
}

func TestEntriesHidesExpired(t *testing.T) {
	t.Parallel()
	st := &memStore{}
	b := newList(t, st, blocklist.DefaultOptions())
	mustUpdate(t, b, inboundReport(badActor("203.0.113.10", 60)), t0)

	if got := listed(t, b, t0.Add(24*time.Hour+time.Second)); len(got) != 0 {
		t.Errorf("listed after TTL without an update = %v, want none", got)
	}
	if !strings.Contains(string(st.stored()), "203.0.113.10") {
		t.Errorf("reading removed the entry from the store; only Update may save")
	}
}

func TestUpdateStaleReport(t *testing.T) {
	t.Parallel()
	b := newList(t, &memStore{}, blocklist.DefaultOptions())
	mustUpdate(t, b, inboundReport(badActor("203.0.113.10", 60)), t0)

	stale := inboundReport(badActor("203.0.113.10", 60), badActor("203.0.113.11", 60))
	stale.Stale = true
	d := mustUpdate(t, b, stale, t0.Add(23*time.Hour))
	if len(d.Added) != 0 {
		t.Errorf("stale report added %v, want nothing", addrsOf(d.Added))
	}

	d = mustUpdate(t, b, stale, t0.Add(24*time.Hour+time.Second))
	if got := removedOf(d)["203.0.113.10"]; got != "expired" {
		t.Errorf("after TTL with stale reports: removed = %v, want 203.0.113.10 expired", removedOf(d))
	}
}

func TestUpdateRemovesLaterExclusions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       func(*blocklist.Options)
		report     report.Report
		wantReason string
	}{
		{
			name:       "allowlist added",
			opts:       func(o *blocklist.Options) { o.Allowlist = prefixes(t, "203.0.113.0/28") },
			wantReason: "allowlisted",
		},
		{
			name:       "own prefix added",
			opts:       func(o *blocklist.Options) { o.OwnPrefixes = prefixes(t, "203.0.113.8/29") },
			wantReason: "own prefix",
		},
		{
			name:       "DNS resolver added",
			opts:       func(o *blocklist.Options) { o.DNSResolvers = prefixes(t, "203.0.113.10/32") },
			wantReason: "DNS resolver",
		},
		{
			name: "report marks false positive",
			report: inboundReport(func() intel.Intel {
				in := badActor("203.0.113.10", 80)
				in.LikelyFalsePositive = true
				return in
			}()),
			wantReason: "likely false positive",
		},
		{
			name: "outbound row marks false positive",
			report: report.Report{OutboundIPs: []report.OutboundRow{outbound(func() intel.Intel {
				in := badActor("203.0.113.10", 0)
				in.RIOT = true
				in.IsKnownBadActor = false
				in.LikelyFalsePositive = true
				return in
			}())}},
			wantReason: "likely false positive",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := &memStore{}
			first := newList(t, st, blocklist.DefaultOptions())
			mustUpdate(t, first, inboundReport(badActor("203.0.113.10", 60)), t0)

			opts := blocklist.DefaultOptions()
			if tt.opts != nil {
				tt.opts(&opts)
				second := newList(t, st, opts)
				if got := listed(t, second, t0.Add(time.Hour)); len(got) != 0 {
					t.Errorf("read with the new options lists %v, want none before the update", got)
				}
			}
			d := mustUpdate(t, newList(t, st, opts), tt.report, t0.Add(time.Hour))

			if got := removedOf(d)["203.0.113.10"]; got != tt.wantReason {
				t.Errorf("removed = %v, want 203.0.113.10 %q", removedOf(d), tt.wantReason)
			}
			if d.Listed != 0 {
				t.Errorf("Listed = %d, want 0", d.Listed)
			}
		})
	}
}

func TestUpdateCap(t *testing.T) {
	t.Parallel()
	opts := blocklist.DefaultOptions()
	opts.MaxEntries = 3
	b := newList(t, &memStore{}, opts)

	first := mustUpdate(t, b, inboundReport(
		badActor("203.0.113.1", 90),
		badActor("203.0.113.2", 60),
		badActor("203.0.113.4", 80),
	), t0)
	if first.OverCap != 0 {
		t.Errorf("first update OverCap = %d, want 0", first.OverCap)
	}

	// Five qualify: 203.0.113.1 (90) and 203.0.113.4 (80) win on score.
	// Three tie at 60: 203.0.113.3 and 2001:db8::1 were seen later than
	// 203.0.113.2, and between those two the IPv4 address comes first.
	d := mustUpdate(t, b, inboundReport(
		badActor("203.0.113.3", 60),
		badActor("2001:db8::1", 60),
	), t0.Add(time.Hour))

	want := []string{"203.0.113.1", "203.0.113.3", "203.0.113.4"}
	if got := listed(t, b, t0.Add(time.Hour)); !slices.Equal(got, want) {
		t.Errorf("listed = %v, want %v", got, want)
	}
	if got := addrsOf(d.Added); !slices.Equal(got, []string{"203.0.113.3"}) {
		t.Errorf("added = %v, want [203.0.113.3]", got)
	}
	if got, want := removedOf(d), map[string]string{"203.0.113.2": "over the cap"}; !reflect.DeepEqual(got, want) {
		t.Errorf("removed = %v, want %v", got, want)
	}
	if d.OverCap != 2 {
		t.Errorf("OverCap = %d, want 2", d.OverCap)
	}
	if d.Listed != 3 {
		t.Errorf("Listed = %d, want 3", d.Listed)
	}
}

func TestEntriesAppliesLowerCap(t *testing.T) {
	t.Parallel()
	st := &memStore{}
	mustUpdate(t, newList(t, st, blocklist.DefaultOptions()), inboundReport(
		badActor("203.0.113.1", 60),
		badActor("203.0.113.2", 90),
		badActor("203.0.113.3", 70),
	), t0)

	opts := blocklist.DefaultOptions()
	opts.MaxEntries = 2
	want := []string{"203.0.113.2", "203.0.113.3"}
	if got := listed(t, newList(t, st, opts), t0); !slices.Equal(got, want) {
		t.Errorf("listed with MaxEntries 2 = %v, want %v", got, want)
	}
}

func TestRestartKeepsEntries(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	first := newList(t, newFileStore(dir), blocklist.DefaultOptions())
	mustUpdate(t, first, report.Report{
		BlockedIPs:  []report.AddressRow{blocked(badActor("203.0.113.10", 60))},
		OutboundIPs: []report.OutboundRow{outbound(badActor("2001:db8::20", 90))},
	}, t0)
	before, err := first.Entries(context.Background(), t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("Entries before the restart: %v", err)
	}

	restarted := newList(t, newFileStore(dir), blocklist.DefaultOptions())
	after, err := restarted.Entries(context.Background(), t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("Entries after the restart: %v", err)
	}

	if len(after) != 2 {
		t.Errorf("after the restart listed %v, want 2 entries", addrsOf(after))
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("entries changed across the restart:\nbefore %+v\nafter  %+v", before, after)
	}

	d := mustUpdate(t, restarted, report.Report{}, t0.Add(24*time.Hour+time.Second))
	if got := removedOf(d); len(got) != 2 {
		t.Errorf("after the restart expiry removed %v, want both entries", got)
	}
}

func TestPreviewDoesNotSave(t *testing.T) {
	t.Parallel()
	st := &memStore{}
	b := newList(t, st, blocklist.DefaultOptions())
	mustUpdate(t, b, inboundReport(badActor("203.0.113.1", 60)), t0)
	savedBefore := st.stored()
	savesBefore := st.saves

	r := inboundReport(badActor("203.0.113.2", 60))
	now := t0.Add(24*time.Hour + time.Second)
	preview, err := b.Preview(context.Background(), r, now)
	if err != nil {
		t.Fatalf("Preview: %v", err)
	}

	if st.saves != savesBefore {
		t.Errorf("Preview saved %d times, want 0", st.saves-savesBefore)
	}
	if string(st.stored()) != string(savedBefore) {
		t.Errorf("Preview changed the stored membership")
	}
	if got := addrsOf(preview.Added); !slices.Equal(got, []string{"203.0.113.2"}) {
		t.Errorf("preview added = %v, want [203.0.113.2]", got)
	}
	if got := removedOf(preview); got["203.0.113.1"] != "expired" {
		t.Errorf("preview removed = %v, want 203.0.113.1 expired", got)
	}

	applied := mustUpdate(t, b, r, now)
	if !reflect.DeepEqual(preview, applied) {
		t.Errorf("Update after Preview differs:\npreview %+v\nupdate  %+v", preview, applied)
	}
}

func TestUpdateCorruptMembership(t *testing.T) {
	t.Parallel()
	st := &memStore{data: []byte(`{"version":1,"entries":[{"ip":"not an address"}]}`)}
	b := newList(t, st, blocklist.DefaultOptions())

	if _, err := b.Entries(context.Background(), t0); err == nil {
		t.Errorf("Entries of a corrupt membership returned no error")
	}
	if _, err := b.Text(context.Background(), blocklist.FamilyAll, t0); err == nil {
		t.Errorf("Text of a corrupt membership returned no error")
	}

	d := mustUpdate(t, b, inboundReport(badActor("203.0.113.10", 60)), t0)
	if d.Discarded == nil {
		t.Errorf("Discarded is nil, want the decode error")
	}
	if got := listed(t, b, t0); !slices.Equal(got, []string{"203.0.113.10"}) {
		t.Errorf("after the update listed = %v, want [203.0.113.10]", got)
	}
}

func TestUpdateNewerVersion(t *testing.T) {
	t.Parallel()
	data := []byte(`{"version":2,"entries":[]}`)
	st := &memStore{data: data}
	b := newList(t, st, blocklist.DefaultOptions())

	_, err := b.Update(context.Background(), inboundReport(badActor("203.0.113.10", 60)), t0)
	if err == nil || !strings.Contains(err.Error(), "newer release") {
		t.Errorf("Update error = %v, want one naming a newer release", err)
	}
	if st.saves != 0 {
		t.Errorf("Update saved over a newer membership")
	}
	if _, err := b.Entries(context.Background(), t0); err == nil {
		t.Errorf("Entries of a newer membership returned no error")
	}
}

func TestStoreErrors(t *testing.T) {
	t.Parallel()
	errDown := errors.New("store down")
	r := inboundReport(badActor("203.0.113.10", 60))
	tests := []struct {
		name string
		st   *memStore
		call func(*blocklist.Blocklist) error
	}{
		{
			name: "update load",
			st:   &memStore{loadErr: errDown},
			call: func(b *blocklist.Blocklist) error { _, err := b.Update(context.Background(), r, t0); return err },
		},
		{
			name: "update save",
			st:   &memStore{saveErr: errDown},
			call: func(b *blocklist.Blocklist) error { _, err := b.Update(context.Background(), r, t0); return err },
		},
		{
			name: "preview load",
			st:   &memStore{loadErr: errDown},
			call: func(b *blocklist.Blocklist) error { _, err := b.Preview(context.Background(), r, t0); return err },
		},
		{
			name: "entries load",
			st:   &memStore{loadErr: errDown},
			call: func(b *blocklist.Blocklist) error { _, err := b.Entries(context.Background(), t0); return err },
		},
		{
			name: "text load",
			st:   &memStore{loadErr: errDown},
			call: func(b *blocklist.Blocklist) error { _, err := b.Text(context.Background(), "", t0); return err },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.call(newList(t, tt.st, blocklist.DefaultOptions()))
			if !errors.Is(err, errDown) {
				t.Errorf("error = %v, want it to wrap %v", err, errDown)
			}
		})
	}
}

func TestConcurrentUpdatesKeepAll(t *testing.T) {
	t.Parallel()
	b := newList(t, &memStore{}, blocklist.DefaultOptions())

	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			addr := fmt.Sprintf("203.0.113.%d", i+1)
			if _, err := b.Update(context.Background(), inboundReport(badActor(addr, 60)), t0); err != nil {
				t.Errorf("Update %s: %v", addr, err)
			}
		})
	}
	wg.Wait()

	if got := listed(t, b, t0); len(got) != n {
		t.Errorf("listed %d addresses after %d concurrent updates, want %d", len(got), n, n)
	}
}

func TestNewRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*blocklist.Options)
		want string
	}{
		{"unknown level", func(o *blocklist.Options) { o.MinLevel = "severe" }, `invalid minimum level "severe"`},
		{"empty level", func(o *blocklist.Options) { o.MinLevel = "" }, `invalid minimum level ""`},
		{"zero TTL", func(o *blocklist.Options) { o.TTL = 0 }, "invalid TTL 0s"},
		{"negative TTL", func(o *blocklist.Options) { o.TTL = -time.Hour }, "invalid TTL -1h0m0s"},
		{"zero max entries", func(o *blocklist.Options) { o.MaxEntries = 0 }, "invalid maximum entries 0"},
		{"invalid allowlist prefix", func(o *blocklist.Options) { o.Allowlist = []netip.Prefix{{}} }, "in allowlist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := blocklist.DefaultOptions()
			tt.edit(&opts)

			_, err := blocklist.New(&memStore{}, opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}

	t.Run("nil store", func(t *testing.T) {
		t.Parallel()
		if _, err := blocklist.New(nil, blocklist.DefaultOptions()); err == nil {
			t.Errorf("New with a nil store returned no error")
		}
	})
}
