package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/enrich"
	"github.com/threat-intel/threat-intel/internal/feeds"
	"github.com/threat-intel/threat-intel/internal/geoip"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/ports"
	"github.com/threat-intel/threat-intel/internal/scoring"
	"github.com/threat-intel/threat-intel/internal/store"
)

// pipeline holds what every command that scores addresses shares: the
// store, the enrichment engine with its local sources, the scorer and the
// port catalog.
type pipeline struct {
	classifier *netclass.Classifier
	store      store.Store // nil when it could not be opened and that was allowed
	engine     *enrich.Engine
	geoip      *geoip.Reader
	feeds      *feeds.Manager
	scorer     *scoring.Scorer
	catalog    *ports.Catalog
}

// openPipeline builds the pipeline from the configuration and registers its
// metrics on reg. When storeOptional is true, a store that cannot be opened
// is logged and enrichment is left out instead of failing the command.
func (c *invocation) openPipeline(ctx context.Context, reg prometheus.Registerer, storeOptional bool) (*pipeline, error) {
	cfg := c.cfg
	p := &pipeline{classifier: netclass.New(cfg.OwnPrefixes)}

	opts := scoring.DefaultOptions()
	opts.BadActorMinScore = cfg.BadActorMinScore
	opts.FeedPoints = cfg.FeedPoints
	scorer, err := scoring.New(opts)
	if err != nil {
		return nil, fmt.Errorf("scoring settings: %w", err)
	}
	p.scorer = scorer

	if p.catalog, err = ports.Load(cfg.DataDir); err != nil {
		return nil, err
	}

	local, err := p.openLocal(ctx, c)
	if err != nil {
		p.Close()
		return nil, err
	}

	st, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, RedisURL: cfg.RedisURL, Logger: c.log})
	if err != nil {
		if !storeOptional {
			p.Close()
			return nil, err
		}
		c.log.Warn("store unavailable: no provider lookups this run, local intelligence only", "err", err)
	}
	p.store = st

	if st != nil {
		p.engine, err = enrich.New(enrich.Options{
			Providers:   enrich.ProvidersFromConfig(cfg),
			Store:       st,
			Classifier:  p.classifier,
			Limits:      enrich.LimitsFromConfig(cfg),
			Concurrency: cfg.Concurrency,
			Now:         c.env.Now,
			Logger:      c.log,
			Registerer:  reg,
			Local:       local,
		})
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("enrichment settings: %w", err)
		}
	}
	return p, nil
}

// openLocal opens the MaxMind-format databases and loads the feeds. A feed
// that cannot be fetched is logged and skipped; a bad database path or feed
// definition is an error.
func (p *pipeline) openLocal(ctx context.Context, c *invocation) ([]enrich.LocalSource, error) {
	cfg := c.cfg
	var local []enrich.LocalSource

	if cfg.GeoIPASNDB != "" || cfg.GeoIPCountryDB != "" {
		r, err := geoip.Open(geoip.Options{ASNPath: cfg.GeoIPASNDB, CountryPath: cfg.GeoIPCountryDB})
		if err != nil {
			return nil, err
		}
		p.geoip = r
		local = append(local, enrich.FromGeoIP(r))
	}

	if cfg.Feeds != "" {
		spec, err := feedSpec(cfg.Feeds)
		if err != nil {
			return nil, err
		}
		configs, err := feeds.ParseConfig(spec)
		if err != nil {
			return nil, fmt.Errorf("invalid FEEDS: %w", err)
		}
		m, err := feeds.New(configs, feeds.Options{Logger: c.log, Now: c.env.Now})
		if err != nil {
			return nil, fmt.Errorf("invalid FEEDS: %w", err)
		}
		if err := m.Refresh(ctx); err != nil {
			c.log.Warn("some feeds could not be loaded; using the others", "err", err)
		}
		p.feeds = m
		local = append(local, enrich.FromFeeds(m))
	}
	return local, nil
}

// feedSpec returns the FEEDS value, read from a file when it is "@PATH".
func feedSpec(v string) (string, error) {
	path, ok := strings.CutPrefix(strings.TrimSpace(v), "@")
	if !ok {
		return v, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the FEEDS file: %w", err)
	}
	return string(data), nil
}

// Close releases the store and the databases.
func (p *pipeline) Close() error {
	var errs []error
	if p.store != nil {
		errs = append(errs, p.store.Close())
	}
	if p.geoip != nil {
		errs = append(errs, p.geoip.Close())
	}
	return errors.Join(errs...)
}
