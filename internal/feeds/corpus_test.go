package feeds

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/threat-intel/threat-intel/internal/corpustest"
)

// corpusDir returns the feed corpus: $THREAT_INTEL_CORPUS/feeds, or
// ../shared/corpus/feeds next to the module root. It fails the test when
// the corpus is missing, because CI always has it.
func corpusDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(corpustest.Dir(t), "feeds")
}

// TestCorpus parses every real feed excerpt with auto-detection and checks
// the entry count and the first and last data entries of each file.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	tests := []struct {
		file        string
		format      Format
		entries     int
		first, last string
		contains    []string
		duplicates  int
		declared    int
		notice      string
	}{
		{
			file: "firehol-level1-2025-08-27.netset", format: FormatList, entries: 50,
			first: "1.10.16.0/20", last: "27.98.192.0/20", declared: 4523,
		},
		{
			// Bare hosts between CIDRs, a host ending in .255, and bogons.
			file: "firehol-level1-2015-11-13.netset", format: FormatList, entries: 66,
			first: "0.0.0.0/8", last: "10.0.0.0/8", contains: []string{"1.93.0.224/32", "5.15.233.255/32", "5.8.62.0/24"},
			declared: 6273,
		},
		{
			file: "spamhaus-drop-2025-01-17.txt", format: FormatList, entries: 50,
			first: "1.10.16.0/20", last: "41.71.128.0/17", declared: -1,
		},
		{
			file: "spamhaus-dropv6-2025-01-15.txt", format: FormatList, entries: 50,
			first: "2001:678:6c4::/48", last: "2a0a:ed80::/29", declared: -1,
		},
		{
			file: "spamhaus-edrop-2023-12-01.txt", format: FormatList, entries: 50,
			first: "2.56.247.0/24", last: "46.148.127.0/24", declared: -1,
		},
		{
			file: "spamhaus-edrop-2024-10-18-merged-stub.txt", format: FormatList, entries: 0,
			declared: -1, notice: "This list has been merged into https://www.spamhaus.org/drop/drop.txt",
		},
		{
			// Line 28 has "rir":null, and the last line is metadata.
			file: "spamhaus-drop_v4-2026-07-23.json", format: FormatSpamhausJSON, entries: 50,
			first: "1.10.16.0/20", last: "27.112.32.0/19", contains: []string{"23.143.16.0/24"}, declared: 1670,
		},
		{
			file: "spamhaus-drop_v6-2024-09-27.quoted.json", format: FormatSpamhausJSON, entries: 1,
			first: "2a14:7c3::/32", last: "2a14:7c3::/32", declared: 78,
		},
		{
			// CRLF, no final line end, and 8.8.8.8 as the first entry.
			file: "feodo-ipblocklist_recommended-2022-07-08.txt", format: FormatList, entries: 50,
			first: "8.8.8.8/32", last: "142.11.212.144/32", declared: 244,
		},
		{
			// Quoted CSV with a header row, and two addresses on two rows
			// each with different ports.
			file: "feodo-ipblocklist-2021-12-20.csv", format: FormatCSV, entries: 50,
			first: "51.178.161.32/32", last: "59.6.7.83/32", contains: []string{"181.143.251.154/32", "87.97.178.92/32"},
			duplicates: 2, declared: 750,
		},
		{
			file: "sslbl-sslipblacklist-2015-10-15.csv", format: FormatCSV, entries: 52,
			first: "104.130.17.100/32", last: "95.215.108.70/32", declared: 83,
		},
		{
			file: "et-compromised-ips.txt", format: FormatList, entries: 50,
			first: "101.100.216.61/32", last: "116.110.23.104/32", declared: -1,
		},
		{
			file: "cins-ci-badguys.txt", format: FormatList, entries: 50,
			first: "1.116.137.50/32", last: "1.183.6.130/32", declared: -1,
		},
		{
			// IPv6 mixed in, and hosts ending in .0.
			file: "blocklist-de-all.txt", format: FormatList, entries: 63,
			first: "1.10.247.163/32", last: "176.221.42.32/32",
			contains: []string{"2001:1284:f502:af33:d86f:afa7:beb7:fdae/128", "2001:41d0:303:6fea::1/128", "192.251.226.0/32"},
			declared: -1,
		},
		{
			file: "tor-exit-addresses-2024-03-12.txt", format: FormatTorExit, entries: 20,
			first: "185.241.208.232/32", last: "217.95.18.115/32", contains: []string{"201.137.252.163/32"}, declared: -1,
		},
		{
			file: "tor-torbulkexitlist.txt", format: FormatList, entries: 50,
			first: "185.241.208.232/32", last: "192.42.116.184/32", declared: -1,
		},
		{
			file: "abuseipdb-blacklist-plaintext-score100.txt", format: FormatList, entries: 57,
			first: "103.215.139.109/32", last: "52.151.24.212/32", contains: []string{"2001:41d0:a:1ac3::/128"}, declared: -1,
		},
		{
			// Tab-separated start, end and prefix length, with empty
			// trailing fields in the second row.
			file: "dshield-block-2015-12-15.intelmq-test.txt", format: FormatDShield, entries: 2,
			first: "43.229.53.0/24", last: "194.63.140.0/24", declared: -1,
		},
	}

	tested := map[string]bool{}
	for _, tc := range tests {
		tested[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			res := parseFile(t, filepath.Join(dir, tc.file), FormatAuto)
			if res.Format != tc.format {
				t.Errorf("Format = %v, want %v", res.Format, tc.format)
			}
			if len(res.Prefixes) != tc.entries {
				t.Errorf("entries = %d, want %d", len(res.Prefixes), tc.entries)
			}
			if res.Skipped != 0 {
				t.Errorf("Skipped = %d, want 0: %v", res.Skipped, res.SkippedLines)
			}
			if res.Duplicates != tc.duplicates {
				t.Errorf("Duplicates = %d, want %d", res.Duplicates, tc.duplicates)
			}
			if res.Declared != tc.declared {
				t.Errorf("Declared = %d, want %d", res.Declared, tc.declared)
			}
			if res.Notice != tc.notice {
				t.Errorf("Notice = %q, want %q", res.Notice, tc.notice)
			}
			var want []string
			if tc.first != "" {
				want = append(want, tc.first, tc.last)
			}
			for _, p := range append(want, tc.contains...) {
				if !slices.Contains(res.Prefixes, netip.MustParsePrefix(p)) {
					t.Errorf("entries lack %s", p)
				}
			}
		})
	}

	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name() != "README.md" && !tested[f.Name()] {
			t.Errorf("corpus file %s has no test case", f.Name())
		}
	}
}

// TestCorpusSameAsExplicitFormat checks that naming the format gives the
// same list as auto-detection.
func TestCorpusSameAsExplicitFormat(t *testing.T) {
	dir := corpusDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if filepath.Ext(path) == ".md" {
			continue
		}
		auto := parseFile(t, path, FormatAuto)
		explicit := parseFile(t, path, auto.Format)
		if !slices.Equal(auto.Prefixes, explicit.Prefixes) {
			t.Errorf("%s: format %v gives %d entries, auto-detection %d", filepath.Base(path), auto.Format, len(explicit.Prefixes), len(auto.Prefixes))
		}
	}
}

// TestCorpusWrongFormat checks that a file read with the wrong explicit
// format yields skipped lines, not a panic or a silent success.
func TestCorpusWrongFormat(t *testing.T) {
	dir := corpusDir(t)
	f, err := os.Open(filepath.Join(dir, "firehol-level1-2025-08-27.netset"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Parse(f, FormatSpamhausJSON, "")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if len(res.Prefixes) != 0 || res.Skipped != 50 {
		t.Errorf("netset read as JSON: %d entries, %d skipped, want 0 and 50", len(res.Prefixes), res.Skipped)
	}
}
