package feeds

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
)

const (
	// maxLineBytes bounds one line. Longer lines are skipped, so a file
	// without line breaks cannot make the parser buffer all of it.
	maxLineBytes = 64 << 10
	// sniffBytes is how much of the content auto-detection reads.
	sniffBytes = 8 << 10
	// MaxSkippedLines is how many skipped lines a Result describes.
	MaxSkippedLines = 5
	// maxNoticeBytes bounds Result.Notice.
	maxNoticeBytes = 200
)

var (
	// ErrHTML is returned for content that starts like an HTML or XML
	// document: usually a login, error or parking page served in place of
	// the list.
	ErrHTML = errors.New("content looks like an HTML page, not an address list")
	// ErrBinary is returned for content with NUL bytes or a gzip header.
	ErrBinary = errors.New("content looks like binary or compressed data, not an address list")
)

// Result is the content of one feed file as a parser read it.
type Result struct {
	// Format is the parser used, after auto-detection.
	Format Format `json:"format"`
	// Prefixes are the entries: masked, sorted, without duplicates, IPv4
	// before IPv6. A bare address is a /32 or /128 prefix, and a range is
	// split into the prefixes that cover it. Entries inside private,
	// loopback or other special-purpose space are kept: such addresses are
	// never looked up, so they do no harm.
	Prefixes []netip.Prefix `json:"-"`
	// Lines is the number of lines read.
	Lines int `json:"lines"`
	// Skipped counts lines that looked like data but could not be used.
	// Blank lines, comments and header rows are not counted.
	Skipped int `json:"skipped"`
	// SkippedLines describes the first MaxSkippedLines skipped lines.
	SkippedLines []SkippedLine `json:"skipped_lines,omitempty"`
	// Masked counts prefixes written with host bits set (192.0.2.77/24),
	// which were masked to their network.
	Masked int `json:"masked"`
	// Duplicates counts entries that repeated an earlier one.
	Duplicates int `json:"duplicates"`
	// Declared is the entry count that the file states in a header, footer
	// or metadata record ("# END 244 entries"), or -1 when it states none.
	// Excerpts and lists that count rows rather than addresses differ from
	// len(Prefixes), so it is reported and never enforced.
	Declared int `json:"declared"`
	// Notice is a comment stating that the list is deprecated or was
	// merged into another one, as Spamhaus EDROP and abuse.ch SSLBL do.
	Notice string `json:"notice,omitempty"`
}

// SkippedLine is one line a parser could not use, and why.
type SkippedLine struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (s SkippedLine) String() string { return fmt.Sprintf("line %d: %s", s.Line, s.Reason) }

// Parse reads a feed from r in the given format. With FormatAuto the
// format is detected from the content, and name (the file name or URL the
// content came from, or "") helps only when the content does not decide.
//
// Parse streams: memory beyond the returned prefixes is one 64 KiB line
// buffer and the entries awaiting duplicate removal, at most as many as
// the unique prefixes or 16,384, whichever is larger. A UTF-8 byte-order
// mark and CRLF line ends are accepted. Lines that cannot be used are
// counted in the Result, not returned as errors. Parse returns an error
// for content that looks like HTML (ErrHTML) or binary data (ErrBinary),
// for an unknown format and for read errors. An empty input is a valid
// list with no entries.
func Parse(r io.Reader, format Format, name string) (Result, error) {
	br := bufio.NewReaderSize(r, maxLineBytes)
	if err := skipBOM(br); err != nil {
		return Result{}, err
	}
	head, err := br.Peek(sniffBytes)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return Result{}, fmt.Errorf("reading feed: %w", err)
	}
	if err := checkText(head); err != nil {
		return Result{}, err
	}
	if format == FormatAuto {
		format = detectFormat(head, name)
	}

	p := &parser{lines: lineReader{br: br}, res: Result{Format: format, Declared: -1}}
	switch format {
	case FormatList:
		err = p.parseList()
	case FormatSpamhausJSON:
		err = p.parseSpamhausJSON()
	case FormatCSV:
		err = p.parseCSV()
	case FormatTorExit:
		err = p.parseTorExit()
	case FormatDShield:
		err = p.parseDShield()
	default:
		return Result{}, fmt.Errorf("unknown format %v", format)
	}
	if err == nil {
		err = p.lines.err
	}
	if err != nil {
		return Result{}, err
	}

	p.res.Prefixes = p.out.finish()
	p.res.Duplicates = p.out.added - len(p.res.Prefixes)
	p.res.Lines = p.lines.n
	return p.res, nil
}

func skipBOM(br *bufio.Reader) error {
	b, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading feed: %w", err)
	}
	if bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	return nil
}

// checkText rejects content whose start shows it is not a text list.
func checkText(head []byte) error {
	if bytes.HasPrefix(head, []byte{0x1f, 0x8b}) || bytes.IndexByte(head, 0) >= 0 {
		return ErrBinary
	}
	if trimmed := bytes.TrimSpace(head); len(trimmed) > 0 && trimmed[0] == '<' {
		return ErrHTML
	}
	return nil
}

// parser holds the state shared by the format parsers.
type parser struct {
	lines lineReader
	out   collector
	res   Result
}

func (p *parser) skip(reason string) {
	p.res.Skipped++
	if len(p.res.SkippedLines) < MaxSkippedLines {
		p.res.SkippedLines = append(p.res.SkippedLines, SkippedLine{Line: p.lines.n, Reason: reason})
	}
}

// add records one entry, or skips the line when the entry is unusable.
func (p *parser) add(e entry) {
	if e.isRange {
		if e.first == netip.IPv4Unspecified() && e.last == netip.AddrFrom4([4]byte{255, 255, 255, 255}) ||
			e.first == netip.IPv6Unspecified() && e.last == netip.AddrFrom16([16]byte{
				0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) {
			p.skip("range covers every address, so it cannot mark anything bad: ignored")
			return
		}
		rangePrefixes(e.first, e.last, p.out.add)
		return
	}
	if e.prefix.Bits() == 0 {
		p.skip(fmt.Sprintf("prefix %s covers every address, so it cannot mark anything bad: ignored", e.prefix))
		return
	}
	if e.masked {
		p.res.Masked++
	}
	p.out.add(e.prefix)
}

// parseToken parses tok as an entry and adds it, or skips the line.
func (p *parser) parseToken(tok []byte) {
	e, err := parseEntry(tok)
	if err != nil {
		p.skip(err.Error())
		return
	}
	p.add(e)
}

var (
	// declaredCount matches the entry counts that feeds state in comments:
	// "END 244 entries" (abuse.ch), "Number of entries: 83" (SSLBL) and
	// "Entries         : 4523 subnets" (FireHOL).
	declaredCount = regexp.MustCompile(`(?i)^(?:end\s+(\d+)\s+entries|number of entries\s*:\s*(\d+)|entries\s*:\s*(\d+)\s+(?:subnets|unique))`)
	// noticeWords mark a comment stating that the list is retired.
	noticeWords = [][]byte{[]byte("deprecated"), []byte("Deprecated"), []byte("DEPRECATED"), []byte("merged into")}
)

// comment reads what the parsers use from a comment line: a declared entry
// count and a deprecation notice.
func (p *parser) comment(line []byte) {
	text := bytes.TrimSpace(bytes.TrimLeft(line, "#;/"))
	if bytes.Contains(text, []byte("ntries")) {
		if m := declaredCount.FindSubmatch(text); m != nil {
			for _, group := range m[1:] {
				if n, err := strconv.Atoi(string(group)); err == nil {
					p.res.Declared = n
				}
			}
		}
	}
	if p.res.Notice == "" {
		for _, w := range noticeWords {
			if bytes.Contains(text, w) {
				p.res.Notice = string(text[:min(len(text), maxNoticeBytes)])
				break
			}
		}
	}
}

// collector accumulates prefixes and removes duplicates whenever the
// buffer has doubled since the last removal, so a list that repeats a few
// addresses millions of times stays small in memory.
type collector struct {
	prefixes []netip.Prefix
	// unique is the length of prefixes after the last removal.
	unique int
	// added counts every prefix passed to add.
	added int
}

const minCompactLen = 1 << 14

func (c *collector) add(p netip.Prefix) {
	c.prefixes = append(c.prefixes, p)
	c.added++
	if len(c.prefixes) >= 2*max(c.unique, minCompactLen) {
		c.compact()
	}
}

func (c *collector) compact() {
	slices.SortFunc(c.prefixes, comparePrefixes)
	c.prefixes = slices.Compact(c.prefixes)
	c.unique = len(c.prefixes)
}

func (c *collector) finish() []netip.Prefix {
	c.compact()
	return slices.Clip(c.prefixes)
}

func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// lineReader returns lines without their line end, numbering them from 1.
type lineReader struct {
	br  *bufio.Reader
	n   int
	err error
}

// next returns the next line, with the CR of a CRLF removed. tooLong is
// true for a line over maxLineBytes, whose content is discarded. ok is
// false at the end of the input or on a read error, which is kept in err.
func (lr *lineReader) next() (line []byte, tooLong, ok bool) {
	line, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = lr.br.ReadSlice('\n')
		}
		line = nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		lr.err = fmt.Errorf("reading feed line %d: %w", lr.n+1, err)
		return nil, false, false
	}
	if len(line) == 0 && !tooLong && err != nil {
		return nil, false, false
	}
	lr.n++
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	return line, tooLong, true
}
