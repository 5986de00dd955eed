package promql

import (
	"net/netip"
	"strconv"
	"strings"
)

// The regular expressions below match the text of an address as a label
// value: IPv4 in dotted decimal without leading zeros, IPv6 in hexadecimal
// groups, as netip.Addr.String and inet_ntop write them. They use RE2 syntax,
// which Prometheus, VictoriaMetrics and Loki all use, and are meant for label
// matchers, which anchor a regex at both ends.

// anyOctet matches one decimal IPv4 octet. It accepts values above 255 too,
// which no valid address text has.
const anyOctet = `[0-9]{1,3}`

// anyGroup matches one hexadecimal IPv6 group.
const anyGroup = `[0-9a-f]{1,4}`

// mappedPrefix contains the IPv4-mapped IPv6 addresses, which
// netip.Addr.String writes as "::ffff:" followed by the dotted IPv4 address.
var mappedPrefix = netip.MustParsePrefix("::ffff:0:0/96")

// matchNothing is a regex that matches no text: the complement of every
// character. RE2 rejects the shorter empty class "[]".
const matchNothing = `[^\x00-\x{10FFFF}]`

// PrefixRegexp returns an RE2 regular expression that, anchored at both ends,
// matches the text of every address in p and of no address outside it.
//
// IPv4 text is dotted decimal. IPv6 text is lower-case hexadecimal groups
// without leading zeros, as netip.Addr.String and inet_ntop write them,
// with "::" in any place or in none: the regex does not depend on which
// run of zero groups a writer compresses. IPv4-mapped addresses in p match
// in the dotted form "::ffff:192.0.2.1" that netip.Addr.String writes. A
// single IPv6 address (a /128) matches in its canonical form only. Callers
// that may see upper-case hexadecimal wrap the regex in "(?i:…)". An
// invalid p matches nothing.
func PrefixRegexp(p netip.Prefix) string {
	if !p.IsValid() {
		return matchNothing
	}
	p = p.Masked()
	if p.Addr().Is4() {
		return prefixRegexp4(p)
	}
	return prefixRegexp6(p, true)
}

// prefixRegexp4 returns the regex of the dotted-decimal addresses in the
// IPv4 prefix p.
func prefixRegexp4(p netip.Prefix) string {
	octets := p.Addr().As4()
	bits := p.Bits()
	fixedOctets := (bits + 7) / 8 // octets the prefix constrains
	parts := make([]string, 0, fixedOctets+1)
	for i := range fixedOctets {
		fixed := min(bits-8*i, 8) // leading bits of octet i the prefix fixes
		lo := int(octets[i])
		hi := lo | (1<<(8-fixed) - 1)
		parts = append(parts, group(rangeRegexp(lo, hi, 10)))
	}
	if free := 4 - fixedOctets; free > 0 {
		parts = append(parts, anyOctet+repeated(`\.`+anyOctet, free-1))
	}
	return strings.Join(parts, `\.`)
}

// prefixRegexp6 returns the regex of the hexadecimal texts of the addresses
// in the IPv6 prefix p, and of the dotted "::ffff:a.b.c.d" texts of its
// IPv4-mapped addresses when dotted is set.
//
// The text of an address is its eight groups, with one run of groups
// written as "::" or none. Let k be the number of groups the prefix
// constrains. If the text has no "::" before its k-th group, it starts with
// the k constrained groups, one token each. Otherwise "::" starts at group
// s < k, the text starts with s constrained tokens, and the groups from s to
// the end of the run must be allowed to be zero. Groups after the run are
// written as tokens again, and those before k are constrained. Each such s
// and run end gives one alternative, so the union covers every text.
func prefixRegexp6(p netip.Prefix, dotted bool) string {
	addr := p.Addr().As16()
	bits := p.Bits()

	var lo, hi [8]int
	k := 0 // groups constrained by the prefix
	for i := range 8 {
		fixed := min(max(bits-16*i, 0), 16)
		lo[i] = int(addr[2*i])<<8 | int(addr[2*i+1])
		hi[i] = lo[i] | (1<<(16-fixed) - 1)
		if fixed > 0 {
			k = i + 1
		}
	}
	token := func(i int) string {
		if i >= k {
			return anyGroup
		}
		return group(rangeRegexp(lo[i], hi[i], 16))
	}
	joinTokens := func(from, to int) string {
		parts := make([]string, 0, to-from)
		for i := from; i < to; i++ {
			parts = append(parts, token(i))
		}
		return strings.Join(parts, ":")
	}

	var alts []string
	if bits == 128 {
		// One address: its canonical text only, because the general form
		// of an address with many zero groups, such as ::1, needs dozens of
		// alternatives. A mapped address is written dotted, below.
		if !p.Addr().Is4In6() {
			alts = append(alts, p.Addr().String())
		}
	} else {
		// No "::" among the first k groups.
		switch {
		case k == 0:
			alts = append(alts, `[0-9a-f:]*:[0-9a-f:]*`)
		case k == 8:
			alts = append(alts, joinTokens(0, 8))
		default:
			alts = append(alts, joinTokens(0, k)+`:[0-9a-f:]*`)
		}

		// "::" stands for groups s to e-1, with s < k.
		for s := 0; s < k; s++ {
			if lo[s] != 0 {
				continue // group s cannot be zero
			}
			before := joinTokens(0, s)
			// Runs that end before group k: the text after "::" is
			// exactly groups e to 7, and e to k-1 stay constrained.
			for e := s + 1; e < k && lo[e-1] == 0; e++ {
				after := joinTokens(e, k)
				if k < 8 {
					after += repeated(":"+anyGroup, 8-k)
				}
				alts = append(alts, before+"::"+after)
			}
			// Runs that cover every constrained group from s on: the
			// groups after "::", if any, are all free.
			allZero := true
			for i := s; i < k; i++ {
				allZero = allZero && lo[i] == 0
			}
			if !allZero {
				continue
			}
			after := ""
			if free := 8 - max(s+1, k); free > 0 {
				after = `(?:` + anyGroup + `(?::` + anyGroup + `){0,` + strconv.Itoa(free-1) + `})?`
			}
			alts = append(alts, before+"::"+after)
		}
	}

	if dotted {
		switch {
		case bits <= mappedPrefix.Bits() && p.Contains(mappedPrefix.Addr()):
			alts = append(alts, `::ffff:`+prefixRegexp4(netip.PrefixFrom(netip.IPv4Unspecified(), 0)))
		case bits > mappedPrefix.Bits() && mappedPrefix.Contains(p.Addr()):
			v4 := netip.PrefixFrom(p.Addr().Unmap(), bits-mappedPrefix.Bits())
			alts = append(alts, `::ffff:`+prefixRegexp4(v4))
		}
	}
	if len(alts) == 0 {
		return matchNothing
	}
	return strings.Join(alts, "|")
}

// group wraps re in a non-capturing group when it has an alternation at
// its top level, so that it can be concatenated.
func group(re string) string {
	depth := 0
	for i := 0; i < len(re); i++ {
		switch re[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
		case '|':
			if depth == 0 {
				return "(?:" + re + ")"
			}
		}
	}
	return re
}

// closesAtEnd reports whether the group opened at the start of re closes at
// its last byte, so that re is a single group.
func closesAtEnd(re string) bool {
	depth := 0
	for i := 0; i < len(re); i++ {
		switch re[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i == len(re)-1
			}
		}
	}
	return false
}

// rangeRegexp returns a regex of the numbers from lo to hi written in base
// 10 or 16, with lower-case digits and without leading zeros.
func rangeRegexp(lo, hi, base int) string {
	var alts []string
	for width, minimum := 1, 0; minimum <= hi; width, minimum = width+1, pow(base, width) {
		maximum := pow(base, width) - 1
		a, b := max(lo, minimum), min(hi, maximum)
		if a > b {
			continue
		}
		alts = append(alts, fixedRangeRegexp(digits(a, width, base), digits(b, width, base), base))
	}
	for i, alt := range alts {
		if strings.HasPrefix(alt, "(?:") && closesAtEnd(alt) {
			alts[i] = alt[len("(?:") : len(alt)-1]
		}
	}
	return strings.Join(alts, "|")
}

// fixedRangeRegexp returns a regex of the digit strings of length
// len(lo) from lo to hi, both given as digits of the same length.
func fixedRangeRegexp(lo, hi []int, base int) string {
	n := len(lo)
	if allEqual(lo, 0) && allEqual(hi, base-1) {
		return anyDigits(n, base)
	}
	if lo[0] == hi[0] {
		return digitClass(lo[0], lo[0]) + fixedRangeRegexp(lo[1:], hi[1:], base)
	}
	restMin := allEqual(lo[1:], 0)
	restMax := allEqual(hi[1:], base-1)
	if restMin && restMax {
		return digitClass(lo[0], hi[0]) + anyDigits(n-1, base)
	}

	var alts []string
	first, last := lo[0], hi[0]
	if !restMin {
		alts = append(alts, digitClass(lo[0], lo[0])+group(fixedRangeRegexp(lo[1:], repeat(base-1, n-1), base)))
		first++
	}
	var tail string
	if !restMax {
		tail = digitClass(hi[0], hi[0]) + group(fixedRangeRegexp(repeat(0, n-1), hi[1:], base))
		last--
	}
	if first <= last {
		alts = append(alts, digitClass(first, last)+anyDigits(n-1, base))
	}
	if tail != "" {
		alts = append(alts, tail)
	}
	return "(?:" + strings.Join(alts, "|") + ")"
}

// digitClass returns a regex of one digit from lo to hi (0 to 15).
func digitClass(lo, hi int) string {
	if lo == hi {
		return digitChar(lo)
	}
	var b strings.Builder
	b.WriteByte('[')
	if lo <= 9 {
		b.WriteString(digitChar(lo))
		if top := min(hi, 9); top > lo {
			b.WriteString("-" + digitChar(top))
		}
	}
	if hi >= 10 {
		from := max(lo, 10)
		b.WriteString(digitChar(from))
		if hi > from {
			b.WriteString("-" + digitChar(hi))
		}
	}
	b.WriteByte(']')
	return b.String()
}

func digitChar(d int) string { return strconv.FormatInt(int64(d), 16) }

// anyDigits returns a regex of n digits of the base.
func anyDigits(n, base int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return digitClass(0, base-1)
	}
	return digitClass(0, base-1) + "{" + strconv.Itoa(n) + "}"
}

// repeated returns a regex of re exactly n times.
func repeated(re string, n int) string {
	switch n {
	case 0:
		return ""
	case 1:
		return re
	}
	return "(?:" + re + "){" + strconv.Itoa(n) + "}"
}

// digits returns v as exactly width digits of the base, most significant first.
func digits(v, width, base int) []int {
	out := make([]int, width)
	for i := width - 1; i >= 0; i-- {
		out[i] = v % base
		v /= base
	}
	return out
}

func repeat(d, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = d
	}
	return out
}

func allEqual(ds []int, d int) bool {
	for _, x := range ds {
		if x != d {
			return false
		}
	}
	return true
}

func pow(base, exp int) int {
	r := 1
	for range exp {
		r *= base
	}
	return r
}
