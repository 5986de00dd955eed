package geoip

import (
	"net/netip"
	"testing"

	"github.com/oschwald/maxminddb-golang/v2"
)

// benchmarkAddrs returns the first address of every network in the ASN and
// country test databases, so lookups hit records of both, and a few
// addresses that are in neither.
func benchmarkAddrs(b *testing.B) []netip.Addr {
	b.Helper()
	var addrs []netip.Addr
	for _, name := range []string{asnTestDB, countryTestDB} {
		reader, err := maxminddb.OpenBytes(readCorpusDB(b, name))
		if err != nil {
			b.Fatal(err)
		}
		for result := range reader.Networks() {
			addrs = append(addrs, result.Prefix().Addr())
		}
	}
	for _, text := range documentationAddrs {
		addrs = append(addrs, netip.MustParseAddr(text))
	}
	return addrs
}

// BenchmarkLookup measures one Lookup. Run it with
// go test -run '^$' -bench BenchmarkLookup -benchmem ./internal/geoip/
func BenchmarkLookup(b *testing.B) {
	cases := []struct {
		name string
		opts Options
	}{
		{name: "asn", opts: Options{ASNPath: corpusDB(b, asnTestDB)}},
		{name: "country", opts: Options{CountryPath: corpusDB(b, countryTestDB)}},
		{name: "city", opts: Options{CountryPath: corpusDB(b, cityTestDB)}},
		{name: "asn and country", opts: Options{ASNPath: corpusDB(b, asnTestDB), CountryPath: corpusDB(b, countryTestDB)}},
	}
	addrs := benchmarkAddrs(b)
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			r := openReader(b, bc.opts)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r.Lookup(addrs[i%len(addrs)])
				i++
			}
		})
	}

	b.Run("asn and country parallel", func(b *testing.B) {
		r := openReader(b, Options{ASNPath: corpusDB(b, asnTestDB), CountryPath: corpusDB(b, countryTestDB)})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				r.Lookup(addrs[i%len(addrs)])
				i++
			}
		})
	})
}
