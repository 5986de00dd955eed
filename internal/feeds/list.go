package feeds

import (
	"bytes"
	"fmt"
	"net/netip"
)

const tooLongReason = "line longer than 64 KiB"

// parseList reads one entry per line. Lines that start with '#', ';' or
// "//" are comments. An entry ends at the first space, tab, ',', ';', '#'
// or '|', and the rest of the line is ignored, so "198.51.100.0/24 ;
// SBL123" and "192.0.2.1 # note" both yield their address. A range may be
// written first-last or "first - last".
func (p *parser) parseList() error {
	for {
		line, tooLong, ok := p.lines.next()
		if !ok {
			return nil
		}
		if tooLong {
			p.skip(tooLongReason)
			continue
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if isComment(line) {
			p.comment(line)
			continue
		}
		p.parseToken(listEntry(line))
	}
}

// listEntry returns the entry at the start of a trimmed line, including a
// range written with spaces around its dash.
func listEntry(line []byte) []byte {
	tok := cutToken(line)
	rest := bytes.TrimLeft(line[len(tok):], " \t")
	if len(rest) < 2 || rest[0] != '-' {
		return tok
	}
	second := bytes.TrimLeft(rest[1:], " \t")
	end := len(line) - len(second) + len(cutToken(second))
	return line[:end]
}

// cutToken returns b up to the first byte that ends a list entry.
func cutToken(b []byte) []byte {
	if i := bytes.IndexAny(b, " \t,;#|"); i >= 0 {
		return b[:i]
	}
	return b
}

// parseTorExit reads the Tor Project's exit-addresses format: stanzas of
// "ExitNode", "Published" and "LastStatus" lines, each followed by one or
// more "ExitAddress <IP> <date> <time>" lines. Every ExitAddress counts,
// however old its time: the publisher decides how long an address stays in
// the file.
func (p *parser) parseTorExit() error {
	for {
		line, tooLong, ok := p.lines.next()
		if !ok {
			return nil
		}
		if tooLong {
			p.skip(tooLongReason)
			continue
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if isComment(line) {
			p.comment(line)
			continue
		}
		keyword, rest, _ := bytes.Cut(line, []byte{' '})
		switch string(keyword) {
		case "ExitAddress":
			p.parseToken(cutToken(bytes.TrimLeft(rest, " ")))
		case "ExitNode", "Published", "LastStatus", "@type", "Downloaded":
		default:
			p.skip(fmt.Sprintf("unknown keyword %s: want ExitNode, Published, LastStatus or ExitAddress", quote(keyword)))
		}
	}
}

// parseDShield reads DShield block.txt rows: network start, network end and
// prefix length, separated by tabs, then attack count, name, country and
// e-mail. A row is one network. Its end address must match the prefix,
// because a disagreement means the layout changed. A row without a prefix
// length column is read as the range start-end. The title row
// ("Start End Netblock ...") and other rows whose first field is not an
// address are header rows until the first data row.
func (p *parser) parseDShield() error {
	seenData := false
	for {
		line, tooLong, ok := p.lines.next()
		if !ok {
			return nil
		}
		if tooLong {
			p.skip(tooLongReason)
			continue
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if isComment(line) {
			p.comment(line)
			continue
		}

		var fields [][]byte
		if bytes.IndexByte(line, '\t') >= 0 {
			fields = bytes.SplitN(line, []byte{'\t'}, 4)
		} else {
			fields = bytes.Fields(line)
		}
		start, ok := parseAddr(bytes.TrimSpace(fields[0]))
		if !ok {
			if !seenData {
				continue
			}
			p.skip(fmt.Sprintf("invalid network start %s", quote(fields[0])))
			continue
		}
		seenData = true
		p.dshieldRow(start, fields)
	}
}

func (p *parser) dshieldRow(start netip.Addr, fields [][]byte) {
	if len(fields) < 2 {
		p.skip("row has no network end: want start, end and prefix length separated by tabs")
		return
	}
	end, ok := parseAddr(bytes.TrimSpace(fields[1]))
	if !ok {
		p.skip(fmt.Sprintf("invalid network end %s", quote(fields[1])))
		return
	}
	if start.Is4() != end.Is4() {
		p.skip(fmt.Sprintf("network start %s and end %s mix IPv4 and IPv6", start, end))
		return
	}
	var bits int
	if len(fields) >= 3 {
		bits, ok = parseDecimal(bytes.TrimSpace(fields[2]), 3)
	}
	if len(fields) < 3 || !ok {
		if end.Less(start) {
			p.skip(fmt.Sprintf("network end %s is before its start %s", end, start))
			return
		}
		p.add(entry{first: start, last: end, isRange: true})
		return
	}
	if bits > start.BitLen() {
		p.skip(fmt.Sprintf("invalid prefix length %d", bits))
		return
	}
	prefix := netip.PrefixFrom(start, bits)
	if prefix.Masked().Addr() != start || lastAddr(prefix) != end {
		p.skip(fmt.Sprintf("start %s, end %s and prefix length %d disagree", start, end, bits))
		return
	}
	p.add(entry{prefix: prefix})
}
