package blocklist

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Address families of a rendered list, as the API passes them.
const (
	FamilyAll  = ""
	FamilyIPv4 = "4"
	FamilyIPv6 = "6"
)

// ParseFamily returns the family for a flag or query value: "ipv4", "4" or
// "inet" for IPv4, "ipv6", "6" or "inet6" for IPv6, and "", "all" or
// "both" for both. Case is ignored.
func ParseFamily(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "all", "both":
		return FamilyAll, nil
	case "4", "ipv4", "inet":
		return FamilyIPv4, nil
	case "6", "ipv6", "inet6":
		return FamilyIPv6, nil
	}
	return "", fmt.Errorf("invalid address family %q: want ipv4, ipv6, or nothing for both", s)
}

// RenderOptions describes the list that Render writes.
type RenderOptions struct {
	// Family selects the addresses: FamilyIPv4, FamilyIPv6 or FamilyAll.
	Family string
	// GeneratedAt is when the list is served. It is required.
	GeneratedAt time.Time
	// UpdatedAt is when a report was last merged. Zero leaves its line out.
	UpdatedAt time.Time
	// MinLevel and TTL are the listing thresholds, stated in the header.
	MinLevel string
	TTL      time.Duration
}

// Render writes entries as a list for pfBlockerNG IP lists and OPNsense or
// pfSense URL table aliases. The list starts with a header of lines that
// begin with "#", then has one bare address per line, with no CIDR suffix
// and no inline comment. Lines end in LF, the last one too. The header
// states the generation time and the last update in UTC RFC 3339, the
// thresholds, the family and the number of entries. Addresses are filtered
// by family, written once each and sorted numerically, IPv4 first.
//
// Only parsed addresses and the validated options reach the output, so no
// text from a report can add a line.
//
// NOTE: pfBlockerNG and OPNsense skip lines that start with "#". The pfSense
// documentation of URL table aliases does not define comment lines.
func Render(w io.Writer, entries []Entry, opts RenderOptions) error {
	familyName, err := familyLabel(opts.Family)
	if err != nil {
		return err
	}
	if _, ok := levelRank(opts.MinLevel); !ok {
		return fmt.Errorf("invalid minimum level %q: want none, low, medium, high or critical", opts.MinLevel)
	}
	if opts.TTL <= 0 {
		return fmt.Errorf("invalid TTL %s: want a positive duration", opts.TTL)
	}
	if opts.GeneratedAt.IsZero() {
		return errors.New("missing generation time: set RenderOptions.GeneratedAt")
	}

	addrs, err := familyAddrs(entries, opts.Family)
	if err != nil {
		return err
	}

	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "# threat-intel blocklist: known bad actors, one address per line")
	fmt.Fprintf(bw, "# generated: %s\n", opts.GeneratedAt.UTC().Format(time.RFC3339))
	if !opts.UpdatedAt.IsZero() {
		fmt.Fprintf(bw, "# updated: %s\n", opts.UpdatedAt.UTC().Format(time.RFC3339))
	}
	fmt.Fprintf(bw, "# min level: %s\n", opts.MinLevel)
	fmt.Fprintf(bw, "# ttl: %s\n", formatTTL(opts.TTL))
	fmt.Fprintf(bw, "# family: %s\n", familyName)
	// abuse.ch lists state their size in this wording, and this project's
	// feed parser reads it as the declared count.
	fmt.Fprintf(bw, "# number of entries: %d\n", len(addrs))
	var line []byte
	for _, a := range addrs {
		line = append(a.AppendTo(line[:0]), '\n')
		bw.Write(line)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("writing the blocklist: %w", err)
	}
	return nil
}

func familyLabel(family string) (string, error) {
	switch family {
	case FamilyAll:
		return "all", nil
	case FamilyIPv4:
		return "ipv4", nil
	case FamilyIPv6:
		return "ipv6", nil
	}
	return "", fmt.Errorf("invalid address family %q: want %q, %q or %q for both", family, FamilyIPv4, FamilyIPv6, FamilyAll)
}

// familyAddrs returns the unique addresses of entries in family, sorted.
func familyAddrs(entries []Entry, family string) ([]netip.Addr, error) {
	addrs := make([]netip.Addr, 0, len(entries))
	for _, e := range entries {
		if !e.Addr.IsValid() {
			return nil, errors.New("entry without an address")
		}
		a := e.Addr.Unmap().WithZone("")
		if (family == FamilyIPv4 && !a.Is4()) || (family == FamilyIPv6 && !a.Is6()) {
			continue
		}
		addrs = append(addrs, a)
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	return slices.Compact(addrs), nil
}

// formatTTL writes whole hours as "24h" and anything else as Go durations.
func formatTTL(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

// WriteDiff writes d as a table for the terminal: one line per added ("+")
// or removed ("-") address with its level, score, directions, last sighting
// and reason, then a summary line.
func WriteDiff(w io.Writer, d Diff) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if len(d.Added)+len(d.Removed) > 0 {
		fmt.Fprintln(tw, "\tADDRESS\tLEVEL\tSCORE\tDIRECTION\tLAST SEEN\tREASON")
	}
	for _, e := range d.Added {
		writeDiffLine(tw, "+", e, e.Reason)
	}
	for _, r := range d.Removed {
		writeDiffLine(tw, "-", r.Entry, r.Reason)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("writing the blocklist changes: %w", err)
	}

	summary := fmt.Sprintf("%d added, %d removed, %d listed", len(d.Added), len(d.Removed), d.Listed)
	if d.OverCap > 0 {
		summary += fmt.Sprintf(", %d left off because the list is full", d.OverCap)
	}
	if _, err := fmt.Fprintln(w, summary); err != nil {
		return fmt.Errorf("writing the blocklist changes: %w", err)
	}
	if d.Discarded != nil {
		if _, err := fmt.Fprintf(w, "the stored list could not be read and is replaced: %v\n", d.Discarded); err != nil {
			return fmt.Errorf("writing the blocklist changes: %w", err)
		}
	}
	return nil
}

func writeDiffLine(w io.Writer, sign string, e Entry, reason string) {
	dirs := make([]string, len(e.Directions))
	for i, d := range e.Directions {
		dirs[i] = string(d)
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%.1f\t%s\t%s\t%s\n",
		sign, e.Addr, e.Level, e.Score, strings.Join(dirs, ","),
		e.LastSeen.UTC().Format(time.RFC3339), cleanReason(reason))
}
