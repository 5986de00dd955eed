package promql

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func newFirewall(t *testing.T, c *Client, opts FirewallOptions) *Firewall {
	t.Helper()
	f, err := NewFirewall(c, opts)
	if err != nil {
		t.Fatalf("NewFirewall: %v", err)
	}
	return f
}

// checkGolden compares got with testdata/name, or rewrites the file with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
		t.Errorf("%s differs from the golden file:\ngot:  %s\nwant: %s", name, got, want)
	}
}

func TestQueriesGolden(t *testing.T) {
	c := newClient(t, Options{BaseURL: "http://127.0.0.1:1"})
	tests := []struct {
		name string
		opts FirewallOptions
	}{
		{"default", FirewallOptions{TopBlocked: 50, TopOutbound: 20}},
		{"configured", FirewallOptions{
			TopBlocked: 10, TopOutbound: 5,
			ExtraMatchers: []Matcher{{Name: "instance", Type: MatchEqual, Value: `fw"1`}},
			WANInterfaces: []string{"igc0", "pppoe0.7"},
			OwnPrefixes:   []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24"), netip.MustParsePrefix("2001:db8:ffff::/48")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFirewall(t, c, tt.opts)
			lookback := time.Hour
			queries := map[string]string{
				"blocked":             f.TopBlockedQuery(lookback, tt.opts.TopBlocked),
				"distinct_blocked":    f.DistinctBlockedQuery(lookback),
				"outbound":            f.TopOutboundQuery(lookback, tt.opts.TopOutbound),
				"destination_sources": f.DestinationSourcesQuery(lookback, []string{"192.0.2.50", "2001:db8::53"}),
				"interfaces":          f.InterfacesQuery(lookback),
			}
			for name, q := range queries {
				checkGolden(t, filepath.Join("queries", tt.name, name+".promql"), q+"\n")
			}
		})
	}
}

func TestQueriesUseLookback(t *testing.T) {
	f := newFirewall(t, newClient(t, Options{BaseURL: "http://127.0.0.1:1"}), FirewallOptions{TopBlocked: 1, TopOutbound: 1})
	for _, q := range []string{
		f.TopBlockedQuery(6*time.Hour, 1), f.DistinctBlockedQuery(6 * time.Hour), f.TopOutboundQuery(6*time.Hour, 1),
		f.DestinationSourcesQuery(6*time.Hour, []string{"192.0.2.1"}), f.InterfacesQuery(6 * time.Hour),
	} {
		if !strings.Contains(q, "[6h]") || strings.Contains(q, "[1h]") {
			t.Errorf("query does not use the 6h window: %s", q)
		}
	}
}

func TestFormatRange(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{time.Hour, "1h"}, {24 * time.Hour, "24h"}, {90 * time.Minute, "90m"}, {61 * time.Second, "61s"}, {time.Millisecond, "1s"},
	}
	for _, tt := range tests {
		if got := FormatRange(tt.d); got != tt.want {
			t.Errorf("FormatRange(%s) = %s, want %s", tt.d, got, tt.want)
		}
	}
}

func TestDestinationSourcesQueryEscapesLabels(t *testing.T) {
	f := newFirewall(t, newClient(t, Options{BaseURL: "http://127.0.0.1:1"}), FirewallOptions{})
	q := f.DestinationSourcesQuery(time.Hour, []string{`2001:db8::1%we"ird\zone`, "192.0.2.1"})
	want := `dst_ip=~"2001:db8::1%we\"ird\\\\zone|192\\.0\\.2\\.1"`
	if !strings.Contains(q, want) {
		t.Errorf("query %s does not contain %s", q, want)
	}
}

// vectorBody returns a vector response with one sample per label value.
func vectorBody(label string, values map[string]float64) []byte {
	type sample struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	body := struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string   `json:"resultType"`
			Result     []sample `json:"result"`
		} `json:"data"`
	}{Status: "success"}
	body.Data.ResultType = "vector"
	for text, v := range values {
		body.Data.Result = append(body.Data.Result, sample{
			Metric: map[string]string{label: text},
			Value:  [2]any{1700000000, strconv.FormatFloat(v, 'f', -1, 64)},
		})
	}
	data, _ := json.Marshal(body)
	return data
}

// topServer responds to a topk query with the k highest of values, as
// topk does, and records each k it received.
type topServer struct {
	*httptest.Server
	mu sync.Mutex
	ks []int
}

func newTopServer(t *testing.T, label string, values map[string]float64) *topServer {
	t.Helper()
	s := &topServer{}
	kPattern := regexp.MustCompile(`^topk\((\d+),`)
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		m := kPattern.FindStringSubmatch(r.Form.Get("query"))
		if m == nil {
			http.Error(w, "not a topk query", http.StatusBadRequest)
			return
		}
		k, _ := strconv.Atoi(m[1])
		s.mu.Lock()
		s.ks = append(s.ks, k)
		s.mu.Unlock()

		type kv struct {
			text string
			v    float64
		}
		var all []kv
		for text, v := range values {
			all = append(all, kv{text, v})
		}
		// Highest first, so the first k are topk's result.
		for i := range all {
			for j := i + 1; j < len(all); j++ {
				if all[j].v > all[i].v {
					all[i], all[j] = all[j], all[i]
				}
			}
		}
		top := map[string]float64{}
		for _, e := range all[:min(k, len(all))] {
			top[e.text] = e.v
		}
		_, _ = w.Write(vectorBody(label, top))
	}))
	t.Cleanup(s.Close)
	return s
}

func TestTopBlockedRequeriesAfterClientFilter(t *testing.T) {
	// Two spellings the in-query regex lets through: a hexadecimal mapped
	// private address and a non-canonical loopback. The classifier drops
	// both, so the first response of 3 contains only 1 public address.
	srv := newTopServer(t, "src_ip", map[string]float64{
		"::ffff:a00:5":    90,
		"0:0:0:0:0:0:0:1": 80,
		"203.0.113.10":    70,
		"198.51.100.20":   60,
		"2001:DB8::20":    50,
		"192.0.2.33":      40,
		"not an address":  30,
	})
	f := newFirewall(t, newClient(t, Options{BaseURL: srv.URL}), FirewallOptions{TopBlocked: 3})

	got, err := f.TopBlocked(t.Context(), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := []RankedAddr{
		{Addr: netip.MustParseAddr("203.0.113.10"), Count: 70, Labels: []string{"203.0.113.10"}},
		{Addr: netip.MustParseAddr("198.51.100.20"), Count: 60, Labels: []string{"198.51.100.20"}},
		{Addr: netip.MustParseAddr("2001:db8::20"), Count: 50, Labels: []string{"2001:DB8::20"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("TopBlocked = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(srv.ks, []int{3, 10}) {
		t.Errorf("requested k = %v, want 3, then 3 + 2 removed + 5", srv.ks)
	}
}

func TestTopBlockedStopsOnShortResponse(t *testing.T) {
	srv := newTopServer(t, "src_ip", map[string]float64{"::ffff:a00:5": 9, "192.0.2.1": 3})
	f := newFirewall(t, newClient(t, Options{BaseURL: srv.URL}), FirewallOptions{TopBlocked: 5})
	got, err := f.TopBlocked(t.Context(), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Addr != netip.MustParseAddr("192.0.2.1") {
		t.Errorf("TopBlocked = %v, want only 192.0.2.1", got)
	}
	if len(srv.ks) != 1 {
		t.Errorf("queried %d times, want once because the response contained fewer than k samples", len(srv.ks))
	}
}

func TestTopBlockedMergesSpellings(t *testing.T) {
	srv := newTopServer(t, "src_ip", map[string]float64{"2001:db8::7": 4, "2001:DB8::7": 3, "::ffff:192.0.2.9": 2, "192.0.2.9": 2.4})
	f := newFirewall(t, newClient(t, Options{BaseURL: srv.URL}), FirewallOptions{TopBlocked: 5})
	got, err := f.TopBlocked(t.Context(), time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("TopBlocked = %v, want 2 merged addresses", got)
	}
	if got[0].Addr != netip.MustParseAddr("2001:db8::7") || got[0].Count != 7 || len(got[0].Labels) != 2 {
		t.Errorf("first = %+v, want 2001:db8::7 with 7 events from 2 labels", got[0])
	}
	if got[1].Addr != netip.MustParseAddr("192.0.2.9") || got[1].Count != 4 {
		t.Errorf("second = %+v, want 192.0.2.9 with 2 + 2 events", got[1])
	}
}

func TestZeroTopSkipsQuery(t *testing.T) {
	srv := newServer(t, 500, nil)
	f := newFirewall(t, newClient(t, Options{BaseURL: srv.URL}), FirewallOptions{})
	if got, err := f.TopBlocked(t.Context(), time.Now(), time.Hour); err != nil || got != nil {
		t.Errorf("TopBlocked with size 0 = %v, %v; want nothing and no query", got, err)
	}
	if got, err := f.TopOutbound(t.Context(), time.Now(), time.Hour); err != nil || got != nil {
		t.Errorf("TopOutbound with size 0 = %v, %v; want nothing and no query", got, err)
	}
	if len(srv.requests) != 0 {
		t.Errorf("the server got %d requests", len(srv.requests))
	}
}

func TestDistinctBlockedOfNoSeriesIsZero(t *testing.T) {
	srv := newServer(t, 200, []byte(emptyVector))
	f := newFirewall(t, newClient(t, Options{BaseURL: srv.URL}), FirewallOptions{})
	n, err := f.DistinctBlocked(t.Context(), time.Now(), time.Hour)
	if err != nil || n != 0 {
		t.Errorf("DistinctBlocked = %d, %v; want 0", n, err)
	}
}

func TestUnexpectedResultTypeFails(t *testing.T) {
	srv := newServer(t, 200, backendFile(t, "victoriametrics-api-v1-query-scalar-stats-int-vmalert-test.json"))
	f := newFirewall(t, newClient(t, Options{BaseURL: srv.URL}), FirewallOptions{TopBlocked: 5})
	_, err := f.Interfaces(t.Context(), time.Now(), time.Hour)
	if err == nil || !strings.Contains(err.Error(), `unexpected result type "scalar"`) || !strings.Contains(err.Error(), "count by (interface)") {
		t.Errorf("error = %v, want the result type and the query", err)
	}
}

func TestDestinationSourcesGroupsByKind(t *testing.T) {
	body := `{"status":"success","data":{"resultType":"vector","result":[
		{"metric":{"dst_ip":"192.0.2.50","src_ip":"192.168.1.10","source_kind":"internal"},"value":[1,"80"]},
		{"metric":{"dst_ip":"192.0.2.50","src_ip":"192.168.1.11","source_kind":"internal"},"value":[1,"40"]},
		{"metric":{"dst_ip":"192.0.2.50","src_ip":"127.0.0.1","source_kind":"internal"},"value":[1,"99"]},
		{"metric":{"dst_ip":"192.0.2.50","src_ip":"198.51.100.1","source_kind":"nat"},"value":[1,"120"]},
		{"metric":{"dst_ip":"2001:DB8::53","src_ip":"fd00::10","source_kind":"internal"},"value":[1,"5"]},
		{"metric":{"dst_ip":"192.0.2.99","src_ip":"10.0.0.1","source_kind":"internal"},"value":[1,"5"]}]}}`
	srv := newServer(t, 200, []byte(body))
	f := newFirewall(t, newClient(t, Options{BaseURL: srv.URL}), FirewallOptions{})
	dsts := []RankedAddr{
		{Addr: netip.MustParseAddr("192.0.2.50"), Count: 120, Labels: []string{"192.0.2.50"}},
		{Addr: netip.MustParseAddr("2001:db8::53"), Count: 60, Labels: []string{"2001:DB8::53"}},
	}
	got, err := f.DestinationSources(t.Context(), time.Now(), time.Hour, dsts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[netip.Addr]DestinationSources{
		netip.MustParseAddr("192.0.2.50"): {
			Internal: []netip.Addr{netip.MustParseAddr("192.168.1.10"), netip.MustParseAddr("192.168.1.11")},
			NAT:      []netip.Addr{netip.MustParseAddr("198.51.100.1")},
		},
		netip.MustParseAddr("2001:db8::53"): {
			Internal: []netip.Addr{netip.MustParseAddr("fd00::10")},
			NAT:      []netip.Addr{},
		},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("DestinationSources = %v, want %v", got, want)
	}
	query := srv.lastRequest(t).Form.Get("query")
	if !strings.Contains(query, `dst_ip=~"192\\.0\\.2\\.50|2001:DB8::53"`) {
		t.Errorf("query does not match the destinations by their labels: %s", query)
	}
}

func TestCount(t *testing.T) {
	tests := []struct {
		v    float64
		want uint64
	}{
		{2.4, 2}, {2.5, 3}, {0, 0}, {-1, 0}, {nanValue(), 0}, {1e30, 1<<64 - 1},
	}
	for _, tt := range tests {
		if got := Count(tt.v); got != tt.want {
			t.Errorf("Count(%v) = %d, want %d", tt.v, got, tt.want)
		}
	}
}

func nanValue() float64 {
	v, _ := strconv.ParseFloat("NaN", 64)
	return v
}

func TestNewFirewallRejects(t *testing.T) {
	c := newClient(t, Options{BaseURL: "http://127.0.0.1:1"})
	tests := []struct {
		name string
		opts FirewallOptions
	}{
		{"bad matcher name", FirewallOptions{ExtraMatchers: []Matcher{{Name: "a-b", Value: "x"}}}},
		{"bad matcher regex", FirewallOptions{ExtraMatchers: []Matcher{{Name: "a", Type: MatchRegexp, Value: "("}}}},
		{"negative size", FirewallOptions{TopBlocked: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewFirewall(c, tt.opts); err == nil {
				t.Error("NewFirewall succeeded, want an error")
			}
		})
	}
	if _, err := NewFirewall(nil, FirewallOptions{}); err == nil {
		t.Error("NewFirewall without a client succeeded")
	}
}
