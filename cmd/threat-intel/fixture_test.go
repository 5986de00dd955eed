package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/provider/providertest"
)

// The firewall of the fixtures: WAN igc0 with the public addresses
// 198.51.100.2 and 2001:db8:1::1, LAN igc1 with 192.168.1.0/24.
const (
	wan = "igc0"
	lan = "igc1"

	wanAddr4 = "198.51.100.2"
	wanAddr6 = "2001:db8:1::1"
)

// Addresses of the fixtures, all documentation or private addresses.
const (
	attackerA      = "203.0.113.45"     // TCP scan of remote-access ports
	attackerUDP    = "198.51.100.77"    // UDP probes
	attackerV6     = "2001:db8:bad::66" // TCP scan over IPv6
	attackerPing   = "192.0.2.10"       // ICMP echo requests
	attackerV6Ping = "2001:db8:bad::99" // ICMPv6
	attackerB      = "192.0.2.200"      // the attacker of the rewritten log

	outboundWeb  = "203.0.113.180"    // HTTPS from two LAN hosts, logged before and after NAT
	outboundDNS  = "198.51.100.99"    // DNS from the firewall itself, WAN only
	outboundV6   = "2001:db8:cafe::1" // HTTPS over IPv6
	outboundPing = "203.0.113.200"    // ICMP from the firewall
	outboundC2   = "198.51.100.66"    // a known bad destination a LAN host reaches on 8443

	lanHost1 = "192.168.1.23"
	lanHost2 = "192.168.1.31"
	lanHost6 = "2001:db8:1::23"
)

// flow is one filterlog line's content: where it was logged, what the
// firewall did, and the packet's addresses and ports. ICMP has no ports.
type flow struct {
	iface, action, dir string
	proto              string // tcp, udp or icmp; icmp over IPv6 is logged as ICMPv6
	src, dst           string
	sport, dport       int
}

func block(proto, src, dst string, dport int) flow {
	return flow{iface: wan, action: "block", dir: "in", proto: proto, src: src, dst: dst, sport: 40000 + dport%1000, dport: dport}
}

func pass(iface, dir, proto, src, dst string, dport int) flow {
	return flow{iface: iface, action: "pass", dir: dir, proto: proto, src: src, dst: dst, sport: 51000 + dport%1000, dport: dport}
}

// csv returns the filterlog CSV body in the pfSense layout: rule fields,
// IPv4 or IPv6 header fields, then the protocol fields.
func (f flow) csv() string {
	rule := "5,,,1000000103," + f.iface + ",match," + f.action + "," + f.dir + ","
	v6 := strings.Contains(f.src, ":")
	switch {
	case f.proto == "icmp" && v6:
		return rule + fmt.Sprintf("6,0x00,0x00000,64,ICMPv6,58,16,%s,%s,", f.src, f.dst)
	case f.proto == "icmp":
		return rule + fmt.Sprintf("4,0x0,,64,32515,0,none,1,icmp,84,%s,%s,request,32515,14", f.src, f.dst)
	}

	// IPv4 puts the protocol number before its name, IPv6 after it.
	number := map[string]int{"tcp": 6, "udp": 17}[f.proto]
	header := fmt.Sprintf("4,0x0,,64,23456,0,DF,%d,%s,60,%s,%s,", number, f.proto, f.src, f.dst)
	if v6 {
		header = fmt.Sprintf("6,0x00,0x00000,64,%s,%d,40,%s,%s,", f.proto, number, f.src, f.dst)
	}
	ports := fmt.Sprintf("%d,%d,", f.sport, f.dport)
	if f.proto == "tcp" {
		return rule + header + ports + "0,S,1000000,,64240,,mss;sackOK;TS;nop;wscale"
	}
	return rule + header + ports + "20"
}

// times returns n copies of f.
func times(n int, f flow) []flow {
	out := make([]flow, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// scanFlows is the traffic of the main fixture.
//
// Blocked on the WAN: attackerA scans TCP 22, 23, 445 and 3389;
// attackerUDP probes UDP 53, 161 and 1900; attackerV6 scans TCP 22 and 443
// over IPv6; attackerPing and attackerV6Ping send ICMP. A block on the LAN
// (NetBIOS broadcast) is not an attack and must not be reported.
//
// Outbound: two LAN hosts reach outboundWeb, each flow logged on the LAN
// before NAT and on the WAN after it. The firewall itself resolves names at
// outboundDNS and pings outboundPing, logged on the WAN only, so the source
// is the NAT address. A LAN host reaches outboundV6 over IPv6, and another
// one reaches outboundC2 on 8443.
func scanFlows() []flow {
	var f []flow
	f = append(f, times(3, block("tcp", attackerA, wanAddr4, 22))...)
	f = append(f, block("tcp", attackerA, wanAddr4, 23))
	f = append(f, times(2, block("tcp", attackerA, wanAddr4, 3389))...)
	f = append(f, block("tcp", attackerA, wanAddr4, 445))
	f = append(f, block("udp", attackerUDP, wanAddr4, 53), block("udp", attackerUDP, wanAddr4, 161), block("udp", attackerUDP, wanAddr4, 1900))
	f = append(f, block("tcp", attackerV6, wanAddr6, 22), block("tcp", attackerV6, wanAddr6, 443))
	f = append(f, times(2, block("icmp", attackerPing, wanAddr4, 0))...)
	f = append(f, block("icmp", attackerV6Ping, wanAddr6, 0))
	f = append(f, flow{iface: lan, action: "block", dir: "in", proto: "udp", src: "192.168.1.40", dst: "192.168.1.255", sport: 137, dport: 137})

	for range 2 {
		f = append(f, pass(lan, "in", "tcp", lanHost1, outboundWeb, 443), pass(wan, "out", "tcp", wanAddr4, outboundWeb, 443))
	}
	f = append(f, pass(lan, "in", "tcp", lanHost2, outboundWeb, 443), pass(wan, "out", "tcp", wanAddr4, outboundWeb, 443))
	f = append(f, times(2, pass(wan, "out", "udp", wanAddr4, outboundDNS, 53))...)
	f = append(f, pass(wan, "out", "icmp", wanAddr4, outboundPing, 0))
	f = append(f, pass(lan, "in", "tcp", lanHost6, outboundV6, 443), pass(wan, "out", "tcp", lanHost6, outboundV6, 443))
	for range 2 {
		f = append(f, pass(lan, "in", "tcp", lanHost2, outboundC2, 8443), pass(wan, "out", "tcp", wanAddr4, outboundC2, 8443))
	}
	return f
}

// rfc5424 formats f as an RFC 5424 syslog line as pfSense writes it,
// dated at.
func rfc5424(at time.Time, f flow) string {
	return fmt.Sprintf("<134>1 %s fw.example.net filterlog 41577 - - %s",
		at.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), f.csv())
}

// rfc3164 formats f as a BSD syslog line as pfSense sends it, dated at in
// UTC, the zone the tests give the service.
func rfc3164(at time.Time, f flow) string {
	return fmt.Sprintf("<134>%s filterlog[123]: %s", at.UTC().Format(time.Stamp), f.csv())
}

// logLines returns flows as RFC 5424 lines dated in the last few minutes,
// oldest first and one second apart, so they all fall in a one-hour
// window ending now.
func logLines(flows []flow) []string {
	start := time.Now().Add(-5 * time.Minute)
	lines := make([]string, len(flows))
	for i, f := range flows {
		lines[i] = rfc5424(start.Add(time.Duration(i)*time.Second), f)
	}
	return lines
}

// writeLog writes lines to path, replacing its content. No lines leave
// the file empty.
func writeLog(t testing.TB, path string, lines []string) {
	t.Helper()
	var data []byte
	if len(lines) > 0 {
		data = []byte(strings.Join(lines, "\n") + "\n")
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatalf("writing the fixture log: %v", err)
	}
}

// Distinct fake keys, so the providers are configured and a leak would be
// found by a substring search.
const (
	abuseKey  = "abuse-KEY-e2e"
	gnKey     = "gn-KEY-e2e"
	otxKey    = "otx-KEY-e2e"
	ipinfoKey = "ipinfo-TOKEN-e2e"
)

// providerKeys lists the keys that env sets.
var providerKeys = []string{abuseKey, gnKey, otxKey, ipinfoKey}

// providers are the four threat-intelligence APIs, replayed on 127.0.0.1.
type providers struct {
	abuse, greynoise, otx, ipinfo *providertest.Server
}

// env returns the settings that point serve at the replayed providers,
// with rates high enough that pacing never slows a test.
func (p *providers) env() []string {
	return []string{
		"ABUSEIPDB_API_KEY=" + abuseKey, "ABUSEIPDB_BASE_URL=" + p.abuse.URL,
		"GREYNOISE_API_KEY=" + gnKey, "GREYNOISE_BASE_URL=" + p.greynoise.URL,
		"OTX_API_KEY=" + otxKey, "OTX_BASE_URL=" + p.otx.URL,
		"IPINFO_TOKEN=" + ipinfoKey, "IPINFO_BASE_URL=" + p.ipinfo.URL,
		"ABUSEIPDB_RATE_PER_MINUTE=60000", "GREYNOISE_RATE_PER_MINUTE=60000",
		"OTX_RATE_PER_MINUTE=60000", "IPINFO_RATE_PER_MINUTE=60000",
	}
}

// corpusReply returns a handler that replies with status and corpus file
// api/name as the JSON body.
func corpusReply(t testing.TB, status int, name string) http.Handler {
	t.Helper()
	return providertest.Reply(status, providertest.JSON(), providertest.APIFile(t, name))
}

// byAddress returns a handler that passes a request to the handler of the
// address it requests, found as a path segment or a query value, and to
// fallback for any other address.
func byAddress(handlers map[string]http.Handler, fallback http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked := strings.Split(r.URL.Path, "/")
		for _, values := range r.URL.Query() {
			asked = append(asked, values...)
		}
		for addr, h := range handlers {
			if slices.Contains(asked, addr) {
				h.ServeHTTP(w, r)
				return
			}
		}
		fallback.ServeHTTP(w, r)
	})
}

// newProviders starts the four providers with the given handlers.
func newProviders(t testing.TB, abuse, greynoise, otx, ipinfo http.Handler) *providers {
	t.Helper()
	return &providers{
		abuse:     providertest.NewServer(t, abuse),
		greynoise: providertest.NewServer(t, greynoise),
		otx:       providertest.NewServer(t, otx),
		ipinfo:    providertest.NewServer(t, ipinfo),
	}
}

// notFound replies 404 with no body, as a provider without a record does.
var notFound = providertest.Reply(http.StatusNotFound, providertest.JSON(), nil)

// startProviders replays recorded responses that differ by address, so the
// report holds a range of verdicts:
//   - attackerA and outboundC2: AbuseIPDB confidence 100 and 39 OTX pulses,
//     known bad actors;
//   - attackerUDP: GreyNoise classifies it as Shodan.io's benign scanner;
//   - outboundWeb: GreyNoise RIOT (Google Public DNS) and IPinfo's record
//     of AS15169 Google, a known benign service;
//   - any other request: AbuseIPDB confidence 21, no OTX entry (404), not
//     observed by GreyNoise (its 404 body) and no IPinfo record (404).
func startProviders(t testing.TB) *providers {
	t.Helper()
	bad := corpusReply(t, http.StatusOK, "abuseipdb-check-verbose-docs.json")
	pulses := corpusReply(t, http.StatusOK, "otx-indicators-ipv4-general-checkip.json")
	return newProviders(t,
		byAddress(map[string]http.Handler{attackerA: bad, outboundC2: bad},
			corpusReply(t, http.StatusOK, "abuseipdb-check-verbose-ciscosecurity.json")),
		byAddress(map[string]http.Handler{
			attackerUDP: corpusReply(t, http.StatusOK, "greynoise-community-noise-found-demisto.json"),
			outboundWeb: corpusReply(t, http.StatusOK, "greynoise-community-riot-official-readme-8.8.8.8.json"),
		}, corpusReply(t, http.StatusNotFound, "greynoise-community-404-notfound-graylog.json")),
		byAddress(map[string]http.Handler{attackerA: pulses, outboundC2: pulses}, notFound),
		ipinfoBatch(t, map[string]string{outboundWeb: "ipinfo-lite-8.8.8.8-official-docs.json"},
			byAddress(map[string]http.Handler{
				outboundWeb: corpusReply(t, http.StatusOK, "ipinfo-lite-8.8.8.8-official-docs.json"),
			}, notFound)),
	)
}

// ipinfoBatch answers IPinfo's POST /batch/lite, a JSON list of addresses,
// with an object keyed by each address: the recorded record named in
// records, or a bogon entry, IPinfo's answer for an address it has no
// record of. Other requests go to single.
func ipinfoBatch(t testing.TB, records map[string]string, single http.Handler) http.Handler {
	t.Helper()
	bodies := map[string]map[string]any{}
	for addr, name := range records {
		var rec map[string]any
		if err := json.Unmarshal(providertest.APIFile(t, name), &rec); err != nil {
			t.Fatalf("decoding corpus file %s: %v", name, err)
		}
		rec["ip"] = addr
		bodies[addr] = rec
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/batch/lite" {
			single.ServeHTTP(w, r)
			return
		}
		var addrs []string
		if err := json.NewDecoder(r.Body).Decode(&addrs); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := map[string]any{}
		for _, a := range addrs {
			if rec, ok := bodies[a]; ok {
				out[a] = rec
				continue
			}
			out[a] = map[string]any{"ip": a, "bogon": true}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
}
