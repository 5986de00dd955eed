package feeds

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  []Config
	}{
		{
			name:  "empty",
			value: "",
			want:  nil,
		},
		{
			name:  "url with defaults",
			value: "drop=https://feeds.example.net/drop_v4.json",
			want: []Config{{Name: "drop", Location: "https://feeds.example.net/drop_v4.json",
				Kind: Malicious, Refresh: DefaultURLRefresh, Format: FormatAuto}},
		},
		{
			name:  "file with defaults",
			value: "local=/etc/threat-intel/blocked.txt",
			want: []Config{{Name: "local", Location: "/etc/threat-intel/blocked.txt",
				Kind: Malicious, Refresh: DefaultFileRefresh, Format: FormatAuto}},
		},
		{
			name:  "all options",
			value: "tor=http://feeds.example.net/exits; kind=info ;refresh=1h30m;format=tor-exit",
			want: []Config{{Name: "tor", Location: "http://feeds.example.net/exits",
				Kind: Info, Refresh: 90 * time.Minute, Format: FormatTorExit}},
		},
		{
			name:  "option keys and values are case-insensitive",
			value: "tor=data/exits.txt;KIND=Info;Format=NetSet",
			want: []Config{{Name: "tor", Location: "data/exits.txt",
				Kind: Info, Refresh: DefaultFileRefresh, Format: FormatList}},
		},
		{
			name: "several feeds on lines and after commas, with comments",
			value: `
# Blocklists
firehol=https://feeds.example.net/level1.netset;refresh=1h, drop=https://feeds.example.net/drop.txt;format=spamhaus

  tor=/var/lib/feeds/tor.txt;kind=info;refresh=30s
`,
			want: []Config{
				{Name: "firehol", Location: "https://feeds.example.net/level1.netset", Kind: Malicious, Refresh: time.Hour, Format: FormatAuto},
				{Name: "drop", Location: "https://feeds.example.net/drop.txt", Kind: Malicious, Refresh: DefaultURLRefresh, Format: FormatList},
				{Name: "tor", Location: "/var/lib/feeds/tor.txt", Kind: Info, Refresh: 30 * time.Second, Format: FormatAuto},
			},
		},
		{
			name:  "url with query and trailing semicolon",
			value: "abuse=https://feeds.example.net/list?min=100&plain;",
			want: []Config{{Name: "abuse", Location: "https://feeds.example.net/list?min=100&plain",
				Kind: Malicious, Refresh: DefaultURLRefresh, Format: FormatAuto}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfig(tc.value)
			if err != nil {
				t.Fatalf("ParseConfig: %v", err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("ParseConfig =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestParseConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string
	}{
		{"missing name", "https://feeds.example.net/list.txt", `feed 1: "https://feeds.example.net/list.txt": want name=URL or name=path`},
		{"empty name", "=https://feeds.example.net/list.txt", "feed 1: name is empty"},
		{"bad name", "my feed=/tmp/x", `feed 1: name "my feed": use only letters, digits`},
		{"long name", strings.Repeat("n", 65) + "=/tmp/x", "is longer than 64 characters"},
		{"empty location", "drop=", "feed 1 (drop): location is empty"},
		{"unsupported scheme", "drop=ftp://feeds.example.net/drop.txt", `feed 1 (drop): location "ftp://feeds.example.net/drop.txt": want an http:// or https:// URL`},
		{"url without host", "drop=https:///drop.txt", "want an http:// or https:// URL with a host"},
		{"bad kind", "drop=/tmp/x;kind=evil", `feed 1 (drop): unknown kind "evil": want malicious or info`},
		{"bad format", "drop=/tmp/x;format=yaml", `feed 1 (drop): unknown format "yaml": want one of auto, list, spamhaus-json, csv, tor-exit, dshield`},
		{"bad refresh", "drop=/tmp/x;refresh=6x", `feed 1 (drop): refresh "6x": want a duration such as 6h or 30m`},
		{"refresh too short for url", "drop=https://feeds.example.net/d;refresh=1m", "feed 1 (drop): refresh 1m0s is below the minimum of 15m0s for URLs"},
		{"refresh too short for file", "drop=/tmp/x;refresh=1s", "feed 1 (drop): refresh 1s is below the minimum of 10s for files"},
		{"unknown option", "drop=/tmp/x;points=30", `feed 1 (drop): unknown option "points": want kind, refresh or format`},
		{"option without value", "drop=/tmp/x;info", `feed 1 (drop): option "info": want key=value`},
		{"option twice", "drop=/tmp/x;kind=info;kind=malicious", "feed 1 (drop): option kind is set twice"},
		{"duplicate name", "a=/tmp/x\nb=/tmp/y,a=/tmp/z", "feed 3 (a): name is already used by feed 1"},
		{"error in later feed", "a=/tmp/x\nb=/tmp/y;kind=bad", "feed 2 (b): unknown kind"},
		{"password redacted", "https://user:secret@feeds.example.net/x", "feed 1: \"https://user:xxxxx@feeds.example.net/x\""},
		{"query value redacted", "drop=ftp://feeds.example.net/x?key=secret", `location "ftp://feeds.example.net/x?key=REDACTED"`},
		{"too many feeds", manyFeeds(MaxFeeds + 1), "65 feeds configured: at most 64 are supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseConfig(tc.value)
			if err == nil {
				t.Fatalf("ParseConfig(%q) returned no error, want %q", tc.value, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseConfig error = %q, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q contains the secret", err)
			}
		})
	}
}

func manyFeeds(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "feed%d=/tmp/feed%d.txt\n", i, i)
	}
	return b.String()
}

func TestParseConfigMaxFeeds(t *testing.T) {
	configs, err := ParseConfig(manyFeeds(MaxFeeds))
	if err != nil {
		t.Fatalf("ParseConfig with %d feeds: %v", MaxFeeds, err)
	}
	if len(configs) != MaxFeeds {
		t.Errorf("got %d feeds, want %d", len(configs), MaxFeeds)
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range []Kind{Malicious, Info} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v, want %v", k.String(), got, err, k)
		}
	}
	if _, err := ParseKind("bad"); err == nil {
		t.Error("ParseKind(bad) returned no error")
	}
}
