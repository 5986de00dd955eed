package filterlog

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

var (
	addr   = netip.MustParseAddr
	utc    = time.UTC
	plus2  = time.FixedZone("", 2*3600)
	plus4  = time.FixedZone("", 4*3600)
	minus5 = time.FixedZone("", -5*3600)
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Event
	}{
		{
			name: "bsd header with host and pid",
			line: `<134>Jan  5 10:20:30 fw.example.net filterlog[12345]: 5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,40,203.0.113.45,198.51.100.10,51234,3389,0,S,1234567890,,1024,,mss`,
			want: Event{
				Time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc), Host: "fw.example.net",
				Rule: "5", Label: "1000000103", Interface: "igb0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 40,
				Src: addr("203.0.113.45"), Dst: addr("198.51.100.10"),
				HasPorts: true, SrcPort: 51234, DstPort: 3389, TCPFlags: "S",
			},
		},
		{
			name: "bsd header without host and pid without colon",
			line: `Sep  9 22:34:20 filterlog[66047] 280,,,1471783080,igb1,match,block,in,6,0x00,0x4e4e7,255,UDP,17,253,2001:db8::8218,ff02::fb,5353,5353,253`,
			want: Event{
				Time: time.Date(2024, 9, 9, 22, 34, 20, 0, utc),
				Rule: "280", Label: "1471783080", Interface: "igb1", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 6, ProtocolNum: 17, ProtocolName: "udp", Length: 253,
				Src: addr("2001:db8::8218"), Dst: addr("ff02::fb"),
				HasPorts: true, SrcPort: 5353, DstPort: 5353, DataLength: 253,
			},
		},
		{
			name: "rfc5424 with structured data",
			line: `<134>1 2023-05-14T21:52:42+02:00 opnsense.example.net filterlog 55728 - [meta sequenceId="9973"] 15,,,02f4bab031b57d1e30553ce08e0ec131,vlan0.100,match,block,in,4,0x0,,39,23624,0,none,6,tcp,44,198.51.100.10,192.0.2.1,43715,1700,0,S,1640543619,,1024,,mss`,
			want: Event{
				Time: time.Date(2023, 5, 14, 21, 52, 42, 0, plus2), Host: "opnsense.example.net",
				Rule: "15", Label: "02f4bab031b57d1e30553ce08e0ec131", Interface: "vlan0.100", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 44,
				Src: addr("198.51.100.10"), Dst: addr("192.0.2.1"),
				HasPorts: true, SrcPort: 43715, DstPort: 1700, TCPFlags: "S",
			},
		},
		{
			name: "rfc5424 without priority and ecn field",
			line: `1 2021-08-04T06:59:07.691848+04:00 fw.example.net filterlog 48906 - - 98,,,1627710987,vmx1,match,pass,in,4,0x2,0,128,848,0,DF,6,tcp,52,10.10.10.100,203.0.113.255,1029,443,0,SEC,3291118522,,8192,,mss;nop;wscale;nop;nop;sackOK`,
			want: Event{
				Time: time.Date(2021, 8, 4, 6, 59, 7, 691848000, plus4), Host: "fw.example.net",
				Rule: "98", Label: "1627710987", Interface: "vmx1", Reason: "match",
				Action: ActionPass, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 52,
				Src: addr("10.10.10.100"), Dst: addr("203.0.113.255"),
				HasPorts: true, SrcPort: 1029, DstPort: 443, TCPFlags: "SEC",
			},
		},
		{
			name: "iso export without host or program",
			line: `2025-05-06T14:49:32+00:00 155,,,c0dbc3f4f934c1cb95f41a1f3d23a189,vtnet0,match,pass,in,4,0x0,,128,23413,0,none,17,udp,72,172.16.0.10,172.16.0.1,53829,53,52`,
			want: Event{
				Time: time.Date(2025, 5, 6, 14, 49, 32, 0, utc),
				Rule: "155", Label: "c0dbc3f4f934c1cb95f41a1f3d23a189", Interface: "vtnet0", Reason: "match",
				Action: ActionPass, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 72,
				Src: addr("172.16.0.10"), Dst: addr("172.16.0.1"),
				HasPorts: true, SrcPort: 53829, DstPort: 53, DataLength: 52,
			},
		},
		{
			name: "local file format",
			line: `2024-12-29T08:20:39.570483+01:00 fw filterlog[61076] 4,,,1000000103,igc0,match,block,in,4,0x0,,41,51085,0,none,17,udp,420,203.0.113.3,198.51.100.17,11520,8442,400`,
			want: Event{
				Time: time.Date(2024, 12, 29, 7, 20, 39, 570483000, utc), Host: "fw",
				Rule: "4", Label: "1000000103", Interface: "igc0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 420,
				Src: addr("203.0.113.3"), Dst: addr("198.51.100.17"),
				HasPorts: true, SrcPort: 11520, DstPort: 8442, DataLength: 400,
			},
		},
		{
			name: "bare csv body has zero time",
			line: `5,,,1000000103,ovpnc1,match,block,in,4,0x0,,64,65242,0,none,17,udp,173,10.20.30.40,10.20.30.101,1194,1194,153`,
			want: Event{
				Rule: "5", Label: "1000000103", Interface: "ovpnc1", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 173,
				Src: addr("10.20.30.40"), Dst: addr("10.20.30.101"),
				HasPorts: true, SrcPort: 1194, DstPort: 1194, DataLength: 153,
			},
		},
		{
			name: "relayed header keeps relay host when inner has none",
			line: `Jan  5 10:20:31 relay.example.net <134>Jan  5 10:20:30 filterlog[1]: 5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,40,203.0.113.45,198.51.100.10,51234,22,0,S,1234567890,,1024,,mss`,
			want: Event{
				Time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc), Host: "relay.example.net",
				Rule: "5", Label: "1000000103", Interface: "igb0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 40,
				Src: addr("203.0.113.45"), Dst: addr("198.51.100.10"),
				HasPorts: true, SrcPort: 51234, DstPort: 22, TCPFlags: "S",
			},
		},
		{
			name: "rfc5424 relay around bsd line",
			line: `<134>1 2025-01-05T10:20:31Z relay.example.net syslog-ng - - - <134>Jan  5 10:20:30 fw.example.net filterlog[1]: 5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,40,203.0.113.45,198.51.100.10,51234,25,0,S,1234567890,,1024,,mss`,
			want: Event{
				Time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc), Host: "fw.example.net",
				Rule: "5", Label: "1000000103", Interface: "igb0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 40,
				Src: addr("203.0.113.45"), Dst: addr("198.51.100.10"),
				HasPorts: true, SrcPort: 51234, DstPort: 25, TCPFlags: "S",
			},
		},
		{
			name: "udp later fragment has no ports",
			line: `9,,,1000000103,em0,match,block,in,4,0x0,,52,5929,1480,none,17,udp,381,198.51.100.14,203.0.113.2,`,
			want: Event{
				Rule: "9", Label: "1000000103", Interface: "em0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 381,
				Src: addr("198.51.100.14"), Dst: addr("203.0.113.2"),
			},
		},
		{
			name: "udp first fragment has ports",
			line: `9,,,1000000103,em0,match,block,in,4,0x0,,52,5929,0,+,17,udp,1500,198.51.100.14,203.0.113.2,500,4500,1480`,
			want: Event{
				Rule: "9", Label: "1000000103", Interface: "em0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 1500,
				Src: addr("198.51.100.14"), Dst: addr("203.0.113.2"),
				HasPorts: true, SrcPort: 500, DstPort: 4500, DataLength: 1480,
			},
		},
		{
			name: "tcp fragment without rule",
			line: `4294967295,,,0,igc0,fragment,block,in,4,0x0,,52,15783,57344,none,6,tcp,40,203.0.113.1,198.51.100.2,`,
			want: Event{
				Rule: "4294967295", Label: "0", Interface: "igc0", Reason: "fragment",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 40,
				Src: addr("203.0.113.1"), Dst: addr("198.51.100.2"),
			},
		},
		{
			name: "tcp header too long keeps ports",
			line: `4,,,1000000103,igc0,match,block,in,4,0x0,,110,10308,0,DF,6,tcp,40,203.0.113.29,198.51.100.99,22,43932,-12,R,errormsg='[bad hdr length 32 - too long, > 20]',`,
			want: Event{
				Rule: "4", Label: "1000000103", Interface: "igc0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 40,
				Src: addr("203.0.113.29"), Dst: addr("198.51.100.99"),
				HasPorts: true, SrcPort: 22, DstPort: 43932, TCPFlags: "R", DataLength: -12,
			},
		},
		{
			name: "tcp header too short has no ports",
			line: `4,,,1000000103,igc0,match,block,in,4,0x0,,110,10308,0,DF,6,tcp,40,203.0.113.29,198.51.100.99,errormsg='tcp 20 [bad hdr length 16 - too short < 20]',`,
			want: Event{
				Rule: "4", Label: "1000000103", Interface: "igc0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 40,
				Src: addr("203.0.113.29"), Dst: addr("198.51.100.99"),
			},
		},
		{
			name: "tcp sequence range",
			line: `53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,192.0.2.2,198.51.100.15,53742,22,420,PA,29633380:29633800,3617062173,65535,,`,
			want: Event{
				Rule: "53", Label: "1000000301", Interface: "em0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 460,
				Src: addr("192.0.2.2"), Dst: addr("198.51.100.15"),
				HasPorts: true, SrcPort: 53742, DstPort: 22, TCPFlags: "PA", DataLength: 420,
			},
		},
		{
			name: "tcp without flags",
			line: `4,,,1000000103,igc0,match,block,in,4,0x0,,243,54321,0,none,6,tcp,40,203.0.113.8,198.51.100.8,80,8080,0,,1,,1024,,`,
			want: Event{
				Rule: "4", Label: "1000000103", Interface: "igc0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 40,
				Src: addr("203.0.113.8"), Dst: addr("198.51.100.8"),
				HasPorts: true, SrcPort: 80, DstPort: 8080,
			},
		},
		{
			name: "ipv6 tcp in upper case",
			line: `621,,,1644355515,vtnet0.10,match,block,in,6,0x00,0x07c63,64,TCP,6,44,2001:db8:ace:10:d8:cdbf:f6f8:6d69,2001:db8:ace:5::6,65382,443,0,S,1927530165,,0,,mss;nop;wscale;nop;nop;TS;sackOK;eol`,
			want: Event{
				Rule: "621", Label: "1644355515", Interface: "vtnet0.10", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 6, ProtocolNum: 6, ProtocolName: "tcp", Length: 44,
				Src: addr("2001:db8:ace:10:d8:cdbf:f6f8:6d69"), Dst: addr("2001:db8:ace:5::6"),
				HasPorts: true, SrcPort: 65382, DstPort: 443, TCPFlags: "S",
			},
		},
		{
			name: "udp with trailing tcp fields",
			line: `68,,,6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c,eth1,match,pass,out,4,0x0,,64,0,0,DF,17,udp,60,192.168.1.100,198.51.100.20,30340,443,0,S,1196298098,,65228,,mss;nop;wscale;sackOK;TS`,
			want: Event{
				Rule: "68", Label: "6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c", Interface: "eth1", Reason: "match",
				Action: ActionPass, Direction: DirectionOut,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 60,
				Src: addr("192.168.1.100"), Dst: addr("198.51.100.20"),
				HasPorts: true, SrcPort: 30340, DstPort: 443,
			},
		},
		{
			name: "sctp has ports",
			line: `4,,,1000000103,igc0,match,block,in,4,0x0,,44,6307,0,none,132,sctp,52,203.0.113.6,198.51.100.8,39900,14001,20`,
			want: Event{
				Rule: "4", Label: "1000000103", Interface: "igc0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 132, ProtocolName: "sctp", Length: 52,
				Src: addr("203.0.113.6"), Dst: addr("198.51.100.8"),
				HasPorts: true, SrcPort: 39900, DstPort: 14001, DataLength: 20,
			},
		},
		{
			name: "icmp unreachable port is not a port",
			line: `4,,,1000000103,igc0,match,block,in,4,0x0,,52,38570,0,none,1,icmp,81,203.0.113.26,198.51.100.89,unreachport,203.0.113.26,UDP,53`,
			want: Event{
				Rule: "4", Label: "1000000103", Interface: "igc0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 1, ProtocolName: "icmp", Length: 81,
				Src: addr("203.0.113.26"), Dst: addr("198.51.100.89"),
			},
		},
		{
			name: "icmp echo request",
			line: `176,,,1520797901,igb1.10,match,pass,in,4,0x0,,64,62096,0,DF,1,icmp,84,10.100.10.30,198.51.100.105,request,37728,164`,
			want: Event{
				Rule: "176", Label: "1520797901", Interface: "igb1.10", Reason: "match",
				Action: ActionPass, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 1, ProtocolName: "icmp", Length: 84,
				Src: addr("10.100.10.30"), Dst: addr("198.51.100.105"),
			},
		},
		{
			name: "opnsense icmp data length",
			line: `101,,,0,ix0_vlan30,match,block,in,4,0x0,,63,21441,0,DF,1,icmp,84,172.16.100.1,203.0.113.7,datalength=64,echoreq,0,4660,1,`,
			want: Event{
				Rule: "101", Label: "0", Interface: "ix0_vlan30", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 1, ProtocolName: "icmp", Length: 84,
				Src: addr("172.16.100.1"), Dst: addr("203.0.113.7"), DataLength: 64,
			},
		},
		{
			name: "icmpv6 is named ipv6-icmp",
			line: `5,16777216,,1000000003,igb0,match,block,in,6,0x00,0x00000,255,ICMPv6,58,144,fe80::201:5cff:fe63:de46,ff02::1,`,
			want: Event{
				Rule: "5", SubRule: "16777216", Label: "1000000003", Interface: "igb0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 6, ProtocolNum: 58, ProtocolName: "ipv6-icmp", Length: 144,
				Src: addr("fe80::201:5cff:fe63:de46"), Dst: addr("ff02::1"),
			},
		},
		{
			name: "ipv6 hop-by-hop list is not ports",
			line: `7,,,1000000105,igb1,match,block,in,6,0x00,0x00000,1,Options,0,56,fe80::f29f:c2ff:fe1a:2665,ff02::1,HBH,PADN,RTALERT,0x0000,5353,5353,24`,
			want: Event{
				Rule: "7", Label: "1000000105", Interface: "igb1", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 6, ProtocolNum: 0, ProtocolName: "options", Length: 56,
				Src: addr("fe80::f29f:c2ff:fe1a:2665"), Dst: addr("ff02::1"),
			},
		},
		{
			name: "carp advertisement",
			line: `48,16777216,,1000000201,em0,match,block,in,4,0x10,,255,53650,0,DF,112,carp,56,192.168.11.1,224.0.0.18,advertise,255,1,2,0,1`,
			want: Event{
				Rule: "48", SubRule: "16777216", Label: "1000000201", Interface: "em0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 112, ProtocolName: "carp", Length: 56,
				Src: addr("192.168.11.1"), Dst: addr("224.0.0.18"),
			},
		},
		{
			name: "pfsense unknown protocol gets its number",
			line: `4,,,1000000103,igc0,match,block,in,4,0x0,,118,13528,0,DF,252,unknown,21,203.0.113.4,198.51.100.8,datalength=1`,
			want: Event{
				Rule: "4", Label: "1000000103", Interface: "igc0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 252, ProtocolName: "unknown(252)", Length: 21,
				Src: addr("203.0.113.4"), Dst: addr("198.51.100.8"), DataLength: 1,
			},
		},
		{
			name: "unexpanded unknown action",
			line: `155,,,1757403802,lagg0.3,match,unkn(%u),in,4,0x0,,64,9568,0,none,17,udp,85,192.168.1.1,198.51.100.9,49801,53,65`,
			want: Event{
				Rule: "155", Label: "1757403802", Interface: "lagg0.3", Reason: "match",
				Action: ActionUnknown, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 85,
				Src: addr("192.168.1.1"), Dst: addr("198.51.100.9"),
				HasPorts: true, SrcPort: 49801, DstPort: 53, DataLength: 65,
			},
		},
		{
			name: "null label with rdr",
			line: `6,,,(null),igb0_vlan220,match,rdr,in,4,0x0,,64,33783,0,DF,17,udp,60,10.0.220.105,127.0.0.1,60969,53,40`,
			want: Event{
				Rule: "6", Label: "(null)", Interface: "igb0_vlan220", Reason: "match",
				Action: ActionRdr, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 60,
				Src: addr("10.0.220.105"), Dst: addr("127.0.0.1"),
				HasPorts: true, SrcPort: 60969, DstPort: 53, DataLength: 40,
			},
		},
		{
			name: "empty rule number of default deny",
			line: `,,,02f4bab031b57d1e30553ce08e0ec131,vtnet0,match,block,in,4,0x0,,64,22178,0,DF,17,udp,268,203.0.113.20,198.51.100.255,50924,10001,248`,
			want: Event{
				Label: "02f4bab031b57d1e30553ce08e0ec131", Interface: "vtnet0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 268,
				Src: addr("203.0.113.20"), Dst: addr("198.51.100.255"),
				HasPorts: true, SrcPort: 50924, DstPort: 10001, DataLength: 248,
			},
		},
		{
			name: "uuid label",
			line: `98,,,64d253df-ef65-4b56-9df4-c03fc11b8ce4,re0,match,block,in,6,0x00,0x0ea87,51,udp,17,73,2001:db8:702e:ce00:acc6:c7ee:fa01:2f8a,2001:db8:ada:d900::1738,6881,51918,73`,
			want: Event{
				Rule: "98", Label: "64d253df-ef65-4b56-9df4-c03fc11b8ce4", Interface: "re0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 6, ProtocolNum: 17, ProtocolName: "udp", Length: 73,
				Src: addr("2001:db8:702e:ce00:acc6:c7ee:fa01:2f8a"), Dst: addr("2001:db8:ada:d900::1738"),
				HasPorts: true, SrcPort: 6881, DstPort: 51918, DataLength: 73,
			},
		},
		{
			name: "ecn congestion experienced",
			line: `5,16777216,,1000000103,em0,match,block,in,4,0x3,CE,46,26015,0,none,6,tcp,44,203.0.113.89,192.168.11.1,46942,23,0,S,1995451437,,25867,,mss`,
			want: Event{
				Rule: "5", SubRule: "16777216", Label: "1000000103", Interface: "em0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 6, ProtocolName: "tcp", Length: 44,
				Src: addr("203.0.113.89"), Dst: addr("192.168.11.1"),
				HasPorts: true, SrcPort: 46942, DstPort: 23, TCPFlags: "S",
			},
		},
		{
			name: "truncation note before the header fields",
			line: `9,,,1000000103,em0,match,block,in,4,error='truncated-ip 12 bytes missing!',0x0,,52,5929,0,none,17,udp,60,198.51.100.14,203.0.113.2,500,4500,40`,
			want: Event{
				Rule: "9", Label: "1000000103", Interface: "em0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 4, ProtocolNum: 17, ProtocolName: "udp", Length: 60,
				Src: addr("198.51.100.14"), Dst: addr("203.0.113.2"),
				HasPorts: true, SrcPort: 500, DstPort: 4500, DataLength: 40,
			},
		},
		{
			name: "ipv4 mapped ipv6 address",
			line: `6,,,1000000105,igb0,match,block,in,6,0x00,0x00000,64,udp,17,72,::ffff:192.0.2.1,2001:db8::2,5000,5001,72`,
			want: Event{
				Rule: "6", Label: "1000000105", Interface: "igb0", Reason: "match",
				Action: ActionBlock, Direction: DirectionIn,
				IPVersion: 6, ProtocolNum: 17, ProtocolName: "udp", Length: 72,
				Src: addr("::ffff:192.0.2.1"), Dst: addr("2001:db8::2"),
				HasPorts: true, SrcPort: 5000, DstPort: 5001, DataLength: 72,
			},
		},
	}

	p := newTestParser()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Event
			if err := p.Parse([]byte(tt.line), &got); err != nil {
				t.Fatalf("Parse(%q) = %v, want nil", tt.line, err)
			}
			checkEvent(t, tt.line, got, tt.want)
		})
	}
}

func TestParseTimeZones(t *testing.T) {
	minus4 := time.FixedZone("EDT", -4*3600)
	p := NewParser(Options{Location: minus4, Now: func() time.Time { return testNow }})
	tests := []struct {
		name     string
		line     string
		want     time.Time
		wantZone int // seconds east of UTC that ev.Time carries
	}{
		{
			name:     "bsd line in the parser location",
			line:     `<134>Jul  3 19:10:33 filterlog[72237]: 199,,,1557957510,igb1.12,match,pass,in,4,0xc0,,1,0,0,DF,2,igmp,32,10.170.12.17,239.255.255.250,datalength=8`,
			want:     time.Date(2024, 7, 3, 23, 10, 33, 0, utc),
			wantZone: -4 * 3600,
		},
		{
			name:     "rfc5424 offset is kept",
			line:     `<134>1 2021-07-03T19:10:14.578288-05:00 fw.example.net filterlog 72237 - - 115,,,1534283903,igb1.27,match,pass,in,4,0x0,,63,29559,0,DF,17,udp,69,10.170.27.50,10.170.27.1,52797,53,49`,
			want:     time.Date(2021, 7, 4, 0, 10, 14, 578288000, utc),
			wantZone: -5 * 3600,
		},
		{
			name:     "rfc5424 zulu time",
			line:     `<134>1 2025-01-05T10:20:31Z fw.example.net filterlog 1 - - 115,,,1534283903,igb1.27,match,pass,in,4,0x0,,63,29559,0,DF,17,udp,69,10.170.27.50,10.170.27.1,52797,53,49`,
			want:     time.Date(2025, 1, 5, 10, 20, 31, 0, utc),
			wantZone: 0,
		},
		{
			name:     "iso timestamp without zone in the parser location",
			line:     `2024-12-29T08:20:39 fw filterlog: 4,,,1000000103,igc0,match,block,in,4,0x0,,41,51085,0,none,17,udp,420,203.0.113.3,198.51.100.17,11520,8442,400`,
			want:     time.Date(2024, 12, 29, 12, 20, 39, 0, utc),
			wantZone: -4 * 3600,
		},
		{
			name:     "offset off the quarter hour",
			line:     `<134>1 2025-01-05T10:20:31+01:07 fw.example.net filterlog 1 - - 115,,,1534283903,igb1.27,match,pass,in,4,0x0,,63,29559,0,DF,17,udp,69,10.170.27.50,10.170.27.1,52797,53,49`,
			want:     time.Date(2025, 1, 5, 9, 13, 31, 0, utc),
			wantZone: 3600 + 7*60,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			if err := p.Parse([]byte(tt.line), &ev); err != nil {
				t.Fatalf("Parse(%q) = %v, want nil", tt.line, err)
			}
			if !ev.Time.Equal(tt.want) {
				t.Errorf("Time = %v, want %v", ev.Time, tt.want)
			}
			if _, offset := ev.Time.Zone(); offset != tt.wantZone {
				t.Errorf("Time offset = %d s, want %d s", offset, tt.wantZone)
			}
		})
	}
}

// skipCase is a line of testdata/skip.log: a reason, a tab and a line.
type skipCase struct {
	reason string
	line   string
}

func readSkipCases(t testing.TB) []skipCase {
	t.Helper()
	var cases []skipCase
	for _, entry := range readFixture(t, "testdata/skip.log") {
		reason, line, ok := strings.Cut(entry, "\t")
		if !ok {
			t.Fatalf("skip.log entry %q has no tab between reason and line", entry)
		}
		cases = append(cases, skipCase{reason: reason, line: line})
	}
	return cases
}

func TestParseSkips(t *testing.T) {
	p := newTestParser()
	for _, tc := range readSkipCases(t) {
		t.Run(tc.reason, func(t *testing.T) {
			// A filled event shows that Parse zeroes it on error.
			ev := Event{Rule: "stale", HasPorts: true, SrcPort: 1}
			err := p.Parse([]byte(tc.line), &ev)
			var skip *SkipError
			if !errors.As(err, &skip) {
				t.Fatalf("Parse(%q) = %v, want *SkipError", tc.line, err)
			}
			if skip.Reason != tc.reason {
				t.Errorf("Parse(%q) reason = %q, want %q", tc.line, skip.Reason, tc.reason)
			}
			if diffs := diffEvents(ev, Event{}); len(diffs) > 0 {
				t.Errorf("Parse(%q) left the event filled: %v", tc.line, diffs)
			}
		})
	}
}

func TestParseTooLong(t *testing.T) {
	p := newTestParser()
	valid := "5,,,1000000103,ovpnc1,match,block,in,4,0x0,,64,65242,0,none,17,udp,173,10.20.30.40,10.20.30.101,1194,1194,"
	tests := []struct {
		name       string
		line       string
		wantReason string
	}{
		{"at the limit", valid + strings.Repeat("1", MaxLineLength-len(valid)), ReasonBadField},
		{"over the limit", valid + strings.Repeat("1", MaxLineLength-len(valid)+1), ReasonTooLong},
		{"one mebibyte", strings.Repeat("a,", 1<<19), ReasonTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			err := p.Parse([]byte(tt.line), &ev)
			var skip *SkipError
			if !errors.As(err, &skip) || skip.Reason != tt.wantReason {
				t.Errorf("Parse(%d bytes) = %v, want reason %s", len(tt.line), err, tt.wantReason)
			}
		})
	}
}

// TestParseGarbage feeds random bytes and random cuts of valid lines, which
// must be skipped or parsed but never crash.
func TestParseGarbage(t *testing.T) {
	p := newTestParser()
	valid := readFixture(t, "testdata/valid.log")
	rng := rand.New(rand.NewPCG(1, 2))
	var ev Event
	for range 20000 {
		var line []byte
		if rng.IntN(2) == 0 {
			line = make([]byte, rng.IntN(300))
			for i := range line {
				line[i] = byte(rng.UintN(256))
			}
		} else {
			source := valid[rng.IntN(len(valid))]
			line = []byte(source[:rng.IntN(len(source)+1)])
			if len(line) > 0 {
				line[rng.IntN(len(line))] = byte(rng.UintN(256))
			}
		}
		if err := p.Parse(line, &ev); err != nil {
			checkSkip(t, line, err, ev)
			continue
		}
		checkComplete(t, line, ev)
	}
}

// goldenEvent is the JSON form of an Event in testdata/valid.golden.
type goldenEvent struct {
	Line         string `json:"line"`
	Time         string `json:"time,omitempty"`
	Host         string `json:"host,omitempty"`
	Rule         string `json:"rule"`
	SubRule      string `json:"sub_rule,omitempty"`
	Anchor       string `json:"anchor,omitempty"`
	Label        string `json:"label"`
	Interface    string `json:"interface"`
	Reason       string `json:"reason"`
	Action       string `json:"action"`
	Direction    string `json:"direction"`
	IPVersion    uint8  `json:"ip_version"`
	ProtocolNum  uint8  `json:"protocol_num"`
	ProtocolName string `json:"protocol_name"`
	Length       int    `json:"length"`
	Src          string `json:"src"`
	Dst          string `json:"dst"`
	HasPorts     bool   `json:"has_ports"`
	SrcPort      uint16 `json:"src_port,omitempty"`
	DstPort      uint16 `json:"dst_port,omitempty"`
	TCPFlags     string `json:"tcp_flags,omitempty"`
	DataLength   int    `json:"data_length,omitempty"`
}

func toGolden(line string, ev Event) goldenEvent {
	g := goldenEvent{
		Line: line, Host: ev.Host,
		Rule: ev.Rule, SubRule: ev.SubRule, Anchor: ev.Anchor, Label: ev.Label,
		Interface: ev.Interface, Reason: ev.Reason,
		Action: ev.Action.String(), Direction: ev.Direction.String(),
		IPVersion: ev.IPVersion, ProtocolNum: ev.ProtocolNum, ProtocolName: ev.ProtocolName,
		Length: ev.Length, Src: ev.Src.String(), Dst: ev.Dst.String(),
		HasPorts: ev.HasPorts, SrcPort: ev.SrcPort, DstPort: ev.DstPort,
		TCPFlags: ev.TCPFlags, DataLength: ev.DataLength,
	}
	if !ev.Time.IsZero() {
		g.Time = ev.Time.Format(time.RFC3339Nano)
	}
	return g
}

// TestParseGolden parses every line of testdata/valid.log and compares all
// fields with testdata/valid.golden.
func TestParseGolden(t *testing.T) {
	p := newTestParser()
	var got []goldenEvent
	for _, line := range readFixture(t, "testdata/valid.log") {
		var ev Event
		if err := p.Parse([]byte(line), &ev); err != nil {
			t.Errorf("Parse(%q) = %v, want nil", line, err)
			continue
		}
		checkComplete(t, []byte(line), ev)
		got = append(got, toGolden(line, ev))
	}

	const goldenPath = "testdata/valid.golden"
	if *update {
		var buf bytes.Buffer
		encoder := json.NewEncoder(&buf)
		encoder.SetEscapeHTML(false)
		encoder.SetIndent("", "  ")
		if err := encoder.Encode(got); err != nil {
			t.Fatalf("encoding golden events: %v", err)
		}
		if err := os.WriteFile(goldenPath, buf.Bytes(), 0o644); err != nil {
			t.Fatalf("writing %s: %v", goldenPath, err)
		}
	}

	data, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatalf("reading golden file (run with -update to create it): %v", err)
	}
	var want []goldenEvent
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("decoding %s: %v", goldenPath, err)
	}
	if len(got) != len(want) {
		t.Fatalf("parsed %d lines, golden file has %d (run with -update after changing valid.log)", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("line %q:\n got  %+v\n want %+v", got[i].Line, got[i], want[i])
		}
	}
}

func TestSkipReasons(t *testing.T) {
	reasons := SkipReasons()

	t.Run("unique", func(t *testing.T) {
		sorted := slices.Clone(reasons)
		slices.Sort(sorted)
		if len(slices.Compact(sorted)) != len(reasons) {
			t.Errorf("SkipReasons() = %v has duplicates", reasons)
		}
	})

	t.Run("copy", func(t *testing.T) {
		reasons[0] = "changed"
		if SkipReasons()[0] == "changed" {
			t.Error("SkipReasons() returned the package's own slice")
		}
	})

	// Every reason is produced by some fixture, so the list holds no stale entry.
	t.Run("all produced", func(t *testing.T) {
		produced := map[string]bool{ReasonTooLong: true} // TestParseTooLong covers it
		for _, tc := range readSkipCases(t) {
			produced[tc.reason] = true
		}
		for _, reason := range SkipReasons() {
			if !produced[reason] {
				t.Errorf("no fixture in testdata/skip.log produces reason %q", reason)
			}
		}
		for reason := range produced {
			if !slices.Contains(SkipReasons(), reason) {
				t.Errorf("skip.log expects reason %q, which SkipReasons() lacks", reason)
			}
		}
	})
}

func TestParserInternsStrings(t *testing.T) {
	p := newTestParser()
	line := []byte(`<134>Jan  5 10:20:30 fw.example.net filterlog[12345]: 5,,,1000000103,igb0,match,block,in,4,0x0,,242,54321,0,none,6,tcp,40,203.0.113.45,198.51.100.10,51234,3389,0,S,1234567890,,1024,,mss`)

	var ev Event
	if err := p.Parse(line, &ev); err != nil {
		t.Fatalf("Parse = %v", err)
	}

	t.Run("event outlives its line", func(t *testing.T) {
		overwritten := slices.Clone(line)
		for i := range overwritten {
			overwritten[i] = 'X'
		}
		var other Event
		if err := p.Parse(overwritten, &other); err == nil {
			t.Fatalf("Parse of an overwritten line = nil, want an error")
		}
		if ev.Interface != "igb0" || ev.Host != "fw.example.net" || ev.Label != "1000000103" || ev.TCPFlags != "S" {
			t.Errorf("event strings changed after another parse: %+v", ev)
		}
	})

	t.Run("no allocations once interned", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() {
			if err := p.Parse(line, &ev); err != nil {
				t.Fatalf("Parse = %v", err)
			}
		})
		if allocs != 0 {
			t.Errorf("Parse allocates %.0f times per line, want 0", allocs)
		}
	})
}

func TestInternerIsBounded(t *testing.T) {
	in := newInterner()
	for i := range maxInternEntries + 100 {
		in.get([]byte("eth" + strconv.Itoa(i)))
	}
	if len(in.values) != maxInternEntries {
		t.Errorf("interner holds %d values, want the limit %d", len(in.values), maxInternEntries)
	}
	if got := in.get([]byte("not-interned-any-more")); got != "not-interned-any-more" {
		t.Errorf("get after the limit = %q, want the value copied", got)
	}

	long := strings.Repeat("l", maxInternLength+1)
	fresh := newInterner()
	if got := fresh.get([]byte(long)); got != long {
		t.Errorf("get(long) = %q, want %q", got, long)
	}
	if len(fresh.values) != 0 {
		t.Errorf("interner stored a value longer than %d bytes", maxInternLength)
	}
}

// checkSkip asserts the contract of a failed Parse: a *SkipError with a
// listed reason and a zero event.
func checkSkip(t *testing.T, line []byte, err error, ev Event) {
	t.Helper()
	var skip *SkipError
	if !errors.As(err, &skip) {
		t.Fatalf("Parse(%q) = %v, want *SkipError", line, err)
	}
	if !slices.Contains(SkipReasons(), skip.Reason) {
		t.Errorf("Parse(%q) reason %q is not in SkipReasons()", line, skip.Reason)
	}
	if diffs := diffEvents(ev, Event{}); len(diffs) > 0 {
		t.Errorf("Parse(%q) failed but left the event filled: %v", line, diffs)
	}
}

// checkComplete asserts that a parsed event is whole: addresses of its IP
// version, a known action, a direction, and ports only for TCP, UDP and SCTP.
func checkComplete(t *testing.T, line []byte, ev Event) {
	t.Helper()
	switch ev.IPVersion {
	case 4:
		if !ev.Src.Is4() || !ev.Dst.Is4() {
			t.Errorf("Parse(%q): IPv4 event with addresses %v, %v", line, ev.Src, ev.Dst)
		}
	case 6:
		if !ev.Src.Is6() || !ev.Dst.Is6() || ev.Src.Zone() != "" || ev.Dst.Zone() != "" {
			t.Errorf("Parse(%q): IPv6 event with addresses %v, %v", line, ev.Src, ev.Dst)
		}
	default:
		t.Errorf("Parse(%q): IPVersion = %d", line, ev.IPVersion)
	}
	if ev.Action > ActionScrub {
		t.Errorf("Parse(%q): Action = %d, not a defined Action", line, ev.Action)
	}
	if ev.Direction != DirectionIn && ev.Direction != DirectionOut {
		t.Errorf("Parse(%q): Direction = %v", line, ev.Direction)
	}
	if ev.Interface == "" || ev.Reason == "" || ev.ProtocolName == "" {
		t.Errorf("Parse(%q): empty interface %q, reason %q or protocol %q", line, ev.Interface, ev.Reason, ev.ProtocolName)
	}
	hasPortsProtocol := ev.ProtocolNum == protoTCP || ev.ProtocolNum == protoUDP || ev.ProtocolNum == protoSCTP
	if ev.HasPorts && !hasPortsProtocol {
		t.Errorf("Parse(%q): HasPorts for protocol %d", line, ev.ProtocolNum)
	}
	if !ev.HasPorts && (ev.SrcPort != 0 || ev.DstPort != 0) {
		t.Errorf("Parse(%q): ports %d, %d without HasPorts", line, ev.SrcPort, ev.DstPort)
	}
	if ev.TCPFlags != "" && ev.ProtocolNum != protoTCP {
		t.Errorf("Parse(%q): TCP flags %q for protocol %d", line, ev.TCPFlags, ev.ProtocolNum)
	}
}

func TestParseAction(t *testing.T) {
	tests := []struct {
		field string
		want  Action
		ok    bool
	}{
		{"pass", ActionPass, true},
		{"block", ActionBlock, true},
		{"reject", ActionReject, true},
		{"rdr", ActionRdr, true},
		{"nat", ActionNAT, true},
		{"binat", ActionBinat, true},
		{"scrub", ActionScrub, true},
		{"synproxy-drop", ActionUnknown, true},
		{"unkn(%u)", ActionUnknown, true},
		{"unkn(12)", ActionUnknown, true},
		{"unknown(12)", ActionUnknown, true},
		{"unknown(12", ActionUnknown, false},
		{"Pass", ActionUnknown, false},
		{"", ActionUnknown, false},
	}
	for _, tt := range tests {
		got, ok := parseAction([]byte(tt.field))
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseAction(%q) = %v, %v; want %v, %v", tt.field, got, ok, tt.want, tt.ok)
		}
	}
}

func TestProtocolName(t *testing.T) {
	long := strings.Repeat("P", maxInternLength+1)
	tests := []struct {
		name   string
		number uint8
		want   string
	}{
		{"tcp", 6, "tcp"},
		{"TCP", 6, "tcp"},
		{"UDP", 17, "udp"},
		{"ICMP", 1, "icmp"},
		{"ICMPv6", 58, "ipv6-icmp"},
		{"icmpv6", 58, "ipv6-icmp"},
		{"ipv6-icmp", 58, "ipv6-icmp"},
		{"Options", 0, "options"},
		{"Mobile IP", 55, "mobile ip"},
		{"unknown", 252, "unknown(252)"},
		{"unknown(252)", 252, "unknown(252)"},
		{long, 99, strings.ToLower(long)},
	}
	p := newTestParser()
	for _, tt := range tests {
		if got := p.protocolName([]byte(tt.name), tt.number); got != tt.want {
			t.Errorf("protocolName(%q, %d) = %q, want %q", tt.name, tt.number, got, tt.want)
		}
	}
}

func TestNewParserDefaults(t *testing.T) {
	p := NewParser(Options{})
	if p.opts.Location != time.Local {
		t.Errorf("Location = %v, want time.Local", p.opts.Location)
	}

	before := time.Now()
	var ev Event
	line := before.Format(time.Stamp) + " fw filterlog: 5,,,0,em0,match,block,in,4,0x0,,64,1,0,none,17,udp,40,192.0.2.1,198.51.100.1,1,2,20"
	if err := p.Parse([]byte(line), &ev); err != nil {
		t.Fatalf("Parse(%q) = %v", line, err)
	}
	if got := ev.Time.Year(); got != before.Year() {
		t.Errorf("a line stamped now got year %d, want %d from time.Now", got, before.Year())
	}
}

func TestSkipErrorMessage(t *testing.T) {
	err := error(&SkipError{Reason: ReasonBadPort})
	if got, want := err.Error(), "skipped: bad_port"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
