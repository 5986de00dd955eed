// Package ipinfo is a client for IPinfo, which maps an address to its
// country and autonomous system. It speaks the free Lite API and the full
// (legacy ipinfo.io) API, one address at a time or in batches.
package ipinfo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
)

// Mode selects the IPinfo API.
type Mode string

const (
	// ModeLite is the Lite API (GET /lite/{ip}): country and AS, free with a
	// token.
	ModeLite Mode = "lite"
	// ModeFull is the full API (GET /{ip}/json): the country code and the
	// "org" string ("AS15169 Google LLC"). It responds without a token, with
	// a small unauthenticated limit.
	ModeFull Mode = "full"
)

// ParseMode returns the Mode named by s, "lite" or "full" in any case. An
// empty string selects ModeLite.
func ParseMode(s string) (Mode, error) {
	switch Mode(strings.ToLower(strings.TrimSpace(s))) {
	case "", ModeLite:
		return ModeLite, nil
	case ModeFull:
		return ModeFull, nil
	}
	return "", fmt.Errorf("invalid IPinfo mode %q: use %q or %q", s, ModeLite, ModeFull)
}

const (
	// DefaultLiteBaseURL is the host of the Lite API.
	DefaultLiteBaseURL = "https://api.ipinfo.io"
	// DefaultFullBaseURL is the host of the full API.
	DefaultFullBaseURL = "https://ipinfo.io"
)

// Options configures a Client. Zero values select the defaults.
type Options struct {
	// BaseURL defaults to DefaultLiteBaseURL or DefaultFullBaseURL by Mode.
	BaseURL string
	// Token is sent as the token query parameter. ModeLite and batches need
	// it, but single ModeFull lookups work without it.
	Token      string
	Mode       Mode          // default ModeLite
	Timeout    time.Duration // default provider.DefaultTimeout
	HTTPClient *http.Client  // default: a new client on http.DefaultTransport
}

// Client looks addresses up in IPinfo. It is safe for concurrent use.
type Client struct {
	api     *provider.Client
	token   string
	mode    Mode
	modeErr error
}

// New returns a Client for opts. An invalid Mode is reported by every
// lookup, so that construction cannot fail.
func New(opts Options) *Client {
	mode, modeErr := ParseMode(string(opts.Mode))
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultLiteBaseURL
		if mode == ModeFull {
			opts.BaseURL = DefaultFullBaseURL
		}
	}
	return &Client{
		api: provider.NewClient(provider.Config{
			Provider:   intel.IPinfo,
			BaseURL:    opts.BaseURL,
			Timeout:    opts.Timeout,
			HTTPClient: opts.HTTPClient,
			Secrets:    []string{opts.Token},
		}),
		token:   opts.Token,
		mode:    mode,
		modeErr: modeErr,
	}
}

// Configured reports whether the client can send lookups: ModeLite needs a
// token, ModeFull does not.
func (c *Client) Configured() bool {
	return c.modeErr == nil && (c.token != "" || c.mode == ModeFull)
}

// Mode returns the API the client speaks.
func (c *Client) Mode() Mode { return c.mode }

// Lookup returns the IPinfo country and AS data of addr.
//
// Errors:
//   - An error matching provider.ErrNotFound for a response with
//     "bogon": true (a private or reserved address).
//   - provider.ErrNoKey in ModeLite without a token, before any request is
//     sent, and an error for an invalid Mode.
//   - *provider.RateLimitedError on 429.
//   - *provider.HTTPError on other non-2xx responses.
//   - ErrMalformedResponse or ErrResponseTooLarge for a bad success body.
//   - Transport errors and timeouts otherwise.
func (c *Client) Lookup(ctx context.Context, addr netip.Addr) (*intel.IPinfoResult, error) {
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("ipinfo: looking up %s: %w", addr, err)
	}
	ip, err := provider.AddrString(addr)
	if err != nil {
		return nil, fmt.Errorf("ipinfo: %w", err)
	}

	path := []string{"lite", ip}
	if c.mode == ModeFull {
		path = []string{ip, "json"}
	}
	resp, err := c.api.Do(ctx, provider.Request{Path: path, Query: c.tokenQuery()})
	if err != nil {
		return nil, fmt.Errorf("ipinfo: looking up %s: %w", ip, err)
	}
	if !resp.OK() {
		return nil, fmt.Errorf("ipinfo: looking up %s: %w", ip, c.api.StatusError(resp, errorMessage(resp.Body)))
	}

	result, err := decodeLookup(resp.Body, c.mode)
	if errors.Is(err, errBogon) {
		return nil, fmt.Errorf("ipinfo: looking up %s: %w", ip, err)
	}
	if err != nil {
		return nil, fmt.Errorf("ipinfo: looking up %s: %w", ip, c.api.Malformed(err))
	}
	return result, nil
}

// check returns why the client cannot send a request, or nil.
func (c *Client) check() error {
	if c.modeErr != nil {
		return c.modeErr
	}
	if c.mode == ModeLite && c.token == "" {
		return fmt.Errorf("%w: the Lite API needs a token", provider.ErrNoKey)
	}
	return nil
}

func (c *Client) tokenQuery() url.Values {
	if c.token == "" {
		return nil
	}
	return url.Values{"token": {c.token}}
}

// errBogon reports an address that IPinfo calls a bogon: private, reserved
// or otherwise not routed on the internet, so it has no data.
var errBogon = fmt.Errorf("IPinfo reports a bogon address: %w", provider.ErrNotFound)

// lookupResponse is the body of an IPinfo response in either mode. ASN is
// raw because the Lite API sends a string ("AS15169") and the full API on
// paid plans sends an object.
type lookupResponse struct {
	IP          string          `json:"ip"`
	Bogon       bool            `json:"bogon"`
	ASN         json.RawMessage `json:"asn"`
	ASName      string          `json:"as_name"`
	ASDomain    string          `json:"as_domain"`
	CountryCode string          `json:"country_code"`
	Country     string          `json:"country"`
	Org         string          `json:"org"`
}

// asnObject is the "asn" object that the full API sends on paid plans.
type asnObject struct {
	ASN    string `json:"asn"`
	Name   string `json:"name"`
	Domain string `json:"domain"`
}

// decodeLookup maps one response body. It returns errBogon for a bogon and
// an error for a body without "ip", which every IPinfo response carries.
//
// In ModeLite "country" is the country name and "country_code" the ISO
// code. In ModeFull "country" is the ISO code and the AS comes from "org"
// ("AS15169 Google LLC"), unless the response also has an "asn" object.
func decodeLookup(body []byte, mode Mode) (*intel.IPinfoResult, error) {
	var a lookupResponse
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("decoding %s response: %w", mode, err)
	}
	if a.Bogon {
		return nil, errBogon
	}
	if a.IP == "" {
		return nil, fmt.Errorf("%s response has no ip field", mode)
	}
	asn, err := decodeASN(a.ASN)
	if err != nil {
		return nil, fmt.Errorf("decoding %s response: %w", mode, err)
	}

	if mode == ModeFull {
		result := &intel.IPinfoResult{CountryCode: a.Country, Org: a.Org}
		result.ASN, result.ASName = splitOrg(a.Org)
		if asn.ASN != "" {
			result.ASN, result.ASName, result.ASDomain = asn.ASN, asn.Name, asn.Domain
		}
		return result, nil
	}
	result := &intel.IPinfoResult{
		CountryCode: a.CountryCode,
		Country:     a.Country,
		ASN:         asn.ASN,
		ASName:      a.ASName,
		ASDomain:    a.ASDomain,
	}
	if result.ASName == "" {
		result.ASName, result.ASDomain = asn.Name, asn.Domain
	}
	return result, nil
}

// decodeASN reads an "asn" field that is absent, null, a string or an
// object.
func decodeASN(raw json.RawMessage) (asnObject, error) {
	var object asnObject
	if len(raw) == 0 || string(raw) == "null" {
		return object, nil
	}
	if json.Unmarshal(raw, &object.ASN) == nil {
		return object, nil
	}
	if err := json.Unmarshal(raw, &object); err != nil {
		return asnObject{}, errors.New(`"asn" is neither a string nor an object`)
	}
	return object, nil
}

// splitOrg splits "AS15169 Google LLC" into "AS15169" and "Google LLC". An
// org without an AS number is returned whole as the name.
func splitOrg(org string) (asn, name string) {
	org = strings.TrimSpace(org)
	first, rest, _ := strings.Cut(org, " ")
	if isASNumber(first) {
		return first, strings.TrimSpace(rest)
	}
	return "", org
}

func isASNumber(s string) bool {
	digits, ok := strings.CutPrefix(s, "AS")
	if !ok || digits == "" {
		return false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// errorMessage returns the text of an IPinfo error body, or "". The 429
// body is {"status": 429, "error": {"title", "message"}}, with a numeric
// status. Other responses put a plain string in "error".
func errorMessage(body []byte) string {
	var resp struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &resp) != nil || len(resp.Error) == 0 {
		return ""
	}
	var text string
	if json.Unmarshal(resp.Error, &text) == nil {
		return text
	}
	var object struct {
		Title   string `json:"title"`
		Message string `json:"message"`
	}
	if json.Unmarshal(resp.Error, &object) != nil {
		return ""
	}
	switch {
	case object.Title != "" && object.Message != "":
		return object.Title + ": " + object.Message
	case object.Title != "":
		return object.Title
	}
	return object.Message
}
