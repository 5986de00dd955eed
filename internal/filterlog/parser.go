// Package filterlog parses pfSense and OPNsense filterlog lines: the syslog
// header in any of the forms firewalls and relays write, then the CSV body in
// Netgate's "Filter Log Format".
package filterlog

import (
	"time"
)

// Options configures a Parser.
type Options struct {
	// Location is the zone of timestamps that carry none (BSD syslog, and
	// ISO timestamps without an offset). Nil means time.Local.
	Location *time.Location
	// Now returns the reference time for inferring the year of BSD lines:
	// the year is the latest one that does not put the line in the future
	// (by more than a day of clock skew). Nil means time.Now.
	Now func() time.Time
}

// SkipError is the error for a line that is not a complete filterlog event.
// Reason is a short stable token used as a metric label and in the parse
// command's output: one of the Reason constants, all listed by SkipReasons.
type SkipError struct {
	Reason string
}

func (e *SkipError) Error() string { return "skipped: " + e.Reason }

// MaxLineLength is the longest line Parse reads, in bytes. Filterlog lines
// are a few hundred bytes. Longer ones are skipped with reason too_long, so
// that a hostile sender cannot make the parser copy megabytes per event.
const MaxLineLength = 64 << 10

// Parser parses lines. It is not safe for concurrent use; use one per goroutine.
type Parser struct {
	opts    Options
	strings interner
}

// NewParser returns a Parser with the given options.
func NewParser(opts Options) *Parser {
	if opts.Location == nil {
		opts.Location = time.Local
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Parser{opts: opts, strings: newInterner()}
}

// Parse parses one line into ev. On error ev is left zeroed, never
// half-filled, and the error is a *SkipError whose Reason is one of
// SkipReasons. The error value is shared and must not be modified.
//
// The line may have any header ParseHeader reads, or none. Lines of other
// programs are skipped with reason not_filterlog. A bare CSV body has no
// timestamp, so ev.Time is then zero. Parse keeps no reference to line.
func (p *Parser) Parse(line []byte, ev *Event) error {
	*ev = Event{}
	if err := p.parse(line, ev); err != nil {
		*ev = Event{}
		return err
	}
	return nil
}

func (p *Parser) parse(line []byte, ev *Event) *SkipError {
	if len(line) > MaxLineLength {
		return errTooLong
	}
	line = trimSpace(line)

	h, err := parseHeader(line, 0, p.opts.Location, 0)
	if err != nil {
		return err
	}
	body := trimSpace(line[h.MessageStart:])

	// Exports and bare bodies name no program, so a CSV body is enough.
	if len(h.AppName) > 0 && string(h.AppName) != "filterlog" {
		return errNotFilterlog
	}
	if len(h.AppName) == 0 && !looksLikeBody(body) {
		return errNotFilterlog
	}

	if err := p.parseBody(body, ev); err != nil {
		return err
	}

	// The clock is read only for BSD lines, which need it for their year.
	ev.Time = h.Time
	if h.needsYear {
		ev.Time = h.stamp.resolve(p.opts.Location, p.opts.Now())
	}
	ev.Host = p.strings.get(h.Host)
	return nil
}
