package loki

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/source/promql"
	"github.com/threat-intel/threat-intel/internal/version"
)

var update = flag.Bool("update", false, "rewrite golden files")

func newCounter(t *testing.T, baseURL string, opts PortOptions) *PortCounter {
	t.Helper()
	c, err := New(Options{BaseURL: baseURL, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	p, err := NewPortCounter(c, opts)
	if err != nil {
		t.Fatalf("NewPortCounter: %v", err)
	}
	return p
}

func TestPortQueryGolden(t *testing.T) {
	tests := []struct {
		name string
		opts PortOptions
	}{
		{"default", PortOptions{TopPorts: 20}},
		{"configured", PortOptions{
			Selector: `{host="fw1", job=~"sys.*"}`, LineFilter: "-", WANInterfaces: []string{"igc0", "pppoe0.7"},
			OwnPrefixes: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newCounter(t, "http://127.0.0.1:1", tt.opts).Query(time.Hour) + "\n"
			path := filepath.Join("testdata", "queries", tt.name+".logql")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("reading golden file (run with -update to create it): %v", err)
			}
			if got != string(want) {
				t.Errorf("query differs from %s:\ngot:  %s\nwant: %s", path, got, want)
			}
		})
	}
}

// lokiPipeline applies a Pipeline to one line as Loki does. The line
// filters run first, then each regexp stage, and a stage that does not
// match extracts nothing. The label filters run last: their regexes are
// anchored, and a missing label is empty.
type lokiPipeline struct {
	lineFilters  []string
	regexps      []*regexp.Regexp
	labelFilters []promql.Matcher
	labelRegexps []*regexp.Regexp
}

func compilePipeline(t *testing.T, p Pipeline) *lokiPipeline {
	t.Helper()
	lp := &lokiPipeline{lineFilters: p.LineFilters, labelFilters: p.LabelFilters}
	for _, re := range p.Regexps {
		lp.regexps = append(lp.regexps, regexp.MustCompile(re))
	}
	for _, m := range p.LabelFilters {
		lp.labelRegexps = append(lp.labelRegexps, regexp.MustCompile("^(?:"+m.Value+")$"))
	}
	return lp
}

// apply returns the labels extracted from line, or nil when a filter drops
// the line.
func (lp *lokiPipeline) apply(line string) map[string]string {
	for _, f := range lp.lineFilters {
		if !strings.Contains(line, f) {
			return nil
		}
	}
	labels := map[string]string{}
	for _, re := range lp.regexps {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for i, name := range re.SubexpNames() {
			if name != "" {
				labels[name] = m[i]
			}
		}
	}
	for i, m := range lp.labelFilters {
		value := labels[m.Name]
		var keep bool
		switch m.Type {
		case promql.MatchEqual:
			keep = value == m.Value
		case promql.MatchNotEqual:
			keep = value != m.Value
		case promql.MatchRegexp:
			keep = lp.labelRegexps[i].MatchString(value)
		case promql.MatchNotRegexp:
			keep = !lp.labelRegexps[i].MatchString(value)
		}
		if !keep {
			return nil
		}
	}
	return labels
}

// portKey is the destination port and protocol the query or the parser
// reads from a line.
type portKey struct {
	Port  uint16
	Proto string
}

// queryPort returns what the query counts a line under, if anything.
func queryPort(lp *lokiPipeline, line string) (portKey, bool) {
	labels := lp.apply(line)
	if labels == nil {
		return portKey{}, false
	}
	port, err := strconv.ParseUint(labels["dst_port"], 10, 16)
	proto, known := protocolNames[labels["proto_num"]]
	if err != nil || !known {
		return portKey{}, false
	}
	return portKey{uint16(port), proto}, true
}

type corpusLine struct {
	file string
	text string
}

func corpusLines(t *testing.T) []corpusLine {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(corpustest.Dir(t), "filterlog", "*.log"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no filterlog corpus files: %v", err)
	}
	var lines []corpusLine
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			if text := strings.TrimRight(sc.Text(), "\r"); strings.TrimSpace(text) != "" {
				lines = append(lines, corpusLine{filepath.Base(path), text})
			}
		}
	}
	return lines
}

// TestPortRegexpsMatchParser checks the regexp stages alone, without the
// line and source filters, against the filterlog parser on every corpus
// line: they must yield a port exactly for the blocked inbound TCP, UDP and
// SCTP lines with ports, and the same port and protocol.
func TestPortRegexpsMatchParser(t *testing.T) {
	p := newCounter(t, "http://127.0.0.1:1", PortOptions{}).Pipeline()
	lp := compilePipeline(t, Pipeline{
		Regexps:      p.Regexps,
		LabelFilters: []promql.Matcher{{Name: "dst_port", Type: promql.MatchNotEqual, Value: ""}},
	})
	parser := filterlog.NewParser(filterlog.Options{})

	var matched4, matched6, icmp int
	for _, line := range corpusLines(t) {
		var ev filterlog.Event
		parseErr := parser.Parse([]byte(line.text), &ev)
		want, wantOK := portKey{}, false
		if parseErr == nil && ev.Action == filterlog.ActionBlock && ev.Direction == filterlog.DirectionIn && ev.HasPorts {
			want, wantOK = portKey{ev.DstPort, ev.ProtocolName}, true
		}
		got, gotOK := queryPort(lp, line.text)
		if got != want || gotOK != wantOK {
			t.Errorf("%s: query yields %v (%v), parser %v (%v); line %q", line.file, got, gotOK, want, wantOK, line.text)
			continue
		}
		switch {
		case gotOK && ev.IPVersion == 4:
			matched4++
		case gotOK && ev.IPVersion == 6:
			matched6++
		case parseErr == nil && ev.Action == filterlog.ActionBlock && strings.Contains(ev.ProtocolName, "icmp"):
			icmp++
		}
	}
	// The corpus has dozens of blocked IPv4 lines, a few blocked IPv6 lines
	// and blocked ICMP lines. These minimums keep the comparison above from
	// passing when neither the regexes nor the parser read anything.
	t.Logf("matched %d IPv4 and %d IPv6 lines; saw %d blocked ICMP lines", matched4, matched6, icmp)
	if matched4 < 20 || matched6 < 5 || icmp < 3 {
		t.Errorf("matched %d IPv4 and %d IPv6 lines and saw %d blocked ICMP lines; want at least 20, 5 and 3", matched4, matched6, icmp)
	}
}

// TestPortPipelineMatchesParser checks the whole pipeline: the query counts
// a syslog line exactly when the parser reads a blocked inbound line with
// ports from a public source.
func TestPortPipelineMatchesParser(t *testing.T) {
	own := []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	classifier := netclass.New(own)
	lp := compilePipeline(t, newCounter(t, "http://127.0.0.1:1", PortOptions{OwnPrefixes: own}).Pipeline())
	parser := filterlog.NewParser(filterlog.Options{})

	var counted, private int
	for _, line := range corpusLines(t) {
		var ev filterlog.Event
		parseErr := parser.Parse([]byte(line.text), &ev)
		want, wantOK := portKey{}, false
		// A line in Loki is a syslog line, so it names its program.
		if parseErr == nil && strings.Contains(line.text, "filterlog") &&
			ev.Action == filterlog.ActionBlock && ev.Direction == filterlog.DirectionIn && ev.HasPorts {
			if classifier.IsPublic(ev.Src) {
				want, wantOK = portKey{ev.DstPort, ev.ProtocolName}, true
			} else {
				private++
			}
		}
		got, gotOK := queryPort(lp, line.text)
		if got != want || gotOK != wantOK {
			t.Errorf("%s: query yields %v (%v), parser %v (%v); line %q", line.file, got, gotOK, want, wantOK, line.text)
		}
		if gotOK {
			counted++
		}
	}
	// The corpus has 18 such lines from public sources and 57 from private
	// ones.
	if counted < 15 || private < 30 {
		t.Errorf("counted %d lines and excluded %d from non-public sources; want at least 15 and 30", counted, private)
	}
}

func TestPortPipelineWANFilter(t *testing.T) {
	lp := compilePipeline(t, newCounter(t, "http://127.0.0.1:1", PortOptions{WANInterfaces: []string{"igb0"}}).Pipeline())
	line := "Sep 28 10:38:09 pfSense filterlog: 5,,,1000000103,%s,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,198.51.100.9,192.168.1.1,55000,22,0,S,1,,64240,,mss"
	if _, ok := queryPort(lp, strings.Replace(line, "%s", "igb0", 1)); !ok {
		t.Error("a line on the WAN interface igb0 is not counted")
	}
	for _, other := range []string{"igb1", "igb0.5", "xigb0"} {
		if _, ok := queryPort(lp, strings.Replace(line, "%s", other, 1)); ok {
			t.Errorf("a line on %s is counted", other)
		}
	}
}

func TestParseSelector(t *testing.T) {
	tests := []struct {
		input, want string
	}{
		{`{job="syslog"}`, `{job="syslog"}`},
		{` { job = "syslog" , host=~"fw.*" } `, `{job="syslog", host=~"fw.*"}`},
	}
	for _, tt := range tests {
		got, err := ParseSelector(tt.input)
		if err != nil || got != tt.want {
			t.Errorf("ParseSelector(%q) = %q, %v; want %q", tt.input, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", `job="syslog"`, "{}", `{job=syslog}`, `{job="syslog"`} {
		if _, err := ParseSelector(bad); err == nil {
			t.Errorf("ParseSelector(%q) succeeded, want an error", bad)
		}
	}
}

func TestCountRanksPorts(t *testing.T) {
	body := `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"dst_port":"22","proto_num":"6"},"value":[1700000000,"40"]},
		{"metric":{"dst_port":"443","proto_num":"6"},"value":[1700000000,"40"]},
		{"metric":{"dst_port":"53","proto_num":"17"},"value":[1700000000,"7"]},
		{"metric":{"dst_port":"9","proto_num":"132"},"value":[1700000000,"7"]},
		{"metric":{"dst_port":"70000","proto_num":"6"},"value":[1700000000,"99"]},
		{"metric":{"dst_port":"80","proto_num":"1"},"value":[1700000000,"99"]},
		{"metric":{"dst_port":"23","proto_num":"6"},"value":[1700000000,"NaN"]}]}}`
	var gotQuery, gotTime, gotAgent string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotQuery, gotTime, gotAgent = r.URL.Query().Get("query"), r.URL.Query().Get("time"), r.UserAgent()
		if r.Method != http.MethodGet || r.URL.Path != "/loki/api/v1/query" {
			http.Error(w, "want GET /loki/api/v1/query", http.StatusNotFound)
			return
		}
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)

	p := newCounter(t, srv.URL+"/", PortOptions{TopPorts: 3})
	until := time.Unix(1700000000, 5)
	got, err := p.Count(t.Context(), until, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []source.PortCount{{Port: 22, Protocol: "tcp", Count: 40}, {Port: 443, Protocol: "tcp", Count: 40}, {Port: 9, Protocol: "sctp", Count: 7}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Count = %v, want %v", got, want)
	}
	if gotQuery != p.Query(2*time.Hour) || !strings.Contains(gotQuery, "[2h]") {
		t.Errorf("the server got query %q", gotQuery)
	}
	if gotTime != "1700000000000000005" {
		t.Errorf("time = %q, want nanoseconds", gotTime)
	}
	if gotAgent != version.UserAgent() {
		t.Errorf("User-Agent = %q", gotAgent)
	}
}

func TestCountReadsMatrixAndRejectsStreams(t *testing.T) {
	matrix := `{"status":"success","data":{"resultType":"matrix","result":[
		{"metric":{"dst_port":"3389","proto_num":"6"},"values":[[1,"2"],[2,"5"]]}]}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(matrix)) }))
	t.Cleanup(srv.Close)
	got, err := newCounter(t, srv.URL, PortOptions{}).Count(t.Context(), time.Now(), time.Hour)
	if err != nil || !reflect.DeepEqual(got, []source.PortCount{{Port: 3389, Protocol: "tcp", Count: 5}}) {
		t.Errorf("Count of a matrix = %v, %v; want the last point", got, err)
	}

	streams := backendFile(t, "loki-query_range-streams-docs.json")
	srv2 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(streams) }))
	t.Cleanup(srv2.Close)
	_, err = newCounter(t, srv2.URL, PortOptions{}).Count(t.Context(), time.Now(), time.Hour)
	if err == nil || !strings.Contains(err.Error(), `unexpected result type "streams"`) {
		t.Errorf("Count of streams: error = %v, want the unexpected type", err)
	}
}

func TestQueryErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"plain text", 400, "parse error at line 1, col 5: syntax error: unexpected IDENTIFIER\n", "HTTP 400: parse error at line 1, col 5"},
		{"json", 500, `{"status":"error","error":"max series reached"}`, "HTTP 500: max series reached"},
		{"json in 200", 200, `{"status":"error","errorType":"bad_data","error":"bad query"}`, "HTTP 200: bad query (bad_data)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			t.Cleanup(srv.Close)
			c, _ := New(Options{BaseURL: srv.URL})
			_, err := c.Query(t.Context(), `sum(count_over_time({job="x"}[1h]))`, time.Time{})
			var lokiErr *Error
			if !errors.As(err, &lokiErr) || lokiErr.StatusCode != tt.status {
				t.Fatalf("error = %v, want an *Error with status %d", err, tt.status)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "count_over_time") {
				t.Errorf("error %q does not name the query", err)
			}
		})
	}
}

func TestQueryTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })

	c, _ := New(Options{BaseURL: srv.URL, Timeout: 50 * time.Millisecond})
	_, err := c.Query(t.Context(), "x", time.Time{})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no response within 50ms") {
		t.Fatalf("error = %v, want a timeout after 50ms", err)
	}
}

func TestQueryConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()

	c, _ := New(Options{BaseURL: "http://" + addr})
	_, err = c.Query(t.Context(), "x", time.Time{})
	if err == nil || !strings.Contains(err.Error(), "http://"+addr+"/loki/api/v1/query") {
		t.Fatalf("error = %v, want one naming the endpoint", err)
	}
}

func TestQueryBodyTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(backendFile(t, "loki-query-vector-docs.json"))
	}))
	t.Cleanup(srv.Close)
	c, _ := New(Options{BaseURL: srv.URL, MaxBodyBytes: 100})
	_, err := c.Query(t.Context(), "x", time.Time{})
	if err == nil || !strings.Contains(err.Error(), "larger than 100 bytes") {
		t.Fatalf("error = %v, want the size limit", err)
	}
}

func TestNewRejectsBadURLs(t *testing.T) {
	for _, raw := range []string{"", "loki:3100", "ftp://loki", "http://loki:3100?x=1"} {
		if _, err := New(Options{BaseURL: raw}); err == nil {
			t.Errorf("New(%q) succeeded, want an error", raw)
		}
	}
}
