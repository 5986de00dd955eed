package blocklist_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/blocklist"
	"github.com/threat-intel/threat-intel/internal/feeds"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/scoring"
)

var update = flag.Bool("update", false, "rewrite golden files")

// renderEntries are out of order, with a duplicate, an IPv4-mapped address
// and addresses that sort differently as text and as numbers.
func renderEntries() []blocklist.Entry {
	entry := func(s string) blocklist.Entry {
		return blocklist.Entry{
			Addr:       netip.MustParseAddr(s),
			FirstSeen:  t0,
			LastSeen:   t0,
			Score:      60,
			Level:      scoring.LevelHigh,
			Directions: []scoring.Direction{scoring.Inbound},
			Reason:     "abuse 100 # not a comment\nsecond line",
		}
	}
	return []blocklist.Entry{
		entry("2001:db8::10"),
		entry("203.0.113.10"),
		entry("2001:db8::9"),
		entry("203.0.113.9"),
		entry("198.51.100.0"),
		entry("::ffff:192.0.2.1"),
		entry("2001:db8:0:1::5"),
		entry("203.0.113.9"),
	}
}

func renderOptions(family string) blocklist.RenderOptions {
	return blocklist.RenderOptions{
		Family:      family,
		GeneratedAt: t0.Add(30 * time.Minute),
		UpdatedAt:   t0,
		MinLevel:    scoring.LevelHigh,
		TTL:         24 * time.Hour,
	}
}

func render(t *testing.T, entries []blocklist.Entry, opts blocklist.RenderOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := blocklist.Render(&buf, entries, opts); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.String()
}

func TestRenderGolden(t *testing.T) {
	t.Parallel()
	got := render(t, renderEntries(), renderOptions(blocklist.FamilyAll))

	path := filepath.Join("testdata", "blocklist.golden.txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("writing %s: %v", path, err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run go test -update to create it): %v", path, err)
	}
	if got != string(want) {
		t.Errorf("Render output differs from %s (run go test -update if the change is intended):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestRenderLineFormat(t *testing.T) {
	t.Parallel()
	got := render(t, renderEntries(), renderOptions(blocklist.FamilyAll))

	if strings.Contains(got, "\r") {
		t.Errorf("output contains CR; want LF line ends only")
	}
	if !strings.HasSuffix(got, "\n") {
		t.Errorf("output does not end with a newline")
	}
	if strings.HasPrefix(got, "\ufeff") {
		t.Errorf("output starts with a byte-order mark")
	}
	for i, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		if _, err := netip.ParseAddr(line); err != nil {
			t.Errorf("line %d %q is neither a comment nor a bare address", i+1, line)
		}
	}
}

func TestRenderFamilies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		family     string
		wantFamily string
		want       []string
	}{
		{
			name:       "both families",
			family:     blocklist.FamilyAll,
			wantFamily: "all",
			want: []string{
				"192.0.2.1", "198.51.100.0", "203.0.113.9", "203.0.113.10",
				"2001:db8::9", "2001:db8::10", "2001:db8:0:1::5",
			},
		},
		{
			name:       "IPv4 only",
			family:     blocklist.FamilyIPv4,
			wantFamily: "ipv4",
			want:       []string{"192.0.2.1", "198.51.100.0", "203.0.113.9", "203.0.113.10"},
		},
		{
			name:       "IPv6 only",
			family:     blocklist.FamilyIPv6,
			wantFamily: "ipv6",
			want:       []string{"2001:db8::9", "2001:db8::10", "2001:db8:0:1::5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := render(t, renderEntries(), renderOptions(tt.family))

			var addrs []string
			var header []string
			for _, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
				if strings.HasPrefix(line, "#") {
					header = append(header, line)
					continue
				}
				addrs = append(addrs, line)
			}
			if !slices.Equal(addrs, tt.want) {
				t.Errorf("addresses = %v, want %v", addrs, tt.want)
			}
			if !slices.Contains(header, "# family: "+tt.wantFamily) {
				t.Errorf("header %q has no line %q", header, "# family: "+tt.wantFamily)
			}
			wantCount := fmt.Sprintf("# number of entries: %d", len(tt.want))
			if !slices.Contains(header, wantCount) {
				t.Errorf("header %q has no line %q", header, wantCount)
			}
		})
	}
}

func TestRenderEmpty(t *testing.T) {
	t.Parallel()
	opts := renderOptions(blocklist.FamilyIPv4)
	opts.UpdatedAt = time.Time{}

	got := render(t, nil, opts)

	want := "# threat-intel blocklist: known bad actors, one address per line\n" +
		"# generated: 2026-03-01T12:30:00Z\n" +
		"# min level: high\n" +
		"# ttl: 24h\n" +
		"# family: ipv4\n" +
		"# number of entries: 0\n"
	if got != want {
		t.Errorf("Render of no entries =\n%s\nwant\n%s", got, want)
	}
}

func TestRenderTTLNotWholeHours(t *testing.T) {
	t.Parallel()
	opts := renderOptions(blocklist.FamilyAll)
	opts.TTL = 90 * time.Minute

	got := render(t, nil, opts)

	if !strings.Contains(got, "# ttl: 1h30m0s\n") {
		t.Errorf("header does not state the TTL 1h30m0s:\n%s", got)
	}
}

func TestRenderRejectsInvalidOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		entries []blocklist.Entry
		edit    func(*blocklist.RenderOptions)
		want    string
	}{
		{"unknown family", nil, func(o *blocklist.RenderOptions) { o.Family = "ipv4" }, `invalid address family "ipv4"`},
		{"unknown level", nil, func(o *blocklist.RenderOptions) { o.MinLevel = "high\n192.168.1.1" }, "invalid minimum level"},
		{"zero TTL", nil, func(o *blocklist.RenderOptions) { o.TTL = 0 }, "invalid TTL"},
		{"no generation time", nil, func(o *blocklist.RenderOptions) { o.GeneratedAt = time.Time{} }, "missing generation time"},
		{"entry without address", []blocklist.Entry{{}}, func(*blocklist.RenderOptions) {}, "entry without an address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			opts := renderOptions(blocklist.FamilyAll)
			tt.edit(&opts)
			var buf bytes.Buffer

			err := blocklist.Render(&buf, tt.entries, opts)

			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Render error = %v, want one containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("Render wrote %q before failing", buf.String())
			}
		})
	}
}

type failingWriter struct{}

var errWrite = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestRenderWriteError(t *testing.T) {
	t.Parallel()
	err := blocklist.Render(failingWriter{}, renderEntries(), renderOptions(blocklist.FamilyAll))
	if !errors.Is(err, errWrite) {
		t.Errorf("Render error = %v, want it to wrap %v", err, errWrite)
	}
}

// TestRenderFeedParserReadsIt reads the output with this project's feed
// parser: every address must come back, no line may be skipped, and the
// stated count must be read.
func TestRenderFeedParserReadsIt(t *testing.T) {
	t.Parallel()
	text := render(t, renderEntries(), renderOptions(blocklist.FamilyAll))

	res, err := feeds.Parse(strings.NewReader(text), feeds.FormatAuto, "blocklist.txt")
	if err != nil {
		t.Fatalf("feeds.Parse: %v", err)
	}

	var want []netip.Prefix
	for _, s := range []string{"192.0.2.1", "198.51.100.0", "203.0.113.9", "203.0.113.10", "2001:db8::9", "2001:db8::10", "2001:db8:0:1::5"} {
		a := netip.MustParseAddr(s)
		want = append(want, netip.PrefixFrom(a, a.BitLen()))
	}
	if !slices.Equal(res.Prefixes, want) {
		t.Errorf("parsed prefixes = %v, want %v", res.Prefixes, want)
	}
	if res.Skipped != 0 {
		t.Errorf("parser skipped %d lines: %v", res.Skipped, res.SkippedLines)
	}
	if res.Declared != len(want) {
		t.Errorf("parser read the declared count as %d, want %d", res.Declared, len(want))
	}
}

func TestTextFamily(t *testing.T) {
	t.Parallel()
	b := newList(t, &memStore{}, blocklist.DefaultOptions())
	mustUpdate(t, b, inboundReport(badActor("203.0.113.10", 60), badActor("2001:db8::10", 80)), t0)

	text, err := b.Text(context.Background(), blocklist.FamilyIPv6, t0.Add(time.Hour))
	if err != nil {
		t.Fatalf("Text: %v", err)
	}

	want := "# threat-intel blocklist: known bad actors, one address per line\n" +
		"# generated: 2026-03-01T13:00:00Z\n" +
		"# updated: 2026-03-01T12:00:00Z\n" +
		"# min level: high\n" +
		"# ttl: 24h\n" +
		"# family: ipv6\n" +
		"# number of entries: 1\n" +
		"2001:db8::10\n"
	if string(text) != want {
		t.Errorf("Text =\n%s\nwant\n%s", text, want)
	}
}

func TestTextBeforeFirstUpdate(t *testing.T) {
	t.Parallel()
	b := newList(t, newFileStore(t.TempDir()), blocklist.DefaultOptions())

	text, err := b.Text(context.Background(), blocklist.FamilyAll, t0)
	if err != nil {
		t.Fatalf("Text: %v", err)
	}

	if !strings.HasSuffix(string(text), "# number of entries: 0\n") {
		t.Errorf("Text before any update =\n%s\nwant a header with 0 entries", text)
	}
	if strings.Contains(string(text), "# updated:") {
		t.Errorf("Text before any update states an update time:\n%s", text)
	}
}

func TestParseFamily(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "", want: blocklist.FamilyAll},
		{in: "all", want: blocklist.FamilyAll},
		{in: "4", want: blocklist.FamilyIPv4},
		{in: "ipv4", want: blocklist.FamilyIPv4},
		{in: "IPv4", want: blocklist.FamilyIPv4},
		{in: "inet", want: blocklist.FamilyIPv4},
		{in: "6", want: blocklist.FamilyIPv6},
		{in: "ipv6", want: blocklist.FamilyIPv6},
		{in: "inet6", want: blocklist.FamilyIPv6},
		{in: "ipv5", wantErr: true},
		{in: "46", wantErr: true},
	}
	for _, tt := range tests {
		t.Run("value "+tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := blocklist.ParseFamily(tt.in)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "want ipv4, ipv6") {
					t.Errorf("ParseFamily(%q) error = %v, want one that lists the valid values", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseFamily(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseFamily(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWriteDiff(t *testing.T) {
	t.Parallel()
	opts := blocklist.DefaultOptions()
	opts.MaxEntries = 2
	b := newList(t, &memStore{}, opts)
	mustUpdate(t, b, inboundReport(badActor("198.51.100.5", 55)), t0)
	d := mustUpdate(t, b, report.Report{
		OutboundIPs: []report.OutboundRow{
			outbound(badActor("203.0.113.10", 82.5)),
			outbound(badActor("203.0.113.11", 70)),
		},
	}, t0.Add(time.Hour))

	var buf bytes.Buffer
	if err := blocklist.WriteDiff(&buf, d); err != nil {
		t.Fatalf("WriteDiff: %v", err)
	}

	want := "   ADDRESS       LEVEL     SCORE  DIRECTION  LAST SEEN             REASON\n" +
		"+  203.0.113.10  critical  82.5   out        2026-03-01T13:00:00Z  abuse 100, OTX 39 pulses\n" +
		"+  203.0.113.11  high      70.0   out        2026-03-01T13:00:00Z  abuse 100, OTX 39 pulses\n" +
		"-  198.51.100.5  high      55.0   in         2026-03-01T12:00:00Z  over the cap\n" +
		"2 added, 1 removed, 2 listed, 1 left off because the list is full\n"
	if buf.String() != want {
		t.Errorf("WriteDiff =\n%s\nwant\n%s", buf.String(), want)
	}
}

func TestWriteDiffNoChanges(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	if err := blocklist.WriteDiff(&buf, blocklist.Diff{Listed: 4, Discarded: errors.New("decoding JSON: unexpected end")}); err != nil {
		t.Fatalf("WriteDiff: %v", err)
	}

	want := "0 added, 0 removed, 4 listed\n" +
		"the stored list could not be read and is replaced: decoding JSON: unexpected end\n"
	if buf.String() != want {
		t.Errorf("WriteDiff =\n%s\nwant\n%s", buf.String(), want)
	}
}
