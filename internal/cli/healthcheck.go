package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// runHealthcheck requests /health from the local service, for container health
// checks in images that have no HTTP client. Exit 0 means the service
// answered 200; its status (ok, degraded, starting) is printed.
func runHealthcheck(ctx context.Context, c *invocation) int {
	host, port, err := net.SplitHostPort(c.cfg.ListenAddr)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel healthcheck: invalid LISTEN_ADDR %q: %v\n", c.cfg.ListenAddr, err)
		return exitUsage
	}
	// A wildcard listen address is reached on loopback.
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/health"

	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel healthcheck: %v\n", err)
		return exitFail
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel healthcheck: %s: %v\n", url, err)
		return exitFail
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	fmt.Fprintf(c.env.Stdout, "%s\n", body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(c.env.Stderr, "threat-intel healthcheck: %s answered %s\n", url, resp.Status)
		return exitFail
	}
	return exitOK
}
