// Package providertest holds test helpers for the provider clients: the
// recorded API responses of the test corpus, httptest servers on 127.0.0.1
// that replay them and record requests, and a check that no secret leaks
// into an error. Only tests import it.
package providertest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"
)

// APIFile returns the bytes of corpus file api/name, unchanged.
func APIFile(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "api", name))
	if err != nil {
		t.Fatalf("reading corpus file: %v", err)
	}
	return data
}

// APIHeaders parses corpus file api/name, a status line followed by header
// lines, and returns the status code and the headers.
func APIHeaders(t testing.TB, name string) (int, http.Header) {
	t.Helper()
	text := string(APIFile(t, name))
	// The file ends after the last header, and a blank line ends the header
	// block.
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(text+"\r\n")), nil)
	if err != nil {
		t.Fatalf("parsing corpus header file %s: %v", name, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// Request is a request received by a Server.
type Request struct {
	Method string
	Path   string // decoded
	// EscapedPath is the path as sent on the wire.
	EscapedPath string
	RawQuery    string
	Header      http.Header
	Body        []byte
}

// Server is an httptest server on 127.0.0.1 that records every request
// before passing it to its handler.
type Server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
}

// NewServer starts a Server that is closed when the test ends.
func NewServer(t testing.TB, handler http.Handler) *Server {
	t.Helper()
	s := &Server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		s.mu.Lock()
		s.requests = append(s.requests, Request{
			Method:      r.Method,
			Path:        r.URL.Path,
			EscapedPath: r.URL.EscapedPath(),
			RawQuery:    r.URL.RawQuery,
			Header:      r.Header.Clone(),
			Body:        body,
		})
		s.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// OnlyRequest returns the single request received, failing the test when
// there were none or several.
func (s *Server) OnlyRequest(t testing.TB) Request {
	t.Helper()
	requests := s.Requests()
	if len(requests) != 1 {
		t.Fatalf("server received %d requests, want 1", len(requests))
	}
	return requests[0]
}

// Reply returns a handler that responds to every request with status, the
// given headers and body, written byte for byte.
func Reply(status int, header http.Header, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		for name, values := range header {
			w.Header()[name] = values
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		w.Write(body)
	})
}

// JSON returns the Content-Type header of a JSON response.
func JSON() http.Header { return http.Header{"Content-Type": {"application/json"}} }

// Stall returns a handler that sends nothing until the client gives up, so
// a client timeout can be tested without sleeping. It returns after
// maxStall at the latest, so a client that never gives up fails its test
// instead of blocking the server's Close.
func Stall() http.Handler {
	return http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(maxStall):
		}
	})
}

const maxStall = 30 * time.Second

// Oversized returns a handler that responds with 200 and a JSON body of size
// bytes, streamed from a small buffer so the server itself stays small. The
// body is a string value inside a field named field.
func Oversized(size int64, field string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		head := fmt.Sprintf(`{%q:"`, field)
		tail := `"}`
		if _, err := io.WriteString(w, head); err != nil {
			return
		}
		chunk := []byte(strings.Repeat("a", 32<<10))
		remaining := size - int64(len(head)+len(tail))
		for remaining > 0 {
			n := min(remaining, int64(len(chunk)))
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			remaining -= n
		}
		io.WriteString(w, tail)
	})
}

// ClosedURL returns an http URL on 127.0.0.1 where nothing listens.
func ClosedURL(t testing.TB) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening on 127.0.0.1: %v", err)
	}
	addr := listener.Addr().String()
	listener.Close()
	return "http://" + addr
}

// AssertNoSecret fails the test when any secret appears in the text of err
// or of any error it wraps.
func AssertNoSecret(t testing.TB, err error, secrets ...string) {
	t.Helper()
	for _, text := range errorTexts(err) {
		for _, secret := range secrets {
			if secret != "" && strings.Contains(text, secret) {
				t.Errorf("error text contains the secret %q: %s", secret, text)
			}
		}
	}
}

// errorTexts returns the texts of err and of every error in its tree, in
// the %v, %+v and %#v forms.
func errorTexts(err error) []string {
	var texts []string
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		texts = append(texts, e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e))
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, inner := range u.Unwrap() {
				walk(inner)
			}
		}
	}
	walk(err)
	return texts
}
