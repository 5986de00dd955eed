package geoip

import (
	"net/netip"
	"testing"
	"time"
)

// TestLookupFillsFieldsFromOtherDatabase checks snapshots where a database
// supplies the field of the other variable, as an IPinfo Lite file with
// countries and AS numbers does. The corpus has no such file, so the
// snapshots are built from databases that have one of the two.
func TestLookupFillsFieldsFromOtherDatabase(t *testing.T) {
	city := openReader(t, Options{CountryPath: corpusDB(t, cityTestDB)}).current.Load().country
	asn := openReader(t, Options{ASNPath: corpusDB(t, asnTestDB)}).current.Load().asn

	tests := []struct {
		name string
		snap snapshot
		addr string
		want Result
	}{
		{name: "country from the asn slot", snap: snapshot{asn: city}, addr: "81.2.69.142", want: Result{CountryCode: "GB"}},
		{name: "asn from the country slot", snap: snapshot{country: asn}, addr: "1.0.0.1", want: Result{ASN: "AS15169", ASName: "Google Inc."}},
		{name: "one database in both slots", snap: snapshot{asn: city, country: city}, addr: "81.2.69.142", want: Result{CountryCode: "GB"}},
		{name: "each slot its own field", snap: snapshot{asn: city, country: asn}, addr: "89.160.20.113", want: Result{CountryCode: "SE", ASN: "AS29518", ASName: "Bredband2 AB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Reader{interval: -1, now: time.Now}
			r.current.Store(&tt.snap)

			got, found := r.Lookup(netip.MustParseAddr(tt.addr))
			if !found || got != tt.want {
				t.Errorf("Lookup(%s) = %+v, %v; want %+v, true", tt.addr, got, found, tt.want)
			}
		})
	}
}
