// Package enrich looks a set of addresses up with the threat-intelligence
// providers and returns one intel.Lookup per address.
//
// The engine adds what the provider clients leave out. It never sends an
// internal address, and it serves results from the cache. It paces each
// provider with a token bucket and stops calling a provider until its
// Retry-After time. It counts daily budgets in the store, failing closed,
// retries transient failures with jittered backoff, and disables a provider
// whose key is rejected. Every provider runs independently, so one slow or failing
// provider never delays the results of the others.
package enrich

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/store"
)

const (
	// DefaultMaxRateLimitWait is how long a lookup waits for a provider's
	// Retry-After time. A later retry time skips the provider instead, so a
	// daily quota that resets hours away never stalls a cycle.
	DefaultMaxRateLimitWait = 30 * time.Second

	// DefaultMaxAttempts, DefaultBaseDelay and DefaultMaxDelay are the retry
	// policy used where RetryPolicy leaves a field zero.
	DefaultMaxAttempts = 3
	DefaultBaseDelay   = 500 * time.Millisecond
	DefaultMaxDelay    = 5 * time.Second
)

// Limits are the pacing, budget and cache lifetimes of one provider.
type Limits struct {
	// RatePerMinute is the token bucket rate shared by all concurrent
	// lookups of the provider. 0 means no pacing. Set it somewhat below the
	// provider's own limit. Requests leave on the bucket's schedule, but the
	// first ones of a burst arrive late because they open connections. A
	// provider that enforces exactly this rate and burst then counts the
	// following requests as early.
	RatePerMinute float64
	// Burst is how many requests may be sent at once before the rate
	// applies. 0 means 1.
	Burst int
	// DailyBudget caps the requests sent per UTC day, counted in the store
	// so that the count survives restarts. Retries count too. 0 means no
	// budget is counted.
	DailyBudget int
	// CacheTTL is the lifetime of a cached result with data. It must be
	// positive.
	CacheTTL time.Duration
	// NotFoundTTL is the lifetime of a cached "not found" result. It must be
	// positive.
	NotFoundTTL time.Duration
}

// RetryPolicy sets how a request that failed with a transient error (a
// 5xx response, a timeout, a refused or reset connection) is retried. A zero
// field selects its default.
type RetryPolicy struct {
	// MaxAttempts bounds the requests sent for one lookup, the first one
	// included. Default DefaultMaxAttempts.
	MaxAttempts int
	// BaseDelay is the pause before the first retry. It doubles with each
	// further retry up to MaxDelay. Defaults DefaultBaseDelay and
	// DefaultMaxDelay.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// Jitter is the fraction of each pause, from 0 to 1, that is drawn at
	// random, so that lookups that failed together do not retry together.
	// 0 means no jitter.
	Jitter float64
}

// Options configures an Engine.
type Options struct {
	// Providers are asked in this order. Each name may appear once.
	Providers []Provider
	// Store keeps the cached results and the daily budgets. Required.
	Store store.Store
	// Classifier decides which addresses are internal and never sent out.
	// Nil classifies against the fixed special-purpose ranges only.
	Classifier *netclass.Classifier
	// Limits holds the limits of every provider in Providers.
	Limits map[intel.Provider]Limits
	Retry  RetryPolicy
	// Concurrency bounds the lookups in flight per provider. It must be at
	// least 1.
	Concurrency int
	// MaxRateLimitWait bounds the wait for a provider's Retry-After time.
	// 0 means DefaultMaxRateLimitWait.
	MaxRateLimitWait time.Duration
	// Now is the clock for calendar decisions: the UTC day a budget is
	// counted on, and when a result was fetched. Waits, backoff and token
	// buckets always run on the real clock. Nil means time.Now.
	Now func() time.Time
	// Logger receives retries, disabled providers, store faults and the
	// cycle summary. Nil discards them.
	Logger *slog.Logger
	// Registerer receives the provider metrics. Nil keeps them unregistered.
	Registerer prometheus.Registerer
	// Local sources fill their part of every public address's lookup after
	// the providers, whatever the providers answered.
	Local []LocalSource
}

// Engine enriches addresses. It is safe for concurrent use, and its
// provider state (token buckets, Retry-After blocks, disabled providers)
// lasts for the life of the process.
type Engine struct {
	providers        []*providerState
	store            store.Store
	classifier       *netclass.Classifier
	local            []LocalSource
	retry            RetryPolicy
	concurrency      int
	maxRateLimitWait time.Duration
	now              func() time.Time
	logger           *slog.Logger
	metrics          *metrics
}

// New returns an Engine for opts, or an error naming the first invalid
// option.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil {
		return nil, errors.New("enrich: no store: pass the store that keeps the cache and the budgets")
	}
	if opts.Concurrency < 1 {
		return nil, fmt.Errorf("enrich: invalid concurrency %d: must be at least 1", opts.Concurrency)
	}
	if opts.MaxRateLimitWait < 0 {
		return nil, fmt.Errorf("enrich: invalid maximum rate-limit wait %s: must be 0 or more", opts.MaxRateLimitWait)
	}
	retry, err := opts.Retry.withDefaults()
	if err != nil {
		return nil, err
	}

	e := &Engine{
		store:            opts.Store,
		classifier:       opts.Classifier,
		local:            opts.Local,
		retry:            retry,
		concurrency:      opts.Concurrency,
		maxRateLimitWait: opts.MaxRateLimitWait,
		now:              opts.Now,
		logger:           opts.Logger,
	}
	if e.maxRateLimitWait == 0 {
		e.maxRateLimitWait = DefaultMaxRateLimitWait
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}

	names := map[intel.Provider]bool{}
	for i, p := range opts.Providers {
		if p == nil {
			return nil, fmt.Errorf("enrich: provider %d is nil", i)
		}
		name := p.Name()
		if names[name] {
			return nil, fmt.Errorf("enrich: provider %q is given twice", name)
		}
		names[name] = true

		limits, ok := opts.Limits[name]
		if !ok {
			return nil, fmt.Errorf("enrich: no limits for provider %q: add an entry to Options.Limits", name)
		}
		if err := limits.validate(name); err != nil {
			return nil, err
		}
		e.providers = append(e.providers, newProviderState(p, limits))
	}

	registerer := opts.Registerer
	if registerer == nil {
		registerer = prometheus.NewRegistry()
	}
	e.metrics, err = newMetrics(registerer, e.providerNames())
	if err != nil {
		return nil, err
	}
	return e, nil
}

func (l Limits) validate(name intel.Provider) error {
	switch {
	case l.RatePerMinute < 0:
		return fmt.Errorf("enrich: invalid rate %g per minute for provider %q: must be 0 (no pacing) or more", l.RatePerMinute, name)
	case l.Burst < 0:
		return fmt.Errorf("enrich: invalid burst %d for provider %q: must be 0 or more", l.Burst, name)
	case l.DailyBudget < 0:
		return fmt.Errorf("enrich: invalid daily budget %d for provider %q: must be 0 (no budget) or more", l.DailyBudget, name)
	case l.CacheTTL <= 0:
		return fmt.Errorf("enrich: invalid cache TTL %s for provider %q: must be positive", l.CacheTTL, name)
	case l.NotFoundTTL <= 0:
		return fmt.Errorf("enrich: invalid not-found TTL %s for provider %q: must be positive", l.NotFoundTTL, name)
	}
	return nil
}

// limiter returns the token bucket for l: rate.Inf when RatePerMinute is 0.
func (l Limits) limiter() *rate.Limiter {
	burst := max(l.Burst, 1)
	if l.RatePerMinute == 0 {
		return rate.NewLimiter(rate.Inf, burst)
	}
	return rate.NewLimiter(rate.Limit(l.RatePerMinute/60), burst)
}

func (p RetryPolicy) withDefaults() (RetryPolicy, error) {
	switch {
	case p.MaxAttempts < 0:
		return p, fmt.Errorf("enrich: invalid retry attempts %d: must be 0 (default %d) or more", p.MaxAttempts, DefaultMaxAttempts)
	case p.BaseDelay < 0, p.MaxDelay < 0:
		return p, fmt.Errorf("enrich: invalid retry delays %s and %s: must be 0 (default) or more", p.BaseDelay, p.MaxDelay)
	case p.Jitter < 0 || p.Jitter > 1:
		return p, fmt.Errorf("enrich: invalid retry jitter %g: must be from 0 to 1", p.Jitter)
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
	}
	if p.BaseDelay == 0 {
		p.BaseDelay = DefaultBaseDelay
	}
	if p.MaxDelay == 0 {
		p.MaxDelay = max(DefaultMaxDelay, p.BaseDelay)
	}
	if p.MaxDelay < p.BaseDelay {
		return p, fmt.Errorf("enrich: invalid retry delays: the maximum %s is below the base %s", p.MaxDelay, p.BaseDelay)
	}
	return p, nil
}

func (e *Engine) providerNames() []intel.Provider {
	names := make([]intel.Provider, len(e.providers))
	for i, ps := range e.providers {
		names[i] = ps.name
	}
	return names
}
