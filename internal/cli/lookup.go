package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/threat-intel/threat-intel/internal/intel"
	"github.com/threat-intel/threat-intel/internal/scoring"
	"github.com/threat-intel/threat-intel/internal/service"
)

func lookupFlags(fs *flag.FlagSet, c *invocation) {
	fs.BoolVar(&c.json, "json", false, "print a JSON array of intel objects, each with its provider statuses and score explanation")
	fs.BoolVar(&c.outbound, "outbound", false, "score the addresses as outbound destinations (the command-and-control rule) instead of inbound sources")
}

func runLookup(ctx context.Context, c *invocation) int {
	if len(c.args) == 0 {
		fmt.Fprintln(c.env.Stderr, "threat-intel lookup: no address given: pass one or more IP addresses, such as 203.0.113.7 2001:db8::1")
		return exitUsage
	}
	addrs := make([]netip.Addr, 0, len(c.args))
	for _, arg := range c.args {
		a, err := netip.ParseAddr(strings.TrimSpace(arg))
		if err != nil {
			fmt.Fprintf(c.env.Stderr, "threat-intel lookup: invalid IP address %q: pass an IPv4 or IPv6 address without a prefix length or port\n", arg)
			return exitUsage
		}
		addrs = append(addrs, a.WithZone(""))
	}

	p, err := service.OpenPipeline(ctx, c.pipelineOptions(false))
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel lookup: %v\n", err)
		return exitFail
	}
	defer p.Close()

	dir := scoring.Inbound
	if c.outbound {
		dir = scoring.Outbound
	}
	lookups := p.Engine.Enrich(ctx, addrs)
	records := make([]intel.Intel, len(addrs))
	for i, a := range addrs {
		records[i] = p.Scorer.Score(lookups[a], dir).WithEmptyLists()
	}

	if c.json {
		enc := json.NewEncoder(c.env.Stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		err = enc.Encode(records)
	} else {
		err = writeLookupTable(c.env.Stdout, records)
	}
	if err != nil {
		fmt.Fprintf(c.env.Stderr, "threat-intel lookup: writing the result: %v\n", err)
		return exitFail
	}
	return exitOK
}

// writeLookupTable prints one row per address, then each address's
// provider statuses and score components, which explain its score.
func writeLookupTable(w io.Writer, records []intel.Intel) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tCOUNTRY\tASN\tORG\tSCORE\tLEVEL\tABUSE\tOTX\tGREYNOISE\tFEEDS\tFLAGS")
	for _, r := range records {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.1f\t%s\t%d\t%d\t%s\t%s\t%s\n",
			r.IP, dash(r.Country), dash(r.ASN), dash(truncate(r.Org, 28)), r.CompositeScore, r.ThreatLevel,
			r.AbuseConfidenceScore, r.PulseCount, dash(r.GNClassification), dash(strings.Join(r.Feeds, ",")), dash(flags(r)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, r := range records {
		fmt.Fprintf(w, "\n%s\n", r.IP)
		if r.Internal {
			fmt.Fprintln(w, "  internal address: never sent to any provider")
			continue
		}
		var statuses []string
		for _, name := range intel.Providers {
			statuses = append(statuses, fmt.Sprintf("%s: %s", name, r.Providers[name]))
		}
		fmt.Fprintf(w, "  providers  %s\n", strings.Join(statuses, "; "))
		for _, comp := range r.Explanation.Components {
			fmt.Fprintf(w, "  %-10s %5.1f  %s\n", comp.Name, comp.Points, comp.Detail)
		}
		for _, note := range r.Explanation.Notes {
			fmt.Fprintf(w, "  note       %s\n", note)
		}
	}
	return nil
}

func flags(r intel.Intel) string {
	var f []string
	if r.IsKnownBadActor {
		f = append(f, "BAD")
	}
	if r.LikelyFalsePositive {
		f = append(f, "FP")
	}
	if r.RIOT {
		f = append(f, "RIOT")
	}
	if r.Internal {
		f = append(f, "INTERNAL")
	}
	return strings.Join(f, ",")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
