package narrative

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
)

// Limits of the rules narrative, so a storm hour stays readable.
const (
	rulesMaxThreats        = 8 // threat lines, false positives not counted
	rulesMaxFalsePositives = 3 // false-positive lines in top_threats
	rulesMaxInboundBlocks  = 5 // single-address inbound block rules
	rulesMaxOutbound       = 5 // outbound destinations with actions
	rulesMaxDoNotBlock     = 2 // "do not block" lines
)

// Rules returns the deterministic narrative of r: the one a Generator
// without a model returns, and the fallback when the model fails. It
// recommends blocking only addresses that the guardrails allow.
func Rules(r report.Report, c Context) report.Narrative {
	return rulesNarrative(newFacts(r, c))
}

// scored is one row of the report in either direction.
type scored struct {
	row report.AddressRow
	e   *addrFacts // nil when the row's address does not parse
	out bool
}

func (s scored) in() intel.Intel { return s.row.Intel }

// rulesWriter holds the rows of a report sorted into the groups the text
// talks about.
type rulesWriter struct {
	f *facts
	// inThreats and outThreats are the known bad actors, worst first.
	inThreats, outThreats []scored
	// suspicious are rows at medium level or above that are neither bad
	// actors nor likely false positives.
	suspicious []scored
	// falsePositives are likely false positives that are not bad actors.
	falsePositives []scored
	// clusters are the inbound bad actors that may be blocked, grouped by
	// ASN and address family, for clusters of two or more.
	clusters []cluster
}

type cluster struct {
	asn, name string
	ipv6      bool
	members   []scored
}

func rulesNarrative(f *facts) report.Narrative {
	w := newRulesWriter(f)
	return report.Narrative{
		RiskLevel:          validLevel(f.r.Summary.OverallRiskLevel),
		ExecutiveSummary:   w.summary(),
		TopThreats:         w.threats(),
		InboundAnalysis:    w.inbound(),
		OutboundAnalysis:   w.outboundText(),
		PortAnalysis:       w.ports(),
		RecommendedActions: w.actions(),
		Available:          true,
		Provider:           ProviderRules,
		Model:              "",
	}
}

func newRulesWriter(f *facts) *rulesWriter {
	w := &rulesWriter{f: f}
	var rows []scored
	for _, row := range f.r.BlockedIPs {
		rows = append(rows, scored{row: row, e: f.rows[mustAddr(row.IP)]})
	}
	for _, row := range f.r.OutboundIPs {
		rows = append(rows, scored{row: row.AddressRow, e: f.rows[mustAddr(row.IP)], out: true})
	}
	slices.SortStableFunc(rows, worstFirst)

	for _, s := range rows {
		in := s.in()
		switch {
		case in.IsKnownBadActor && s.out:
			w.outThreats = append(w.outThreats, s)
		case in.IsKnownBadActor:
			w.inThreats = append(w.inThreats, s)
		case in.LikelyFalsePositive:
			w.falsePositives = append(w.falsePositives, s)
		case levelRank(validLevel(in.ThreatLevel)) >= levelRank("medium"):
			w.suspicious = append(w.suspicious, s)
		}
	}
	w.clusters = w.findClusters()
	return w
}

func worstFirst(a, b scored) int {
	if c := cmp.Compare(b.in().CompositeScore, a.in().CompositeScore); c != 0 {
		return c
	}
	return cmp.Compare(b.row.Count, a.row.Count)
}

// findClusters groups the inbound bad actors that may be blocked by ASN and
// address family, largest group first. It leaves out an ASN with any report
// address that must not be blocked.
func (w *rulesWriter) findClusters() []cluster {
	byKey := map[string]*cluster{}
	var order []string
	for _, s := range w.inThreats {
		if s.in().ASN == "" || !w.blockable(s) {
			continue
		}
		v6 := mustAddr(s.row.IP).Is6()
		key := fmt.Sprintf("%s|%t", s.in().ASN, v6)
		c, ok := byKey[key]
		if !ok {
			c = &cluster{asn: cleanText(s.in().ASN, 16), ipv6: v6}
			byKey[key] = c
			order = append(order, key)
		}
		if c.name == "" {
			c.name = cleanText(cmp.Or(s.in().ASName, s.in().Org), 60)
		}
		c.members = append(c.members, s)
	}
	var out []cluster
	for _, key := range order {
		c := byKey[key]
		// A list for the whole ASN would also block its addresses that
		// must not be blocked, so such an ASN gets single rules instead.
		if len(c.members) >= 2 && w.f.vetoASN(normalizeASN(c.asn)) == "" {
			out = append(out, *c)
		}
	}
	slices.SortStableFunc(out, func(a, b cluster) int { return cmp.Compare(len(b.members), len(a.members)) })
	return out
}

func (w *rulesWriter) clusterOf(s scored) *cluster {
	for i := range w.clusters {
		for _, m := range w.clusters[i].members {
			if m.row.IP == s.row.IP {
				return &w.clusters[i]
			}
		}
	}
	return nil
}

// blockable reports whether the guardrails allow blocking the row's address.
func (w *rulesWriter) blockable(s scored) bool { return w.vetoReason(s) == "" }

func (w *rulesWriter) vetoReason(s scored) string {
	if s.e == nil {
		return "not a valid address"
	}
	return w.f.vetoAddr(s.e.addr)
}

// summary writes the executive summary: the risk, the counts, the worst
// address, command-and-control suspects and the critical ports.
func (w *rulesWriter) summary() string {
	f := w.f
	sum := f.r.Summary
	var b []string
	b = append(b, fmt.Sprintf("Overall risk is %s.", validLevel(sum.OverallRiskLevel)))

	switch {
	case len(f.r.BlockedIPs) == 0 && len(f.r.OutboundIPs) == 0:
		b = append(b, fmt.Sprintf("In %s the firewall logged no blocked public sources and no outbound destinations.", windowPhrase(f.hours)))
	default:
		b = append(b, fmt.Sprintf("In %s the firewall blocked traffic from %s (%s from the %d listed) and passed traffic to %s.",
			windowPhrase(f.hours), plural(sum.TotalBlockedIPs, "distinct public source", "distinct public sources"),
			plural(sum.BlockedEvents, "event", "events"), len(f.r.BlockedIPs),
			plural(len(f.r.OutboundIPs), "outbound destination", "outbound destinations")))
	}

	worst := append(slices.Clone(w.inThreats), w.outThreats...)
	slices.SortStableFunc(worst, worstFirst)
	switch {
	case len(worst) > 0:
		var groups []string
		if n := len(w.inThreats); n > 0 {
			groups = append(groups, plural(n, "blocked source", "blocked sources"))
		}
		if n := len(w.outThreats); n > 0 {
			groups = append(groups, plural(n, "outbound destination", "outbound destinations"))
		}
		b = append(b, fmt.Sprintf("%s %s known bad %s; the worst is %s with %s.",
			joinList(groups), isAre(len(worst)), itThey(len(worst), "actor", "actors"),
			w.who(worst[0]), scoreText(worst[0].in())))
	default:
		if top, ok := w.highestNonFalsePositive(); ok {
			b = append(b, fmt.Sprintf("None is a known bad actor; the highest-scoring address is %s with %s.", w.who(top), scoreText(top.in())))
		} else if len(w.falsePositives) > 0 {
			b = append(b, "None is a known bad actor; the only flagged addresses are likely false positives.")
		}
	}

	if len(w.outThreats) > 0 {
		s := w.outThreats[0]
		line := fmt.Sprintf("Possible command-and-control traffic: %s was reached %s.", s.row.IP, w.sendersPhrase(s))
		if more := len(w.outThreats) - 1; more > 0 {
			line += fmt.Sprintf(" %s also flagged.", plural(more, "more destination is", "more destinations are"))
		}
		b = append(b, line)
	}
	if sum.CriticalPortsTargeted > 0 && len(f.r.PortAnalysis.CriticalPortsHit) > 0 {
		b = append(b, fmt.Sprintf("%s targeted, most often %s.",
			plural(sum.CriticalPortsTargeted, "critical port was", "critical ports were"),
			portLabel(f.r.PortAnalysis.CriticalPortsHit[0])))
	}
	if sum.Approximate {
		b = append(b, fmt.Sprintf("Counts are estimates: each may be overstated by up to %s.", plural(sum.ErrorBound, "event", "events")))
	}
	return strings.Join(b, " ")
}

func (w *rulesWriter) highestNonFalsePositive() (scored, bool) {
	var best scored
	found := false
	for _, s := range w.allRows() {
		if s.in().LikelyFalsePositive {
			continue
		}
		if !found || worstFirst(s, best) < 0 {
			best, found = s, true
		}
	}
	return best, found
}

func (w *rulesWriter) allRows() []scored {
	var out []scored
	for _, row := range w.f.r.BlockedIPs {
		out = append(out, scored{row: row, e: w.f.rows[mustAddr(row.IP)]})
	}
	for _, row := range w.f.r.OutboundIPs {
		out = append(out, scored{row: row.AddressRow, e: w.f.rows[mustAddr(row.IP)], out: true})
	}
	return out
}

// threats writes the top_threats lines: bad actors and suspicious addresses,
// worst first, then the likely false positives, flagged as such.
func (w *rulesWriter) threats() []string {
	out := []string{}
	all := append(append(slices.Clone(w.inThreats), w.outThreats...), w.suspicious...)
	slices.SortStableFunc(all, worstFirst)
	for _, s := range all[:min(len(all), rulesMaxThreats)] {
		out = append(out, w.threatLine(s))
	}
	if len(all) == 0 {
		if top, ok := w.highestNonFalsePositive(); ok {
			out = append(out, fmt.Sprintf("No known bad actors in %s. The highest-scoring address was %s with %s: %s.",
				windowPhrase(w.f.hours), w.who(top), scoreText(top.in()), strings.Join(evidence(top.in()), ", ")))
		} else if len(w.falsePositives) == 0 {
			out = append(out, fmt.Sprintf("No blocked sources or outbound destinations were logged in %s.", windowPhrase(w.f.hours)))
		}
	}
	for _, s := range w.falsePositives[:min(len(w.falsePositives), rulesMaxFalsePositives)] {
		out = append(out, fmt.Sprintf("%s — likely false positive (%s): %s, %s, AbuseIPDB confidence %d. Do not block it.",
			w.who(s), falsePositiveReason(s.in()), scoreText(s.in()), eventsPhrase(s), s.in().AbuseConfidenceScore))
	}
	return out
}

func (w *rulesWriter) threatLine(s scored) string {
	in := s.in()
	var b strings.Builder
	fmt.Fprintf(&b, "%s — %s, %s", w.who(s), scoreText(in), eventsPhrase(s))
	if s.out {
		fmt.Fprintf(&b, " %s", w.sendersPhrase(s))
	}
	switch {
	case in.IsKnownBadActor && s.out:
		fmt.Fprintf(&b, ". Possible command and control: %s.", strings.Join(evidence(in), ", "))
	case in.IsKnownBadActor:
		fmt.Fprintf(&b, ". Known bad actor: %s.", strings.Join(evidence(in), ", "))
	default:
		fmt.Fprintf(&b, ". Suspicious, below the bad-actor rule: %s.", strings.Join(evidence(in), ", "))
	}
	if missing := missingProviders(in); missing != "" {
		fmt.Fprintf(&b, " No answer from %s, so the score may be low.", missing)
	}
	if c := w.clusterOf(s); c != nil {
		fmt.Fprintf(&b, " One of %d bad actors from %s in %s.", len(c.members), c.asn, windowPhrase(w.f.hours))
	}
	if in.LikelyFalsePositive {
		fmt.Fprintf(&b, " Flagged as a likely false positive (%s), but AbuseIPDB confidence %d is above %d, so it is treated as a threat.",
			falsePositiveReason(in), in.AbuseConfidenceScore, falsePositiveAbuseAbove)
	}
	if reason := w.vetoReason(s); reason != "" && in.IsKnownBadActor {
		fmt.Fprintf(&b, " No block is suggested: it is %s.", reason)
	}
	return b.String()
}

// inbound writes the inbound_analysis paragraph.
func (w *rulesWriter) inbound() string {
	f := w.f
	rows := f.r.BlockedIPs
	if len(rows) == 0 {
		return fmt.Sprintf("No inbound traffic from public sources was blocked in %s.", windowPhrase(f.hours))
	}
	var b []string
	b = append(b, fmt.Sprintf("The firewall blocked traffic from %s in %s; the %d listed sent %s.",
		plural(f.r.Summary.TotalBlockedIPs, "distinct public source", "distinct public sources"),
		windowPhrase(f.hours), len(rows), plural(f.r.Summary.BlockedEvents, "event", "events")))

	busiest := slices.Clone(rows)
	slices.SortStableFunc(busiest, func(a, b report.AddressRow) int { return cmp.Compare(b.Count, a.Count) })
	var top []string
	for _, row := range busiest[:min(len(busiest), 3)] {
		top = append(top, fmt.Sprintf("%s with %s", w.who(scored{row: row}), plural(row.Count, "event", "events")))
	}
	b = append(b, "The busiest were "+joinList(top)+".")

	if len(w.inThreats) > 0 {
		s := w.inThreats[0]
		n := len(w.inThreats)
		b = append(b, fmt.Sprintf("%s of the listed sources %s %s, led by %s with %s.",
			count(n), isAre(n), itThey(n, "a known bad actor", "known bad actors"), s.row.IP, scoreText(s.in())))
	} else {
		b = append(b, "None of the listed sources is a known bad actor.")
	}
	if countries := topCountries(rows, 3); countries != "" && len(rows) >= 4 {
		b = append(b, "By country: "+countries+".")
	}
	if line := w.asnConcentration(rows); line != "" {
		b = append(b, line)
	}
	switch n := countFalsePositives(rows); {
	case n == 1:
		b = append(b, "1 listed source is a likely false positive from a benign network and is not treated as a threat.")
	case n > 1:
		b = append(b, fmt.Sprintf("%d listed sources are likely false positives from benign networks and are not treated as threats.", n))
	}
	if n, providers := countMissing(rows); n > 0 {
		b = append(b, fmt.Sprintf("%s an answer from %s, so %s may be understated.",
			plural(n, "source lacks", "sources lack"), providers, itThey(n, "its score", "their scores")))
	}
	return strings.Join(b, " ")
}

// asnConcentration names the ASN with the most listed sources when it has
// at least two.
func (w *rulesWriter) asnConcentration(rows []report.AddressRow) string {
	type group struct {
		asn, name string
		total     int
		bad       int
	}
	var groups []*group
	byASN := map[string]*group{}

	for _, row := range rows {
		asn := cleanText(row.Intel.ASN, 16)
		if asn == "" {
			continue
		}
		g, ok := byASN[asn]
		if !ok {
			g = &group{asn: asn, name: cleanText(cmp.Or(row.Intel.ASName, row.Intel.Org), 60)}
			byASN[asn] = g
			groups = append(groups, g)
		}
		g.total++
		if row.Intel.IsKnownBadActor {
			g.bad++
		}
	}

	slices.SortStableFunc(groups, func(a, b *group) int { return cmp.Compare(b.total, a.total) })
	if len(groups) == 0 || groups[0].total < 2 {
		return ""
	}

	g := groups[0]
	name := g.asn
	if g.name != "" {
		name += " (" + g.name + ")"
	}
	line := fmt.Sprintf("%s accounts for %d listed sources", name, g.total)
	switch {
	case g.bad == g.total:
		line += ", all of them bad actors"
	case g.bad > 0:
		line += fmt.Sprintf(", %d of them bad actors", g.bad)
	}
	return line + "."
}

// outboundText writes the outbound_analysis paragraph.
func (w *rulesWriter) outboundText() string {
	f := w.f
	rows := f.r.OutboundIPs
	if len(rows) == 0 {
		return fmt.Sprintf("No outbound traffic to public destinations was logged in %s.", windowPhrase(f.hours))
	}
	var b []string
	b = append(b, fmt.Sprintf("%s reached in %s.", plural(len(rows), "outbound destination was", "outbound destinations were"), windowPhrase(f.hours)))

	for _, s := range w.outThreats[:min(len(w.outThreats), 3)] {
		line := fmt.Sprintf("%s matches the command-and-control rule with %s: %s. It received %s %s.",
			w.who(s), scoreText(s.in()), strings.Join(evidence(s.in()), ", "), plural(s.row.Count, "event", "events"), w.sendersPhrase(s))
		if s.e == nil || len(s.e.internalSources) == 0 {
			line += " The sender is hidden by NAT, so find it with Diagnostics > States."
		}
		b = append(b, line)
	}
	if more := len(w.outThreats) - 3; more > 0 {
		b = append(b, fmt.Sprintf("%s flagged; see the outbound table.", plural(more, "more destination is", "more destinations are")))
	}
	if len(w.outThreats) == 0 {
		busiest := slices.Clone(rows)
		slices.SortStableFunc(busiest, func(a, b report.OutboundRow) int { return cmp.Compare(b.Count, a.Count) })
		top := busiest[0]
		b = append(b, fmt.Sprintf("None matches the command-and-control rule. The busiest destination was %s with %s.",
			w.who(scored{row: top.AddressRow}), plural(top.Count, "event", "events")))
	}

	var outRows []report.AddressRow
	for _, row := range rows {
		outRows = append(outRows, row.AddressRow)
	}
	switch n := countFalsePositives(outRows); {
	case n == 1:
		b = append(b, "1 destination belongs to a known benign network (a likely false positive).")
	case n > 1:
		b = append(b, fmt.Sprintf("%d destinations belong to known benign networks (likely false positives).", n))
	}
	return strings.Join(b, " ")
}

// ports writes the port_analysis paragraph.
func (w *rulesWriter) ports() string {
	f := w.f
	pa := f.r.PortAnalysis
	if len(pa.TopBlockedPorts) == 0 {
		return fmt.Sprintf("No targeted ports were recorded for blocked inbound traffic in %s.", windowPhrase(f.hours))
	}
	var b []string
	var top []string
	for _, p := range pa.TopBlockedPorts[:min(len(pa.TopBlockedPorts), 3)] {
		top = append(top, fmt.Sprintf("%s (%s risk, %s)", portLabel(p), cleanText(p.RiskLevel, 16), plural(p.Count, "event", "events")))
	}
	b = append(b, "The most targeted ports of blocked inbound traffic were "+joinList(top)+".")

	if crit := f.r.Summary.CriticalPortsTargeted; crit > 0 {
		var services []string
		for _, p := range pa.CriticalPortsHit {
			name := cleanText(p.Service, 40)
			if name != "" && !slices.Contains(services, name) {
				services = append(services, name)
			}
			if len(services) == 5 {
				break
			}
		}
		line := plural(crit, "critical port (high or critical risk) was", "critical ports (high or critical risk) were") + " targeted"
		if len(services) > 0 {
			line += ": " + joinList(services)
		}
		b = append(b, line+". None of these services should be reachable from the internet.")
	} else {
		b = append(b, "No high- or critical-risk port was targeted.")
	}

	unknown := 0
	for _, p := range pa.TopBlockedPorts {
		if p.Service == "" || p.Service == "unknown" {
			unknown++
		}
	}
	if unknown > 0 {
		b = append(b, fmt.Sprintf("%s of the %d listed ports %s no known service, which is typical of scanner noise.",
			count(unknown), len(pa.TopBlockedPorts), hasHave(unknown)))
	}
	return strings.Join(b, " ")
}

// actions writes the recommended pfSense steps.
func (w *rulesWriter) actions() []string {
	f := w.f
	out := []string{}
	wan := f.wanTab()

	clustered := map[string]bool{}
	for _, c := range w.clusters {
		tab := "IPv4"
		if c.ipv6 {
			tab = "IPv6"
		}
		var ips []string
		var events uint64
		for _, m := range c.members {
			ips = append(ips, m.row.IP)
			events += m.row.Count
			clustered[m.row.IP] = true
		}
		label := c.asn
		if c.name != "" {
			label += " (" + c.name + ")"
		}
		out = append(out, fmt.Sprintf("pfBlockerNG > IP > %s — add a custom list for %s: %s are known bad actors from it (%s together).",
			tab, label, joinList(ips), plural(events, "blocked event", "blocked events")))
	}

	singles := 0
	remaining := 0
	for _, s := range w.inThreats {
		if clustered[s.row.IP] || !w.blockable(s) {
			continue
		}
		if singles == rulesMaxInboundBlocks {
			remaining++
			continue
		}
		singles++
		out = append(out, fmt.Sprintf("Firewall > Rules > %s — add a block rule for source %s, direction in, above your pass and port-forward rules: %s, %s.",
			wan, s.row.IP, scoreText(s.in()), plural(s.row.Count, "blocked event", "blocked events")))
	}
	if remaining > 0 {
		out = append(out, fmt.Sprintf("pfBlockerNG > IP > IPv4 — subscribe to this service's /api/blocklist.txt to cover the %s not listed here.",
			plural(remaining, "other bad actor", "other bad actors")))
	}

	outboundActions := 0
	for _, s := range w.outThreats {
		if !w.blockable(s) || outboundActions == rulesMaxOutbound {
			continue
		}
		outboundActions++
		out = append(out, w.outboundActions(s)...)
	}

	if crit := w.criticalPortNames(3); len(crit) > 0 {
		out = append(out, fmt.Sprintf("Firewall > NAT > Port Forward — confirm that no rule exposes %s to the internet: %s the most targeted critical %s.",
			joinListOr(crit), itThey(len(crit), "it was", "they were"), itThey(len(crit), "port", "ports")))
	}

	doNot := 0
	for _, s := range w.falsePositives {
		if doNot == rulesMaxDoNotBlock || s.in().AbuseConfidenceScore > falsePositiveAbuseAbove || levelRank(validLevel(s.in().ThreatLevel)) < levelRank("medium") {
			continue
		}
		doNot++
		out = append(out, fmt.Sprintf("Do not block %s: it is a likely false positive (%s) despite its %s.",
			w.who(s), falsePositiveReason(s.in()), scoreText(s.in())))
	}

	if len(w.inThreats) == 0 && len(w.outThreats) == 0 {
		out = append(out, fmt.Sprintf("No firewall change is needed for %s: no listed address is a known bad actor. Keep the default deny on %s.",
			windowPhrase(f.hours), wan))
	}
	return out
}

// outboundActions writes the steps for one suspected command-and-control
// destination: find or inspect the internal senders, and block it.
func (w *rulesWriter) outboundActions(s scored) []string {
	f := w.f
	ip := s.row.IP
	var block string
	if len(f.lanInterfaces) == 1 {
		block = fmt.Sprintf("Firewall > Rules > %s — add a block rule for destination %s, direction out, so no internal host reaches it: %s, %s.",
			f.lanInterfaces[0], ip, scoreText(s.in()), strings.Join(evidence(s.in()), ", "))
	} else {
		block = fmt.Sprintf("Firewall > Rules > Floating — add a block rule for destination %s, direction out, interface %s, so no internal host reaches it: %s, %s.",
			ip, f.wanTab(), scoreText(s.in()), strings.Join(evidence(s.in()), ", "))
	}

	if len(s.e.internalSources) == 0 {
		find := fmt.Sprintf("Diagnostics > States — filter by %s to find the internal host behind NAT", ip)
		if nat := w.natAddressesOf(s); nat != "" {
			find += " (the WAN log shows only " + nat + ")"
		}
		return []string{find + ", then check that host for malware.", block}
	}
	var hosts []string
	for _, a := range s.e.internalSources {
		hosts = append(hosts, a.String())
	}
	inspect := fmt.Sprintf("Diagnostics > States — filter by %s and kill its states, then inspect %s for malware: %s sent %s to it.",
		ip, joinList(hosts), itThey(len(hosts), "it", "they"), plural(s.row.Count, "event", "events"))
	return []string{block, inspect}
}

func (w *rulesWriter) criticalPortNames(n int) []string {
	var out []string
	for _, p := range w.f.r.PortAnalysis.CriticalPortsHit {
		name := portLabel(p)
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
		if len(out) == n {
			break
		}
	}
	return out
}

// who names an address with its owner: "203.0.113.7 (Example Hosting B.V.,
// AS64500, NL)".
func (w *rulesWriter) who(s scored) string {
	in := s.in()
	var parts []string
	if owner := cleanText(cmp.Or(in.Org, in.ASName), 60); owner != "" {
		parts = append(parts, owner)
	}
	if asn := cleanText(in.ASN, 16); asn != "" {
		parts = append(parts, asn)
	}
	if cc := cleanText(in.Country, 8); cc != "" {
		parts = append(parts, cc)
	}
	ip := cleanText(s.row.IP, 64)
	if len(parts) == 0 {
		return ip
	}
	return ip + " (" + strings.Join(parts, ", ") + ")"
}

// sendersPhrase names who sent to an outbound destination: "from
// 192.168.1.20 and 192.168.1.31", or that NAT hides the sender.
func (w *rulesWriter) sendersPhrase(s scored) string {
	if s.e != nil && len(s.e.internalSources) > 0 {
		var hosts []string
		for _, a := range s.e.internalSources {
			hosts = append(hosts, a.String())
		}
		return "from " + joinList(hosts)
	}
	if nat := w.natAddressesOf(s); nat != "" {
		return "from an internal host hidden by NAT (the log shows " + nat + ")"
	}
	return "from an internal host that the log does not name"
}

// natAddressesOf returns the translated source addresses logged for an
// outbound destination.
func (w *rulesWriter) natAddressesOf(s scored) string {
	for _, row := range w.f.r.OutboundIPs {
		if row.IP != s.row.IP {
			continue
		}
		var nat []string
		for _, src := range row.SrcIPs {
			if a, ok := natAddress(src); ok {
				nat = append(nat, a.String())
			}
		}
		return strings.Join(nat, ", ")
	}
	return ""
}

// wanTab returns the interface whose rules tab takes inbound block rules.
func (f *facts) wanTab() string {
	switch {
	case len(f.wanInterfaces) == 1:
		return f.wanInterfaces[0]
	case len(f.wanInterfaces) > 1:
		return f.wanInterfaces[0] + " (repeat on " + joinList(f.wanInterfaces[1:]) + ")"
	case len(f.interfaces) == 1:
		return f.interfaces[0]
	case len(f.interfaces) > 1:
		return joinListOr(f.interfaces[:min(len(f.interfaces), 4)]) + " (whichever faces the internet)"
	default:
		return "WAN"
	}
}

// evidence lists what the providers reported about an address.
func evidence(in intel.Intel) []string {
	var out []string
	if in.RIOT {
		out = append(out, "GreyNoise RIOT"+nameSuffix(in.GNName))
	}
	if in.AbuseConfidenceScore > 0 {
		out = append(out, fmt.Sprintf("AbuseIPDB confidence %d", in.AbuseConfidenceScore))
	}
	if in.PulseCount > 0 {
		out = append(out, plural(in.PulseCount, "OTX pulse", "OTX pulses"))
	}
	switch gn := strings.ToLower(cleanText(in.GNClassification, 16)); gn {
	case "malicious", "benign", "suspicious":
		if !in.RIOT {
			out = append(out, "GreyNoise "+gn+nameSuffix(in.GNName))
		}
	}
	if len(out) == 0 {
		out = append(out, "no provider reports against it")
	}
	return out
}

func nameSuffix(name string) string {
	if name = cleanText(name, 60); name != "" {
		return " (" + name + ")"
	}
	return ""
}

// falsePositiveReason returns the scoring's reasons for a likely false
// positive, from the explanation notes.
func falsePositiveReason(in intel.Intel) string {
	const prefix = "likely false positive: "
	var reasons []string
	for _, note := range in.Explanation.Notes {
		if strings.HasPrefix(note, prefix) {
			reasons = append(reasons, cleanText(strings.TrimPrefix(note, prefix), 100))
		}
	}
	switch {
	case len(reasons) > 0:
		return strings.Join(reasons, "; ")
	case in.RIOT:
		return "GreyNoise RIOT lists it as a known benign service"
	default:
		return "a known benign network"
	}
}

func missingProviders(in intel.Intel) string {
	var names []string
	for _, p := range in.Explanation.Missing {
		names = append(names, cleanText(string(p), 16))
	}
	return joinList(names)
}

func scoreText(in intel.Intel) string {
	return fmt.Sprintf("score %s (%s)", formatScore(in.CompositeScore), validLevel(in.ThreatLevel))
}

func eventsPhrase(s scored) string {
	if s.out {
		return plural(s.row.Count, "passed outbound event", "passed outbound events")
	}
	return plural(s.row.Count, "blocked event", "blocked events")
}

// portLabel names a port with its service: "22/tcp SSH".
func portLabel(p report.PortRow) string {
	name := fmt.Sprintf("%d/%s", p.Port, cleanText(p.Protocol, 8))
	if svc := cleanText(p.Service, 40); svc != "" && svc != "unknown" {
		name += " " + svc
	}
	return name
}

func topCountries(rows []report.AddressRow, n int) string {
	counts := map[string]int{}
	var order []string
	for _, row := range rows {
		cc := cleanText(row.Intel.Country, 8)
		if cc == "" {
			continue
		}
		if counts[cc] == 0 {
			order = append(order, cc)
		}
		counts[cc]++
	}
	slices.SortStableFunc(order, func(a, b string) int { return cmp.Compare(counts[b], counts[a]) })
	var parts []string
	for _, cc := range order[:min(len(order), n)] {
		parts = append(parts, fmt.Sprintf("%s %d", cc, counts[cc]))
	}
	return strings.Join(parts, ", ")
}

func countFalsePositives(rows []report.AddressRow) int {
	n := 0
	for _, row := range rows {
		if row.Intel.LikelyFalsePositive && !row.Intel.IsKnownBadActor {
			n++
		}
	}
	return n
}

// countMissing counts the rows that lack a response from some provider and
// names those providers.
func countMissing(rows []report.AddressRow) (int, string) {
	n := 0
	var providers []string
	for _, row := range rows {
		if len(row.Intel.Explanation.Missing) == 0 {
			continue
		}
		n++
		for _, p := range row.Intel.Explanation.Missing {
			name := cleanText(string(p), 16)
			if !slices.Contains(providers, name) {
				providers = append(providers, name)
			}
		}
	}
	slices.Sort(providers)
	return n, joinListOr(providers)
}

// Helpers for English text.

func plural[N int | uint64](n N, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return count(n) + " " + many
}

// count writes n with thousands separators: 48,210.
func count[N int | uint64](n N) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func formatScore(v float64) string {
	return strings.TrimSuffix(fmt.Sprintf("%.1f", roundScore(v)), ".0")
}

func isAre(n int) string   { return itThey(n, "is", "are") }
func hasHave(n int) string { return itThey(n, "has", "have") }

func itThey(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// joinList joins items as English: "a", "a and b", "a, b and c".
func joinList(items []string) string { return joinWith(items, "and") }

// joinListOr joins items with "or".
func joinListOr(items []string) string { return joinWith(items, "or") }

func joinWith(items []string, word string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " " + word + " " + items[len(items)-1]
}
