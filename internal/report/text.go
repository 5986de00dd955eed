package report

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"unicode"
	"unicode/utf8"
)

// DefaultTextWidth is the line width WriteText keeps to when
// TextOptions.Width is zero.
const DefaultTextWidth = 120

// minTextWidth leaves room for a word after the widest indent.
const minTextWidth = 40

// TextOptions sets how WriteText lays out a report.
type TextOptions struct {
	// Width is the maximum line width in characters; zero means
	// DefaultTextWidth, and widths below 40 are raised to 40. Organisation
	// names, internal sources, services and port descriptions are shortened
	// with "…" to fit it. At the default width every row fits. A narrower
	// table can overflow when its addresses and counts alone are wider.
	Width int
	// MaxRows caps the rows of each table; zero means every row.
	MaxRows int
}

// labelWidth is the width of the label column of the header block.
const labelWidth = 12

// WriteText renders r as a plain-text report for a terminal: a header with
// the window, source, line counts and risk level, then tables of blocked
// sources, outbound destinations and targeted ports, then the narrative.
//
// Text from outside (organisation names, narrative, source names) has its
// control characters replaced, so it cannot move the cursor or change colours.
//
// NOTE: Widths count characters, so East Asian wide characters in an
// organisation name take two columns and can push a line past Width.
func WriteText(w io.Writer, r Report, opts TextOptions) error {
	width := opts.Width
	if width <= 0 {
		width = DefaultTextWidth
	}
	width = max(width, minTextWidth)
	t := textWriter{width: width, maxRows: opts.MaxRows}

	t.header(r)
	t.blocked(r)
	t.outbound(r)
	t.ports(r)
	t.narrative(r.Narrative)

	_, err := w.Write(t.buf.Bytes())
	return err
}

// textWriter accumulates the rendered report.
type textWriter struct {
	buf     bytes.Buffer
	width   int
	maxRows int
}

func (t *textWriter) header(r Report) {
	title := "Threat report"
	if r.LookbackHours > 0 {
		title += fmt.Sprintf(", %d h lookback", r.LookbackHours)
	}
	t.line(title)
	if r.Stale {
		t.paragraph("STALE: this report was kept from an earlier cycle because the latest cycle failed.", "", "")
	}

	t.field("Window", windowText(r.Window))
	t.field("Generated", orDash(r.GeneratedAt))
	t.field("Source", orDash(r.Source))
	if len(r.Interfaces) > 0 {
		t.field("Interfaces", strings.Join(r.Interfaces, ", "))
	}
	if r.Lines != nil {
		t.field("Lines", linesText(r.Lines))
	}
	t.field("Risk level", orDash(r.Summary.OverallRiskLevel))

	s := r.Summary
	blocked := plural(s.TotalBlockedIPs, "distinct source")
	if len(r.BlockedIPs) > 0 {
		blocked += fmt.Sprintf("; %d listed with %d events, %s", len(r.BlockedIPs), s.BlockedEvents,
			plural(s.KnownBadActorsInbound, "known bad actor"))
	}
	t.field("Blocked", blocked)
	t.field("Outbound", fmt.Sprintf("%s, %s",
		plural(s.OutboundDestinations, "destination"), plural(s.KnownBadActorsOutbound, "known bad actor")))
	t.field("Ports", plural(s.CriticalPortsTargeted, "high or critical risk port")+" targeted")
	if s.Approximate {
		t.field("Accuracy", fmt.Sprintf("counts are estimates and may each be overstated by up to %d events", s.ErrorBound))
	}
}

func (t *textWriter) blocked(r Report) {
	t.line("")
	rows := r.BlockedIPs
	heading := fmt.Sprintf("Blocked inbound sources: %d listed of %d distinct", len(rows), r.Summary.TotalBlockedIPs)
	t.line(heading + t.shownNote(len(rows)))
	if len(rows) == 0 {
		t.line("No blocked inbound traffic from public sources in this window.")
		return
	}

	cols := []column{
		{header: "ADDRESS"},
		{header: "EVENTS", right: true},
		{header: "COUNTRY"},
		{header: "ORG", flex: true, min: 12},
		{header: "SCORE", right: true},
		{header: "LEVEL"},
		{header: "FLAGS"},
	}
	var cells [][]string
	flagged := false
	for _, i := range t.capped(len(rows)) {
		row := rows[i]
		flags := flagsText(row)
		flagged = flagged || flags != ""
		cells = append(cells, []string{
			row.IP, strconv.FormatUint(row.Count, 10), orDash(row.Intel.Country), orgText(row),
			scoreText(row.Intel.CompositeScore), orDash(row.Intel.ThreatLevel), flags,
		})
	}
	t.table(cols, cells)
	t.more(len(rows))
	if flagged {
		t.legend()
	}
}

func (t *textWriter) outbound(r Report) {
	t.line("")
	rows := r.OutboundIPs
	t.line(fmt.Sprintf("Outbound destinations: %d listed", len(rows)) + t.shownNote(len(rows)))
	if len(rows) == 0 {
		t.line("No outbound traffic to public destinations in this window.")
		return
	}

	cols := []column{
		{header: "ADDRESS"},
		{header: "EVENTS", right: true},
		{header: "SOURCES", flex: true, min: 16},
		{header: "COUNTRY"},
		{header: "ORG", flex: true, min: 12},
		{header: "SCORE", right: true},
		{header: "LEVEL"},
		{header: "FLAGS"},
	}
	var cells [][]string
	flagged := false
	for _, i := range t.capped(len(rows)) {
		row := rows[i].AddressRow
		flags := flagsText(row)
		flagged = flagged || flags != ""
		cells = append(cells, []string{
			row.IP, strconv.FormatUint(row.Count, 10), sourcesText(rows[i].SrcIPs), orDash(row.Intel.Country),
			orgText(row), scoreText(row.Intel.CompositeScore), orDash(row.Intel.ThreatLevel), flags,
		})
	}
	t.table(cols, cells)
	t.more(len(rows))
	if flagged {
		t.legend()
	}
}

func (t *textWriter) ports(r Report) {
	t.line("")
	rows := r.PortAnalysis.TopBlockedPorts
	t.line(fmt.Sprintf("Targeted ports: %d listed", len(rows)) + t.shownNote(len(rows)))
	if len(rows) == 0 {
		t.line("No targeted ports in this window.")
		return
	}

	cols := []column{
		{header: "PORT"},
		{header: "SERVICE", flex: true, min: 12},
		{header: "RISK"},
		{header: "EVENTS", right: true},
		{header: "DESCRIPTION", flex: true, min: 16},
	}
	var cells [][]string
	for _, i := range t.capped(len(rows)) {
		p := rows[i]
		port := strconv.Itoa(p.Port)
		if p.Protocol != "" {
			port += "/" + p.Protocol
		}
		cells = append(cells, []string{port, p.Service, p.RiskLevel, strconv.FormatUint(p.Count, 10), p.Description})
	}
	t.table(cols, cells)
	t.more(len(rows))
}

func (t *textWriter) narrative(n Narrative) {
	t.line("")
	if !n.Available {
		msg := "No analyst narrative for this cycle."
		if n.Error != "" {
			msg = "No analyst narrative for this cycle: " + n.Error
		}
		t.paragraph(msg, "", "")
		return
	}

	heading := "Analyst narrative"
	var by []string
	for _, s := range []string{n.Provider, n.Model} {
		if s != "" {
			by = append(by, s)
		}
	}
	if len(by) > 0 {
		heading += " (" + strings.Join(by, ", ") + ")"
	}
	if n.RiskLevel != "" {
		heading += ", risk level " + n.RiskLevel
	}
	t.paragraph(heading, "", "")

	const indent = "  "
	if n.ExecutiveSummary != "" {
		t.paragraph(n.ExecutiveSummary, indent, indent)
	}
	t.list("Top threats", n.TopThreats, false)
	for _, part := range []struct{ title, text string }{
		{"Inbound", n.InboundAnalysis},
		{"Outbound", n.OutboundAnalysis},
		{"Ports", n.PortAnalysis},
	} {
		if part.text == "" {
			continue
		}
		t.line("")
		t.line(indent + part.title)
		t.paragraph(part.text, indent+indent, indent+indent)
	}
	t.list("Recommended actions", n.RecommendedActions, true)
}

// list writes a titled bullet or numbered list; an empty list writes nothing.
func (t *textWriter) list(title string, items []string, numbered bool) {
	if len(items) == 0 {
		return
	}
	t.line("")
	t.line("  " + title)
	for i, item := range items {
		marker := "- "
		if numbered {
			marker = strconv.Itoa(i+1) + ". "
		}
		first := "  " + marker
		t.paragraph(item, first, strings.Repeat(" ", utf8.RuneCountInString(first)))
	}
}

// field writes a header line: a label column, then the value wrapped under
// itself.
func (t *textWriter) field(label, value string) {
	first := label + strings.Repeat(" ", max(labelWidth-len(label), 1))
	t.paragraph(value, first, strings.Repeat(" ", utf8.RuneCountInString(first)))
}

// paragraph writes text word-wrapped to the width, the first line after
// firstIndent and the others after restIndent. Words longer than a line are
// split.
func (t *textWriter) paragraph(text, firstIndent, restIndent string) {
	line := []rune(firstIndent)
	lineHasWord := false
	for _, word := range strings.Fields(clean(text)) {
		wordRunes := []rune(word)
		for len(wordRunes) > 0 {
			room := t.width - len(line)
			if lineHasWord {
				room-- // the space before the word
			}
			if len(wordRunes) <= room {
				if lineHasWord {
					line = append(line, ' ')
				}
				line = append(line, wordRunes...)
				lineHasWord = true
				break
			}
			if !lineHasWord {
				// The word alone is longer than a line, so split it. At
				// least one character goes on each line, even past an
				// indent as wide as the line.
				room = max(room, 1)
				line = append(line, wordRunes[:room]...)
				wordRunes = wordRunes[room:]
				lineHasWord = true
			}
			t.line(string(line))
			line = []rune(restIndent)
			lineHasWord = false
		}
	}
	if lineHasWord {
		t.line(string(line))
	}
}

func (t *textWriter) line(s string) {
	t.buf.WriteString(s)
	t.buf.WriteByte('\n')
}

// capped returns the indices of the rows a table shows.
func (t *textWriter) capped(n int) []int {
	if t.maxRows > 0 && n > t.maxRows {
		n = t.maxRows
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	return idx
}

func (t *textWriter) shownNote(n int) string {
	if t.maxRows > 0 && n > t.maxRows {
		return fmt.Sprintf(" (showing %d)", t.maxRows)
	}
	return ""
}

func (t *textWriter) more(n int) {
	if t.maxRows > 0 && n > t.maxRows {
		t.line(fmt.Sprintf("… %d more not shown", n-t.maxRows))
	}
}

func (t *textWriter) legend() {
	t.paragraph("Flags: BAD known bad actor, FP likely false positive, RIOT known benign service (GreyNoise RIOT), feed:NAME listed on that blocklist feed.", "", "")
}

// column describes one table column.
type column struct {
	header string
	right  bool // right-aligned, for numbers
	flex   bool // shortened with "…" when the table is wider than the line
	min    int  // width a flex column keeps while other flex columns can shrink
}

// table writes cells under cols, fitted to the line width. Flex columns
// shrink, widest first, down to their min width and then, if the line is
// still too wide, down to the width of their header. A table whose other
// columns alone are wider than the line overflows it.
func (t *textWriter) table(cols []column, rows [][]string) {
	widths := make([]int, len(cols))
	for i, c := range cols {
		widths[i] = utf8.RuneCountInString(c.header)
	}
	for _, row := range rows {
		for i := range row {
			row[i] = clean(row[i])
			widths[i] = max(widths[i], utf8.RuneCountInString(row[i]))
		}
	}

	const padding = 2
	total := padding * (len(cols) - 1)
	for _, w := range widths {
		total += w
	}
	for _, floor := range []func(column) int{func(c column) int { return c.min }, func(c column) int { return utf8.RuneCountInString(c.header) }} {
		for total > t.width {
			i := widestShrinkable(cols, widths, floor)
			if i < 0 {
				break
			}
			widths[i]--
			total--
		}
	}

	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, 0, 0, padding, ' ', 0)
	writeRow := func(cells []string) {
		for i, cell := range cells {
			if cols[i].flex {
				cell = truncate(cell, widths[i])
			}
			if cols[i].right {
				cell = strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell)) + cell
			}
			if i > 0 {
				tw.Write([]byte{'\t'})
			}
			tw.Write([]byte(cell))
		}
		tw.Write([]byte{'\n'})
	}
	headers := make([]string, len(cols))
	for i, c := range cols {
		headers[i] = c.header
	}
	writeRow(headers)
	for _, row := range rows {
		writeRow(row)
	}
	tw.Flush() // writes to a bytes.Buffer, which cannot fail

	for line := range strings.Lines(out.String()) {
		t.line(strings.TrimRight(line, " \n"))
	}
}

// widestShrinkable returns the widest flex column still above its floor, or
// -1 when none is.
func widestShrinkable(cols []column, widths []int, floor func(column) int) int {
	best := -1
	for i, c := range cols {
		if !c.flex || widths[i] <= max(floor(c), 1) {
			continue
		}
		if best < 0 || widths[i] > widths[best] {
			best = i
		}
	}
	return best
}

// truncate shortens s to n characters, ending in "…" when it cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	if n <= 1 {
		return "…"
	}
	return string([]rune(s)[:n-1]) + "…"
}

// clean replaces control characters and bidirectional overrides, so that
// text from outside cannot move the cursor, change colours or reorder what
// the terminal shows. Line breaks and tabs become spaces.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\r' || r == '\t':
			return ' '
		case unicode.IsControl(r), isBidiControl(r), r == utf8.RuneError:
			return '?'
		}
		return r
	}, s)
}

func isBidiControl(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069) || r == 0x200E || r == 0x200F || r == 0x061C
}

func flagsText(r AddressRow) string {
	var flags []string
	if r.Intel.IsKnownBadActor {
		flags = append(flags, "BAD")
	}
	if r.Intel.LikelyFalsePositive {
		flags = append(flags, "FP")
	}
	if r.Intel.RIOT {
		flags = append(flags, "RIOT")
	}
	for _, feed := range r.Intel.Feeds {
		flags = append(flags, "feed:"+feed)
	}
	return strings.Join(flags, " ")
}

// orgText names the network of an address: the AS number, then the
// organisation or else the AS name, or "-" when nothing is known.
func orgText(r AddressRow) string {
	name := cmp.Or(r.Intel.Org, r.Intel.ASName)
	if r.Intel.ASN != "" {
		return strings.TrimSpace(r.Intel.ASN + " " + name)
	}
	return orDash(name)
}

// sourcesText shows the first two internal sources and how many more there
// are, or the NAT note as it is.
func sourcesText(src []string) string {
	switch {
	case len(src) == 0:
		return "-"
	case len(src) <= 2:
		return strings.Join(src, ", ")
	}
	return fmt.Sprintf("%s, %s +%d", src[0], src[1], len(src)-2)
}

func scoreText(score float64) string {
	return strconv.FormatFloat(score, 'f', 1, 64)
}

func windowText(w Window) string {
	if w.Start == "" && w.End == "" {
		return "-"
	}
	return orDash(w.Start) + " to " + orDash(w.End)
}

// linesText writes the parsed count, then the skipped lines by reason, most
// first.
func linesText(lines map[string]uint64) string {
	type reason struct {
		name  string
		count uint64
	}
	var skipped []reason
	var total uint64
	for name, count := range lines {
		if name == "parsed" {
			continue
		}
		skipped = append(skipped, reason{name, count})
		total += count
	}
	slices.SortFunc(skipped, func(a, b reason) int {
		return cmp.Or(cmp.Compare(b.count, a.count), strings.Compare(a.name, b.name))
	})

	s := fmt.Sprintf("%d parsed", lines["parsed"])
	if len(skipped) == 0 {
		return s + ", none skipped"
	}
	parts := make([]string, len(skipped))
	for i, r := range skipped {
		parts[i] = fmt.Sprintf("%d %s", r.count, r.name)
	}
	return fmt.Sprintf("%s, %d skipped (%s)", s, total, strings.Join(parts, ", "))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
