package stack

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"

	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/source/promql"
)

// The scenario's interfaces: igc0 and pppoe0 face the internet, igc1 and
// igc1.20 are LAN side. 198.51.100.1 is the WAN address that NAT puts on
// outbound IPv4; IPv6 leaves from the own prefix 2001:db8:ffff::/48.
var scenarioOwn = []netip.Prefix{netip.MustParsePrefix("203.0.113.128/25"), netip.MustParsePrefix("2001:db8:ffff::/48")}

const weirdDestination = `2001:db8:1::99%we"ird\zone` // a label value that needs escaping in a query

var scenario = []series{
	// Blocked inbound from public sources on WAN interfaces.
	{"block", "in", "igc0", "203.0.113.10", "192.168.1.1", 40},
	{"block", "in", "pppoe0", "198.51.100.20", "192.168.1.1", 30},
	{"block", "in", "igc0", "2001:DB8::ABCD", "2001:db8:ffff::1", 28},
	{"block", "in", "igc0", "192.0.2.33", "192.168.1.1", 20},
	{"block", "in", "igc0", "192.0.2.33", "192.168.1.2", 7},
	{"block", "in", "igc0", "2001:db8::20", "2001:db8:ffff::1", 25},
	{"block", "in", "igc0", "198.51.100.99", "192.168.1.1", 5},
	// A hexadecimal spelling of the mapped 10.0.0.5: the regex in the query
	// lets it through, the classifier removes it, and the top query is
	// asked again with a larger k.
	{"block", "in", "igc0", "::ffff:a00:5", "192.168.1.1", 35},
	// Blocked inbound from non-public sources: excluded inside the query.
	{"block", "in", "igc0", "10.0.0.5", "192.168.1.1", 100},
	{"block", "in", "igc0", "100.64.1.2", "192.168.1.1", 90},
	{"block", "in", "igc0", "169.254.3.4", "192.168.1.1", 80},
	{"block", "in", "igc0", "fd00::1", "2001:db8:ffff::1", 70},
	{"block", "in", "igc0", "fe80::1", "2001:db8:ffff::1", 60},
	{"block", "in", "igc0", "::ffff:10.1.2.3", "192.168.1.1", 55},
	{"block", "in", "igc0", "::ffff:100.64.0.9", "192.168.1.1", 54},
	{"block", "in", "igc0", "127.0.0.1", "192.168.1.1", 53},
	{"block", "in", "igc0", "224.0.0.251", "192.168.1.1", 52},
	{"block", "in", "igc0", "255.255.255.255", "192.168.1.1", 51},
	{"block", "in", "igc0", "0.0.0.0", "192.168.1.1", 50},
	{"block", "in", "igc0", "240.0.0.1", "192.168.1.1", 49},
	{"block", "in", "igc0", "ff02::fb", "2001:db8:ffff::1", 48},
	{"block", "in", "igc0", "::", "2001:db8:ffff::1", 47},
	{"block", "in", "igc0", "::1", "2001:db8:ffff::1", 46},
	{"block", "in", "igc0", "203.0.113.200", "192.168.1.1", 45},
	{"block", "in", "igc0", "2001:db8:ffff::9", "2001:db8:ffff::1", 44},
	{"block", "in", "igc0", "FD00::2", "2001:db8:ffff::1", 43},
	{"block", "in", "igc0", "fe80::2%igc0", "2001:db8:ffff::1", 42},
	// Blocked, but not inbound on a WAN interface.
	{"block", "in", "igc1", "198.51.100.77", "192.168.1.1", 100},
	{"block", "out", "igc0", "192.168.1.9", "203.0.113.50", 12},

	// Passed outbound on WAN interfaces.
	{"pass", "out", "igc0", "198.51.100.1", "192.0.2.50", 120},
	{"pass", "out", "igc0", "2001:db8:ffff::10", weirdDestination, 70},
	{"pass", "out", "igc0", "2001:db8:ffff::10", "2001:db8:1::53", 60},
	{"pass", "out", "pppoe0", "198.51.100.1", "203.0.113.77", 50},
	{"pass", "out", "igc0", "198.51.100.1", "198.51.100.200", 2},
	// Passed outbound to non-public destinations, or not on a WAN interface.
	{"pass", "out", "igc0", "198.51.100.1", "10.0.0.1", 500},
	{"pass", "out", "igc0", "2001:db8:ffff::10", "ff02::1:2", 400},
	{"pass", "out", "igc0", "198.51.100.1", "100.64.0.1", 300},
	{"pass", "out", "igc0", "198.51.100.1", "::ffff:192.168.0.1", 250},
	{"pass", "out", "igc0", "198.51.100.1", "203.0.113.129", 240},
	{"pass", "out", "igc1", "192.168.1.1", "192.0.2.60", 1000},

	// The same flows on the LAN side, before NAT.
	{"pass", "in", "igc1", "192.168.1.10", "192.0.2.50", 80},
	{"pass", "in", "igc1", "192.168.1.11", "192.0.2.50", 40},
	{"pass", "in", "igc1", "169.254.9.9", "192.0.2.50", 5},
	{"pass", "in", "igc1", "198.51.100.150", "192.0.2.50", 9},
	{"pass", "in", "igc1", "fd00::12", weirdDestination, 70},
	{"pass", "in", "igc1", "2001:db8:ffff::10", "2001:db8:1::53", 60},
	{"pass", "in", "igc1", "10.0.0.7", "203.0.113.77", 50},
	{"pass", "in", "igc1.20", "192.168.20.5", "192.168.1.1", 3},
	// Passed inbound to a server: neither blocked nor outbound.
	{"pass", "in", "igc0", "192.0.2.200", "192.168.1.80", 11},
}

// portsBody is the Loki response to the scenario's port query.
const portsBody = `{"status":"success","data":{"resultType":"vector","result":[
	{"metric":{"dst_port":"22","proto_num":"6"},"value":[1700000000,"31"]},
	{"metric":{"dst_port":"53","proto_num":"17"},"value":[1700000000,"12"]}]}}`

func addrs(texts ...string) []netip.Addr {
	out := make([]netip.Addr, len(texts))
	for i, s := range texts {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestObserveVictoriaMetricsScenario(t *testing.T) {
	vm := victoriaMetricsURL(t)
	run := uniqueRun(t)
	// VictoriaMetrics hides samples newer than -search.latencyOffset (30 s
	// by default), so the window ends a minute ago and the samples are
	// older still.
	until := time.Now().Add(-time.Minute).Truncate(time.Second)
	importSeries(t, vm, run, until.Add(-9*time.Minute), until.Add(-4*time.Minute), scenario)

	loki := replayServer(t, 200, []byte(portsBody))
	recorder := &queryRecorder{}
	src, err := New(Config{
		VictoriaMetricsURL: vm,
		LokiURL:            loki.URL,
		TopBlocked:         4,
		TopOutbound:        4,
		TopPorts:           10,
		WANInterfaces:      []string{"igc0", "pppoe0"},
		OwnPrefixes:        scenarioOwn,
		ExtraMatchers:      []promql.Matcher{{Name: "test_run", Type: promql.MatchEqual, Value: run}},
		MetricsParams:      url.Values{"nocache": {"1"}},
		Observer:           recorder,
	})
	if err != nil {
		t.Fatal(err)
	}

	obs, err := src.Observe(t.Context(), until, time.Hour)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}

	if !obs.Start.Equal(until.Add(-time.Hour)) || !obs.End.Equal(until) {
		t.Errorf("window = %v to %v, want the hour before %v", obs.Start, obs.End, until)
	}
	wantBlocked := []source.AddrCount{
		{Addr: netip.MustParseAddr("203.0.113.10"), Count: 40},
		{Addr: netip.MustParseAddr("198.51.100.20"), Count: 30},
		{Addr: netip.MustParseAddr("2001:db8::abcd"), Count: 28},
		{Addr: netip.MustParseAddr("192.0.2.33"), Count: 27},
	}
	if !reflect.DeepEqual(obs.Blocked, wantBlocked) {
		t.Errorf("Blocked = %v\nwant      %v", obs.Blocked, wantBlocked)
	}
	// The six public sources, and the hexadecimal spelling of 10.0.0.5,
	// which the count query cannot tell from a public address.
	if obs.DistinctBlocked != 7 {
		t.Errorf("DistinctBlocked = %d, want 7", obs.DistinctBlocked)
	}

	// Internal sources come only from inbound pass lines, logged before NAT.
	// 2001:db8:ffff::10 sent to 2001:db8:1::99 only on the WAN, so it is that
	// destination's outbound source and not one of its internal sources.
	wantOutbound := []source.Outbound{
		{Addr: netip.MustParseAddr("192.0.2.50"), Count: 120,
			InternalSources: addrs("192.168.1.10", "192.168.1.11", "169.254.9.9"), NATSources: addrs("198.51.100.1")},
		{Addr: netip.MustParseAddr("2001:db8:1::99"), Count: 70,
			InternalSources: addrs("fd00::12"), NATSources: addrs("2001:db8:ffff::10")},
		{Addr: netip.MustParseAddr("2001:db8:1::53"), Count: 60,
			InternalSources: addrs("2001:db8:ffff::10"), NATSources: addrs("2001:db8:ffff::10")},
		{Addr: netip.MustParseAddr("203.0.113.77"), Count: 50,
			InternalSources: addrs("10.0.0.7"), NATSources: addrs("198.51.100.1")},
	}
	if !reflect.DeepEqual(obs.Outbound, wantOutbound) {
		t.Errorf("Outbound = %v\nwant       %v", obs.Outbound, wantOutbound)
	}

	// The regex in the queries removes every non-public source and
	// destination but the hexadecimal spelling, before topk.
	checkLabels(t, src, src.Metrics().TopBlockedQuery(time.Hour, 100), until, "src_ip",
		"203.0.113.10", "198.51.100.20", "2001:DB8::ABCD", "192.0.2.33", "2001:db8::20", "198.51.100.99", "::ffff:a00:5")
	checkLabels(t, src, src.Metrics().TopOutboundQuery(time.Hour, 100), until, "dst_ip",
		"192.0.2.50", weirdDestination, "2001:db8:1::53", "203.0.113.77", "198.51.100.200")

	if want := []string{"igc0", "igc1", "igc1.20", "pppoe0"}; !reflect.DeepEqual(obs.Interfaces, want) {
		t.Errorf("Interfaces = %v, want %v", obs.Interfaces, want)
	}
	wantPorts := []source.PortCount{{Port: 22, Protocol: "tcp", Count: 31}, {Port: 53, Protocol: "udp", Count: 12}}
	if !reflect.DeepEqual(obs.Ports, wantPorts) {
		t.Errorf("Ports = %v, want %v", obs.Ports, wantPorts)
	}

	for _, q := range []string{QueryBlocked, QueryDistinctBlocked, QueryOutbound, QueryDestinationSources, QueryInterfaces} {
		if !recorder.has(BackendMetrics, q, false) {
			t.Errorf("the observer was not told of the successful %s query", q)
		}
	}
	if !recorder.has(BackendLogs, QueryPorts, false) {
		t.Error("the observer was not told of the successful ports query")
	}
	for _, h := range src.Health() {
		if h.Down() || h.Checked.IsZero() {
			t.Errorf("health of %s = %+v, want checked and up", h.Name, h)
		}
	}
}

// checkLabels runs query and checks that its samples carry exactly the
// given values of label.
func checkLabels(t *testing.T, src *Source, query string, until time.Time, label string, want ...string) {
	t.Helper()
	resp, err := src.Metrics().Client().Query(t.Context(), query, until)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range resp.Vector {
		got = append(got, s.Metric[label])
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s values = %q\nwant %q", label, got, want)
	}
}

func TestObserveWithoutWANInterfacesCountsEveryInterface(t *testing.T) {
	vm := victoriaMetricsURL(t)
	run := uniqueRun(t)
	until := time.Now().Add(-time.Minute).Truncate(time.Second)
	importSeries(t, vm, run, until.Add(-9*time.Minute), until.Add(-4*time.Minute), scenario)

	src, err := New(Config{
		VictoriaMetricsURL: vm,
		TopBlocked:         2,
		TopOutbound:        1,
		OwnPrefixes:        scenarioOwn,
		ExtraMatchers:      []promql.Matcher{{Name: "test_run", Type: promql.MatchEqual, Value: run}},
		MetricsParams:      url.Values{"nocache": {"1"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := src.Observe(t.Context(), until, time.Hour)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	// The LAN-side block of 198.51.100.77 and the outbound on igc1 to
	// 192.0.2.60 now count.
	wantBlocked := []source.AddrCount{{Addr: netip.MustParseAddr("198.51.100.77"), Count: 100}, {Addr: netip.MustParseAddr("203.0.113.10"), Count: 40}}
	if !reflect.DeepEqual(obs.Blocked, wantBlocked) {
		t.Errorf("Blocked = %v, want %v", obs.Blocked, wantBlocked)
	}
	if len(obs.Outbound) != 1 || obs.Outbound[0].Addr != netip.MustParseAddr("192.0.2.60") || obs.Outbound[0].Count != 1000 {
		t.Errorf("Outbound = %v, want 192.0.2.60 with 1000 events", obs.Outbound)
	}
	if len(obs.Ports) != 0 {
		t.Errorf("Ports = %v, want none without Loki", obs.Ports)
	}
}

func TestObserveLokiDownWhileVictoriaMetricsUp(t *testing.T) {
	vm := victoriaMetricsURL(t)
	run := uniqueRun(t)
	until := time.Now().Add(-time.Minute).Truncate(time.Second)
	importSeries(t, vm, run, until.Add(-9*time.Minute), until.Add(-4*time.Minute), scenario[:1])

	recorder := &queryRecorder{}
	src, err := New(Config{
		VictoriaMetricsURL: vm,
		LokiURL:            closedURL(t),
		TopBlocked:         5,
		TopOutbound:        5,
		ExtraMatchers:      []promql.Matcher{{Name: "test_run", Type: promql.MatchEqual, Value: run}},
		MetricsParams:      url.Values{"nocache": {"1"}},
		Observer:           recorder,
	})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := src.Observe(t.Context(), until, time.Hour)
	if err == nil {
		t.Fatalf("Observe succeeded with Loki down: %+v", obs)
	}
	if len(obs.Blocked) != 0 || len(obs.Outbound) != 0 {
		t.Errorf("a failed Observe returned data: %+v", obs)
	}
	var qErr *QueryError
	if !errors.As(err, &qErr) || qErr.Backend != BackendLogs || qErr.Query != QueryPorts {
		t.Errorf("error = %v, want a QueryError of the loki ports query", err)
	}
	if !strings.Contains(err.Error(), "querying loki for targeted ports") || strings.Contains(err.Error(), "victoriametrics") {
		t.Errorf("error %q should name loki and only loki", err)
	}

	health := src.Health()
	if health[0].Name != BackendMetrics || health[0].Down() {
		t.Errorf("victoriametrics health = %+v, want up", health[0])
	}
	if health[1].Name != BackendLogs || !health[1].Down() {
		t.Errorf("loki health = %+v, want down", health[1])
	}
	if reasons := src.DownReasons(); len(reasons) != 1 || !strings.HasPrefix(reasons[0], "loki is down: ") {
		t.Errorf("DownReasons = %q, want one for loki", reasons)
	}
	if !recorder.has(BackendLogs, QueryPorts, true) || !recorder.has(BackendMetrics, QueryBlocked, false) {
		t.Errorf("observer calls = %+v", recorder.calls)
	}
}

// emptyVector is a metrics response with no series.
const emptyVector = `{"status":"success","data":{"resultType":"vector","result":[]}}`

func TestObserveMetricsOutages(t *testing.T) {
	corpusError, err := os.ReadFile(filepath.Join(corpustest.Dir(t), "backends", "victoriametrics-api-v1-query-error-vmalert-test.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		metrics func(t *testing.T) string
		want    string
	}{
		{"stopped", closedURL, "connection refused"},
		{"slow", func(t *testing.T) string { return hangingServer(t).URL }, "no response within 200ms"},
		{"error body", func(t *testing.T) string { return replayServer(t, 422, corpusError).URL }, "some error msg"},
		{"partial", func(t *testing.T) string {
			return replayServer(t, 200, []byte(`{"status":"success","isPartial":true,"data":{"resultType":"vector","result":[]}}`)).URL
		}, "partial response"},
		{"html", func(t *testing.T) string { return replayServer(t, 502, []byte("<html>Bad Gateway</html>")).URL }, "HTTP 502"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loki := replayServer(t, 200, []byte(portsBody))
			src, err := New(Config{
				VictoriaMetricsURL: tt.metrics(t), LokiURL: loki.URL,
				TopBlocked: 5, TopOutbound: 5, Timeout: 200 * time.Millisecond,
			})
			if err != nil {
				t.Fatal(err)
			}
			obs, err := src.Observe(t.Context(), time.Now(), time.Hour)
			if err == nil {
				t.Fatalf("Observe succeeded: %+v", obs)
			}
			if len(obs.Ports) != 0 || len(obs.Blocked) != 0 {
				t.Errorf("a failed Observe returned data: %+v", obs)
			}
			for _, q := range []string{QueryBlocked, QueryDistinctBlocked, QueryOutbound, QueryInterfaces} {
				if !strings.Contains(err.Error(), "querying victoriametrics for "+q+": ") {
					t.Errorf("error does not name the %s query: %v", q, err)
				}
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error does not contain %q: %v", tt.want, err)
			}
			if strings.Contains(err.Error(), "querying loki") {
				t.Errorf("error blames loki, which answered: %v", err)
			}
			health := src.Health()
			if !health[0].Down() || health[1].Down() {
				t.Errorf("health = %+v, want victoriametrics down and loki up", health)
			}
		})
	}
}

func TestObserveWithoutLoki(t *testing.T) {
	metrics := replayServer(t, 200, []byte(emptyVector))
	src, err := New(Config{VictoriaMetricsURL: metrics.URL, TopBlocked: 5, TopOutbound: 5})
	if err != nil {
		t.Fatal(err)
	}
	obs, err := src.Observe(t.Context(), time.Time{}, time.Hour)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if obs.Ports != nil || obs.Blocked == nil || len(obs.Blocked) != 0 {
		t.Errorf("observation = %+v, want empty lists and no ports", obs)
	}
	if src.Ports() != nil {
		t.Error("Ports() is set without a Loki URL")
	}
	loki := src.Health()[1]
	if loki.Configured || loki.Down() || loki.Note != NoLogsNote {
		t.Errorf("loki health = %+v, want not configured with the note", loki)
	}
	if reasons := src.DownReasons(); len(reasons) != 0 {
		t.Errorf("DownReasons = %q, want none", reasons)
	}
}

func TestObserveCancelledLeavesHealth(t *testing.T) {
	src, err := New(Config{VictoriaMetricsURL: hangingServer(t).URL, TopBlocked: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := src.Observe(ctx, time.Now(), time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if h := src.Health()[0]; !h.Checked.IsZero() || h.Down() {
		t.Errorf("health after a cancelled Observe = %+v, want unchecked", h)
	}
}

func TestObserveRejectsBadLookback(t *testing.T) {
	src, err := New(Config{VictoriaMetricsURL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Observe(t.Context(), time.Now(), 0); err == nil || !strings.Contains(err.Error(), "lookback") {
		t.Errorf("error = %v, want one about the lookback", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no metrics URL", Config{}, "VICTORIAMETRICS_URL"},
		{"bad metrics URL", Config{VictoriaMetricsURL: "victoriametrics:8428"}, "VICTORIAMETRICS_URL"},
		{"bad Loki URL", Config{VictoriaMetricsURL: "http://vm:8428", LokiURL: "loki"}, "LOKI_URL"},
		{"bad selector", Config{VictoriaMetricsURL: "http://vm:8428", LokiURL: "http://loki:3100", LokiSelector: "job=syslog"}, "LOKI_SELECTOR"},
		{"bad matcher", Config{VictoriaMetricsURL: "http://vm:8428", ExtraMatchers: []promql.Matcher{{Name: "1x"}}}, "label name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New: error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
