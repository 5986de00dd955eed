package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkServeRSS measures the resident memory of serve after its first
// cycle over 70 distinct public addresses (50 blocked sources and 20
// outbound destinations, the default TOP_BLOCKED_IPS and TOP_OUTBOUND_IPS),
// enriched by the four providers replayed on 127.0.0.1 with their largest
// recorded responses. Each iteration starts a new process. It reports the
// largest VmRSS after the cycle (rss_MiB) and the largest VmHWM, the peak
// resident memory until then (hwm_MiB). ns/op covers the start, the first
// cycle and the stop.
func BenchmarkServeRSS(b *testing.B) {
	requireBinary(b)
	reply := func(name string) http.Handler { return corpusReply(b, http.StatusOK, name) }
	p := newProviders(b,
		reply("abuseipdb-check-verbose-docs.json"),
		reply("greynoise-community-noise-found-demisto.json"),
		reply("otx-indicators-ipv4-general-checkip.json"),
		reply("ipinfo-lite-8.8.8.8-official-docs.json"),
	)
	logPath := filepath.Join(b.TempDir(), "filter.log")
	writeLog(b, logPath, logLines(benchFlows()))

	var rss, hwm float64
	for b.Loop() {
		s := startServe(b, serveOptions{Env: append(p.env(), "FILTERLOG_PATH="+logPath, "WAN_INTERFACES="+wan)})
		s.waitReport(b)
		if n := len(s.reportState(b).Providers); n != 70 {
			b.Fatalf("the report lists %d addresses, want 70", n)
		}

		status := procStatus(b, s.cmd.Process.Pid)
		rss = max(rss, status["VmRSS"])
		hwm = max(hwm, status["VmHWM"])
		s.stop(b)
	}
	b.ReportMetric(rss/(1<<20), "rss_MiB")
	b.ReportMetric(hwm/(1<<20), "hwm_MiB")
}

// benchFlows returns the traffic of BenchmarkServeRSS: 50 sources blocked
// on the WAN, each on its own port with one to five events, and 20
// destinations reached by LAN hosts, each logged before and after NAT.
func benchFlows() []flow {
	var flows []flow
	for i := range 50 {
		src := fmt.Sprintf("203.0.113.%d", i+1)
		flows = append(flows, times(i%5+1, block("tcp", src, wanAddr4, 1000+i))...)
	}
	for i := range 20 {
		dst := fmt.Sprintf("198.51.100.%d", 101+i)
		host := fmt.Sprintf("192.168.1.%d", 10+i%5)
		flows = append(flows, pass(lan, "in", "tcp", host, dst, 443), pass(wan, "out", "tcp", wanAddr4, dst, 443))
	}
	return flows
}

// procStatus returns the memory fields of /proc/PID/status, in bytes.
func procStatus(b *testing.B, pid int) map[string]float64 {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatalf("reading the process status (Linux only): %v", err)
	}
	defer f.Close()

	out := make(map[string]float64)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Memory lines read "VmRSS:     12345 kB".
		name, value, ok := strings.Cut(sc.Text(), ":")
		fields := strings.Fields(value)
		if !ok || !strings.HasPrefix(name, "Vm") || len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		kib, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			b.Fatalf("parsing %s in the process status: %v", name, err)
		}
		out[name] = kib * 1024
	}
	if err := sc.Err(); err != nil {
		b.Fatalf("reading the process status: %v", err)
	}
	if out["VmRSS"] == 0 || out["VmHWM"] == 0 {
		b.Fatalf("the process status has no VmRSS or VmHWM: %v", out)
	}
	return out
}
