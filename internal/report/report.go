// Package report builds the report of one cycle from an observation, the
// scored intel of its addresses, the ports catalog and the narrative, and
// renders it for the terminal. Its JSON is the /api/report body: the field
// names and types are a public contract shared with dashboards and scripts.
package report

import (
	"github.com/threat-intel/threat-intel/internal/intel"
)

// TimeFormat is the layout of generated_at: UTC, whole seconds, "Z".
const TimeFormat = "2006-01-02T15:04:05Z"

// Report is the result of one cycle.
type Report struct {
	GeneratedAt   string            `json:"generated_at"`
	LookbackHours int               `json:"lookback_hours"`
	Summary       Summary           `json:"summary"`
	BlockedIPs    []AddressRow      `json:"blocked_ips"`
	OutboundIPs   []OutboundRow     `json:"outbound_ips"`
	PortAnalysis  PortAnalysis      `json:"port_analysis"`
	Narrative     Narrative         `json:"narrative"`
	Window        Window            `json:"window"`
	Interfaces    []string          `json:"interfaces"`
	Source        string            `json:"source"`
	Lines         map[string]uint64 `json:"lines,omitempty"`
	// Stale is set when this report is kept from an earlier cycle because the
	// latest one failed.
	Stale bool `json:"stale"`
}

// Summary holds the headline counts.
type Summary struct {
	// TotalBlockedIPs is the number of distinct blocked public sources in the
	// window, not the number listed in blocked_ips.
	TotalBlockedIPs        int `json:"total_blocked_ips"`
	KnownBadActorsInbound  int `json:"known_bad_actors_inbound"`
	KnownBadActorsOutbound int `json:"known_bad_actors_outbound"`
	// CriticalPortsTargeted is the number of distinct port numbers with a
	// high or critical risk level among all targeted ports of the window,
	// not only the listed ones. A port hit over TCP and UDP counts once.
	CriticalPortsTargeted int `json:"critical_ports_targeted"`
	// OverallRiskLevel is the threat level of the highest composite score
	// among listed addresses that are not likely false positives, counting
	// those that are known bad actors anyway; "none" when there is none.
	OverallRiskLevel string `json:"overall_risk_level"`
	// BlockedEvents is the number of blocked events from the sources listed
	// in blocked_ips. With more distinct sources than rows, the window's
	// total is higher.
	BlockedEvents uint64 `json:"blocked_events"`
	// OutboundDestinations is the number of rows in outbound_ips.
	OutboundDestinations int `json:"outbound_destinations"`
	// Approximate is set when the source hit its memory bound, so counts are
	// estimates that may be overstated by up to ErrorBound events each.
	Approximate bool   `json:"approximate"`
	ErrorBound  uint64 `json:"error_bound"`
}

// AddressRow is one blocked source.
type AddressRow struct {
	IP        string      `json:"ip"`
	Count     uint64      `json:"count"`
	Direction string      `json:"direction"` // "in" or "out"
	Action    string      `json:"action"`    // "block" or "pass"
	Intel     intel.Intel `json:"intel"`
}

// OutboundRow is one outbound destination. SrcIPs lists the internal hosts
// seen sending to it or, when none were logged before NAT, one entry
// "pfSense NAT (ADDR)" naming the translated source.
type OutboundRow struct {
	AddressRow
	SrcIPs []string `json:"src_ips"`
}

// PortAnalysis holds the targeted ports of blocked inbound traffic.
type PortAnalysis struct {
	TopBlockedPorts  []PortRow `json:"top_blocked_ports"`
	CriticalPortsHit []PortRow `json:"critical_ports_hit"`
}

// PortRow is one targeted port with its catalog entry.
type PortRow struct {
	Port        int    `json:"port"`
	Protocol    string `json:"protocol"`
	Service     string `json:"service"`
	RiskLevel   string `json:"risk_level"`
	Count       uint64 `json:"count"`
	Description string `json:"description"`
}

// Narrative is the analyst's text for the cycle.
type Narrative struct {
	RiskLevel          string   `json:"risk_level"`
	ExecutiveSummary   string   `json:"executive_summary"`
	TopThreats         []string `json:"top_threats"`
	InboundAnalysis    string   `json:"inbound_analysis"`
	OutboundAnalysis   string   `json:"outbound_analysis"`
	PortAnalysis       string   `json:"port_analysis"`
	RecommendedActions []string `json:"recommended_actions"`
	Available          bool     `json:"available"`
	Model              string   `json:"model"`
	Provider           string   `json:"provider"`
	Error              string   `json:"error,omitempty"`
}

// Window is the time span the report covers, in UTC RFC 3339.
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}
