// Package service assembles threat-intel from its configuration: the
// pipeline every command shares (store, enrichment, local intelligence,
// scoring, ports) and the long-running service with its event source,
// scheduler, HTTP API and metrics.
package service

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/threat-intel/threat-intel/internal/config"
	"github.com/threat-intel/threat-intel/internal/enrich"
	"github.com/threat-intel/threat-intel/internal/feeds"
	"github.com/threat-intel/threat-intel/internal/geoip"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/ports"
	"github.com/threat-intel/threat-intel/internal/scoring"
	"github.com/threat-intel/threat-intel/internal/store"
)

// Pipeline holds what every command that scores addresses shares: the
// store, the enrichment engine with its local sources, the scorer and the
// port catalog.
type Pipeline struct {
	Classifier *netclass.Classifier
	Store      store.Store    // nil when it could not be opened and that was allowed
	Engine     *enrich.Engine // nil exactly when Store is nil
	GeoIP      *geoip.Reader  // nil when no database is configured
	Feeds      *feeds.Manager // nil when no feed is configured
	Scorer     *scoring.Scorer
	Catalog    *ports.Catalog
}

// PipelineOptions configures OpenPipeline.
type PipelineOptions struct {
	Config *config.Config
	Logger *slog.Logger
	Now    func() time.Time // nil means time.Now
	// Registerer receives the provider metrics.
	Registerer prometheus.Registerer
	// StoreOptional, when true, logs a store that cannot be opened and
	// leaves the providers out instead of failing.
	StoreOptional bool
}

// OpenPipeline builds the pipeline from the configuration.
func OpenPipeline(ctx context.Context, o PipelineOptions) (*Pipeline, error) {
	cfg := o.Config
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p := &Pipeline{Classifier: netclass.New(cfg.OwnPrefixes)}

	opts := scoring.DefaultOptions()
	opts.BadActorMinScore = cfg.BadActorMinScore
	opts.FeedPoints = cfg.FeedPoints
	scorer, err := scoring.New(opts)
	if err != nil {
		return nil, fmt.Errorf("scoring settings: %w", err)
	}
	p.Scorer = scorer

	if p.Catalog, err = ports.Load(cfg.DataDir); err != nil {
		return nil, err
	}

	local, err := p.openLocal(ctx, o)
	if err != nil {
		p.Close()
		return nil, err
	}

	st, err := store.Open(ctx, store.Options{DataDir: cfg.DataDir, RedisURL: cfg.RedisURL, Logger: o.Logger})
	if err != nil {
		if !o.StoreOptional {
			p.Close()
			return nil, err
		}
		o.Logger.Warn("store unavailable: no provider lookups this run, local intelligence only", "err", err)
	}
	p.Store = st

	if st != nil {
		p.Engine, err = enrich.New(enrich.Options{
			Providers:   enrich.ProvidersFromConfig(cfg),
			Store:       st,
			Classifier:  p.Classifier,
			Limits:      enrich.LimitsFromConfig(cfg),
			Concurrency: cfg.Concurrency,
			Now:         o.Now,
			Logger:      o.Logger,
			Registerer:  o.Registerer,
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
func (p *Pipeline) openLocal(ctx context.Context, o PipelineOptions) ([]enrich.LocalSource, error) {
	cfg := o.Config
	var local []enrich.LocalSource

	if cfg.GeoIPASNDB != "" || cfg.GeoIPCountryDB != "" {
		r, err := geoip.Open(geoip.Options{ASNPath: cfg.GeoIPASNDB, CountryPath: cfg.GeoIPCountryDB})
		if err != nil {
			return nil, err
		}
		p.GeoIP = r
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
		m, err := feeds.New(configs, feeds.Options{Logger: o.Logger, Now: o.Now})
		if err != nil {
			return nil, fmt.Errorf("invalid FEEDS: %w", err)
		}
		if err := m.Refresh(ctx); err != nil {
			o.Logger.Warn("some feeds could not be loaded; using the others", "err", err)
		}
		p.Feeds = m
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
func (p *Pipeline) Close() error {
	var errs []error
	if p.Store != nil {
		errs = append(errs, p.Store.Close())
	}
	if p.GeoIP != nil {
		errs = append(errs, p.GeoIP.Close())
	}
	return errors.Join(errs...)
}
