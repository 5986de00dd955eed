package netclass

import (
	"net/netip"
	"testing"
)

func TestClassify(t *testing.T) {
	c := New([]netip.Prefix{netip.MustParsePrefix("198.51.100.0/28")})
	tests := []struct {
		name string
		addr string
		want Class
	}{
		{"documentation v4 is public", "203.0.113.7", Public},
		{"documentation v6 is public", "2001:db8::1", Public},
		{"rfc1918 10/8", "10.1.2.3", Private},
		{"rfc1918 172.16/12", "172.31.255.255", Private},
		{"rfc1918 192.168/16", "192.168.1.1", Private},
		{"just outside 172.16/12", "172.32.0.1", Public},
		{"loopback v4", "127.0.0.53", Loopback},
		{"loopback v6", "::1", Loopback},
		{"link-local v4", "169.254.10.1", LinkLocal},
		{"link-local v6", "fe80::1", LinkLocal},
		{"cgnat", "100.64.0.1", CGNAT},
		{"cgnat upper edge", "100.127.255.255", CGNAT},
		{"just outside cgnat", "100.128.0.1", Public},
		{"unspecified v4", "0.0.0.0", Unspecified},
		{"unspecified v6", "::", Unspecified},
		{"this network", "0.1.2.3", Reserved},
		{"broadcast", "255.255.255.255", Broadcast},
		{"class e", "240.0.0.1", Reserved},
		{"multicast v4", "224.0.0.251", LinkLocal},
		{"multicast v4 global", "239.1.2.3", Multicast},
		{"multicast v6", "ff05::2", Multicast},
		{"ula", "fd12:3456::1", UniqueLocal},
		{"mapped private", "::ffff:192.168.1.1", Private},
		{"mapped public", "::ffff:203.0.113.9", Public},
		{"own prefix", "198.51.100.5", Own},
		{"just outside own prefix", "198.51.100.16", Public},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Classify(netip.MustParseAddr(tt.addr))
			if got != tt.want {
				t.Errorf("Classify(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
}

func TestClassifyInvalid(t *testing.T) {
	if got := New(nil).Classify(netip.Addr{}); got != Invalid {
		t.Errorf("Classify(zero Addr) = %v, want invalid", got)
	}
}

func TestIsInternal(t *testing.T) {
	c := New(nil)
	for addr, want := range map[string]bool{
		"192.168.1.10": true,
		"100.64.1.1":   true,
		"fd00::10":     true,
		"203.0.113.1":  false,
		"127.0.0.1":    false,
		"224.0.0.1":    true, // link-local multicast counts as the local side
	} {
		if got := c.IsInternal(netip.MustParseAddr(addr)); got != want {
			t.Errorf("IsInternal(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr bool
	}{
		{"empty", "", 0, false},
		{"comma and space separated", "203.0.113.0/24, 2001:db8::/48 198.51.100.7", 3, false},
		{"host bits are masked", "203.0.113.9/24", 1, false},
		{"bad prefix length", "203.0.113.0/33", 0, true},
		{"not an address", "example.com", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrefixes(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParsePrefixes(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Errorf("ParsePrefixes(%q) = %v, want %d prefixes", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzParsePrefixes(f *testing.F) {
	f.Add("203.0.113.0/24,2001:db8::/32")
	f.Add("::ffff:10.0.0.1")
	f.Fuzz(func(t *testing.T, s string) {
		ps, err := ParsePrefixes(s)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Errorf("ParsePrefixes(%q) returned %v, not a valid masked prefix", s, p)
			}
		}
	})
}
