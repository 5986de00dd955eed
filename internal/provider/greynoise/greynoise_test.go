package greynoise

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
	"github.com/threat-intel/threat-intel/internal/version"
)

const testKey = "greynoise-test-key-8d2a41"

var testAddr = netip.MustParseAddr("198.51.100.23")

func newTestClient(t *testing.T, baseURL string) *Client {
	t.Helper()
	return New(Options{BaseURL: baseURL, APIKey: testKey, Timeout: 2 * time.Second})
}

func TestLookupResponses(t *testing.T) {
	tests := []struct {
		name   string
		status int
		corpus string
		want   intel.GreyNoiseResult
	}{
		{
			name:   "riot official 8.8.8.8",
			status: 200,
			corpus: "greynoise-community-riot-official-readme-8.8.8.8.json",
			want:   intel.GreyNoiseResult{Observed: true, Noise: false, RIOT: true, Classification: "benign", Name: "Google Public DNS", LastSeen: "2021-03-26"},
		},
		{
			name:   "riot official 1.1.1.1",
			status: 200,
			corpus: "greynoise-community-riot-official-readme-1.1.1.1.json",
			want:   intel.GreyNoiseResult{Observed: true, Noise: false, RIOT: true, Classification: "benign", Name: "Cloudflare Public DNS", LastSeen: "2021-03-26"},
		},
		{
			name:   "riot graylog",
			status: 200,
			corpus: "greynoise-community-riot-graylog.json",
			want:   intel.GreyNoiseResult{Observed: true, Noise: false, RIOT: true, Classification: "benign", Name: "Cloudflare", LastSeen: "2020-01-01"},
		},
		{
			name:   "noise demisto",
			status: 200,
			corpus: "greynoise-community-noise-found-demisto.json",
			want:   intel.GreyNoiseResult{Observed: true, Noise: true, RIOT: false, Classification: "benign", Name: "Shodan.io", LastSeen: "2021-05-10"},
		},
		{
			name:   "404 not observed",
			status: 404,
			corpus: "greynoise-community-404-notfound-graylog.json",
			want:   intel.GreyNoiseResult{Observed: false, Noise: false, RIOT: false, Classification: ClassificationUnknown},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := providertest.APIFile(t, tt.corpus)
			server := providertest.NewServer(t, providertest.Reply(tt.status, providertest.JSON(), body))

			got, err := newTestClient(t, server.URL).Lookup(context.Background(), testAddr)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if *got != tt.want {
				t.Errorf("result = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestLookupMaliciousWithoutClassification(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{name: "malicious", body: `{"ip":"198.51.100.23","noise":true,"riot":false,"classification":"malicious","name":"unknown","last_seen":"2024-01-02","message":"Success"}`, want: "malicious"},
		{name: "empty classification", body: `{"ip":"198.51.100.23","noise":true,"riot":false,"classification":"","message":"Success"}`, want: ClassificationUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), []byte(tt.body)))

			got, err := newTestClient(t, server.URL).Lookup(context.Background(), testAddr)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if got.Classification != tt.want {
				t.Errorf("Classification = %q, want %q", got.Classification, tt.want)
			}
			if !got.Observed {
				t.Error("Observed = false for a 200 response")
			}
		})
	}
}

func TestLookupRequest(t *testing.T) {
	tests := []struct {
		name    string
		apiKey  string
		addr    netip.Addr
		path    string
		wantKey bool
	}{
		{name: "with key", apiKey: testKey, addr: testAddr, path: "/v3/community/198.51.100.23", wantKey: true},
		{name: "without key", apiKey: "", addr: testAddr, path: "/v3/community/198.51.100.23", wantKey: false},
		{name: "ipv6", apiKey: testKey, addr: netip.MustParseAddr("2001:db8::23"), path: "/v3/community/2001:db8::23", wantKey: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := providertest.APIFile(t, "greynoise-community-riot-graylog.json")
			server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), body))
			client := New(Options{BaseURL: server.URL, APIKey: tt.apiKey})

			if _, err := client.Lookup(context.Background(), tt.addr); err != nil {
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
			values, present := req.Header["Key"]
			if present != tt.wantKey {
				t.Errorf("key header present = %v, want %v", present, tt.wantKey)
			}
			if tt.wantKey && (len(values) != 1 || values[0] != tt.apiKey) {
				t.Errorf("key header = %q, want the API key", values)
			}
			if got := req.Header.Get("Accept"); got != "application/json" {
				t.Errorf("Accept = %q, want application/json", got)
			}
			if got := req.Header.Get("User-Agent"); got != version.UserAgent() || !strings.Contains(got, version.Version) {
				t.Errorf("User-Agent = %q, want %q", got, version.UserAgent())
			}
			if client.Authenticated() != tt.wantKey {
				t.Errorf("Authenticated = %v, want %v", client.Authenticated(), tt.wantKey)
			}
			if !client.Configured() {
				t.Error("Configured = false, want true with or without a key")
			}
		})
	}
}

func TestLookupRateLimited(t *testing.T) {
	tests := []struct {
		name          string
		header        http.Header
		wantWait      time.Duration
		wantEstimated bool
	}{
		{name: "graylog body without headers", header: providertest.JSON(), wantWait: provider.DefaultRateLimitPause, wantEstimated: true},
		{name: "with retry-after", header: http.Header{"Retry-After": {"600"}}, wantWait: 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := providertest.APIFile(t, "greynoise-community-429-ratelimit-graylog.json")
			server := providertest.NewServer(t, providertest.Reply(429, tt.header, body))

			before := time.Now()
			result, err := newTestClient(t, server.URL).Lookup(context.Background(), testAddr)
			after := time.Now()

			if result != nil {
				t.Errorf("result = %+v, want nil", result)
			}
			var rateLimited *provider.RateLimitedError
			if !errors.As(err, &rateLimited) {
				t.Fatalf("error = %v, want *provider.RateLimitedError", err)
			}
			if rateLimited.RetryAt.Before(before.Add(tt.wantWait)) || rateLimited.RetryAt.After(after.Add(tt.wantWait)) {
				t.Errorf("RetryAt = %v, want about %v", rateLimited.RetryAt, before.Add(tt.wantWait))
			}
			if rateLimited.RetryAtEstimated != tt.wantEstimated {
				t.Errorf("RetryAtEstimated = %v, want %v", rateLimited.RetryAtEstimated, tt.wantEstimated)
			}
			want := `You have hit your daily rate limit of 100 requests per day. Please create a free account or upgrade your plan at https://greynoise.io/pricing. (plan "unauthenticated", limit "100-lookups/day")`
			if rateLimited.Message != want {
				t.Errorf("Message = %q, want %q", rateLimited.Message, want)
			}
			if rateLimited.Provider != intel.GreyNoise {
				t.Errorf("Provider = %q, want greynoise", rateLimited.Provider)
			}
			if provider.Retryable(err) {
				t.Error("Retryable = true for a rate limit")
			}
			providertest.AssertNoSecret(t, err, testKey)
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
			name: "400 invalid ip",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(400, providertest.JSON(), []byte(`{"error":"Invalid IP submitted"}`))
			},
			is:      provider.ErrInvalidRequest,
			status:  400,
			message: "Invalid IP submitted",
		},
		{
			name: "401 bad key",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(401, providertest.JSON(), []byte(`{"message":"Unauthorized"}`))
			},
			is:      provider.ErrUnauthorized,
			status:  401,
			message: "Unauthorized",
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
			name: "404 html page",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(404, http.Header{"Content-Type": {"text/html"}}, []byte("<html>Not Found</html>"))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "404 empty object",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(404, providertest.JSON(), []byte(`{}`))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "malformed json",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`{"ip":"198.51.100.23","noise":tru`))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "success without flags",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`{"ip":"198.51.100.23","message":"Success"}`))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "5 MiB body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Oversized(5<<20, "name")
			},
			is: provider.ErrResponseTooLarge,
		},
		{
			name: "error body echoing the key",
			handler: func(t *testing.T) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(403)
					w.Write([]byte(`{"message":"key ` + r.Header.Get("key") + ` is revoked"}`))
				})
			},
			is:      provider.ErrUnauthorized,
			status:  403,
			message: "key REDACTED is revoked",
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
			if errors.Is(err, provider.ErrNotFound) {
				t.Errorf("error = %v matches ErrNotFound, which would read as a normal not-observed response", err)
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

func TestLookupZeroAddr(t *testing.T) {
	_, err := newTestClient(t, "http://127.0.0.1:1").Lookup(context.Background(), netip.Addr{})
	if !errors.Is(err, provider.ErrInvalidRequest) {
		t.Errorf("error = %v, want ErrInvalidRequest", err)
	}
}
