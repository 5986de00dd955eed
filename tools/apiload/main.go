// Command apiload serves the fixture report for load tests on two loopback
// ports: the real API handler, and a bare net/http handler that writes the
// same /api/infinity/blocked_ips bytes. scripts/load-infinity.sh runs wrk
// against both and compares requests per second, for example:
//
//	go run ./tools/apiload -addr-file /tmp/apiload.addrs
//
// With API_TOKEN set, the API handler requires it, as the service does.
// It writes the two base URLs, API first, one a line, to -addr-file (or
// standard output) once both listen, and stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"syscall"

	"github.com/threat-intel/threat-intel/internal/api"
	"github.com/threat-intel/threat-intel/internal/api/apitest"
)

// loadPath is the route the bare handler copies.
const loadPath = "/api/infinity/blocked_ips"

func main() {
	apiAddr := flag.String("api", "127.0.0.1:0", "listen address of the API handler")
	bareAddr := flag.String("bare", "127.0.0.1:0", "listen address of the bare handler")
	addrFile := flag.String("addr-file", "", "file to write the two base URLs to; empty means standard output")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *apiAddr, *bareAddr, *addrFile); err != nil {
		fmt.Fprintln(os.Stderr, "apiload:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, apiAddr, bareAddr, addrFile string) error {
	a := api.New(api.Options{Token: os.Getenv("API_TOKEN")})
	if err := a.Publish(apitest.Report()); err != nil {
		return fmt.Errorf("publishing the fixture report: %w", err)
	}
	body, err := bodyOf(a.Handler())
	if err != nil {
		return err
	}
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})

	apiLn, err := net.Listen("tcp", apiAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", apiAddr, err)
	}
	bareLn, err := net.Listen("tcp", bareAddr)
	if err != nil {
		apiLn.Close()
		return fmt.Errorf("listening on %s: %w", bareAddr, err)
	}

	// Both servers get the same limits, so only the handlers differ.
	servers := []*http.Server{api.Server(apiLn.Addr().String(), a.Handler()), api.Server(bareLn.Addr().String(), bare)}
	errs := make(chan error, len(servers))
	for i, ln := range []net.Listener{apiLn, bareLn} {
		go func() { errs <- servers[i].Serve(ln) }()
	}

	urls := fmt.Sprintf("http://%s\nhttp://%s\n", apiLn.Addr(), bareLn.Addr())
	if addrFile == "" {
		fmt.Print(urls)
	} else if err := os.WriteFile(addrFile, []byte(urls), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", addrFile, err)
	}

	select {
	case <-ctx.Done():
	case err := <-errs:
		return fmt.Errorf("serving: %w", err)
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), api.ShutdownTimeout)
	defer cancel()
	var shutdownErr error
	for _, srv := range servers {
		shutdownErr = errors.Join(shutdownErr, srv.Shutdown(shutdownCtx))
	}
	return shutdownErr
}

// bodyOf returns the bytes the API serves at loadPath.
func bodyOf(h http.Handler) ([]byte, error) {
	req := httptest.NewRequest(http.MethodGet, loadPath, nil)
	if token := os.Getenv("API_TOKEN"); token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return nil, fmt.Errorf("requesting %s: status %d: %s", loadPath, rec.Code, rec.Body)
	}
	return rec.Body.Bytes(), nil
}
