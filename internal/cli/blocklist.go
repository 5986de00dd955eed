package cli

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/threat-intel/threat-intel/internal/blocklist"
	"github.com/threat-intel/threat-intel/internal/service"
)

func blocklistFlags(fs *flag.FlagSet, c *invocation) {
	fs.StringVar(&c.family, "family", "", "print only ipv4 or ipv6 addresses; default both")
	fs.BoolVar(&c.diff, "diff", false, "run a cycle on the configured source and show what it would add to and remove from the list, without saving")
}

// runBlocklist prints the stored blocklist as /api/blocklist.txt serves it,
// or with --diff what the next cycle would change.
func runBlocklist(ctx context.Context, c *invocation) int {
	family, err := blocklist.ParseFamily(c.family)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel blocklist: invalid --family %q: want ipv4 or ipv6\n", c.family)
		return exitUsage
	}
	if c.diff {
		return c.blocklistDiff(ctx)
	}
	if len(c.args) > 0 {
		fmt.Fprintln(c.env.Stderr, "threat-intel blocklist: log files are read only with --diff; without it the stored list is printed")
		return exitUsage
	}

	p, err := service.OpenPipeline(ctx, c.pipelineOptions(false))
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel blocklist: %v\n", err)
		return exitFail
	}
	defer p.Close()
	bl, err := service.OpenBlocklist(c.cfg, p)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel blocklist: %v\n", err)
		return exitUsage
	}
	text, err := bl.Text(ctx, family, c.env.Now())
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel blocklist: reading the stored list: %v\n", err)
		return exitFail
	}
	if _, err := c.env.Stdout.Write(text); err != nil {
		return exitFail
	}
	return exitOK
}

// blocklistDiff runs one cycle and previews its effect on the stored list.
func (c *invocation) blocklistDiff(ctx context.Context) int {
	src, name, err := c.cycleSource()
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel blocklist: %v\n", err)
		return exitUsage
	}
	c.cfg.LLMProvider = "rules" // the preview needs no narrative, so it spends no tokens
	runner, p, err := c.newRunner(ctx, src, name)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel blocklist: %v\n", err)
		return exitFail
	}
	defer p.Close()
	if p.Store == nil {
		fmt.Fprintln(c.env.Stderr, "threat-intel blocklist: the store is unavailable, so there is no stored list to compare with")
		return exitFail
	}
	bl, err := service.OpenBlocklist(c.cfg, p)
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel blocklist: %v\n", err)
		return exitUsage
	}

	res, err := runner.Run(ctx, time.Time{})
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel blocklist: %v\n", err)
		return exitFail
	}
	d, err := bl.Preview(ctx, res.Report, c.env.Now())
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel blocklist: %v\n", err)
		return exitFail
	}
	if err := blocklist.WriteDiff(c.env.Stdout, d); err != nil {
		return exitFail
	}
	return exitOK
}
