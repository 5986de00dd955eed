package filterlog

import (
	"net/netip"
	"time"
)

// Action is the packet filter's decision for a logged packet.
type Action uint8

const (
	ActionUnknown Action = iota // "unkn(%u)", "unknown(N)", or "synproxy-drop", which has no Action of its own
	ActionPass
	ActionBlock
	// ActionReject is "reject". NOTE: the filterlog sources of pfSense and
	// OPNsense have no such action, because pf logs a rejected packet as
	// "block". It is accepted for other writers of the format.
	ActionReject
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
	// Time is the line's timestamp, in the offset the line gives. Lines
	// without a zone (BSD syslog) are read in the parser's location, and the
	// year of a BSD line is inferred. A bare CSV body has no timestamp, so
	// Time is then zero.
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
	TCPFlags     string // "S", "SA", "PA", "FA", …; empty for other protocols
	// DataLength is the logged data length: the TCP payload, the UDP length
	// field, the SCTP payload, or N of "datalength=N". It is negative when a
	// TCP header claims more bytes than the packet has, and 0 when not logged.
	DataLength int
}
