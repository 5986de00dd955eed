package scoring

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/intel"
)

func TestLocalIntelligence(t *testing.T) {
	addr := netip.MustParseAddr("203.0.113.50")
	notObserved := &intel.GreyNoiseResult{Classification: "unknown"}
	tests := []struct {
		name        string
		lookup      intel.Lookup
		dir         Direction
		wantScore   float64
		wantBad     bool
		wantFP      bool
		wantCountry string
		wantASN     string
		wantOrg     string
		wantFeeds   []string
		wantSource  intel.Provider
	}{
		{
			name: "geoip stands in for IPinfo",
			lookup: intel.Lookup{Addr: addr, Status: map[intel.Provider]intel.Status{intel.IPinfo: intel.StatusSkippedNoKey},
				GeoIP: &intel.GeoIPResult{CountryCode: "de", ASN: "AS64500", ASName: "Example Hosting"}},
			dir: Inbound, wantCountry: "DE", wantASN: "AS64500", wantOrg: "Example Hosting", wantSource: intel.GeoIP,
		},
		{
			name: "IPinfo wins over geoip",
			lookup: intel.Lookup{Addr: addr, Status: map[intel.Provider]intel.Status{intel.IPinfo: intel.StatusOK},
				IPinfo: &intel.IPinfoResult{CountryCode: "NL", ASN: "AS64501", ASName: "Other Net"},
				GeoIP:  &intel.GeoIPResult{CountryCode: "DE", ASN: "AS64500", ASName: "Example Hosting"}},
			dir: Inbound, wantCountry: "NL", wantASN: "AS64501", wantOrg: "Other Net",
		},
		{
			name:   "benign network found offline by ASN",
			lookup: intel.Lookup{Addr: addr, GeoIP: &intel.GeoIPResult{CountryCode: "US", ASN: "AS15169", ASName: "Google LLC"}},
			dir:    Inbound, wantFP: true, wantCountry: "US", wantASN: "AS15169", wantOrg: "Google LLC",
		},
		{
			name: "malicious feed adds points and makes a bad actor",
			lookup: intel.Lookup{Addr: addr, Status: map[intel.Provider]intel.Status{intel.GreyNoise: intel.StatusNotFound},
				GreyNoise: notObserved, Feeds: []intel.FeedMatch{{Name: "spamhaus-drop", Kind: intel.FeedMalicious}, {Name: "firehol", Kind: intel.FeedMalicious}}},
			dir: Inbound, wantScore: 30, wantBad: true, wantFeeds: []string{"spamhaus-drop", "firehol"}, wantSource: intel.Feeds,
		},
		{
			name:   "malicious feed flags an outbound destination",
			lookup: intel.Lookup{Addr: addr, Feeds: []intel.FeedMatch{{Name: "feodo", Kind: intel.FeedMalicious}}},
			dir:    Outbound, wantScore: 25, wantBad: true, wantFeeds: []string{"feodo"},
		},
		{
			name:   "info feed only tags",
			lookup: intel.Lookup{Addr: addr, Feeds: []intel.FeedMatch{{Name: "tor-exits", Kind: intel.FeedInfo}}},
			dir:    Inbound, wantScore: 0, wantFeeds: []string{"tor-exits"},
		},
		{
			name: "feed listing of a likely false positive is not a bad actor",
			lookup: intel.Lookup{Addr: addr, Status: map[intel.Provider]intel.Status{intel.GreyNoise: intel.StatusOK},
				GreyNoise: &intel.GreyNoiseResult{Observed: true, RIOT: true, Classification: "benign", Name: "Example CDN"},
				Feeds:     []intel.FeedMatch{{Name: "firehol", Kind: intel.FeedMalicious}}},
			dir: Inbound, wantScore: 0, wantFP: true, wantFeeds: []string{"firehol"},
		},
	}
	s := newScorer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := s.Score(tt.lookup, tt.dir)
			if rec.CompositeScore != tt.wantScore {
				t.Errorf("composite = %v, want %v (%+v)", rec.CompositeScore, tt.wantScore, rec.Explanation)
			}
			if rec.IsKnownBadActor != tt.wantBad {
				t.Errorf("is_known_bad_actor = %v, want %v (%v)", rec.IsKnownBadActor, tt.wantBad, rec.Explanation.Notes)
			}
			if rec.LikelyFalsePositive != tt.wantFP {
				t.Errorf("likely_false_positive = %v, want %v", rec.LikelyFalsePositive, tt.wantFP)
			}
			if rec.Country != tt.wantCountry {
				t.Errorf("country = %q, want %q", rec.Country, tt.wantCountry)
			}
			if rec.ASN != tt.wantASN {
				t.Errorf("asn = %q, want %q", rec.ASN, tt.wantASN)
			}
			if rec.Org != tt.wantOrg {
				t.Errorf("org = %q, want %q", rec.Org, tt.wantOrg)
			}
			if !slices.Equal(rec.Feeds, tt.wantFeeds) && !(len(rec.Feeds) == 0 && len(tt.wantFeeds) == 0) {
				t.Errorf("feeds = %v, want %v", rec.Feeds, tt.wantFeeds)
			}
			if tt.wantSource != "" && !slices.Contains(rec.Explanation.Sources, tt.wantSource) {
				t.Errorf("sources = %v, want %s among them", rec.Explanation.Sources, tt.wantSource)
			}
		})
	}
}

func TestFeedComponentExplained(t *testing.T) {
	s := newScorer(t, func(o *Options) { o.FeedPoints = 40 })
	rec := s.Score(intel.Lookup{Addr: netip.MustParseAddr("198.51.100.9"),
		Feeds: []intel.FeedMatch{{Name: "et-compromised", Kind: intel.FeedMalicious}}}, Inbound)
	var feed *intel.Component
	for i, c := range rec.Explanation.Components {
		if c.Name == "feeds" {
			feed = &rec.Explanation.Components[i]
		}
	}
	if feed == nil {
		t.Fatalf("no feeds component in %+v", rec.Explanation.Components)
	}
	if feed.Points != 40 || !strings.Contains(feed.Detail, "et-compromised") {
		t.Errorf("feeds component = %+v, want 40 points naming the feed", *feed)
	}
}

func TestFeedPointsValidated(t *testing.T) {
	o := DefaultOptions()
	o.FeedPoints = 101
	if err := o.Validate(); err == nil || !strings.Contains(err.Error(), "FeedPoints") {
		t.Errorf("Validate() = %v, want an error naming FeedPoints", err)
	}
}
