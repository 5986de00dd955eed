// Package api serves the report over HTTP: the report itself, the flat
// arrays that Grafana's Infinity data source reads, one address's intel,
// the service's health, the blocklist and an OpenAPI document.
//
// Every report-derived body is encoded once, when a report is published,
// into an immutable snapshot. Handlers only pick the bytes of the current
// snapshot and write them, so serving costs about as much as a bare
// net/http handler. No route writes state or makes the service contact
// another host.
package api

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/netip"
	"sync/atomic"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
)

// Options configures an API. Every callback may be nil.
type Options struct {
	// Logger receives the cause of every failed request. Nil discards.
	Logger *slog.Logger

	// Token is the API_TOKEN. When set, every route except /health and
	// /metrics requires the header "Authorization: Bearer TOKEN".
	Token string

	// Health returns the service's state for /health. The API fills
	// report_available, generated_at and stale from the published report
	// itself. Nil reports "starting" until the first report and then "ok",
	// or "degraded" while the report is stale.
	Health func() Health

	// Metrics serves /metrics. Nil makes /metrics return 404.
	Metrics http.Handler

	// LookupCached returns the cached intel of an address that is not in the
	// current report. It must read the cache only: no provider call and no
	// write. The boolean is false when nothing is cached. Nil makes such
	// addresses 404.
	LookupCached func(ctx context.Context, addr netip.Addr) (intel.Intel, bool, error)

	// Sources returns the rows of /api/infinity/sources. Nil serves [].
	Sources func() []SourceRow

	// Blocklist returns the body of /api/blocklist.txt for the family "4",
	// "6" or "" (both). The API validates the family query parameter before
	// the call. Nil makes the route return 404.
	Blocklist func(family string) ([]byte, error)

	// Classifier decides which addresses /api/ip/{ip} treats as internal,
	// so it returns a fixed record for them without any lookup. Nil knows
	// no own prefixes.
	Classifier *netclass.Classifier
}

// API is the HTTP API. It is safe for concurrent use: Publish may run while
// requests are served.
type API struct {
	opts    Options
	log     *slog.Logger
	snap    atomic.Pointer[snapshot]
	openAPI *body
	handler http.Handler

	// tokenHash is the SHA-256 of Options.Token, compared in constant time
	// with the hash of the presented token so the length does not leak.
	tokenHash [sha256.Size]byte
}

// New returns an API that serves the before-first-report bodies until the
// first Publish.
func New(opts Options) *API {
	a := &API{opts: opts, log: opts.Logger}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.opts.Classifier == nil {
		a.opts.Classifier = netclass.New(nil)
	}
	if opts.Token != "" {
		a.tokenHash = sha256.Sum256([]byte(opts.Token))
	}
	a.openAPI = newBody(http.StatusOK, contentTypeJSON, openAPIDocument)
	a.snap.Store(emptySnapshot())
	a.handler = a.routes()
	return a
}

// Handler returns the handler of every route.
func (a *API) Handler() http.Handler { return a.handler }

// Publish encodes every report-derived body of r and makes them the ones
// served. On an error, which only a NaN or infinite score can cause, the
// previous report stays in place.
func (a *API) Publish(r report.Report) error {
	s, err := buildSnapshot(r, a.opts.Classifier)
	if err != nil {
		return err
	}
	a.snap.Store(s)
	return nil
}
