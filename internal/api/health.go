package api

import (
	"net/http"
	"time"

	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/version"
)

// Values of Health.Status.
const (
	StatusOK       = "ok"
	StatusDegraded = "degraded"
	StatusStarting = "starting"
)

// staleReason is the reason of a degraded health derived from a stale
// report when no Health callback is set.
const staleReason = "the last cycle failed, so the report is from an earlier cycle"

// Health is the service's state as the Health callback reports it.
type Health struct {
	// Status is StatusOK, StatusDegraded or StatusStarting. Empty lets the
	// API decide as if there were no callback.
	Status string
	// Reasons explain why the status is not ok: a source down, a provider
	// disabled, a report older than two intervals.
	Reasons []string
	// LastSuccess is the end of the last successful cycle, zero when none.
	LastSuccess time.Time
}

// healthResponse is the body of /health.
type healthResponse struct {
	Status          string   `json:"status"`
	ReportAvailable bool     `json:"report_available"`
	Reasons         []string `json:"reasons"`
	// LastSuccess and GeneratedAt are UTC "YYYY-MM-DDTHH:MM:SSZ", null when
	// there is none.
	LastSuccess *string `json:"last_success"`
	GeneratedAt *string `json:"generated_at"`
	Stale       bool    `json:"stale"`
	Version     string  `json:"version"`
}

// handleHealth serves /health. It returns 200 for every status, because a
// process that responds can serve. Load balancers and Docker health checks
// read the status field for the rest.
func (a *API) handleHealth(w http.ResponseWriter, r *http.Request) error {
	s := a.snap.Load()
	var h Health
	if a.opts.Health != nil {
		h = a.opts.Health()
	}
	if h.Status == "" {
		h = defaultHealth(s)
	}

	resp := healthResponse{
		Status:          h.Status,
		ReportAvailable: s.available,
		Reasons:         nonNil(h.Reasons),
		Stale:           s.stale,
		Version:         version.Version,
	}
	if !h.LastSuccess.IsZero() {
		t := h.LastSuccess.UTC().Format(report.TimeFormat)
		resp.LastSuccess = &t
	}
	if s.available {
		resp.GeneratedAt = &s.generatedAt
	}

	return a.writeJSON(w, r, resp)
}

// defaultHealth derives the status from the published report alone.
func defaultHealth(s *snapshot) Health {
	switch {
	case !s.available:
		return Health{Status: StatusStarting, Reasons: []string{"the first cycle has not finished"}}
	case s.stale:
		return Health{Status: StatusDegraded, Reasons: []string{staleReason}}
	}
	return Health{Status: StatusOK}
}
