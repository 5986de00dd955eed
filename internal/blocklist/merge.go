package blocklist

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/scoring"
)

// Removal reasons that do not come from an exclusion.
const (
	reasonExpired             = "expired"
	reasonOverCap             = "over the cap"
	reasonLikelyFalsePositive = "likely false positive"
)

// sighting is an address that a report scores as a listed bad actor.
type sighting struct {
	score      float64
	level      string
	directions []scoring.Direction
	reason     string
}

// collect returns the addresses of r that qualify for the list, and the
// addresses that r shows must not be listed, each with the reason. Only the
// intel of the blocked and outbound rows is read, never the narrative.
func (b *Blocklist) collect(r report.Report) (map[netip.Addr]sighting, map[netip.Addr]string) {
	seen := make(map[netip.Addr]sighting)
	excluded := make(map[netip.Addr]string)

	add := func(row report.AddressRow, dir scoring.Direction) {
		addr, ok := rowAddr(row)
		if !ok {
			return
		}
		if reason := b.rowExclusion(addr, row.Intel); reason != "" {
			excluded[addr] = reason
			return
		}
		s, ok := b.qualify(row.Intel)
		if !ok {
			return
		}
		s.directions = []scoring.Direction{dir}
		if prev, ok := seen[addr]; ok {
			s = combine(prev, s)
		}
		seen[addr] = s
	}

	for _, row := range r.BlockedIPs {
		add(row, scoring.Inbound)
	}
	for _, row := range r.OutboundIPs {
		add(row.AddressRow, scoring.Outbound)
	}

	for addr := range excluded {
		delete(seen, addr)
	}
	return seen, excluded
}

// rowAddr returns the address of a row. A row whose intel names another
// address is inconsistent and is not used.
func rowAddr(row report.AddressRow) (netip.Addr, bool) {
	text := row.IP
	if text == "" {
		text = row.Intel.IP
	}
	addr, err := netip.ParseAddr(text)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, false
	}
	if row.Intel.IP != "" {
		other, err := netip.ParseAddr(row.Intel.IP)
		if err != nil || other.Unmap() != addr.Unmap() {
			return netip.Addr{}, false
		}
	}
	return addr.Unmap(), true
}

// rowExclusion returns why addr may not be listed given its intel, or "".
func (b *Blocklist) rowExclusion(addr netip.Addr, in intel.Intel) string {
	if reason := b.exclusion(addr); reason != "" {
		return reason
	}
	if in.Internal {
		return "internal (marked internal in the report)"
	}
	if in.LikelyFalsePositive {
		return reasonLikelyFalsePositive
	}
	return ""
}

// exclusion returns why the options forbid listing addr, or "".
func (b *Blocklist) exclusion(addr netip.Addr) string {
	switch class := b.classifier.Classify(addr); class {
	case netclass.Public:
	case netclass.Own:
		return "own prefix"
	default:
		return "internal (" + class.String() + ")"
	}
	if containsAddr(b.allowlist, addr) {
		return "allowlisted"
	}
	if containsAddr(b.resolvers, addr) {
		return "DNS resolver"
	}
	return ""
}

func containsAddr(prefixes []netip.Prefix, addr netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// qualify returns the sighting of a bad actor at or above the minimum
// level. The level is the report's threat_level, or the level of the
// composite score when the report's level is not a known one.
func (b *Blocklist) qualify(in intel.Intel) (sighting, bool) {
	if !in.IsKnownBadActor {
		return sighting{}, false
	}
	score := in.CompositeScore
	if math.IsNaN(score) || math.IsInf(score, 0) {
		return sighting{}, false
	}
	score = min(max(score, 0), 100)

	level := in.ThreatLevel
	rank, ok := levelRank(level)
	if !ok {
		level = scoring.Level(score)
		rank, _ = levelRank(level)
	}
	if rank < b.minRank {
		return sighting{}, false
	}
	return sighting{score: score, level: level, reason: reasonOf(in)}, true
}

// combine merges two sightings of one address in one report: the higher
// score with its level and reason, and both directions.
func combine(a, b sighting) sighting {
	dirs, _ := normalizeDirections(append(slices.Clone(a.directions), b.directions...))
	best := a
	if b.score > a.score {
		best = b
	}
	best.directions = dirs
	return best
}

// reasonOf names the evidence of a bad actor from its intel fields. It
// leaves out organisation and GreyNoise names, which come from outside.
func reasonOf(in intel.Intel) string {
	var parts []string
	if in.AbuseConfidenceScore > 0 {
		parts = append(parts, fmt.Sprintf("abuse %d", in.AbuseConfidenceScore))
	}
	switch {
	case in.PulseCount == 1:
		parts = append(parts, "OTX 1 pulse")
	case in.PulseCount > 1:
		parts = append(parts, fmt.Sprintf("OTX %d pulses", in.PulseCount))
	}
	if in.GNClassification == "malicious" {
		parts = append(parts, "GreyNoise malicious")
	}
	if len(in.Feeds) > 0 {
		parts = append(parts, "feeds "+strings.Join(in.Feeds, ", "))
	}
	if len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("score %.1f", in.CompositeScore))
	}
	return cleanReason(strings.Join(parts, ", "))
}

// cleanReason replaces control characters and invalid UTF-8 with spaces and
// cuts the text to maxReasonBytes on a character boundary.
func cleanReason(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = ' '
		}
		if sb.Len()+utf8.RuneLen(r) > maxReasonBytes {
			break
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// merge applies a report to the listed entries at now and returns the new
// list, sorted by address, and what changed.
//
// Each old entry is removed when the options now exclude it, when the
// report excludes it, or when it expired and the report does not see it.
// Each sighting extends its entry, or adds one. Last, the list is cut to
// MaxEntries in priority order.
func (b *Blocklist) merge(old []Entry, r report.Report, now time.Time) ([]Entry, Diff) {
	seen, excluded := b.collect(r)
	if r.Stale {
		// A stale report repeats an earlier cycle: its addresses were not
		// seen now, so they must not be listed or extended.
		seen = nil
	}

	var diff Diff
	current := make(map[netip.Addr]Entry, len(old)+len(seen))
	for _, e := range old {
		reason := b.exclusion(e.Addr)
		if reason == "" {
			reason = excluded[e.Addr]
		}
		if _, ok := seen[e.Addr]; reason == "" && !ok && !now.Before(e.ExpiresAt(b.opts.TTL)) {
			reason = reasonExpired
		}
		if reason != "" {
			diff.Removed = append(diff.Removed, Removal{Entry: e, Reason: reason})
			continue
		}
		current[e.Addr] = e
	}

	for addr, s := range seen {
		e, ok := current[addr]
		if !ok {
			e = Entry{Addr: addr, FirstSeen: now}
		}
		e.LastSeen = later(e.LastSeen, now)
		e.Score = s.score
		e.Level = s.level
		e.Reason = s.reason
		e.Directions, _ = normalizeDirections(append(slices.Clone(e.Directions), s.directions...))
		current[addr] = e
	}

	next := b.capEntries(current, old, &diff)

	wasListed := make(map[netip.Addr]bool, len(old))
	for _, e := range old {
		wasListed[e.Addr] = true
	}
	for _, e := range next {
		if !wasListed[e.Addr] {
			diff.Added = append(diff.Added, e)
		}
	}
	slices.SortFunc(diff.Removed, func(a, b Removal) int { return a.Addr.Compare(b.Addr) })
	diff.Listed = len(next)
	return next, diff
}

// capEntries returns the entries of current that fit in MaxEntries, sorted
// by address, and records the rest in diff.
func (b *Blocklist) capEntries(current map[netip.Addr]Entry, old []Entry, diff *Diff) []Entry {
	entries := make([]Entry, 0, len(current))
	for _, e := range current {
		entries = append(entries, e)
	}
	if len(entries) > b.opts.MaxEntries {
		slices.SortFunc(entries, comparePriority)
		dropped := entries[b.opts.MaxEntries:]
		entries = entries[:b.opts.MaxEntries]
		diff.OverCap = len(dropped)

		listed := make(map[netip.Addr]Entry, len(old))
		for _, e := range old {
			listed[e.Addr] = e
		}
		for _, e := range dropped {
			if prev, ok := listed[e.Addr]; ok {
				diff.Removed = append(diff.Removed, Removal{Entry: prev, Reason: reasonOverCap})
			}
		}
	}
	slices.SortFunc(entries, func(a, b Entry) int { return a.Addr.Compare(b.Addr) })
	return entries
}

// comparePriority orders entries for the cap: the higher score first, then
// the later LastSeen, then the lower address (IPv4 before IPv6), so the
// order is total and the same on every replica.
func comparePriority(a, b Entry) int {
	switch {
	case a.Score > b.Score:
		return -1
	case a.Score < b.Score:
		return 1
	}
	if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
		return c
	}
	return a.Addr.Compare(b.Addr)
}

// later returns the later of two times, so a replica whose clock is behind
// never moves LastSeen back.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
