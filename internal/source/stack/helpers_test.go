package stack

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// defaultVictoriaMetricsTestURL is where scripts/test-services.sh starts
// VictoriaMetrics; VICTORIAMETRICS_TEST_URL points the tests elsewhere.
const defaultVictoriaMetricsTestURL = "http://127.0.0.1:8428"

// victoriaMetricsURL returns the URL of the test VictoriaMetrics and fails
// the test when its /health endpoint does not respond OK. With -short, the
// test is skipped instead, because it needs a service.
func victoriaMetricsURL(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs VictoriaMetrics; run without -short after scripts/test-services.sh")
	}
	url := os.Getenv("VICTORIAMETRICS_TEST_URL")
	if url == "" {
		url = defaultVictoriaMetricsTestURL
	}
	url = strings.TrimRight(url, "/")
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url + "/health")
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "OK" {
			return url
		}
		err = &unexpectedHealth{status: resp.StatusCode, body: string(body)}
	}
	t.Fatalf("the stack tests need VictoriaMetrics at %s (run scripts/test-services.sh, or set VICTORIAMETRICS_TEST_URL): %v", url, err)
	return ""
}

type unexpectedHealth struct {
	status int
	body   string
}

func (e *unexpectedHealth) Error() string {
	return "GET /health answered " + http.StatusText(e.status) + ": " + e.body
}

// series is one firewall_events_total series to import, with its value at
// the two sample times: zero, then count.
type series struct {
	action, direction, iface, src, dst string
	count                              float64
}

// importSeries writes the series with the label test_run=run, each with
// the value 0 at t0 and its count at t1, and makes them searchable.
func importSeries(t *testing.T, baseURL, run string, t0, t1 time.Time, all []series) {
	t.Helper()
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	for _, s := range all {
		line := map[string]any{
			"metric": map[string]string{
				"__name__": "firewall_events_total", "test_run": run,
				"action": s.action, "direction": s.direction, "interface": s.iface, "proto_name": "tcp",
				"src_ip": s.src, "dst_ip": s.dst,
				"src_lat": "0", "src_lon": "0", "src_country": "Unknown",
				"dst_lat": "0", "dst_lon": "0", "dst_country": "Unknown",
			},
			"values":     []float64{0, s.count},
			"timestamps": []int64{t0.UnixMilli(), t1.UnixMilli()},
		}
		if err := enc.Encode(line); err != nil {
			t.Fatal(err)
		}
	}
	post(t, baseURL+"/api/v1/import", "application/json", &body)
	// Imported rows become searchable after a flush, which VictoriaMetrics
	// otherwise does every second or so.
	post(t, baseURL+"/internal/force_flush", "", nil)
}

func post(t *testing.T, url, contentType string, body io.Reader) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: %s: %s", url, resp.Status, msg)
	}
}

// uniqueRun returns a random test_run label value, so that repeated and
// concurrent runs read only their own series.
func uniqueRun(t *testing.T) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "go-test-" + hex.EncodeToString(b)
}

// replayServer responds to every request with status and body, on 127.0.0.1.
func replayServer(t *testing.T, status int, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// hangingServer responds to no request until the test ends.
func hangingServer(t *testing.T) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv
}

// closedURL returns an http URL on 127.0.0.1 where nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// queryRecorder is an Observer that records every query.
type queryRecorder struct {
	mu    sync.Mutex
	calls []recordedQuery
}

type recordedQuery struct {
	backend, query string
	failed         bool
}

func (r *queryRecorder) QueryDone(backend, query string, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, recordedQuery{backend, query, err != nil})
}

func (r *queryRecorder) has(backend, query string, failed bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.calls {
		if c == (recordedQuery{backend, query, failed}) {
			return true
		}
	}
	return false
}
