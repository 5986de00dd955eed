package feeds

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
)

// entry is one parsed list entry: a prefix, or the range first..last.
type entry struct {
	prefix      netip.Prefix
	first, last netip.Addr
	isRange     bool
	// masked is true when the prefix was written with host bits set, as in
	// 192.0.2.77/24.
	masked bool
}

// parseEntry parses an address (192.0.2.1), a CIDR prefix (192.0.2.0/24),
// a prefix with a dotted netmask (192.0.2.0/255.255.255.0) or a range
// (192.0.2.10-192.0.2.20). Spaces around the '-' of a range are allowed. An
// IPv4-mapped IPv6 address is returned as the IPv4 address it carries.
func parseEntry(tok []byte) (entry, error) {
	if len(tok) == 0 {
		return entry{}, errors.New("empty entry")
	}
	if i := bytes.IndexByte(tok, '-'); i >= 0 {
		return parseRange(tok, i)
	}
	if i := bytes.IndexByte(tok, '/'); i >= 0 {
		return parseCIDR(tok, i)
	}
	a, ok := parseAddr(tok)
	if !ok {
		return entry{}, fmt.Errorf("invalid address %s", quote(tok))
	}
	return entry{prefix: netip.PrefixFrom(a, a.BitLen())}, nil
}

func parseRange(tok []byte, dash int) (entry, error) {
	first, ok1 := parseAddr(bytes.TrimSpace(tok[:dash]))
	last, ok2 := parseAddr(bytes.TrimSpace(tok[dash+1:]))
	switch {
	case !ok1 || !ok2:
		return entry{}, fmt.Errorf("invalid range %s: want first-last, such as 192.0.2.10-192.0.2.20", quote(tok))
	case first.Is4() != last.Is4():
		return entry{}, fmt.Errorf("invalid range %s: mixes IPv4 and IPv6", quote(tok))
	case last.Less(first):
		return entry{}, fmt.Errorf("invalid range %s: ends before it starts", quote(tok))
	}
	return entry{first: first, last: last, isRange: true}, nil
}

func parseCIDR(tok []byte, slash int) (entry, error) {
	a, ok := parseAddr(tok[:slash])
	if !ok {
		return entry{}, fmt.Errorf("invalid address in prefix %s", quote(tok))
	}
	suffix := tok[slash+1:]
	bits := -1
	if bytes.IndexByte(suffix, '.') >= 0 {
		bits = netmaskBits(suffix)
		if bits < 0 || !a.Is4() {
			return entry{}, fmt.Errorf("invalid netmask in %s: want a contiguous IPv4 mask such as 255.255.255.0", quote(tok))
		}
	} else if n, ok := parseDecimal(suffix, 3); ok {
		bits = n
	}
	// An IPv4-mapped address was unmapped by parseAddr, so its prefix
	// length counts from bit 96 of the IPv6 form.
	if bytes.IndexByte(tok[:slash], ':') >= 0 && a.Is4() {
		bits -= 96
	}
	if bits < 0 || bits > a.BitLen() {
		return entry{}, fmt.Errorf("invalid prefix length in %s", quote(tok))
	}
	p := netip.PrefixFrom(a, bits)
	masked := p.Masked()
	return entry{prefix: masked, masked: masked != p}, nil
}

// parseAddr parses an IPv4 or IPv6 address without a zone. IPv4-mapped
// IPv6 addresses are unmapped.
func parseAddr(b []byte) (netip.Addr, bool) {
	if bytes.IndexByte(b, ':') < 0 {
		return parseIPv4(b)
	}
	// Longer than any IPv6 text form: reject before converting to a string.
	if len(b) > 45 {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// parseIPv4 parses a dotted-quad IPv4 address without allocating. Like
// netip.ParseAddr it rejects leading zeros, which some tools read as octal.
func parseIPv4(b []byte) (netip.Addr, bool) {
	var out [4]byte
	octet := 0
	start := 0
	for i := 0; i <= len(b); i++ {
		if i < len(b) && b[i] != '.' {
			continue
		}
		if octet == 4 {
			return netip.Addr{}, false
		}
		field := b[start:i]
		if len(field) > 1 && field[0] == '0' {
			return netip.Addr{}, false
		}
		n, ok := parseDecimal(field, 3)
		if !ok || n > 255 {
			return netip.Addr{}, false
		}
		out[octet] = byte(n)
		octet++
		start = i + 1
	}
	if octet != 4 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom4(out), true
}

// parseDecimal parses 1 to maxDigits ASCII digits.
func parseDecimal(b []byte, maxDigits int) (int, bool) {
	if len(b) == 0 || len(b) > maxDigits {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// netmaskBits returns the prefix length of a dotted IPv4 netmask, or -1 when
// b is not one or its one bits are not contiguous.
func netmaskBits(b []byte) int {
	m, ok := parseIPv4(b)
	if !ok {
		return -1
	}
	v := m.As4()
	mask := uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
	ones := 0
	for mask&(1<<31) != 0 {
		ones++
		mask <<= 1
	}
	if mask != 0 {
		return -1
	}
	return ones
}

// lastAddr returns the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	if p.Addr().Is4() {
		b := p.Addr().As4()
		for i := p.Bits(); i < 32; i++ {
			b[i/8] |= 0x80 >> (i % 8)
		}
		return netip.AddrFrom4(b)
	}
	b := p.Addr().As16()
	for i := p.Bits(); i < 128; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	return netip.AddrFrom16(b)
}

// rangePrefixes calls emit with the fewest prefixes that together cover
// first..last exactly, in address order: at most 2 per bit of the address.
func rangePrefixes(first, last netip.Addr, emit func(netip.Prefix)) {
	for {
		// Widen the block that starts at first while it stays aligned
		// and ends within the range.
		n := first.BitLen()
		for n > 0 {
			wider := netip.PrefixFrom(first, n-1)
			if wider.Masked().Addr() != first || last.Less(lastAddr(wider)) {
				break
			}
			n--
		}
		p := netip.PrefixFrom(first, n)
		emit(p)

		end := lastAddr(p)
		if !end.Less(last) {
			return
		}
		first = end.Next()
	}
}

// quote returns b as a Go-quoted string for a message, cut to 64 bytes.
func quote(b []byte) string {
	const maxQuoted = 64
	if len(b) > maxQuoted {
		return fmt.Sprintf("%q…", b[:maxQuoted])
	}
	return fmt.Sprintf("%q", b)
}
