package feeds

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// addSeeds adds every testdata fixture and the given samples to the seed
// corpus.
func addSeeds(f *testing.F, samples ...string) {
	f.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range samples {
		f.Add([]byte(s))
	}
}

// fuzzParse checks that Parse never panics, fails only on content that is
// not a list, and returns only valid, masked, sorted, unique prefixes.
func fuzzParse(f *testing.F, format Format) {
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Parse(bytes.NewReader(data), format, "")
		if err != nil {
			if !errors.Is(err, ErrHTML) && !errors.Is(err, ErrBinary) {
				t.Fatalf("Parse: unexpected error %v", err)
			}
			return
		}
		checkPrefixes(t, res.Prefixes)
		if len(res.SkippedLines) > MaxSkippedLines || len(res.SkippedLines) > res.Skipped {
			t.Fatalf("%d skipped lines described for %d skipped", len(res.SkippedLines), res.Skipped)
		}
		if res.Duplicates < 0 || res.Masked < 0 {
			t.Fatalf("Duplicates %d, Masked %d", res.Duplicates, res.Masked)
		}
		if res.Lines > bytes.Count(data, []byte{'\n'})+1 {
			t.Fatalf("Lines = %d for %d line ends", res.Lines, bytes.Count(data, []byte{'\n'}))
		}
		if format != FormatAuto && res.Format != format {
			t.Fatalf("Format = %v, want %v", res.Format, format)
		}
	})
}

func FuzzParseList(f *testing.F) {
	addSeeds(f,
		"192.0.2.0/24 ; SBL000001\n2001:db8::/32 ; SBL000002\n; EOF\n",
		"192.0.2.1-192.0.2.9\n198.51.100.0 - 198.51.100.255\n::ffff:192.0.2.1/120\n",
		"192.0.2.0/255.255.255.0\n0.0.0.0/0\n192.0.2.77/24\n",
	)
	fuzzParse(f, FormatList)
}

func FuzzParseSpamhausJSON(f *testing.F) {
	addSeeds(f,
		`{"cidr":"192.0.2.0/24","sblid":"SBL000001","rir":null}`+"\n"+`{"type":"metadata","records":1}`,
		`{"cidr":5}`+"\n"+`{"cidr":"2001:db8::/32"`+"\n",
	)
	fuzzParse(f, FormatSpamhausJSON)
}

func FuzzParseCSV(f *testing.F) {
	addSeeds(f,
		`"first_seen_utc","dst_ip","dst_port"`+"\r\n"+`"2024-01-01","192.0.2.1","443"`+"\r\n",
		"192.0.2.1,443,Example C&C\n\"198.51.100.1\"\"x\",80\n",
	)
	fuzzParse(f, FormatCSV)
}

func FuzzParseTorExit(f *testing.F) {
	addSeeds(f, "ExitNode 01\nPublished 2024-01-01 00:00:00\nExitAddress 192.0.2.1 2024-01-01 00:00:00\n")
	fuzzParse(f, FormatTorExit)
}

func FuzzParseDShield(f *testing.F) {
	addSeeds(f,
		"Start\tEnd\tNetblock\n192.0.2.0\t192.0.2.255\t24\t5\t\t\t\n",
		"192.0.2.0 192.0.2.127\n198.51.100.0\t198.51.100.255\t99\n",
	)
	fuzzParse(f, FormatDShield)
}

func FuzzParseAuto(f *testing.F) {
	addSeeds(f, "\ufeff<html>", "\x1f\x8b", "ExitAddress 192.0.2.1 x\n", "{\"cidr\":\"192.0.2.0/24\"}\n")
	fuzzParse(f, FormatAuto)
}

// FuzzParseConfig checks that ParseConfig never panics and that what it
// accepts is valid.
func FuzzParseConfig(f *testing.F) {
	f.Add("drop=https://feeds.example.net/drop_v4.json;refresh=12h")
	f.Add("tor=/var/lib/tor.txt;kind=info;format=list, local=./x.txt\n# comment\n")
	f.Add("a=b;refresh=-1s;kind=")
	f.Fuzz(func(t *testing.T, value string) {
		configs, err := ParseConfig(value)
		if err != nil {
			return
		}
		if len(configs) > MaxFeeds {
			t.Fatalf("%d feeds accepted", len(configs))
		}
		names := map[string]bool{}
		for _, c := range configs {
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted an invalid feed %+v: %v", c, err)
			}
			if names[c.Name] {
				t.Fatalf("accepted the name %q twice", c.Name)
			}
			names[c.Name] = true
		}
		if _, err := New(configs, Options{}); err != nil {
			t.Fatalf("New rejected what ParseConfig accepted: %v", err)
		}
	})
}
