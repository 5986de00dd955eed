package promql

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/version"
)

// recordedRequest is what a test server saw of one request.
type recordedRequest struct {
	Method      string
	Path        string
	Form        url.Values
	UserAgent   string
	ContentType string
	Auth        string
}

// server is an httptest server on 127.0.0.1 that responds to every request
// with status and body, and records the requests.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recordedRequest
}

func newServer(t *testing.T, status int, body []byte) *server {
	t.Helper()
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parsing the request form: %v", err)
		}
		s.mu.Lock()
		s.requests = append(s.requests, recordedRequest{
			Method: r.Method, Path: r.URL.Path, Form: r.Form,
			UserAgent: r.UserAgent(), ContentType: r.Header.Get("Content-Type"), Auth: r.Header.Get("Authorization"),
		})
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) lastRequest(t *testing.T) recordedRequest {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.requests) == 0 {
		t.Fatal("the server got no request")
	}
	return s.requests[len(s.requests)-1]
}

func newClient(t *testing.T, opts Options) *Client {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

const emptyVector = `{"status":"success","data":{"resultType":"vector","result":[]}}`

func TestQueryShortUsesGET(t *testing.T) {
	srv := newServer(t, 200, []byte(emptyVector))
	c := newClient(t, Options{BaseURL: srv.URL + "/select/0/prometheus/", Params: url.Values{"nocache": {"1"}}})

	at := time.UnixMilli(1700000000123)
	if _, err := c.Query(t.Context(), `up{job="a"}`, at); err != nil {
		t.Fatal(err)
	}
	req := srv.lastRequest(t)
	if req.Method != http.MethodGet {
		t.Errorf("method = %s, want GET", req.Method)
	}
	if req.Path != "/select/0/prometheus/api/v1/query" {
		t.Errorf("path = %s", req.Path)
	}
	if got := req.Form.Get("query"); got != `up{job="a"}` {
		t.Errorf("query = %q", got)
	}
	if got := req.Form.Get("time"); got != "1700000000.123" {
		t.Errorf("time = %q, want 1700000000.123", got)
	}
	if got := req.Form.Get("nocache"); got != "1" {
		t.Errorf("nocache = %q, want the extra parameter 1", got)
	}
	if req.UserAgent != version.UserAgent() {
		t.Errorf("User-Agent = %q, want %q", req.UserAgent, version.UserAgent())
	}
}

func TestQueryLongUsesPOSTForm(t *testing.T) {
	srv := newServer(t, 200, []byte(emptyVector))
	c := newClient(t, Options{BaseURL: srv.URL})

	query := `count(up{instance=~"` + strings.Repeat("a|", 2000) + `b"})`
	if _, err := c.Query(t.Context(), query, time.Time{}); err != nil {
		t.Fatal(err)
	}
	req := srv.lastRequest(t)
	if req.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", req.Method)
	}
	if req.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q", req.ContentType)
	}
	if got := req.Form.Get("query"); got != query {
		t.Errorf("the server read a different query of %d bytes", len(got))
	}
	if req.Form.Has("time") {
		t.Errorf("time = %q, want none for a zero time", req.Form.Get("time"))
	}
}

func TestQueryBasicAuthFromURL(t *testing.T) {
	srv := newServer(t, 502, []byte("<html>bad gateway</html>"))
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("reader", "s3cret-pass")
	c := newClient(t, Options{BaseURL: u.String()})

	_, err := c.Query(t.Context(), "up", time.Time{})
	if err == nil {
		t.Fatal("Query succeeded against a 502")
	}
	if req := srv.lastRequest(t); !strings.HasPrefix(req.Auth, "Basic ") {
		t.Errorf("Authorization = %q, want basic authentication from the URL", req.Auth)
	}
	if strings.Contains(err.Error(), "s3cret-pass") {
		t.Errorf("error %q contains the password", err)
	}
	if strings.Contains(c.BaseURL(), "s3cret-pass") {
		t.Errorf("BaseURL() = %q contains the password", c.BaseURL())
	}
}

func TestQueryErrorResponses(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       []byte
		wantType   string
		wantInText string
	}{
		{"error body with 422", 422, backendFile(t, "victoriametrics-api-v1-query-error-vmalert-test.json"), "type:", "some error msg"},
		{"error body with 200", 200, backendFile(t, "victoriametrics-api-v1-query-error-vmalert-test.json"), "type:", "some error msg"},
		{"html from a proxy", 502, []byte("<html>\n<body>Bad Gateway</body>\n</html>"), "", "<html> <body>Bad Gateway</body> </html>"},
		{"empty body", 503, nil, "", "empty response body"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.status, tt.body)
			c := newClient(t, Options{BaseURL: srv.URL})
			_, err := c.Query(t.Context(), "sum(rate(x[5m]))", time.Time{})

			var qErr *Error
			if !errors.As(err, &qErr) {
				t.Fatalf("error = %v, want an *Error", err)
			}
			if qErr.StatusCode != tt.status || qErr.Type != tt.wantType || qErr.Query != "sum(rate(x[5m]))" {
				t.Errorf("Error = %+v", qErr)
			}
			if !strings.Contains(err.Error(), tt.wantInText) {
				t.Errorf("error %q does not contain %q", err, tt.wantInText)
			}
			if !strings.Contains(err.Error(), `"sum(rate(x[5m]))"`) {
				t.Errorf("error %q does not name the query", err)
			}
		})
	}
}

func TestQueryPartialResponseFails(t *testing.T) {
	srv := newServer(t, 200, []byte(`{"status":"success","isPartial":true,"data":{"resultType":"vector","result":[{"metric":{},"value":[1,"5"]}]}}`))
	c := newClient(t, Options{BaseURL: srv.URL})
	_, err := c.Query(t.Context(), "up", time.Time{})
	if !errors.Is(err, ErrPartial) {
		t.Fatalf("error = %v, want ErrPartial", err)
	}
}

func TestQueryMalformedBody(t *testing.T) {
	srv := newServer(t, 200, []byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"x"]}]}}`))
	c := newClient(t, Options{BaseURL: srv.URL})
	_, err := c.Query(t.Context(), "up", time.Time{})
	if err == nil || !strings.Contains(err.Error(), "invalid sample value") || !strings.Contains(err.Error(), `"up"`) {
		t.Fatalf("error = %v, want the invalid value and the query", err)
	}
}

func TestQueryBodyTooLarge(t *testing.T) {
	srv := newServer(t, 200, []byte(emptyVector))
	c := newClient(t, Options{BaseURL: srv.URL, MaxBodyBytes: 10})
	_, err := c.Query(t.Context(), "up", time.Time{})
	if err == nil || !strings.Contains(err.Error(), "larger than 10 bytes") {
		t.Fatalf("error = %v, want the body size limit", err)
	}
}

func TestQueryTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	c := newClient(t, Options{BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	_, err := c.Query(t.Context(), "up", time.Time{})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want context.DeadlineExceeded", err)
	}
	if !strings.Contains(err.Error(), "no response within 50ms") {
		t.Errorf("error %q does not give the timeout", err)
	}
}

func TestQueryConnectionRefused(t *testing.T) {
	addr := closedAddr(t)
	c := newClient(t, Options{BaseURL: "http://" + addr})
	_, err := c.Query(t.Context(), "up", time.Time{})
	if err == nil {
		t.Fatal("Query succeeded against a closed port")
	}
	if !strings.Contains(err.Error(), "http://"+addr+"/api/v1/query") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("error %q does not name the endpoint and the refusal", err)
	}
}

// closedAddr returns a 127.0.0.1 address on which nothing listens.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, raw := range []string{"", "victoriametrics:8428", "ftp://vm:21", "http://", "http://vm:8428/?x=1", "http://vm:8428/#frag"} {
		t.Run(raw, func(t *testing.T) {
			if _, err := New(Options{BaseURL: raw}); err == nil {
				t.Errorf("New(%q) succeeded, want an error", raw)
			}
		})
	}
}

func TestAbbreviate(t *testing.T) {
	long := strings.Repeat("x", 500)
	got := Abbreviate(long)
	if len(got) > 200 || !strings.HasSuffix(got, "…") {
		t.Errorf("Abbreviate of 500 bytes = %q, want under 200 bytes ending in …", got)
	}
	if got := Abbreviate("up"); got != `"up"` {
		t.Errorf("Abbreviate(up) = %s", got)
	}
}
