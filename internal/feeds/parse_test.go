package feeds

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func parseString(t *testing.T, content string, format Format) Result {
	t.Helper()
	res, err := Parse(strings.NewReader(content), format, "")
	if err != nil {
		t.Fatalf("Parse(%q): %v", content, err)
	}
	checkPrefixes(t, res.Prefixes)
	return res
}

func parseFile(t *testing.T, path string, format Format) Result {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Parse(f, format, filepath.Base(path))
	if err != nil {
		t.Fatalf("Parse(%s): %v", path, err)
	}
	checkPrefixes(t, res.Prefixes)
	return res
}

// checkPrefixes fails unless every prefix is valid, masked, not /0,
// without a zone, unmapped, and the list is sorted without duplicates.
func checkPrefixes(t testing.TB, prefixes []netip.Prefix) {
	t.Helper()
	for i, p := range prefixes {
		switch {
		case !p.IsValid():
			t.Fatalf("prefix %d is invalid", i)
		case p != p.Masked():
			t.Fatalf("prefix %s is not masked", p)
		case p.Bits() == 0:
			t.Fatalf("prefix %s covers every address", p)
		case p.Addr().Is4In6():
			t.Fatalf("prefix %s is IPv4-mapped", p)
		case p.Addr().Zone() != "":
			t.Fatalf("prefix %s has a zone", p)
		}
		if i > 0 && comparePrefixes(prefixes[i-1], p) >= 0 {
			t.Fatalf("prefixes %s and %s are out of order or repeated", prefixes[i-1], p)
		}
	}
}

func prefixStrings(prefixes []netip.Prefix) []string {
	out := make([]string, len(prefixes))
	for i, p := range prefixes {
		out[i] = p.String()
	}
	return out
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name     string
		content  string
		want     []string
		skipped  int
		masked   int
		declared int
	}{
		{
			name:     "empty",
			content:  "",
			want:     []string{},
			declared: -1,
		},
		{
			name:     "only comments",
			content:  "# header\n; EOF\n",
			want:     []string{},
			declared: -1,
		},
		{
			name:     "crlf and bom",
			content:  "\ufeff192.0.2.1\r\n198.51.100.0/24\r\n",
			want:     []string{"192.0.2.1/32", "198.51.100.0/24"},
			declared: -1,
		},
		{
			name:     "no final newline",
			content:  "192.0.2.1\n192.0.2.2",
			want:     []string{"192.0.2.1/32", "192.0.2.2/32"},
			declared: -1,
		},
		{
			name:     "comments containing addresses",
			content:  "# 192.0.2.1\n; 192.0.2.2\n// 192.0.2.3\n  # 192.0.2.4 indented\n198.51.100.1\n",
			want:     []string{"198.51.100.1/32"},
			declared: -1,
		},
		{
			name:     "inline comments",
			content:  "198.51.100.0/24 ; SBL000001\n192.0.2.5 # 203.0.113.9\n192.0.2.6#203.0.113.10\n192.0.2.7 | note\n192.0.2.8,extra\n",
			want:     []string{"192.0.2.5/32", "192.0.2.6/32", "192.0.2.7/32", "192.0.2.8/32", "198.51.100.0/24"},
			declared: -1,
		},
		{
			name:     "ranges",
			content:  "192.0.2.0-192.0.2.255\n198.51.100.10 - 198.51.100.20\n2001:db8::-2001:db8::3\n203.0.113.5-203.0.113.5\n",
			want:     []string{"192.0.2.0/24", "198.51.100.10/31", "198.51.100.12/30", "198.51.100.16/30", "198.51.100.20/32", "203.0.113.5/32", "2001:db8::/126"},
			declared: -1,
		},
		{
			name:     "ipv6 in an ipv4 list",
			content:  "192.0.2.1\n2001:db8::1\n2001:db8:1::/48\n198.51.100.1\n",
			want:     []string{"192.0.2.1/32", "198.51.100.1/32", "2001:db8::1/128", "2001:db8:1::/48"},
			declared: -1,
		},
		{
			name:     "bare hosts and cidr mixed",
			content:  "192.0.2.0/24\n198.51.100.255\n198.51.100.0\n203.0.113.1/32\n",
			want:     []string{"192.0.2.0/24", "198.51.100.0/32", "198.51.100.255/32", "203.0.113.1/32"},
			declared: -1,
		},
		{
			name:     "host bits masked",
			content:  "192.0.2.77/24\n2001:db8::1/32\n198.51.100.0/24\n",
			want:     []string{"192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"},
			masked:   2,
			declared: -1,
		},
		{
			name:     "dotted netmask",
			content:  "192.0.2.0/255.255.255.0\n198.51.100.0/255.255.255.128\n",
			want:     []string{"192.0.2.0/24", "198.51.100.0/25"},
			declared: -1,
		},
		{
			name:     "ipv4-mapped ipv6",
			content:  "::ffff:192.0.2.1\n::ffff:198.51.100.0/120\n",
			want:     []string{"192.0.2.1/32", "198.51.100.0/24"},
			declared: -1,
		},
		{
			name:     "private and bogon ranges kept",
			content:  "0.0.0.0/8\n10.0.0.0/8\n192.168.0.0/16\nfc00::/7\n",
			want:     []string{"0.0.0.0/8", "10.0.0.0/8", "192.168.0.0/16", "fc00::/7"},
			declared: -1,
		},
		{
			name:     "invalid lines skipped",
			content:  "not-an-address\n192.0.2.256\n010.0.2.1\n192.0.2.1/33\n192.0.2.9-192.0.2.1\n192.0.2.1-2001:db8::1\nfe80::1%eth0\n192.0.2.0/255.0.255.0\n192.0.2.10\n",
			want:     []string{"192.0.2.10/32"},
			skipped:  8,
			declared: -1,
		},
		{
			name:     "whole address space refused",
			content:  "0.0.0.0/0\n::/0\n0.0.0.0-255.255.255.255\n192.0.2.1\n",
			want:     []string{"192.0.2.1/32"},
			skipped:  3,
			declared: -1,
		},
		{
			name:     "footer count",
			content:  "192.0.2.1\n# END 1 entries",
			want:     []string{"192.0.2.1/32"},
			declared: 1,
		},
		{
			name:     "header count",
			content:  "# Entries         : 4523 subnets, 612596352 unique IPs\n192.0.2.0/24\n",
			want:     []string{"192.0.2.0/24"},
			declared: 4523,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseString(t, tc.content, FormatList)
			if got := prefixStrings(res.Prefixes); !slices.Equal(got, tc.want) {
				t.Errorf("prefixes = %q, want %q", got, tc.want)
			}
			if res.Skipped != tc.skipped {
				t.Errorf("Skipped = %d, want %d (%v)", res.Skipped, tc.skipped, res.SkippedLines)
			}
			if res.Masked != tc.masked {
				t.Errorf("Masked = %d, want %d", res.Masked, tc.masked)
			}
			if res.Declared != tc.declared {
				t.Errorf("Declared = %d, want %d", res.Declared, tc.declared)
			}
		})
	}
}

func TestParseSkippedLines(t *testing.T) {
	content := "192.0.2.1\nbad1\n192.0.2.2\nbad2\nbad3\nbad4\nbad5\nbad6\nbad7\n"
	res := parseString(t, content, FormatList)
	if res.Skipped != 7 {
		t.Errorf("Skipped = %d, want 7", res.Skipped)
	}
	if len(res.SkippedLines) != MaxSkippedLines {
		t.Fatalf("SkippedLines has %d entries, want %d", len(res.SkippedLines), MaxSkippedLines)
	}
	first := res.SkippedLines[0]
	if first.Line != 2 {
		t.Errorf("first skipped line = %d, want 2", first.Line)
	}
	if want := `invalid address "bad1"`; first.Reason != want {
		t.Errorf("first reason = %q, want %q", first.Reason, want)
	}
	if got, want := res.SkippedLines[1].String(), `line 4: invalid address "bad2"`; got != want {
		t.Errorf("second skipped line = %q, want %q", got, want)
	}
}

func TestParseDuplicates(t *testing.T) {
	res := parseString(t, "192.0.2.1\n192.0.2.1\n192.0.2.0/24\n192.0.2.0/24\n192.0.2.1/32\n", FormatList)
	if got, want := prefixStrings(res.Prefixes), []string{"192.0.2.0/24", "192.0.2.1/32"}; !slices.Equal(got, want) {
		t.Errorf("prefixes = %q, want %q", got, want)
	}
	if res.Duplicates != 3 {
		t.Errorf("Duplicates = %d, want 3", res.Duplicates)
	}
}

func TestParseLongLine(t *testing.T) {
	content := "192.0.2.1\n" + strings.Repeat("9", 100_000) + "\n192.0.2.2\n"
	res := parseString(t, content, FormatList)
	if got, want := prefixStrings(res.Prefixes), []string{"192.0.2.1/32", "192.0.2.2/32"}; !slices.Equal(got, want) {
		t.Errorf("prefixes = %q, want %q", got, want)
	}
	if res.Skipped != 1 || res.SkippedLines[0].Line != 2 || res.SkippedLines[0].Reason != tooLongReason {
		t.Errorf("skipped = %d %v, want one at line 2: %s", res.Skipped, res.SkippedLines, tooLongReason)
	}
	if res.Lines != 3 {
		t.Errorf("Lines = %d, want 3", res.Lines)
	}
}

func TestParseNotice(t *testing.T) {
	tests := []struct {
		name, content, want string
	}{
		{"merged", "; This list has been merged into https://example.net/drop.txt\n; EOF\n", "This list has been merged into https://example.net/drop.txt"},
		{"deprecated", "# ATTENTION: This list has been deprecated on 2025-01-03\n", "ATTENTION: This list has been deprecated on 2025-01-03"},
		{"none", "# Example list\n192.0.2.1\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseString(t, tc.content, FormatAuto)
			if res.Notice != tc.want {
				t.Errorf("Notice = %q, want %q", res.Notice, tc.want)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name    string
		content string
		format  Format
		want    error
	}{
		{"html page", "<!DOCTYPE html>\n<html><body>192.0.2.1</body></html>", FormatAuto, ErrHTML},
		{"html after blank lines", "\r\n\r\n  <html>\n", FormatList, ErrHTML},
		{"html with bom", "\ufeff<html>", FormatCSV, ErrHTML},
		{"xml", "<?xml version=\"1.0\"?><error/>", FormatSpamhausJSON, ErrHTML},
		{"gzip", "\x1f\x8b\x08\x00\x00\x00\x00\x00", FormatAuto, ErrBinary},
		{"nul bytes", "192.0.2.1\n\x00\x00\x00", FormatList, ErrBinary},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(strings.NewReader(tc.content), tc.format, "")
			if !errors.Is(err, tc.want) {
				t.Errorf("Parse error = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseUnknownFormat(t *testing.T) {
	_, err := Parse(strings.NewReader("192.0.2.1\n"), Format(200), "")
	if err == nil || !strings.Contains(err.Error(), "unknown format") {
		t.Errorf("Parse error = %v, want unknown format", err)
	}
}

func TestParseCSV(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string
		skipped int
	}{
		{
			name:    "quoted with header",
			content: "\"first_seen_utc\",\"dst_ip\",\"dst_port\"\r\n\"2024-01-01 00:00:00\",\"192.0.2.1\",\"443\"\r\n",
			want:    []string{"192.0.2.1/32"},
		},
		{
			name:    "header column not first",
			content: "port,IP_Address,reason\n443,198.51.100.1,example\n80,192.0.2.1,example\n",
			want:    []string{"192.0.2.1/32", "198.51.100.1/32"},
		},
		{
			name:    "no header",
			content: "192.0.2.1,443,Example C&C\n198.51.100.2,80,Example C&C\n",
			want:    []string{"192.0.2.1/32", "198.51.100.2/32"},
		},
		{
			name:    "unknown header names",
			content: "when,where\n2024-01-01,192.0.2.1\n",
			want:    []string{"192.0.2.1/32"},
			skipped: 1,
		},
		{
			name:    "commented header ignored",
			content: "# DstIP,DstPort\n192.0.2.1,443,Example\n",
			want:    []string{"192.0.2.1/32"},
		},
		{
			name:    "short row",
			content: "\"first_seen_utc\",\"dst_ip\"\n\"2024-01-01\"\n\"2024-01-01\",\"192.0.2.3\"\n",
			want:    []string{"192.0.2.3/32"},
			skipped: 1,
		},
		{
			name:    "unterminated quote",
			content: "dst_ip\n\"192.0.2.1\n192.0.2.2\n",
			want:    []string{"192.0.2.2/32"},
			skipped: 1,
		},
		{
			name:    "text after a quoted field",
			content: "dst_ip,port\n\"192.0.2.1\"x,443\n\"192.0.2.2\" ,443\n",
			want:    []string{"192.0.2.2/32"},
			skipped: 1,
		},
		{
			name:    "invalid address",
			content: "dst_ip\n192.0.2.300\n2001:db8::7\n",
			want:    []string{"2001:db8::7/128"},
			skipped: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := parseString(t, tc.content, FormatCSV)
			if got := prefixStrings(res.Prefixes); !slices.Equal(got, tc.want) {
				t.Errorf("prefixes = %q, want %q", got, tc.want)
			}
			if res.Skipped != tc.skipped {
				t.Errorf("Skipped = %d, want %d (%v)", res.Skipped, tc.skipped, res.SkippedLines)
			}
		})
	}
}

func TestParseSpamhausJSON(t *testing.T) {
	content := `{"cidr":"192.0.2.0/24","sblid":"SBL000001","rir":"arin"}
{"cidr":"198.51.100.0/24","sblid":"SBL000002","rir":null}

not json
{"cidr":"203.0.113.0/24",
{"sblid":"SBL000004"}
{"cidr":"2001:db8::/33","sblid":"SBL000005","rir":"ripencc"}
{"cidr":"192.0.2.300/24"}
{"type":"metadata","timestamp":1700000000,"size":100,"records":6}
`
	res := parseString(t, content, FormatSpamhausJSON)
	if got, want := prefixStrings(res.Prefixes), []string{"192.0.2.0/24", "198.51.100.0/24", "2001:db8::/33"}; !slices.Equal(got, want) {
		t.Errorf("prefixes = %q, want %q", got, want)
	}
	if res.Skipped != 4 {
		t.Errorf("Skipped = %d, want 4 (%v)", res.Skipped, res.SkippedLines)
	}
	if res.Declared != 6 {
		t.Errorf("Declared = %d, want 6", res.Declared)
	}
	wantLines := []int{4, 5, 6, 8}
	for i, s := range res.SkippedLines {
		if s.Line != wantLines[i] {
			t.Errorf("skipped line %d = %d, want %d (%s)", i, s.Line, wantLines[i], s.Reason)
		}
	}
}

func TestParseTorExit(t *testing.T) {
	content := "ExitNode 0000000000000000000000000000000000000001\n" +
		"Published 2024-01-01 00:00:00\n" +
		"LastStatus 2024-01-01 01:00:00\n" +
		"ExitAddress 192.0.2.40 2024-01-01 01:05:00\n" +
		"ExitAddress 198.51.100.41 2023-12-29 10:00:00\n" +
		"ExitAddress 192.0.2.40 2024-01-01 02:00:00\n" +
		"ExitAddress not-an-ip 2024-01-01 02:00:00\n" +
		"Bogus line\n"
	res := parseString(t, content, FormatTorExit)
	if got, want := prefixStrings(res.Prefixes), []string{"192.0.2.40/32", "198.51.100.41/32"}; !slices.Equal(got, want) {
		t.Errorf("prefixes = %q, want %q", got, want)
	}
	if res.Duplicates != 1 {
		t.Errorf("Duplicates = %d, want 1", res.Duplicates)
	}
	if res.Skipped != 2 {
		t.Errorf("Skipped = %d, want 2 (%v)", res.Skipped, res.SkippedLines)
	}
}

func TestParseDShield(t *testing.T) {
	content := "\n\n# Example block list\n" +
		"Start\tEnd\tNetblock\tAttacks\tName\tCountry\temail\n" +
		"192.0.2.0\t192.0.2.255\t24\t100\tExample\tZZ\tabuse@example.net\n" +
		"198.51.100.0\t198.51.100.255\t24\t50\t\t\t\n" +
		"203.0.113.0\t203.0.113.127\t24\t10\t\t\t\n" +
		"203.0.113.128\t203.0.113.191\n" +
		"203.0.113.200\t203.0.113.1\n" +
		"203.0.113.0\tnot-an-ip\t24\n" +
		"bad\tbad\t24\n" +
		"198.51.100.0\t198.51.100.255\t40\n" +
		"192.0.2.0\t2001:db8::ff\t24\n" +
		"2001:db8::\t2001:db8::ffff:ffff:ffff:ffff:ffff\t48\n" +
		"2001:db8:1::\t2001:db8:1::ff\n" +
		"# END\n\n"
	res := parseString(t, content, FormatDShield)
	if got, want := prefixStrings(res.Prefixes), []string{"192.0.2.0/24", "198.51.100.0/24", "203.0.113.128/26", "2001:db8::/48", "2001:db8:1::/120"}; !slices.Equal(got, want) {
		t.Errorf("prefixes = %q, want %q", got, want)
	}
	if res.Skipped != 6 {
		t.Errorf("Skipped = %d, want 6 (%v)", res.Skipped, res.SkippedLines)
	}
	if want := "start 203.0.113.0, end 203.0.113.127 and prefix length 24 disagree"; len(res.SkippedLines) == 0 || res.SkippedLines[0].Reason != want {
		t.Errorf("first skipped = %v, want %q", res.SkippedLines, want)
	}
}

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		name    string
		content string
		file    string
		want    Format
	}{
		{"netset", "#\n# firehol_level1\n#\n192.0.2.0/24\n", "", FormatList},
		{"spamhaus text", "; Spamhaus DROP List\n192.0.2.0/24 ; SBL000001\n", "", FormatList},
		{"spamhaus json", `{"cidr":"192.0.2.0/24","sblid":"SBL000001","rir":"arin"}` + "\n", "", FormatSpamhausJSON},
		{"quoted csv", "# header\n\"first_seen_utc\",\"dst_ip\"\n", "", FormatCSV},
		{"unquoted csv", "# header\n192.0.2.1,443,Example C&C\n", "", FormatCSV},
		{"tor exit", "ExitNode 0000000000000000000000000000000000000001\n", "", FormatTorExit},
		{"tordnsel header", "@type tordnsel 1.0\nExitNode 01\n", "", FormatTorExit},
		{"dshield title", "#\nStart\tEnd\tNetblock\n", "", FormatDShield},
		{"dshield row", "192.0.2.0\t192.0.2.255\t24\n", "", FormatDShield},
		{"plain ips", "192.0.2.1\n2001:db8::1\n", "", FormatList},
		{"empty json file", "", "drop_v4.json", FormatSpamhausJSON},
		{"empty csv file", "# no rows\n", "https://example.net/list.csv", FormatCSV},
		{"empty txt file", "", "list.txt", FormatList},
		{"content beats extension", "192.0.2.1\n", "list.json", FormatList},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := detectFormat([]byte(tc.content), tc.file); got != tc.want {
				t.Errorf("detectFormat = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	tests := []struct {
		in   string
		want Format
	}{
		{"auto", FormatAuto},
		{"list", FormatList},
		{"netset", FormatList},
		{"Spamhaus", FormatList},
		{"spamhaus-json", FormatSpamhausJSON},
		{"csv", FormatCSV},
		{"tor-exit", FormatTorExit},
		{"dshield", FormatDShield},
	}
	for _, tc := range tests {
		got, err := ParseFormat(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %v, %v, want %v", tc.in, got, err, tc.want)
		}
		if back, err := ParseFormat(got.String()); err != nil || back != got {
			t.Errorf("ParseFormat(%q.String()) = %v, %v", tc.in, back, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "want one of auto, list") {
		t.Errorf("ParseFormat(yaml) error = %v, want one listing the formats", err)
	}
}

func TestParseFixtures(t *testing.T) {
	tests := []struct {
		file       string
		format     Format
		want       []string
		skipped    int
		duplicates int
		masked     int
		declared   int
		notice     string
	}{
		{
			file:   "list-traps.txt",
			format: FormatList,
			want: []string{"192.0.2.0/32", "192.0.2.1/32", "198.51.100.0/24", "203.0.113.64/28",
				"203.0.113.100/30", "203.0.113.200/31", "2001:db8::1/128", "2001:db8:1::/48"},
			skipped: 1, duplicates: 1, masked: 1, declared: 10,
		},
		{
			file:    "feodo-style.csv",
			format:  FormatCSV,
			want:    []string{"192.0.2.10/32", "198.51.100.20/32", "2001:db8::10/128"},
			skipped: 0, duplicates: 1, declared: 4,
		},
		{
			file:     "sslbl-style.csv",
			format:   FormatCSV,
			want:     []string{"192.0.2.30/32", "198.51.100.31/32"},
			declared: 2,
		},
		{
			file:     "drop-style.json",
			format:   FormatSpamhausJSON,
			want:     []string{"192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"},
			declared: 3,
		},
		{
			file:       "exit-addresses.txt",
			format:     FormatTorExit,
			want:       []string{"192.0.2.40/32", "198.51.100.41/32"},
			duplicates: 1, declared: -1,
		},
		{
			file:     "block.txt",
			format:   FormatDShield,
			want:     []string{"192.0.2.0/24", "198.51.100.0/24"},
			skipped:  1,
			declared: -1,
		},
		{
			file:     "edrop-style-stub.txt",
			format:   FormatList,
			want:     []string{},
			declared: -1,
			notice:   "This list has been merged into https://example.net/drop.txt",
		},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			res := parseFile(t, filepath.Join("testdata", tc.file), FormatAuto)
			if res.Format != tc.format {
				t.Errorf("Format = %v, want %v", res.Format, tc.format)
			}
			if got := prefixStrings(res.Prefixes); !slices.Equal(got, tc.want) {
				t.Errorf("prefixes = %q, want %q", got, tc.want)
			}
			if res.Skipped != tc.skipped {
				t.Errorf("Skipped = %d, want %d (%v)", res.Skipped, tc.skipped, res.SkippedLines)
			}
			if res.Duplicates != tc.duplicates {
				t.Errorf("Duplicates = %d, want %d", res.Duplicates, tc.duplicates)
			}
			if res.Masked != tc.masked {
				t.Errorf("Masked = %d, want %d", res.Masked, tc.masked)
			}
			if res.Declared != tc.declared {
				t.Errorf("Declared = %d, want %d", res.Declared, tc.declared)
			}
			if res.Notice != tc.notice {
				t.Errorf("Notice = %q, want %q", res.Notice, tc.notice)
			}
		})
	}
}

func TestParseFixtureHTML(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "page.html"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Parse(f, FormatAuto, "page.html"); !errors.Is(err, ErrHTML) {
		t.Errorf("Parse(page.html) error = %v, want ErrHTML", err)
	}
}

func TestRangePrefixes(t *testing.T) {
	tests := []struct {
		first, last string
		want        []string
	}{
		{"192.0.2.0", "192.0.2.255", []string{"192.0.2.0/24"}},
		{"192.0.2.1", "192.0.2.1", []string{"192.0.2.1/32"}},
		{"192.0.2.1", "192.0.2.6", []string{"192.0.2.1/32", "192.0.2.2/31", "192.0.2.4/31", "192.0.2.6/32"}},
		{"255.255.255.254", "255.255.255.255", []string{"255.255.255.254/31"}},
		{"0.0.0.0", "127.255.255.255", []string{"0.0.0.0/1"}},
		{"2001:db8::ffff", "2001:db8::1:0", []string{"2001:db8::ffff/128", "2001:db8::1:0/128"}},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127"}},
	}
	for _, tc := range tests {
		var got []string
		rangePrefixes(netip.MustParseAddr(tc.first), netip.MustParseAddr(tc.last), func(p netip.Prefix) {
			got = append(got, p.String())
		})
		if !slices.Equal(got, tc.want) {
			t.Errorf("rangePrefixes(%s, %s) = %q, want %q", tc.first, tc.last, got, tc.want)
		}
	}
}
