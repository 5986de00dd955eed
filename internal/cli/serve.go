package cli

import (
	"context"
	"fmt"

	"github.com/threat-intel/threat-intel/internal/service"
)

func runServe(ctx context.Context, c *invocation) int {
	if len(c.args) > 0 {
		c.cfg.FilterlogPaths = append(c.cfg.FilterlogPaths, c.args...)
	}
	svc, err := service.New(ctx, service.Options{Config: c.cfg, Logger: c.log})
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel serve: %v\n", err)
		return exitUsage
	}
	if err := svc.Run(ctx); err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel serve: %v\n", err)
		return exitFail
	}
	return exitOK
}
