// Package abuseipdb is a client for the AbuseIPDB v2 check endpoint, which
// returns the crowd-reported abuse confidence of an address.
package abuseipdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
)

const (
	// DefaultBaseURL is the AbuseIPDB API host.
	DefaultBaseURL = "https://api.abuseipdb.com"
	// DefaultMaxAgeInDays is how far back reports count towards the score.
	DefaultMaxAgeInDays = 30
)

// Options configures a Client. Zero values select the defaults.
type Options struct {
	BaseURL string // default DefaultBaseURL
	APIKey  string // required, sent in the Key header
	// MaxAgeInDays is the report window in days, default DefaultMaxAgeInDays.
	// AbuseIPDB accepts 1 to 365. Other values are sent as given, and
	// AbuseIPDB responds with 422.
	MaxAgeInDays int
	Timeout      time.Duration // default provider.DefaultTimeout
	HTTPClient   *http.Client  // default: a new client on http.DefaultTransport
}

// Client looks addresses up in AbuseIPDB. It is safe for concurrent use.
type Client struct {
	api          *provider.Client
	apiKey       string
	maxAgeInDays int
}

// New returns a Client for opts.
func New(opts Options) *Client {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if opts.MaxAgeInDays == 0 {
		opts.MaxAgeInDays = DefaultMaxAgeInDays
	}
	return &Client{
		api: provider.NewClient(provider.Config{
			Provider:   intel.AbuseIPDB,
			BaseURL:    opts.BaseURL,
			Timeout:    opts.Timeout,
			HTTPClient: opts.HTTPClient,
			Secrets:    []string{opts.APIKey},
		}),
		apiKey:       opts.APIKey,
		maxAgeInDays: opts.MaxAgeInDays,
	}
}

// Configured reports whether the client has an API key. AbuseIPDB rejects
// every request without one.
func (c *Client) Configured() bool { return c.apiKey != "" }

// Lookup checks addr. See LookupWithQuota for the errors.
func (c *Client) Lookup(ctx context.Context, addr netip.Addr) (*intel.AbuseIPDBResult, error) {
	result, _, err := c.LookupWithQuota(ctx, addr)
	return result, err
}

// LookupWithQuota checks addr and also returns the X-RateLimit-* headers of
// the response, so that the caller can stop before the daily limit. The quota
// is returned whenever a response arrived, with or without an error, and is
// zero when the response carried no such headers.
//
// Errors:
//   - provider.ErrNoKey without a key, before any request is sent.
//   - *provider.RateLimitedError on 429.
//   - *provider.HTTPError on other non-2xx responses, with the errors[].detail
//     text as Message. It matches ErrUnauthorized on 401 and 403, and
//     ErrInvalidRequest on 422.
//   - ErrMalformedResponse or ErrResponseTooLarge for a bad success body.
//   - Transport errors and timeouts otherwise.
func (c *Client) LookupWithQuota(ctx context.Context, addr netip.Addr) (*intel.AbuseIPDBResult, provider.Quota, error) {
	if !c.Configured() {
		return nil, provider.Quota{}, fmt.Errorf("abuseipdb: checking %s: %w", addr, provider.ErrNoKey)
	}
	ip, err := provider.AddrString(addr)
	if err != nil {
		return nil, provider.Quota{}, fmt.Errorf("abuseipdb: %w", err)
	}

	resp, err := c.api.Do(ctx, provider.Request{
		Path: []string{"api", "v2", "check"},
		Query: map[string][]string{
			"ipAddress":    {ip},
			"maxAgeInDays": {strconv.Itoa(c.maxAgeInDays)},
		},
		Header: http.Header{"Key": {c.apiKey}},
	})
	if err != nil {
		return nil, provider.Quota{}, fmt.Errorf("abuseipdb: checking %s: %w", ip, err)
	}

	quota := provider.ParseQuota(resp.Header)
	if !resp.OK() {
		err := c.api.StatusError(resp, errorDetail(resp.Body))
		return nil, quota, fmt.Errorf("abuseipdb: checking %s: %w", ip, err)
	}
	result, err := decodeCheck(resp.Body)
	if err != nil {
		return nil, quota, fmt.Errorf("abuseipdb: checking %s: %w", ip, c.api.Malformed(err))
	}
	return result, quota, nil
}

// checkResponse is the part of a check response that is used. Pointers tell
// a missing or null field from a zero value.
type checkResponse struct {
	Data *struct {
		AbuseConfidenceScore *int    `json:"abuseConfidenceScore"`
		IsWhitelisted        *bool   `json:"isWhitelisted"`
		UsageType            *string `json:"usageType"`
		IsTor                *bool   `json:"isTor"`
		TotalReports         int     `json:"totalReports"`
		CountryCode          *string `json:"countryCode"`
		ISP                  *string `json:"isp"`
		Domain               *string `json:"domain"`
	} `json:"data"`
}

// decodeCheck maps a check response. isWhitelisted and usageType may be null
// and isTor may be absent; each then maps to its zero value. A missing data
// object or abuseConfidenceScore, or a score outside 0 to 100, is an error.
func decodeCheck(body []byte) (*intel.AbuseIPDBResult, error) {
	var resp checkResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decoding check response: %w", err)
	}
	data := resp.Data
	if data == nil {
		return nil, errors.New("check response has no data object")
	}
	if data.AbuseConfidenceScore == nil {
		return nil, errors.New("check response has no abuseConfidenceScore")
	}
	if score := *data.AbuseConfidenceScore; score < 0 || score > 100 {
		return nil, fmt.Errorf("abuseConfidenceScore %d is outside 0 to 100", score)
	}
	if data.TotalReports < 0 {
		return nil, fmt.Errorf("totalReports %d is negative", data.TotalReports)
	}

	return &intel.AbuseIPDBResult{
		AbuseConfidenceScore: *data.AbuseConfidenceScore,
		IsWhitelisted:        deref(data.IsWhitelisted),
		UsageType:            deref(data.UsageType),
		IsTor:                deref(data.IsTor),
		TotalReports:         data.TotalReports,
		CountryCode:          deref(data.CountryCode),
		ISP:                  deref(data.ISP),
		Domain:               deref(data.Domain),
	}, nil
}

// errorResponse is an AbuseIPDB error body. AbuseIPDB puts the text in
// detail; some gateways put it in message instead.
type errorResponse struct {
	Errors []struct {
		Detail  string `json:"detail"`
		Message string `json:"message"`
	} `json:"errors"`
}

// errorDetail returns the texts of an error body joined by "; ", or "" for
// a body that is not an AbuseIPDB error.
func errorDetail(body []byte) string {
	var resp errorResponse
	if json.Unmarshal(body, &resp) != nil {
		return ""
	}
	var texts []string
	for _, e := range resp.Errors {
		switch {
		case e.Detail != "":
			texts = append(texts, e.Detail)
		case e.Message != "":
			texts = append(texts, e.Message)
		}
	}
	return strings.Join(texts, "; ")
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
