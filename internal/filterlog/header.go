package filterlog

import (
	"bytes"
	"time"
)

// HeaderFormat is the kind of syslog header a line starts with.
type HeaderFormat uint8

const (
	// HeaderNone: the line has no header and is all message (a bare CSV body).
	HeaderNone HeaderFormat = iota
	// HeaderBSD: RFC 3164, "Jan  2 15:04:05 host tag: message", where the
	// host is optional and the tag is "app:", "app[pid]:" or "app[pid]".
	HeaderBSD
	// HeaderRFC5424: "1 2006-01-02T15:04:05Z host app procid msgid sd message".
	HeaderRFC5424
	// HeaderISO: an RFC 3339 timestamp, then an optional host and tag as in
	// BSD syslog. Log files and exports use it ("2006-01-02T15:04:05+01:00
	// host filterlog[pid] …" or just "2006-01-02T15:04:05Z <csv>").
	HeaderISO
)

func (f HeaderFormat) String() string {
	switch f {
	case HeaderBSD:
		return "bsd"
	case HeaderRFC5424:
		return "rfc5424"
	case HeaderISO:
		return "iso"
	}
	return "none"
}

// Header is the syslog header of one line. Its byte slices point into the
// line given to ParseHeader, so they are valid only while that buffer is.
type Header struct {
	Format   HeaderFormat
	Priority int // PRI value 0–191, or -1 when the line has no "<PRI>"

	// Time is the timestamp in its own offset, or in the caller's location
	// when the header has none (BSD). It is zero for HeaderNone and for the
	// RFC 5424 nil timestamp "-".
	Time time.Time

	Host    []byte // empty when the header has none or it is "-"
	AppName []byte // the program ("filterlog", "dhcpd", …), empty when absent
	ProcID  []byte // the pid, empty when absent

	// MessageStart is the offset in the line where the message begins:
	// line[MessageStart:] is the CSV body of a filterlog line.
	MessageStart int

	// Relayed is true when a relay such as syslog-ng wrapped the original
	// line in a header of its own. The fields above then come from the
	// innermost header, except Host and Priority, which fall back to the
	// outer header's when the inner one has none.
	Relayed bool
}

// maxRelayDepth is how many relay headers ParseHeader removes before the
// original one. Two covers a firewall behind two relays.
const maxRelayDepth = 2

// RFC 5424 field length limits.
const (
	maxHostLength    = 255
	maxAppNameLength = 48
	maxProcIDLength  = 128
	maxMsgIDLength   = 32
)

// ParseHeader parses the syslog header at the start of line, in any of the
// forms HeaderFormat lists, and removes relay headers in front of it.
// Timestamps without a zone are read in loc (time.Local when nil). A BSD
// timestamp, which has no year, is dated in the latest year that puts it at
// most one day after now. A line with no recognisable header is
// HeaderNone with MessageStart 0, unless it starts with "<PRI>", which must be
// followed by a header.
//
// The error is a *SkipError with reason bad_header or bad_timestamp.
// ParseHeader does not allocate, except for a UTC offset that is not a
// whole quarter hour.
func ParseHeader(line []byte, loc *time.Location, now time.Time) (Header, error) {
	if loc == nil {
		loc = time.Local
	}
	h, err := parseHeader(line, 0, loc, 0)
	if err != nil {
		return Header{}, err
	}
	if h.needsYear {
		h.Time = h.stamp.resolve(loc, now)
	}
	return h.Header, nil
}

// rawHeader is a Header whose BSD timestamp may still lack its year, so that
// Parse reads the clock only for lines that need it.
type rawHeader struct {
	Header
	stamp     bsdStamp
	needsYear bool
}

// parseHeader parses the header that starts at line[start:]. depth counts
// the relay headers already removed.
func parseHeader(line []byte, start int, loc *time.Location, depth int) (rawHeader, *SkipError) {
	h := rawHeader{Header: Header{Priority: -1}}
	p := start

	hasPriority := p < len(line) && line[p] == '<'
	if hasPriority {
		priority, n, ok := parsePriority(line[p:])
		if !ok {
			return h, errBadHeader
		}
		h.Priority = priority
		p += n
	}

	rest := line[p:]
	var err *SkipError
	switch {
	case startsRFC5424(rest, hasPriority):
		h.Format = HeaderRFC5424
		err = parseRFC5424(&h, line, p, loc, depth)
	case startsISOTime(rest):
		h.Format = HeaderISO
		err = parseISOHeader(&h, line, p, loc, depth)
	default:
		stamp, n, ok, valid := parseBSDStamp(rest)
		switch {
		case ok && (!valid || (n < len(rest) && rest[n] != ' ')):
			return h, errBadTimestamp
		case ok:
			h.Format = HeaderBSD
			h.stamp, h.needsYear = stamp, true
			err = parseHostAndTag(&h, line, p+n, loc, depth)
		case hasPriority:
			return h, errBadHeader
		default:
			h.Format = HeaderNone
			h.MessageStart = p
		}
	}
	return h, err
}

// parseRFC5424 parses "VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD
// [MSG]" from line[p:].
func parseRFC5424(h *rawHeader, line []byte, p int, loc *time.Location, depth int) *SkipError {
	// startsRFC5424 has checked the version, so skip it and its space.
	p += bytes.IndexByte(line[p:], ' ') + 1

	stamp, p, ok := nextToken(line, p)
	if !ok {
		return errBadHeader
	}
	if !isNil(stamp) {
		t, valid := parseISOTime(stamp, loc)
		if !valid {
			return errBadTimestamp
		}
		h.Time = t
	}

	var host, app, procID, msgID []byte
	if host, p, ok = nextToken(line, p); !ok || len(host) > maxHostLength {
		return errBadHeader
	}
	if app, p, ok = nextToken(line, p); !ok || len(app) > maxAppNameLength {
		return errBadHeader
	}
	if procID, p, ok = nextToken(line, p); !ok || len(procID) > maxProcIDLength {
		return errBadHeader
	}
	if msgID, p, ok = nextToken(line, p); !ok || len(msgID) > maxMsgIDLength {
		return errBadHeader
	}
	h.Host, h.AppName, h.ProcID = nilToEmpty(host), nilToEmpty(app), nilToEmpty(procID)

	p, ok = skipStructuredData(line, p)
	if !ok {
		return errBadHeader
	}

	// The message, if any, follows one space and may start with a UTF-8 BOM.
	switch {
	case p == len(line):
	case line[p] == ' ':
		p++
		if bytes.HasPrefix(line[p:], utf8BOM) {
			p += len(utf8BOM)
		}
	default:
		return errBadHeader
	}
	h.MessageStart = p
	return parseRelayed(h, line, p, loc, depth)
}

var utf8BOM = []byte("\xef\xbb\xbf")

// skipStructuredData skips the RFC 5424 STRUCTURED-DATA at line[p:]: "-" or
// one or more "[id key="value" …]" elements, where a value may contain
// escaped quotes and brackets. It returns the offset after it.
func skipStructuredData(line []byte, p int) (int, bool) {
	if p < len(line) && line[p] == '-' {
		return p + 1, true
	}
	if p >= len(line) || line[p] != '[' {
		return p, false
	}
	for p < len(line) && line[p] == '[' {
		p++
		inValue := false
		for ; p < len(line); p++ {
			c := line[p]
			if inValue {
				switch c {
				case '\\':
					p++
				case '"':
					inValue = false
				}
				continue
			}
			if c == '"' {
				inValue = true
			} else if c == ']' {
				break
			}
		}
		if p >= len(line) {
			return p, false
		}
		p++
	}
	return p, true
}

// parseISOHeader parses "TIMESTAMP [HOST] [TAG] MESSAGE" from line[p:].
func parseISOHeader(h *rawHeader, line []byte, p int, loc *time.Location, depth int) *SkipError {
	end := indexByteFrom(line, p, ' ')
	t, ok := parseISOTime(line[p:end], loc)
	if !ok {
		return errBadTimestamp
	}
	h.Time = t
	return parseHostAndTag(h, line, end, loc, depth)
}

// parseHostAndTag reads what follows a BSD or ISO timestamp at line[p:]: an
// optional host, then a tag ("app:", "app[pid]:" or "app[pid]"), then the
// message. A CSV body may follow the timestamp directly, as in exports. The
// original header of a relayed line may follow the timestamp, the host or
// the relay's own tag.
func parseHostAndTag(h *rawHeader, line []byte, p int, loc *time.Location, depth int) *SkipError {
	p = skipSpaces(line, p)
	if isRelayedHeader(line[p:], depth) {
		return parseRelayed(h, line, p, loc, depth)
	}

	first, next, _ := nextToken(line, p)
	if bytes.IndexByte(first, ',') >= 0 {
		h.MessageStart = p
		return nil
	}
	if app, procID, ok := parseTag(first); ok {
		h.AppName, h.ProcID, h.MessageStart = app, procID, next
		return parseRelayed(h, line, next, loc, depth)
	}

	// The first token is the host.
	h.Host = first
	p = skipSpaces(line, next)
	if isRelayedHeader(line[p:], depth) {
		return parseRelayed(h, line, p, loc, depth)
	}
	second, next, _ := nextToken(line, p)
	if app, procID, ok := parseTag(second); ok {
		h.AppName, h.ProcID, h.MessageStart = app, procID, next
		return parseRelayed(h, line, next, loc, depth)
	}

	// No tag: a message from syslogd itself ("last message repeated …"), or
	// a CSV body after a host. Parse separates the two by the message.
	h.MessageStart = p
	return nil
}

// parseRelayed replaces h by the header at line[p:] when a relay wrapped the
// original line in a header of its own.
func parseRelayed(h *rawHeader, line []byte, p int, loc *time.Location, depth int) *SkipError {
	if !isRelayedHeader(line[p:], depth) {
		return nil
	}
	inner, err := parseHeader(line, p, loc, depth+1)
	if err != nil {
		return err
	}
	if len(inner.Host) == 0 {
		inner.Host = h.Host
	}
	if inner.Priority < 0 {
		inner.Priority = h.Priority
	}
	inner.Relayed = true
	*h = inner
	return nil
}

// isRelayedHeader reports whether b, a message, starts like a syslog header
// of its own, and whether another relay level may be removed.
func isRelayedHeader(b []byte, depth int) bool {
	if depth >= maxRelayDepth || len(b) == 0 {
		return false
	}
	if b[0] == '<' {
		_, _, ok := parsePriority(b)
		return ok
	}
	if startsRFC5424(b, false) || startsISOTime(b) {
		return true
	}
	_, _, ok, _ := parseBSDStamp(b)
	return ok
}

// parseTag parses a BSD tag: "app:", "app[pid]:" or "app[pid]". A bare
// "app" is rejected, because it looks the same as a host.
func parseTag(token []byte) (app, procID []byte, ok bool) {
	hasColon := len(token) > 0 && token[len(token)-1] == ':'
	if hasColon {
		token = token[:len(token)-1]
	}

	hasProcID := len(token) > 0 && token[len(token)-1] == ']'
	if hasProcID {
		open := bytes.IndexByte(token, '[')
		if open <= 0 {
			return nil, nil, false
		}
		procID = token[open+1 : len(token)-1]
		token = token[:open]
	}

	if !hasColon && !hasProcID {
		return nil, nil, false
	}
	if len(token) == 0 || len(token) > maxAppNameLength || bytes.ContainsAny(token, "[],:") {
		return nil, nil, false
	}
	return token, procID, true
}

// parsePriority parses "<PRI>" at the start of b, PRI being 0–191 in one to
// three digits. It returns the value and the bytes read.
func parsePriority(b []byte) (int, int, bool) {
	value := 0
	i := 1
	for ; i < len(b) && i <= 4 && isDigit(b[i]); i++ {
		value = value*10 + int(b[i]-'0')
	}
	if i == 1 || i > 4 || i >= len(b) || b[i] != '>' || value > 191 {
		return 0, 0, false
	}
	return value, i + 1, true
}

// startsRFC5424 reports whether b starts with an RFC 5424 version and a
// space. Without a "<PRI>" it must also be followed by a date, so that text
// such as "1 apple" is not taken for a header.
func startsRFC5424(b []byte, hasPriority bool) bool {
	i := 0
	for i < len(b) && i < 4 && isDigit(b[i]) {
		i++
	}
	if i == 0 || i > 3 || b[0] == '0' || i >= len(b) || b[i] != ' ' {
		return false
	}
	return hasPriority || startsISOTime(b[i+1:])
}

// startsISOTime reports whether b starts with "dddd-dd-ddT".
func startsISOTime(b []byte) bool {
	if len(b) < 11 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') {
		return false
	}
	for _, i := range [...]int{0, 1, 2, 3, 5, 6, 8, 9} {
		if !isDigit(b[i]) {
			return false
		}
	}
	return true
}

// nextToken returns the bytes of line from p to the next space, and the
// offset after that space. ok is false when the token is empty or no space
// follows it.
func nextToken(line []byte, p int) (token []byte, next int, ok bool) {
	end := indexByteFrom(line, p, ' ')
	if end == len(line) {
		return line[p:], end, false
	}
	return line[p:end], end + 1, end > p
}

// indexByteFrom returns the offset of the first c in line[p:], or len(line).
func indexByteFrom(line []byte, p int, c byte) int {
	if i := bytes.IndexByte(line[p:], c); i >= 0 {
		return p + i
	}
	return len(line)
}

func skipSpaces(line []byte, p int) int {
	for p < len(line) && line[p] == ' ' {
		p++
	}
	return p
}

// isNil reports whether an RFC 5424 field is the nil value "-".
func isNil(b []byte) bool { return len(b) == 1 && b[0] == '-' }

func nilToEmpty(b []byte) []byte {
	if isNil(b) {
		return nil
	}
	return b
}
