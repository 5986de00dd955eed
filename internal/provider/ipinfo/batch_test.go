package ipinfo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/provider"
	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

// batchServer responds to a batch request with entries[ip] for every posted
// address that has one. Each entry is written unchanged.
func batchServer(t *testing.T, entries map[string][]byte) *providertest.Server {
	t.Helper()
	return providertest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ips []string
		if err := json.NewDecoder(r.Body).Decode(&ips); err != nil {
			http.Error(w, `{"error":"bad request body"}`, http.StatusBadRequest)
			return
		}
		var out bytes.Buffer
		out.WriteString("{")
		first := true
		for _, ip := range ips {
			entry, ok := entries[ip]
			if !ok {
				continue
			}
			if !first {
				out.WriteString(",")
			}
			first = false
			fmt.Fprintf(&out, "%q:", ip)
			out.Write(entry)
		}
		out.WriteString("}")
		w.Header().Set("Content-Type", "application/json")
		w.Write(out.Bytes())
	}))
}

func TestLookupBatchLite(t *testing.T) {
	lite := providertest.APIFile(t, "ipinfo-lite-8.8.8.8-official-docs.json")
	server := batchServer(t, map[string][]byte{
		"203.0.113.1": lite,
		"203.0.113.2": []byte(`{"ip":"203.0.113.2","bogon":true}`),
		"203.0.113.4": []byte(`"US"`),
		"2001:db8::5": lite,
	})
	found := netip.MustParseAddr("203.0.113.1")
	mapped := netip.MustParseAddr("::ffff:203.0.113.1")
	bogon := netip.MustParseAddr("203.0.113.2")
	omitted := netip.MustParseAddr("203.0.113.3")
	otherShape := netip.MustParseAddr("203.0.113.4")
	ipv6 := netip.MustParseAddr("2001:db8::5")

	got, err := newTestClient(t, server.URL, ModeLite).LookupBatch(context.Background(),
		[]netip.Addr{found, bogon, omitted, otherShape, mapped, ipv6, found})
	if err != nil {
		t.Fatalf("LookupBatch: %v", err)
	}

	req := server.OnlyRequest(t)
	if req.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", req.Method)
	}
	if req.Path != "/batch/lite" {
		t.Errorf("path = %s, want /batch/lite", req.Path)
	}
	if token := parseQuery(t, req.RawQuery).Get("token"); token != testToken {
		t.Errorf("token = %q, want %q", token, testToken)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	var posted []string
	if err := json.Unmarshal(req.Body, &posted); err != nil {
		t.Fatalf("request body %q is not a JSON list: %v", req.Body, err)
	}
	wantPosted := []string{"203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "2001:db8::5"}
	if !slices.Equal(posted, wantPosted) {
		t.Errorf("posted %q, want %q (each distinct address once)", posted, wantPosted)
	}

	for _, addr := range []netip.Addr{found, mapped, ipv6} {
		if result, ok := got[addr]; !ok || result == nil || *result != googleLite {
			t.Errorf("result for %v = %+v (present %v), want %+v", addr, result, ok, googleLite)
		}
	}
	if result, ok := got[bogon]; !ok || result != nil {
		t.Errorf("result for the bogon = %+v (present %v), want a nil entry", result, ok)
	}
	for _, addr := range []netip.Addr{omitted, otherShape} {
		if result, ok := got[addr]; ok {
			t.Errorf("result for %v = %+v, want no entry", addr, result)
		}
	}
	if len(got) != 4 {
		t.Errorf("map has %d entries, want 4", len(got))
	}
}

func TestLookupBatchFull(t *testing.T) {
	full := providertest.APIFile(t, "ipinfo-json-8.8.8.8-unauthenticated-skodnik-readme.json")
	server := batchServer(t, map[string][]byte{"198.51.100.8": full})
	addr := netip.MustParseAddr("198.51.100.8")

	got, err := newTestClient(t, server.URL, ModeFull).LookupBatch(context.Background(), []netip.Addr{addr})
	if err != nil {
		t.Fatalf("LookupBatch: %v", err)
	}
	if path := server.OnlyRequest(t).Path; path != "/batch" {
		t.Errorf("path = %s, want /batch", path)
	}
	want := intel.IPinfoResult{CountryCode: "US", ASN: "AS15169", ASName: "Google LLC", Org: "AS15169 Google LLC"}
	if result := got[addr]; result == nil || *result != want {
		t.Errorf("result = %+v, want %+v", result, want)
	}
}

func TestLookupBatchChunks(t *testing.T) {
	lite := providertest.APIFile(t, "ipinfo-lite-8.8.8.8-official-docs.json")
	entries := make(map[string][]byte)
	var addrs []netip.Addr
	base := netip.MustParseAddr("2001:db8::")
	for addr := base; len(addrs) < MaxBatchSize+1; addr = addr.Next() {
		addrs = append(addrs, addr)
		entries[addr.String()] = lite
	}
	server := batchServer(t, entries)

	got, err := newTestClient(t, server.URL, ModeLite).LookupBatch(context.Background(), addrs)
	if err != nil {
		t.Fatalf("LookupBatch: %v", err)
	}
	requests := server.Requests()
	if len(requests) != 2 {
		t.Fatalf("server received %d requests, want 2", len(requests))
	}
	for i, want := range []int{MaxBatchSize, 1} {
		var posted []string
		if err := json.Unmarshal(requests[i].Body, &posted); err != nil {
			t.Fatalf("request %d body: %v", i, err)
		}
		if len(posted) != want {
			t.Errorf("request %d posted %d addresses, want %d", i, len(posted), want)
		}
	}
	if len(got) != len(addrs) {
		t.Errorf("map has %d entries, want %d", len(got), len(addrs))
	}
}

func TestLookupBatchEmpty(t *testing.T) {
	server := batchServer(t, nil)
	got, err := newTestClient(t, server.URL, ModeLite).LookupBatch(context.Background(), nil)
	if err != nil {
		t.Fatalf("LookupBatch: %v", err)
	}
	if len(got) != 0 {
		t.Errorf("map = %v, want empty", got)
	}
	if n := len(server.Requests()); n != 0 {
		t.Errorf("server received %d requests, want none", n)
	}
}

func TestLookupBatchErrors(t *testing.T) {
	tests := []struct {
		name      string
		opts      Options
		handler   func(t *testing.T) http.Handler
		addrs     []netip.Addr
		is        error
		retryable bool
		requests  int
	}{
		{
			name: "429",
			opts: Options{Token: testToken},
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(429, providertest.JSON(), providertest.APIFile(t, "ipinfo-error-429-unauthenticated.json"))
			},
			is:       provider.ErrRateLimited,
			requests: 1,
		},
		{
			name: "503",
			opts: Options{Token: testToken},
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(503, providertest.JSON(), providertest.APIFile(t, "abuseipdb-error-503-ciscosecurity.json"))
			},
			retryable: true,
			requests:  1,
		},
		{
			name: "response is a list",
			opts: Options{Token: testToken},
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`[{"ip":"203.0.113.5"}]`))
			},
			is:       provider.ErrMalformedResponse,
			requests: 1,
		},
		{
			name: "response is null",
			opts: Options{Token: testToken},
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`null`))
			},
			is:       provider.ErrMalformedResponse,
			requests: 1,
		},
		{
			name: "5 MiB body",
			opts: Options{Token: testToken},
			handler: func(t *testing.T) http.Handler {
				return providertest.Oversized(5<<20, "203.0.113.5")
			},
			is:       provider.ErrResponseTooLarge,
			requests: 1,
		},
		{
			name: "full mode without token",
			opts: Options{Mode: ModeFull},
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`{}`))
			},
			is: provider.ErrNoKey,
		},
		{
			name: "zero address",
			opts: Options{Token: testToken},
			handler: func(t *testing.T) http.Handler {
				return providertest.Reply(200, providertest.JSON(), []byte(`{}`))
			},
			addrs: []netip.Addr{testAddr, {}},
			is:    provider.ErrInvalidRequest,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			server := providertest.NewServer(t, tt.handler(t))
			tt.opts.BaseURL = server.URL
			addrs := tt.addrs
			if addrs == nil {
				addrs = []netip.Addr{testAddr}
			}

			got, err := New(tt.opts).LookupBatch(context.Background(), addrs)
			if err == nil {
				t.Fatalf("LookupBatch returned %v and no error", got)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error = %v, want it to match %v", err, tt.is)
			}
			if got := provider.Retryable(err); got != tt.retryable {
				t.Errorf("Retryable = %v, want %v for %v", got, tt.retryable, err)
			}
			if len(got) != 0 {
				t.Errorf("map = %v, want empty", got)
			}
			if n := len(server.Requests()); n != tt.requests {
				t.Errorf("server received %d requests, want %d", n, tt.requests)
			}
			assertNoToken(t, err)
		})
	}
}

func TestLookupBatchKeepsEarlierChunks(t *testing.T) {
	lite := providertest.APIFile(t, "ipinfo-lite-8.8.8.8-official-docs.json")
	var calls atomic.Int32
	server := providertest.NewServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) > 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var ips []string
		json.NewDecoder(r.Body).Decode(&ips)
		w.Write([]byte(fmt.Sprintf("{%q:%s}", ips[0], lite)))
	}))
	var addrs []netip.Addr
	for addr := netip.MustParseAddr("2001:db8::"); len(addrs) < MaxBatchSize+1; addr = addr.Next() {
		addrs = append(addrs, addr)
	}

	got, err := newTestClient(t, server.URL, ModeLite).LookupBatch(context.Background(), addrs)
	if !provider.Retryable(err) {
		t.Errorf("error = %v, want the retryable 503 of the second request", err)
	}
	if result := got[addrs[0]]; result == nil || *result != googleLite {
		t.Errorf("result of the first chunk = %+v, want it kept with the error", result)
	}
}

func TestLookupBatchTimeout(t *testing.T) {
	server := providertest.NewServer(t, providertest.Stall())
	client := New(Options{BaseURL: server.URL, Token: testToken, Timeout: 200 * time.Millisecond})

	_, err := client.LookupBatch(context.Background(), []netip.Addr{testAddr})
	if !provider.Retryable(err) {
		t.Errorf("Retryable = false for %v", err)
	}
	assertNoToken(t, err)
}
