package narrative

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
)

// Context is the firewall's side of the narrative: its interfaces and
// addresses, and the prefixes that must never be blocked.
type Context struct {
	// Interfaces are the firewall's interface names. Empty means the
	// report's interfaces, the names seen in the window.
	Interfaces []string
	// WANInterfaces are the interfaces that face the internet
	// (WAN_INTERFACES). Empty means unknown: inbound block rules then name
	// every interface as a choice.
	WANInterfaces []string
	// LookbackHours is the length of the window. Zero means the report's
	// lookback_hours.
	LookbackHours int
	// WANAddress is the address pfSense translates outbound traffic to. The
	// zero value means the address in the report's "pfSense NAT (ADDR)"
	// notes, if any. It is never recommended for blocking.
	WANAddress netip.Addr
	// Classifier decides which addresses are internal. Nil means the fixed
	// special-purpose ranges only.
	Classifier *netclass.Classifier
	// OwnPrefixes (OWN_PREFIXES) and Allowlist (ALLOWLIST) are never
	// recommended for blocking. OwnPrefixes are checked here even when the
	// Classifier already contains them.
	OwnPrefixes []netip.Prefix
	Allowlist   []netip.Prefix
}

// Limits of what the model is shown.
const (
	// promptBlockedRows is the number of blocked sources in the prompt.
	promptBlockedRows = 15
	// promptOutboundRows bounds the outbound destinations in the prompt.
	// TOP_OUTBOUND_IPS is 20 by default, so all of them fit.
	promptOutboundRows = 50
	// promptPortRows is the number of targeted ports in the prompt.
	promptPortRows = 10
	// maxInterfaces bounds the interface names in the prompt and the text.
	maxInterfaces = 32
)

// facts is the report digested once per Generate: the rows by address, the
// selection shown to the model, and what the guardrails protect.
type facts struct {
	r     report.Report
	hours int

	interfaces    []string
	wanInterfaces []string
	// lanInterfaces are the interfaces that are not WAN, known only when
	// WANInterfaces is set.
	lanInterfaces []string
	// wanAddrs are the firewall's own translated addresses.
	wanAddrs []netip.Addr

	classifier *netclass.Classifier
	own        []netip.Prefix
	allow      []netip.Prefix

	rows map[netip.Addr]*addrFacts
	// asnAddrs lists the report's addresses by ASN ("AS64500"), in address
	// order.
	asnAddrs map[string][]netip.Addr
	// blocked are the blocked sources shown to the model, highest composite
	// score first. outbound are the outbound destinations shown to it.
	blocked  []report.AddressRow
	outbound []report.OutboundRow
}

// addrFacts is everything the report contains about one address. An address
// can be both a blocked source and an outbound destination.
type addrFacts struct {
	addr     netip.Addr
	blocked  *report.AddressRow
	outbound *report.OutboundRow
	// internalSources are the internal hosts seen sending to the address.
	internalSources []netip.Addr
}

func newFacts(r report.Report, c Context) *facts {
	f := &facts{
		r:          r,
		hours:      cmp.Or(c.LookbackHours, r.LookbackHours),
		classifier: c.Classifier,
		own:        c.OwnPrefixes,
		allow:      c.Allowlist,
		rows:       make(map[netip.Addr]*addrFacts, len(r.BlockedIPs)+len(r.OutboundIPs)),
	}

	ifaces := c.Interfaces
	if len(ifaces) == 0 {
		ifaces = r.Interfaces
	}
	f.interfaces = cleanNames(ifaces)
	f.wanInterfaces = cleanNames(c.WANInterfaces)
	if len(f.wanInterfaces) > 0 {
		for _, name := range f.interfaces {
			if !slices.Contains(f.wanInterfaces, name) {
				f.lanInterfaces = append(f.lanInterfaces, name)
			}
		}
	}

	if c.WANAddress.IsValid() {
		f.wanAddrs = append(f.wanAddrs, c.WANAddress.Unmap())
	}
	for i := range r.BlockedIPs {
		row := &r.BlockedIPs[i]
		if a, ok := parseAddr(row.IP); ok {
			f.entry(a).blocked = row
		}
	}
	for i := range r.OutboundIPs {
		row := &r.OutboundIPs[i]
		a, ok := parseAddr(row.IP)
		if !ok {
			continue
		}
		e := f.entry(a)
		e.outbound = row
		for _, s := range row.SrcIPs {
			if nat, ok := natAddress(s); ok {
				if !slices.Contains(f.wanAddrs, nat) {
					f.wanAddrs = append(f.wanAddrs, nat)
				}
				continue
			}
			if src, ok := parseAddr(s); ok {
				e.internalSources = append(e.internalSources, src)
			}
		}
	}

	f.asnAddrs = make(map[string][]netip.Addr)
	for _, a := range f.sortedAddrs() {
		e := f.rows[a]
		for _, row := range []*report.AddressRow{e.blocked, rowOf(e.outbound)} {
			if row == nil {
				continue
			}
			if asn := normalizeASN(row.Intel.ASN); asn != "" && !slices.Contains(f.asnAddrs[asn], a) {
				f.asnAddrs[asn] = append(f.asnAddrs[asn], a)
			}
		}
	}

	f.blocked = topByScore(r.BlockedIPs, promptBlockedRows)
	f.outbound = r.OutboundIPs[:min(len(r.OutboundIPs), promptOutboundRows)]
	return f
}

func (f *facts) entry(a netip.Addr) *addrFacts {
	e, ok := f.rows[a]
	if !ok {
		e = &addrFacts{addr: a}
		f.rows[a] = e
	}
	return e
}

// fingerprint identifies what the model is shown, ignoring event counts:
// the addresses with their direction, level and flags, and the overall
// risk level. Two reports with the same fingerprint get the same narrative.
func (f *facts) fingerprint() string {
	var parts []string
	add := func(row report.AddressRow) {
		parts = append(parts, strings.Join([]string{
			row.Direction, row.IP, row.Intel.ThreatLevel,
			flagText(row.Intel.IsKnownBadActor, "bad"), flagText(row.Intel.LikelyFalsePositive, "fp"),
		}, "|"))
	}
	for _, row := range f.blocked {
		add(row)
	}
	for _, row := range f.outbound {
		add(row.AddressRow)
	}
	slices.Sort(parts)
	return "risk=" + f.r.Summary.OverallRiskLevel + "\n" + strings.Join(parts, "\n")
}

func flagText(set bool, name string) string {
	if set {
		return name
	}
	return "-"
}

// topByScore returns at most n rows, highest composite score first, then
// most events, so a critical source is shown even when noisy benign
// scanners sent more packets.
func topByScore(rows []report.AddressRow, n int) []report.AddressRow {
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(a, b report.AddressRow) int {
		if c := cmp.Compare(b.Intel.CompositeScore, a.Intel.CompositeScore); c != 0 {
			return c
		}
		return cmp.Compare(b.Count, a.Count)
	})
	return sorted[:min(len(sorted), n)]
}

// normalizeASN writes an ASN as "AS64500", or returns "" when s is not an
// ASN.
func normalizeASN(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && strings.EqualFold(s[:2], "AS") {
		s = s[2:]
	}
	if s == "" || strings.Trim(s, "0123456789") != "" {
		return ""
	}
	return "AS" + s
}

// natAddress returns the address of a "pfSense NAT (ADDR)" source entry.
func natAddress(s string) (netip.Addr, bool) {
	const prefix = "pfSense NAT ("
	if !strings.HasPrefix(s, prefix) || !strings.HasSuffix(s, ")") {
		return netip.Addr{}, false
	}
	return parseAddr(s[len(prefix) : len(s)-1])
}

func parseAddr(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// cleanNames sanitizes interface names, which come from log lines, and
// drops empty and repeated ones.
func cleanNames(names []string) []string {
	var out []string
	for _, n := range names {
		n = cleanText(n, 40)
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
		if len(out) == maxInterfaces {
			break
		}
	}
	return out
}
