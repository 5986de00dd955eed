package report

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/source"
)

// renderText builds in and renders it with opts.
func renderText(t *testing.T, in Input, opts TextOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteText(&buf, Build(in), opts); err != nil {
		t.Fatalf("WriteText: %v", err)
	}
	return buf.String()
}

// checkWidth fails for every line longer than width characters.
func checkWidth(t *testing.T, text string, width int) {
	t.Helper()
	for i, line := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(line); n > width {
			t.Errorf("line %d is %d characters, want at most %d:\n%s", i+1, n, width, line)
		}
		if strings.TrimRight(line, " ") != line {
			t.Errorf("line %d has trailing spaces: %q", i+1, line)
		}
	}
}

func TestWriteTextGolden(t *testing.T) {
	got := renderText(t, fixtureInput(), TextOptions{})
	checkGolden(t, "text.golden.txt", []byte(got))
	checkWidth(t, got, DefaultTextWidth)
}

func TestWriteTextEmptyGolden(t *testing.T) {
	in := Input{
		LookbackHours: 1,
		GeneratedAt:   time.Date(2026, 2, 22, 10, 0, 0, 0, time.UTC),
		Source:        "victoriametrics",
		Observation: source.Observation{
			Start: time.Date(2026, 2, 22, 9, 0, 0, 0, time.UTC),
			End:   time.Date(2026, 2, 22, 10, 0, 0, 0, time.UTC),
		},
	}
	got := renderText(t, in, TextOptions{})
	checkGolden(t, "text-empty.golden.txt", []byte(got))
}

func TestWriteTextEmptySections(t *testing.T) {
	got := renderText(t, Input{}, TextOptions{})
	for _, want := range []string{
		"No blocked inbound traffic from public sources in this window.",
		"No outbound traffic to public destinations in this window.",
		"No targeted ports in this window.",
		"No analyst narrative for this cycle.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

func TestWriteTextSections(t *testing.T) {
	got := renderText(t, fixtureInput(), TextOptions{})
	for _, want := range []string{
		"Window      2026-02-22T09:00:00Z to 2026-02-22T10:00:00Z",
		"Lines       5000 parsed, 15 skipped (12 not filterlog, 3 malformed)",
		"Risk level  critical",
		"137 distinct sources",
		"pfSense NAT (192.0.2.1)",
		"192.168.1.20, 192.168.1.31 +1",
		"3389/tcp",
		"Example Research Network for Very Long", // truncated, not dropped
		"BAD",
		"FP",
		"RIOT",
		"Firewall > Rules > igc0",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// wideInput has the widest values a row can hold: full-length IPv6
// addresses, counts near the uint64 maximum, long organisation names, many
// internal sources and long narrative words.
func wideInput() Input {
	in := fixtureInput()
	long := strings.Repeat("Very Long Organisation Name ", 8)
	wide := mustAddr("2001:db8:ffff:ffff:ffff:ffff:ffff:fffe")
	wide2 := mustAddr("2001:db8:ffff:ffff:ffff:ffff:ffff:fffd")
	in.Observation.Blocked = append(in.Observation.Blocked, source.AddrCount{Addr: wide, Count: 18446744073709551615})
	in.Observation.Outbound = append(in.Observation.Outbound, source.Outbound{
		Addr: wide2, Count: 18446744073709551615,
		InternalSources: []netip.Addr{mustAddr("fd00:ffff:ffff:ffff:ffff:ffff:ffff:fff1"), mustAddr("fd00:ffff:ffff:ffff:ffff:ffff:ffff:fff2")},
	})
	in.BlockedIntel[wide] = intel.Intel{Org: long, Country: "DE", ThreatLevel: "critical", CompositeScore: 100, IsKnownBadActor: true, LikelyFalsePositive: true, RIOT: true}
	in.OutboundIntel[wide2] = intel.Intel{Org: long, Country: "DE", ThreatLevel: "critical", CompositeScore: 100, IsKnownBadActor: true, LikelyFalsePositive: true, RIOT: true}
	in.Narrative.ExecutiveSummary = strings.Repeat("x", 300) + " " + long
	in.Narrative.RecommendedActions = append(in.Narrative.RecommendedActions, long+long)
	return in
}

func TestWriteTextFitsWidth(t *testing.T) {
	got := renderText(t, wideInput(), TextOptions{})
	checkWidth(t, got, DefaultTextWidth)
	if !strings.Contains(got, "…") {
		t.Errorf("no truncation marker in output:\n%s", got)
	}
}

func TestWriteTextFitsNarrowerWidth(t *testing.T) {
	in := fixtureInput()
	rec := in.BlockedIntel[mustAddr("203.0.113.7")]
	rec.Org = strings.Repeat("Example Hosting ", 6)
	in.BlockedIntel[mustAddr("203.0.113.7")] = rec

	got := renderText(t, in, TextOptions{Width: 90})
	checkWidth(t, got, 90)
	if !strings.Contains(got, "AS64500 Example Hosting Exa…") {
		t.Errorf("long org not truncated with …:\n%s", got)
	}
}

func TestWriteTextNarrowWidthRaised(t *testing.T) {
	got := renderText(t, fixtureInput(), TextOptions{Width: 10})
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, "Window") && !strings.Contains(line, "2026-02-22T09:00:00Z") {
			t.Errorf("header wrapped below the minimum width: %q", line)
		}
	}
}

func TestWriteTextMaxRows(t *testing.T) {
	got := renderText(t, fixtureInput(), TextOptions{MaxRows: 2})
	if !strings.Contains(got, "… 2 more not shown") {
		t.Errorf("blocked table does not say that 2 rows are hidden:\n%s", got)
	}
	if !strings.Contains(got, "… 5 more not shown") {
		t.Errorf("ports table does not say that 5 rows are hidden:\n%s", got)
	}
	if strings.Contains(got, "192.0.2.44") {
		t.Errorf("fourth blocked row shown despite MaxRows 2:\n%s", got)
	}
}

func TestWriteTextCleansOutsideText(t *testing.T) {
	in := fixtureInput()
	rec := in.BlockedIntel[mustAddr("203.0.113.7")]
	rec.Org = "Evil\x1b[31mCorp\u202e\tLtd"
	in.BlockedIntel[mustAddr("203.0.113.7")] = rec
	in.Narrative.ExecutiveSummary = "Summary\x1b]0;title\x07 with escapes."

	got := renderText(t, in, TextOptions{})
	for _, bad := range []string{"\x1b", "\x07", "\u202e", "\t"} {
		if strings.Contains(got, bad) {
			t.Errorf("output contains %q", bad)
		}
	}
	if !strings.Contains(got, "Evil?[31mCorp? Ltd") {
		t.Errorf("cleaned org not shown as Evil?[31mCorp? Ltd:\n%s", got)
	}
}

func TestWriteTextNarrativeUnavailable(t *testing.T) {
	in := fixtureInput()
	in.Narrative = &Narrative{Available: false, Provider: "anthropic", Error: "model answer truncated (max_tokens)"}
	got := renderText(t, in, TextOptions{})
	if !strings.Contains(got, "No analyst narrative for this cycle: model answer truncated (max_tokens)") {
		t.Errorf("output lacks the narrative error:\n%s", got)
	}
	if strings.Contains(got, "Recommended actions") {
		t.Errorf("unavailable narrative still rendered:\n%s", got)
	}
}

func TestWriteTextStaleAndApproximate(t *testing.T) {
	in := fixtureInput()
	in.Observation.Approximate = true
	in.Observation.ErrorBound = 17
	r := Build(in)
	r.Stale = true

	var buf bytes.Buffer
	if err := WriteText(&buf, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if !strings.Contains(got, "STALE:") {
		t.Errorf("stale report not marked:\n%s", got)
	}
	if !strings.Contains(got, "overstated by up to 17 events") {
		t.Errorf("approximate counts not marked:\n%s", got)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteTextWriteError(t *testing.T) {
	err := WriteText(failingWriter{}, Build(fixtureInput()), TextOptions{})
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("WriteText error = %v, want the writer's error", err)
	}
}

func TestParagraphSplitsLongWords(t *testing.T) {
	tw := textWriter{width: 40}
	tw.paragraph(strings.Repeat("a", 100)+" end", "> ", "  ")
	lines := strings.Split(strings.TrimSuffix(tw.buf.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), tw.buf.String())
	}
	if lines[0] != "> "+strings.Repeat("a", 38) {
		t.Errorf("first line = %q", lines[0])
	}
	if lines[2] != "  "+strings.Repeat("a", 24)+" end" {
		t.Errorf("last line = %q", lines[2])
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly", 7, "exactly"},
		{"too long", 5, "too …"},
		{"äöüäöü", 4, "äöü…"},
		{"ab", 1, "…"},
	}
	for _, tt := range tests {
		if got := truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func BenchmarkWriteText(b *testing.B) {
	r := Build(largeInput())
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteText(&buf, r, TextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
