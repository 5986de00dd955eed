package cli

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/corpustest"
)

func TestReportShowsFeedListing(t *testing.T) {
	feed := writeFile(t, "blocked.txt", []byte("# addresses seen in our honeypot\n203.0.113.45\n"))
	environ := []string{"FEEDS=honeypot=" + feed}

	r := run(t, "", environ, "report", sampleLog, "--json")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		Summary struct {
			KnownBadActorsInbound int `json:"known_bad_actors_inbound"`
		} `json:"summary"`
		BlockedIPs []struct {
			IP    string `json:"ip"`
			Intel struct {
				Feeds           []string `json:"feeds"`
				CompositeScore  float64  `json:"composite_score"`
				IsKnownBadActor bool     `json:"is_known_bad_actor"`
			} `json:"intel"`
		} `json:"blocked_ips"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	top := rep.BlockedIPs[0]
	if top.IP != "203.0.113.45" || len(top.Intel.Feeds) != 1 || top.Intel.Feeds[0] != "honeypot" {
		t.Fatalf("top blocked = %+v, want 203.0.113.45 listed on honeypot", top)
	}
	if top.Intel.CompositeScore != 25 || !top.Intel.IsKnownBadActor {
		t.Errorf("score %v, bad actor %v; want the feed's 25 points and a bad actor", top.Intel.CompositeScore, top.Intel.IsKnownBadActor)
	}
	if rep.Summary.KnownBadActorsInbound != 1 {
		t.Errorf("known_bad_actors_inbound = %d, want 1", rep.Summary.KnownBadActorsInbound)
	}

	text := run(t, "", environ, "report", sampleLog)
	if !strings.Contains(text.stdout, "feed:honeypot") {
		t.Errorf("text report does not flag the feed listing:\n%s", text.stdout)
	}
}

func TestLookupUsesGeoIPOffline(t *testing.T) {
	mmdb := filepath.Join(corpustest.Dir(t), "mmdb")
	environ := []string{
		"GEOIP_ASN_DB=" + filepath.Join(mmdb, "GeoLite2-ASN-Test.mmdb"),
		"GEOIP_COUNTRY_DB=" + filepath.Join(mmdb, "GeoLite2-Country-Test.mmdb"),
	}
	// 1.0.0.0/24 is AS15169 (Google) in the MaxMind test database.
	r := run(t, "", environ, "lookup", "--json", "1.0.0.1")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var records []struct {
		ASN                 string `json:"asn"`
		ASName              string `json:"as_name"`
		LikelyFalsePositive bool   `json:"likely_false_positive"`
		Explanation         struct {
			Sources []string `json:"sources"`
		} `json:"explanation"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &records); err != nil {
		t.Fatal(err)
	}
	got := records[0]
	if got.ASN != "AS15169" || got.ASName == "" || !got.LikelyFalsePositive {
		t.Errorf("record = %+v, want AS15169 from the local database and a likely false positive", got)
	}
	if len(got.Explanation.Sources) != 1 || got.Explanation.Sources[0] != "geoip" {
		t.Errorf("sources = %v, want only geoip", got.Explanation.Sources)
	}

	table := run(t, "", environ, "lookup", "1.0.0.1")
	if !strings.Contains(table.stdout, "AS15169") {
		t.Errorf("lookup table lacks the ASN:\n%s", table.stdout)
	}
}

func TestBadLocalIntelSettings(t *testing.T) {
	tests := []struct {
		name    string
		environ []string
		want    string
	}{
		{"missing database", []string{"GEOIP_ASN_DB=/nonexistent/GeoLite2-ASN.mmdb"}, "GEOIP_ASN_DB"},
		{"bad feed definition", []string{"FEEDS=bad name=/tmp/x"}, "FEEDS"},
		{"missing feeds file", []string{"FEEDS=@/nonexistent/feeds.txt"}, "FEEDS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, "", tt.environ, "lookup", "203.0.113.7")
			if r.code == exitOK || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want a failure naming %s", r.code, r.stderr, tt.want)
			}
		})
	}
}
