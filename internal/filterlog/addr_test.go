package filterlog

import (
	"net/netip"
	"strings"
	"testing"
)

var addrSamples = []string{
	"0.0.0.0", "192.0.2.1", "255.255.255.255", "203.0.113.45",
	"1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", "1.2.3.", ".1.2.3", "1.2.3.4 ", "1.2.3.-4",
	"::", "::1", "1::", "2001:db8::1", "2001:db8:0:0:0:0:0:1", "2001:DB8::AbCd", "fe80::1:2:3:4:5:6",
	"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7",
	"::ffff:192.0.2.1", "64:ff9b::192.0.2.33", "1:2:3:4:5:6:192.0.2.1", "1:2:3:4:5:6:7:192.0.2.1",
	"::1:2:3:4:5:6:192.0.2.1", "1::2::3", ":1::2", "1::2:", "12345::", "1:::2", "::ffff:01.2.3.4",
	"::ffff:1.2.3", "2001:db8::g", "2001:db8::1%em0", "", ":", "::ffff:1.2.3.4:5", "1.2.3.4::",
	"0:0:0:0:0:0:0:0", "00000::", "0000::", "::0.0.0.0", "1:2:3:4:5:6:7:8::",
}

// TestParseAddr compares the allocation-free parsers with netip.ParseAddr.
func TestParseAddr(t *testing.T) {
	for _, s := range addrSamples {
		checkAddrParsers(t, s)
	}
}

func TestParseAddrAllocations(t *testing.T) {
	v4, v6 := []byte("203.0.113.45"), []byte("2001:db8:abcd:ef01:2345:6789:abcd:ef01")
	allocs := testing.AllocsPerRun(100, func() {
		parseAddr4(v4)
		parseAddr6(v6)
	})
	if allocs != 0 {
		t.Errorf("parsing two addresses allocates %.0f times, want 0", allocs)
	}
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range addrSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkAddrParsers(t, s)
	})
}

// checkAddrParsers asserts that parseAddr4 and parseAddr6 accept what
// netip.ParseAddr accepts for their family, with the same result. Zones are
// left out: the parsers reject them on purpose.
func checkAddrParsers(t *testing.T, s string) {
	t.Helper()
	want, err := netip.ParseAddr(s)
	wantOK := err == nil && want.Zone() == "" && !strings.Contains(s, "%")

	got4, ok4 := parseAddr4([]byte(s))
	if want4 := wantOK && want.Is4(); ok4 != want4 || (ok4 && got4 != want) {
		t.Errorf("parseAddr4(%q) = %v, %v; netip.ParseAddr gives %v, %v", s, got4, ok4, want, err)
	}
	got6, ok6 := parseAddr6([]byte(s))
	if want6 := wantOK && want.Is6(); ok6 != want6 || (ok6 && got6 != want) {
		t.Errorf("parseAddr6(%q) = %v, %v; netip.ParseAddr gives %v, %v", s, got6, ok6, want, err)
	}
}
