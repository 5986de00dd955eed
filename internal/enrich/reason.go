package enrich

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"syscall"

	"github.com/threat-intel/threat-intel/internal/provider"
)

// failureReason returns the short cause shown in a "failed: …" status. It
// is one of a few fixed texts, or "HTTP <status>", so that it never quotes
// a provider's body, an address or a URL.
func failureReason(err error) string {
	var httpErr *provider.HTTPError
	switch {
	case isTimeout(err):
		return "timeout"
	case errors.As(err, &httpErr):
		return "HTTP " + strconv.Itoa(httpErr.Status)
	case errors.Is(err, provider.ErrMalformedResponse):
		return "malformed response"
	case errors.Is(err, provider.ErrResponseTooLarge):
		return "response too large"
	case errors.Is(err, provider.ErrInvalidRequest):
		return "invalid request"
	case errors.Is(err, provider.ErrNoKey):
		return "no key"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "connection reset"
	case errors.Is(err, context.Canceled):
		return "cancelled"
	}
	return "request error"
}

// isTimeout reports whether err is a request that ran out of time.
func isTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var netErr net.Error
	return errors.As(err, &netErr) && netErr.Timeout()
}
