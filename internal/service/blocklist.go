package service

import (
	"github.com/threat-intel/threat-intel/internal/blocklist"
	"github.com/threat-intel/threat-intel/internal/config"
)

// OpenBlocklist returns the blocklist kept in the pipeline's store, with the
// configuration's thresholds and exclusions.
func OpenBlocklist(cfg *config.Config, p *Pipeline) (*blocklist.Blocklist, error) {
	return blocklist.New(p.Store, blocklist.Options{
		MinLevel:     cfg.BlocklistMinLevel,
		TTL:          cfg.BlocklistTTL,
		MaxEntries:   cfg.BlocklistMaxEntries,
		OwnPrefixes:  cfg.OwnPrefixes,
		Allowlist:    cfg.Allowlist,
		DNSResolvers: cfg.DNSResolvers,
	})
}
