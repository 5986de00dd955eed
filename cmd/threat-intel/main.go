// Command threat-intel turns pfSense and OPNsense firewall telemetry into
// scored, explained threat intelligence. See `threat-intel help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // time zones work on hosts and images without a zoneinfo database

	"github.com/threat-intel/threat-intel/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx)
	stop()
	os.Exit(code)
}
