package service

import (
	"fmt"
	"time"

	"github.com/threat-intel/threat-intel/internal/api"
	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/report"
)

// health reports the service's state for /health: starting until a report
// is available, degraded with every reason that applies, else ok.
func (s *Service) health() api.Health {
	last, lastSuccess, _ := s.sched.Last()
	s.mu.Lock()
	cur := s.current
	failing := s.failing
	s.mu.Unlock()

	var reasons []string
	if last.Err != nil {
		reasons = append(reasons, fmt.Sprintf("last cycle failed: %v", last.Err))
	}
	if cur != nil {
		if generated, err := time.Parse(report.TimeFormat, cur.GeneratedAt); err == nil && time.Since(generated) > 2*s.cfg.Interval {
			reasons = append(reasons, fmt.Sprintf("the report is older than two intervals: generated at %s", cur.GeneratedAt))
		}
	}
	providers := s.pipeline.Engine.Health()
	for _, name := range intel.Providers {
		if h := providers[name]; h.Disabled {
			reasons = append(reasons, fmt.Sprintf("provider %s disabled: %s", name, h.DisabledReason))
		} else if why := failing[name]; why != "" {
			reasons = append(reasons, fmt.Sprintf("provider %s: %s", name, why))
		}
	}
	if s.live != nil {
		for _, in := range s.live.Inputs() {
			if in.Err != "" {
				reasons = append(reasons, fmt.Sprintf("input %s: %s", in.Name, in.Err))
			}
		}
	}
	if s.stack != nil {
		reasons = append(reasons, s.stack.DownReasons()...)
	}
	if s.pipeline.GeoIP != nil {
		if err := s.pipeline.GeoIP.LastError(); err != nil {
			reasons = append(reasons, fmt.Sprintf("GeoIP database: %v", err))
		}
	}
	if s.pipeline.Feeds != nil {
		for _, f := range s.pipeline.Feeds.Status() {
			if f.LastError != "" {
				reasons = append(reasons, fmt.Sprintf("feed %s: %s", f.Name, f.LastError))
			}
		}
	}

	h := api.Health{Status: api.StatusOK, Reasons: reasons, LastSuccess: lastSuccess}
	switch {
	case cur == nil && last.Started.IsZero():
		h.Status = api.StatusStarting
	case len(reasons) > 0 || cur == nil:
		h.Status = api.StatusDegraded
	}
	return h
}
