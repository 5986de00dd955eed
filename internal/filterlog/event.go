package filterlog

import (
	"net/netip"
	"time"
)

// Action is the packet filter's decision for a logged packet.
type Action uint8

const (
	ActionUnknown Action = iota // "unkn(%u)" or any value the format does not define
	ActionPass
	ActionBlock
	ActionReject // OPNsense spelling for a blocked packet that was answered
	ActionRdr
	ActionNAT
	ActionBinat
	ActionScrub
)

var actionNames = [...]string{
	ActionUnknown: "unknown",
	ActionPass:    "pass",
	ActionBlock:   "block",
	ActionReject:  "reject",
	ActionRdr:     "rdr",
	ActionNAT:     "nat",
	ActionBinat:   "binat",
	ActionScrub:   "scrub",
}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown"
}

// Direction is the side of the interface a packet was logged on.
type Direction uint8

const (
	DirectionUnknown Direction = iota
	DirectionIn
	DirectionOut
)

func (d Direction) String() string {
	switch d {
	case DirectionIn:
		return "in"
	case DirectionOut:
		return "out"
	}
	return "unknown"
}

// Event is one parsed filterlog line. Strings are interned or copied, so an
// Event stays valid after the line buffer it came from is reused.
type Event struct {
	// Time is the line's timestamp. Lines without a zone (BSD syslog) are
	// read in the parser's location; the year of a BSD line is inferred.
	Time time.Time
	Host string // syslog hostname, empty when the header has none

	Rule      string // rule number; empty for OPNsense's default deny
	SubRule   string
	Anchor    string
	Label     string // pfSense tracker or OPNsense rule label (hex, UUID or "(null)")
	Interface string
	Reason    string // "match", "fragment", "ip-option", …
	Action    Action
	Direction Direction

	IPVersion    uint8 // 4 or 6
	ProtocolNum  uint8
	ProtocolName string // lower-case: "tcp", "udp", "icmp", "ipv6-icmp", "carp", "unknown(252)", …
	Length       int    // IPv4 total length or IPv6 payload length, as logged
	Src, Dst     netip.Addr
	HasPorts     bool // true only for TCP, UDP and SCTP lines that carry ports
	SrcPort      uint16
	DstPort      uint16
	TCPFlags     string
	DataLength   int
}
