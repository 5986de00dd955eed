// Package greynoise is a client for the GreyNoise Community API, which reports
// whether an address scans the internet (noise) or belongs to a known benign
// service (RIOT).
package greynoise

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
)

// DefaultBaseURL is the GreyNoise API host.
const DefaultBaseURL = "https://api.greynoise.io"

// ClassificationUnknown is the classification of an address GreyNoise has
// not observed.
const ClassificationUnknown = "unknown"

// Options configures a Client. Zero values select the defaults.
type Options struct {
	BaseURL string // default DefaultBaseURL
	// APIKey is optional: without it the Community API still responds, with a
	// smaller daily limit.
	APIKey     string
	Timeout    time.Duration // default provider.DefaultTimeout
	HTTPClient *http.Client  // default: a new client on http.DefaultTransport
}

// Client looks addresses up in GreyNoise Community. It is safe for
// concurrent use.
type Client struct {
	api    *provider.Client
	apiKey string
}

// New returns a Client for opts.
func New(opts Options) *Client {
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	return &Client{
		api: provider.NewClient(provider.Config{
			Provider:   intel.GreyNoise,
			BaseURL:    opts.BaseURL,
			Timeout:    opts.Timeout,
			HTTPClient: opts.HTTPClient,
			Secrets:    []string{opts.APIKey},
		}),
		apiKey: opts.APIKey,
	}
}

// Configured reports true: the Community API works without a key.
func (c *Client) Configured() bool { return true }

// Authenticated reports whether requests carry an API key.
func (c *Client) Authenticated() bool { return c.apiKey != "" }

// Lookup returns the GreyNoise Community record of addr.
//
// A 404 "not observed" response is a normal result, not an error: Lookup
// returns a result with Observed false and Classification "unknown", and a
// nil error. Observed false is how the caller tells "not found".
//
// Errors:
//   - *provider.RateLimitedError on 429. GreyNoise documents no rate-limit
//     headers, so RetryAt is usually the provider.DefaultRateLimitPause
//     estimate.
//   - *provider.HTTPError on other non-2xx responses. It matches
//     ErrInvalidRequest on 400 (for example "Invalid IP") and ErrUnauthorized
//     on 401 and 403.
//   - ErrMalformedResponse for a body that is not a GreyNoise response,
//     including a 404 whose body is not the "not observed" response.
//   - ErrResponseTooLarge for an oversized success body.
//   - Transport errors and timeouts otherwise.
func (c *Client) Lookup(ctx context.Context, addr netip.Addr) (*intel.GreyNoiseResult, error) {
	ip, err := provider.AddrString(addr)
	if err != nil {
		return nil, fmt.Errorf("greynoise: %w", err)
	}

	header := http.Header{}
	if c.apiKey != "" {
		header.Set("key", c.apiKey)
	}
	resp, err := c.api.Do(ctx, provider.Request{
		Path:   []string{"v3", "community", ip},
		Header: header,
	})
	if err != nil {
		return nil, fmt.Errorf("greynoise: looking up %s: %w", ip, err)
	}

	switch {
	case resp.OK():
		result, err := decodeCommunity(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("greynoise: looking up %s: %w", ip, c.api.Malformed(err))
		}
		return result, nil
	case resp.Status == http.StatusNotFound:
		result, err := decodeNotObserved(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("greynoise: looking up %s: %w", ip, c.api.Malformed(
				fmt.Errorf("unexpected HTTP 404 body, not the \"not observed\" response (check the base URL): %w", err)))
		}
		return result, nil
	default:
		return nil, fmt.Errorf("greynoise: looking up %s: %w", ip, c.api.StatusError(resp, errorMessage(resp.Body)))
	}
}

// communityResponse is the body of a Community response. Pointers tell a missing field
// from a false one.
type communityResponse struct {
	IP             string  `json:"ip"`
	Noise          *bool   `json:"noise"`
	RIOT           *bool   `json:"riot"`
	Classification string  `json:"classification"`
	Name           string  `json:"name"`
	LastSeen       string  `json:"last_seen"`
	Message        *string `json:"message"`
}

// decodeCommunity maps the body of a 200 response. The noise and riot flags
// are required. An empty classification becomes "unknown".
func decodeCommunity(body []byte) (*intel.GreyNoiseResult, error) {
	var resp communityResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decoding community response: %w", err)
	}
	if resp.Noise == nil || resp.RIOT == nil {
		return nil, errors.New("community response has no noise or riot flag")
	}

	classification := strings.TrimSpace(resp.Classification)
	if classification == "" {
		classification = ClassificationUnknown
	}
	return &intel.GreyNoiseResult{
		Observed:       true,
		Noise:          *resp.Noise,
		RIOT:           *resp.RIOT,
		Classification: classification,
		Name:           resp.Name,
		LastSeen:       resp.LastSeen,
	}, nil
}

// decodeNotObserved maps the body of a 404 response. The "not observed" body
// has the Community shape, with noise and riot false and a message. A body
// with none of these fields belongs to some other 404, such as a wrong base
// URL, and is an error.
func decodeNotObserved(body []byte) (*intel.GreyNoiseResult, error) {
	var resp communityResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decoding community response: %w", err)
	}
	if resp.Message == nil && resp.Noise == nil && resp.RIOT == nil {
		return nil, errors.New("404 body has no message, noise or riot field")
	}
	return &intel.GreyNoiseResult{
		Observed:       false,
		Noise:          resp.Noise != nil && *resp.Noise,
		RIOT:           resp.RIOT != nil && *resp.RIOT,
		Classification: ClassificationUnknown,
	}, nil
}

// errorResponse is a GreyNoise error body: the 429 body {"plan",
// "rate-limit", "plan_url", "message"} or the {"error": …} body sent for an
// invalid address.
type errorResponse struct {
	Message   string `json:"message"`
	Error     string `json:"error"`
	Plan      string `json:"plan"`
	RateLimit string `json:"rate-limit"`
}

// errorMessage returns the text of an error body, with the plan and its
// limit when the body names them, or "" for a body that is not JSON.
func errorMessage(body []byte) string {
	var resp errorResponse
	if json.Unmarshal(body, &resp) != nil {
		return ""
	}
	text := resp.Message
	if text == "" {
		text = resp.Error
	}
	if resp.Plan != "" || resp.RateLimit != "" {
		text = strings.TrimSpace(fmt.Sprintf("%s (plan %q, limit %q)", text, resp.Plan, resp.RateLimit))
	}
	return text
}
