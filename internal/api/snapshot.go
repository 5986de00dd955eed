package api

import (
	"fmt"
	"net/http"
	"net/netip"

	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
)

// bodyID names a report-derived body of a snapshot.
type bodyID int

const (
	bodyReport bodyID = iota
	bodyReportBlocked
	bodyReportOutbound
	bodySummary
	bodyNarrative
	bodyThreats
	bodyActions
	bodyBlockedIPs
	bodyOutboundAll
	bodyOutboundSuspicious
	bodyPorts
	bodyCriticalPorts
	bodyCount
)

// noReportMessage is the error of the /api/report routes before the first
// cycle has finished.
const noReportMessage = "no report yet: the first cycle has not finished"

// snapshot is everything served from one report. It is immutable once
// stored, so handlers read it without locks.
type snapshot struct {
	available   bool
	generatedAt string
	stale       bool

	bodies [bodyCount]*body
	// addrs holds the /api/ip/{ip} body of every address in the report.
	addrs map[netip.Addr]*body
}

// emptySnapshot returns the bodies served before the first report: 503 for
// the /api/report routes, [{}] for the single-object Infinity routes and []
// for the list ones.
func emptySnapshot() *snapshot {
	noReport, err := jsonBody(http.StatusServiceUnavailable, errorResponse{Error: noReportMessage})
	if err != nil {
		panic(err) // A constant string always encodes.
	}
	emptyObject := newBody(http.StatusOK, contentTypeJSON, []byte("[{}]\n"))
	emptyList := newBody(http.StatusOK, contentTypeJSON, []byte("[]\n"))

	s := &snapshot{addrs: map[netip.Addr]*body{}}
	for id := range s.bodies {
		s.bodies[id] = emptyList
	}
	s.bodies[bodyReport] = noReport
	s.bodies[bodyReportBlocked] = noReport
	s.bodies[bodyReportOutbound] = noReport
	s.bodies[bodySummary] = emptyObject
	s.bodies[bodyNarrative] = emptyObject
	return s
}

// buildSnapshot encodes every body of r.
func buildSnapshot(r report.Report, classifier *netclass.Classifier) (*snapshot, error) {
	values := [bodyCount]any{
		bodyReport:             r,
		bodyReportBlocked:      nonNil(r.BlockedIPs),
		bodyReportOutbound:     nonNil(r.OutboundIPs),
		bodySummary:            []summaryRow{newSummaryRow(r)},
		bodyNarrative:          []narrativeRow{newNarrativeRow(r.Narrative)},
		bodyThreats:            threatRows(r.Narrative.TopThreats),
		bodyActions:            actionRows(r.Narrative.RecommendedActions),
		bodyBlockedIPs:         blockedIPRows(r.BlockedIPs),
		bodyOutboundAll:        outboundRows(r.OutboundIPs),
		bodyOutboundSuspicious: suspiciousRows(r.OutboundIPs),
		bodyPorts:              nonNil(r.PortAnalysis.TopBlockedPorts),
		bodyCriticalPorts:      nonNil(r.PortAnalysis.CriticalPortsHit),
	}

	s := &snapshot{available: true, generatedAt: r.GeneratedAt, stale: r.Stale}
	for id, v := range values {
		b, err := jsonBody(http.StatusOK, v)
		if err != nil {
			return nil, fmt.Errorf("encoding the report for %s: %w", bodyPaths[id], err)
		}
		s.bodies[id] = b
	}

	addrs, err := addressBodies(r, classifier)
	if err != nil {
		return nil, err
	}
	s.addrs = addrs
	return s, nil
}

// bodyPaths names the route of each body, for errors.
var bodyPaths = [bodyCount]string{
	bodyReport:             "/api/report",
	bodyReportBlocked:      "/api/report/blocked",
	bodyReportOutbound:     "/api/report/outbound",
	bodySummary:            "/api/infinity/summary",
	bodyNarrative:          "/api/infinity/narrative",
	bodyThreats:            "/api/infinity/threats",
	bodyActions:            "/api/infinity/actions",
	bodyBlockedIPs:         "/api/infinity/blocked_ips",
	bodyOutboundAll:        "/api/infinity/outbound_all",
	bodyOutboundSuspicious: "/api/infinity/outbound_suspicious",
	bodyPorts:              "/api/infinity/ports",
	bodyCriticalPorts:      "/api/infinity/critical_ports",
}

// nonNil returns s, or an empty slice for nil, so the JSON is [] and never
// null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
