package filterlog

import (
	"bytes"
)

// fieldReader splits a CSV body on commas without copying. "a,b," has three
// fields, the last one empty.
type fieldReader struct {
	body []byte
	pos  int // start of the next field, or len(body)+1 once the body is used up
}

// next returns the next field, or ok false when the body is used up.
func (r *fieldReader) next() (field []byte, ok bool) {
	if r.pos > len(r.body) {
		return nil, false
	}
	// A plain loop beats bytes.IndexByte here: most fields are a few bytes.
	start := r.pos
	i := start
	for i < len(r.body) && r.body[i] != ',' {
		i++
	}
	r.pos = i + 1
	return r.body[start:i], true
}

// nextQuoted is next for the protocol fields, where filterlog quotes error
// text that may contain commas: "errormsg='[bad hdr length 32 - too long,
// > 20]'" is one field. A quote without a closing one is an ordinary byte.
func (r *fieldReader) nextQuoted() (field []byte, ok bool) {
	if r.pos > len(r.body) {
		return nil, false
	}
	start := r.pos
	i := start
	for i < len(r.body) && r.body[i] != ',' {
		c := r.body[i]
		if c == '\'' || c == '"' {
			if closing := bytes.IndexByte(r.body[i+1:], c); closing >= 0 {
				i += closing + 2
				continue
			}
		}
		i++
	}
	r.pos = i + 1
	return r.body[start:i], true
}

// parseUint parses a decimal number of at most 10 digits that is at most max.
func parseUint(b []byte, max uint64) (uint64, bool) {
	if len(b) == 0 || len(b) > 10 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		if !isDigit(c) {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, v <= max
}

// parseInt parses a decimal number with an optional minus sign whose
// magnitude is at most max. Filterlog prints a negative TCP data length when
// the TCP header claims to be longer than the packet.
func parseInt(b []byte, max uint64) (int, bool) {
	negative := len(b) > 0 && b[0] == '-'
	if negative {
		b = b[1:]
	}
	v, ok := parseUint(b, max)
	if negative {
		return -int(v), ok
	}
	return int(v), ok
}

// isDigits reports whether b is empty or all decimal digits, at most 10 of them.
func isDigits(b []byte) bool {
	if len(b) > 10 {
		return false
	}
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// trimSpace removes leading and trailing spaces, tabs, CR and LF.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }
