// Package otx is a client for the AlienVault OTX indicator API, which
// counts the community threat reports (pulses) that name an address.
package otx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
)

// DefaultBaseURL is the OTX API host.
const DefaultBaseURL = "https://otx.alienvault.com"

// Options configures a Client. Zero values select the defaults.
type Options struct {
	BaseURL    string        // default DefaultBaseURL
	APIKey     string        // required; sent in the X-OTX-API-KEY header
	Timeout    time.Duration // default provider.DefaultTimeout
	HTTPClient *http.Client  // default: a new client on http.DefaultTransport
}

// Client looks addresses up in OTX. It is safe for concurrent use.
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
			Provider:   intel.OTX,
			BaseURL:    opts.BaseURL,
			Timeout:    opts.Timeout,
			HTTPClient: opts.HTTPClient,
			Secrets:    []string{opts.APIKey},
		}),
		apiKey: opts.APIKey,
	}
}

// Configured reports whether the client has an API key.
func (c *Client) Configured() bool { return c.apiKey != "" }

// Lookup returns the general section of the OTX indicator for addr, from
// the IPv4 or IPv6 endpoint as the address requires. The response is tens of
// KB because it lists every pulse, so the read is capped at
// provider.DefaultMaxBodyBytes.
//
// Errors:
//   - provider.ErrNoKey without a key, before any request is sent.
//   - *provider.RateLimitedError on 429.
//   - *provider.HTTPError on other non-2xx responses. It matches
//     ErrUnauthorized on 401 and 403, ErrNotFound on 404 and
//     ErrInvalidRequest on 400.
//   - ErrMalformedResponse or ErrResponseTooLarge for a bad success body.
//   - Transport errors and timeouts otherwise.
func (c *Client) Lookup(ctx context.Context, addr netip.Addr) (*intel.OTXResult, error) {
	if !c.Configured() {
		return nil, fmt.Errorf("otx: looking up %s: %w", addr, provider.ErrNoKey)
	}
	ip, err := provider.AddrString(addr)
	if err != nil {
		return nil, fmt.Errorf("otx: %w", err)
	}
	section := "IPv4"
	if addr.Unmap().Is6() {
		section = "IPv6"
	}

	resp, err := c.api.Do(ctx, provider.Request{
		Path:   []string{"api", "v1", "indicators", section, ip, "general"},
		Header: http.Header{"X-Otx-Api-Key": {c.apiKey}},
	})
	if err != nil {
		return nil, fmt.Errorf("otx: looking up %s: %w", ip, err)
	}
	if !resp.OK() {
		return nil, fmt.Errorf("otx: looking up %s: %w", ip, c.api.StatusError(resp, errorMessage(resp.Body)))
	}
	result, err := decodeGeneral(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("otx: looking up %s: %w", ip, c.api.Malformed(err))
	}
	return result, nil
}

// generalResponse is the part of the general section that is used. The
// pulses themselves are not decoded.
type generalResponse struct {
	PulseInfo *struct {
		Count *int `json:"count"`
	} `json:"pulse_info"`
	Validation  []json.RawMessage `json:"validation"`
	ASN         *string           `json:"asn"`
	CountryCode *string           `json:"country_code"`
}

// validationEntry is one item of the validation list, which OTX uses to
// mark an indicator as known good (for example source "whitelist").
type validationEntry struct {
	Source  string `json:"source"`
	Name    string `json:"name"`
	Message string `json:"message"`
}

// decodeGeneral maps the general section. pulse_info.count is required and
// must not be negative. The ASN is kept as OTX writes it, number and name
// together ("AS45090 Shenzhen Tencent …").
func decodeGeneral(body []byte) (*intel.OTXResult, error) {
	var resp generalResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decoding general section: %w", err)
	}
	if resp.PulseInfo == nil || resp.PulseInfo.Count == nil {
		return nil, errors.New("general section has no pulse_info.count")
	}
	if *resp.PulseInfo.Count < 0 {
		return nil, fmt.Errorf("pulse_info.count %d is negative", *resp.PulseInfo.Count)
	}

	result := &intel.OTXResult{
		PulseCount:  *resp.PulseInfo.Count,
		ASN:         strings.TrimSpace(deref(resp.ASN)),
		CountryCode: strings.TrimSpace(deref(resp.CountryCode)),
	}
	for _, raw := range resp.Validation {
		label := validationLabel(raw)
		if label != "" && !slices.Contains(result.Validation, label) {
			result.Validation = append(result.Validation, label)
		}
	}
	return result, nil
}

// validationLabel returns the source of a validation entry, else its name,
// else its message. A bare string entry is taken as it is, and other JSON
// values give "".
func validationLabel(raw json.RawMessage) string {
	var text string
	if json.Unmarshal(raw, &text) == nil {
		return strings.TrimSpace(text)
	}
	var entry validationEntry
	if json.Unmarshal(raw, &entry) != nil {
		return ""
	}
	for _, label := range []string{entry.Source, entry.Name, entry.Message} {
		if label = strings.TrimSpace(label); label != "" {
			return label
		}
	}
	return ""
}

// errorMessage returns the text of an OTX error body ({"detail": …} or
// {"error": …}), or "".
func errorMessage(body []byte) string {
	var resp struct {
		Detail string `json:"detail"`
		Error  string `json:"error"`
	}
	if json.Unmarshal(body, &resp) != nil {
		return ""
	}
	if resp.Detail != "" {
		return resp.Detail
	}
	return resp.Error
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
