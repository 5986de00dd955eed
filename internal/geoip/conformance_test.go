package geoip

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

// sourceNetwork is one entry of a source JSON file: a network and the
// record the database returns for every address in it.
type sourceNetwork struct {
	prefix netip.Prefix
	record sourceRecord
}

// sourceRecord is the part of a source JSON record a lookup returns.
type sourceRecord struct {
	ASNumber       uint32 `json:"autonomous_system_number"`
	ASOrganization string `json:"autonomous_system_organization"`
	Country        struct {
		ISOCode string `json:"iso_code"`
	} `json:"country"`
	RegisteredCountry struct {
		ISOCode string `json:"iso_code"`
	} `json:"registered_country"`
}

// want is the Result and found flag a lookup should return for the record.
func (s sourceRecord) want() (Result, bool) {
	var result Result
	if s.ASNumber != 0 {
		result.ASN = fmt.Sprintf("AS%d", s.ASNumber)
		result.ASName = s.ASOrganization
	}
	result.CountryCode = s.Country.ISOCode
	if result.CountryCode == "" {
		result.CountryCode = s.RegisteredCountry.ISOCode
	}
	return result, result != Result{}
}

// readSource parses a source JSON file: an array of one-key objects that
// map a network to its record.
func readSource(t *testing.T, name string) []sourceNetwork {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(mmdbDir(t), name))
	if err != nil {
		t.Fatalf("reading source data: %v", err)
	}
	var entries []map[string]sourceRecord
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}

	var networks []sourceNetwork
	for i, entry := range entries {
		if len(entry) != 1 {
			t.Fatalf("%s entry %d has %d networks, want 1", name, i, len(entry))
		}
		for network, rec := range entry {
			prefix, err := netip.ParsePrefix(network)
			if err != nil {
				t.Fatalf("%s entry %d: %v", name, i, err)
			}
			networks = append(networks, sourceNetwork{prefix: prefix, record: rec})
		}
	}
	if len(networks) < 100 {
		t.Fatalf("%s has %d networks; the file is probably truncated", name, len(networks))
	}
	return networks
}

// lastAddr returns the last address of a prefix.
func lastAddr(prefix netip.Prefix) netip.Addr {
	bytes := prefix.Masked().Addr().AsSlice()
	hostBits := len(bytes)*8 - prefix.Bits()
	for i := len(bytes) - 1; hostBits > 0; i-- {
		if hostBits >= 8 {
			bytes[i] = 0xff
			hostBits -= 8
			continue
		}
		bytes[i] |= byte(1)<<hostBits - 1
		hostBits = 0
	}
	addr, _ := netip.AddrFromSlice(bytes)
	return addr
}

// checkSource looks up the first and last address of every source network,
// and the IPv4-mapped form of IPv4 ones, and compares with the source record.
func checkSource(t *testing.T, r *Reader, networks []sourceNetwork) {
	t.Helper()
	counts := map[bool]int{}
	for _, network := range networks {
		counts[network.prefix.Addr().Is4()]++
		want, wantFound := network.record.want()

		addrs := []netip.Addr{network.prefix.Masked().Addr(), lastAddr(network.prefix)}
		if network.prefix.Addr().Is4() {
			addrs = append(addrs, netip.AddrFrom16(addrs[0].As16()))
		}
		for _, addr := range addrs {
			got, found := r.Lookup(addr)
			if found != wantFound || got != want {
				t.Errorf("Lookup(%s) in %s = %+v, %v; want %+v, %v", addr, network.prefix, got, found, want, wantFound)
			}
		}
	}
	if counts[true] == 0 || counts[false] == 0 {
		t.Fatalf("source has %d IPv4 and %d IPv6 networks; want both", counts[true], counts[false])
	}
}

func TestLookupMatchesASNSource(t *testing.T) {
	r := openReader(t, Options{ASNPath: corpusDB(t, asnTestDB)})
	checkSource(t, r, readSource(t, "GeoLite2-ASN-Test.json"))
}

func TestLookupMatchesCountrySource(t *testing.T) {
	r := openReader(t, Options{CountryPath: corpusDB(t, countryTestDB)})
	networks := readSource(t, "GeoLite2-Country-Test.json")

	withoutCountry := 0
	for _, network := range networks {
		if _, found := network.record.want(); !found {
			withoutCountry++
		}
	}
	if withoutCountry == 0 {
		t.Fatal("source has no record without a country; the not-found case is untested")
	}
	checkSource(t, r, networks)
}

// TestLookupCombinesBothSources checks that each field comes from its own
// database when both are open: the AS from the ASN one and the country
// from the country one.
func TestLookupCombinesBothSources(t *testing.T) {
	r := openReader(t, Options{ASNPath: corpusDB(t, asnTestDB), CountryPath: corpusDB(t, countryTestDB)})
	asnReader := openReader(t, Options{ASNPath: corpusDB(t, asnTestDB)})
	countryReader := openReader(t, Options{CountryPath: corpusDB(t, countryTestDB)})

	var addrs []netip.Addr
	for _, name := range []string{"GeoLite2-ASN-Test.json", "GeoLite2-Country-Test.json"} {
		for _, network := range readSource(t, name) {
			addrs = append(addrs, network.prefix.Masked().Addr())
		}
	}

	both := 0
	for _, addr := range addrs {
		asn, asnFound := asnReader.Lookup(addr)
		country, countryFound := countryReader.Lookup(addr)
		want := Result{CountryCode: country.CountryCode, ASN: asn.ASN, ASName: asn.ASName}
		if asnFound && countryFound {
			both++
		}

		got, found := r.Lookup(addr)
		if got != want || found != (asnFound || countryFound) {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v, %v", addr, got, found, want, asnFound || countryFound)
		}
	}
	if both == 0 {
		t.Fatal("no address is in both databases; the combination is untested")
	}
}

// documentationAddrs are outside every network of the test databases.
var documentationAddrs = []string{
	"192.0.2.1", "198.51.100.1", "203.0.113.255", "2001:db8::1", "::ffff:192.0.2.1",
	"10.0.0.1", "127.0.0.1", "::1", "fe80::1",
}

func TestLookupAddressNotInDatabase(t *testing.T) {
	sources := append(readSource(t, "GeoLite2-ASN-Test.json"), readSource(t, "GeoLite2-Country-Test.json")...)
	r := openReader(t, Options{ASNPath: corpusDB(t, asnTestDB), CountryPath: corpusDB(t, countryTestDB)})

	for _, text := range documentationAddrs {
		addr := netip.MustParseAddr(text)
		for _, network := range sources {
			if network.prefix.Contains(addr.Unmap()) {
				t.Fatalf("%s is in source network %s; pick another address", addr, network.prefix)
			}
		}
		if got, found := r.Lookup(addr); found || got != (Result{}) {
			t.Errorf("Lookup(%s) = %+v, %v; want not found", addr, got, found)
		}
	}

	if got, found := r.Lookup(netip.Addr{}); found || got != (Result{}) {
		t.Errorf("Lookup(zero Addr) = %+v, %v; want not found", got, found)
	}
}

func TestLookupNamedEntries(t *testing.T) {
	tests := []struct {
		name   string
		opts   Options
		addr   string
		want   Result
		wantOK bool
	}{
		{
			name: "asn ipv4 with organization", opts: Options{ASNPath: asnTestDB},
			addr: "1.0.0.1", want: Result{ASN: "AS15169", ASName: "Google Inc."}, wantOK: true,
		},
		{
			name: "asn ipv4 last address", opts: Options{ASNPath: asnTestDB},
			addr: "1.159.255.255", want: Result{ASN: "AS1221", ASName: "Telstra Pty Ltd"}, wantOK: true,
		},
		{
			name: "asn without organization", opts: Options{ASNPath: asnTestDB},
			addr: "12.81.96.1", want: Result{ASN: "AS7018"}, wantOK: true,
		},
		{
			name: "asn ipv4-mapped ipv6", opts: Options{ASNPath: asnTestDB},
			addr: "::ffff:1.0.0.1", want: Result{ASN: "AS15169", ASName: "Google Inc."}, wantOK: true,
		},
		{
			name: "asn ipv6", opts: Options{ASNPath: asnTestDB},
			addr: "2001:1700::1", want: Result{ASN: "AS6730", ASName: "Sunrise Communications AG"}, wantOK: true,
		},
		{
			name: "asn ipv6 with zone", opts: Options{ASNPath: asnTestDB},
			addr: "2001:1700::1%eth0", want: Result{ASN: "AS6730", ASName: "Sunrise Communications AG"}, wantOK: true,
		},
		{
			name: "country prefers geolocated over registered", opts: Options{CountryPath: countryTestDB},
			addr: "2.125.160.216", want: Result{CountryCode: "GB"}, wantOK: true,
		},
		{
			name: "country with represented country", opts: Options{CountryPath: countryTestDB},
			addr: "202.196.224.1", want: Result{CountryCode: "PH"}, wantOK: true,
		},
		{
			name: "country ipv6", opts: Options{CountryPath: countryTestDB},
			addr: "2001:218::1", want: Result{CountryCode: "JP"}, wantOK: true,
		},
		{
			name: "country record with continent only", opts: Options{CountryPath: countryTestDB},
			addr: "2a02:d500::1", wantOK: false,
		},
		{
			name: "city database as country source", opts: Options{CountryPath: cityTestDB},
			addr: "81.2.69.142", want: Result{CountryCode: "GB"}, wantOK: true,
		},
		{
			name: "isp database as asn source", opts: Options{ASNPath: ispTestDB},
			addr: "1.128.0.1", want: Result{ASN: "AS1221", ASName: "Telstra Pty Ltd"}, wantOK: true,
		},
		{
			name: "isp record without asn", opts: Options{ASNPath: ispTestDB},
			addr: "1.0.128.1", wantOK: false,
		},
		{
			name: "asn and country together", opts: Options{ASNPath: asnTestDB, CountryPath: countryTestDB},
			addr: "89.160.20.113", want: Result{CountryCode: "SE", ASN: "AS29518", ASName: "Bredband2 AB"}, wantOK: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			if opts.ASNPath != "" {
				opts.ASNPath = corpusDB(t, opts.ASNPath)
			}
			if opts.CountryPath != "" {
				opts.CountryPath = corpusDB(t, opts.CountryPath)
			}
			r := openReader(t, opts)

			got, found := r.Lookup(netip.MustParseAddr(tt.addr))
			if found != tt.wantOK {
				t.Errorf("found = %v, want %v", found, tt.wantOK)
			}
			if got != tt.want {
				t.Errorf("Lookup(%s) = %+v, want %+v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestLastAddr(t *testing.T) {
	tests := map[string]string{
		"1.128.0.0/11":     "1.159.255.255",
		"2.125.160.216/29": "2.125.160.223",
		"1.0.0.0/24":       "1.0.0.255",
		"2001:1700::/27":   "2001:171f:ffff:ffff:ffff:ffff:ffff:ffff",
		"192.0.2.1/32":     "192.0.2.1",
	}
	for prefix, want := range tests {
		if got := lastAddr(netip.MustParsePrefix(prefix)).String(); got != want {
			t.Errorf("lastAddr(%s) = %s, want %s", prefix, got, want)
		}
	}
}
