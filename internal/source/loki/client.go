// Package loki queries Grafana Loki's instant query API
// (/loki/api/v1/query) and builds the LogQL metric query that counts the
// destination ports of blocked inbound filterlog lines from public sources,
// for IPv4 and IPv6 TCP, UDP and SCTP.
package loki

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/source/promql"
	"github.com/threat-intel/threat-intel/internal/version"
)

// Defaults of Options.
const (
	DefaultTimeout      = 30 * time.Second
	DefaultMaxBodyBytes = 32 << 20
)

// maxErrorBodyBytes caps what is read of a response with an error status.
const maxErrorBodyBytes = 1 << 20

// Options configures a Client.
type Options struct {
	// BaseURL is Loki's URL, such as http://loki:3100. It may carry a path
	// prefix and user:password for basic authentication.
	BaseURL string
	// Timeout bounds each query, including reading the response.
	// Default DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes caps the size of a response body. Default
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Header is added to every request, such as X-Scope-OrgID for a
	// multi-tenant Loki, or an Authorization header.
	Header http.Header
	// HTTPClient sends the requests. Nil means a client with the default
	// transport.
	HTTPClient *http.Client
}

// Client runs instant queries. It is safe for concurrent use.
type Client struct {
	base     *url.URL
	endpoint string // URL of /loki/api/v1/query, without user info
	opts     Options
	http     *http.Client
}

// New returns a Client for the Loki at opts.BaseURL.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(opts.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		redacted := opts.BaseURL
		if err == nil {
			redacted = promql.RedactURL(u)
		}
		return nil, fmt.Errorf("invalid Loki URL %q: want an http or https URL such as http://loki:3100, without a query string", redacted)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
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
		base:     u,
		endpoint: promql.RedactURL(u) + "/loki/api/v1/query",
		opts:     opts,
		http:     httpClient,
	}, nil
}

// BaseURL returns Loki's URL without its password.
func (c *Client) BaseURL() string { return promql.RedactURL(c.base) }

// Query runs an instant query evaluated at time at. A zero at lets Loki use
// its current time. It always uses GET, the method Loki's HTTP API
// documents for this endpoint.
//
// NOTE: the default port query is about 1 KiB, 1.9 KiB URL-encoded, and it
// grows with each own prefix and WAN interface. A proxy in front of Loki
// that limits URLs to a few KiB can reject it. POST is not used, because it
// is not known that every Loki version accepts POST here. Errors name the query (shortened): an *Error
// when Loki responded with an error status or body, context.DeadlineExceeded
// (wrapped) when the timeout passed, or the transport or decoding error.
func (c *Client) Query(ctx context.Context, query string, at time.Time) (*Response, error) {
	params := url.Values{}
	params.Set("query", query)
	if !at.IsZero() {
		params.Set("time", strconv.FormatInt(at.UnixNano(), 10))
	}
	u := *c.base
	u.Path += "/loki/api/v1/query"
	u.RawQuery = params.Encode()

	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("query %s: building the request: %w", promql.Abbreviate(query), err)
	}
	for k, vs := range c.opts.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("User-Agent", version.UserAgent())
	req.Header.Set("Accept", "application/json")

	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(ctx, query, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBodyBytes))
		return nil, errorFromBody(query, resp.StatusCode, body)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.opts.MaxBodyBytes+1))
	if err != nil {
		return nil, c.transportError(ctx, query, err)
	}
	if int64(len(body)) > c.opts.MaxBodyBytes {
		return nil, fmt.Errorf("query %s: response body larger than %d bytes", promql.Abbreviate(query), c.opts.MaxBodyBytes)
	}

	decoded, err := DecodeResponse(body)
	if err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			return nil, &Error{Query: query, StatusCode: resp.StatusCode, Message: apiErr.Error()}
		}
		return nil, fmt.Errorf("query %s: %w", promql.Abbreviate(query), err)
	}
	return decoded, nil
}

// transportError describes a request that got no usable response. It
// leaves out the request URL, which would repeat the whole query.
func (c *Client) transportError(ctx context.Context, query string, err error) error {
	var urlErr *url.Error
	if errors.As(err, &urlErr) {
		err = urlErr.Err
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("query %s: GET %s: no response within %s: %w", promql.Abbreviate(query), c.endpoint, c.opts.Timeout, context.DeadlineExceeded)
	}
	return fmt.Errorf("query %s: GET %s: %w", promql.Abbreviate(query), c.endpoint, err)
}

// errorFromBody returns the *Error of a response with an error status. Loki
// writes most errors as plain text, some as JSON.
func errorFromBody(query string, status int, body []byte) error {
	var w wireResponse
	if json.Unmarshal(body, &w) == nil {
		if msg := cmp.Or(w.Error, w.Message); msg != "" {
			return &Error{Query: query, StatusCode: status, Message: msg}
		}
	}
	return &Error{Query: query, StatusCode: status, Message: promql.BodySnippet(body)}
}

// Error is a query that Loki rejected or could not run.
type Error struct {
	Query      string
	StatusCode int
	Message    string
}

func (e *Error) Error() string {
	return fmt.Sprintf("query %s failed with HTTP %d: %s", promql.Abbreviate(e.Query), e.StatusCode, e.Message)
}
