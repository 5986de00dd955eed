package geoip

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzRecord decodes arbitrary bytes as a record. It must not panic, and
// what it returns must have the documented forms.
func FuzzRecord(f *testing.F) {
	seeds := []any{
		entries{{"asn", "AS15169"}, {"as_name", "Google LLC"}, {"country_code", "US"}, {"country", "United States"}},
		entries{{"country", entries{{"iso_code", "GB"}, {"names", entries{{"en", "United Kingdom"}}}}}},
		entries{{"autonomous_system_number", uint32(1221)}, {"autonomous_system_organization", "Telstra Pty Ltd"}},
		entries{{"registered_country", entries{{"iso_code", "de"}}}, {"asn", uint16Value(3)}},
		"GB",
	}
	for _, seed := range seeds {
		f.Add(encodeValue(seed))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := decodeRecord(data)
		if err != nil {
			return
		}
		checkForms(t, Result{CountryCode: rec.country(), ASN: rec.asn(), ASName: rec.asOrganization()})
	})
}

// FuzzOpen parses arbitrary bytes as a database and looks addresses up in
// it. Seeds are the corpus databases, so mutations reach the search tree
// and the records behind a valid header.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{asnTestDB, countryTestDB, cityTestDB, ispTestDB} {
		f.Add(readCorpusDB(f, name))
	}
	f.Add([]byte("not a database"))
	addrs := []netip.Addr{
		netip.MustParseAddr("1.0.0.1"), netip.MustParseAddr("81.2.69.142"),
		netip.MustParseAddr("2001:218::1"), netip.MustParseAddr("192.0.2.1"),
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		s := &source{path: "fuzz.mmdb", roles: roleASN, variables: "GEOIP_ASN_DB"}
		db, err := s.open(data, nil)
		if err != nil {
			return
		}
		for _, addr := range addrs {
			var rec record
			db.lookup(addr, &rec)
			checkForms(t, Result{CountryCode: rec.country(), ASN: rec.asn(), ASName: rec.asOrganization()})
		}
	})
}

// checkForms fails the test when a result field breaks its documented form.
func checkForms(t *testing.T, result Result) {
	t.Helper()
	if code := result.CountryCode; code != "" && (len(code) != 2 || strings.ToUpper(code) != code) {
		t.Errorf("CountryCode %q is not two upper-case letters", code)
	}
	if asn := result.ASN; asn != "" && (!strings.HasPrefix(asn, "AS") || normalizeASN(asn) != asn) {
		t.Errorf("ASN %q is not in the AS15169 form", asn)
	}
	if len(result.ASName) > maxNameSize {
		t.Errorf("ASName has %d bytes, more than %d", len(result.ASName), maxNameSize)
	}
}
