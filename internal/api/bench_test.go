package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing but the headers, so
// the benchmarks measure the handlers and not a recorder's buffer.
type discardWriter struct {
	header http.Header
	status int
	n      int
}

func (w *discardWriter) Header() http.Header    { return w.header }
func (w *discardWriter) WriteHeader(status int) { w.status = status }
func (w *discardWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}

// benchmarkHandler serves target from h in a benchmark loop and fails
// unless each response is 200 with want bytes.
func benchmarkHandler(b *testing.B, h http.Handler, target string, want int) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	w := &discardWriter{header: http.Header{}}
	b.SetBytes(int64(want))
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.status, w.n = http.StatusOK, 0
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK || w.n != want {
			b.Fatalf("status %d with %d bytes, want 200 with %d", w.status, w.n, want)
		}
	}
}

// BenchmarkInfinityBlockedIPs serves /api/infinity/blocked_ips through the
// whole API handler: routing, method check and snapshot lookup.
func BenchmarkInfinityBlockedIPs(b *testing.B) {
	h := newPublished(b).Handler()
	body := serve(b, h, http.MethodGet, "/api/infinity/blocked_ips", nil).Body.Bytes()
	benchmarkHandler(b, h, "/api/infinity/blocked_ips", len(body))
}

// BenchmarkBareHandler writes the same bytes from a plain net/http handler,
// the baseline the API is measured against.
func BenchmarkBareHandler(b *testing.B) {
	body := serve(b, newPublished(b).Handler(), http.MethodGet, "/api/infinity/blocked_ips", nil).Body.Bytes()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	benchmarkHandler(b, h, "/api/infinity/blocked_ips", len(body))
}
