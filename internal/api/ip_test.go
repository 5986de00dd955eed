package api_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/api"
	"github.com/threat-intel/threat-intel/internal/api/apitest"
	"github.com/threat-intel/threat-intel/internal/netclass"
)

func TestIPRoute(t *testing.T) {
	tests := []struct {
		name          string
		addr          string
		status        int
		source        string
		class         string
		directions    []string
		count         uint64
		knownBadActor bool
		wantLookups   int
		wantIntelIP   string
		wantBlocked   bool
		wantOutbound  bool
	}{
		{
			name: "blocked source", addr: "203.0.113.7", status: http.StatusOK, source: api.IPSourceReport,
			class: "public", directions: []string{"in"}, count: 1520, knownBadActor: true,
			wantIntelIP: "203.0.113.7", wantBlocked: true,
		},
		{
			name: "both directions take the bad-actor record", addr: "192.0.2.44", status: http.StatusOK,
			source: api.IPSourceReport, class: "public", directions: []string{"in", "out"}, count: 19,
			knownBadActor: true, wantIntelIP: "192.0.2.44", wantBlocked: true, wantOutbound: true,
		},
		{
			name: "outbound only", addr: "203.0.113.200", status: http.StatusOK, source: api.IPSourceReport,
			class: "public", directions: []string{"out"}, count: 45, wantIntelIP: "203.0.113.200", wantOutbound: true,
		},
		{
			name: "IPv6 in another notation", addr: "2001:0db8:0:0:0:0:dead:beef", status: http.StatusOK,
			source: api.IPSourceReport, class: "public", directions: []string{"in"}, count: 88,
			wantIntelIP: "2001:db8::dead:beef", wantBlocked: true,
		},
		{
			name: "IPv4-mapped IPv6", addr: "::ffff:203.0.113.7", status: http.StatusOK, source: api.IPSourceReport,
			class: "public", directions: []string{"in"}, count: 1520, knownBadActor: true,
			wantIntelIP: "203.0.113.7", wantBlocked: true,
		},
		{
			name: "cached", addr: "198.51.100.150", status: http.StatusOK, source: api.IPSourceCache,
			class: "public", directions: []string{}, wantLookups: 1, wantIntelIP: "198.51.100.150",
		},
		{
			name: "private is internal", addr: "192.168.1.20", status: http.StatusOK, source: api.IPSourceInternal,
			class: "private", directions: []string{}, wantIntelIP: "192.168.1.20",
		},
		{
			name: "loopback is internal", addr: "::1", status: http.StatusOK, source: api.IPSourceInternal,
			class: "loopback", directions: []string{}, wantIntelIP: "::1",
		},
		{
			name: "own prefix is internal", addr: "198.51.100.9", status: http.StatusOK, source: api.IPSourceInternal,
			class: "own", directions: []string{}, wantIntelIP: "198.51.100.9",
		},
		{
			name: "link-local with zone is internal", addr: "fe80::1%eth0", status: http.StatusOK,
			source: api.IPSourceInternal, class: "link-local", directions: []string{}, wantIntelIP: "fe80::1",
		},
		{name: "unknown public", addr: "203.0.113.99", status: http.StatusNotFound, wantLookups: 1},
		{name: "store down", addr: "198.51.100.250", status: http.StatusServiceUnavailable, wantLookups: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lookups int
			opts := fixtureOptions(&lookups)
			opts.Classifier = netclass.New(mustPrefixes(t, "198.51.100.0/28"))
			a := api.New(opts)
			if err := a.Publish(apitest.Report()); err != nil {
				t.Fatal(err)
			}

			rec := get(t, a.Handler(), "/api/ip/"+url.PathEscape(tt.addr), tt.status)
			if lookups != tt.wantLookups {
				t.Errorf("%d cache lookups, want %d", lookups, tt.wantLookups)
			}
			if tt.status != http.StatusOK {
				msg := decodeError(t, rec)
				if strings.Contains(msg, "6379") {
					t.Errorf("message %q leaks the cause", msg)
				}
				return
			}

			var resp api.IPResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Source != tt.source {
				t.Errorf("source %q, want %q", resp.Source, tt.source)
			}
			if resp.Class != tt.class {
				t.Errorf("class %q, want %q", resp.Class, tt.class)
			}
			if !slices.Equal(resp.Directions, tt.directions) {
				t.Errorf("directions %q, want %q", resp.Directions, tt.directions)
			}
			if resp.Count != tt.count {
				t.Errorf("count %d, want %d", resp.Count, tt.count)
			}
			if resp.Intel.IP != tt.wantIntelIP {
				t.Errorf("intel.ip %q, want %q", resp.Intel.IP, tt.wantIntelIP)
			}
			if resp.IP != tt.wantIntelIP {
				t.Errorf("ip %q, want %q", resp.IP, tt.wantIntelIP)
			}
			if resp.Intel.IsKnownBadActor != tt.knownBadActor {
				t.Errorf("is_known_bad_actor %v, want %v", resp.Intel.IsKnownBadActor, tt.knownBadActor)
			}
			if (resp.Blocked != nil) != tt.wantBlocked {
				t.Errorf("blocked row %v, want one: %v", resp.Blocked, tt.wantBlocked)
			}
			if (resp.Outbound != nil) != tt.wantOutbound {
				t.Errorf("outbound row %v, want one: %v", resp.Outbound, tt.wantOutbound)
			}
			if tt.source == api.IPSourceInternal {
				if !resp.Intel.Internal || resp.Intel.Classification != "internal" {
					t.Errorf("internal address intel: internal %v, classification %q", resp.Intel.Internal, resp.Intel.Classification)
				}
			}
		})
	}
}

func TestIPRouteInvalidAddress(t *testing.T) {
	h := newPublished(t).Handler()
	tests := []struct {
		name string
		path string
		want string
	}{
		{"word", "not-an-ip", `invalid IP address "not-an-ip": `},
		{"octet out of range", "203.0.113.256", `invalid IP address "203.0.113.256": `},
		{"prefix", url.PathEscape("203.0.113.0/24"), `invalid IP address "203.0.113.0/24": `},
		{"hostname", "example.com", `invalid IP address "example.com": `},
		{"long input is cut", strings.Repeat("a", 300), `invalid IP address "` + strings.Repeat("a", 64) + `…": `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, h, "/api/ip/"+tt.path, http.StatusBadRequest)
			if msg := decodeError(t, rec); !strings.HasPrefix(msg, tt.want) {
				t.Errorf("message %q, want prefix %q", msg, tt.want)
			}
		})
	}
}

func TestIPRouteWithoutCache(t *testing.T) {
	a := api.New(api.Options{})
	if err := a.Publish(apitest.Report()); err != nil {
		t.Fatal(err)
	}
	get(t, a.Handler(), "/api/ip/"+apitest.Cached.String(), http.StatusNotFound)
	get(t, a.Handler(), "/api/ip/"+apitest.BadActor.String(), http.StatusOK)
}

func mustPrefixes(t *testing.T, s string) []netip.Prefix {
	t.Helper()
	p, err := netclass.ParsePrefixes(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
