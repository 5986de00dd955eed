// Package promql queries VictoriaMetrics or Prometheus through the
// Prometheus query API (/api/v1/query). It builds the queries over the
// firewall_events_total counter: the top blocked sources, the top outbound
// destinations with their internal sources, the number of distinct blocked
// sources and the active interfaces. Non-public addresses are excluded
// inside each query, before topk, and again by a classifier.
package promql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/version"
)

// Defaults of Options.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBodyBytes = 32 << 20
)

// maxErrorBodyBytes caps what is read of a response with an error status.
const maxErrorBodyBytes = 1 << 20

// maxGETLength is the longest encoded parameter string sent with GET.
// Longer queries are sent as a POST form, which both servers accept,
// because proxies in front of them often reject URLs over a few KiB.
const maxGETLength = 2000

// ErrPartial is returned for a VictoriaMetrics response marked isPartial.
// Some storage nodes did not respond, so every count would be too low and a
// top list could miss its leaders.
var ErrPartial = errors.New("partial response: some storage nodes did not respond, so the counts would be too low")

// Options configures a Client.
type Options struct {
	// BaseURL is the server's URL, such as http://victoriametrics:8428. It
	// may carry a path prefix (a VictoriaMetrics cluster's
	// /select/0/prometheus) and user:password for basic authentication.
	BaseURL string
	// Timeout bounds each query, including reading the response.
	// Default DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes caps the size of a response body. Default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Params are added to every query, such as nocache=1 to bypass
	// VictoriaMetrics' response cache.
	Params url.Values
	// Header is added to every request, such as an Authorization header
	// or a tenant header of a multi-tenant proxy.
	Header http.Header
	// HTTPClient sends the requests. Nil means a client with the default
	// transport.
	HTTPClient *http.Client
}

// Client runs instant queries. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	endpoint string // base URL of /api/v1/query, without user info
	opts     Options
	http     *http.Client
}

// New returns a Client for the server at opts.BaseURL.
func New(opts Options) (*Client, error) {
	base, err := parseBaseURL(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	httpClient := opts.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{}
	}
	return &Client{
		base:     base,
		endpoint: RedactURL(base) + "/api/v1/query",
		opts:     opts,
		http:     httpClient,
	}, nil
}

// parseBaseURL checks that s is an absolute http or https URL and returns
// it without a trailing slash.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(s))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		redacted := s
		if err == nil {
			redacted = RedactURL(u)
		}
		return nil, fmt.Errorf("invalid base URL %q: want an http or https URL such as http://victoriametrics:8428", redacted)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("invalid base URL %q: want no query string or fragment", RedactURL(u))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// RedactURL returns u without its password and without a trailing slash,
// for messages.
func RedactURL(u *url.URL) string {
	return strings.TrimRight(u.Redacted(), "/")
}

// BaseURL returns the server's URL without its password.
func (c *Client) BaseURL() string { return RedactURL(c.base) }

// Query runs an instant query evaluated at time at. A zero at lets the
// server use its current time. Errors name the query (shortened) and are:
// an *Error when the server responded with an error status or body,
// ErrPartial (wrapped) for a partial response, context.DeadlineExceeded
// (wrapped) when the timeout passed, or the transport or decoding error.
func (c *Client) Query(ctx context.Context, query string, at time.Time) (*Response, error) {
	form := url.Values{}
	for k, vs := range c.opts.Params {
		form[k] = append([]string(nil), vs...)
	}
	form.Set("query", query)
	if !at.IsZero() {
		form.Set("time", FormatTime(at))
	}

	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := c.newRequest(ctx, form)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", Abbreviate(query), err)
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, query, req.Method, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		return nil, errorFromBody(query, resp.StatusCode, body)
	}
	body, err := readCapped(resp.Body, c.opts.MaxBodyBytes)
	if err != nil {
		if ctx.Err() != nil {
			return nil, c.transportError(ctx, query, req.Method, err)
		}
		return nil, fmt.Errorf("query %s: reading the response of %s: %w", Abbreviate(query), c.endpoint, err)
	}

	decoded, err := DecodeResponse(body)
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			return nil, &Error{Query: query, StatusCode: resp.StatusCode, Type: apiErr.Type, Message: apiErr.Message}
		}
		return nil, fmt.Errorf("query %s: %w", Abbreviate(query), err)
	}
	if decoded.Partial {
		return nil, fmt.Errorf("query %s: %w", Abbreviate(query), ErrPartial)
	}
	return decoded, nil
}

// newRequest builds a GET request, or a POST form when the parameters are
// too long for a URL.
func (c *Client) newRequest(ctx context.Context, form url.Values) (*http.Request, error) {
	u := *c.base
	u.Path += "/api/v1/query"
	encoded := form.Encode()

	var req *http.Request
	var err error
	if len(encoded) <= maxGETLength {
		u.RawQuery = encoded
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(encoded))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	for k, vs := range c.opts.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("User-Agent", version.UserAgent())
	req.Header.Set("Accept", "application/json")
	return req, nil
}

// transportError describes a request that got no usable response. It
// leaves out the request URL, which would repeat the whole query.
func (c *Client) transportError(ctx context.Context, query, method string, err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("query %s: %s %s: no response within %s: %w", Abbreviate(query), method, c.endpoint, c.opts.Timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("query %s: %s %s: %w", Abbreviate(query), method, c.endpoint, err)
}

// readCapped reads r to the end, failing when it holds more than limit bytes.
func readCapped(r io.Reader, limit int64) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("response body larger than %d bytes", limit)
	}
	return body, nil
}

// errorFromBody returns the *Error for a response with an error status,
// taking the message from a JSON error body when there is one.
func errorFromBody(query string, status int, body []byte) error {
	e := &Error{Query: query, StatusCode: status}
	if _, err := DecodeResponse(body); err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			e.Type, e.Message = apiErr.Type, apiErr.Message
			return e
		}
	}
	e.Message = BodySnippet(body)
	return e
}

// BodySnippet returns the start of a non-JSON error body as one line, for
// an error message.
func BodySnippet(body []byte) string {
	text := strings.Join(strings.Fields(strings.ToValidUTF8(string(body), "?")), " ")
	if text == "" {
		return "empty response body"
	}
	const maxLen = 300
	if len(text) > maxLen {
		text = strings.ToValidUTF8(text[:maxLen], "") + "…"
	}
	return text
}

// Error is a query that the server rejected or could not run.
type Error struct {
	Query string
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// Type is the errorType of the body, such as "bad_data", "timeout" or
	// "422". It is empty when the body was not a JSON error.
	Type    string
	Message string
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "query %s failed with HTTP %d", Abbreviate(e.Query), e.StatusCode)
	if e.Type != "" {
		fmt.Fprintf(&b, " (%s)", e.Type)
	}
	b.WriteString(": ")
	b.WriteString(e.Message)
	return b.String()
}

// Abbreviate shortens a query for a message, because the queries carry long
// address regexes and their start is enough to identify them.
func Abbreviate(query string) string {
	const maxLen = 80
	if len(query) <= maxLen {
		return strconv.Quote(query)
	}
	return strconv.Quote(strings.ToValidUTF8(query[:maxLen], "")) + "…"
}

// FormatTime formats t as the time parameter: seconds since the Unix
// epoch with millisecond resolution.
func FormatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}
