// Package prefixtable maps IPv4 and IPv6 addresses to the OR of the values
// of every prefix that contains them, for example a bitset of the blocklist
// feeds that list an address.
//
// A Builder collects prefixes. Build flattens them into sorted,
// non-overlapping address ranges, splitting where prefixes nest or overlap
// and OR-ing their values, so a lookup is one binary search with no
// longest-prefix logic. A first-level index on the top 16 bits of the key
// (fewer for small tables) narrows each search to a few entries.
//
// A Table is immutable after Build: lookups need no lock, and a caller that
// refreshes its prefixes builds a new Table and swaps it in, for example with
// atomic.Pointer.
//
// Memory is 12 bytes per IPv4 range boundary and 24 bytes per IPv6 boundary,
// plus an index of up to 2^16+1 4-byte entries (256 KiB) per address family. A table of n prefixes
// has at most 2n boundaries per family, and fewer when prefixes are adjacent
// or merge into runs of the same value. Table.Bytes returns the exact figure.
//
// The two families are separate. An IPv4-mapped IPv6 address
// (::ffff:192.0.2.1) is looked up as the IPv4 address it carries, and an
// IPv6 prefix never matches an IPv4 address, not even ::/0.
package prefixtable

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
)

// maxIndexBits bounds the first-level index to 2^16+1 entries of 4 bytes.
const maxIndexBits = 16

// u128 is an IPv6 address, or an IPv4 address in lo, as an integer.
type u128 struct{ hi, lo uint64 }

func (a u128) compare(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// addOne returns a+1 and whether the sum wrapped around past 2^128-1.
func (a u128) addOne() (u128, bool) {
	lo, carry := bits.Add64(a.lo, 1, 0)
	hi, overflow := bits.Add64(a.hi, 0, carry)
	return u128{hi, lo}, overflow != 0
}

func u128FromAddr(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var v u128
	for i := range 8 {
		v.hi = v.hi<<8 | uint64(b[i])
		v.lo = v.lo<<8 | uint64(b[i+8])
	}
	return v
}

// span is one added prefix as an inclusive address range.
type span struct {
	first, last u128
	value       uint64
}

// Builder collects prefixes for a Table. The zero value is ready to use. A
// Builder is not safe for concurrent use.
type Builder struct {
	v4, v6 []span
}

// Add records that every address in p carries value. Where prefixes
// overlap, an address carries the OR of their values. Host bits in p are
// ignored, and an IPv4-mapped IPv6 prefix of length 96 or more is stored as
// the IPv4 prefix it carries. Add returns an error only for an invalid
// prefix.
func (b *Builder) Add(p netip.Prefix, value uint64) error {
	if !p.IsValid() {
		return fmt.Errorf("invalid prefix %s", p)
	}
	addr := p.Addr()
	if addr.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(addr.Unmap(), p.Bits()-96)
	}
	p = p.Masked()
	first := u128FromAddr(p.Addr())

	if p.Addr().Is4() {
		host := uint64(1)<<(32-p.Bits()) - 1
		b.v4 = append(b.v4, span{first: first, last: u128{lo: first.lo | host}, value: value})
		return nil
	}
	var hostHi, hostLo uint64
	if n := p.Bits(); n < 64 {
		hostHi = ^uint64(0) >> n
		hostLo = ^uint64(0)
	} else {
		hostLo = ^uint64(0) >> (n - 64)
	}
	b.v6 = append(b.v6, span{first: first, last: u128{first.hi | hostHi, first.lo | hostLo}, value: value})
	return nil
}

// Len returns the number of prefixes added so far.
func (b *Builder) Len() int { return len(b.v4) + len(b.v6) }

// Build returns a Table of the prefixes added so far. The Builder is left
// unchanged, so more prefixes may be added and Build called again.
func (b *Builder) Build() *Table {
	t := &Table{}

	starts4, values4 := flatten(b.v4, 32)
	t.v4.starts = make([]uint32, len(starts4))
	for i, s := range starts4 {
		t.v4.starts[i] = uint32(s.lo)
	}
	t.v4.values = values4
	t.v4.index, t.v4.shift = buildIndex(len(starts4), 32, func(i int) uint64 { return uint64(t.v4.starts[i]) })

	t.v6.starts, t.v6.values = flatten(b.v6, 128)
	t.v6.index, t.v6.shift = buildIndex(len(t.v6.starts), 64, func(i int) uint64 { return t.v6.starts[i].hi })
	return t
}

// boundary is an address where the set of covering prefixes changes. A
// prefix opens at its first address and closes one past its last address.
type boundary struct {
	at    u128
	value uint64
	open  bool
}

// flatten turns possibly overlapping spans into the sorted start addresses
// of maximal ranges with a constant value, and those values. A range runs
// from its start to the next start minus one, and the last one to the end of
// the address space. Ranges covered by no prefix have the value 0.
func flatten(spans []span, width int) ([]u128, []uint64) {
	if len(spans) == 0 {
		return nil, nil
	}
	bounds := make([]boundary, 0, 2*len(spans))
	for _, s := range spans {
		bounds = append(bounds, boundary{at: s.first, value: s.value, open: true})
		next, overflow := s.last.addOne()
		// A span that reaches the last address of the family never closes.
		if overflow || (width == 32 && next.lo > 0xFFFFFFFF) {
			continue
		}
		bounds = append(bounds, boundary{at: next, value: s.value})
	}
	slices.SortFunc(bounds, func(a, b boundary) int { return a.at.compare(b.at) })

	// counts[i] is how many open spans carry bit i, so a bit stays set until
	// the last span that carries it has closed.
	var counts [64]int
	var current uint64
	var starts []u128
	var values []uint64
	for i := 0; i < len(bounds); {
		at := bounds[i].at
		for ; i < len(bounds) && bounds[i].at == at; i++ {
			current = applyBoundary(&counts, current, bounds[i])
		}
		last := uint64(0)
		if len(values) > 0 {
			last = values[len(values)-1]
		}
		if current != last {
			starts = append(starts, at)
			values = append(values, current)
		}
	}
	return slices.Clip(starts), slices.Clip(values)
}

func applyBoundary(counts *[64]int, current uint64, b boundary) uint64 {
	for v := b.value; v != 0; v &= v - 1 {
		bit := bits.TrailingZeros64(v)
		if b.open {
			counts[bit]++
			current |= 1 << bit
			continue
		}
		counts[bit]--
		if counts[bit] == 0 {
			current &^= 1 << bit
		}
	}
	return current
}

// buildIndex returns, for each value of the top bits of a key, the first
// range start at or above it, and the shift that extracts those bits from a
// key of keyWidth bits. key(i) is the index key of start i.
func buildIndex(n, keyWidth int, key func(int) uint64) ([]uint32, uint) {
	if n == 0 {
		return nil, 0
	}
	indexBits := min(max(bits.Len(uint(n))-2, 0), maxIndexBits)
	shift := uint(keyWidth - indexBits)
	index := make([]uint32, 1<<indexBits+1)
	next := 0
	for bucket := range index {
		for next < n && key(next)>>shift < uint64(bucket) {
			next++
		}
		index[bucket] = uint32(next)
	}
	return index, shift
}

// Table is an immutable map from addresses to values, built by a Builder.
// A nil *Table is empty. A Table is safe for concurrent use.
type Table struct {
	v4 struct {
		starts []uint32
		values []uint64
		index  []uint32
		shift  uint
	}
	v6 struct {
		starts []u128
		values []uint64
		index  []uint32
		shift  uint
	}
}

// Lookup returns the OR of the values of every prefix that contains a, or 0
// when none does or a is invalid.
func (t *Table) Lookup(a netip.Addr) uint64 {
	if t == nil {
		return 0
	}
	a = a.Unmap()
	if a.Is4() {
		return t.lookup4(a.As4())
	}
	if a.Is6() {
		return t.lookup6(u128FromAddr(a))
	}
	return 0
}

func (t *Table) lookup4(b [4]byte) uint64 {
	starts := t.v4.starts
	if len(starts) == 0 {
		return 0
	}
	key := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bucket := key >> t.v4.shift
	lo, hi := int(t.v4.index[bucket]), int(t.v4.index[bucket+1])
	// Find the first start above key. The range before it contains key.
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if starts[mid] <= key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return 0
	}
	return t.v4.values[lo-1]
}

func (t *Table) lookup6(key u128) uint64 {
	starts := t.v6.starts
	if len(starts) == 0 {
		return 0
	}
	bucket := key.hi >> t.v6.shift
	lo, hi := int(t.v6.index[bucket]), int(t.v6.index[bucket+1])
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		s := starts[mid]
		if s.hi < key.hi || s.hi == key.hi && s.lo <= key.lo {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return 0
	}
	return t.v6.values[lo-1]
}

// Ranges returns the number of range boundaries stored per family. Each
// boundary starts a run of addresses with one value, possibly 0.
func (t *Table) Ranges() (v4, v6 int) {
	if t == nil {
		return 0, 0
	}
	return len(t.v4.starts), len(t.v6.starts)
}

// Bytes returns the memory held by the table's arrays, in bytes.
func (t *Table) Bytes() int {
	if t == nil {
		return 0
	}
	return 4*cap(t.v4.starts) + 8*cap(t.v4.values) + 4*cap(t.v4.index) +
		16*cap(t.v6.starts) + 8*cap(t.v6.values) + 4*cap(t.v6.index)
}
