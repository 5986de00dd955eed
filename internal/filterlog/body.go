package filterlog

import (
	"bytes"
)

// parseBody parses a filterlog CSV body into ev, which must be zero. The
// fields common to every line come first: rule, sub-rule, anchor, label,
// interface, reason, action, direction and IP version. The IP header
// fields, then the protocol's own fields, follow.
func (p *Parser) parseBody(body []byte, ev *Event) *SkipError {
	r := fieldReader{body: body}
	var common [9][]byte
	for i := range common {
		field, ok := r.next()
		if !ok {
			return errTooFewFields
		}
		common[i] = field
	}
	rule, subRule, anchor, label, iface := common[0], common[1], common[2], common[3], common[4]
	reason, action, direction, version := common[5], common[6], common[7], common[8]

	// For pf's rule number -1 (no rule, as for a fragment dropped before the
	// rules), OPNsense writes an empty rule number and pfSense 4294967295.
	// The sub-rule is empty outside anchors.
	if !isDigits(rule) || !isDigits(subRule) || len(iface) == 0 || len(reason) == 0 {
		return errBadField
	}
	var ok bool
	if ev.Action, ok = parseAction(action); !ok {
		return errBadAction
	}
	if ev.Direction, ok = parseDirection(direction); !ok {
		return errBadDirection
	}

	var fragment bool
	var err *SkipError
	switch string(version) {
	case "4":
		ev.IPVersion = 4
		fragment, err = p.parseIPv4(&r, ev)
	case "6":
		ev.IPVersion = 6
		err = p.parseIPv6(&r, ev)
	default:
		return errBadIPVersion
	}
	if err != nil {
		return err
	}
	if err := p.parseProtocolData(&r, ev, fragment); err != nil {
		return err
	}

	ev.Rule = p.strings.get(rule)
	ev.SubRule = p.strings.get(subRule)
	ev.Anchor = p.strings.get(anchor)
	ev.Label = p.strings.get(label)
	ev.Interface = p.strings.get(iface)
	ev.Reason = p.strings.get(reason)
	return nil
}

// parseIPv4 reads the IPv4 header fields: TOS, ECN, TTL, ID, fragment
// offset, flags, protocol number, protocol name, total length, source and
// destination. ECN is one field, empty unless the TOS byte's low bits are
// set ("0x2,0" is TOS 0x2 with ECT(0), "0x3,CE" congestion experienced).
// fragment reports a fragment other than the first.
func (p *Parser) parseIPv4(r *fieldReader, ev *Event) (fragment bool, err *SkipError) {
	var fields [11][]byte
	if err := readIPFields(r, fields[:]); err != nil {
		return false, err
	}
	ttl, offset, number, name, length := fields[2], fields[4], fields[6], fields[7], fields[8]

	if _, ok := parseUint(ttl, 255); !ok {
		return false, errBadField
	}
	offsetBytes, ok := parseUint(offset, 65535)
	if !ok {
		return false, errBadField
	}
	if err := p.parseProtocol(ev, number, name); err != nil {
		return false, err
	}
	if err := parseLength(ev, length); err != nil {
		return false, err
	}

	src, okSrc := parseAddr4(fields[9])
	dst, okDst := parseAddr4(fields[10])
	if !okSrc || !okDst {
		return false, errBadAddress
	}
	ev.Src, ev.Dst = src, dst
	return offsetBytes != 0, nil
}

// parseIPv6 reads the IPv6 header fields: traffic class, flow label, hop
// limit, protocol name, protocol number (the reverse of IPv4's order),
// payload length, source and destination. pfSense names the first next
// header, so a packet with extension headers shows as "Options,0" or
// "Fragment,44" and is followed by the extension list, not by ports.
func (p *Parser) parseIPv6(r *fieldReader, ev *Event) *SkipError {
	var fields [8][]byte
	if err := readIPFields(r, fields[:]); err != nil {
		return err
	}
	hopLimit, name, number, length := fields[2], fields[3], fields[4], fields[5]

	if _, ok := parseUint(hopLimit, 255); !ok {
		return errBadField
	}
	if err := p.parseProtocol(ev, number, name); err != nil {
		return err
	}
	if err := parseLength(ev, length); err != nil {
		return err
	}

	src, okSrc := parseAddr6(fields[6])
	dst, okDst := parseAddr6(fields[7])
	if !okSrc || !okDst {
		return errBadAddress
	}
	ev.Src, ev.Dst = src, dst
	return nil
}

// readIPFields fills fields with the next fields of r, after skipping the
// notes filterlog puts between the IP version and the header fields for a
// packet shorter than its header claims. When such a note is followed by
// nothing, the packet was too short to decode at all.
func readIPFields(r *fieldReader, fields [][]byte) *SkipError {
	field, ok := r.next()
	truncated := false
	for ok && isTruncationNote(field) {
		truncated = true
		field, ok = r.next()
	}

	for i := range fields {
		if i > 0 {
			field, ok = r.next()
		}
		if !ok {
			if truncated {
				return errTruncated
			}
			return errTooFewFields
		}
		fields[i] = field
	}
	return nil
}

// truncationNotes are the prefixes of the notes pfSense and OPNsense
// filterlog write for short or malformed packets: "truncated-ip=N",
// "truncated-ip6=N", "error='truncated-ip N bytes missing!'", "[|ip]",
// "bad-hlen=N" and "bad-len=N".
var truncationNotes = [...][]byte{
	[]byte("truncated-ip"),
	[]byte("error="),
	[]byte("[|"),
	[]byte("bad-hlen="),
	[]byte("bad-len="),
}

func isTruncationNote(field []byte) bool {
	field = trimSpace(field)
	for _, note := range truncationNotes {
		if bytes.HasPrefix(field, note) {
			return true
		}
	}
	return false
}

func (p *Parser) parseProtocol(ev *Event, number, name []byte) *SkipError {
	n, ok := parseUint(number, 255)
	if !ok || len(name) == 0 {
		return errBadProtocol
	}
	ev.ProtocolNum = uint8(n)
	ev.ProtocolName = p.protocolName(name, uint8(n))
	return nil
}

func parseLength(ev *Event, field []byte) *SkipError {
	length, ok := parseUint(field, 65535)
	if !ok {
		return errBadField
	}
	ev.Length = int(length)
	return nil
}

// parseAction maps the action field. "unkn(%u)" (pfSense prints its format
// string unexpanded) and OPNsense's "unknown(N)" are valid lines with
// ActionUnknown, and so is "synproxy-drop", which has no Action of its own.
func parseAction(b []byte) (Action, bool) {
	switch string(b) {
	case "pass":
		return ActionPass, true
	case "block":
		return ActionBlock, true
	case "reject":
		return ActionReject, true
	case "rdr":
		return ActionRdr, true
	case "nat":
		return ActionNAT, true
	case "binat":
		return ActionBinat, true
	case "scrub":
		return ActionScrub, true
	case "synproxy-drop":
		return ActionUnknown, true
	}
	isPlaceholder := (bytes.HasPrefix(b, []byte("unkn(")) || bytes.HasPrefix(b, []byte("unknown("))) &&
		bytes.HasSuffix(b, []byte(")"))
	return ActionUnknown, isPlaceholder
}

// parseDirection maps the direction field. A logged packet is either
// inbound or outbound, because pf's "in/out" is a rule property.
func parseDirection(b []byte) (Direction, bool) {
	switch string(b) {
	case "in":
		return DirectionIn, true
	case "out":
		return DirectionOut, true
	}
	return DirectionUnknown, false
}

// looksLikeBody reports whether b starts like a filterlog CSV body: a rule
// number, possibly empty, then a comma. When the header names no program,
// Parse uses it to separate a CSV body from another program's text.
func looksLikeBody(b []byte) bool {
	comma := bytes.IndexByte(b, ',')
	return comma >= 0 && isDigits(b[:comma])
}
