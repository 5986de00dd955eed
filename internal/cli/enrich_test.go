package cli

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

// Distinctive keys, so a leak is found by a plain substring search.
const (
	abuseKey  = "abuse-KEY-6f1d2c"
	gnKey     = "gn-KEY-88a0b7"
	otxKey    = "otx-KEY-41c9e3"
	ipinfoKey = "ipinfo-TOKEN-d27a55"
)

type fakeProviders struct {
	abuse, greynoise, otx, ipinfo *providertest.Server
}

// startProviders replays the corpus's recorded success bodies, one server
// per provider, all on 127.0.0.1.
func startProviders(t *testing.T) *fakeProviders {
	t.Helper()
	reply := func(name string) http.Handler {
		return providertest.Reply(http.StatusOK, providertest.JSON(), providertest.APIFile(t, name))
	}
	return &fakeProviders{
		abuse:     providertest.NewServer(t, reply("abuseipdb-check-verbose-docs.json")),
		greynoise: providertest.NewServer(t, reply("greynoise-community-noise-found-demisto.json")),
		otx:       providertest.NewServer(t, reply("otx-indicators-ipv4-general-checkip.json")),
		ipinfo:    providertest.NewServer(t, reply("ipinfo-lite-8.8.8.8-official-docs.json")),
	}
}

func (f *fakeProviders) environ(dataDir string) []string {
	return []string{
		"DATA_DIR=" + dataDir,
		"ABUSEIPDB_API_KEY=" + abuseKey, "ABUSEIPDB_BASE_URL=" + f.abuse.URL,
		"GREYNOISE_API_KEY=" + gnKey, "GREYNOISE_BASE_URL=" + f.greynoise.URL,
		"OTX_API_KEY=" + otxKey, "OTX_BASE_URL=" + f.otx.URL,
		"IPINFO_TOKEN=" + ipinfoKey, "IPINFO_BASE_URL=" + f.ipinfo.URL,
		"ABUSEIPDB_RATE_PER_MINUTE=60000", "GREYNOISE_RATE_PER_MINUTE=60000",
		"OTX_RATE_PER_MINUTE=60000", "IPINFO_RATE_PER_MINUTE=60000",
	}
}

func (f *fakeProviders) requests() int {
	return len(f.abuse.Requests()) + len(f.greynoise.Requests()) + len(f.otx.Requests()) + len(f.ipinfo.Requests())
}

func TestLookupEnrichesAndCaches(t *testing.T) {
	f := startProviders(t)
	environ := f.environ(t.TempDir())

	r := run(t, "", environ, "lookup", "--json", "203.0.113.7", "192.168.1.10")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var records []struct {
		IP                   string            `json:"ip"`
		AbuseConfidenceScore int               `json:"abuse_confidence_score"`
		PulseCount           int               `json:"pulse_count"`
		GNClassification     string            `json:"gn_classification"`
		ASN                  string            `json:"asn"`
		CompositeScore       float64           `json:"composite_score"`
		Internal             bool              `json:"internal"`
		Providers            map[string]string `json:"providers"`
		Explanation          struct {
			Sources []string `json:"sources"`
		} `json:"explanation"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &records); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, r.stdout)
	}
	if len(records) != 2 {
		t.Fatalf("%d records, want 2", len(records))
	}
	pub, lan := records[0], records[1]
	// The replayed bodies: AbuseIPDB confidence 100, OTX 39 pulses,
	// GreyNoise classification of the demisto sample, IPinfo AS15169.
	if pub.AbuseConfidenceScore != 100 || pub.PulseCount != 39 || pub.ASN != "AS15169" {
		t.Errorf("public record = %+v, want the replayed provider values", pub)
	}
	for _, p := range []string{"abuseipdb", "greynoise", "otx", "ipinfo"} {
		if pub.Providers[p] != "ok" {
			t.Errorf("%s status = %q, want ok", p, pub.Providers[p])
		}
	}
	if len(pub.Explanation.Sources) != 4 {
		t.Errorf("explanation sources = %v, want all four providers", pub.Explanation.Sources)
	}
	if !lan.Internal || lan.Providers["abuseipdb"] != "skipped: internal" {
		t.Errorf("internal record = %+v, want internal and never looked up", lan)
	}
	if n := f.requests(); n != 4 {
		t.Errorf("%d provider requests, want 4: one per provider for the public address", n)
	}

	again := run(t, "", environ, "lookup", "--json", "203.0.113.7")
	if again.code != exitOK {
		t.Fatalf("second run: exit %d: %s", again.code, again.stderr)
	}
	if n := f.requests(); n != 4 {
		t.Errorf("%d provider requests after a second run, want still 4: the cache answers", n)
	}
}

func TestReportFillsIntel(t *testing.T) {
	f := startProviders(t)
	r := run(t, "", f.environ(t.TempDir()), "report", sampleLog, "--json")
	if r.code != exitOK {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var rep struct {
		BlockedIPs []struct {
			IP    string `json:"ip"`
			Intel struct {
				IP        string            `json:"ip"`
				Providers map[string]string `json:"providers"`
			} `json:"intel"`
		} `json:"blocked_ips"`
		OutboundIPs []struct {
			IP    string `json:"ip"`
			Intel struct {
				Providers map[string]string `json:"providers"`
			} `json:"intel"`
		} `json:"outbound_ips"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, b := range rep.BlockedIPs {
		if b.Intel.IP != b.IP || b.Intel.Providers["abuseipdb"] != "ok" {
			t.Errorf("blocked %s: intel %+v, want enriched", b.IP, b.Intel)
		}
	}
	for _, o := range rep.OutboundIPs {
		if o.Intel.Providers["otx"] != "ok" {
			t.Errorf("outbound %s: providers %v, want enriched", o.IP, o.Intel.Providers)
		}
	}
	// 19 blocked and 4 outbound addresses: one request each to AbuseIPDB,
	// GreyNoise and OTX. IPinfo gets one batch request, which the replayed
	// single-address body does not answer, then one request per address.
	for name, got := range map[string]int{
		"AbuseIPDB": len(f.abuse.Requests()), "GreyNoise": len(f.greynoise.Requests()), "OTX": len(f.otx.Requests()),
	} {
		if got != 23 {
			t.Errorf("%s received %d requests, want 23", name, got)
		}
	}
	if got := len(f.ipinfo.Requests()); got != 24 {
		t.Errorf("IPinfo received %d requests, want 24: one batch, then 23 single lookups", got)
	}
}

func TestNoSecretInOutput(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A misbehaving server that echoes every credential it was sent.
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"errors":[{"detail":"bad key ` + r.Header.Get("Key") + r.Header.Get("key") +
			r.Header.Get("X-OTX-API-KEY") + r.URL.RawQuery + `"}]}`))
	})
	servers := []*providertest.Server{
		providertest.NewServer(t, echo), providertest.NewServer(t, echo),
		providertest.NewServer(t, echo), providertest.NewServer(t, echo),
	}
	f := &fakeProviders{abuse: servers[0], greynoise: servers[1], otx: servers[2], ipinfo: servers[3]}
	environ := append(f.environ(t.TempDir()), "LOG_LEVEL=debug", "API_TOKEN=api-TOKEN-0b3f")

	outputs := []result{
		run(t, "", environ, "lookup", "203.0.113.7"),
		run(t, "", environ, "lookup", "--json", "198.51.100.7"),
		run(t, "", environ, "report", sampleLog, "--json"),
		run(t, "", append(environ, "LOOKBACK_HOURS=0"), "report", sampleLog),
		run(t, "", environ, "report", "--help"),
	}
	if n := f.requests(); n == 0 {
		t.Fatal("no provider was called, so the test proves nothing")
	}
	for i, out := range outputs {
		for _, secret := range []string{abuseKey, gnKey, otxKey, ipinfoKey, "api-TOKEN-0b3f"} {
			if strings.Contains(out.stdout+out.stderr, secret) {
				t.Errorf("output %d contains the secret %q", i, secret)
			}
		}
	}
}
