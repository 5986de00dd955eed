// Package netclass decides whether an address is public, and so may be
// counted in a report and sent to a threat-intelligence provider, or internal.
package netclass

import (
	"fmt"
	"net/netip"
	"strings"
)

// Class is the category of an address.
type Class uint8

const (
	Public Class = iota
	Private
	Loopback
	LinkLocal
	CGNAT
	Unspecified
	Broadcast
	Multicast
	UniqueLocal
	Reserved
	Own
	Invalid
)

var classNames = [...]string{
	Public:      "public",
	Private:     "private",
	Loopback:    "loopback",
	LinkLocal:   "link-local",
	CGNAT:       "cgnat",
	Unspecified: "unspecified",
	Broadcast:   "broadcast",
	Multicast:   "multicast",
	UniqueLocal: "unique-local",
	Reserved:    "reserved",
	Own:         "own",
	Invalid:     "invalid",
}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return fmt.Sprintf("class(%d)", c)
}

// Fixed non-public IPv4 ranges that netip.Addr has no predicate for.
var (
	cgnat     = netip.MustParsePrefix("100.64.0.0/10")
	thisNet   = netip.MustParsePrefix("0.0.0.0/8")
	reserved4 = netip.MustParsePrefix("240.0.0.0/4")
	broadcast = netip.MustParseAddr("255.255.255.255")
)

// Classifier classifies addresses against the fixed special-purpose ranges and
// the operator's own prefixes. The zero value knows no own prefixes. A
// Classifier is read-only after construction and safe for concurrent use.
type Classifier struct {
	own []netip.Prefix
}

// New returns a Classifier that treats own as internal in addition to the
// special-purpose ranges.
func New(own []netip.Prefix) *Classifier {
	c := &Classifier{own: make([]netip.Prefix, 0, len(own))}
	for _, p := range own {
		c.own = append(c.own, p.Masked())
	}
	return c
}

// ParsePrefixes parses a comma- or space-separated list of CIDR prefixes or
// bare addresses, as OWN_PREFIXES and ALLOWLIST are written.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("invalid prefix %q: want CIDR notation such as 203.0.113.0/24 or 2001:db8::/32", f)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("invalid address %q: want an IP address or CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// Classify returns the class of a. IPv4-mapped IPv6 addresses are classified
// as the IPv4 address they carry. The documentation ranges (192.0.2.0/24,
// 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are Public on purpose, so
// examples and tests can use them.
func (c *Classifier) Classify(a netip.Addr) Class {
	if !a.IsValid() {
		return Invalid
	}
	a = a.Unmap()
	switch {
	case a.IsUnspecified():
		return Unspecified
	case a.IsLoopback():
		return Loopback
	case a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast():
		return LinkLocal
	case a.IsMulticast():
		return Multicast
	}
	if a.Is4() {
		switch {
		case a.IsPrivate():
			return Private
		case cgnat.Contains(a):
			return CGNAT
		case a == broadcast:
			return Broadcast
		case thisNet.Contains(a), reserved4.Contains(a):
			return Reserved
		}
	} else if a.IsPrivate() {
		return UniqueLocal
	}
	if c != nil {
		for _, p := range c.own {
			if p.Contains(a) {
				return Own
			}
		}
	}
	return Public
}

// IsPublic reports whether a is a public unicast address outside the own
// prefixes: the only kind that is counted as an attacker or destination and
// sent to an outside service.
func (c *Classifier) IsPublic(a netip.Addr) bool {
	return c.Classify(a) == Public
}

// IsInternal reports whether a belongs to the local side: a private, CGNAT,
// unique-local or own address. Loopback, multicast and the like are neither
// public nor internal hosts.
func (c *Classifier) IsInternal(a netip.Addr) bool {
	switch c.Classify(a) {
	case Private, CGNAT, UniqueLocal, Own, LinkLocal:
		return true
	}
	return false
}
