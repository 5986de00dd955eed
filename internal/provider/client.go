package provider

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/version"
)

const (
	// DefaultTimeout bounds one call, from sending the request to reading the
	// last byte of the body.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxBodyBytes bounds a success body. The largest documented
	// response, an OTX general section with many pulses, is tens of KB.
	DefaultMaxBodyBytes = 4 << 20
	// MaxErrorBodyBytes bounds how much of a non-2xx body is read. The rest
	// is not read.
	MaxErrorBodyBytes = 1 << 20
	// MaxErrorSnippetBytes bounds HTTPError.Body.
	MaxErrorSnippetBytes = 1 << 10
)

// Config configures a Client. The provider packages fill it from their own
// options.
type Config struct {
	Provider intel.Provider
	// BaseURL is the scheme, host and optional path prefix that request paths
	// are appended to.
	BaseURL string
	// Timeout bounds each call. Zero or less means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient sends the requests. Nil means a client with
	// http.DefaultTransport. It is copied, and the copy never follows
	// redirects, because a redirect would carry key headers to the new host.
	HTTPClient *http.Client
	// MaxBodyBytes bounds a success body. Zero or less means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Secrets are removed from every error the client returns.
	Secrets []string
}

// Client sends requests to one provider's API and reads bounded responses.
// It is safe for concurrent use.
type Client struct {
	provider intel.Provider
	base     *url.URL
	baseErr  error
	timeout  time.Duration
	http     *http.Client
	maxBody  int64
	redactor Redactor
}

// NewClient returns a Client for cfg. An invalid BaseURL is reported by
// every call to Do, so that construction cannot fail.
func NewClient(cfg Config) *Client {
	c := &Client{
		provider: cfg.Provider,
		timeout:  cfg.Timeout,
		maxBody:  cfg.MaxBodyBytes,
		redactor: NewRedactor(cfg.Secrets...),
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxBodyBytes
	}

	httpClient := &http.Client{}
	if cfg.HTTPClient != nil {
		copied := *cfg.HTTPClient
		httpClient = &copied
	}
	httpClient.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.http = httpClient

	c.base, c.baseErr = parseBaseURL(cfg.BaseURL, c.redactor)
	return c
}

func parseBaseURL(raw string, redactor Redactor) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, redactor.Error(fmt.Errorf("invalid base URL: %w", err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("invalid base URL %q: want http:// or https:// with a host", redactor.URL(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("invalid base URL %q: remove the query and fragment", redactor.URL(u))
	}
	return u, nil
}

// Provider returns the provider this client sends requests to.
func (c *Client) Provider() intel.Provider { return c.provider }

// Request is one call to a provider API.
type Request struct {
	Method string // default GET
	// Path contains the unescaped path segments appended to the base URL.
	Path   []string
	Query  url.Values
	Header http.Header
	// Body, when not nil, is sent with Content-Type application/json.
	Body []byte
}

// Response is an HTTP response of any status, with its body read.
type Response struct {
	Status   int
	Header   http.Header
	Body     []byte
	Received time.Time
}

// OK reports whether the status is 2xx.
func (r *Response) OK() bool { return r.Status >= 200 && r.Status < 300 }

// Do sends req and reads the response. Every request carries the User-Agent
// and Accept: application/json. An error means that no complete response was
// read: a transport failure or timeout, a success body larger than the limit
// (ErrResponseTooLarge), or an invalid base URL. A non-2xx response is returned
// as a Response with at most MaxErrorBodyBytes of its body, for the caller
// to turn into an error with StatusError. Errors never contain the secrets.
func (c *Client) Do(ctx context.Context, req Request) (*Response, error) {
	if c.baseErr != nil {
		return nil, c.baseErr
	}
	callCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	httpReq, err := c.newRequest(callCtx, req)
	if err != nil {
		return nil, c.redactor.Error(err)
	}
	resp, err := c.http.Do(httpReq)
	if err != nil {
		return nil, c.redactor.Error(c.timeoutError(ctx, callCtx, c.scrubURLError(err)))
	}
	defer resp.Body.Close()
	received := time.Now()

	body, err := c.readBody(resp)
	if err != nil {
		return nil, c.redactor.Error(c.timeoutError(ctx, callCtx, err))
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body, Received: received}, nil
}

// timeoutError names the client's own timeout when it, and not the caller's
// context, ended the call.
func (c *Client) timeoutError(ctx, callCtx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(callCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %s: %w", c.timeout, err)
	}
	return err
}

func (c *Client) newRequest(ctx context.Context, req Request) (*http.Request, error) {
	segments := make([]string, len(req.Path))
	for i, segment := range req.Path {
		segments[i] = url.PathEscape(segment)
	}
	u := c.base.JoinPath(segments...)
	if len(req.Query) > 0 {
		u.RawQuery = req.Query.Encode()
	}

	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	httpReq, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}

	for name, values := range req.Header {
		httpReq.Header[name] = values
	}
	httpReq.Header.Set("User-Agent", version.UserAgent())
	httpReq.Header.Set("Accept", "application/json")
	if req.Body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	return httpReq, nil
}

// scrubURLError replaces the URL inside a *url.Error, which net/http puts
// into the error text and which carries a token sent in the query string.
func (c *Client) scrubURLError(err error) error {
	var urlErr *url.Error
	if !errors.As(err, &urlErr) {
		return err
	}
	scrubbed := *urlErr
	if u, parseErr := url.Parse(urlErr.URL); parseErr == nil {
		scrubbed.URL = c.redactor.URL(u)
	} else {
		scrubbed.URL = c.redactor.String(urlErr.URL)
	}
	return &scrubbed
}

// readBody reads a success body up to maxBody bytes, failing beyond it, and
// an error body up to MaxErrorBodyBytes, cutting it there.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	ok := resp.StatusCode >= 200 && resp.StatusCode < 300
	limit := c.maxBody
	if !ok {
		limit = MaxErrorBodyBytes
	}
	if ok && resp.ContentLength > limit {
		return nil, fmt.Errorf("reading response body: %w: Content-Length %d exceeds the %d-byte limit",
			ErrResponseTooLarge, resp.ContentLength, limit)
	}

	var buf bytes.Buffer
	if resp.ContentLength > 0 && resp.ContentLength <= limit {
		buf.Grow(int(resp.ContentLength))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading response body: %w", err)
	}
	if n > limit {
		if ok {
			return nil, fmt.Errorf("reading response body: %w: more than %d bytes", ErrResponseTooLarge, limit)
		}
		return buf.Bytes()[:limit], nil
	}
	return buf.Bytes(), nil
}

// StatusError returns the typed error for a non-2xx response: a
// *RateLimitedError for 429 and an *HTTPError otherwise. message is the
// provider's own error text taken from the body, or "". For a 3xx response the
// Location is added to the message, because it usually means a wrong base URL.
func (c *Client) StatusError(resp *Response, message string) error {
	message = c.redactor.String(strings.TrimSpace(message))

	if resp.Status == http.StatusTooManyRequests {
		retryAt, estimated := RetryAt(resp.Header, resp.Received)
		return &RateLimitedError{
			Provider:         c.provider,
			RetryAt:          retryAt,
			RetryAtEstimated: estimated,
			Quota:            ParseQuota(resp.Header),
			Message:          message,
		}
	}

	if resp.Status >= 300 && resp.Status < 400 {
		if location := resp.Header.Get("Location"); location != "" {
			redirect := "redirected to " + c.redactor.String(location) + "; check the base URL"
			message = strings.TrimPrefix(message+"; "+redirect, "; ")
		}
	}

	// Redact before cutting, so that a secret across the cut cannot leave a
	// prefix of itself behind.
	body := c.redactor.String(strings.ToValidUTF8(string(resp.Body), "\uFFFD"))
	if len(body) > MaxErrorSnippetBytes {
		body = strings.ToValidUTF8(body[:MaxErrorSnippetBytes], "")
	}
	return &HTTPError{Provider: c.provider, Status: resp.Status, Message: message, Body: body}
}

// Malformed returns an error wrapping ErrMalformedResponse for a body that
// failed to decode. The body itself is not quoted, so no echoed secret can
// leak through it.
func (c *Client) Malformed(err error) error {
	return c.redactor.Error(fmt.Errorf("%w: %w", ErrMalformedResponse, err))
}
