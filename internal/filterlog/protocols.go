package filterlog

import (
	"bytes"
	"strconv"
	"strings"
)

// IP protocol numbers whose header carries ports.
const (
	protoTCP  = 6
	protoUDP  = 17
	protoSCTP = 132
)

// unknownProtocolNames contains "unknown(N)" for every protocol number.
// pfSense writes "unknown" for protocols its table lacks, and OPNsense
// "unknown(N)". Both become "unknown(N)".
var unknownProtocolNames = func() [256]string {
	var names [256]string
	for i := range names {
		names[i] = "unknown(" + strconv.Itoa(i) + ")"
	}
	return names
}()

// protocolName returns the lower-case protocol name for a logged name.
// pfSense's IPv6 lines use tcpdump's spellings ("TCP", "ICMPv6"), and its
// IPv4 lines the /etc/protocols names ("tcp", "ipv6-icmp"). ICMPv6 becomes
// "ipv6-icmp" in both, as in /etc/protocols.
func (p *Parser) protocolName(name []byte, number uint8) string {
	// The names of nearly every line, without a map lookup.
	switch string(name) {
	case "tcp", "TCP":
		return "tcp"
	case "udp", "UDP":
		return "udp"
	case "icmp", "ICMP":
		return "icmp"
	case "ipv6-icmp", "ICMPv6":
		return "ipv6-icmp"
	case "unknown":
		return unknownProtocolNames[number]
	}

	var buf [maxInternLength]byte
	if len(name) > len(buf) {
		return strings.ToLower(string(name))
	}
	lower := buf[:len(name)]
	for i, c := range name {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if string(lower) == "icmpv6" {
		return "ipv6-icmp"
	}
	return p.strings.get(lower)
}

// parseProtocolData reads the fields after the destination address. Only
// TCP, UDP and SCTP carry ports, and only in the first fragment: filterlog
// prints nothing after the addresses of a later fragment, whose transport
// header is in the first one. Everything else (ICMP types, CARP fields, IPv6
// extension header lists, "datalength=N") contributes at most DataLength.
func (p *Parser) parseProtocolData(r *fieldReader, ev *Event, fragment bool) *SkipError {
	switch ev.ProtocolNum {
	case protoTCP, protoUDP, protoSCTP:
		if fragment {
			return nil
		}
		return p.parsePorts(r, ev)
	}

	// Protocols filterlog does not decode end in "datalength=N", and
	// OPNsense's ICMP fields start with it.
	field, ok := r.nextQuoted()
	if !ok || !bytes.HasPrefix(field, []byte("datalength=")) {
		return nil
	}
	length, valid := parseInt(trimSpace(field[len("datalength="):]), 1<<31-1)
	if !valid {
		return errBadField
	}
	ev.DataLength = length
	return nil
}

// parsePorts reads "srcport,dstport,datalen" and, for TCP, the flags after
// them. The sequence numbers, window and options that follow are not kept.
func (p *Parser) parsePorts(r *fieldReader, ev *Event) *SkipError {
	src, ok := r.nextQuoted()
	if !ok || len(src) == 0 {
		return errTooFewFields
	}

	// A TCP header shorter than 20 bytes has no ports to print: filterlog
	// writes "errormsg='tcp N [bad hdr length N - too short < 20]'" instead.
	if ev.ProtocolNum == protoTCP && bytes.HasPrefix(src, []byte("errormsg=")) {
		return nil
	}

	dst, ok := r.nextQuoted()
	if !ok || len(dst) == 0 {
		return errTooFewFields
	}
	srcPort, okSrc := parseUint(src, 65535)
	dstPort, okDst := parseUint(dst, 65535)
	if !okSrc || !okDst {
		return errBadPort
	}
	ev.HasPorts = true
	ev.SrcPort, ev.DstPort = uint16(srcPort), uint16(dstPort)

	// The data length and TCP flags are in every line filterlog writes, but
	// lines cut short after the ports are still worth their ports.
	dataLength, ok := r.nextQuoted()
	if !ok {
		return nil
	}
	if len(dataLength) > 0 {
		length, valid := parseInt(dataLength, 1<<31-1)
		if !valid {
			return errBadField
		}
		ev.DataLength = length
	}

	if ev.ProtocolNum != protoTCP {
		return nil
	}
	flags, ok := r.nextQuoted()
	if !ok {
		return nil
	}
	if !isTCPFlags(flags) {
		return errBadField
	}
	ev.TCPFlags = p.strings.get(flags)
	return nil
}

// isTCPFlags reports whether b is filterlog's TCP flag string: the letters
// of FIN, SYN, RST, PSH, ACK, URG, ECE and CWR in that order, each at most
// once. It is empty for a packet with no flags set.
func isTCPFlags(b []byte) bool {
	const order = "FSRPAUEC"
	next := 0
	for _, c := range b {
		i := strings.IndexByte(order[next:], c)
		if i < 0 {
			return false
		}
		next += i + 1
	}
	return true
}
