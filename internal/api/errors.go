package api

import (
	"errors"
	"log/slog"
	"net/http"
)

// errorResponse is the body of every failed request.
type errorResponse struct {
	Error string `json:"error"`
}

// statusError is a failed request: the status, the message the client gets
// and, for server-side failures, the cause that is logged but not sent.
type statusError struct {
	status int
	msg    string
	err    error
	// header holds extra response headers, such as Allow on a 405.
	header http.Header
}

func (e *statusError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

func (e *statusError) Unwrap() error { return e.err }

// handlerFunc is a route handler. It returns an error instead of writing
// one, so that one wrapper sends and logs every error the same way.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// writeError sends err as a JSON error and logs it: at Error level for a
// server-side failure, at Debug level for a bad request, which is the
// client's to fix. An error that is not a *statusError is a 500 whose cause
// stays in the log.
func (a *API) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var se *statusError
	if !errors.As(err, &se) {
		se = &statusError{status: http.StatusInternalServerError, msg: "internal server error", err: err}
	}

	level := slog.LevelDebug
	if se.status >= http.StatusInternalServerError {
		level = slog.LevelError
	}
	a.log.Log(r.Context(), level, "request failed",
		"method", r.Method, "path", r.URL.Path, "status", se.status, "err", err)

	for k, v := range se.header {
		w.Header()[k] = v
	}
	b, encErr := jsonBody(se.status, errorResponse{Error: se.msg})
	if encErr != nil {
		// Only a string is encoded, so this branch guards against a future
		// field that cannot be.
		http.Error(w, se.msg, se.status)
		return
	}
	b.write(w, r)
}

// writeJSON encodes v per request, for bodies that are not in the snapshot.
func (a *API) writeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := jsonBody(http.StatusOK, v)
	if err != nil {
		return err
	}
	b.write(w, r)
	return nil
}

// maxEchoedInput caps how much of a client's input an error message repeats.
const maxEchoedInput = 64

// echo returns s cut to maxEchoedInput bytes, for quoting client input in
// an error message.
func echo(s string) string {
	if len(s) > maxEchoedInput {
		return s[:maxEchoedInput] + "…"
	}
	return s
}
