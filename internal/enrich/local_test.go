package enrich

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"

	"github.com/threat-intel/threat-intel/internal/feeds"
	"github.com/threat-intel/threat-intel/internal/geoip"
	"github.com/threat-intel/threat-intel/internal/intel"
)

// TestLocalSourcesFillPublicAddresses runs the engine with no provider key,
// the MaxMind test databases and a file feed: the public addresses get
// their country, AS and feed listings, and the internal one gets nothing.
func TestLocalSourcesFillPublicAddresses(t *testing.T) {
	mmdb := filepath.Join(corpustest.Dir(t), "mmdb")
	reader, err := geoip.Open(geoip.Options{
		ASNPath:     filepath.Join(mmdb, "GeoLite2-ASN-Test.mmdb"),
		CountryPath: filepath.Join(mmdb, "GeoLite2-Country-Test.mmdb"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reader.Close() })

	list := filepath.Join(t.TempDir(), "drop.txt")
	if err := os.WriteFile(list, []byte("# local test list\n203.0.113.0/24\n10.0.0.0/8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	manager, err := feeds.New([]feeds.Config{
		{Name: "local-drop", Location: list, Kind: feeds.Malicious, Refresh: time.Minute},
		{Name: "lab-tor", Location: list, Kind: feeds.Info, Refresh: time.Minute},
	}, feeds.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := manager.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}

	env := newTestEnv(t)
	env.cfg.AbuseIPDBAPIKey, env.cfg.GreyNoiseAPIKey, env.cfg.OTXAPIKey, env.cfg.IPinfoToken = "", "", "", ""
	env.options.Local = []LocalSource{FromGeoIP(reader), FromFeeds(manager)}
	e := env.engine()

	google := netip.MustParseAddr("1.0.0.1") // 1.0.0.0/24 is AS15169 in the test database
	listed := netip.MustParseAddr("203.0.113.7")
	internal := netip.MustParseAddr("10.1.2.3")
	lookups := e.Enrich(context.Background(), []netip.Addr{google, listed, internal})

	if g := lookups[google].GeoIP; g == nil || g.ASN != "AS15169" {
		t.Errorf("GeoIP of %s = %+v, want AS15169", google, g)
	}
	if f := lookups[listed].Feeds; len(f) != 2 || f[0] != (intel.FeedMatch{Name: "local-drop", Kind: intel.FeedMalicious}) || f[1].Kind != intel.FeedInfo {
		t.Errorf("feeds of %s = %+v, want local-drop (malicious) and lab-tor (info)", listed, f)
	}
	if l := lookups[internal]; l.GeoIP != nil || len(l.Feeds) != 0 || !l.Internal {
		t.Errorf("internal address got local data: %+v", l)
	}
	for name, n := range env.requests() {
		if n != 0 {
			t.Errorf("%s received %d requests with no key configured", name, n)
		}
	}
}
