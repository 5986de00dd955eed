package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

func TestServeSyslogReceivesEveryFraming(t *testing.T) {
	t.Parallel()
	requireBinary(t)
	s := startServe(t, serveOptions{Env: []string{
		"SYSLOG_LISTEN=udp://127.0.0.1:0,tcp://127.0.0.1:0",
		"WAN_INTERFACES=" + wan,
	}})
	udpAddr, tcpAddr := syslogAddrs(t, s)
	s.waitFirstCycle(t)

	now := time.Now()
	// One attacker per framing and header format, each with its own count,
	// so a message lost or counted twice shows in that attacker's count.
	const (
		udp3164  = "203.0.113.31"
		udp5424  = "203.0.113.32"
		tcpLF    = "2001:db8:bad::33"
		tcpOctet = "203.0.113.34"
	)
	want := map[string]uint64{udp3164: 2, udp5424: 1, tcpLF: 3, tcpOctet: 4}

	udp := dial(t, "udp", udpAddr)
	for range want[udp3164] {
		send(t, udp, rfc3164(now, block("tcp", udp3164, wanAddr4, 22)))
	}
	for range want[udp5424] {
		send(t, udp, rfc5424(now, block("udp", udp5424, wanAddr4, 161)))
	}

	newline := dial(t, "tcp", tcpAddr)
	var lf strings.Builder
	for i := range want[tcpLF] {
		if i%2 == 0 {
			lf.WriteString(rfc5424(now, block("tcp", tcpLF, wanAddr6, 443)) + "\n")
		} else {
			lf.WriteString(rfc3164(now, block("tcp", tcpLF, wanAddr6, 443)) + "\n")
		}
	}
	send(t, newline, lf.String())
	closeConn(t, newline)

	octet := dial(t, "tcp", tcpAddr)
	var frames strings.Builder
	for range want[tcpOctet] {
		msg := rfc5424(now, block("tcp", tcpOctet, wanAddr4, 3389))
		fmt.Fprintf(&frames, "%d %s", len(msg), msg)
	}
	send(t, octet, frames.String())
	closeConn(t, octet)

	// Datagrams and connections are read in the background, so cycles run
	// until every message is counted.
	var got map[string]uint64
	waitFor(t, cycleTimeout, "every sent message in /api/report", func() bool {
		s.runCycle(t)
		got = blockedCounts(t, s)
		for addr, n := range want {
			if got[addr] > n {
				t.Fatalf("%s counted %d times, want %d: a message was counted twice", addr, got[addr], n)
			}
			if got[addr] < n {
				return false
			}
		}
		return true
	})
	if len(got) != len(want) {
		t.Errorf("blocked_ips = %v, want exactly %v", got, want)
	}

	// A framing error would show as a skipped line, such as an octet count
	// read as part of a message.
	var sent uint64
	for _, n := range want {
		sent += n
	}
	for _, m := range s.metrics(t)["threat_intel_parser_lines_total"].GetMetric() {
		outcome, n := labels(m)["outcome"], uint64(m.GetCounter().GetValue())
		switch {
		case outcome == "parsed" && n != sent:
			t.Errorf("threat_intel_parser_lines_total{outcome=\"parsed\"} = %d, want %d", n, sent)
		case outcome != "parsed" && n != 0:
			t.Errorf("threat_intel_parser_lines_total{outcome=%q} = %d, want 0", outcome, n)
		}
	}

	s.stop(t)
}

// syslogAddrs returns the UDP and TCP addresses serve bound for syslog,
// from its start-up log.
func syslogAddrs(t *testing.T, s *server) (udp, tcp string) {
	t.Helper()
	rec := s.waitLog(t, "live input started", startTimeout)
	list, _ := rec["syslog"].([]any)
	for _, v := range list {
		endpoint, _ := v.(string)
		switch {
		case strings.HasPrefix(endpoint, "udp://"):
			udp = strings.TrimPrefix(endpoint, "udp://")
		case strings.HasPrefix(endpoint, "tcp://"):
			tcp = strings.TrimPrefix(endpoint, "tcp://")
		}
	}
	if !strings.HasPrefix(udp, "127.0.0.1:") || !strings.HasPrefix(tcp, "127.0.0.1:") {
		t.Fatalf("start-up log syslog = %v, want a UDP and a TCP address on 127.0.0.1", rec["syslog"])
	}
	return udp, tcp
}

// blockedCounts returns the count of every blocked source in /api/report.
func blockedCounts(t testing.TB, s *server) map[string]uint64 {
	t.Helper()
	var rep struct {
		BlockedIPs []struct {
			IP    string `json:"ip"`
			Count uint64 `json:"count"`
		} `json:"blocked_ips"`
	}
	s.getJSON(t, "/api/report", &rep)
	counts := make(map[string]uint64, len(rep.BlockedIPs))
	for _, b := range rep.BlockedIPs {
		counts[b.IP] = b.Count
	}
	return counts
}

func dial(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("connecting to syslog %s://%s: %v", network, addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// send writes msg in one write, which is one datagram over UDP.
func send(t *testing.T, conn net.Conn, msg string) {
	t.Helper()
	if err := conn.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(msg)); err != nil {
		t.Fatalf("sending syslog to %s: %v", conn.RemoteAddr(), err)
	}
}

func closeConn(t *testing.T, conn net.Conn) {
	t.Helper()
	if err := conn.Close(); err != nil {
		t.Fatalf("closing the syslog connection: %v", err)
	}
}
