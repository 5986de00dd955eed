package prefixtable

import (
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
)

type entry struct {
	prefix string
	value  uint64
}

func buildTable(t testing.TB, entries []entry) *Table {
	t.Helper()
	var b Builder
	for _, e := range entries {
		if err := b.Add(netip.MustParsePrefix(e.prefix), e.value); err != nil {
			t.Fatalf("Add(%s): %v", e.prefix, err)
		}
	}
	return b.Build()
}

func TestLookup(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		lookups map[string]uint64
	}{
		{
			name:    "empty table",
			entries: nil,
			lookups: map[string]uint64{"192.0.2.1": 0, "2001:db8::1": 0},
		},
		{
			name:    "containment",
			entries: []entry{{"192.0.2.0/24", 1}},
			lookups: map[string]uint64{
				"192.0.2.0":     1,
				"192.0.2.77":    1,
				"192.0.2.255":   1,
				"192.0.1.255":   0,
				"192.0.3.0":     0,
				"198.51.100.1":  0,
				"0.0.0.0":       0,
				"255.255.255.1": 0,
			},
		},
		{
			name: "nested prefixes with different feeds",
			entries: []entry{
				{"198.51.100.0/24", 1},
				{"198.51.100.128/25", 2},
				{"198.51.100.200/32", 4},
			},
			lookups: map[string]uint64{
				"198.51.100.1":   1,
				"198.51.100.127": 1,
				"198.51.100.128": 3,
				"198.51.100.199": 3,
				"198.51.100.200": 7,
				"198.51.100.201": 3,
				"198.51.100.255": 3,
				"198.51.101.0":   0,
			},
		},
		{
			name: "same feed twice on nested prefixes",
			entries: []entry{
				{"203.0.113.0/24", 1},
				{"203.0.113.0/28", 1},
			},
			lookups: map[string]uint64{
				"203.0.113.0":   1,
				"203.0.113.15":  1,
				"203.0.113.16":  1,
				"203.0.113.255": 1,
			},
		},
		{
			name: "adjacent ranges",
			entries: []entry{
				{"192.0.2.0/25", 1},
				{"192.0.2.128/25", 2},
				{"192.0.3.0/24", 1},
			},
			lookups: map[string]uint64{
				"192.0.1.255": 0,
				"192.0.2.127": 1,
				"192.0.2.128": 2,
				"192.0.2.255": 2,
				"192.0.3.0":   1,
				"192.0.3.255": 1,
				"192.0.4.0":   0,
			},
		},
		{
			name: "host bits ignored",
			entries: []entry{
				{"192.0.2.77/24", 1},
			},
			lookups: map[string]uint64{"192.0.2.0": 1, "192.0.2.255": 1},
		},
		{
			name:    "ipv4 /0",
			entries: []entry{{"0.0.0.0/0", 8}, {"203.0.113.7/32", 1}},
			lookups: map[string]uint64{
				"0.0.0.0":         8,
				"203.0.113.7":     9,
				"255.255.255.255": 8,
				"2001:db8::1":     0,
			},
		},
		{
			name: "ipv4 /32 at the ends of the space",
			entries: []entry{
				{"0.0.0.0/32", 1},
				{"255.255.255.255/32", 2},
				{"203.0.113.9/32", 4},
			},
			lookups: map[string]uint64{
				"0.0.0.0":         1,
				"0.0.0.1":         0,
				"255.255.255.254": 0,
				"255.255.255.255": 2,
				"203.0.113.8":     0,
				"203.0.113.9":     4,
				"203.0.113.10":    0,
			},
		},
		{
			name: "ipv6 /0, /32 and /128",
			entries: []entry{
				{"::/0", 1},
				{"2001:db8::/32", 2},
				{"2001:db8::1/128", 4},
				{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 8},
			},
			lookups: map[string]uint64{
				"::":                   1,
				"2001:db7:ffff::1":     1,
				"2001:db8::":           3,
				"2001:db8::1":          7,
				"2001:db8::2":          3,
				"2001:db8:ffff:ffff::": 3,
				"2001:db9::":           1,
				"ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe": 1,
				"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": 9,
				"192.0.2.1": 0,
			},
		},
		{
			name: "ipv6 prefix across the 64-bit halves",
			entries: []entry{
				{"2001:db8:0:1::/64", 1},
				{"2001:db8:0:1:8000::/65", 2},
			},
			lookups: map[string]uint64{
				"2001:db8:0:0:ffff:ffff:ffff:ffff": 0,
				"2001:db8:0:1::":                   1,
				"2001:db8:0:1:7fff:ffff:ffff:ffff": 1,
				"2001:db8:0:1:8000::":              3,
				"2001:db8:0:1:ffff:ffff:ffff:ffff": 3,
				"2001:db8:0:2::":                   0,
			},
		},
		{
			name:    "ipv4-mapped ipv6 looked up as ipv4",
			entries: []entry{{"192.0.2.0/24", 1}},
			lookups: map[string]uint64{
				"::ffff:192.0.2.10":   1,
				"::ffff:198.51.100.1": 0,
			},
		},
		{
			name:    "ipv4-mapped ipv6 prefix stored as ipv4",
			entries: []entry{{"::ffff:198.51.100.0/120", 2}},
			lookups: map[string]uint64{
				"198.51.100.9":        2,
				"::ffff:198.51.100.9": 2,
				"198.51.101.9":        0,
			},
		},
		{
			name:    "ipv6 in an ipv4-only table",
			entries: []entry{{"0.0.0.0/0", 1}},
			lookups: map[string]uint64{
				"2001:db8::1": 0,
				"::":          0,
				"::1":         0,
			},
		},
		{
			name:    "ipv4 in an ipv6-only table",
			entries: []entry{{"::/0", 1}},
			lookups: map[string]uint64{
				"192.0.2.1":        0,
				"::ffff:192.0.2.1": 0,
				"2001:db8::abcd:1": 1,
			},
		},
		{
			name:    "zone ignored",
			entries: []entry{{"fe80::/10", 1}},
			lookups: map[string]uint64{"fe80::1%eth0": 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			table := buildTable(t, tc.entries)
			for addr, want := range tc.lookups {
				if got := table.Lookup(netip.MustParseAddr(addr)); got != want {
					t.Errorf("Lookup(%s) = %#x, want %#x", addr, got, want)
				}
			}
		})
	}
}

func TestLookupInvalidAddr(t *testing.T) {
	table := buildTable(t, []entry{{"0.0.0.0/0", 1}, {"::/0", 2}})
	if got := table.Lookup(netip.Addr{}); got != 0 {
		t.Errorf("Lookup(zero Addr) = %#x, want 0", got)
	}
}

func TestNilTable(t *testing.T) {
	var table *Table
	if got := table.Lookup(netip.MustParseAddr("192.0.2.1")); got != 0 {
		t.Errorf("nil Lookup = %#x, want 0", got)
	}
	if got := table.Bytes(); got != 0 {
		t.Errorf("nil Bytes = %d, want 0", got)
	}
}

func TestAddInvalidPrefix(t *testing.T) {
	var b Builder
	if err := b.Add(netip.Prefix{}, 1); err == nil {
		t.Error("Add(zero Prefix) returned nil error")
	}
	if b.Len() != 0 {
		t.Errorf("Len after invalid Add = %d, want 0", b.Len())
	}
}

func TestBuildKeepsBuilder(t *testing.T) {
	var b Builder
	if err := b.Add(netip.MustParsePrefix("192.0.2.0/24"), 1); err != nil {
		t.Fatal(err)
	}
	first := b.Build()
	if err := b.Add(netip.MustParsePrefix("198.51.100.0/24"), 2); err != nil {
		t.Fatal(err)
	}
	second := b.Build()

	addr := netip.MustParseAddr("198.51.100.1")
	if got := first.Lookup(addr); got != 0 {
		t.Errorf("first table Lookup(%s) = %d, want 0", addr, got)
	}
	if got := second.Lookup(addr); got != 2 {
		t.Errorf("second table Lookup(%s) = %d, want 2", addr, got)
	}
	if got := second.Lookup(netip.MustParseAddr("192.0.2.1")); got != 1 {
		t.Errorf("second table Lookup(192.0.2.1) = %d, want 1", got)
	}
}

func TestRangesMerged(t *testing.T) {
	table := buildTable(t, []entry{
		{"192.0.2.0/25", 1},
		{"192.0.2.128/25", 1},
		{"2001:db8::/33", 2},
		{"2001:db8:8000::/33", 2},
	})
	v4, v6 := table.Ranges()
	if v4 != 2 {
		t.Errorf("IPv4 ranges = %d, want 2 (start of 192.0.2.0/24 and the gap after it)", v4)
	}
	if v6 != 2 {
		t.Errorf("IPv6 ranges = %d, want 2 (start of 2001:db8::/32 and the gap after it)", v6)
	}
}

// referenceTable is a longest-prefix-style reference: one map per prefix
// length, so a lookup masks the address to every length and ORs the hits.
type referenceTable struct {
	byLength [129]map[netip.Prefix]uint64
}

func (r *referenceTable) add(p netip.Prefix, v uint64) {
	p = p.Masked()
	if r.byLength[p.Bits()] == nil {
		r.byLength[p.Bits()] = map[netip.Prefix]uint64{}
	}
	r.byLength[p.Bits()][p] |= v
}

func (r *referenceTable) lookup(a netip.Addr) uint64 {
	a = a.Unmap()
	var v uint64
	for n := 0; n <= a.BitLen(); n++ {
		if r.byLength[n] == nil {
			continue
		}
		p, _ := a.Prefix(n)
		v |= r.byLength[n][p]
	}
	return v
}

func randomAddr(rng *rand.Rand, v6 bool) netip.Addr {
	if !v6 {
		var b [4]byte
		u := rng.Uint32()
		b[0], b[1], b[2], b[3] = byte(u>>24), byte(u>>16), byte(u>>8), byte(u)
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	hi, lo := rng.Uint64(), rng.Uint64()
	for i := range 8 {
		b[i] = byte(hi >> (56 - 8*i))
		b[8+i] = byte(lo >> (56 - 8*i))
	}
	// Keep most IPv6 prefixes inside 2000::/4 so they nest and overlap
	// as often as IPv4 ones do.
	if rng.IntN(4) > 0 {
		b[0] = 0x20 | b[0]&0x0f
	}
	return netip.AddrFrom16(b)
}

// randomPrefix draws lengths in the proportions of real feeds: mostly
// hosts, many /24-/31 (IPv4) or /49-/64 (IPv6) networks and a few large
// blocks, so prefixes nest without covering the whole space.
func randomPrefix(rng *rand.Rand, v6 bool) netip.Prefix {
	a := randomAddr(rng, v6)
	var n int
	r := rng.IntN(100)
	switch {
	case !v6 && r < 1:
		n = 8 + rng.IntN(8)
	case !v6 && r < 15:
		n = 16 + rng.IntN(8)
	case !v6 && r < 40:
		n = 24 + rng.IntN(8)
	case !v6:
		n = 32
	case r < 1:
		n = 16 + rng.IntN(13)
	case r < 15:
		n = 29 + rng.IntN(20)
	case r < 40:
		n = 49 + rng.IntN(16)
	case r < 60:
		n = 65 + rng.IntN(63)
	default:
		n = 128
	}
	p, _ := a.Prefix(n)
	return p
}

// addrNear returns an address inside p or next to one of its ends, where
// off-by-one mistakes show.
func addrNear(rng *rand.Rand, p netip.Prefix) netip.Addr {
	switch rng.IntN(4) {
	case 0:
		if prev := p.Addr().Prev(); prev.IsValid() {
			return prev
		}
		return p.Addr()
	case 1:
		return p.Addr()
	case 2:
		last := lastAddr(p)
		if next := last.Next(); next.IsValid() {
			return next
		}
		return last
	default:
		return lastAddr(p)
	}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

func TestLookupMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var (
		b        Builder
		ref      referenceTable
		prefixes []netip.Prefix
	)
	for range 10_000 {
		p := randomPrefix(rng, rng.IntN(3) == 0)
		v := uint64(1) << rng.IntN(64)
		if err := b.Add(p, v); err != nil {
			t.Fatalf("Add(%s): %v", p, err)
		}
		ref.add(p, v)
		prefixes = append(prefixes, p)
	}
	table := b.Build()

	mismatches, hits := 0, 0
	for i := range 100_000 {
		var a netip.Addr
		if i%2 == 0 {
			a = addrNear(rng, prefixes[rng.IntN(len(prefixes))])
		} else {
			a = randomAddr(rng, rng.IntN(3) == 0)
		}
		got, want := table.Lookup(a), ref.lookup(a)
		if want != 0 {
			hits++
		}
		if got != want {
			mismatches++
			if mismatches <= 10 {
				t.Errorf("Lookup(%s) = %#x, reference %#x", a, got, want)
			}
		}
	}
	if mismatches > 10 {
		t.Errorf("%d mismatches in total", mismatches)
	}
	// A test where nearly every lookup misses would prove little.
	if hits < 20_000 {
		t.Errorf("only %d of 100000 lookups hit a prefix, want at least 20000", hits)
	}
}

func TestLookupNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var b Builder
	for range 1000 {
		if err := b.Add(randomPrefix(rng, rng.IntN(2) == 0), 1); err != nil {
			t.Fatal(err)
		}
	}
	table := b.Build()
	v4, v6 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")
	allocs := testing.AllocsPerRun(100, func() {
		table.Lookup(v4)
		table.Lookup(v6)
	})
	if allocs != 0 {
		t.Errorf("Lookup allocates %.1f times per call, want 0", allocs)
	}
}

// BenchmarkLookup looks up random addresses, about half of them inside a
// listed prefix, in tables of 100,000 random prefixes.
func BenchmarkLookup(b *testing.B) {
	for _, family := range []struct {
		name string
		v6   bool
	}{{"ipv4", false}, {"ipv6", true}} {
		b.Run(family.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			prefixes := make([]netip.Prefix, 100_000)
			for i := range prefixes {
				prefixes[i] = randomPrefix(rng, family.v6)
			}

			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var builder Builder
			for i, p := range prefixes {
				if err := builder.Add(p, uint64(1)<<(i%64)); err != nil {
					b.Fatal(err)
				}
			}
			table := builder.Build()
			builder = Builder{}
			runtime.GC()
			runtime.ReadMemStats(&after)

			addrs := make([]netip.Addr, 1<<16)
			for i := range addrs {
				if i%2 == 0 {
					addrs[i] = addrNear(rng, prefixes[rng.IntN(len(prefixes))])
				} else {
					addrs[i] = randomAddr(rng, family.v6)
				}
			}

			b.ReportAllocs()
			b.ResetTimer()
			var sink uint64
			i := 0
			for b.Loop() {
				sink |= table.Lookup(addrs[i&(len(addrs)-1)])
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
			b.ReportMetric(float64(table.Bytes()), "table_bytes")
			b.ReportMetric(float64(after.HeapAlloc)-float64(before.HeapAlloc), "heap_bytes")
			v4, v6 := table.Ranges()
			b.ReportMetric(float64(v4+v6), "ranges")
			runtime.KeepAlive(sink)
		})
	}
}

// FuzzBuild decodes prefixes from the input, each as 16 address bytes, a
// family byte and a length byte, and checks every lookup against a linear
// scan of those prefixes.
func FuzzBuild(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{192, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 24})
	f.Add([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 6, 128,
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const size = 18
		var (
			b        Builder
			prefixes []netip.Prefix
			values   []uint64
		)
		for i := 0; i+size <= len(data) && len(prefixes) < 64; i += size {
			chunk := data[i : i+size]
			var a netip.Addr
			if chunk[16]%2 == 0 {
				a = netip.AddrFrom4([4]byte(chunk[:4]))
			} else {
				a = netip.AddrFrom16([16]byte(chunk[:16]))
			}
			p, err := a.Prefix(int(chunk[17]) % (a.BitLen() + 1))
			if err != nil {
				t.Fatalf("Prefix: %v", err)
			}
			v := uint64(1) << (len(prefixes) % 64)
			if err := b.Add(p, v); err != nil {
				t.Fatalf("Add(%s): %v", p, err)
			}
			prefixes = append(prefixes, p)
			values = append(values, v)
		}
		table := b.Build()

		scan := func(a netip.Addr) uint64 {
			var v uint64
			for i, p := range prefixes {
				if p.Contains(a.Unmap()) {
					v |= values[i]
				}
			}
			return v
		}
		for _, p := range prefixes {
			for _, a := range []netip.Addr{p.Addr(), p.Addr().Prev(), lastAddr(p), lastAddr(p).Next()} {
				if !a.IsValid() {
					continue
				}
				if got, want := table.Lookup(a), scan(a); got != want {
					t.Fatalf("Lookup(%s) = %#x, linear scan %#x", a, got, want)
				}
			}
		}
	})
}
