package api

import (
	"strings"

	"github.com/threat-intel/threat-intel/internal/report"
)

// The /api/infinity/* rows. Grafana's Infinity back end reads only arrays
// and only the top-level keys of each element, so every row is flat: its
// values are strings, numbers and booleans, never objects or arrays. Field
// names are a public contract shared with dashboards: fields may be added,
// never renamed or removed.

// summaryRow is the one row of /api/infinity/summary: the report's summary
// with the fields that date it.
type summaryRow struct {
	report.Summary
	GeneratedAt   string `json:"generated_at"`
	LookbackHours int    `json:"lookback_hours"`
	Stale         bool   `json:"stale"`
	// MaxScore is the highest composite score among the listed addresses
	// of both directions, 0 when none is listed.
	MaxScore float64 `json:"max_score"`
}

func newSummaryRow(r report.Report) summaryRow {
	var maxScore float64
	for _, row := range r.BlockedIPs {
		maxScore = max(maxScore, row.Intel.CompositeScore)
	}
	for _, row := range r.OutboundIPs {
		maxScore = max(maxScore, row.Intel.CompositeScore)
	}
	return summaryRow{
		Summary:       r.Summary,
		GeneratedAt:   r.GeneratedAt,
		LookbackHours: r.LookbackHours,
		Stale:         r.Stale,
		MaxScore:      maxScore,
	}
}

// narrativeRow is the one row of /api/infinity/narrative. The lists of the
// narrative are served as rows of /api/infinity/threats and
// /api/infinity/actions.
type narrativeRow struct {
	RiskLevel        string `json:"risk_level"`
	ExecutiveSummary string `json:"executive_summary"`
	InboundAnalysis  string `json:"inbound_analysis"`
	OutboundAnalysis string `json:"outbound_analysis"`
	PortAnalysis     string `json:"port_analysis"`
	Available        bool   `json:"available"`
	Model            string `json:"model"`
	Provider         string `json:"provider"`
	// Error is always present, "" when the narrative was written, so the
	// column exists for every report.
	Error string `json:"error"`
}

func newNarrativeRow(n report.Narrative) narrativeRow {
	return narrativeRow{
		RiskLevel:        n.RiskLevel,
		ExecutiveSummary: n.ExecutiveSummary,
		InboundAnalysis:  n.InboundAnalysis,
		OutboundAnalysis: n.OutboundAnalysis,
		PortAnalysis:     n.PortAnalysis,
		Available:        n.Available,
		Model:            n.Model,
		Provider:         n.Provider,
		Error:            n.Error,
	}
}

type threatRow struct {
	Threat string `json:"threat"`
}

func threatRows(threats []string) []threatRow {
	rows := make([]threatRow, len(threats))
	for i, t := range threats {
		rows[i] = threatRow{Threat: t}
	}
	return rows
}

type actionRow struct {
	Action string `json:"action"`
}

func actionRows(actions []string) []actionRow {
	rows := make([]actionRow, len(actions))
	for i, a := range actions {
		rows[i] = actionRow{Action: a}
	}
	return rows
}

// addressRow is one row of /api/infinity/blocked_ips: the address, its
// event count and its intel flattened.
type addressRow struct {
	IP          string  `json:"ip"`
	Events      uint64  `json:"events"`
	Org         string  `json:"org"`
	Country     string  `json:"country"`
	Score       float64 `json:"score"`
	ThreatLevel string  `json:"threat_level"`
	AbuseScore  int     `json:"abuse_score"`
	OTXPulses   int     `json:"otx_pulses"`
	// GreyNoise is the GreyNoise classification ("malicious", "benign",
	// "unknown"), "" when GreyNoise returned no result. A RIOT address keeps its
	// classification here and has riot set.
	GreyNoise       string `json:"greynoise"`
	IsKnownBadActor bool   `json:"is_known_bad_actor"`

	ASN                 string `json:"asn"`
	ASName              string `json:"as_name"`
	Classification      string `json:"classification"`
	RIOT                bool   `json:"riot"`
	LikelyFalsePositive bool   `json:"likely_false_positive"`
	// Feeds names the blocklist feeds that list the address, joined with
	// ", " because Infinity reads only scalar columns.
	Feeds string `json:"feeds"`
}

func newAddressRow(r report.AddressRow) addressRow {
	in := r.Intel
	return addressRow{
		IP:                  r.IP,
		Events:              r.Count,
		Org:                 in.Org,
		Country:             in.Country,
		Score:               in.CompositeScore,
		ThreatLevel:         in.ThreatLevel,
		AbuseScore:          in.AbuseConfidenceScore,
		OTXPulses:           in.PulseCount,
		GreyNoise:           in.GNClassification,
		IsKnownBadActor:     in.IsKnownBadActor,
		ASN:                 in.ASN,
		ASName:              in.ASName,
		Classification:      in.Classification,
		RIOT:                in.RIOT,
		LikelyFalsePositive: in.LikelyFalsePositive,
		Feeds:               strings.Join(in.Feeds, ", "),
	}
}

func blockedIPRows(rows []report.AddressRow) []addressRow {
	out := make([]addressRow, len(rows))
	for i, r := range rows {
		out[i] = newAddressRow(r)
	}
	return out
}

// outboundRow is one row of /api/infinity/outbound_all.
type outboundRow struct {
	addressRow
	// InternalSources is the report's src_ips joined with ", ": the internal
	// hosts seen sending to the address or, when NAT hid them, the note
	// "pfSense NAT (ADDR)". It is one string because Infinity reads only
	// top-level scalar values.
	InternalSources string `json:"internal_sources"`
}

func outboundRows(rows []report.OutboundRow) []outboundRow {
	out := make([]outboundRow, len(rows))
	for i, r := range rows {
		out[i] = outboundRow{
			addressRow:      newAddressRow(r.AddressRow),
			InternalSources: strings.Join(r.SrcIPs, ", "),
		}
	}
	return out
}

// suspiciousRow is one row of /api/infinity/outbound_suspicious: an
// outbound row of a known bad actor with the sender under the name the
// dashboards read.
type suspiciousRow struct {
	outboundRow
	// Source has the same value as internal_sources.
	Source string `json:"source"`
}

// suspiciousRows keeps the outbound destinations that are known bad actors.
// The dashboards cannot filter on booleans, so the filter runs here.
func suspiciousRows(rows []report.OutboundRow) []suspiciousRow {
	out := []suspiciousRow{}
	for _, row := range outboundRows(rows) {
		if row.IsKnownBadActor {
			out = append(out, suspiciousRow{outboundRow: row, Source: row.InternalSources})
		}
	}
	return out
}

// SourceRow is one row of /api/infinity/sources: the state of one
// threat-intelligence provider.
type SourceRow struct {
	Provider   string `json:"provider"`
	Configured bool   `json:"configured"`
	// Status is "ok", "not configured", "disabled" (the provider rejected
	// its key), "rate limited" (a Retry-After is pending) or "budget
	// exhausted".
	Status string `json:"status"`
	// Detail explains a status other than "ok", such as the reason the
	// provider was disabled. It never contains a key.
	Detail string `json:"detail"`
	// DailyBudget is the configured daily request cap, 0 when none is
	// counted.
	DailyBudget int `json:"daily_budget"`
	// BudgetRemaining is the number of requests left today, -1 when unknown
	// or when no budget is counted.
	BudgetRemaining int   `json:"budget_remaining"`
	Requests        int64 `json:"requests"`
	Failures        int64 `json:"failures"`
	RateLimited     int64 `json:"rate_limited"`
	CacheHits       int64 `json:"cache_hits"`
	CacheMisses     int64 `json:"cache_misses"`
	// CacheHitRate is CacheHits / (CacheHits + CacheMisses), from 0 to 1,
	// and 0 before the first lookup.
	CacheHitRate float64 `json:"cache_hit_rate"`
	// BlockedUntil is the end of a pending Retry-After in UTC RFC 3339,
	// "" when none.
	BlockedUntil string `json:"blocked_until"`
}
