package service

import (
	"errors"

	"github.com/threat-intel/threat-intel/internal/source"
)

// openStack returns the VictoriaMetrics and Loki source.
func (s *Service) openStack() (source.Source, string, error) {
	return nil, "", errors.New("VICTORIAMETRICS_URL is set, but this build reads events only from FILTERLOG_PATH and SYSLOG_LISTEN")
}
