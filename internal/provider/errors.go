// Package provider holds what the threat-intelligence clients share: the
// typed errors they return, the HTTP plumbing that sends a request and reads a
// bounded response, quota and retry-time parsing, and secret redaction.
//
// The clients in the subpackages neither retry nor pace themselves. The
// enrichment engine wraps them with token buckets, retry policy, budgets and
// caching, and uses [Retryable], [RateLimitedError] and [Quota] to decide.
package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/threat-intel/threat-intel/internal/intel"
)

// Sentinel errors. Match them with errors.Is: the typed errors below report
// the matching sentinel from their Is method.
var (
	// ErrRateLimited matches a *RateLimitedError (HTTP 429).
	ErrRateLimited = errors.New("rate limited")
	// ErrUnauthorized matches an *HTTPError with status 401 or 403: the key is
	// missing, wrong or revoked, so retrying with the same key cannot help.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrNotFound matches an *HTTPError with status 404, and the clients
	// return it for a response that means "no data for this address".
	ErrNotFound = errors.New("not found")
	// ErrInvalidRequest matches an *HTTPError with status 400 or 422, and an
	// address that cannot be sent at all.
	ErrInvalidRequest = errors.New("invalid request")
	// ErrMalformedResponse is returned for a body that does not have the
	// documented shape.
	ErrMalformedResponse = errors.New("malformed response")
	// ErrResponseTooLarge is returned when a success body exceeds the client's
	// size limit. The rest of the body is not read.
	ErrResponseTooLarge = errors.New("response too large")
	// ErrNoKey is returned, without any request being sent, by a client whose
	// provider needs a key and has none.
	ErrNoKey = errors.New("no API key configured")
)

// HTTPError is the error for a non-2xx response other than 429.
type HTTPError struct {
	Provider intel.Provider
	Status   int
	// Message is the provider's own error text from the body, with secrets
	// removed, or "" when the body had none.
	Message string
	// Body is the start of the response body (at most MaxErrorSnippetBytes),
	// with secrets removed.
	Body string
}

func (e *HTTPError) Error() string {
	text := e.Message
	if text == "" {
		text = snippet(e.Body, 200)
	}
	status := fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
	if text == "" {
		return status
	}
	return status + ": " + text
}

// Is reports whether the status maps to target: 401 and 403 to
// ErrUnauthorized, 404 to ErrNotFound, 400 and 422 to ErrInvalidRequest.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrInvalidRequest:
		return e.Status == http.StatusBadRequest || e.Status == http.StatusUnprocessableEntity
	}
	return false
}

// RateLimitedError is the error for an HTTP 429 response. The caller must
// not call the provider again before RetryAt.
type RateLimitedError struct {
	Provider intel.Provider
	// RetryAt is the earliest time to call again. It comes from Retry-After,
	// else from a future X-RateLimit-Reset, else it is now plus
	// DefaultRateLimitPause and RetryAtEstimated is true.
	RetryAt          time.Time
	RetryAtEstimated bool
	// Quota contains the X-RateLimit-* values of the response, where present.
	Quota Quota
	// Message is the provider's own error text, with secrets removed.
	Message string
}

func (e *RateLimitedError) Error() string {
	var b strings.Builder
	b.WriteString("rate limited")
	if !e.RetryAt.IsZero() {
		b.WriteString(" until ")
		b.WriteString(e.RetryAt.UTC().Format(time.RFC3339))
		if e.RetryAtEstimated {
			b.WriteString(" (estimated, the response named no retry time)")
		}
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Is reports whether target is ErrRateLimited.
func (e *RateLimitedError) Is(target error) bool { return target == ErrRateLimited }

// Retryable reports whether the same request may succeed if sent again soon:
// 5xx and 408 responses, timeouts, refused or reset connections and truncated
// bodies. A 4xx response, a rate limit (wait for RetryAt instead), a malformed
// or oversized body, a cancelled context and ErrNoKey are not retryable.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}

	var rateLimited *RateLimitedError
	if errors.As(err, &rateLimited) {
		return false
	}
	var httpErr *HTTPError
	if errors.As(err, &httpErr) {
		return httpErr.Status >= 500 || httpErr.Status == http.StatusRequestTimeout
	}
	if errors.Is(err, ErrMalformedResponse) || errors.Is(err, ErrResponseTooLarge) ||
		errors.Is(err, ErrInvalidRequest) || errors.Is(err, ErrNoKey) {
		return false
	}

	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	var opErr *net.OpError
	return errors.As(err, &opErr)
}

// redactedError carries the redacted text of err. It matches what err
// matches through errors.Is and errors.As, but has no Unwrap method, so the
// unredacted text of err cannot be reached by unwrapping.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string        { return e.text }
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
func (e *redactedError) As(target any) bool   { return errors.As(e.err, target) }

// snippet returns s with runs of white space collapsed, cut to max bytes.
func snippet(s string, max int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= max {
		return s
	}
	for max > 0 && !utf8.RuneStart(s[max]) {
		max--
	}
	return s[:max] + "…"
}
