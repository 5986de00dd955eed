package narrative

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
)

var update = flag.Bool("update", false, "rewrite golden files")

// fixture is a test report with the context it is generated in.
type fixture struct {
	Context struct {
		WANInterfaces []string `json:"wan_interfaces"`
		OwnPrefixes   []string `json:"own_prefixes"`
		Allowlist     []string `json:"allowlist"`
		WANAddress    string   `json:"wan_address"`
	} `json:"context"`
	Report report.Report `json:"report"`
}

// loadFixture reads testdata/NAME.json.
func loadFixture(t testing.TB, name string) (report.Report, Context) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var fx fixture
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatalf("decoding %s: %v", name, err)
	}
	c := Context{WANInterfaces: fx.Context.WANInterfaces}
	c.OwnPrefixes = mustPrefixes(t, fx.Context.OwnPrefixes)
	c.Allowlist = mustPrefixes(t, fx.Context.Allowlist)
	c.Classifier = netclass.New(c.OwnPrefixes)
	if fx.Context.WANAddress != "" {
		c.WANAddress = netip.MustParseAddr(fx.Context.WANAddress)
	}
	return fx.Report, c
}

func mustPrefixes(t testing.TB, list []string) []netip.Prefix {
	t.Helper()
	prefixes, err := netclass.ParsePrefixes(strings.Join(list, ","))
	if err != nil {
		t.Fatal(err)
	}
	return prefixes
}

// logRecorder keeps the JSON log records of a logger.
type logRecorder struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func newLogRecorder() (*logRecorder, *slog.Logger) {
	r := &logRecorder{}
	return r, slog.New(slog.NewJSONHandler(r, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func (r *logRecorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.Write(p)
}

func (r *logRecorder) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// records returns the records whose message starts with prefix.
func (r *logRecorder) records(t *testing.T, prefix string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(r.text()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if msg, _ := rec["msg"].(string); strings.HasPrefix(msg, prefix) {
			out = append(out, rec)
		}
	}
	return out
}

// droppedIPs returns the address or ASN of every logged guardrail drop,
// with its reason.
func (r *logRecorder) droppedIPs(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, rec := range r.records(t, "narrative line dropped") {
		target, _ := rec["ip"].(string)
		if asn, ok := rec["asn"].(string); ok {
			target = asn
		}
		reason, _ := rec["reason"].(string)
		out[target] = reason
	}
	return out
}

// answer is a model response for the tests, in the JSON the model sends.
type answer struct {
	RiskLevel          any `json:"risk_level"`
	ExecutiveSummary   any `json:"executive_summary"`
	TopThreats         any `json:"top_threats"`
	InboundAnalysis    any `json:"inbound_analysis"`
	OutboundAnalysis   any `json:"outbound_analysis"`
	PortAnalysis       any `json:"port_analysis"`
	RecommendedActions any `json:"recommended_actions"`
}

// goodAnswer is a valid narrative for the storm fixture.
func goodAnswer() answer {
	return answer{
		RiskLevel:          "critical",
		ExecutiveSummary:   "A scan storm from AS64500 hit SSH and RDP; 203.0.113.7 is the worst source.",
		TopThreats:         []string{"203.0.113.7 (Example Hosting B.V., AS64500, NL): score 88, Mirai botnet."},
		InboundAnalysis:    "412 distinct sources were blocked.",
		OutboundAnalysis:   "No suspicious outbound traffic.",
		PortAnalysis:       "SSH was the most targeted port.",
		RecommendedActions: []string{"Firewall > Rules > igc0 — add a block rule for 203.0.113.7, direction in."},
	}
}

func (a answer) json(t *testing.T) string {
	t.Helper()
	data, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
