package enrich

import (
	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider/abuseipdb"
	"github.com/threat-intel/threat-intel/internal/provider/greynoise"
	"github.com/threat-intel/threat-intel/internal/provider/ipinfo"
	"github.com/threat-intel/threat-intel/internal/provider/otx"
)

// DefaultBurst is how many requests each provider may send at once before
// its per-minute rate applies. GreyNoise publishes no rate and its free
// quota is small, so it gets the smallest burst.
var DefaultBurst = map[intel.Provider]int{
	intel.AbuseIPDB: 5,
	intel.GreyNoise: 2,
	intel.OTX:       5,
	intel.IPinfo:    10,
}

// ProvidersFromConfig returns the four provider clients configured by cfg,
// in the order of intel.Providers. A provider without its key is returned
// too, and its lookups are reported as "skipped: no key".
func ProvidersFromConfig(cfg *config.Config) []Provider {
	// The config package accepts only "lite" and "full", so ParseMode cannot
	// fail here. A mode it rejected would make every IPinfo lookup "skipped:
	// no key", because the client then reports itself not configured.
	mode, _ := ipinfo.ParseMode(cfg.IPinfoMode)
	return []Provider{
		FromAbuseIPDB(abuseipdb.New(abuseipdb.Options{
			BaseURL: cfg.AbuseIPDBBaseURL,
			APIKey:  cfg.AbuseIPDBAPIKey,
			Timeout: cfg.ProviderTimeout,
		})),
		FromGreyNoise(greynoise.New(greynoise.Options{
			BaseURL: cfg.GreyNoiseBaseURL,
			APIKey:  cfg.GreyNoiseAPIKey,
			Timeout: cfg.ProviderTimeout,
		}), cfg.GreyNoiseNoKey),
		FromOTX(otx.New(otx.Options{
			BaseURL: cfg.OTXBaseURL,
			APIKey:  cfg.OTXAPIKey,
			Timeout: cfg.ProviderTimeout,
		})),
		FromIPinfo(ipinfo.New(ipinfo.Options{
			BaseURL: cfg.IPinfoBaseURL,
			Token:   cfg.IPinfoToken,
			Mode:    mode,
			Timeout: cfg.ProviderTimeout,
		})),
	}
}

// LimitsFromConfig returns the limits of the four providers set by cfg,
// with DefaultBurst as the bursts. The configuration accepts only daily
// budgets of at least 1, so every provider's calls are counted.
func LimitsFromConfig(cfg *config.Config) map[intel.Provider]Limits {
	limits := func(name intel.Provider, perMinute float64, budget int) Limits {
		return Limits{
			RatePerMinute: perMinute,
			Burst:         DefaultBurst[name],
			DailyBudget:   budget,
			CacheTTL:      cfg.CacheTTL,
			NotFoundTTL:   cfg.NotFoundTTL,
		}
	}
	return map[intel.Provider]Limits{
		intel.AbuseIPDB: limits(intel.AbuseIPDB, cfg.AbuseIPDBRate, cfg.AbuseIPDBDailyBudget),
		intel.GreyNoise: limits(intel.GreyNoise, cfg.GreyNoiseRate, cfg.GreyNoiseDailyBudget),
		intel.OTX:       limits(intel.OTX, cfg.OTXRate, cfg.OTXDailyBudget),
		intel.IPinfo:    limits(intel.IPinfo, cfg.IPinfoRate, cfg.IPinfoDailyBudget),
	}
}
