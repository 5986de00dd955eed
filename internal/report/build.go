package report

import (
	"cmp"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/ports"
	"github.com/threat-intel/threat-intel/internal/scoring"
	"github.com/threat-intel/threat-intel/internal/source"
)

// DefaultTopPorts is the number of ports listed in top_blocked_ports and
// critical_ports_hit when Input.TopPorts is zero.
const DefaultTopPorts = 20

// Values of AddressRow.Direction and AddressRow.Action.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
	ActionBlock  = "block"
	ActionPass   = "pass"
)

// Input is the data a report is built from.
type Input struct {
	Observation   source.Observation
	LookbackHours int
	// GeneratedAt is the time the cycle ran. Build writes it in UTC.
	GeneratedAt time.Time
	// BlockedIntel and OutboundIntel hold the scored record of each blocked
	// source and each outbound destination. They are separate because the
	// bad-actor rule depends on the direction, and one address can be both.
	// An address without a record gets an empty one (threat level "none"),
	// so a report can be built before or without enrichment.
	BlockedIntel  map[netip.Addr]intel.Intel
	OutboundIntel map[netip.Addr]intel.Intel
	// Catalog names the targeted ports. Nil means the embedded catalog.
	Catalog *ports.Catalog
	// Narrative is the analyst's text. Nil means none is available.
	Narrative *Narrative
	// Source names the event source, as shown in the report.
	Source string
	// TopPorts caps top_blocked_ports and critical_ports_hit. Zero means
	// DefaultTopPorts.
	TopPorts int
}

// Build assembles the report of one cycle. It does no I/O, and every list
// of the result is empty rather than nil, so the JSON has [] and never null.
func Build(in Input) Report {
	catalog := in.Catalog
	if catalog == nil {
		catalog = ports.Default()
	}
	topPorts := in.TopPorts
	if topPorts <= 0 {
		topPorts = DefaultTopPorts
	}
	obs := in.Observation

	r := Report{
		GeneratedAt:   in.GeneratedAt.UTC().Format(TimeFormat),
		LookbackHours: in.LookbackHours,
		BlockedIPs:    blockedRows(obs.Blocked, in.BlockedIntel),
		OutboundIPs:   outboundRows(obs.Outbound, in.OutboundIntel),
		Narrative:     narrativeOrNone(in.Narrative),
		Window:        Window{Start: formatWindowTime(obs.Start), End: formatWindowTime(obs.End)},
		Interfaces:    append([]string{}, obs.Interfaces...),
		Source:        in.Source,
		Lines:         maps.Clone(obs.Lines),
	}

	var criticalPorts int
	r.PortAnalysis, criticalPorts = portAnalysis(obs.Ports, catalog, topPorts)

	r.Summary = Summary{
		TotalBlockedIPs:        obs.DistinctBlocked,
		KnownBadActorsInbound:  countBadActors(r.BlockedIPs),
		KnownBadActorsOutbound: countBadActors(outboundAddressRows(r.OutboundIPs)),
		CriticalPortsTargeted:  criticalPorts,
		OverallRiskLevel:       overallRiskLevel(r.BlockedIPs, outboundAddressRows(r.OutboundIPs)),
		BlockedEvents:          sumCounts(r.BlockedIPs),
		OutboundDestinations:   len(r.OutboundIPs),
		Approximate:            obs.Approximate,
		ErrorBound:             obs.ErrorBound,
	}
	return r
}

func blockedRows(blocked []source.AddrCount, records map[netip.Addr]intel.Intel) []AddressRow {
	rows := make([]AddressRow, 0, len(blocked))
	for _, b := range blocked {
		rows = append(rows, AddressRow{
			IP:        b.Addr.String(),
			Count:     b.Count,
			Direction: DirectionIn,
			Action:    ActionBlock,
			Intel:     intelFor(b.Addr, records),
		})
	}
	return rows
}

func outboundRows(outbound []source.Outbound, records map[netip.Addr]intel.Intel) []OutboundRow {
	rows := make([]OutboundRow, 0, len(outbound))
	for _, o := range outbound {
		rows = append(rows, OutboundRow{
			AddressRow: AddressRow{
				IP:        o.Addr.String(),
				Count:     o.Count,
				Direction: DirectionOut,
				Action:    ActionPass,
				Intel:     intelFor(o.Addr, records),
			},
			SrcIPs: sourceList(o),
		})
	}
	return rows
}

// sourceList names who sent to an outbound destination: the internal hosts
// when pass lines before NAT showed them, otherwise the translated address,
// because pfSense logs WAN traffic after NAT.
func sourceList(o source.Outbound) []string {
	if len(o.InternalSources) > 0 {
		out := make([]string, len(o.InternalSources))
		for i, a := range o.InternalSources {
			out[i] = a.String()
		}
		return out
	}
	if len(o.NATSources) > 0 {
		return []string{NATNote(o.NATSources[0])}
	}
	return []string{}
}

// NATNote is the src_ips entry of an outbound destination whose internal
// sender is hidden behind NAT. Dashboards and the narrative match its
// "pfSense NAT (" prefix, so the wording is fixed.
func NATNote(translated netip.Addr) string {
	return "pfSense NAT (" + translated.String() + ")"
}

// intelFor returns the record of a, with nil lists and maps made empty, or a
// placeholder when a has not been enriched.
func intelFor(a netip.Addr, records map[netip.Addr]intel.Intel) intel.Intel {
	rec, ok := records[a]
	if !ok {
		rec = intel.Intel{
			ThreatLevel:    "none",
			Classification: "unknown",
		}
	}
	if rec.IP == "" {
		rec.IP = a.String()
	}
	return rec.WithEmptyLists()
}

// portAnalysis looks up the observed ports and returns the top ones, the
// top critical ones and the number of distinct critical port numbers among
// all observed ports. A port hit over both TCP and UDP counts once.
func portAnalysis(observed []source.PortCount, catalog *ports.Catalog, limit int) (PortAnalysis, int) {
	sorted := slices.Clone(observed)
	slices.SortStableFunc(sorted, func(a, b source.PortCount) int { return cmp.Compare(b.Count, a.Count) })

	pa := PortAnalysis{TopBlockedPorts: []PortRow{}, CriticalPortsHit: []PortRow{}}
	criticalPorts := make(map[uint16]bool)
	for _, p := range sorted {
		e := catalog.Lookup(p.Port, p.Protocol)
		row := PortRow{
			Port:        int(p.Port),
			Protocol:    p.Protocol,
			Service:     e.Service,
			RiskLevel:   string(e.Risk),
			Count:       p.Count,
			Description: e.Description,
		}
		if len(pa.TopBlockedPorts) < limit {
			pa.TopBlockedPorts = append(pa.TopBlockedPorts, row)
		}
		if !ports.IsCritical(e) {
			continue
		}
		criticalPorts[p.Port] = true
		if len(pa.CriticalPortsHit) < limit {
			pa.CriticalPortsHit = append(pa.CriticalPortsHit, row)
		}
	}
	return pa, len(criticalPorts)
}

func outboundAddressRows(rows []OutboundRow) []AddressRow {
	out := make([]AddressRow, len(rows))
	for i, r := range rows {
		out[i] = r.AddressRow
	}
	return out
}

func countBadActors(rows []AddressRow) int {
	n := 0
	for _, r := range rows {
		if r.Intel.IsKnownBadActor {
			n++
		}
	}
	return n
}

func sumCounts(rows []AddressRow) uint64 {
	var total uint64
	for _, r := range rows {
		total += r.Count
	}
	return total
}

// overallRiskLevel applies scoring.OverallRisk to the intel of every row.
func overallRiskLevel(groups ...[]AddressRow) string {
	var records []intel.Intel
	for _, rows := range groups {
		for _, r := range rows {
			records = append(records, r.Intel)
		}
	}
	return scoring.OverallRisk(records)
}

// narrativeOrNone copies n with empty lists in place of nil ones, or returns
// the placeholder of a cycle without a narrative.
func narrativeOrNone(n *Narrative) Narrative {
	var out Narrative
	if n == nil {
		out = Narrative{Available: false, Provider: "none"}
	} else {
		out = *n
	}
	out.TopThreats = nonNil(out.TopThreats)
	out.RecommendedActions = nonNil(out.RecommendedActions)
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// formatWindowTime writes t in UTC RFC 3339, or "" for the zero time.
func formatWindowTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
