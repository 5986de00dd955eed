package promql

import (
	"math/rand/v2"
	"net/netip"
	"regexp"
	"strconv"
	"testing"

	"github.com/threat-intel/threat-intel/internal/netclass"
)

// anchored compiles re the way a PromQL or LogQL label matcher does.
func anchored(t testing.TB, re string) *regexp.Regexp {
	t.Helper()
	compiled, err := regexp.Compile("^(?:" + re + ")$")
	if err != nil {
		t.Fatalf("compiling %q: %v", re, err)
	}
	return compiled
}

func TestRangeRegexpDecimalPrefixRanges(t *testing.T) {
	// Every octet range an IPv4 prefix can produce, against every octet.
	for bits := 0; bits <= 8; bits++ {
		size := 1 << (8 - bits)
		for lo := 0; lo < 256; lo += size {
			hi := lo + size - 1
			re := anchored(t, rangeRegexp(lo, hi, 10))
			for v := range 256 {
				if got, want := re.MatchString(strconv.Itoa(v)), v >= lo && v <= hi; got != want {
					t.Fatalf("rangeRegexp(%d, %d) = %q matches %d: %v, want %v", lo, hi, re, v, got, want)
				}
			}
			for _, text := range []string{"", "00", "01", "256", "1000", "-1", "a"} {
				if re.MatchString(text) && text != "" && strconv.Itoa(lo) != text {
					v, err := strconv.Atoi(text)
					if err != nil || v < lo || v > hi || strconv.Itoa(v) != text {
						t.Fatalf("rangeRegexp(%d, %d) = %q matches %q", lo, hi, re, text)
					}
				}
			}
		}
	}
}

func TestRangeRegexpRandomRanges(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, base := range []int{10, 16} {
		limit := 255
		if base == 16 {
			limit = 0xffff
		}
		for range 300 {
			lo := rng.IntN(limit + 1)
			hi := lo + rng.IntN(limit-lo+1)
			re := anchored(t, rangeRegexp(lo, hi, base))
			for range 200 {
				v := rng.IntN(limit + 1)
				if rng.IntN(4) == 0 {
					v = min(max(lo+rng.IntN(5)-2, 0), limit) // near the lower edge
				} else if rng.IntN(4) == 0 {
					v = min(max(hi+rng.IntN(5)-2, 0), limit)
				}
				text := strconv.FormatInt(int64(v), base)
				if got, want := re.MatchString(text), v >= lo && v <= hi; got != want {
					t.Fatalf("rangeRegexp(%d, %d, %d) = %q matches %q: %v, want %v", lo, hi, base, re, text, got, want)
				}
			}
		}
	}
}

func TestPrefixRegexpExamples(t *testing.T) {
	tests := []struct {
		prefix string
		match  []string
		reject []string
	}{
		{"100.64.0.0/10", []string{"100.64.0.0", "100.100.1.1", "100.127.255.255"}, []string{"100.63.255.255", "100.128.0.0", "10.64.0.1", "100.64.0.0.1", "::ffff:100.64.0.1"}},
		{"192.0.2.128/25", []string{"192.0.2.128", "192.0.2.255"}, []string{"192.0.2.127", "192.0.2.1", "192.0.20.200"}},
		{"203.0.113.7/32", []string{"203.0.113.7"}, []string{"203.0.113.70", "203.0.113.8"}},
		{"0.0.0.0/0", []string{"0.0.0.0", "255.255.255.255"}, []string{"::", "2001:db8::1"}},
		{"fe80::/10", []string{"fe80::1", "febf:ffff::", "fe80:0:0:0:1:2:3:4"}, []string{"fec0::1", "fe7f::1", "::fe80"}},
		{"fc00::/7", []string{"fc00::", "fdff:1:2::3"}, []string{"fe00::", "fb00::1"}},
		{"2001:db8::/48", []string{"2001:db8::", "2001:db8::1", "2001:db8:0:1::", "2001:db8:0:0:1:2:3:4", "2001:db8:0:ffff:ffff:ffff:ffff:ffff"}, []string{"2001:db8:1::", "2001:db8:1:0:0:0:0:0", "2001:db80::", "2001:db8:10::1"}},
		{"2001:db8:0:0:1::/80", []string{"2001:db8::1:0:0:0", "2001:db8::1:2:3:4", "2001:db8:0:0:1::"}, []string{"2001:db8::1", "2001:db8::2:0:0:0", "2001:db8::1:0:0"}},
		{"::/0", []string{"::", "::1", "2001:db8::1", "::ffff:192.0.2.1"}, []string{"192.0.2.1"}},
		{"::ffff:0:0/96", []string{"::ffff:192.0.2.1", "::ffff:0.0.0.0", "::ffff:c000:201"}, []string{"192.0.2.1", "::fffe:c000:201", "::1"}},
		{"::ffff:10.0.0.0/104", []string{"::ffff:10.1.2.3"}, []string{"::ffff:11.0.0.0", "10.1.2.3"}},
		{"::1/128", []string{"::1"}, []string{"::", "::10", "1::"}},
		{"::/128", []string{"::"}, []string{"::1", "1::"}},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			re := anchored(t, PrefixRegexp(netip.MustParsePrefix(tt.prefix)))
			for _, text := range tt.match {
				if !re.MatchString(text) {
					t.Errorf("%s does not match %q; regex %s", tt.prefix, text, re)
				}
			}
			for _, text := range tt.reject {
				if re.MatchString(text) {
					t.Errorf("%s matches %q; regex %s", tt.prefix, text, re)
				}
			}
		})
	}
}

func TestPrefixRegexpInvalidPrefix(t *testing.T) {
	re := anchored(t, PrefixRegexp(netip.Prefix{}))
	for _, text := range []string{"", "0.0.0.0", "::", "a"} {
		if re.MatchString(text) {
			t.Errorf("the regex of an invalid prefix matches %q", text)
		}
	}
}

// randomAddr returns an address in or near p: p's bits followed by random
// ones, sometimes with one of p's bits flipped, and with many zero groups
// so that the text has "::" in varied places.
func randomAddr(rng *rand.Rand, p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		var b [4]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		a := mergeBits(p.Addr().AsSlice(), b[:], p.Bits())
		if p.Bits() > 0 && rng.IntN(3) == 0 {
			flipBit(a, rng.IntN(p.Bits()))
		}
		addr, _ := netip.AddrFromSlice(a)
		return addr
	}

	var b [16]byte
	for g := range 8 {
		var v int
		switch rng.IntN(4) {
		case 0, 1:
			v = 0
		case 2:
			v = rng.IntN(256)
		default:
			v = rng.IntN(0x10000)
		}
		b[2*g], b[2*g+1] = byte(v>>8), byte(v)
	}
	if rng.IntN(10) == 0 {
		// An IPv4-mapped address.
		b = [16]byte{10: 0xff, 11: 0xff, 12: b[12], 13: b[13], 14: b[14], 15: b[15]}
	}
	a := b[:]
	if rng.IntN(4) != 0 {
		a = mergeBits(p.Addr().AsSlice(), a, p.Bits())
		if p.Bits() > 0 && rng.IntN(3) == 0 {
			flipBit(a, rng.IntN(p.Bits()))
		}
	}
	addr, _ := netip.AddrFromSlice(a)
	return addr
}

// mergeBits returns the first bits bits of prefix followed by the rest of rest.
func mergeBits(prefix, rest []byte, bits int) []byte {
	out := make([]byte, len(rest))
	for i := range out {
		keep := min(max(bits-8*i, 0), 8)
		mask := byte(0xff << (8 - keep))
		if keep == 0 {
			mask = 0
		}
		out[i] = prefix[i]&mask | rest[i]&^mask
	}
	return out
}

func flipBit(b []byte, bit int) { b[bit/8] ^= 0x80 >> (bit % 8) }

func randomPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(3) == 0 {
		var b [4]byte
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		return netip.PrefixFrom(netip.AddrFrom4(b), rng.IntN(33)).Masked()
	}
	addr := randomAddr(rng, netip.MustParsePrefix("::/0"))
	for addr.Is4In6() {
		addr = randomAddr(rng, netip.MustParsePrefix("::/0"))
	}
	bits := rng.IntN(129)
	if rng.IntN(2) == 0 {
		bits = rng.IntN(33) * 4 // nibble boundaries are the common case
	}
	return netip.PrefixFrom(addr, bits).Masked()
}

func TestPrefixRegexpRandomPrefixesMatchContains(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	prefixes := []netip.Prefix{
		netip.MustParsePrefix("::/0"), netip.MustParsePrefix("::ffff:0:0/96"),
		netip.MustParsePrefix("::ffff:192.0.2.0/120"), netip.MustParsePrefix("::/8"),
		netip.MustParsePrefix("2001:db8::/127"), netip.MustParsePrefix("0.0.0.0/0"),
	}
	for range 400 {
		prefixes = append(prefixes, randomPrefix(rng))
	}
	for _, p := range prefixes {
		re := anchored(t, PrefixRegexp(p))
		for range 300 {
			a := randomAddr(rng, p)
			if got, want := re.MatchString(a.String()), p.Contains(a); got != want {
				t.Fatalf("PrefixRegexp(%s) matches %s: %v, want %v; regex %s", p, a, got, want, re)
			}
		}
	}
}

// classTestPrefixes are the ranges near which the class tests draw
// addresses: every special-purpose range, the own prefixes, and public
// documentation ranges.
var classTestPrefixes = []string{
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4", "255.255.255.255/32", "192.0.2.0/24", "203.0.113.0/24",
	"0.0.0.0/0", "::/128", "::1/128", "fe80::/10", "fc00::/7", "ff00::/8", "ff02::/16", "ff12::/16", "::ffff:0:0/96",
	"2001:db8::/32", "::/0",
}

func TestNonPublicRegexpAgreesWithNetclass(t *testing.T) {
	owns := [][]netip.Prefix{
		nil,
		{netip.MustParsePrefix("203.0.113.128/25"), netip.MustParsePrefix("2001:db8:ffff::/48")},
		{netip.MustParsePrefix("198.51.100.7/32"), netip.MustParsePrefix("2001:db8:0:1::/64"), netip.MustParsePrefix("2001:db8:abc0::/42")},
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for _, own := range owns {
		classifier := netclass.New(own)
		re := anchored(t, NonPublicRegexp(own))
		near := slicesOf(classTestPrefixes)
		near = append(near, own...)
		for range 40_000 {
			a := randomAddr(rng, near[rng.IntN(len(near))])
			if got, want := re.MatchString(a.String()), !classifier.IsPublic(a); got != want {
				t.Fatalf("own %v: NonPublicRegexp matches %s: %v, want %v (netclass: %s)", own, a, got, want, classifier.Classify(a))
			}
		}
	}
}

func TestNonPublicRegexpSpellings(t *testing.T) {
	re := anchored(t, NonPublicRegexp(nil))
	for _, text := range []string{"FE80::1", "fe80::1%igc0", "FD00::5", "::FFFF:10.0.0.1", "FF02::1:2"} {
		if !re.MatchString(text) {
			t.Errorf("NonPublicRegexp does not match %q", text)
		}
	}
	for _, text := range []string{"2001:DB8::1", "2001:db8::1%igc0", "192.0.2.1", "::ffff:192.0.2.1"} {
		if re.MatchString(text) {
			t.Errorf("NonPublicRegexp matches public %q", text)
		}
	}
}

func TestInternalRegexpCoversNetclass(t *testing.T) {
	own := []netip.Prefix{netip.MustParsePrefix("203.0.113.128/25"), netip.MustParsePrefix("2001:db8:ffff::/48")}
	classifier := netclass.New(own)
	re := anchored(t, InternalRegexp(own))
	near := append(slicesOf(classTestPrefixes), own...)
	rng := rand.New(rand.NewPCG(7, 8))
	for range 40_000 {
		a := randomAddr(rng, near[rng.IntN(len(near))])
		matched := re.MatchString(a.String())
		if classifier.IsInternal(a) && !matched {
			t.Fatalf("InternalRegexp does not match internal %s (%s)", a, classifier.Classify(a))
		}
		if matched && classifier.IsPublic(a) {
			t.Fatalf("InternalRegexp matches public %s", a)
		}
	}
}

func slicesOf(texts []string) []netip.Prefix {
	out := make([]netip.Prefix, len(texts))
	for i, s := range texts {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}
