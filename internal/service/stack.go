package service

import (
	"time"

	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/source/stack"
)

// openStack returns the VictoriaMetrics and Loki source.
func (s *Service) openStack() (source.Source, string, error) {
	src, err := NewStackSource(s.cfg, queryObserver{s})
	if err != nil {
		return nil, "", err
	}
	s.stack = src
	return src, stack.BackendMetrics, nil
}

// NewStackSource returns the VictoriaMetrics and Loki source the
// configuration describes. observer may be nil.
func NewStackSource(cfg *config.Config, observer stack.Observer) (*stack.Source, error) {
	return stack.New(stack.Config{
		VictoriaMetricsURL: cfg.VictoriaMetricsURL,
		LokiURL:            cfg.LokiURL,
		LokiSelector:       cfg.LokiSelector,
		Timeout:            cfg.QueryTimeout,
		TopBlocked:         cfg.TopBlockedIPs,
		TopOutbound:        cfg.TopOutboundIPs,
		TopPorts:           cfg.TopPorts,
		WANInterfaces:      cfg.WANInterfaces,
		OwnPrefixes:        cfg.OwnPrefixes,
		Observer:           observer,
	})
}

// queryObserver records each stack query's duration and error. The
// metrics are registered after the source is built, so it reads them from
// the service when a query ends.
type queryObserver struct{ s *Service }

func (o queryObserver) QueryDone(backend, _ string, d time.Duration, err error) {
	if m := o.s.metrics; m != nil {
		m.ObserveSourceQuery(backend, d, err)
	}
}
