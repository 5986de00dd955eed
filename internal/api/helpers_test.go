package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/api"
	"github.com/threat-intel/threat-intel/internal/api/apitest"
	"github.com/threat-intel/threat-intel/internal/intel"
)

var update = flag.Bool("update", false, "rewrite golden files")

// errStoreDown is what the cache callback returns for storeDownAddr.
var errStoreDown = errors.New("dial tcp 127.0.0.1:6379: connection refused")

// storeDownAddr is an address whose cache lookup fails.
var storeDownAddr = netip.MustParseAddr("198.51.100.250")

// fixtureOptions returns options with every callback set to fixed data.
// lookups, when not nil, counts the calls of LookupCached.
func fixtureOptions(lookups *int) api.Options {
	return api.Options{
		Health: func() api.Health {
			return api.Health{
				Status:      api.StatusDegraded,
				Reasons:     []string{"provider abuseipdb disabled: key rejected"},
				LastSuccess: time.Date(2026, 2, 22, 10, 0, 9, 0, time.UTC),
			}
		},
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = w.Write([]byte("threat_intel_cache_hits_total 3\n"))
		}),
		LookupCached: func(ctx context.Context, addr netip.Addr) (intel.Intel, bool, error) {
			if lookups != nil {
				*lookups++
			}
			switch addr {
			case apitest.Cached:
				return apitest.CachedIntel(), true, nil
			case storeDownAddr:
				return intel.Intel{}, false, errStoreDown
			}
			return intel.Intel{}, false, nil
		},
		Sources: func() []api.SourceRow {
			return []api.SourceRow{
				{
					Provider: "abuseipdb", Configured: true, Status: "disabled", Detail: "key rejected (HTTP 401)",
					DailyBudget: 900, BudgetRemaining: 880, Requests: 20, Failures: 1, CacheHits: 30, CacheMisses: 20,
					CacheHitRate: 0.6,
				},
				{
					Provider: "greynoise", Configured: true, Status: "rate limited", BudgetRemaining: -1,
					Requests: 12, RateLimited: 2, CacheHits: 5, CacheMisses: 7, CacheHitRate: 5.0 / 12,
					BlockedUntil: "2026-02-22T10:30:00Z",
				},
			}
		},
		Blocklist: func(family string) ([]byte, error) {
			lines := "# threat-intel blocklist, family " + family + "\n"
			if family != "6" {
				lines += apitest.BadActor.String() + "\n"
			}
			if family != "4" {
				lines += apitest.BlockedIPv6.String() + "\n"
			}
			return []byte(lines), nil
		},
	}
}

// newPublished returns an API with fixture callbacks and the fixture
// report published.
func newPublished(t testing.TB) *api.API {
	t.Helper()
	a := api.New(fixtureOptions(nil))
	if err := a.Publish(apitest.Report()); err != nil {
		t.Fatalf("publishing the fixture report: %v", err)
	}
	return a
}

// serve sends one request to h and returns the recorded response.
func serve(t testing.TB, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// get sends a GET and fails the test unless the status is want.
func get(t *testing.T, h http.Handler, target string, want int) *httptest.ResponseRecorder {
	t.Helper()
	rec := serve(t, h, http.MethodGet, target, nil)
	if rec.Code != want {
		t.Fatalf("GET %s: status %d, want %d; body %s", target, rec.Code, want, rec.Body)
	}
	return rec
}

// decodeRows decodes a body that must be a JSON array of objects.
func decodeRows(t *testing.T, body []byte) []map[string]any {
	t.Helper()
	var rows []map[string]any
	if err := json.Unmarshal(body, &rows); err != nil {
		t.Fatalf("body is not a JSON array of objects: %v\n%s", err, body)
	}
	return rows
}

// decodeError decodes a {"error": …} body and returns the message.
func decodeError(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type = %q, want application/json", ct)
	}
	var body struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error == nil {
		t.Fatalf("body is not a JSON error: %v\n%s", err, rec.Body)
	}
	return *body.Error
}

// goldenName turns a request target into a file name under testdata/golden.
func goldenName(target string) string {
	name := strings.TrimPrefix(target, "/")
	name = strings.NewReplacer("/", "_", "?", "_", "=", "_", ":", "_").Replace(name)
	return filepath.Join("testdata", "golden", name+".json")
}

// checkGolden compares the indented form of a JSON body with its golden
// file, or rewrites the file when the test runs with -update. Indenting
// keeps escapes as they are, so an HTML-escaped character still shows.
func checkGolden(t *testing.T, target string, body []byte) {
	t.Helper()
	var indented bytes.Buffer
	if err := json.Indent(&indented, body, "", "  "); err != nil {
		t.Fatalf("%s: body is not JSON: %v\n%s", target, err, body)
	}
	got := append(indented.Bytes(), '\n')
	path := goldenName(target)

	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run with -update to accept):\n--- got ---\n%s\n--- want ---\n%s", target, path, got, want)
	}
}
