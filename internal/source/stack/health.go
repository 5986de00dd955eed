package stack

import (
	"time"
)

// BackendHealth is the state of one backend after the last Observe.
type BackendHealth struct {
	Name string // BackendMetrics or BackendLogs
	// URL is the base URL without its password, empty when not configured.
	URL        string
	Configured bool
	// Checked is when an Observe last queried the backend. It is zero
	// before the first.
	Checked time.Time
	// Err is the first error of the last Observe's queries to the backend,
	// empty when they all succeeded.
	Err string
	// Note is the reason a backend is not configured.
	Note string
}

// Down reports whether the last Observe's queries to the backend failed.
// A backend that was not configured or not yet queried is not down.
func (h BackendHealth) Down() bool { return h.Configured && !h.Checked.IsZero() && h.Err != "" }

// Health returns the state of VictoriaMetrics, then Loki.
func (s *Source) Health() []BackendHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return []BackendHealth{*s.health[BackendMetrics], *s.health[BackendLogs]}
}

// DownReasons returns one sentence per backend that is down, naming it and
// its error, for a health endpoint.
func (s *Source) DownReasons() []string {
	var reasons []string
	for _, h := range s.Health() {
		if h.Down() {
			reasons = append(reasons, h.Name+" is down: "+h.Err)
		}
	}
	return reasons
}

// recordHealth stores the outcome of an Observe: failures holds the first
// error of each backend that failed.
func (s *Source) recordHealth(failures map[string]error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, h := range s.health {
		if !h.Configured {
			continue
		}
		h.Checked = now
		h.Err = ""
		if err := failures[name]; err != nil {
			h.Err = err.Error()
		}
	}
}
