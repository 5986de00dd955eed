package api

import (
	_ "embed"
	"fmt"
	"net/http"
	"strings"
)

// openAPIDocument describes every route. A test keeps it and Routes in step.
//
//go:embed openapi.json
var openAPIDocument []byte

// route is one path the API serves.
type route struct {
	pattern string
	// open routes skip the token check: health checks and Prometheus
	// scrapes come from tools that may not send one.
	open bool
	// queryToken routes also accept the token as the "token" query
	// parameter, for clients that cannot send headers: pfBlockerNG and
	// OPNsense URL tables fetch a plain URL.
	queryToken bool
	handle     handlerFunc
}

// allowedMethods is the Allow header of a 405: every route is read-only.
var allowedMethods = []string{"GET, HEAD"}

// Routes returns the path patterns the API serves, in the ServeMux syntax.
func (a *API) Routes() []string {
	var out []string
	for _, rt := range a.routeTable() {
		out = append(out, rt.pattern)
	}
	return out
}

func (a *API) routeTable() []route {
	return []route{
		{pattern: "/health", open: true, handle: a.handleHealth},
		{pattern: "/metrics", open: true, handle: a.handleMetrics},
		{pattern: "/api/report", handle: a.serveBody(bodyReport)},
		{pattern: "/api/report/blocked", handle: a.serveBody(bodyReportBlocked)},
		{pattern: "/api/report/outbound", handle: a.serveBody(bodyReportOutbound)},
		{pattern: "/api/infinity/summary", handle: a.serveBody(bodySummary)},
		{pattern: "/api/infinity/narrative", handle: a.serveBody(bodyNarrative)},
		{pattern: "/api/infinity/threats", handle: a.serveBody(bodyThreats)},
		{pattern: "/api/infinity/actions", handle: a.serveBody(bodyActions)},
		{pattern: "/api/infinity/blocked_ips", handle: a.serveBody(bodyBlockedIPs)},
		{pattern: "/api/infinity/outbound_all", handle: a.serveBody(bodyOutboundAll)},
		{pattern: "/api/infinity/outbound_suspicious", handle: a.serveBody(bodyOutboundSuspicious)},
		{pattern: "/api/infinity/ports", handle: a.serveBody(bodyPorts)},
		{pattern: "/api/infinity/critical_ports", handle: a.serveBody(bodyCriticalPorts)},
		{pattern: "/api/infinity/sources", handle: a.handleSources},
		{pattern: "/api/ip/{ip}", handle: a.handleIP},
		{pattern: "/api/blocklist.txt", queryToken: true, handle: a.handleBlocklist},
		{pattern: "/api/openapi.json", handle: a.handleOpenAPI},
	}
}

// routes builds the mux. Patterns carry no method, so that the wrapper,
// not the mux, rejects other methods with a JSON 405.
func (a *API) routes() http.Handler {
	mux := http.NewServeMux()
	exact := make(map[string]http.Handler)
	for _, rt := range a.routeTable() {
		h := a.wrap(rt)
		mux.Handle(rt.pattern, h)
		if !strings.Contains(rt.pattern, "{") {
			exact[rt.pattern] = h
		}
	}
	mux.Handle("/", a.wrap(route{pattern: "/", handle: handleUnknown}))
	return &router{exact: exact, mux: mux}
}

// router sends a request whose path is exactly a route without wildcards
// straight to its handler, which skips the ServeMux pattern search on the
// hot Infinity routes. Every other request, including those with unclean
// paths that ServeMux redirects, goes through the mux.
type router struct {
	exact map[string]http.Handler
	mux   *http.ServeMux
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := rt.exact[r.URL.Path]; ok && r.Method != http.MethodConnect {
		h.ServeHTTP(w, r)
		return
	}
	rt.mux.ServeHTTP(w, r)
}

// wrap adds the token check, the method check and the error writing to a
// route's handler.
func (a *API) wrap(rt route) http.Handler {
	checkToken := !rt.open && a.opts.Token != ""
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var err error
		switch {
		case checkToken && !a.authorized(r, rt.queryToken):
			err = a.unauthorized(r)
		case r.Method != http.MethodGet && r.Method != http.MethodHead:
			err = &statusError{
				status: http.StatusMethodNotAllowed,
				msg:    fmt.Sprintf("method %s not allowed: use GET or HEAD", r.Method),
				header: http.Header{"Allow": allowedMethods},
			}
		default:
			err = rt.handle(w, r)
		}
		if err != nil {
			a.writeError(w, r, err)
		}
	})
}
