package narrative

import (
	"fmt"
	"log/slog"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
)

// falsePositiveAbuseAbove is the AbuseIPDB confidence above which a likely
// false positive may still be blocked. It matches the scoring default for
// the bad-actor override.
const falsePositiveAbuseAbove = 50

// Narrowest prefixes a block may cover. A broader prefix would take whole
// providers off the internet.
const (
	minBlockBits4 = 16
	minBlockBits6 = 32
)

var (
	// blockVerb matches the words of a blocking recommendation. Past tenses
	// ("blocked", "dropped") are left out: they describe what the firewall
	// did.
	blockVerb = regexp.MustCompile(`(?i)\b(?:block|blocks|blocking|blocklists?|blacklist(?:s|ing)?|deny|denies|denying|reject|rejects|rejecting|drop|drops|dropping|ban|bans|banning|null-?route)\b|pfblocker`)
	// blockPassive matches a recommendation in the passive voice: "should be
	// blocked", "make sure it is dropped".
	blockPassive = regexp.MustCompile(`(?i)\b(?:should|must|needs? to|ought to|to|can|could|will)\s+be\s+(?:blocked|denied|dropped|rejected|banned|blacklisted|blocklisted)\b|\b(?:ensure|make sure|verify)\b.{0,80}?\b(?:blocked|denied|dropped|rejected|banned)\b`)
	// negated matches the text right before a block verb that turns it into
	// advice not to block. Only these exact forms count, so "do not hesitate
	// to block" is still a recommendation.
	negated = regexp.MustCompile(`(?i)(?:\bdo not|\bdon't|\bdon’t|\bdont|\bnever|\bnot|\bno|\bno need to|\bavoid|\bwithout)\s+$`)
)

// recommendsBlocking reports whether line recommends blocking something.
func recommendsBlocking(line string) bool {
	if blockPassive.MatchString(line) {
		return true
	}
	for _, loc := range blockVerb.FindAllStringIndex(line, -1) {
		before := line[max(0, loc[0]-16):loc[0]]
		if !negated.MatchString(before) {
			return true
		}
	}
	return false
}

// asnPattern matches an autonomous system number as reports write it:
// AS64500. Lower case is left out so that the word "as" never matches.
var asnPattern = regexp.MustCompile(`\bAS(\d{1,10})\b`)

// veto is an address, prefix or ASN that a line must not recommend
// blocking, and the reason.
type veto struct {
	// key is the log key of target: "ip" for an address or prefix, "asn".
	key    string
	target string
	reason string
}

// lineVetoes returns the addresses, prefixes and ASNs that make line
// unsafe, or nil when the line recommends no block or only blocks that are
// allowed.
func (f *facts) lineVetoes(line string) []veto {
	if !recommendsBlocking(line) {
		return nil
	}
	mentions := findAddresses(line)
	var out []veto
	for _, m := range mentions {
		reason := f.vetoMention(m)
		if reason == "" || (m.single() && f.senderOfBlockedDestination(m.prefix.Addr(), mentions)) {
			continue
		}
		out = append(out, veto{key: "ip", target: m.String(), reason: reason})
	}
	for _, match := range asnPattern.FindAllStringSubmatch(line, -1) {
		asn := "AS" + match[1]
		if reason := f.vetoASN(asn); reason != "" {
			out = append(out, veto{key: "asn", target: asn, reason: reason})
		}
	}
	return out
}

// vetoASN returns why a whole ASN must not be blocked, or "". An ASN may
// be blocked when the report has addresses in it and all of them may be
// blocked, so a benign network's ASN is protected like its addresses.
func (f *facts) vetoASN(asn string) string {
	addrs := f.asnAddrs[asn]
	if len(addrs) == 0 {
		return "ASN not in the report"
	}
	for _, a := range addrs {
		if reason := f.vetoAddr(a); reason != "" {
			return "contains " + a.String() + ", " + reason
		}
	}
	return ""
}

// senderOfBlockedDestination reports whether a is an internal host listed
// as a sender of a destination that the same line names and that may be
// blocked: "block 198.51.100.7, reached from 192.168.1.20" is a rule for the
// destination, not for the host.
func (f *facts) senderOfBlockedDestination(a netip.Addr, mentions []mention) bool {
	for _, m := range mentions {
		if !m.single() {
			continue
		}
		e := f.rows[m.prefix.Addr()]
		if e == nil || !slices.Contains(e.internalSources, a) {
			continue
		}
		if f.vetoAddr(e.addr) == "" {
			return true
		}
	}
	return false
}

func (f *facts) vetoMention(m mention) string {
	if m.single() {
		return f.vetoAddr(m.prefix.Addr())
	}
	return f.vetoPrefix(m.prefix)
}

// vetoAddr returns why a must not be blocked, or "".
func (f *facts) vetoAddr(a netip.Addr) string {
	a = a.Unmap()
	if slices.Contains(f.wanAddrs, a) {
		return "the firewall's WAN address"
	}
	for _, p := range f.own {
		if p.Contains(a) {
			return "in OWN_PREFIXES (" + p.String() + ")"
		}
	}
	for _, p := range f.allow {
		if p.Contains(a) {
			return "on the ALLOWLIST (" + p.String() + ")"
		}
	}
	switch class := f.classifier.Classify(a); class {
	case netclass.Public:
	case netclass.Own:
		return "in OWN_PREFIXES"
	default:
		return class.String() + " address"
	}

	e := f.rows[a]
	if e == nil {
		return "not in the report"
	}
	if fp, abuse := e.falsePositive(); fp && abuse <= falsePositiveAbuseAbove {
		return fmt.Sprintf("likely false positive with AbuseIPDB confidence %d, not above %d", abuse, falsePositiveAbuseAbove)
	}
	return ""
}

// vetoPrefix returns why p must not be blocked, or "".
func (f *facts) vetoPrefix(p netip.Prefix) string {
	p = p.Masked()
	minBits := minBlockBits4
	if p.Addr().Is6() {
		minBits = minBlockBits6
	}
	if p.Bits() < minBits {
		return fmt.Sprintf("broader than /%d", minBits)
	}
	for _, a := range f.wanAddrs {
		if p.Contains(a) {
			return "contains the firewall's WAN address"
		}
	}
	for _, q := range f.own {
		if p.Overlaps(q) {
			return "overlaps OWN_PREFIXES (" + q.String() + ")"
		}
	}
	for _, q := range f.allow {
		if p.Overlaps(q) {
			return "overlaps the ALLOWLIST (" + q.String() + ")"
		}
	}
	// The special-purpose ranges are /16 or broader for IPv4 and /32 or
	// broader for IPv6, except :: and ::1, which lie in ::/32 whose first
	// address is not public. So a prefix at least that long that starts and
	// ends in public space contains none of them.
	if !f.classifier.IsPublic(p.Addr()) || !f.classifier.IsPublic(lastAddr(p)) {
		return "covers non-public addresses"
	}

	blockable := false
	for _, a := range f.sortedAddrs() {
		if !p.Contains(a) {
			continue
		}
		if reason := f.vetoAddr(a); reason != "" {
			return "contains " + a.String() + ", " + reason
		}
		blockable = true
	}
	if !blockable {
		return "contains no address of the report"
	}
	return ""
}

func (f *facts) sortedAddrs() []netip.Addr {
	out := make([]netip.Addr, 0, len(f.rows))
	for a := range f.rows {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// falsePositive reports whether any row of the address is a likely false
// positive, and the highest AbuseIPDB confidence among its rows.
func (e *addrFacts) falsePositive() (bool, int) {
	fp, abuse := false, 0
	for _, row := range []*report.AddressRow{e.blocked, rowOf(e.outbound)} {
		if row == nil {
			continue
		}
		fp = fp || row.Intel.LikelyFalsePositive
		abuse = max(abuse, row.Intel.AbuseConfidenceScore)
	}
	return fp, abuse
}

func rowOf(o *report.OutboundRow) *report.AddressRow {
	if o == nil {
		return nil
	}
	return &o.AddressRow
}

// applyGuardrails drops from n every list line and every sentence that
// recommends blocking an address that must not be blocked, logging each
// drop, and raises a risk level that is more than one step below the
// report's.
func applyGuardrails(n report.Narrative, f *facts, logger *slog.Logger) report.Narrative {
	n.TopThreats = f.guardLines("top_threats", n.TopThreats, logger)
	n.RecommendedActions = f.guardLines("recommended_actions", n.RecommendedActions, logger)
	n.ExecutiveSummary = f.guardSentences("executive_summary", n.ExecutiveSummary, logger)
	n.InboundAnalysis = f.guardSentences("inbound_analysis", n.InboundAnalysis, logger)
	n.OutboundAnalysis = f.guardSentences("outbound_analysis", n.OutboundAnalysis, logger)
	n.PortAnalysis = f.guardSentences("port_analysis", n.PortAnalysis, logger)

	reportLevel := validLevel(f.r.Summary.OverallRiskLevel)
	if levelRank(n.RiskLevel) < levelRank(reportLevel)-1 {
		logger.Warn("narrative risk level raised to the report's", "model_level", n.RiskLevel, "report_level", reportLevel)
		n.RiskLevel = reportLevel
	}
	return n
}

func (f *facts) guardLines(field string, lines []string, logger *slog.Logger) []string {
	out := []string{}
	for _, line := range lines {
		if f.keep(field, line, logger) {
			out = append(out, line)
		}
	}
	return out
}

func (f *facts) guardSentences(field, text string, logger *slog.Logger) string {
	var safe []string
	for _, s := range splitSentences(text) {
		if f.keep(field, s, logger) {
			safe = append(safe, s)
		}
	}
	return strings.Join(safe, " ")
}

func (f *facts) keep(field, line string, logger *slog.Logger) bool {
	vetoes := f.lineVetoes(line)
	for _, v := range vetoes {
		logger.Warn("narrative line dropped: it recommends a block that is not allowed",
			"field", field, v.key, v.target, "reason", v.reason, "line", cleanText(line, 200))
	}
	return len(vetoes) == 0
}

// splitSentences splits text after '.', '!' or '?' followed by white
// space. A dot inside an address is followed by a digit, so it never
// splits.
func splitSentences(text string) []string {
	var out []string
	start := 0
	for i := 0; i < len(text); i++ {
		if !strings.ContainsRune(".!?", rune(text[i])) || (i+1 < len(text) && text[i+1] != ' ' && text[i+1] != '\n') {
			continue
		}
		if s := strings.TrimSpace(text[start : i+1]); s != "" {
			out = append(out, s)
		}
		start = i + 1
	}
	if s := strings.TrimSpace(text[start:]); s != "" {
		out = append(out, s)
	}
	return out
}
