package filterlog

import (
	"net/netip"
)

// The address parsers accept exactly what netip.ParseAddr accepts for
// addresses without a zone, which inet_ntop and inet_ntoa never print. They
// exist because netip.ParseAddr takes a string, and converting the line's
// bytes to one allocates for every address.

// parseAddr4 parses dotted-decimal IPv4: four fields of 0–255 with no
// leading zeros.
func parseAddr4(b []byte) (netip.Addr, bool) {
	var ip [4]byte
	field := 0
	value := 0
	digits := 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case isDigit(c):
			if digits == 1 && value == 0 {
				return netip.Addr{}, false
			}
			value = value*10 + int(c-'0')
			digits++
			if value > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && digits > 0 && field < 3:
			ip[field] = byte(value)
			field++
			value, digits = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if field != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	ip[3] = byte(value)
	return netip.AddrFrom4(ip), true
}

// parseAddr6 parses IPv6 text: up to eight groups of one to four hex digits,
// at most one "::" standing for one or more zero groups, and an optional
// dotted IPv4 address in place of the last two groups.
func parseAddr6(b []byte) (netip.Addr, bool) {
	var ip [16]byte
	n := 0    // bytes of ip filled
	gap := -1 // offset in ip where "::" is, or -1
	i := 0    // offset in b

	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		gap = 0
		i = 2
		if i == len(b) {
			return netip.IPv6Unspecified(), true
		}
	}

	for {
		// One group of hex digits, or a dotted IPv4 tail.
		start := i
		value := 0
		for i < len(b) && i-start <= 4 {
			digit, ok := hexValue(b[i])
			if !ok {
				break
			}
			value = value<<4 | digit
			i++
		}
		digits := i - start
		if digits == 0 || digits > 4 {
			return netip.Addr{}, false
		}

		if i < len(b) && b[i] == '.' {
			if n > 12 || (gap < 0 && n != 12) {
				return netip.Addr{}, false
			}
			v4, ok := parseAddr4(b[start:])
			if !ok {
				return netip.Addr{}, false
			}
			tail := v4.As4()
			copy(ip[n:], tail[:])
			n += 4
			break
		}

		if n == 16 {
			return netip.Addr{}, false
		}
		ip[n], ip[n+1] = byte(value>>8), byte(value)
		n += 2
		if i == len(b) {
			break
		}

		// A colon, then either another group or a second colon for "::".
		if b[i] != ':' || i+1 == len(b) {
			return netip.Addr{}, false
		}
		i++
		if b[i] == ':' {
			if gap >= 0 {
				return netip.Addr{}, false
			}
			gap = n
			i++
			if i == len(b) {
				break
			}
		}
	}

	// "::" must replace at least one group. Without it, all eight are needed.
	switch {
	case gap < 0 && n != 16, gap >= 0 && n == 16:
		return netip.Addr{}, false
	case gap >= 0:
		shift := 16 - n
		copy(ip[gap+shift:], ip[gap:n])
		clear(ip[gap : gap+shift])
	}
	return netip.AddrFrom16(ip), true
}

func hexValue(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}
