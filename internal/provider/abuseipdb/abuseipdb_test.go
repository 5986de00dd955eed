package abuseipdb

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
	"github.com/threat-intel/threat-intel/internal/version"
)

const testKey = "abuseipdb-test-key-5f1c9e"

var testAddr = netip.MustParseAddr("192.0.2.10")

func newTestClient(t *testing.T, baseURL string) *Client {
	t.Helper()
	return New(Options{BaseURL: baseURL, APIKey: testKey, Timeout: 2 * time.Second})
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLookupSuccessBodies(t *testing.T) {
	tencent := intel.AbuseIPDBResult{
		AbuseConfidenceScore: 100,
		IsWhitelisted:        false,
		UsageType:            "Data Center/Web Hosting/Transit",
		IsTor:                false,
		TotalReports:         1,
		CountryCode:          "CN",
		ISP:                  "Tencent Cloud Computing (Beijing) Co. Ltd",
		Domain:               "tencent.com",
	}
	tests := []struct {
		name     string
		corpus   string // a file under api/ in the corpus
		testdata string // or a file under testdata/
		want     intel.AbuseIPDBResult
	}{
		{
			name:   "docs verbose check",
			corpus: "abuseipdb-check-verbose-docs.json",
			want:   tencent,
		},
		{
			name:   "checkip without isTor",
			corpus: "abuseipdb-check-verbose-checkip.json",
			want:   tencent,
		},
		{
			name:   "ciscosecurity null usageType",
			corpus: "abuseipdb-check-verbose-ciscosecurity.json",
			want: intel.AbuseIPDBResult{
				AbuseConfidenceScore: 21,
				IsWhitelisted:        false,
				UsageType:            "",
				IsTor:                false,
				TotalReports:         2,
				CountryCode:          "CN",
				ISP:                  "ChinaNet Jiangsu Province Network",
				Domain:               "chinatelecom.com.cn",
			},
		},
		{
			name:     "tor and whitelisted with null country",
			testdata: "check-tor-whitelisted.json",
			want: intel.AbuseIPDBResult{
				AbuseConfidenceScore: 0,
				IsWhitelisted:        true,
				UsageType:            "Reserved",
				IsTor:                true,
				TotalReports:         0,
				CountryCode:          "",
				ISP:                  "Documentation Network",
				Domain:               "example.net",
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
			server := providertest.NewServer(t, providertest.Reply(http.StatusOK, providertest.JSON(), body))

			got, quota, err := newTestClient(t, server.URL).LookupWithQuota(context.Background(), testAddr)
			if err != nil {
				t.Fatalf("LookupWithQuota: %v", err)
			}
			if *got != tt.want {
				t.Errorf("result = %+v, want %+v", *got, tt.want)
			}
			if quota.Known() {
				t.Errorf("quota = %+v, want none for a response without X-RateLimit headers", quota)
			}
		})
	}
}

func TestLookupRequest(t *testing.T) {
	tests := []struct {
		name string
		addr netip.Addr
		want string
	}{
		{name: "ipv4", addr: testAddr, want: "192.0.2.10"},
		{name: "ipv6", addr: netip.MustParseAddr("2001:db8::1"), want: "2001:db8::1"},
		{name: "ipv4-mapped ipv6", addr: netip.MustParseAddr("::ffff:198.51.100.3"), want: "198.51.100.3"},
		{name: "ipv6 with zone", addr: netip.MustParseAddr("2001:db8::2%eth0"), want: "2001:db8::2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := providertest.APIFile(t, "abuseipdb-check-verbose-docs.json")
			server := providertest.NewServer(t, providertest.Reply(http.StatusOK, providertest.JSON(), body))

			if _, err := newTestClient(t, server.URL).Lookup(context.Background(), tt.addr); err != nil {
				t.Fatalf("Lookup: %v", err)
			}

			req := server.OnlyRequest(t)
			if req.Method != http.MethodGet {
				t.Errorf("method = %s, want GET", req.Method)
			}
			if req.Path != "/api/v2/check" {
				t.Errorf("path = %s, want /api/v2/check", req.Path)
			}
			query := parseQuery(t, req.RawQuery)
			if got := query.Get("ipAddress"); got != tt.want {
				t.Errorf("ipAddress = %q, want %q", got, tt.want)
			}
			if got := query.Get("maxAgeInDays"); got != "30" {
				t.Errorf("maxAgeInDays = %q, want 30", got)
			}
			if len(query) != 2 {
				t.Errorf("query = %q, want only ipAddress and maxAgeInDays", req.RawQuery)
			}
			if got := req.Header.Get("Key"); got != testKey {
				t.Errorf("Key header = %q, want the API key", got)
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

func TestLookupMaxAgeOption(t *testing.T) {
	body := providertest.APIFile(t, "abuseipdb-check-verbose-docs.json")
	server := providertest.NewServer(t, providertest.Reply(http.StatusOK, providertest.JSON(), body))
	client := New(Options{BaseURL: server.URL, APIKey: testKey, MaxAgeInDays: 90})

	if _, err := client.Lookup(context.Background(), testAddr); err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if got := parseQuery(t, server.OnlyRequest(t).RawQuery).Get("maxAgeInDays"); got != "90" {
		t.Errorf("maxAgeInDays = %q, want 90", got)
	}
}

func TestLookupQuotaOnSuccess(t *testing.T) {
	body := providertest.APIFile(t, "abuseipdb-check-verbose-docs.json")
	header := http.Header{
		"Content-Type":          {"application/json"},
		"X-Ratelimit-Limit":     {"1000"},
		"X-Ratelimit-Remaining": {"812"},
	}
	server := providertest.NewServer(t, providertest.Reply(http.StatusOK, header, body))

	_, quota, err := newTestClient(t, server.URL).LookupWithQuota(context.Background(), testAddr)
	if err != nil {
		t.Fatalf("LookupWithQuota: %v", err)
	}
	if !quota.HasRemaining || quota.Remaining != 812 {
		t.Errorf("remaining = %d (present %v), want 812", quota.Remaining, quota.HasRemaining)
	}
	if !quota.HasLimit || quota.Limit != 1000 {
		t.Errorf("limit = %d (present %v), want 1000", quota.Limit, quota.HasLimit)
	}
	if !quota.Reset.IsZero() {
		t.Errorf("reset = %v, want zero for an absent header", quota.Reset)
	}
}

func TestLookupRateLimitedDocsHeaders(t *testing.T) {
	status, header := providertest.APIHeaders(t, "abuseipdb-error-429-docs.headers.txt")
	body := providertest.APIFile(t, "abuseipdb-error-429-docs.json")
	server := providertest.NewServer(t, providertest.Reply(status, header, body))

	before := time.Now()
	_, quota, err := newTestClient(t, server.URL).LookupWithQuota(context.Background(), testAddr)
	after := time.Now()

	var rateLimited *provider.RateLimitedError
	if !errors.As(err, &rateLimited) {
		t.Fatalf("error = %v, want a *provider.RateLimitedError", err)
	}
	if !errors.Is(err, provider.ErrRateLimited) {
		t.Errorf("errors.Is(err, ErrRateLimited) = false for %v", err)
	}
	// Retry-After: 29241 wins over the reset time, which lies in 2018.
	wait := 29241 * time.Second
	if rateLimited.RetryAt.Before(before.Add(wait)) || rateLimited.RetryAt.After(after.Add(wait)) {
		t.Errorf("RetryAt = %v, want 29241 s after the response (%v)", rateLimited.RetryAt, before.Add(wait))
	}
	if rateLimited.RetryAtEstimated {
		t.Error("RetryAtEstimated = true, want false with a Retry-After header")
	}
	if rateLimited.Provider != intel.AbuseIPDB {
		t.Errorf("Provider = %q, want abuseipdb", rateLimited.Provider)
	}
	wantMessage := "Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details."
	if rateLimited.Message != wantMessage {
		t.Errorf("Message = %q, want %q", rateLimited.Message, wantMessage)
	}
	wantQuota := provider.Quota{Limit: 1000, HasLimit: true, Remaining: 0, HasRemaining: true, Reset: time.Unix(1545973200, 0).UTC()}
	if rateLimited.Quota != wantQuota {
		t.Errorf("error quota = %+v, want %+v", rateLimited.Quota, wantQuota)
	}
	if quota != wantQuota {
		t.Errorf("returned quota = %+v, want %+v", quota, wantQuota)
	}
	if provider.Retryable(err) {
		t.Error("Retryable = true for a rate limit, want false (wait for RetryAt)")
	}
}

func TestLookupErrors(t *testing.T) {
	tests := []struct {
		name      string
		handler   func(t *testing.T) http.Handler
		is        error // a sentinel the error must match, or nil
		status    int   // the *provider.HTTPError status, or 0
		message   string
		retryable bool
	}{
		{
			name: "401 docs body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(401, providertest.JSON(), providertest.APIFile(t, "abuseipdb-error-401-docs.json"))
			},
			is:      provider.ErrUnauthorized,
			status:  401,
			message: "Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.",
		},
		{
			name: "401 ciscosecurity body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(401, providertest.JSON(), providertest.APIFile(t, "abuseipdb-error-401-ciscosecurity.json"))
			},
			is:      provider.ErrUnauthorized,
			status:  401,
			message: "Authentication failed. You are either missing your API key or it is incorrect. Note: The APIv2 key differs from the APIv1 key.",
		},
		{
			name: "403 empty body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(403, nil, nil)
			},
			is:     provider.ErrUnauthorized,
			status: 403,
		},
		{
			name: "422 docs body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(422, providertest.JSON(), providertest.APIFile(t, "abuseipdb-error-422-docs.json"))
			},
			is:      provider.ErrInvalidRequest,
			status:  422,
			message: "The max age in days must be between 1 and 365.",
		},
		{
			name: "429 ciscosecurity body without headers",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(429, providertest.JSON(), providertest.APIFile(t, "abuseipdb-error-429-ciscosecurity.json"))
			},
			is: provider.ErrRateLimited,
		},
		{
			name: "503 ciscosecurity body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(503, providertest.JSON(), providertest.APIFile(t, "abuseipdb-error-503-ciscosecurity.json"))
			},
			status:    503,
			message:   "The AbuseIPDB is unavailable. Please, try again later.",
			retryable: true,
		},
		{
			name: "500 html body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(500, http.Header{"Content-Type": {"text/html"}}, []byte("<html>oops</html>"))
			},
			status:    500,
			retryable: true,
		},
		{
			name: "malformed json",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`{"data": {"abuseConfidenceScore": 10,`))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "success without data",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), providertest.APIFile(t, "abuseipdb-error-422-docs.json"))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "score out of range",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`{"data":{"abuseConfidenceScore":101}}`))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "5 MiB body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Oversized(5<<20, "data")
			},
			is: provider.ErrResponseTooLarge,
		},
		{
			name: "redirect elsewhere",
			handler: func(t *testing.T) http.Handler {
				return http.RedirectHandler("http://192.0.2.1/api/v2/check", http.StatusFound)
			},
			status:  302,
			message: "redirected to http://192.0.2.1/api/v2/check; check the base URL",
		},
		{
			name: "error body echoing the key",
			handler: func(t *testing.T) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(401)
					w.Write([]byte(`{"errors":[{"detail":"bad key ` + r.Header.Get("Key") + `","status":401}]}`))
				})
			},
			is:      provider.ErrUnauthorized,
			status:  401,
			message: "bad key REDACTED",
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

func TestLookupRateLimitWithoutHeadersIsEstimated(t *testing.T) {
	body := providertest.APIFile(t, "abuseipdb-error-429-ciscosecurity.json")
	server := providertest.NewServer(t, providertest.Reply(429, providertest.JSON(), body))

	before := time.Now()
	_, err := newTestClient(t, server.URL).Lookup(context.Background(), testAddr)
	after := time.Now()

	var rateLimited *provider.RateLimitedError
	if !errors.As(err, &rateLimited) {
		t.Fatalf("error = %v, want a *provider.RateLimitedError", err)
	}
	if !rateLimited.RetryAtEstimated {
		t.Error("RetryAtEstimated = false, want true without Retry-After or X-RateLimit-Reset")
	}
	pause := provider.DefaultRateLimitPause
	if rateLimited.RetryAt.Before(before.Add(pause)) || rateLimited.RetryAt.After(after.Add(pause)) {
		t.Errorf("RetryAt = %v, want about %v", rateLimited.RetryAt, before.Add(pause))
	}
}

func TestLookupTimeout(t *testing.T) {
	server := providertest.NewServer(t, providertest.Stall())
	timeout := 200 * time.Millisecond
	client := New(Options{BaseURL: server.URL, APIKey: testKey, Timeout: timeout})

	start := time.Now()
	_, err := client.Lookup(context.Background(), testAddr)
	elapsed := time.Since(start)

	if err == nil {
		t.Fatal("Lookup against a stalled server returned no error")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error = %v, want it to match context.DeadlineExceeded", err)
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

func TestLookupCallerCancel(t *testing.T) {
	server := providertest.NewServer(t, providertest.Stall())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := newTestClient(t, server.URL).Lookup(ctx, testAddr)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if provider.Retryable(err) {
		t.Error("Retryable = true after the caller cancelled")
	}
}

func TestLookupWithoutKey(t *testing.T) {
	server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), []byte(`{}`)))
	client := New(Options{BaseURL: server.URL})

	if client.Configured() {
		t.Error("Configured = true without a key")
	}
	_, err := client.Lookup(context.Background(), testAddr)
	if !errors.Is(err, provider.ErrNoKey) {
		t.Errorf("error = %v, want ErrNoKey", err)
	}
	if n := len(server.Requests()); n != 0 {
		t.Errorf("server received %d requests, want none without a key", n)
	}
}

func TestLookupInvalidInput(t *testing.T) {
	tests := []struct {
		name    string
		baseURL string
		addr    netip.Addr
		is      error
	}{
		{name: "zero address", baseURL: "http://127.0.0.1:1", addr: netip.Addr{}, is: provider.ErrInvalidRequest},
		{name: "base url without scheme", baseURL: "api.abuseipdb.com", addr: testAddr},
		{name: "base url with key in query", baseURL: "https://api.abuseipdb.com/?key=" + testKey, addr: testAddr},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTestClient(t, tt.baseURL).Lookup(context.Background(), tt.addr)
			if err == nil {
				t.Fatal("Lookup returned no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want it to match %v", err, tt.is)
			}
			if provider.Retryable(err) {
				t.Errorf("Retryable = true for %v", err)
			}
			providertest.AssertNoSecret(t, err, testKey)
		})
	}
}

func TestConfigured(t *testing.T) {
	if !New(Options{APIKey: testKey}).Configured() {
		t.Error("Configured = false with a key")
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

func BenchmarkLookup(b *testing.B) {
	body := providertest.APIFile(b, "abuseipdb-check-verbose-docs.json")
	server := providertest.NewServer(b, providertest.Reply(http.StatusOK, providertest.JSON(), body))
	client := New(Options{BaseURL: server.URL, APIKey: testKey})
	ctx := context.Background()

	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Lookup(ctx, testAddr); err != nil {
			b.Fatal(err)
		}
	}
}
