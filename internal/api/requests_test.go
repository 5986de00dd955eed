package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/api"
	"github.com/threat-intel/threat-intel/internal/api/apitest"
)

func TestBeforeFirstReport(t *testing.T) {
	h := api.New(fixtureOptions(nil)).Handler()
	tests := []struct {
		target string
		status int
		body   string
	}{
		{"/api/report", http.StatusServiceUnavailable, `{"error":"no report yet: the first cycle has not finished"}`},
		{"/api/report/blocked", http.StatusServiceUnavailable, `{"error":"no report yet: the first cycle has not finished"}`},
		{"/api/report/outbound", http.StatusServiceUnavailable, `{"error":"no report yet: the first cycle has not finished"}`},
		{"/api/infinity/summary", http.StatusOK, `[{}]`},
		{"/api/infinity/narrative", http.StatusOK, `[{}]`},
		{"/api/infinity/threats", http.StatusOK, `[]`},
		{"/api/infinity/actions", http.StatusOK, `[]`},
		{"/api/infinity/blocked_ips", http.StatusOK, `[]`},
		{"/api/infinity/outbound_all", http.StatusOK, `[]`},
		{"/api/infinity/outbound_suspicious", http.StatusOK, `[]`},
		{"/api/infinity/ports", http.StatusOK, `[]`},
		{"/api/infinity/critical_ports", http.StatusOK, `[]`},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := get(t, h, tt.target, tt.status)
			if got := strings.TrimSpace(rec.Body.String()); got != tt.body {
				t.Errorf("body %s, want %s", got, tt.body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
		})
	}
}

func TestBeforeFirstReportOtherRoutes(t *testing.T) {
	h := api.New(fixtureOptions(nil)).Handler()

	t.Run("sources come from the callback", func(t *testing.T) {
		rows := decodeRows(t, get(t, h, "/api/infinity/sources", http.StatusOK).Body.Bytes())
		if len(rows) != 2 {
			t.Errorf("%d rows, want 2", len(rows))
		}
	})
	t.Run("cached address is served", func(t *testing.T) {
		get(t, h, "/api/ip/"+apitest.Cached.String(), http.StatusOK)
	})
	t.Run("reported address is not known yet", func(t *testing.T) {
		get(t, h, "/api/ip/"+apitest.BadActor.String(), http.StatusNotFound)
	})
	t.Run("openapi is served", func(t *testing.T) {
		get(t, h, "/api/openapi.json", http.StatusOK)
	})
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name        string
		opts        api.Options
		publish     bool
		stale       bool
		wantStatus  string
		wantReport  bool
		wantReasons int
	}{
		{name: "starting without callback", wantStatus: api.StatusStarting, wantReasons: 1},
		{name: "ok without callback", publish: true, wantStatus: api.StatusOK, wantReport: true},
		{name: "stale report without callback", publish: true, stale: true, wantStatus: api.StatusDegraded, wantReport: true, wantReasons: 1},
		{name: "callback status wins", opts: fixtureOptions(nil), publish: true, wantStatus: api.StatusDegraded, wantReport: true, wantReasons: 1},
		{
			name:       "callback without status falls back",
			opts:       api.Options{Health: func() api.Health { return api.Health{} }},
			publish:    true,
			wantStatus: api.StatusOK, wantReport: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := api.New(tt.opts)
			if tt.publish {
				r := apitest.Report()
				r.Stale = tt.stale
				if err := a.Publish(r); err != nil {
					t.Fatal(err)
				}
			}
			rec := get(t, a.Handler(), "/health", http.StatusOK)
			var body struct {
				Status          string   `json:"status"`
				ReportAvailable bool     `json:"report_available"`
				Reasons         []string `json:"reasons"`
				GeneratedAt     *string  `json:"generated_at"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if body.Status != tt.wantStatus {
				t.Errorf("status %q, want %q", body.Status, tt.wantStatus)
			}
			if body.ReportAvailable != tt.wantReport {
				t.Errorf("report_available %v, want %v", body.ReportAvailable, tt.wantReport)
			}
			if len(body.Reasons) != tt.wantReasons {
				t.Errorf("reasons %q, want %d", body.Reasons, tt.wantReasons)
			}
			if (body.GeneratedAt != nil) != tt.wantReport {
				t.Errorf("generated_at %v with report_available %v", body.GeneratedAt, tt.wantReport)
			}
		})
	}
}

func TestToken(t *testing.T) {
	opts := fixtureOptions(nil)
	opts.Token = "s3cret-token"
	a := api.New(opts)
	if err := a.Publish(apitest.Report()); err != nil {
		t.Fatal(err)
	}
	h := a.Handler()

	tests := []struct {
		name      string
		target    string
		auth      string
		status    int
		challenge string
	}{
		{"missing", "/api/report", "", http.StatusUnauthorized, `Bearer realm="threat-intel"`},
		{"wrong", "/api/report", "Bearer wrong-token", http.StatusUnauthorized, `Bearer realm="threat-intel", error="invalid_token"`},
		{"prefix of the token", "/api/report", "Bearer s3cret", http.StatusUnauthorized, `Bearer realm="threat-intel", error="invalid_token"`},
		{"other scheme", "/api/report", "Basic czNjcmV0LXRva2Vu", http.StatusUnauthorized, `Bearer realm="threat-intel"`},
		{"right", "/api/report", "Bearer s3cret-token", http.StatusOK, ""},
		{"scheme in lower case", "/api/infinity/summary", "bearer s3cret-token", http.StatusOK, ""},
		{"missing on infinity", "/api/infinity/blocked_ips", "", http.StatusUnauthorized, `Bearer realm="threat-intel"`},
		{"missing on address", "/api/ip/" + apitest.BadActor.String(), "", http.StatusUnauthorized, `Bearer realm="threat-intel"`},
		{"missing on unknown path", "/api/nope", "", http.StatusUnauthorized, `Bearer realm="threat-intel"`},
		{"token in query on the blocklist", "/api/blocklist.txt?token=s3cret-token", "", http.StatusOK, ""},
		{"wrong token in query on the blocklist", "/api/blocklist.txt?token=wrong", "", http.StatusUnauthorized, `Bearer realm="threat-intel"`},
		{"token in query elsewhere", "/api/report?token=s3cret-token", "", http.StatusUnauthorized, `Bearer realm="threat-intel"`},
		{"health is open", "/health", "", http.StatusOK, ""},
		{"metrics are open", "/metrics", "", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := http.Header{}
			if tt.auth != "" {
				header.Set("Authorization", tt.auth)
			}
			rec := serve(t, h, http.MethodGet, tt.target, header)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			if got := rec.Header().Get("WWW-Authenticate"); got != tt.challenge {
				t.Errorf("WWW-Authenticate = %q, want %q", got, tt.challenge)
			}
			if tt.status == http.StatusUnauthorized {
				msg := decodeError(t, rec)
				if strings.Contains(msg, "s3cret") {
					t.Errorf("error message contains the token: %q", msg)
				}
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h := newPublished(t).Handler()
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodOptions} {
		for _, target := range []string{"/api/report", "/api/infinity/summary", "/health", "/metrics", "/api/ip/203.0.113.7"} {
			rec := serve(t, h, method, target, nil)
			if rec.Code != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: status %d, want 405", method, target, rec.Code)
				continue
			}
			if got := rec.Header().Get("Allow"); got != "GET, HEAD" {
				t.Errorf("%s %s: Allow = %q, want \"GET, HEAD\"", method, target, got)
			}
			decodeError(t, rec)
		}
	}
}

func TestUnknownPathIsJSON404(t *testing.T) {
	h := newPublished(t).Handler()
	for _, target := range []string{"/", "/api", "/api/report/", "/api/infinity/nope", "/api/ip/"} {
		rec := get(t, h, target, http.StatusNotFound)
		if msg := decodeError(t, rec); !strings.Contains(msg, "/api/openapi.json") {
			t.Errorf("%s: message %q does not point to /api/openapi.json", target, msg)
		}
	}
}

func TestUnknownQueryParametersIgnored(t *testing.T) {
	h := newPublished(t).Handler()
	plain := get(t, h, "/api/infinity/blocked_ips", http.StatusOK).Body.String()
	withQuery := get(t, h, "/api/infinity/blocked_ips?limit=3&from=now-1h&x=%zz", http.StatusOK).Body.String()
	if plain != withQuery {
		t.Error("an unknown query parameter changed the body")
	}
}

func TestETagAndNotModified(t *testing.T) {
	h := newPublished(t).Handler()
	first := get(t, h, "/api/infinity/blocked_ips", http.StatusOK)
	etag := first.Header().Get("ETag")
	if len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Fatalf("ETag %q is not a quoted string", etag)
	}
	if got := first.Header().Get("Content-Length"); got != strconv.Itoa(first.Body.Len()) {
		t.Errorf("Content-Length %s, body has %d bytes", got, first.Body.Len())
	}

	tests := []struct {
		name        string
		ifNoneMatch string
		status      int
	}{
		{"same tag", etag, http.StatusNotModified},
		{"weak form", "W/" + etag, http.StatusNotModified},
		{"in a list", `"other", ` + etag, http.StatusNotModified},
		{"wildcard", "*", http.StatusNotModified},
		{"other tag", `"other"`, http.StatusOK},
		{"unquoted tag", strings.Trim(etag, `"`), http.StatusOK},
		{"empty", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(t, h, http.MethodGet, "/api/infinity/blocked_ips", http.Header{"If-None-Match": {tt.ifNoneMatch}})
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("ETag"); got != etag {
				t.Errorf("ETag %q, want %q", got, etag)
			}
			if tt.status == http.StatusNotModified && rec.Body.Len() != 0 {
				t.Errorf("304 has a body of %d bytes", rec.Body.Len())
			}
		})
	}
}

func TestErrorsHaveNoETag(t *testing.T) {
	h := api.New(api.Options{}).Handler()
	rec := get(t, h, "/api/report", http.StatusServiceUnavailable)
	if got := rec.Header().Get("ETag"); got != "" {
		t.Errorf("503 has ETag %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("503 Cache-Control %q, want no-store", got)
	}
}

func TestHead(t *testing.T) {
	h := newPublished(t).Handler()
	for _, target := range []string{"/api/report", "/api/infinity/summary", "/api/ip/" + apitest.BadActor.String(), "/health", "/api/openapi.json"} {
		getRec := get(t, h, target, http.StatusOK)
		headRec := serve(t, h, http.MethodHead, target, nil)
		if headRec.Code != http.StatusOK {
			t.Errorf("HEAD %s: status %d, want 200", target, headRec.Code)
		}
		if headRec.Body.Len() != 0 {
			t.Errorf("HEAD %s: body of %d bytes", target, headRec.Body.Len())
		}
		if got, want := headRec.Header().Get("Content-Length"), strconv.Itoa(getRec.Body.Len()); got != want {
			t.Errorf("HEAD %s: Content-Length %s, want %s", target, got, want)
		}
	}
}

func TestMetrics(t *testing.T) {
	rec := get(t, newPublished(t).Handler(), "/metrics", http.StatusOK)
	if !strings.Contains(rec.Body.String(), "threat_intel_cache_hits_total") {
		t.Errorf("metrics body %q", rec.Body)
	}
	rec = get(t, api.New(api.Options{}).Handler(), "/metrics", http.StatusNotFound)
	decodeError(t, rec)
}

func TestBlocklist(t *testing.T) {
	h := newPublished(t).Handler()
	tests := []struct {
		name   string
		query  string
		status int
		has    []string
		hasNot []string
	}{
		{name: "both families", query: "", status: http.StatusOK, has: []string{"203.0.113.7", "2001:db8::dead:beef"}},
		{name: "all", query: "?family=all", status: http.StatusOK, has: []string{"203.0.113.7", "2001:db8::dead:beef"}},
		{name: "ipv4", query: "?family=4", status: http.StatusOK, has: []string{"203.0.113.7"}, hasNot: []string{"2001:db8"}},
		{name: "inet6", query: "?family=inet6", status: http.StatusOK, has: []string{"2001:db8::dead:beef"}, hasNot: []string{"203.0.113.7"}},
		{name: "invalid family", query: "?family=5", status: http.StatusBadRequest, has: []string{`invalid family \"5\"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(t, h, "/api/blocklist.txt"+tt.query, tt.status)
			body := rec.Body.String()
			for _, s := range tt.has {
				if !strings.Contains(body, s) {
					t.Errorf("body %q lacks %q", body, s)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("body %q contains %q", body, s)
				}
			}
			if tt.status == http.StatusOK && rec.Header().Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			}
		})
	}

	t.Run("no hook", func(t *testing.T) {
		get(t, api.New(api.Options{}).Handler(), "/api/blocklist.txt", http.StatusNotFound)
	})
	t.Run("hook fails", func(t *testing.T) {
		opts := api.Options{Blocklist: func(string) ([]byte, error) { return nil, errStoreDown }}
		rec := get(t, api.New(opts).Handler(), "/api/blocklist.txt", http.StatusInternalServerError)
		if msg := decodeError(t, rec); strings.Contains(msg, "6379") {
			t.Errorf("message %q leaks the cause", msg)
		}
	})
}

func TestSourcesWithoutCallback(t *testing.T) {
	rec := get(t, api.New(api.Options{}).Handler(), "/api/infinity/sources", http.StatusOK)
	if got := strings.TrimSpace(rec.Body.String()); got != "[]" {
		t.Errorf("body %s, want []", got)
	}
}

func TestErrorCauseIsLogged(t *testing.T) {
	var logs bytes.Buffer
	opts := fixtureOptions(nil)
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h := api.New(opts).Handler()

	rec := get(t, h, "/api/ip/"+storeDownAddr.String(), http.StatusServiceUnavailable)
	if msg := decodeError(t, rec); strings.Contains(msg, "connection refused") {
		t.Errorf("response %q contains the cause", msg)
	}
	line := logs.String()
	for _, want := range []string{"level=ERROR", "status=503", "connection refused", "path=/api/ip/" + storeDownAddr.String()} {
		if !strings.Contains(line, want) {
			t.Errorf("log %q lacks %q", line, want)
		}
	}

	// A client error is logged at Debug level, below the Info threshold
	// of this logger.
	logs.Reset()
	get(t, h, "/api/ip/not-an-ip", http.StatusBadRequest)
	if logs.Len() != 0 {
		t.Errorf("bad request logged at Info or above: %s", logs.String())
	}
}
