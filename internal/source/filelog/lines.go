package filelog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/threat-intel/threat-intel/internal/filterlog"
)

// OutcomeParsed is the Observation.Lines key for lines that parsed. Skipped
// lines are counted under their filterlog skip reason.
const OutcomeParsed = "parsed"

// Line is one input line and what the parser made of it.
type Line struct {
	// Number is the line's 1-based position in its input.
	Number int
	// Text is the line without its line ending. It is nil for a line longer
	// than the maximum length and only valid during the callback.
	Text []byte
	// Event is the parsed event, or nil when the line was skipped. It is
	// reused for the next line.
	Event *filterlog.Event
	// Err is the *filterlog.SkipError of a skipped line, or nil.
	Err error
}

// Outcome returns OutcomeParsed or the skip reason of the line.
func (l Line) Outcome() string {
	var skip *filterlog.SkipError
	if errors.As(l.Err, &skip) {
		return skip.Reason
	}
	if l.Err != nil {
		return "error"
	}
	return OutcomeParsed
}

// errTooLong is the skip error of a line that exceeds the maximum length.
var errTooLong = &filterlog.SkipError{Reason: filterlog.ReasonTooLong}

// gzipMagic starts every gzip member (RFC 1952, section 2.3.1).
var gzipMagic = []byte{0x1f, 0x8b}

// Each reads r line by line, decompressing it first when it starts with the
// gzip magic bytes, parses each line with p and calls fn for every line,
// parsed or skipped. Lines longer than filterlog.MaxLineLength are skipped
// with reason too_long, and reading goes on with the next line.
//
// Each stops at the first error of fn and returns it. A read error, such as
// corrupt gzip data, ends the input, but the lines before it have been
// passed to fn. The error is returned with the number of the last good line.
func Each(ctx context.Context, r io.Reader, p *filterlog.Parser, fn func(Line) error) error {
	return eachLine(ctx, r, p, filterlog.MaxLineLength, fn)
}

// ErrCorruptGzip marks a gzip input whose data is corrupt or truncated.
var ErrCorruptGzip = errors.New("gzip data is corrupt or truncated")

// ctxCheckInterval is how many lines pass between checks of ctx.
const ctxCheckInterval = 4096

func eachLine(ctx context.Context, r io.Reader, p *filterlog.Parser, maxLen int, fn func(Line) error) error {
	// Two bytes more than maxLen leave room for a CR LF ending.
	br := bufio.NewReaderSize(r, maxLen+2)
	compressed := false
	if magic, _ := br.Peek(len(gzipMagic)); bytes.Equal(magic, gzipMagic) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrCorruptGzip, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, maxLen+2)
		compressed = true
	}

	var ev filterlog.Event
	number := 0
	for {
		if number%ctxCheckInterval == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}

		text, tooLong, readErr := readLine(br, maxLen)
		if text != nil || tooLong {
			number++
			line := Line{Number: number}
			switch {
			case tooLong:
				line.Err = errTooLong
			default:
				line.Text = text
				if err := p.Parse(text, &ev); err != nil {
					line.Err = err
				} else {
					line.Event = &ev
				}
			}
			if err := fn(line); err != nil {
				return err
			}
		}

		switch {
		case readErr == io.EOF:
			return nil
		case readErr != nil && compressed:
			return fmt.Errorf("%w after line %d: %w", ErrCorruptGzip, number, readErr)
		case readErr != nil:
			return fmt.Errorf("reading after line %d: %w", number, readErr)
		}
	}
}

// readLine returns the next line without its LF or CR LF ending. It returns
// tooLong, and skips to the next line, when the line exceeds maxLen bytes. At
// the end of the input it returns a nil line with io.EOF. The line is only
// valid until the next read.
func readLine(br *bufio.Reader, maxLen int) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		return nil, true, err
	}
	if len(line) == 0 {
		return nil, false, err
	}

	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > maxLen {
		return nil, true, err
	}
	return line, false, err
}
