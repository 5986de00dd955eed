package enrich

import (
	"net/netip"

	"github.com/threat-intel/threat-intel/internal/feeds"
	"github.com/threat-intel/threat-intel/internal/geoip"
	"github.com/threat-intel/threat-intel/internal/intel"
)

// LocalSource adds what local data holds for a public address to its
// lookup: databases and feeds that cost no quota and send nothing out.
// Implementations must be safe for concurrent use.
type LocalSource interface {
	LookupLocal(addr netip.Addr, l *intel.Lookup)
}

// FromGeoIP adapts MaxMind-format databases: country and autonomous system.
func FromGeoIP(r *geoip.Reader) LocalSource { return geoIPSource{r} }

type geoIPSource struct{ r *geoip.Reader }

func (s geoIPSource) LookupLocal(addr netip.Addr, l *intel.Lookup) {
	res, ok := s.r.Lookup(addr)
	if !ok {
		return
	}
	l.GeoIP = &intel.GeoIPResult{CountryCode: res.CountryCode, ASN: res.ASN, ASName: res.ASName}
}

// FromFeeds adapts blocklist feeds: the names and kinds of the lists that
// contain the address.
func FromFeeds(m *feeds.Manager) LocalSource { return feedSource{m} }

type feedSource struct{ m *feeds.Manager }

func (s feedSource) LookupLocal(addr netip.Addr, l *intel.Lookup) {
	for _, match := range s.m.Lookup(addr) {
		kind := intel.FeedMalicious
		if match.Kind == feeds.Info {
			kind = intel.FeedInfo
		}
		l.Feeds = append(l.Feeds, intel.FeedMatch{Name: match.Name, Kind: kind})
	}
}
