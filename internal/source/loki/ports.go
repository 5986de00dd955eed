package loki

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/source/promql"
)

// DefaultSelector is the stream selector of the firewall's syslog lines.
const DefaultSelector = `{job="syslog"}`

// DefaultLineFilter is the text every filterlog line contains: the program
// name in its syslog header.
const DefaultLineFilter = "filterlog"

// The regexes below read a blocked inbound filterlog line of Netgate's
// "Filter Log Format" by field position, from the action field on. The
// fields are action, direction and IP version. IPv4 follows with TOS, ECN,
// TTL, ID, fragment offset, flags, protocol number, protocol name, length,
// source and destination. IPv6 follows with class, flow label, hop limit,
// protocol name, protocol number, length, source and destination. TCP, UDP
// and SCTP then give the source and destination ports. Counting fields from the action on, not from the end of
// the line, keeps the TCP options at the end from being read as a port.
// Each regex starts with a literal, which Go's regexp package, used by
// Loki, finds with a fast substring search before it runs the slower
// matcher that fills the capture groups.
const (
	// IPv4PortRegexp requires a fragment offset of 0, because only the
	// first fragment of a packet has the ports.
	IPv4PortRegexp = `,block,in,4,[^,]*,[^,]*,\d+,\d+,0+,[^,]*,(?P<proto_num>6|17|132),(?i:tcp|udp|sctp),\d+,(?P<src_ip>[0-9.]+),[0-9.]+,\d+,(?P<dst_port>\d+)(?:,|$)`
	// IPv6PortRegexp matches only lines whose first next header is the
	// transport protocol: pfSense writes a packet with extension headers
	// as "Options,0" or "Fragment,44", followed by the extension list.
	IPv6PortRegexp = `,block,in,6,[^,]*,[^,]*,\d+,(?i:tcp|udp|sctp),(?P<proto_num>6|17|132),\d+,(?P<src_ip>[0-9a-fA-F:.]+),[0-9a-fA-F:.]+,\d+,(?P<dst_port>\d+)(?:,|$)`
	// InterfaceRegexp reads the interface, two fields before the action.
	// The query uses it only to filter by WAN interface, because it has no
	// literal start and costs more than the two regexes above together.
	InterfaceRegexp = `,(?P<iface>[^,]*),[^,]*,block,in,`
)

// protocolNames maps the proto_num label to the protocol name.
var protocolNames = map[string]string{"6": "tcp", "17": "udp", "132": "sctp"}

// PortOptions configures a PortCounter.
type PortOptions struct {
	// Selector is the LogQL stream selector of the firewall's syslog
	// lines. Default DefaultSelector.
	Selector string
	// LineFilter is a text every filterlog line contains. Default
	// DefaultLineFilter. Set it to "-" when the stream holds only the CSV
	// bodies, without a syslog header.
	LineFilter string
	// WANInterfaces limits the count to lines logged on these interfaces.
	// Empty means every interface.
	WANInterfaces []string
	// OwnPrefixes are excluded as sources like the private ranges.
	OwnPrefixes []netip.Prefix
	// TopPorts is the number of ports returned, most events first. Zero
	// returns every port.
	TopPorts int
}

// Pipeline is the log pipeline of the port query, stage by stage, as
// Loki applies it to each line of the selected streams.
type Pipeline struct {
	// LineFilters are texts the line must contain (|= "…").
	LineFilters []string
	// Regexps are the regexp parser stages, applied in order. A stage that
	// does not match the line extracts nothing, and a later stage's labels
	// overwrite an earlier stage's.
	Regexps []string
	// LabelFilters are the label filters applied after the parsers.
	LabelFilters []promql.Matcher
}

// PortCounter counts the destination ports of blocked inbound lines from
// public sources. It is safe for concurrent use.
type PortCounter struct {
	client   *Client
	opts     PortOptions
	selector string
	pipeline Pipeline
}

// NewPortCounter returns the port query of opts, run by client.
func NewPortCounter(client *Client, opts PortOptions) (*PortCounter, error) {
	if client == nil {
		return nil, fmt.Errorf("creating the Loki port query: no client")
	}
	if opts.TopPorts < 0 {
		return nil, fmt.Errorf("invalid number of ports %d: want zero or more", opts.TopPorts)
	}
	selector, err := ParseSelector(cmp.Or(opts.Selector, DefaultSelector))
	if err != nil {
		return nil, err
	}

	pipeline := Pipeline{Regexps: []string{IPv4PortRegexp, IPv6PortRegexp}}
	if len(opts.WANInterfaces) > 0 {
		pipeline.Regexps = append(pipeline.Regexps, InterfaceRegexp)
	}
	switch filter := cmp.Or(opts.LineFilter, DefaultLineFilter); filter {
	case "-":
	default:
		pipeline.LineFilters = append(pipeline.LineFilters, filter)
	}
	pipeline.LineFilters = append(pipeline.LineFilters, ",block,in,")
	pipeline.LabelFilters = append(pipeline.LabelFilters, promql.Matcher{Name: "dst_port", Type: promql.MatchNotEqual, Value: ""})
	if len(opts.WANInterfaces) > 0 {
		names := make([]string, len(opts.WANInterfaces))
		for i, name := range opts.WANInterfaces {
			names[i] = regexp.QuoteMeta(name)
		}
		pipeline.LabelFilters = append(pipeline.LabelFilters, promql.Matcher{Name: "iface", Type: promql.MatchRegexp, Value: strings.Join(names, "|")})
	}
	pipeline.LabelFilters = append(pipeline.LabelFilters, promql.Matcher{Name: "src_ip", Type: promql.MatchNotRegexp, Value: promql.NonPublicRegexp(opts.OwnPrefixes)})

	return &PortCounter{client: client, opts: opts, selector: selector, pipeline: pipeline}, nil
}

// ParseSelector checks a LogQL stream selector such as {job="syslog"} and
// returns it in canonical form. Loki needs at least one matcher.
func ParseSelector(s string) (string, error) {
	trimmed := strings.TrimSpace(s)
	if !strings.HasPrefix(trimmed, "{") || !strings.HasSuffix(trimmed, "}") {
		return "", fmt.Errorf("invalid Loki stream selector %q: want label matchers in braces, such as %s", s, DefaultSelector)
	}
	matchers, err := promql.ParseMatchers(trimmed)
	if err != nil {
		return "", fmt.Errorf("invalid Loki stream selector %q: %w", s, err)
	}
	if len(matchers) == 0 {
		return "", fmt.Errorf("invalid Loki stream selector %q: want at least one label matcher, such as %s", s, DefaultSelector)
	}
	parts := make([]string, len(matchers))
	for i, m := range matchers {
		parts[i] = m.String()
	}
	return "{" + strings.Join(parts, ", ") + "}", nil
}

// Client returns the client that runs the query.
func (p *PortCounter) Client() *Client { return p.client }

// Pipeline returns the log pipeline of the query.
func (p *PortCounter) Pipeline() Pipeline {
	return Pipeline{
		LineFilters:  slices.Clone(p.pipeline.LineFilters),
		Regexps:      slices.Clone(p.pipeline.Regexps),
		LabelFilters: slices.Clone(p.pipeline.LabelFilters),
	}
}

// Query returns the LogQL metric query of the window's port counts.
//
// NOTE: the extracted labels are named proto_num, src_ip, dst_port and,
// with WAN interfaces, iface. When a stream already has a label of one of these names, Loki
// stores the extracted one as name_extracted, and the query then groups by
// the stream's label instead.
func (p *PortCounter) Query(lookback time.Duration) string {
	var b strings.Builder
	b.WriteString(p.selector)
	for _, f := range p.pipeline.LineFilters {
		b.WriteString(" |= " + promql.Quote(f))
	}
	for _, re := range p.pipeline.Regexps {
		b.WriteString(" | regexp " + rawString(re))
	}
	for _, m := range p.pipeline.LabelFilters {
		value := promql.Quote(m.Value)
		if m.Type == promql.MatchRegexp || m.Type == promql.MatchNotRegexp {
			value = rawString(m.Value)
		}
		b.WriteString(" | " + m.Name + " " + m.Type.String() + " " + value)
	}

	query := fmt.Sprintf("sum by (dst_port, proto_num) (count_over_time(%s [%s]))", b.String(), promql.FormatRange(lookback))
	if p.opts.TopPorts > 0 {
		query = fmt.Sprintf("topk(%d, %s)", p.opts.TopPorts, query)
	}
	return query
}

// rawString returns s as a LogQL backquoted string, in which a regex needs
// no extra escaping, or as a double-quoted one when s contains a backquote.
func rawString(s string) string {
	if strings.Contains(s, "`") {
		return promql.Quote(s)
	}
	return "`" + s + "`"
}

// Count runs the query for the window that ends at until and returns the
// ports, most events first, then by port and protocol.
func (p *PortCounter) Count(ctx context.Context, until time.Time, lookback time.Duration) ([]source.PortCount, error) {
	query := p.Query(lookback)
	resp, err := p.client.Query(ctx, query, until)
	if err != nil {
		return nil, err
	}

	var samples []promql.Sample
	switch resp.Type {
	case TypeVector:
		samples = resp.Vector
	case TypeMatrix:
		// An instant query returns a vector. A matrix, the result of a
		// range query, is read at its last point, the window's end.
		for _, s := range resp.Matrix {
			if len(s.Points) > 0 {
				samples = append(samples, promql.Sample{Metric: s.Metric, Point: s.Points[len(s.Points)-1]})
			}
		}
	default:
		return nil, fmt.Errorf("query %s: unexpected result type %q, want vector", promql.Abbreviate(query), resp.Type)
	}
	return rankPorts(samples, p.opts.TopPorts), nil
}

// rankPorts turns the samples into port counts, skipping labels that are
// not a port and protocol number, sorted by count, then port and protocol.
func rankPorts(samples []promql.Sample, top int) []source.PortCount {
	type key struct {
		port  uint16
		proto string
	}
	counts := make(map[key]uint64)
	for _, s := range samples {
		port, err := strconv.ParseUint(s.Metric["dst_port"], 10, 16)
		proto, known := protocolNames[s.Metric["proto_num"]]
		if err != nil || !known {
			continue
		}
		k := key{uint16(port), proto}
		counts[k] += promql.Count(s.Value)
	}

	out := make([]source.PortCount, 0, len(counts))
	for k, c := range counts {
		if c > 0 {
			out = append(out, source.PortCount{Port: k.port, Protocol: k.proto, Count: c})
		}
	}
	slices.SortFunc(out, func(a, b source.PortCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Port, b.Port), cmp.Compare(a.Protocol, b.Protocol))
	})
	if top > 0 && len(out) > top {
		out = out[:top]
	}
	return out
}
