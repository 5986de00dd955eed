package otx

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
	"github.com/threat-intel/threat-intel/internal/version"
)

const testKey = "otx-test-key-0b7e33"

var testAddr = netip.MustParseAddr("203.0.113.39")

func newTestClient(t *testing.T, baseURL string) *Client {
	t.Helper()
	return New(Options{BaseURL: baseURL, APIKey: testKey, Timeout: 2 * time.Second})
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLookupSuccessBodies(t *testing.T) {
	tests := []struct {
		name     string
		corpus   string // a file under api/ in the corpus
		testdata string // or a file under testdata/
		want     intel.OTXResult
	}{
		{
			name:   "checkip 84 KB general section",
			corpus: "otx-indicators-ipv4-general-checkip.json",
			want: intel.OTXResult{
				PulseCount:  39,
				Validation:  nil,
				ASN:         "AS45090 Shenzhen Tencent Computer Systems Company Limited",
				CountryCode: "CN",
			},
		},
		{
			name:     "validation entries and null country",
			testdata: "general-ipv6-validated.json",
			want: intel.OTXResult{
				PulseCount:  2,
				Validation:  []string{"whitelist", "Known DNS resolver", "Listed on a rank list", "majestic"},
				ASN:         "AS64500 Documentation Network",
				CountryCode: "",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.corpus != "" {
				body = providertest.APIFile(t, tt.corpus)
			} else {
				body = readTestdata(t, tt.testdata)
			}
			server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), body))

			got, err := newTestClient(t, server.URL).Lookup(context.Background(), testAddr)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if got.PulseCount != tt.want.PulseCount {
				t.Errorf("PulseCount = %d, want %d", got.PulseCount, tt.want.PulseCount)
			}
			if !slices.Equal(got.Validation, tt.want.Validation) {
				t.Errorf("Validation = %q, want %q", got.Validation, tt.want.Validation)
			}
			if got.ASN != tt.want.ASN {
				t.Errorf("ASN = %q, want %q", got.ASN, tt.want.ASN)
			}
			if got.CountryCode != tt.want.CountryCode {
				t.Errorf("CountryCode = %q, want %q", got.CountryCode, tt.want.CountryCode)
			}
		})
	}
}

func TestLookupRequest(t *testing.T) {
	tests := []struct {
		name string
		addr netip.Addr
		path string
	}{
		{name: "ipv4", addr: testAddr, path: "/api/v1/indicators/IPv4/203.0.113.39/general"},
		{name: "ipv6", addr: netip.MustParseAddr("2001:db8::53"), path: "/api/v1/indicators/IPv6/2001:db8::53/general"},
		{name: "ipv4-mapped ipv6", addr: netip.MustParseAddr("::ffff:203.0.113.39"), path: "/api/v1/indicators/IPv4/203.0.113.39/general"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := readTestdata(t, "general-ipv6-validated.json")
			server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), body))

			if _, err := newTestClient(t, server.URL).Lookup(context.Background(), tt.addr); err != nil {
				t.Fatalf("Lookup: %v", err)
			}

			req := server.OnlyRequest(t)
			if req.Method != http.MethodGet {
				t.Errorf("method = %s, want GET", req.Method)
			}
			if req.Path != tt.path {
				t.Errorf("path = %s, want %s", req.Path, tt.path)
			}
			if req.RawQuery != "" {
				t.Errorf("query = %q, want none", req.RawQuery)
			}
			if got := req.Header.Get("X-OTX-API-KEY"); got != testKey {
				t.Errorf("X-OTX-API-KEY = %q, want the API key", got)
			}
			if got := req.Header.Get("Accept"); got != "application/json" {
				t.Errorf("Accept = %q, want application/json", got)
			}
			if got := req.Header.Get("User-Agent"); got != version.UserAgent() || !strings.Contains(got, version.Version) {
				t.Errorf("User-Agent = %q, want %q", got, version.UserAgent())
			}
		})
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		name      string
		handler   func(t *testing.T) http.Handler
		is        error
		status    int
		message   string
		retryable bool
	}{
		{
			name: "403 bad key",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(403, providertest.JSON(), []byte(`{"detail":"Authentication credentials were not provided."}`))
			},
			is:      provider.ErrUnauthorized,
			status:  403,
			message: "Authentication credentials were not provided.",
		},
		{
			name: "404",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(404, providertest.JSON(), []byte(`{"detail":"Not found."}`))
			},
			is:      provider.ErrNotFound,
			status:  404,
			message: "Not found.",
		},
		{
			name: "400 invalid indicator",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(400, providertest.JSON(), []byte(`{"error":"Invalid IP"}`))
			},
			is:      provider.ErrInvalidRequest,
			status:  400,
			message: "Invalid IP",
		},
		{
			name: "429 without headers",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(429, providertest.JSON(), []byte(`{"detail":"Request was throttled."}`))
			},
			is: provider.ErrRateLimited,
		},
		{
			name: "503 ciscosecurity body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(503, providertest.JSON(), providertest.APIFile(t, "abuseipdb-error-503-ciscosecurity.json"))
			},
			status:    503,
			retryable: true,
		},
		{
			name: "malformed json",
			handler: func(t *testing.T) http.Handler {
				body := providertest.APIFile(t, "otx-indicators-ipv4-general-checkip.json")
				return providertest.Reply(200, providertest.JSON(), body[:len(body)/2])
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "success without pulse_info",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`{"indicator":"203.0.113.39","validation":[]}`))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "5 MiB body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Oversized(5<<20, "whois")
			},
			is: provider.ErrResponseTooLarge,
		},
		{
			name: "error body echoing the key",
			handler: func(t *testing.T) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(401)
					w.Write([]byte(`{"detail":"Invalid key ` + r.Header.Get("X-OTX-API-KEY") + `"}`))
				})
			},
			is:      provider.ErrUnauthorized,
			status:  401,
			message: "Invalid key REDACTED",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := providertest.NewServer(t, tt.handler(t))

			result, err := newTestClient(t, server.URL).Lookup(context.Background(), testAddr)
			if err == nil {
				t.Fatalf("Lookup returned %+v and no error", result)
			}
			if result != nil {
				t.Errorf("result = %+v, want nil with an error", result)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want it to match %v", err, tt.is)
			}
			if tt.status != 0 {
				var httpErr *provider.HTTPError
				if !errors.As(err, &httpErr) {
					t.Fatalf("error = %v, want a *provider.HTTPError", err)
				}
				if httpErr.Status != tt.status {
					t.Errorf("status = %d, want %d", httpErr.Status, tt.status)
				}
				if httpErr.Message != tt.message {
					t.Errorf("message = %q, want %q", httpErr.Message, tt.message)
				}
			}
			if got := provider.Retryable(err); got != tt.retryable {
				t.Errorf("Retryable = %v, want %v for %v", got, tt.retryable, err)
			}
			providertest.AssertNoSecret(t, err, testKey)
		})
	}
}

func TestLookupTimeout(t *testing.T) {
	server := providertest.NewServer(t, providertest.Stall())
	timeout := 200 * time.Millisecond
	client := New(Options{BaseURL: server.URL, APIKey: testKey, Timeout: timeout})

	start := time.Now()
	_, err := client.Lookup(context.Background(), testAddr)
	elapsed := time.Since(start)

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want it to match context.DeadlineExceeded", err)
	}
	if !provider.Retryable(err) {
		t.Errorf("Retryable = false for a timeout: %v", err)
	}
	if elapsed > 10*timeout {
		t.Errorf("Lookup took %v with a %v timeout", elapsed, timeout)
	}
	providertest.AssertNoSecret(t, err, testKey)
}

func TestLookupConnectionRefused(t *testing.T) {
	_, err := newTestClient(t, providertest.ClosedURL(t)).Lookup(context.Background(), testAddr)
	if err == nil {
		t.Fatal("Lookup against a closed port returned no error")
	}
	if !provider.Retryable(err) {
		t.Errorf("Retryable = false for a refused connection: %v", err)
	}
	providertest.AssertNoSecret(t, err, testKey)
}

func TestLookupWithoutKey(t *testing.T) {
	server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), []byte(`{}`)))
	client := New(Options{BaseURL: server.URL})

	if client.Configured() {
		t.Error("Configured = true without a key")
	}
	if _, err := client.Lookup(context.Background(), testAddr); !errors.Is(err, provider.ErrNoKey) {
		t.Errorf("error = %v, want ErrNoKey", err)
	}
	if n := len(server.Requests()); n != 0 {
		t.Errorf("server received %d requests, want none without a key", n)
	}
}

func BenchmarkDecodeGeneral(b *testing.B) {
	body := providertest.APIFile(b, "otx-indicators-ipv4-general-checkip.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeGeneral(body); err != nil {
			b.Fatal(err)
		}
	}
}
