package filterlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"
)

// The conformance tests run the parser over real lines that other projects
// test with (the corpus, see its README) and compare with the parses those
// projects expect. The corpus is data read from disk, never copied here.

// corpusLines returns the lines of a corpus filterlog file, without the
// empty line a final newline leaves.
func corpusLines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "filterlog", name))
	if err != nil {
		t.Fatalf("reading corpus file: %v", err)
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

func readCorpusJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "filterlog", name))
	if err != nil {
		t.Fatalf("reading corpus file: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
}

// The files of allddd/opnsense-filterlog mix valid lines, whose label is 32
// hex digits, with broken ones whose label names the defect.
const (
	alldddCorrupt = "allddd-opnsense-filterlog-tests-filter_corrupt.log"
	alldddMixed   = "allddd-opnsense-filterlog-tests-filter_mixed.log"
	alldddValid   = "allddd-opnsense-filterlog-tests-filter_valid.log"
	elasticOPN    = "elastic-integrations-test-opensense.log"
)

var (
	hexLabel    = regexp.MustCompile(`,,,[0-9a-f]{32},`)
	defectLabel = regexp.MustCompile(`\d+,,,([a-z0-9]+)(,|$)`)
)

// mixedDefects maps each defect label of filter_mixed.log to the reasons
// that describe it.
var mixedDefects = map[string][]string{
	"badtimestamp":               {ReasonBadHeader, ReasonBadTimestamp},
	"badtimestampformat":         {ReasonBadTimestamp},
	"badtimestampinvaliddate":    {ReasonBadTimestamp},
	"missingcsvmarker":           {ReasonBadHeader},
	"missingmetabracket":         {ReasonBadHeader},
	"badprioritywithspace":       {ReasonBadHeader},
	"missingpriority":            {ReasonNotFilterlog, ReasonBadHeader},
	"csvmissingfields":           {ReasonTooFewFields},
	"missingaction":              {ReasonTooFewFields},
	"missingdirection":           {ReasonTooFewFields},
	"missingipversion":           {ReasonTooFewFields},
	"invalidipversionnotanumber": {ReasonBadIPVersion},
	"invalidipversion99":         {ReasonBadIPVersion},
	"ipv4missingprotoname":       {ReasonTooFewFields},
	"ipv4missingsrcip":           {ReasonTooFewFields},
	"ipv4missingdstip":           {ReasonTooFewFields},
	"ipv6missingprotoname":       {ReasonTooFewFields},
	"ipv6missinglength":          {ReasonTooFewFields},
	"ipv6missingsrcip":           {ReasonTooFewFields},
	"ipv6missingdstip":           {ReasonTooFewFields},
	"ipv4udpbadsrcport":          {ReasonBadPort},
	"ipv4udpbaddstport":          {ReasonBadPort},
	"ipv4tcpbadsrcport":          {ReasonBadPort},
	"ipv4tcpbaddstport":          {ReasonBadPort},
	"ipv6udpbadsrcport":          {ReasonBadPort},
	"ipv6udpbaddstport":          {ReasonBadPort},
	"ipv6tcpbadsrcport":          {ReasonBadPort},
	"ipv6tcpbaddstport":          {ReasonBadPort},
	"srcportoverflow":            {ReasonBadPort},
}

// expectedSkip returns whether a corpus line must be skipped and, when the
// source names its defect, the reasons that fit. Only lines their source
// marks as broken, and lines of other programs, may be skipped.
func expectedSkip(t *testing.T, file, line string) (skip bool, reasons []string) {
	t.Helper()
	switch file {
	case alldddCorrupt:
		return true, nil
	case alldddMixed:
		if hexLabel.MatchString(line) {
			return false, nil
		}
		match := defectLabel.FindStringSubmatch(line)
		if match == nil {
			return true, []string{ReasonNotFilterlog}
		}
		reasons, ok := mixedDefects[match[1]]
		if !ok {
			t.Fatalf("no expectation for the defect label %q in %s", match[1], file)
		}
		return true, reasons
	case elasticOPN:
		if !strings.Contains(line, " filterlog") {
			return true, []string{ReasonNotFilterlog}
		}
	}
	return false, nil
}

// TestCorpusEveryLine parses every line of every corpus log file.
func TestCorpusEveryLine(t *testing.T) {
	pattern := filepath.Join(corpustest.Dir(t), "filterlog", "*.log")
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus log files match %s (glob error: %v); set THREAT_INTEL_CORPUS to the corpus directory", pattern, err)
	}
	p := NewParser(Options{Location: time.UTC, Now: func() time.Time { return testNow }})

	parsed, skipped := 0, 0
	for _, path := range files {
		file := filepath.Base(path)
		t.Run(file, func(t *testing.T) {
			for i, line := range corpusLines(t, file) {
				if line == "" {
					continue
				}
				wantSkip, reasons := expectedSkip(t, file, line)
				var ev Event
				err := p.Parse([]byte(line), &ev)
				switch {
				case err == nil && wantSkip:
					t.Errorf("line %d parsed, want it skipped: %q", i+1, line)
				case err != nil && !wantSkip:
					t.Errorf("line %d: %v, want it parsed: %q", i+1, err, line)
				case err != nil:
					skipped++
					checkSkip(t, []byte(line), err, ev)
					if reason := err.(*SkipError).Reason; reasons != nil && !slices.Contains(reasons, reason) {
						t.Errorf("line %d skipped as %s, want one of %v: %q", i+1, reason, reasons, line)
					}
				default:
					parsed++
					checkComplete(t, []byte(line), ev)
				}
			}
		})
	}
	t.Logf("%d corpus lines parsed, %d skipped", parsed, skipped)
}

// TestCorpusAllddd compares with the expected output of allddd's CLI for
// the first lines of filter_valid.log.
func TestCorpusAllddd(t *testing.T) {
	var expected struct {
		Entries []map[string]string `json:"entries"`
	}
	readCorpusJSON(t, "allddd-opnsense-filterlog-cli-valid-expected.json", &expected)
	lines := corpusLines(t, alldddValid)
	if len(expected.Entries) == 0 || len(expected.Entries) > len(lines) {
		t.Fatalf("%d expected entries for %d lines", len(expected.Entries), len(lines))
	}

	p := newTestParser()
	for i, want := range expected.Entries {
		var ev Event
		if err := p.Parse([]byte(lines[i]), &ev); err != nil {
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		c := fieldChecker{t: t, where: fmt.Sprintf("line %d", i+1)}
		c.time(ev.Time, want["time"])
		c.equal("label", ev.Label, want["label"])
		c.equal("action", ev.Action.String(), want["action"])
		c.equal("reason", ev.Reason, want["reason"])
		c.equal("dir", ev.Direction.String(), want["dir"])
		c.equal("iface", ev.Interface, want["iface"])
		c.number("ipver", int(ev.IPVersion), want["ipver"])
		c.equal("proto", ev.ProtocolName, want["proto"])
		c.equal("src", ev.Src.String(), want["src"])
		c.equal("dst", ev.Dst.String(), want["dst"])
		c.port("sport", ev.HasPorts, ev.SrcPort, want["sport"])
		c.port("dport", ev.HasPorts, ev.DstPort, want["dport"])
		c.number("length", ev.Length, want["length"])
		c.number("datalen", ev.DataLength, want["datalen"])
		c.optional("tcpflags", ev.TCPFlags, want["tcpflags"])
	}
}

// crowdsecEntry is one transcribed CrowdSec parser assertion.
type crowdsecEntry struct {
	Success bool              `json:"Success"`
	Parsed  map[string]string `json:"Parsed"`
	Meta    map[string]string `json:"Meta"`
}

// TestCorpusCrowdsecPF compares with the CrowdSec hub's pf-logs assertions.
// NOTE: the hub leaves the TCP fields of the sequence-range line empty; only
// the keys an assertion has are compared.
func TestCorpusCrowdsecPF(t *testing.T) {
	var expected []crowdsecEntry
	readCorpusJSON(t, "crowdsec-hub-pf-logs-expected.json", &expected)
	lines := corpusLines(t, "crowdsec-hub-pf-logs.log")
	if len(expected) != len(lines) {
		t.Fatalf("%d expected entries for %d lines", len(expected), len(lines))
	}

	p := newTestParser()
	for i, entry := range expected {
		line := []byte(lines[i])
		var ev Event
		if err := p.Parse(line, &ev); err != nil {
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		h, err := ParseHeader(line, time.UTC, testNow)
		if err != nil {
			t.Fatalf("line %d: ParseHeader = %v", i+1, err)
		}

		want := entry.Parsed
		c := fieldChecker{t: t, where: fmt.Sprintf("line %d", i+1)}
		c.equal("action", ev.Action.String(), want["action"])
		c.equal("direction", ev.Direction.String(), want["direction"])
		c.equal("src_ip", ev.Src.String(), want["src_ip"])
		c.equal("dst_ip", ev.Dst.String(), want["dst_ip"])
		c.port("src_port", ev.HasPorts, ev.SrcPort, want["src_port"])
		c.port("dst_port", ev.HasPorts, ev.DstPort, want["dst_port"])
		c.equal("iface", ev.Interface, want["iface"])
		c.number("ip_ver", int(ev.IPVersion), want["ip_ver"])
		c.number("length", ev.Length, want["length"])
		c.equal("rule", ev.Rule, want["rule"])
		c.equal("tracker", ev.Label, want["tracker"])
		c.equal("reason", ev.Reason, want["reason"])
		c.optional("tcp_flags", ev.TCPFlags, want["tcp_flags"])
		c.optionalNumber("data_length", ev.DataLength, want["data_length"])
		for _, key := range []string{"ip4_proto", "ip6_proto"} {
			c.optional(key, ev.ProtocolName, want[key])
		}
		for _, key := range []string{"ip4_proto_id", "ip6_proto_id"} {
			c.optionalNumber(key, int(ev.ProtocolNum), want[key])
		}
		c.equal("program", string(h.AppName), want["program"])
		c.optional("pid", string(h.ProcID), want["pid"])
		c.optionalNumber("syslog_priority", h.Priority, want["syslog_priority"])
		c.equal("machine", ev.Host, entry.Meta["machine"])
		c.equal("message", string(line[h.MessageStart:]), want["message"])
		if stamp, ok := want["timestamp8601"]; ok {
			c.time(ev.Time, stamp)
		}
		if stamp, ok := want["timestamp"]; ok {
			c.equal("timestamp", ev.Time.Format(time.Stamp), stamp)
		}
	}
}

// TestCorpusCrowdsecRFC5424 compares ParseHeader with the CrowdSec hub's
// syslog header assertions for pfSense RFC 5424 lines.
func TestCorpusCrowdsecRFC5424(t *testing.T) {
	var expected []crowdsecEntry
	readCorpusJSON(t, "crowdsec-hub-pfsense-rfc5424-filterlog-expected.json", &expected)
	lines := corpusLines(t, "crowdsec-hub-pfsense-rfc5424-filterlog.log")
	if len(expected) != len(lines) {
		t.Fatalf("%d expected entries for %d lines", len(expected), len(lines))
	}

	for i, entry := range expected {
		line := []byte(lines[i])
		h, err := ParseHeader(line, time.UTC, testNow)
		if err != nil {
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		want := entry.Parsed
		c := fieldChecker{t: t, where: fmt.Sprintf("line %d", i+1)}
		c.equal("format", h.Format.String(), "rfc5424")
		c.number("syslog_priority", h.Priority, want["syslog_priority"])
		c.time(h.Time, want["timestamp8601"])
		c.equal("program", string(h.AppName), want["program"])
		c.equal("pid", string(h.ProcID), want["pid"])
		c.equal("machine", string(h.Host), entry.Meta["machine"])
		c.equal("message", string(line[h.MessageStart:]), want["message"])
	}
}

// TestCorpusElastic compares with Elastic's pfSense integration pipeline
// tests, parsing each expected entry's event.original.
//
// Known differences, not compared:
//   - Elastic also parses dhcpd and unbound lines; Parse skips them as not_filterlog.
//   - pfsense.ip.flags of IPv6 entries holds the hop limit, and network.packets
//     the ICMPv6 data length; both are Elastic mapping quirks.
//   - The year of BSD lines comes from the pinned clock of Elastic's tests,
//     so each file is parsed with a clock that gives the same year.
func TestCorpusElastic(t *testing.T) {
	files := []struct {
		name string
		now  time.Time // a clock that dates the BSD lines as Elastic's test clock did
	}{
		{"elastic-integrations-test-opensense.log-expected.json", time.Date(2023, 12, 31, 4, 0, 0, 0, utc)},
		{"elastic-integrations-test-opensense-transport-dash.log-expected.json", time.Date(2025, 1, 2, 0, 0, 0, 0, utc)},
		{"elastic-integrations-test-pfsense-bsd.log-expected-excerpt.json", time.Date(2022, 7, 5, 0, 0, 0, 0, utc)},
	}
	for _, file := range files {
		t.Run(file.name, func(t *testing.T) {
			var expected struct {
				Expected []map[string]any `json:"expected"`
			}
			readCorpusJSON(t, file.name, &expected)
			checked := 0
			for i, entry := range expected.Expected {
				if entry == nil {
					continue // a line Elastic's pipeline dropped
				}
				checkElasticEntry(t, fmt.Sprintf("entry %d", i), entry, file.now)
				checked++
			}
			if checked == 0 {
				t.Fatalf("no entries in %s", file.name)
			}
		})
	}
}

func checkElasticEntry(t *testing.T, where string, entry map[string]any, now time.Time) {
	t.Helper()
	get := func(path string) (string, bool) {
		var v any = entry
		for key := range strings.SplitSeq(path, ".") {
			m, ok := v.(map[string]any)
			if !ok {
				return "", false
			}
			if v, ok = m[key]; !ok {
				return "", false
			}
		}
		switch v := v.(type) {
		case string:
			return v, true
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64), true
		}
		return fmt.Sprint(v), true
	}

	original, _ := get("event.original")
	offset, _ := get("event.timezone")
	zone, err := time.Parse("-07:00", offset)
	if err != nil {
		t.Fatalf("%s: event.timezone %q: %v", where, offset, err)
	}
	_, zoneOffset := zone.Zone()
	p := NewParser(Options{Location: time.FixedZone("", zoneOffset), Now: func() time.Time { return now }})

	var ev Event
	err = p.Parse([]byte(original), &ev)
	if provider, _ := get("event.provider"); provider != "filterlog" {
		var skip *SkipError
		if !errors.As(err, &skip) || skip.Reason != ReasonNotFilterlog {
			t.Errorf("%s: Parse(%q) = %v, want skipped as not_filterlog", where, original, err)
		}
		return
	}
	if err != nil {
		t.Errorf("%s: Parse(%q) = %v", where, original, err)
		return
	}
	h, err := ParseHeader([]byte(original), ev.Time.Location(), now)
	if err != nil {
		t.Fatalf("%s: ParseHeader = %v", where, err)
	}

	c := fieldChecker{t: t, where: where}
	stamp, _ := get("@timestamp")
	c.time(ev.Time, stamp)
	want := func(path string) string { v, _ := get(path); return v }
	c.equal("source.ip", ev.Src.String(), want("source.ip"))
	c.equal("destination.ip", ev.Dst.String(), want("destination.ip"))
	c.port("source.port", ev.HasPorts, ev.SrcPort, want("source.port"))
	c.port("destination.port", ev.HasPorts, ev.DstPort, want("destination.port"))
	c.equal("network.transport", ev.ProtocolName, want("network.transport"))
	c.number("network.iana_number", int(ev.ProtocolNum), want("network.iana_number"))
	c.equal("network.type", "ipv"+strconv.Itoa(int(ev.IPVersion)), want("network.type"))
	c.number("network.bytes", ev.Length, want("network.bytes"))
	c.equal("event.action", ev.Action.String(), want("event.action"))
	c.equal("event.reason", ev.Reason, want("event.reason"))
	directions := map[string]string{"inbound": "in", "outbound": "out", "in": "in", "out": "out"}
	c.equal("network.direction", ev.Direction.String(), directions[want("network.direction")])
	c.equal("observer.ingress.interface.name", ev.Interface, want("observer.ingress.interface.name"))
	c.optional("observer.name", ev.Host, want("observer.name"))
	c.equal("rule.id", ev.Label, want("rule.id"))
	c.optional("pfsense.tcp.flags", ev.TCPFlags, want("pfsense.tcp.flags"))
	c.optionalNumber("pfsense.tcp.length", ev.DataLength, want("pfsense.tcp.length"))
	c.optionalNumber("pfsense.udp.length", ev.DataLength, want("pfsense.udp.length"))
	c.equal("process.name", string(h.AppName), want("process.name"))
	c.equal("process.pid", string(h.ProcID), want("process.pid"))
	c.number("log.syslog.priority", h.Priority, want("log.syslog.priority"))
}

// TestCorpusMozilla compares with the mozilla-services lua_sandbox filterlog
// test table. Its protocol_text keeps the logged spelling ("ICMPv6"), which
// Parse names "ipv6-icmp".
func TestCorpusMozilla(t *testing.T) {
	var expected []struct {
		Input    string         `json:"input"`
		Expected map[string]any `json:"expected"`
	}
	readCorpusJSON(t, "mozilla-lua_sandbox_extensions-bsd-filterlog-expected.json", &expected)
	if len(expected) == 0 {
		t.Fatal("no entries")
	}

	p := newTestParser()
	for i, entry := range expected {
		var ev Event
		if err := p.Parse([]byte(entry.Input), &ev); err != nil {
			t.Errorf("entry %d: %v", i, err)
			continue
		}
		want := func(key string) string {
			v, ok := entry.Expected[key]
			if !ok {
				return ""
			}
			if f, ok := v.(float64); ok {
				return strconv.FormatFloat(f, 'f', -1, 64)
			}
			return fmt.Sprint(v)
		}
		c := fieldChecker{t: t, where: fmt.Sprintf("entry %d", i)}
		c.equal("direction", ev.Direction.String(), want("direction"))
		c.equal("reason", ev.Reason, want("reason"))
		c.number("ip_version", int(ev.IPVersion), want("ip_version"))
		wantProtocol := strings.ToLower(want("protocol_text"))
		if wantProtocol == "icmpv6" {
			wantProtocol = "ipv6-icmp"
		}
		c.equal("protocol_text", ev.ProtocolName, wantProtocol)
		c.number("protocol_id", int(ev.ProtocolNum), want("protocol_id"))
		c.port("source_port", ev.HasPorts, ev.SrcPort, want("source_port"))
		c.port("destination_port", ev.HasPorts, ev.DstPort, want("destination_port"))
		c.equal("real_interface", ev.Interface, want("real_interface"))
		c.equal("rule_number", ev.Rule, want("rule_number"))
		c.equal("sub_rule_number", ev.SubRule, want("sub_rule_number"))
		c.equal("tracker", ev.Label, want("tracker"))
		c.equal("anchor", ev.Anchor, want("anchor"))
		c.equal("source_address", ev.Src.String(), want("source_address"))
		c.equal("destination_address", ev.Dst.String(), want("destination_address"))
		c.equal("action", ev.Action.String(), want("action"))
		c.number("length", ev.Length, want("length"))
		c.optionalNumber("data_length", ev.DataLength, want("data_length"))
	}
}

// TestCorpusWazuh checks the lines of Wazuh's pfSense ruleset test: all
// parse, and those its "drop event" rule 87701 matches are blocked.
func TestCorpusWazuh(t *testing.T) {
	var expected []struct {
		Line int    `json:"line"`
		Rule string `json:"rule"`
	}
	readCorpusJSON(t, "wazuh-ruleset-tests-pfsense-expected.json", &expected)
	lines := corpusLines(t, "wazuh-ruleset-tests-pfsense.log")

	p := newTestParser()
	for _, entry := range expected {
		if entry.Line < 1 || entry.Line > len(lines) {
			t.Fatalf("entry for line %d of %d", entry.Line, len(lines))
		}
		var ev Event
		if err := p.Parse([]byte(lines[entry.Line-1]), &ev); err != nil {
			t.Errorf("line %d: %v", entry.Line, err)
			continue
		}
		if entry.Rule == "87701" && ev.Action != ActionBlock {
			t.Errorf("line %d: Action = %v, want block (Wazuh rule 87701, drop event)", entry.Line, ev.Action)
		}
	}
}

// TestCorpusVariants checks the fields of corpus lines that show one format
// variant each, found by a substring of the line.
func TestCorpusVariants(t *testing.T) {
	const (
		caleb   = "calebyourison-simple_template_log_parser-pfsense_sample_log-filterlog.log"
		github  = "github-issues-quoted-lines-sanitized.log"
		analyst = "analyst3292-docker-pfsense-fek-logformat-filterlog.log"
		carp    = "analyst3292-docker-pfsense-fek-readme-carp-vrrp-csv.log"
		elastic = "elastic-integrations-test-pfsense-bsd.log"
	)
	noPorts := func(ev Event) []string {
		if ev.HasPorts || ev.SrcPort != 0 || ev.DstPort != 0 {
			return []string{fmt.Sprintf("ports %v %d→%d, want none", ev.HasPorts, ev.SrcPort, ev.DstPort)}
		}
		return nil
	}
	ports := func(src, dst uint16) func(Event) []string {
		return func(ev Event) []string {
			if !ev.HasPorts || ev.SrcPort != src || ev.DstPort != dst {
				return []string{fmt.Sprintf("ports %v %d→%d, want %d→%d", ev.HasPorts, ev.SrcPort, ev.DstPort, src, dst)}
			}
			return nil
		}
	}
	field := func(name string, got func(Event) any, want any) func(Event) []string {
		return func(ev Event) []string {
			if g := got(ev); g != want {
				return []string{fmt.Sprintf("%s = %v, want %v", name, g, want)}
			}
			return nil
		}
	}
	protocol := func(want string) func(Event) []string {
		return field("ProtocolName", func(ev Event) any { return ev.ProtocolName }, want)
	}

	tests := []struct {
		name, file, contains string
		checks               []func(Event) []string
	}{
		{"icmp unreachable port", caleb, "unreachport,", []func(Event) []string{noPorts, protocol("icmp")}},
		{"icmp unreachable protocol", caleb, "unreachproto,", []func(Event) []string{noPorts, protocol("icmp")}},
		{"later fragment", caleb, "4294967295,,,0,igc0,fragment", []func(Event) []string{noPorts, protocol("tcp"),
			field("Rule", func(ev Event) any { return ev.Rule }, "4294967295"),
			field("Reason", func(ev Event) any { return ev.Reason }, "fragment")}},
		{"tcp header too long", caleb, "too long, > 20", []func(Event) []string{ports(22, 43932),
			field("DataLength", func(ev Event) any { return ev.DataLength }, -12),
			field("TCPFlags", func(ev Event) any { return ev.TCPFlags }, "R")}},
		{"tcp bad option", caleb, "[bad opt]", []func(Event) []string{ports(3389, 1367)}},
		{"tcp sequence range", caleb, "196384251:196385438", []func(Event) []string{ports(33722, 443),
			field("TCPFlags", func(ev Event) any { return ev.TCPFlags }, "PA")}},
		{"sctp", caleb, ",132,sctp,", []func(Event) []string{ports(39900, 14001), protocol("sctp")}},
		{"pfsense unknown protocol", caleb, ",252,unknown,", []func(Event) []string{noPorts, protocol("unknown(252)")}},
		{"esp with ecn", caleb, ",50,esp,", []func(Event) []string{noPorts, protocol("esp"),
			field("Length", func(ev Event) any { return ev.Length }, 96),
			field("DataLength", func(ev Event) any { return ev.DataLength }, 76)}},
		{"ipv6 in ipv4", caleb, "IPV6-IN-IPV4", []func(Event) []string{noPorts, protocol("ipv6")}},
		{"icmpv6 over pfsense local file", caleb, "ICMPv6,58", []func(Event) []string{noPorts, protocol("ipv6-icmp")}},
		{"hop-by-hop options", github, "HBH,RTALERT", []func(Event) []string{noPorts, protocol("options")}},
		{"udp later fragment", github, ",1480,none,17,udp,381,", []func(Event) []string{noPorts, protocol("udp")}},
		{"unexpanded unknown action", github, "unkn(%u)", []func(Event) []string{ports(49801, 53),
			field("Action", func(ev Event) any { return ev.Action }, ActionUnknown)}},
		{"null label with rdr", github, "(null)", []func(Event) []string{ports(60969, 53),
			field("Label", func(ev Event) any { return ev.Label }, "(null)"),
			field("Action", func(ev Event) any { return ev.Action }, ActionRdr)}},
		{"pid without colon", github, "filterlog[66047] ", []func(Event) []string{ports(5353, 5353), protocol("udp"),
			field("Host", func(ev Event) any { return ev.Host }, "pfSense")}},
		{"icmp inside ipv6", github, "truncated-ip6=76", []func(Event) []string{noPorts, protocol("icmp"),
			field("IPVersion", func(ev Event) any { return ev.IPVersion }, uint8(6))}},
		{"pim", github, "PIM,103", []func(Event) []string{noPorts, protocol("pim")}},
		{"ecn ce", analyst, "0x3,CE", []func(Event) []string{ports(46942, 23),
			field("Length", func(ev Event) any { return ev.Length }, 44)}},
		{"ecn ect(0)", analyst, "0x2,0,112", []func(Event) []string{ports(49984, 22),
			field("TCPFlags", func(ev Event) any { return ev.TCPFlags }, "SEC")}},
		{"carp", carp, ",112,carp,", []func(Event) []string{noPorts, protocol("carp")}},
		{"vrrp over ipv6", carp, "VRRP,112", []func(Event) []string{noPorts, protocol("vrrp")}},
		{"igmp data length", elastic, "igmp", []func(Event) []string{noPorts,
			field("DataLength", func(ev Event) any { return ev.DataLength }, 8)}},
		{"icmp echo with zero-padded sequence", elastic, "request,0,064", []func(Event) []string{noPorts, protocol("icmp")}},
	}

	p := newTestParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var line string
			for _, candidate := range corpusLines(t, tt.file) {
				if strings.Contains(candidate, tt.contains) {
					line = candidate
					break
				}
			}
			if line == "" {
				t.Fatalf("no line of %s contains %q", tt.file, tt.contains)
			}
			var ev Event
			if err := p.Parse([]byte(line), &ev); err != nil {
				t.Fatalf("Parse(%q) = %v", line, err)
			}
			for _, check := range tt.checks {
				for _, problem := range check(ev) {
					t.Errorf("Parse(%q): %s", line, problem)
				}
			}
		})
	}
}

// fieldChecker compares parsed fields with the string values of another
// project's expected output and reports each mismatch on its own.
type fieldChecker struct {
	t     *testing.T
	where string
}

func (c fieldChecker) equal(name, got, want string) {
	c.t.Helper()
	if got != want {
		c.t.Errorf("%s: %s = %q, want %q", c.where, name, got, want)
	}
}

// optional compares only when the expected output has the field.
func (c fieldChecker) optional(name, got, want string) {
	c.t.Helper()
	if want != "" {
		c.equal(name, got, want)
	}
}

func (c fieldChecker) number(name string, got int, want string) {
	c.t.Helper()
	n, err := strconv.Atoi(want)
	if err != nil {
		c.t.Errorf("%s: expected %s %q is not a number", c.where, name, want)
		return
	}
	if got != n {
		c.t.Errorf("%s: %s = %d, want %d", c.where, name, got, n)
	}
}

func (c fieldChecker) optionalNumber(name string, got int, want string) {
	c.t.Helper()
	if want != "" {
		c.number(name, got, want)
	}
}

// port compares a port, and expects no ports when the output has none.
func (c fieldChecker) port(name string, hasPorts bool, got uint16, want string) {
	c.t.Helper()
	if want == "" {
		if hasPorts {
			c.t.Errorf("%s: %s = %d, want no ports", c.where, name, got)
		}
		return
	}
	if !hasPorts {
		c.t.Errorf("%s: no ports, want %s %s", c.where, name, want)
		return
	}
	c.number(name, int(got), want)
}

func (c fieldChecker) time(got time.Time, want string) {
	c.t.Helper()
	wantTime, err := time.Parse(time.RFC3339Nano, want)
	if err != nil {
		c.t.Errorf("%s: expected time %q: %v", c.where, want, err)
		return
	}
	if !got.Equal(wantTime) {
		c.t.Errorf("%s: time = %v, want %v", c.where, got, wantTime)
	}
}
