package api

import (
	"net/http"
	"time"
)

// Limits of the server that Server returns.
const (
	// ReadHeaderTimeout bounds the time a client may take to send its
	// request headers, so slow clients cannot hold connections open.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading a whole request. Every route is GET or
	// HEAD, so there is no request body to wait for.
	ReadTimeout = 10 * time.Second
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the response. With the default row counts a report body is
	// an estimated 100 KiB, so 30 s leaves room for slow links.
	WriteTimeout = 30 * time.Second
	// IdleTimeout closes keep-alive connections that send nothing.
	IdleTimeout = 120 * time.Second
	// MaxHeaderBytes caps the request headers. Larger requests get 431.
	MaxHeaderBytes = 64 << 10
	// ShutdownTimeout is how long the caller should let Shutdown wait for
	// requests in flight before closing the connections.
	ShutdownTimeout = 10 * time.Second
)

// Server returns an HTTP server for h on addr with the limits above. The
// caller starts it, and on SIGTERM calls Shutdown with a context bounded by
// ShutdownTimeout. Its ErrorLog is nil, so net/http logs connection-level
// errors (TLS handshakes, panics in handlers) through the log package unless
// the caller sets one.
func Server(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}
