// Package filelogtest writes synthetic pfSense filterlog files for benchmarks
// and load tests. Every public address is a documentation address
// (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32), and the
// output depends only on the options, so runs with the same seed can be
// compared.
package filelogtest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"time"
)

// Options configures Generate.
type Options struct {
	// Lines is the number of lines to write.
	Lines int
	// Seed seeds the random number generator.
	Seed uint64
	// End is the timestamp of the last line. Lines are spread evenly over
	// the Span before it, oldest first. Zero means 2025-03-14T12:00:00Z.
	End time.Time
	// Span is the time the lines cover. Zero means one hour.
	Span time.Duration
}

// The mix of lines, in percent. It follows what a home or small-office
// pfSense logs with default block logging and logged pass rules: mostly
// blocked inbound noise, plus the LAN and WAN lines of outbound flows.
const (
	percentBlockedV4   = 45 // blocked inbound IPv4, a few heavy scanners and a long tail
	percentBlockedV6   = 15 // blocked inbound IPv6, almost every source new (spoofed storm)
	percentOutboundWAN = 18 // passed out on the WAN after NAT
	percentOutboundLAN = 18 // the same flows passed in on the LAN before NAT
	// The remaining 4% are LAN-side blocks between private hosts.
)

// Generate writes opts.Lines RFC 5424 filterlog lines to w.
func Generate(w io.Writer, opts Options) error {
	if opts.Lines < 0 {
		return fmt.Errorf("invalid line count %d: must not be negative", opts.Lines)
	}
	if opts.End.IsZero() {
		opts.End = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	}
	if opts.Span <= 0 {
		opts.Span = time.Hour
	}

	g := &generator{
		r:     rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5eed)),
		out:   bufio.NewWriterSize(w, 1<<20),
		start: opts.End.Add(-opts.Span),
	}
	// Heavy hitters follow a Zipf law over the IPv4 documentation
	// addresses, and so do the outbound destinations.
	g.zipfV4 = rand.NewZipf(g.r, 1.3, 4, 761)
	g.zipfDst = rand.NewZipf(g.r, 1.1, 2, 761)

	step := opts.Span / time.Duration(max(opts.Lines, 1))
	for i := range opts.Lines {
		g.line(g.start.Add(time.Duration(i+1) * step))
	}
	return errors.Join(g.err, g.out.Flush())
}

type generator struct {
	r       *rand.Rand
	out     *bufio.Writer
	buf     []byte
	start   time.Time
	zipfV4  *rand.Zipf
	zipfDst *rand.Zipf
	err     error
}

// docV4 returns the i-th of the 762 IPv4 documentation addresses that are
// neither a network nor a broadcast address.
func docV4(i uint64) netip.Addr {
	prefixes := [3][3]byte{{192, 0, 2}, {198, 51, 100}, {203, 0, 113}}
	p := prefixes[(i/254)%3]
	return netip.AddrFrom4([4]byte{p[0], p[1], p[2], byte(1 + i%254)})
}

func (g *generator) randomDocV6() netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	hi, lo := g.r.Uint64(), g.r.Uint64()
	for i := range 4 {
		b[4+i] = byte(hi >> (8 * i))
	}
	for i := range 8 {
		b[8+i] = byte(lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

var (
	wanAddr    = netip.MustParseAddr("198.51.100.1")
	wanAddr6   = netip.MustParseAddr("2001:db8:ffff::1")
	blockPorts = []uint16{22, 23, 80, 443, 445, 3389, 5060, 8080, 1433, 3306, 5900, 6379}
)

func (g *generator) line(t time.Time) {
	b := g.buf[:0]
	b = append(b, "<134>1 "...)
	b = t.AppendFormat(b, "2006-01-02T15:04:05.000000Z07:00")
	b = append(b, " pfSense.example.com filterlog 30177 - - "...)

	n := g.r.IntN(100)
	switch {
	case n < percentBlockedV4:
		src := docV4(g.zipfV4.Uint64())
		b = g.body(b, "igb0", "block", "in", src, wanAddr)
	case n < percentBlockedV4+percentBlockedV6:
		b = g.body(b, "igb0", "block", "in", g.randomDocV6(), wanAddr6)
	case n < percentBlockedV4+percentBlockedV6+percentOutboundWAN:
		b = g.body(b, "igb0", "pass", "out", wanAddr, docV4(g.zipfDst.Uint64()))
	case n < percentBlockedV4+percentBlockedV6+percentOutboundWAN+percentOutboundLAN:
		src := netip.AddrFrom4([4]byte{192, 168, 1, byte(10 + g.r.IntN(40))})
		b = g.body(b, "igb1", "pass", "in", src, docV4(g.zipfDst.Uint64()))
	default:
		src := netip.AddrFrom4([4]byte{192, 168, 1, byte(10 + g.r.IntN(40))})
		dst := netip.AddrFrom4([4]byte{10, 0, 0, byte(1 + g.r.IntN(20))})
		b = g.body(b, "igb1", "block", "in", src, dst)
	}
	b = append(b, '\n')
	g.buf = b

	if _, err := g.out.Write(b); err != nil && g.err == nil {
		g.err = err
	}
}

// body appends a filterlog CSV body in Netgate's format: TCP for 70% of
// lines, UDP for 25%, ICMP or ICMPv6 for the rest.
func (g *generator) body(b []byte, iface, action, dir string, src, dst netip.Addr) []byte {
	b = append(b, "5,,,1000000103,"...)
	b = append(b, iface...)
	b = append(b, ",match,"...)
	b = append(b, action...)
	b = append(b, ',')
	b = append(b, dir...)

	proto := g.r.IntN(100)
	var protoNum int
	var protoName string
	switch {
	case proto < 70:
		protoNum, protoName = 6, "tcp"
	case proto < 95:
		protoNum, protoName = 17, "udp"
	case src.Is4():
		protoNum, protoName = 1, "icmp"
	default:
		protoNum, protoName = 58, "ipv6-icmp"
	}

	length := 40 + g.r.IntN(1400)
	if src.Is4() {
		b = append(b, ",4,0x0,,"...)
		b = strconv.AppendInt(b, int64(32+g.r.IntN(100)), 10) // TTL
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(g.r.IntN(65536)), 10) // id
		b = append(b, ",0,DF,"...)
		b = strconv.AppendInt(b, int64(protoNum), 10)
		b = append(b, ',')
		b = append(b, protoName...)
	} else {
		b = append(b, ",6,0x00,0x"...)
		b = strconv.AppendInt(b, int64(g.r.IntN(1<<20)), 16) // flow label
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(32+g.r.IntN(100)), 10) // hop limit
		b = append(b, ',')
		b = append(b, protoName...)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(protoNum), 10)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(length), 10)
	b = append(b, ',')
	b = src.AppendTo(b)
	b = append(b, ',')
	b = dst.AppendTo(b)
	b = append(b, ',')

	srcPort := 1024 + g.r.IntN(64511)
	dstPort := int(blockPorts[g.r.IntN(len(blockPorts))])
	if g.r.IntN(4) == 0 {
		dstPort = 1 + g.r.IntN(65535)
	}
	switch protoNum {
	case 6:
		b = strconv.AppendInt(b, int64(srcPort), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(dstPort), 10)
		b = append(b, ",0,S,"...)
		b = strconv.AppendUint(b, uint64(g.r.Uint32()), 10) // sequence number
		b = append(b, ",,64240,,mss;sackOK;TS;nop;wscale"...)
	case 17:
		b = strconv.AppendInt(b, int64(srcPort), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(dstPort), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(length-8), 10)
	case 1:
		b = append(b, "request,"...)
		b = strconv.AppendInt(b, int64(g.r.IntN(65536)), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, int64(g.r.IntN(100)), 10)
	default:
		b = append(b, "datalength=16"...)
	}
	return b
}
