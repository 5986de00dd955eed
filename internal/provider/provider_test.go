package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
	"github.com/threat-intel/threat-intel/internal/version"
)

const testSecret = "s3cret/key+value=1"

func TestRetryAt(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name          string
		header        http.Header
		want          time.Time
		wantEstimated bool
	}{
		{name: "seconds", header: http.Header{"Retry-After": {"29241"}}, want: now.Add(29241 * time.Second)},
		{name: "zero seconds", header: http.Header{"Retry-After": {"0"}}, want: now},
		{name: "http date", header: http.Header{"Retry-After": {"Sun, 01 Mar 2026 12:30:00 GMT"}}, want: now.Add(30 * time.Minute)},
		{name: "http date in the past", header: http.Header{"Retry-After": {"Sun, 01 Mar 2026 11:00:00 GMT"}}, want: now},
		{name: "huge seconds clamped", header: http.Header{"Retry-After": {"99999999999999999"}}, want: now.Add(MaxRetryAfter)},
		{name: "far date clamped", header: http.Header{"Retry-After": {"Fri, 01 Jan 2100 00:00:00 GMT"}}, want: now.Add(MaxRetryAfter)},
		{
			name:   "retry-after wins over reset",
			header: http.Header{"Retry-After": {"60"}, "X-Ratelimit-Reset": {fmt.Sprint(now.Add(time.Hour).Unix())}},
			want:   now.Add(time.Minute),
		},
		{name: "future reset", header: http.Header{"X-Ratelimit-Reset": {fmt.Sprint(now.Add(2 * time.Hour).Unix())}}, want: now.Add(2 * time.Hour)},
		{name: "past reset ignored", header: http.Header{"X-Ratelimit-Reset": {"1545973200"}}, want: now.Add(DefaultRateLimitPause), wantEstimated: true},
		{name: "negative seconds ignored", header: http.Header{"Retry-After": {"-5"}}, want: now.Add(DefaultRateLimitPause), wantEstimated: true},
		{name: "garbage ignored", header: http.Header{"Retry-After": {"soon"}}, want: now.Add(DefaultRateLimitPause), wantEstimated: true},
		{name: "no headers", header: http.Header{}, want: now.Add(DefaultRateLimitPause), wantEstimated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, estimated := RetryAt(tt.header, now)
			if !got.Equal(tt.want) {
				t.Errorf("RetryAt = %v, want %v", got, tt.want)
			}
			if estimated != tt.wantEstimated {
				t.Errorf("estimated = %v, want %v", estimated, tt.wantEstimated)
			}
		})
	}
}

func TestParseQuota(t *testing.T) {
	tests := []struct {
		name   string
		header http.Header
		want   Quota
	}{
		{name: "none", header: http.Header{}, want: Quota{}},
		{
			name:   "all three",
			header: http.Header{"X-Ratelimit-Limit": {"1000"}, "X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {"1545973200"}},
			want:   Quota{Limit: 1000, HasLimit: true, Remaining: 0, HasRemaining: true, Reset: time.Unix(1545973200, 0).UTC()},
		},
		{name: "remaining only", header: http.Header{"X-Ratelimit-Remaining": {" 42 "}}, want: Quota{Remaining: 42, HasRemaining: true}},
		{name: "invalid values", header: http.Header{"X-Ratelimit-Limit": {"lots"}, "X-Ratelimit-Remaining": {"-1"}, "X-Ratelimit-Reset": {"x"}}, want: Quota{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseQuota(tt.header)
			if got != tt.want {
				t.Errorf("ParseQuota = %+v, want %+v", got, tt.want)
			}
			if got.Known() != (tt.want != Quota{}) {
				t.Errorf("Known = %v for %+v", got.Known(), got)
			}
		})
	}
}

func TestRedactor(t *testing.T) {
	redactor := NewRedactor(testSecret, "")
	tests := []struct {
		name string
		in   string
		want string
	}{
		{name: "plain secret", in: "bad key " + testSecret, want: "bad key REDACTED"},
		{name: "query-escaped secret", in: "token=" + url.QueryEscape(testSecret), want: "token=REDACTED"},
		{name: "path-escaped secret", in: "/x/" + url.PathEscape(testSecret) + "/y", want: "/x/REDACTED/y"},
		{name: "unknown token in query", in: `Get "https://api.ipinfo.io/lite/192.0.2.1?token=abc123&x=1": EOF`, want: `Get "https://api.ipinfo.io/lite/192.0.2.1?token=REDACTED&x=1": EOF`},
		{name: "key parameter any case", in: "https://h/p?a=1&API_KEY=zzz", want: "https://h/p?a=1&API_KEY=REDACTED"},
		{name: "no secret", in: "HTTP 503", want: "HTTP 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := redactor.String(tt.in); got != tt.want {
				t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}

	u, err := url.Parse("https://user:pass@example.net/p?token=abc")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := redactor.URL(u), "https://user:xxxxx@example.net/p?token=REDACTED"; got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
}

func TestRedactorErrorKeepsMatching(t *testing.T) {
	redactor := NewRedactor(testSecret)
	inner := &HTTPError{Status: 401, Message: "ok"}
	err := redactor.Error(fmt.Errorf("key %s: %w", testSecret, inner))

	if strings.Contains(err.Error(), testSecret) {
		t.Errorf("Error() = %q contains the secret", err.Error())
	}
	if !errors.Is(err, ErrUnauthorized) {
		t.Error("errors.Is(err, ErrUnauthorized) = false after redaction")
	}
	var httpErr *HTTPError
	if !errors.As(err, &httpErr) || httpErr != inner {
		t.Error("errors.As did not reach the *HTTPError after redaction")
	}
	if errors.Unwrap(err) != nil {
		t.Error("redacted error unwraps to the unredacted one")
	}
	providertest.AssertNoSecret(t, err, testSecret)
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{name: "nil", err: nil, want: false},
		{name: "503", err: &HTTPError{Status: 503}, want: true},
		{name: "500 wrapped", err: fmt.Errorf("x: %w", &HTTPError{Status: 500}), want: true},
		{name: "408", err: &HTTPError{Status: 408}, want: true},
		{name: "400", err: &HTTPError{Status: 400}, want: false},
		{name: "401", err: &HTTPError{Status: 401}, want: false},
		{name: "404", err: &HTTPError{Status: 404}, want: false},
		{name: "422", err: &HTTPError{Status: 422}, want: false},
		{name: "429", err: &RateLimitedError{}, want: false},
		{name: "malformed", err: fmt.Errorf("%w: eof", ErrMalformedResponse), want: false},
		{name: "too large", err: ErrResponseTooLarge, want: false},
		{name: "no key", err: ErrNoKey, want: false},
		{name: "deadline", err: fmt.Errorf("x: %w", context.DeadlineExceeded), want: true},
		{name: "cancelled", err: &url.Error{Op: "Get", URL: "u", Err: context.Canceled}, want: false},
		{name: "refused", err: &url.Error{Op: "Get", URL: "u", Err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, want: true},
		{name: "reset", err: syscall.ECONNRESET, want: true},
		{name: "unexpected eof", err: fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), want: true},
		{name: "dns not found", err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}, want: false},
		{name: "dns temporary", err: &net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, want: true},
		{name: "plain error", err: errors.New("x509: certificate signed by unknown authority"), want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Retryable(tt.err); got != tt.want {
				t.Errorf("Retryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

func TestHTTPErrorIs(t *testing.T) {
	tests := []struct {
		status int
		target error
		want   bool
	}{
		{401, ErrUnauthorized, true},
		{403, ErrUnauthorized, true},
		{404, ErrNotFound, true},
		{400, ErrInvalidRequest, true},
		{422, ErrInvalidRequest, true},
		{500, ErrUnauthorized, false},
		{404, ErrRateLimited, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d %v", tt.status, tt.target), func(t *testing.T) {
			if got := errors.Is(&HTTPError{Status: tt.status}, tt.target); got != tt.want {
				t.Errorf("errors.Is = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "http with message", err: &HTTPError{Status: 422, Message: "bad age"}, want: "HTTP 422 Unprocessable Entity: bad age"},
		{name: "http with body only", err: &HTTPError{Status: 502, Body: "<html>\n  bad   gateway\n</html>"}, want: "HTTP 502 Bad Gateway: <html> bad gateway </html>"},
		{name: "http bare", err: &HTTPError{Status: 500}, want: "HTTP 500 Internal Server Error"},
		{
			name: "rate limited",
			err:  &RateLimitedError{RetryAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), Message: "slow down"},
			want: "rate limited until 2026-03-01T12:00:00Z: slow down",
		},
		{
			name: "rate limited estimated",
			err:  &RateLimitedError{RetryAt: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), RetryAtEstimated: true},
			want: "rate limited until 2026-03-01T12:00:00Z (estimated, the response named no retry time)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSnippetCutsOnRuneBoundary(t *testing.T) {
	got := snippet(strings.Repeat("é", 10), 5)
	if got != "éé…" {
		t.Errorf("snippet = %q, want %q", got, "éé…")
	}
}

func TestAddrString(t *testing.T) {
	tests := []struct {
		in   netip.Addr
		want string
	}{
		{netip.MustParseAddr("192.0.2.1"), "192.0.2.1"},
		{netip.MustParseAddr("::ffff:192.0.2.1"), "192.0.2.1"},
		{netip.MustParseAddr("2001:db8::1%eth0"), "2001:db8::1"},
	}
	for _, tt := range tests {
		got, err := AddrString(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("AddrString(%v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := AddrString(netip.Addr{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("AddrString(zero) error = %v, want ErrInvalidRequest", err)
	}
}

func newTestClient(t *testing.T, baseURL string, cfg Config) *Client {
	t.Helper()
	cfg.Provider = intel.OTX
	cfg.BaseURL = baseURL
	cfg.Secrets = []string{testSecret}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	return NewClient(cfg)
}

func TestDoRequest(t *testing.T) {
	server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), []byte(`{}`)))
	client := newTestClient(t, server.URL+"/prefix/", Config{})

	resp, err := client.Do(context.Background(), Request{
		Method: http.MethodPost,
		Path:   []string{"batch", "a/b c"},
		Query:  url.Values{"token": {testSecret}},
		Header: http.Header{"X-Custom": {"1"}},
		Body:   []byte(`["192.0.2.1"]`),
	})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if !resp.OK() || string(resp.Body) != "{}" {
		t.Errorf("response = %d %q, want 200 {}", resp.Status, resp.Body)
	}

	req := server.OnlyRequest(t)
	if req.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", req.Method)
	}
	if req.EscapedPath != "/prefix/batch/a%2Fb%20c" {
		t.Errorf("path = %q, want the prefix kept and the segment escaped", req.EscapedPath)
	}
	if got := parseQuery(t, req.RawQuery).Get("token"); got != testSecret {
		t.Errorf("token = %q, want %q", got, testSecret)
	}
	if got := req.Header.Get("X-Custom"); got != "1" {
		t.Errorf("X-Custom = %q, want 1", got)
	}
	if got := req.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", got)
	}
	if got := req.Header.Get("User-Agent"); got != version.UserAgent() {
		t.Errorf("User-Agent = %q, want %q", got, version.UserAgent())
	}
	if got := string(req.Body); got != `["192.0.2.1"]` {
		t.Errorf("body = %q", got)
	}
}

func TestDoPathEscape(t *testing.T) {
	server := providertest.NewServer(t, providertest.Reply(200, nil, nil))
	client := newTestClient(t, server.URL, Config{})

	if _, err := client.Do(context.Background(), Request{Path: []string{"x", "a/b"}}); err != nil {
		t.Fatalf("Do: %v", err)
	}
	// The slash inside the segment must be sent escaped, so that it does not
	// add a path level.
	req := server.OnlyRequest(t)
	if req.EscapedPath != "/x/a%2Fb" {
		t.Errorf("path = %q, want /x/a%%2Fb", req.EscapedPath)
	}
}

func TestDoSuccessBodyLimit(t *testing.T) {
	tests := []struct {
		name    string
		handler http.Handler
	}{
		{name: "endless stream", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := []byte(strings.Repeat("a", 4096))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		})},
		{name: "content-length over limit", handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "4096")
			w.Write([]byte(strings.Repeat("a", 4096)))
		})},
		{name: "one byte over", handler: providertest.Oversized(1025, "a")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := providertest.NewServer(t, tt.handler)
			client := newTestClient(t, server.URL, Config{MaxBodyBytes: 1024})

			_, err := client.Do(context.Background(), Request{})
			if !errors.Is(err, ErrResponseTooLarge) {
				t.Fatalf("error = %v, want ErrResponseTooLarge", err)
			}
			if Retryable(err) {
				t.Error("Retryable = true for an oversized body")
			}
		})
	}
}

func TestDoBodyAtLimit(t *testing.T) {
	server := providertest.NewServer(t, providertest.Oversized(1024, "a"))
	client := newTestClient(t, server.URL, Config{MaxBodyBytes: 1024})

	resp, err := client.Do(context.Background(), Request{})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if len(resp.Body) != 1024 {
		t.Errorf("body length = %d, want 1024", len(resp.Body))
	}
}

func TestDoErrorBodyCut(t *testing.T) {
	// A 3 MiB error body with the secret across the 1 KiB snippet boundary.
	prefix := strings.Repeat("x", MaxErrorSnippetBytes-5)
	body := prefix + testSecret + strings.Repeat("y", 3<<20)
	server := providertest.NewServer(t, providertest.Reply(500, nil, []byte(body)))
	client := newTestClient(t, server.URL, Config{})

	resp, err := client.Do(context.Background(), Request{})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if len(resp.Body) != MaxErrorBodyBytes {
		t.Errorf("error body length = %d, want it cut at %d", len(resp.Body), MaxErrorBodyBytes)
	}

	statusErr := client.StatusError(resp, "")
	var httpErr *HTTPError
	if !errors.As(statusErr, &httpErr) {
		t.Fatalf("StatusError = %v, want *HTTPError", statusErr)
	}
	if len(httpErr.Body) > MaxErrorSnippetBytes {
		t.Errorf("snippet length = %d, want at most %d", len(httpErr.Body), MaxErrorSnippetBytes)
	}
	for _, part := range []string{testSecret[:5], testSecret[:8]} {
		if strings.HasSuffix(httpErr.Body, part) {
			t.Errorf("snippet ends in a prefix of the secret: …%q", httpErr.Body[len(httpErr.Body)-20:])
		}
	}
	providertest.AssertNoSecret(t, statusErr, testSecret)
}

func TestDoNeverFollowsRedirects(t *testing.T) {
	target := providertest.NewServer(t, providertest.Reply(200, nil, []byte(`{}`)))
	origin := providertest.NewServer(t, http.RedirectHandler(target.URL+"/elsewhere?token="+url.QueryEscape(testSecret), http.StatusMovedPermanently))

	// Even a caller's client that follows redirects must not be used as is.
	follower := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	client := newTestClient(t, origin.URL, Config{HTTPClient: follower})

	resp, err := client.Do(context.Background(), Request{Header: http.Header{"Key": {testSecret}}})
	if err != nil {
		t.Fatalf("Do: %v", err)
	}
	if resp.Status != http.StatusMovedPermanently {
		t.Errorf("status = %d, want 301", resp.Status)
	}
	if n := len(target.Requests()); n != 0 {
		t.Errorf("redirect target received %d requests, want none", n)
	}
	statusErr := client.StatusError(resp, "")
	if !strings.Contains(statusErr.Error(), "check the base URL") {
		t.Errorf("error = %q, want it to point at the base URL", statusErr)
	}
	providertest.AssertNoSecret(t, statusErr, testSecret)
	if follower.CheckRedirect == nil {
		t.Error("the caller's http.Client was modified")
	}
}

func TestDoTimeoutNamesTheLimit(t *testing.T) {
	server := providertest.NewServer(t, providertest.Stall())
	client := newTestClient(t, server.URL, Config{Timeout: 100 * time.Millisecond})

	_, err := client.Do(context.Background(), Request{Query: url.Values{"token": {testSecret}}})
	if err == nil {
		t.Fatal("Do against a stalled server returned no error")
	}
	if !strings.Contains(err.Error(), "timed out after 100ms") {
		t.Errorf("error = %q, want it to name the timeout", err)
	}
	if !Retryable(err) {
		t.Errorf("Retryable = false for %v", err)
	}
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		t.Fatalf("error = %v, want a *url.Error inside", err)
	}
	if strings.Contains(urlErr.URL, url.QueryEscape(testSecret)) {
		t.Errorf("url.Error.URL = %q still carries the token", urlErr.URL)
	}
	providertest.AssertNoSecret(t, err, testSecret, url.QueryEscape(testSecret))
}

func TestDoSlowBodyTimesOut(t *testing.T) {
	server := providertest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		w.Write([]byte(`{"partial":`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	client := newTestClient(t, server.URL, Config{Timeout: 100 * time.Millisecond})

	_, err := client.Do(context.Background(), Request{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want a deadline while reading the body", err)
	}
	if !Retryable(err) {
		t.Errorf("Retryable = false for %v", err)
	}
}

func TestNewClientInvalidBaseURL(t *testing.T) {
	for _, raw := range []string{"", "ftp://example.net", "https://", "https://example.net/?token=" + testSecret, "://bad"} {
		t.Run(raw, func(t *testing.T) {
			_, err := newTestClient(t, raw, Config{}).Do(context.Background(), Request{})
			if err == nil {
				t.Fatalf("Do with base URL %q returned no error", raw)
			}
			if !strings.Contains(err.Error(), "invalid base URL") {
				t.Errorf("error = %q, want it to name the base URL", err)
			}
			providertest.AssertNoSecret(t, err, testSecret)
		})
	}
}

func TestStatusErrorRateLimited(t *testing.T) {
	received := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	client := newTestClient(t, "https://example.net", Config{})
	resp := &Response{
		Status:   429,
		Header:   http.Header{"Retry-After": {"120"}, "X-Ratelimit-Remaining": {"0"}},
		Received: received,
	}

	err := client.StatusError(resp, " limit hit for "+testSecret+" ")
	var rateLimited *RateLimitedError
	if !errors.As(err, &rateLimited) {
		t.Fatalf("StatusError = %v, want *RateLimitedError", err)
	}
	if !rateLimited.RetryAt.Equal(received.Add(2 * time.Minute)) {
		t.Errorf("RetryAt = %v, want the receive time plus 120 s", rateLimited.RetryAt)
	}
	if rateLimited.Provider != intel.OTX {
		t.Errorf("Provider = %q, want otx", rateLimited.Provider)
	}
	if rateLimited.Message != "limit hit for REDACTED" {
		t.Errorf("Message = %q", rateLimited.Message)
	}
	if !rateLimited.Quota.HasRemaining || rateLimited.Quota.Remaining != 0 {
		t.Errorf("Quota = %+v, want remaining 0", rateLimited.Quota)
	}
}

func parseQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	query, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("parsing query %q: %v", raw, err)
	}
	return query
}
