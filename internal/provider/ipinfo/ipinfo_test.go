package ipinfo

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

// testToken contains characters that are escaped in a query string, so the
// leak checks also cover the escaped form.
const testToken = "ipinfo+test/token=4c2e"

var testAddr = netip.MustParseAddr("203.0.113.5")

func newTestClient(t *testing.T, baseURL string, mode Mode) *Client {
	t.Helper()
	return New(Options{BaseURL: baseURL, Token: testToken, Mode: mode, Timeout: 2 * time.Second})
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func assertNoToken(t *testing.T, err error) {
	t.Helper()
	providertest.AssertNoSecret(t, err, testToken, url.QueryEscape(testToken), url.PathEscape(testToken))
}

var googleLite = intel.IPinfoResult{
	CountryCode: "US",
	Country:     "United States",
	ASN:         "AS15169",
	ASName:      "Google LLC",
	ASDomain:    "google.com",
}

func TestLookupSuccessBodies(t *testing.T) {
	tests := []struct {
		name     string
		mode     Mode
		corpus   string // a file under api/ in the corpus
		testdata string // or a file under testdata/
		want     intel.IPinfoResult
	}{
		{
			name:   "lite official docs",
			mode:   ModeLite,
			corpus: "ipinfo-lite-8.8.8.8-official-docs.json",
			want:   googleLite,
		},
		{
			name:   "full unauthenticated with org",
			mode:   ModeFull,
			corpus: "ipinfo-json-8.8.8.8-unauthenticated-skodnik-readme.json",
			want: intel.IPinfoResult{
				CountryCode: "US",
				ASN:         "AS15169",
				ASName:      "Google LLC",
				Org:         "AS15169 Google LLC",
			},
		},
		{
			name:     "full with asn object",
			mode:     ModeFull,
			testdata: "full-asn-object.json",
			want: intel.IPinfoResult{
				CountryCode: "NL",
				ASN:         "AS64501",
				ASName:      "Example Hosting",
				ASDomain:    "example.com",
				Org:         "AS64500 Example Transit B.V.",
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

			got, err := newTestClient(t, server.URL, tt.mode).Lookup(context.Background(), testAddr)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			if *got != tt.want {
				t.Errorf("result = %+v, want %+v", *got, tt.want)
			}
		})
	}
}

func TestSplitOrg(t *testing.T) {
	tests := []struct {
		org, asn, name string
	}{
		{"AS15169 Google LLC", "AS15169", "Google LLC"},
		{"AS64500", "AS64500", ""},
		{"  AS64500   Spaced  Name ", "AS64500", "Spaced  Name"},
		{"Google LLC", "", "Google LLC"},
		{"ASN Example", "", "ASN Example"},
		{"AS Example", "", "AS Example"},
		{"", "", ""},
	}
	for _, tt := range tests {
		asn, name := splitOrg(tt.org)
		if asn != tt.asn || name != tt.name {
			t.Errorf("splitOrg(%q) = %q, %q; want %q, %q", tt.org, asn, name, tt.asn, tt.name)
		}
	}
}

func TestLookupBogon(t *testing.T) {
	for _, mode := range []Mode{ModeLite, ModeFull} {
		t.Run(string(mode), func(t *testing.T) {
			body := []byte(`{"ip": "203.0.113.5", "bogon": true}`)
			server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), body))

			result, err := newTestClient(t, server.URL, mode).Lookup(context.Background(), testAddr)
			if result != nil {
				t.Errorf("result = %+v, want nil for a bogon", result)
			}
			if !errors.Is(err, provider.ErrNotFound) {
				t.Errorf("error = %v, want ErrNotFound", err)
			}
			if errors.Is(err, provider.ErrMalformedResponse) {
				t.Errorf("error = %v matches ErrMalformedResponse", err)
			}
			if provider.Retryable(err) {
				t.Error("Retryable = true for a bogon")
			}
		})
	}
}

func TestLookupRequest(t *testing.T) {
	tests := []struct {
		name      string
		mode      Mode
		token     string
		addr      netip.Addr
		path      string
		wantToken bool
	}{
		{name: "lite", mode: ModeLite, token: testToken, addr: testAddr, path: "/lite/203.0.113.5", wantToken: true},
		{name: "lite ipv6", mode: ModeLite, token: testToken, addr: netip.MustParseAddr("2001:db8::5"), path: "/lite/2001:db8::5", wantToken: true},
		{name: "full with token", mode: ModeFull, token: testToken, addr: testAddr, path: "/203.0.113.5/json", wantToken: true},
		{name: "full without token", mode: ModeFull, token: "", addr: testAddr, path: "/203.0.113.5/json", wantToken: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := providertest.APIFile(t, "ipinfo-lite-8.8.8.8-official-docs.json")
			if tt.mode == ModeFull {
				body = providertest.APIFile(t, "ipinfo-json-8.8.8.8-unauthenticated-skodnik-readme.json")
			}
			server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), body))
			client := New(Options{BaseURL: server.URL, Token: tt.token, Mode: tt.mode})

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
			query := parseQuery(t, req.RawQuery)
			if _, present := query["token"]; present != tt.wantToken {
				t.Errorf("token present = %v, want %v (query %q)", present, tt.wantToken, req.RawQuery)
			}
			if tt.wantToken && query.Get("token") != tt.token {
				t.Errorf("token = %q, want %q", query.Get("token"), tt.token)
			}
			if len(query) > 1 {
				t.Errorf("query = %q, want at most the token", req.RawQuery)
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

func TestModes(t *testing.T) {
	tests := []struct {
		in      string
		want    Mode
		wantErr bool
	}{
		{in: "", want: ModeLite},
		{in: "lite", want: ModeLite},
		{in: " Full ", want: ModeFull},
		{in: "core", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseMode(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseMode(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseMode(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestConfigured(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want bool
	}{
		{name: "lite with token", opts: Options{Token: testToken}, want: true},
		{name: "lite without token", opts: Options{}, want: false},
		{name: "full without token", opts: Options{Mode: ModeFull}, want: true},
		{name: "invalid mode", opts: Options{Token: testToken, Mode: "core"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := New(tt.opts).Configured(); got != tt.want {
				t.Errorf("Configured = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestLookupNotSent(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		is   error
	}{
		{name: "lite without token", opts: Options{}, is: provider.ErrNoKey},
		{name: "invalid mode", opts: Options{Token: testToken, Mode: "core"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := providertest.NewServer(t, providertest.Reply(200, providertest.JSON(), []byte(`{}`)))
			tt.opts.BaseURL = server.URL

			_, err := New(tt.opts).Lookup(context.Background(), testAddr)
			if err == nil {
				t.Fatal("Lookup returned no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want it to match %v", err, tt.is)
			}
			if n := len(server.Requests()); n != 0 {
				t.Errorf("server received %d requests, want none", n)
			}
			assertNoToken(t, err)
		})
	}
}

func TestLookupRateLimited(t *testing.T) {
	body := providertest.APIFile(t, "ipinfo-error-429-unauthenticated.json")
	server := providertest.NewServer(t, providertest.Reply(429, providertest.JSON(), body))

	before := time.Now()
	_, err := newTestClient(t, server.URL, ModeFull).Lookup(context.Background(), testAddr)
	after := time.Now()

	var rateLimited *provider.RateLimitedError
	if !errors.As(err, &rateLimited) {
		t.Fatalf("error = %v, want *provider.RateLimitedError", err)
	}
	want := "Rate limit exceeded: You've hit the daily limit for the unauthenticated API.  Create an API access token by signing up to get 50k req/month."
	if rateLimited.Message != want {
		t.Errorf("Message = %q, want %q", rateLimited.Message, want)
	}
	if !rateLimited.RetryAtEstimated {
		t.Error("RetryAtEstimated = false without rate-limit headers")
	}
	pause := provider.DefaultRateLimitPause
	if rateLimited.RetryAt.Before(before.Add(pause)) || rateLimited.RetryAt.After(after.Add(pause)) {
		t.Errorf("RetryAt = %v, want about %v", rateLimited.RetryAt, before.Add(pause))
	}
	if rateLimited.Provider != intel.IPinfo {
		t.Errorf("Provider = %q, want ipinfo", rateLimited.Provider)
	}
	assertNoToken(t, err)
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
			name: "403 wrong token",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(403, providertest.JSON(), []byte(`{"status":403,"error":{"title":"Wrong token","message":"Please check your token."}}`))
			},
			is:      provider.ErrUnauthorized,
			status:  403,
			message: "Wrong token: Please check your token.",
		},
		{
			name: "404 with a string error",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(404, providertest.JSON(), []byte(`{"error":"Wrong ip"}`))
			},
			is:      provider.ErrNotFound,
			status:  404,
			message: "Wrong ip",
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
				return providertest.Reply(200, providertest.JSON(), []byte(`{"ip":"203.0.113.5","asn":`))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "response without ip",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`{"readme":"https://ipinfo.io/missingauth"}`))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "asn is a number",
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`{"ip":"203.0.113.5","asn":15169}`))
			},
			is: provider.ErrMalformedResponse,
		},
		{
			name: "5 MiB body",
			handler: func(t *testing.T) http.Handler {
				return providertest.Oversized(5<<20, "ip")
			},
			is: provider.ErrResponseTooLarge,
		},
		{
			name: "error body echoing the token",
			handler: func(t *testing.T) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.WriteHeader(403)
					w.Write([]byte(`{"error":"token ` + r.URL.Query().Get("token") + ` is invalid, see ` + r.URL.String() + `"}`))
				})
			},
			is:      provider.ErrUnauthorized,
			status:  403,
			message: "token REDACTED is invalid, see /lite/203.0.113.5?token=REDACTED",
		},
		{
			name: "redirect carrying the token",
			handler: func(t *testing.T) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, "http://192.0.2.1/lite?"+r.URL.RawQuery, http.StatusFound)
				})
			},
			status:  302,
			message: "redirected to http://192.0.2.1/lite?token=REDACTED; check the base URL",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := providertest.NewServer(t, tt.handler(t))

			result, err := newTestClient(t, server.URL, ModeLite).Lookup(context.Background(), testAddr)
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
			assertNoToken(t, err)
		})
	}
}

func TestLookupTimeout(t *testing.T) {
	server := providertest.NewServer(t, providertest.Stall())
	timeout := 200 * time.Millisecond
	client := New(Options{BaseURL: server.URL, Token: testToken, Timeout: timeout})

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
	// net/http puts the request URL, token included, into this error.
	if !strings.Contains(err.Error(), "token=REDACTED") {
		t.Errorf("error = %q, want the URL with the token redacted", err)
	}
	assertNoToken(t, err)
}

func TestLookupConnectionRefused(t *testing.T) {
	_, err := newTestClient(t, providertest.ClosedURL(t), ModeLite).Lookup(context.Background(), testAddr)
	if err == nil {
		t.Fatal("Lookup against a closed port returned no error")
	}
	if !provider.Retryable(err) {
		t.Errorf("Retryable = false for a refused connection: %v", err)
	}
	assertNoToken(t, err)
}

func parseQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	query, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("parsing query %q: %v", raw, err)
	}
	return query
}
