package promql

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/netclass"
)

// MetricName is the counter of firewall events. Its labels are action
// (pass or block), direction (in or out), interface, proto_name, src_ip,
// dst_ip, and the geolocation labels src_lat, src_lon, src_country,
// dst_lat, dst_lon and dst_country.
const MetricName = "firewall_events_total"

// Defaults of FirewallOptions.
const (
	DefaultInternalSourcesPerDestination = 8
	DefaultNATSourcesPerDestination      = 4
)

// topMargin is the number of extra addresses a repeated top query requests
// after the classifier removed some of the first response. The regex in the
// query removes every non-public address written in the usual form, so the
// classifier only removes unusual spellings, such as the hexadecimal form of
// a mapped IPv4 address, or label values that are no address at all.
const topMargin = 5

// maxTopAttempts bounds how often a top query is repeated with a larger k.
const maxTopAttempts = 3

// FirewallOptions configures the queries over firewall_events_total.
type FirewallOptions struct {
	// ExtraMatchers are added to every series selector, to pick one
	// firewall's series when several share the server (instance="fw1"), or
	// one tenant's in a multi-tenant setup.
	ExtraMatchers []Matcher
	// WANInterfaces limits blocked inbound and passed outbound events to
	// these interface names. Empty means every interface.
	WANInterfaces []string
	// OwnPrefixes are the operator's own public prefixes, excluded like
	// the private ranges.
	OwnPrefixes []netip.Prefix

	// TopBlocked and TopOutbound are the sizes of the top lists. Zero
	// skips the query.
	TopBlocked  int
	TopOutbound int
	// InternalSourcesPerDestination and NATSourcesPerDestination cap the
	// sources reported per outbound destination. Zero means the defaults.
	InternalSourcesPerDestination int
	NATSourcesPerDestination      int
}

// Firewall runs the queries over firewall_events_total. It is safe for
// concurrent use.
type Firewall struct {
	client     *Client
	opts       FirewallOptions
	classifier *netclass.Classifier
	nonPublic  string // NonPublicRegexp of the own prefixes
	internal   string // InternalRegexp of the own prefixes
}

// NewFirewall returns the queries of opts, run by client.
func NewFirewall(client *Client, opts FirewallOptions) (*Firewall, error) {
	if client == nil {
		return nil, fmt.Errorf("creating the firewall queries: no client")
	}
	for _, m := range opts.ExtraMatchers {
		if err := m.Validate(); err != nil {
			return nil, fmt.Errorf("invalid extra matcher: %w", err)
		}
	}
	if opts.TopBlocked < 0 || opts.TopOutbound < 0 || opts.InternalSourcesPerDestination < 0 || opts.NATSourcesPerDestination < 0 {
		return nil, fmt.Errorf("invalid firewall query sizes %d, %d, %d, %d: want zero or more",
			opts.TopBlocked, opts.TopOutbound, opts.InternalSourcesPerDestination, opts.NATSourcesPerDestination)
	}
	if opts.InternalSourcesPerDestination == 0 {
		opts.InternalSourcesPerDestination = DefaultInternalSourcesPerDestination
	}
	if opts.NATSourcesPerDestination == 0 {
		opts.NATSourcesPerDestination = DefaultNATSourcesPerDestination
	}
	return &Firewall{
		client:     client,
		opts:       opts,
		classifier: netclass.New(opts.OwnPrefixes),
		nonPublic:  NonPublicRegexp(opts.OwnPrefixes),
		internal:   InternalRegexp(opts.OwnPrefixes),
	}, nil
}

// Client returns the client that runs the queries.
func (f *Firewall) Client() *Client { return f.client }

// RankedAddr is an address of a top list with its event count. Labels
// are the label values it was read from: usually one, more when several
// spellings of one address were merged.
type RankedAddr struct {
	Addr   netip.Addr
	Count  uint64
	Labels []string
}

// DestinationSources are the sources seen sending to one outbound
// destination, most events first.
type DestinationSources struct {
	// Internal are internal hosts, from pass events on any interface,
	// usually the LAN side before NAT.
	Internal []netip.Addr
	// NAT are the sources of the outbound events themselves, which on
	// pfSense are the WAN address after NAT.
	NAT []netip.Addr
}

// selector returns the selector of firewall_events_total with the given
// matchers, the WAN interface matcher when wan is set, and the extra ones.
func (f *Firewall) selector(wan bool, matchers ...Matcher) string {
	all := slices.Clone(matchers)
	if wan && len(f.opts.WANInterfaces) > 0 {
		all = append(all, Matcher{Name: "interface", Type: MatchRegexp, Value: alternation(f.opts.WANInterfaces)})
	}
	all = append(all, f.opts.ExtraMatchers...)
	return selector(MetricName, all)
}

// alternation returns a regex that matches exactly one of the values.
func alternation(values []string) string {
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return strings.Join(quoted, "|")
}

func (f *Firewall) blockedSelector() string {
	return f.selector(true,
		Matcher{Name: "action", Type: MatchEqual, Value: "block"},
		Matcher{Name: "direction", Type: MatchEqual, Value: "in"},
		Matcher{Name: "src_ip", Type: MatchNotRegexp, Value: f.nonPublic})
}

func (f *Firewall) outboundSelector(dst Matcher) string {
	return f.selector(true,
		Matcher{Name: "direction", Type: MatchEqual, Value: "out"},
		Matcher{Name: "action", Type: MatchEqual, Value: "pass"},
		dst)
}

// TopBlockedQuery returns the query of the k blocked inbound public sources
// with the most events in the window.
func (f *Firewall) TopBlockedQuery(lookback time.Duration, k int) string {
	return fmt.Sprintf("topk(%d, sum by (src_ip) (increase(%s[%s])) > 0)", k, f.blockedSelector(), FormatRange(lookback))
}

// DistinctBlockedQuery returns the query of the number of distinct blocked
// inbound public sources in the window.
func (f *Firewall) DistinctBlockedQuery(lookback time.Duration) string {
	return fmt.Sprintf("count(sum by (src_ip) (increase(%s[%s])) > 0)", f.blockedSelector(), FormatRange(lookback))
}

// TopOutboundQuery returns the query of the k passed outbound public
// destinations with the most events in the window.
func (f *Firewall) TopOutboundQuery(lookback time.Duration, k int) string {
	dst := Matcher{Name: "dst_ip", Type: MatchNotRegexp, Value: f.nonPublic}
	return fmt.Sprintf("topk(%d, sum by (dst_ip) (increase(%s[%s])) > 0)", k, f.outboundSelector(dst), FormatRange(lookback))
}

// DestinationSourcesQuery returns the one query of the sources of all the
// given destinations (dst_ip label values). Its first half yields the
// internal sources of inbound pass events, logged on the sender's interface
// before NAT, and its second half the sources of the outbound events. The source_kind label, "internal" or
// "nat", distinguishes them.
func (f *Firewall) DestinationSourcesQuery(lookback time.Duration, dstLabels []string) string {
	dst := Matcher{Name: "dst_ip", Type: MatchRegexp, Value: alternation(dstLabels)}
	window := FormatRange(lookback)
	internalSel := f.selector(false,
		Matcher{Name: "action", Type: MatchEqual, Value: "pass"},
		Matcher{Name: "direction", Type: MatchEqual, Value: "in"},
		dst,
		Matcher{Name: "src_ip", Type: MatchRegexp, Value: f.internal})
	natSel := f.outboundSelector(dst)
	// Two more than the cap leaves room for sources the classifier removes.
	return fmt.Sprintf(`label_replace(topk by (dst_ip) (%d, sum by (dst_ip, src_ip) (increase(%s[%s])) > 0), "source_kind", "internal", "", "")`+
		` or `+
		`label_replace(topk by (dst_ip) (%d, sum by (dst_ip, src_ip) (increase(%s[%s])) > 0), "source_kind", "nat", "", "")`,
		f.opts.InternalSourcesPerDestination+2, internalSel, window,
		f.opts.NATSourcesPerDestination, natSel, window)
}

// InterfacesQuery returns the query of the interfaces with events in the
// window.
func (f *Firewall) InterfacesQuery(lookback time.Duration) string {
	return fmt.Sprintf("count by (interface) (increase(%s[%s]) > 0)", f.selector(false), FormatRange(lookback))
}

// TopBlocked returns the top blocked inbound public sources of the window
// that ends at until, most events first.
func (f *Firewall) TopBlocked(ctx context.Context, until time.Time, lookback time.Duration) ([]RankedAddr, error) {
	return f.top(ctx, until, "src_ip", f.opts.TopBlocked, func(k int) string { return f.TopBlockedQuery(lookback, k) })
}

// TopOutbound returns the top passed outbound public destinations of the
// window that ends at until, most events first.
func (f *Firewall) TopOutbound(ctx context.Context, until time.Time, lookback time.Duration) ([]RankedAddr, error) {
	return f.top(ctx, until, "dst_ip", f.opts.TopOutbound, func(k int) string { return f.TopOutboundQuery(lookback, k) })
}

// top runs the top-k query built by query and keeps the public addresses.
// When the classifier removes some and the response contained k samples, it
// repeats the query with a larger k, so that n public addresses are
// returned when there are n.
func (f *Firewall) top(ctx context.Context, until time.Time, label string, n int, query func(k int) string) ([]RankedAddr, error) {
	if n == 0 {
		return nil, nil
	}
	k := n
	for attempt := 1; ; attempt++ {
		resp, err := f.client.Query(ctx, query(k), until)
		if err != nil {
			return nil, err
		}
		samples, err := vectorOf(resp)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", Abbreviate(query(k)), err)
		}

		ranked, removed := f.rankPublic(samples, label)
		if removed == 0 || len(samples) < k || len(ranked) >= n || attempt == maxTopAttempts {
			if len(ranked) > n {
				ranked = ranked[:n]
			}
			return ranked, nil
		}
		k += removed + topMargin
	}
}

// rankPublic merges the samples by address, drops the addresses that are
// not public, and sorts the rest by count, then address. It returns how
// many samples it dropped.
func (f *Firewall) rankPublic(samples []Sample, label string) ([]RankedAddr, int) {
	byAddr := make(map[netip.Addr]*RankedAddr, len(samples))
	removed := 0
	for _, s := range samples {
		text := s.Metric[label]
		addr, ok := ParseAddr(text)
		if !ok || !f.classifier.IsPublic(addr) {
			removed++
			continue
		}
		r := byAddr[addr]
		if r == nil {
			r = &RankedAddr{Addr: addr}
			byAddr[addr] = r
		}
		r.Count = addCounts(r.Count, Count(s.Value))
		r.Labels = append(r.Labels, text)
	}

	ranked := make([]RankedAddr, 0, len(byAddr))
	for _, r := range byAddr {
		if r.Count > 0 {
			ranked = append(ranked, *r)
		}
	}
	slices.SortFunc(ranked, func(a, b RankedAddr) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return a.Addr.Compare(b.Addr)
	})
	return ranked, removed
}

// DistinctBlocked returns the number of distinct blocked inbound public
// sources in the window that ends at until.
//
// NOTE: a source whose label is an unusual spelling of a non-public
// address (see topMargin) is counted here although the top list drops it.
func (f *Firewall) DistinctBlocked(ctx context.Context, until time.Time, lookback time.Duration) (int, error) {
	query := f.DistinctBlockedQuery(lookback)
	resp, err := f.client.Query(ctx, query, until)
	if err != nil {
		return 0, err
	}
	samples, err := vectorOf(resp)
	if err != nil {
		return 0, fmt.Errorf("query %s: %w", Abbreviate(query), err)
	}
	// count() over no series returns no sample at all.
	total := uint64(0)
	for _, s := range samples {
		total = addCounts(total, Count(s.Value))
	}
	return int(min(total, math.MaxInt32)), nil
}

// DestinationSources returns the sources of each destination in one query.
// dsts are the destinations of TopOutbound. The query matches their
// labels, and the result is keyed by their addresses.
func (f *Firewall) DestinationSources(ctx context.Context, until time.Time, lookback time.Duration, dsts []RankedAddr) (map[netip.Addr]DestinationSources, error) {
	out := make(map[netip.Addr]DestinationSources, len(dsts))
	var labels []string
	addrOf := make(map[string]netip.Addr)
	for _, d := range dsts {
		for _, l := range d.Labels {
			labels = append(labels, l)
			addrOf[l] = d.Addr
		}
	}
	if len(labels) == 0 {
		return out, nil
	}

	query := f.DestinationSourcesQuery(lookback, labels)
	resp, err := f.client.Query(ctx, query, until)
	if err != nil {
		return nil, err
	}
	samples, err := vectorOf(resp)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", Abbreviate(query), err)
	}

	type key struct {
		dst  netip.Addr
		kind string
	}
	counts := make(map[key]map[netip.Addr]uint64)
	for _, s := range samples {
		dst, ok := addrOf[s.Metric["dst_ip"]]
		if !ok {
			continue
		}
		src, ok := ParseAddr(s.Metric["src_ip"])
		if !ok {
			continue
		}
		kind := s.Metric["source_kind"]
		if kind == "internal" && !f.classifier.IsInternal(src) {
			continue
		}
		k := key{dst, kind}
		if counts[k] == nil {
			counts[k] = make(map[netip.Addr]uint64)
		}
		counts[k][src] = addCounts(counts[k][src], Count(s.Value))
	}

	for _, d := range dsts {
		out[d.Addr] = DestinationSources{
			Internal: topAddrs(counts[key{d.Addr, "internal"}], f.opts.InternalSourcesPerDestination),
			NAT:      topAddrs(counts[key{d.Addr, "nat"}], f.opts.NATSourcesPerDestination),
		}
	}
	return out, nil
}

// topAddrs returns at most n addresses of counts, most events first.
func topAddrs(counts map[netip.Addr]uint64, n int) []netip.Addr {
	addrs := make([]netip.Addr, 0, len(counts))
	for a, c := range counts {
		if c > 0 {
			addrs = append(addrs, a)
		}
	}
	slices.SortFunc(addrs, func(a, b netip.Addr) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return a.Compare(b)
	})
	if len(addrs) > n {
		addrs = addrs[:n]
	}
	return addrs
}

// Interfaces returns the names of the interfaces with events in the window
// that ends at until, sorted.
func (f *Firewall) Interfaces(ctx context.Context, until time.Time, lookback time.Duration) ([]string, error) {
	query := f.InterfacesQuery(lookback)
	resp, err := f.client.Query(ctx, query, until)
	if err != nil {
		return nil, err
	}
	samples, err := vectorOf(resp)
	if err != nil {
		return nil, fmt.Errorf("query %s: %w", Abbreviate(query), err)
	}
	names := make([]string, 0, len(samples))
	for _, s := range samples {
		if name := s.Metric["interface"]; name != "" && !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

// vectorOf returns the samples of a vector result, the type every query
// here yields.
func vectorOf(resp *Response) ([]Sample, error) {
	if resp.Type != TypeVector {
		return nil, fmt.Errorf("unexpected result type %q, want vector", resp.Type)
	}
	return resp.Vector, nil
}

// ParseAddr parses an address label value, unmapping IPv4-mapped IPv6
// addresses and dropping a zone, so that every spelling of one address
// gives the same netip.Addr.
func ParseAddr(text string) (netip.Addr, bool) {
	addr, err := netip.ParseAddr(strings.TrimSpace(text))
	if err != nil {
		return netip.Addr{}, false
	}
	return addr.WithZone("").Unmap(), true
}

// Count converts a sample value into an event count: rounded to the
// nearest whole number, because Prometheus' increase extrapolates to the
// window's edges, and 0 for NaN and negative values.
func Count(v float64) uint64 {
	switch {
	case math.IsNaN(v) || v <= 0:
		return 0
	case v >= math.MaxUint64:
		return math.MaxUint64
	}
	return uint64(math.Round(v))
}

// addCounts adds two counts, saturating at the maximum instead of wrapping.
func addCounts(a, b uint64) uint64 {
	if a > math.MaxUint64-b {
		return math.MaxUint64
	}
	return a + b
}

// FormatRange formats a lookback as a PromQL range: whole hours as "1h",
// otherwise minutes or seconds. Durations under a second become "1s".
func FormatRange(d time.Duration) string {
	switch {
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	case d >= time.Second:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
	return "1s"
}
