package promql

import (
	"net/netip"
	"slices"
	"strings"
)

// Special-purpose ranges, as package netclass classifies them.
var (
	// nonPublic4 contains every IPv4 address netclass does not call public:
	// "this network" with the unspecified address, private, CGNAT,
	// loopback, link-local, multicast, and the reserved 240.0.0.0/4 with
	// the broadcast address.
	nonPublic4 = mustParsePrefixes("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
		"169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
	// nonPublic6 contains every IPv6 address netclass does not call public,
	// apart from the IPv4-mapped ones: unspecified, loopback, link-local,
	// unique local and multicast.
	nonPublic6 = mustParsePrefixes("::/128", "::1/128", "fe80::/10", "fc00::/7", "ff00::/8")

	// internal4 and internal6 contain the addresses netclass calls internal
	// hosts: private, CGNAT, unique local, link-local unicast and
	// link-local multicast.
	internal4 = mustParsePrefixes("10.0.0.0/8", "100.64.0.0/10", "169.254.0.0/16", "172.16.0.0/12",
		"192.168.0.0/16", "224.0.0.0/24")
	internal6 = mustParsePrefixes("fe80::/10", "fc00::/7")
)

// linkLocalMulticast6 matches IPv6 link-local multicast, every ffX2::/16
// whatever the flags X: one regex in place of sixteen prefixes.
const linkLocalMulticast6 = `ff[0-9a-f]2:[0-9a-f:]*`

// NonPublicRegexp returns an RE2 regular expression that, anchored at both
// ends, matches the text of exactly the addresses netclass.New(own) does not
// classify as public: the special-purpose ranges, the own prefixes, and the
// IPv4-mapped forms of the IPv4 ones. IPv6 hexadecimal may be in either
// case, and IPv6 text may end in a zone ("%igc0"). It is meant for a
// negative matcher (src_ip!~"…") that removes non-public addresses inside a
// query, before topk.
//
// A /128 own prefix and the unspecified and loopback addresses match in
// their canonical text only, as PrefixRegexp documents.
func NonPublicRegexp(own []netip.Prefix) string {
	return classRegexp(nonPublic4, nonPublic6, nil, own)
}

// InternalRegexp returns an RE2 regular expression that, anchored at both
// ends, matches the text of every address netclass.New(own) classifies as
// an internal host, and their IPv4-mapped forms. It also matches an own
// address inside a special-purpose range, such as loopback, which netclass
// does not call internal, so callers check each match with the classifier.
func InternalRegexp(own []netip.Prefix) string {
	return classRegexp(internal4, internal6, []string{linkLocalMulticast6}, own)
}

// classRegexp returns the case-insensitive union of the IPv4 prefixes, with
// or without the "::ffff:" of their mapped form, and of the IPv6 prefixes,
// with or without a zone. extra6 are more IPv6 alternatives.
// The IPv6 prefixes get no dotted mapped alternative because netclass
// unmaps an address before it compares it with a prefix, so an IPv6 prefix
// never contains a mapped address.
func classRegexp(fixed4, fixed6 []netip.Prefix, extra6 []string, own []netip.Prefix) string {
	var alts4 []string
	alts6 := slices.Clone(extra6)
	for _, p := range fixed4 {
		alts4 = append(alts4, prefixRegexp4(p))
	}
	for _, p := range fixed6 {
		alts6 = append(alts6, prefixRegexp6(p, false))
	}
	for _, p := range own {
		if !p.IsValid() {
			continue
		}
		p = p.Masked()
		if p.Addr().Is4() {
			alts4 = append(alts4, prefixRegexp4(p))
		} else if re := prefixRegexp6(p, false); re != matchNothing {
			alts6 = append(alts6, re)
		}
	}
	// An IPv6 address text may end in a zone, "fe80::1%igc0", which does
	// not change its class.
	return "(?i)(?:::ffff:)?(?:" + strings.Join(alts4, "|") + ")|(?:" + strings.Join(alts6, "|") + ")(?:%.*)?"
}

func mustParsePrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}
