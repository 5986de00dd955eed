package api_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/api"
)

// startServer runs the fixture API behind api.Server on 127.0.0.1 with a
// short ReadHeaderTimeout, and shuts it down when the test ends.
func startServer(t *testing.T, readHeaderTimeout time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.Server(ln.Addr().String(), newPublished(t).Handler())
	srv.ReadHeaderTimeout = readHeaderTimeout

	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutting down: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v", err)
		}
	})
	return ln.Addr().String()
}

// checkServes fails the test unless a fresh client gets /health.
func checkServes(t *testing.T, addr string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatalf("server stopped serving other clients: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /health after a bad request: status %d", resp.StatusCode)
	}
}

func TestServerSetsLimits(t *testing.T) {
	srv := api.Server(":8000", http.NotFoundHandler())
	if srv.Addr != ":8000" {
		t.Errorf("Addr %q", srv.Addr)
	}
	if srv.ReadHeaderTimeout != 5*time.Second {
		t.Errorf("ReadHeaderTimeout %v, want 5s", srv.ReadHeaderTimeout)
	}
	for name, d := range map[string]time.Duration{
		"ReadTimeout": srv.ReadTimeout, "WriteTimeout": srv.WriteTimeout, "IdleTimeout": srv.IdleTimeout,
	} {
		if d <= 0 {
			t.Errorf("%s is not set", name)
		}
	}
	if srv.MaxHeaderBytes != 64<<10 {
		t.Errorf("MaxHeaderBytes %d, want 64 KiB", srv.MaxHeaderBytes)
	}
}

func TestServerMalformedAddress(t *testing.T) {
	addr := startServer(t, time.Second)
	resp, err := http.Get("http://" + addr + "/api/ip/not-an-ip")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if !strings.Contains(string(body), `invalid IP address \"not-an-ip\"`) {
		t.Errorf("body %s", body)
	}
	checkServes(t, addr)
}

func TestServerPostIs405(t *testing.T) {
	addr := startServer(t, time.Second)
	resp, err := http.Post("http://"+addr+"/api/report", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("status %d, want 405", resp.StatusCode)
	}
	if got := resp.Header.Get("Allow"); got != "GET, HEAD" {
		t.Errorf("Allow %q", got)
	}
	checkServes(t, addr)
}

func TestServerRejectsHugeHeader(t *testing.T) {
	addr := startServer(t, 2*time.Second)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}

	// The server sends the 431 before reading the whole header, so the write
	// runs on its own and may fail once the server closes.
	go func() {
		req := "GET /health HTTP/1.1\r\nHost: test\r\nX-Padding: " + strings.Repeat("a", 1<<20) + "\r\n\r\n"
		_, _ = io.WriteString(conn, req)
	}()

	status, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the status line: %v", err)
	}
	if !strings.HasPrefix(status, "HTTP/1.1 431") {
		t.Errorf("status line %q, want 431", status)
	}
	checkServes(t, addr)
}

func TestServerClosesSlowHeaders(t *testing.T) {
	const timeout = 300 * time.Millisecond
	addr := startServer(t, timeout)
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()

	// Send the request line one byte every 100 ms: the whole request would
	// take several seconds, far beyond the header timeout.
	closed := make(chan time.Duration, 1)
	start := time.Now()
	go func() {
		buf := make([]byte, 512)
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			if _, err := conn.Read(buf); err != nil {
				closed <- time.Since(start)
				return
			}
		}
	}()

	request := "GET /health HTTP/1.1\r\nHost: test\r\nX-Slow: " + strings.Repeat("s", 60) + "\r\n\r\n"
	for i := 0; i < len(request); i++ {
		select {
		case elapsed := <-closed:
			if elapsed > 5*timeout {
				t.Errorf("connection closed after %v, want about %v", elapsed, timeout)
			}
			checkServes(t, addr)
			return
		case <-time.After(100 * time.Millisecond):
		}
		if _, err := conn.Write([]byte{request[i]}); err != nil {
			// The server closed the connection; the reader sees it next.
			continue
		}
	}
	t.Fatalf("the server read the whole slow request (%d bytes over %v) without closing the connection", len(request), time.Since(start))
}
