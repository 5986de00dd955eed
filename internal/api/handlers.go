package api

import (
	"fmt"
	"net/http"
	"strings"
)

func handleUnknown(w http.ResponseWriter, r *http.Request) error {
	return &statusError{
		status: http.StatusNotFound,
		msg:    fmt.Sprintf("no route %q: /api/openapi.json lists the routes", echo(r.URL.Path)),
	}
}

// serveBody returns the handler of a report-derived route.
func (a *API) serveBody(id bodyID) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		a.snap.Load().bodies[id].write(w, r)
		return nil
	}
}

func (a *API) handleOpenAPI(w http.ResponseWriter, r *http.Request) error {
	a.openAPI.write(w, r)
	return nil
}

func (a *API) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	if a.opts.Metrics == nil {
		return &statusError{status: http.StatusNotFound, msg: "metrics are not enabled in this process"}
	}
	a.opts.Metrics.ServeHTTP(w, r)
	return nil
}

func (a *API) handleSources(w http.ResponseWriter, r *http.Request) error {
	var rows []SourceRow
	if a.opts.Sources != nil {
		rows = a.opts.Sources()
	}
	return a.writeJSON(w, r, nonNil(rows))
}

// handleBlocklist serves the blocklist built by the Blocklist hook. The
// family query parameter accepts 4, ipv4, inet, 6, ipv6, inet6, or nothing
// (or "all") for both families.
func (a *API) handleBlocklist(w http.ResponseWriter, r *http.Request) error {
	if a.opts.Blocklist == nil {
		return &statusError{status: http.StatusNotFound, msg: "the blocklist is not enabled in this process"}
	}

	family, err := parseFamily(r.URL.Query().Get("family"))
	if err != nil {
		return err
	}
	data, err := a.opts.Blocklist(family)
	if err != nil {
		return &statusError{
			status: http.StatusInternalServerError,
			msg:    "building the blocklist failed",
			err:    fmt.Errorf("building the blocklist for family %q: %w", family, err),
		}
	}
	newBody(http.StatusOK, contentTypeText, data).write(w, r)
	return nil
}

func parseFamily(s string) (string, error) {
	switch strings.ToLower(s) {
	case "", "all":
		return "", nil
	case "4", "ipv4", "inet":
		return "4", nil
	case "6", "ipv6", "inet6":
		return "6", nil
	}
	return "", &statusError{
		status: http.StatusBadRequest,
		msg:    fmt.Sprintf("invalid family %q: want 4, 6, or no family for both", echo(s)),
	}
}
