package narrative

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// mention is an address or prefix named in a text. A single address is a
// full-length prefix.
type mention struct {
	prefix netip.Prefix
}

func (m mention) single() bool { return m.prefix.Bits() == m.prefix.Addr().BitLen() }

func (m mention) String() string {
	if m.single() {
		return m.prefix.Addr().String()
	}
	return m.prefix.String()
}

// defanger undoes the usual ways threat reports write addresses so that
// they are not clickable, such as 192.0.2[.]1.
var defanger = strings.NewReplacer("[.]", ".", "(.)", ".", "{.}", ".", "[dot]", ".", "(dot)", ".", "[:]", ":")

// looseIPv4 matches a dotted quad whose octets may have leading zeros, which
// netip rejects but people and some tools accept. Octets are read as
// decimal.
var looseIPv4 = regexp.MustCompile(`(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:/(\d{1,2}))?`)

// findAddresses returns the IPv4 and IPv6 addresses and CIDR prefixes named
// in text, each once, in order. It errs towards finding too much: a token
// such as "be::" or a version number "1.2.3.4" counts as an address,
// because a missed address could let a wrong block through.
func findAddresses(text string) []mention {
	text = defanger.Replace(text)
	var out []mention
	seen := make(map[netip.Prefix]bool)
	for i := 0; i < len(text); {
		if !isAddrByte(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isAddrByte(text[j]) {
			j++
		}
		end := j
		if j+1 < len(text) && text[j] == '/' {
			k := j + 1
			for k < len(text) && k-j <= 3 && isDigit(text[k]) {
				k++
			}
			if k > j+1 {
				end = k
			}
		}
		for _, m := range parseToken(text[i:end]) {
			if !seen[m.prefix] {
				seen[m.prefix] = true
				out = append(out, m)
			}
		}
		i = end
	}
	return out
}

// parseToken reads a run of address characters, with an optional /bits.
// Sentence punctuation around the address is tolerated.
func parseToken(tok string) []mention {
	addrPart, bitsPart, hasBits := strings.Cut(tok, "/")
	candidates := []string{addrPart, strings.TrimRight(addrPart, ".:")}
	if strings.HasPrefix(addrPart, ":") && !strings.HasPrefix(addrPart, "::") {
		candidates = append(candidates, strings.TrimRight(addrPart[1:], ".:"), addrPart[1:])
	}
	for _, c := range candidates {
		a, err := netip.ParseAddr(c)
		if err != nil {
			continue
		}
		return []mention{toMention(a, bitsPart, hasBits)}
	}

	var out []mention
	for _, m := range looseIPv4.FindAllStringSubmatch(tok, -1) {
		var b [4]byte
		ok := true
		for i := range 4 {
			v, err := strconv.Atoi(m[i+1])
			if err != nil || v > 255 {
				ok = false
				break
			}
			b[i] = byte(v)
		}
		if ok {
			out = append(out, toMention(netip.AddrFrom4(b), m[5], m[5] != ""))
		}
	}
	return out
}

// toMention builds the mention of a with the given prefix length. A length
// that is not valid for the address is ignored, leaving the address.
// IPv4-mapped IPv6 addresses become IPv4.
func toMention(a netip.Addr, bitsText string, hasBits bool) mention {
	a = a.WithZone("")
	mapped := a.Is4In6()
	a = a.Unmap()
	p := netip.PrefixFrom(a, a.BitLen())
	if hasBits {
		if bits, err := strconv.Atoi(bitsText); err == nil {
			if mapped {
				bits -= 96
			}
			if bits >= 0 && bits <= a.BitLen() {
				p = netip.PrefixFrom(a, bits).Masked()
			}
		}
	}
	return mention{prefix: p}
}

func isAddrByte(c byte) bool {
	return isDigit(c) || c == ':' || c == '.' || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// lastAddr returns the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		setHostBits(b[:], p.Bits())
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	setHostBits(b[:], p.Bits())
	return netip.AddrFrom16(b)
}

func setHostBits(b []byte, bits int) {
	for i := range b {
		for bit := range 8 {
			if i*8+bit >= bits {
				b[i] |= 0x80 >> bit
			}
		}
	}
}
