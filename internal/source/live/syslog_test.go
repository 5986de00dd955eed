package live

import (
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
)

// Expected content of testdata/rfc5424.log and testdata/rfc3164.log.
var (
	rfc5424Blocked = map[string]uint64{"192.0.2.10": 3, "203.0.113.7": 1, "2001:db8:bad::1": 1}
	rfc3164Blocked = map[string]uint64{"198.51.100.164": 2, "203.0.113.9": 1}
	// Both fixtures end with one line of another program.
	fixtureParsed = uint64(6 + 3)
)

func syslogOptions(t *testing.T) Options {
	t.Helper()
	opts := testOptions(t)
	opts.Listen = "udp://127.0.0.1:0,tcp://127.0.0.1:0"
	return opts
}

// checkFixtures checks the Observation of both fixtures received once.
func checkFixtures(t *testing.T, s *Source) {
	t.Helper()
	waitLines(t, s, fixtureParsed+2)
	obs := observe(t, s, time.Time{})

	want := make(map[string]uint64)
	for addr, n := range rfc5424Blocked {
		want[addr] = n
	}
	for addr, n := range rfc3164Blocked {
		want[addr] = n
	}
	checkBlocked(t, obs, want)

	if len(obs.Outbound) != 1 || obs.Outbound[0].Addr.String() != "203.0.113.50" {
		t.Errorf("outbound = %+v, want 203.0.113.50 only", obs.Outbound)
	}
	if got := obs.Lines[OutcomeParsed]; got != fixtureParsed {
		t.Errorf("parsed lines = %d, want %d", got, fixtureParsed)
	}
	if got := obs.Lines[filterlog.ReasonNotFilterlog]; got != 2 {
		t.Errorf("not_filterlog lines = %d, want 2 (the dhcpd lines)", got)
	}
}

func fixtureLines(t *testing.T) []string {
	t.Helper()
	return append(readTestdata(t, "rfc5424.log"), readTestdata(t, "rfc3164.log")...)
}

func TestSyslogUDP(t *testing.T) {
	s := start(t, syslogOptions(t))
	conn := dial(t, "udp", boundAddr(t, s, KindUDP))

	for i, line := range fixtureLines(t) {
		// Some senders end a datagram with LF or NUL.
		switch i % 3 {
		case 1:
			line += "\n"
		case 2:
			line += "\x00"
		}
		write(t, conn, line)
	}
	checkFixtures(t, s)

	st := inputStatus(t, s, "udp://127.0.0.1:0")
	if !st.Active || st.Lines != fixtureParsed+2 || st.LastLineAt.IsZero() {
		t.Errorf("UDP input status = %+v, want active with %d lines and a last line time", st, fixtureParsed+2)
	}
}

func TestSyslogTCPNewlineFramed(t *testing.T) {
	s := start(t, syslogOptions(t))
	conn := dial(t, "tcp", boundAddr(t, s, KindTCP))

	lines := fixtureLines(t)
	// Several messages in one write, CRLF endings, and one message split
	// across writes.
	write(t, conn, joinLines(lines[:4]...))
	write(t, conn, strings.Join(lines[4:8], "\r\n")+"\r\n")
	rest := joinLines(lines[8:]...)
	write(t, conn, rest[:50])
	time.Sleep(20 * time.Millisecond)
	write(t, conn, rest[50:])
	checkFixtures(t, s)
}

func TestSyslogTCPOctetCounted(t *testing.T) {
	s := start(t, syslogOptions(t))
	conn := dial(t, "tcp", boundAddr(t, s, KindTCP))

	var stream strings.Builder
	for _, line := range fixtureLines(t) {
		stream.WriteString(octetFrame(line))
	}
	all := stream.String()
	// A frame is cut inside its count, then inside its message.
	cuts := []int{0, 1, 300, 301, len(all) - 10, len(all)}
	for i := 1; i < len(cuts); i++ {
		write(t, conn, all[cuts[i-1]:cuts[i]])
		time.Sleep(10 * time.Millisecond)
	}
	checkFixtures(t, s)
}

func TestSyslogTCPMixedFramingNUL(t *testing.T) {
	s := start(t, syslogOptions(t))
	conn := dial(t, "tcp", boundAddr(t, s, KindTCP))

	var stream strings.Builder
	for i, line := range fixtureLines(t) {
		switch i % 3 {
		case 0:
			stream.WriteString(octetFrame(line))
		case 1:
			stream.WriteString(line + "\x00")
		case 2:
			stream.WriteString(line + "\n")
		}
	}
	write(t, conn, stream.String())
	checkFixtures(t, s)
}

func TestSyslogTCPOversizedFrameClosesConnection(t *testing.T) {
	s := start(t, syslogOptions(t))
	addr := boundAddr(t, s, KindTCP)
	bad := dial(t, "tcp", addr)
	good := dial(t, "tcp", addr)

	write(t, bad, "99999999 <134>1 2025-03-14T11:50:00Z fw filterlog - - - x")
	waitClosed(t, bad)

	write(t, good, blockLine(base.Add(-time.Minute), "192.0.2.77")+"\n")
	waitLines(t, s, 1)
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.77": 1})
}

func TestSyslogTCPGarbageDoesNotAffectOthers(t *testing.T) {
	s := start(t, syslogOptions(t))
	addr := boundAddr(t, s, KindTCP)
	garbage := dial(t, "tcp", addr)
	good := dial(t, "tcp", addr)

	// A message far over the maximum length, binary noise, then a
	// connection closed inside an octet-counted frame.
	write(t, garbage, strings.Repeat("\x01\xfe<>", 20000)+"\n")
	write(t, garbage, "\x00\x00\xff\xfe garbage \x00")
	write(t, good, blockLine(base.Add(-2*time.Minute), "192.0.2.78")+"\n")
	write(t, garbage, "500 <134>1 truncated")
	garbage.Close()
	write(t, good, blockLine(base.Add(-time.Minute), "192.0.2.78")+"\n")

	waitLines(t, s, 4)
	lines := s.Lines()
	if lines[filterlog.ReasonTooLong] != 1 {
		t.Errorf("too_long lines = %d, want 1", lines[filterlog.ReasonTooLong])
	}
	if lines[OutcomeParsed] != 2 {
		t.Errorf("parsed lines = %d, want 2", lines[OutcomeParsed])
	}
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.78": 2})
}

func TestSyslogTCPMaxConnections(t *testing.T) {
	opts := syslogOptions(t)
	opts.MaxConnections = 2
	s := start(t, opts)
	addr := boundAddr(t, s, KindTCP)

	for i := range 2 {
		conn := dial(t, "tcp", addr)
		write(t, conn, blockLine(base.Add(-time.Minute), "192.0.2.79")+"\n")
		waitLines(t, s, uint64(i+1))
	}
	if got := inputStatus(t, s, "tcp://127.0.0.1:0").Connections; got != 2 {
		t.Errorf("connections = %d, want 2", got)
	}

	extra := dial(t, "tcp", addr)
	waitClosed(t, extra)
}

func TestSyslogTCPIdleTimeout(t *testing.T) {
	opts := syslogOptions(t)
	opts.IdleTimeout = 100 * time.Millisecond
	s := start(t, opts)

	conn := dial(t, "tcp", boundAddr(t, s, KindTCP))
	write(t, conn, blockLine(base.Add(-time.Minute), "192.0.2.80")+"\n")
	waitClosed(t, conn)
	waitFor(t, "the connection count to drop", func() bool {
		return inputStatus(t, s, "tcp://127.0.0.1:0").Connections == 0
	})
	if got := s.Lines()[OutcomeParsed]; got != 1 {
		t.Errorf("parsed lines = %d, want 1", got)
	}
}

func TestSyslogTCPTooLongMessage(t *testing.T) {
	s := start(t, syslogOptions(t))
	conn := dial(t, "tcp", boundAddr(t, s, KindTCP))

	long := blockLine(base.Add(-time.Minute), "192.0.2.81") + strings.Repeat(",x", filterlog.MaxLineLength/2)
	write(t, conn, long+"\n"+blockLine(base.Add(-time.Minute), "192.0.2.82")+"\n")
	waitLines(t, s, 2)

	if got := s.Lines()[filterlog.ReasonTooLong]; got != 1 {
		t.Errorf("too_long lines = %d, want 1", got)
	}
	checkBlocked(t, observe(t, s, time.Time{}), map[string]uint64{"192.0.2.82": 1})
}
