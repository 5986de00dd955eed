package live

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrMessageTooLong is returned by FrameReader.Next for a newline-framed
// message longer than the maximum size. The message was discarded up to its
// terminator, so the caller counts it and reads on.
var ErrMessageTooLong = errors.New("syslog message exceeds the maximum size")

// ErrFrameTooLarge is returned, wrapped with the octet count, by
// FrameReader.Next for an octet-counted frame larger than the maximum size.
// The reader cannot skip it without reading that many bytes, so the stream is
// unusable and the caller closes the connection.
var ErrFrameTooLarge = errors.New("octet-counted syslog frame exceeds the maximum size")

// maxCountDigits is the most digits an octet count may have: 10 digits hold
// any count a 32-bit sender writes. Longer digit runs are message text, such
// as a bare CSV body that starts with a rule number.
const maxCountDigits = 10

// FrameReader splits a syslog TCP stream into messages. It detects the
// framing of each message on its own, as RFC 6587 describes both:
//
//   - octet counting: "LEN SP MSG", where LEN is a decimal number without a
//     leading zero. A frame is recognised only when MSG starts with '<', the
//     start of the priority that every syslog message over TCP carries. This
//     keeps a message without a priority, such as a bare RFC 5424 line
//     "1 2025-…" or a CSV body, from being read as a count.
//   - non-transparent framing: the message ends at LF or NUL. A CR before
//     the terminator is removed, and empty messages are skipped. At the end
//     of the stream, a final message without a terminator is returned too.
//
// A connection may mix both framings.
type FrameReader struct {
	br      *bufio.Reader
	maxSize int
	lastNUL bool // the previous message ended with NUL
}

// NewFrameReader returns a FrameReader on r that accepts messages of up to
// maxSize bytes. It buffers maxSize bytes and a little more.
func NewFrameReader(r io.Reader, maxSize int) *FrameReader {
	// The buffer must hold a whole frame, the count and its space, and a CR
	// and terminator after a non-transparent message of maxSize bytes.
	return &FrameReader{br: bufio.NewReaderSize(r, maxSize+maxCountDigits+2), maxSize: maxSize}
}

// Next returns the next message without its framing. The message is only
// valid until the next call.
//
// After ErrMessageTooLong, for a non-transparent message over the maximum
// size, reading can go on. After an error wrapping ErrFrameTooLarge, for an
// oversized octet count, or io.ErrUnexpectedEOF, for a stream that ends
// inside an octet-counted frame, the stream is unusable. At the end of the
// stream Next returns io.EOF, and it returns the underlying reader's errors
// as they are.
func (f *FrameReader) Next() ([]byte, error) {
	for {
		first, err := f.br.Peek(1)
		if err != nil {
			return nil, err
		}

		if '1' <= first[0] && first[0] <= '9' {
			msg, ok, err := f.octetCounted()
			if err != nil || ok {
				return msg, err
			}
		}

		msg, err := f.terminated()
		if err == nil && len(msg) == 0 {
			continue
		}
		return msg, err
	}
}

// octetCounted reads an octet-counted frame if the stream has one next. ok
// is false, with nothing consumed, when the next bytes are not a count
// followed by SP and '<'.
func (f *FrameReader) octetCounted() (msg []byte, ok bool, err error) {
	count := 0
	digits := 0
	for {
		// Peeking one byte further at a time waits only for bytes that
		// belong to the message whatever its framing turns out to be.
		buf, err := f.br.Peek(digits + 1)
		if err != nil {
			return nil, false, notEOF(err)
		}
		c := buf[digits]
		if c < '0' || c > '9' {
			break
		}
		digits++
		if digits > maxCountDigits {
			return nil, false, nil
		}
		count = count*10 + int(c-'0')
	}

	buf, err := f.br.Peek(digits + 2)
	if err != nil {
		return nil, false, notEOF(err)
	}
	if buf[digits] != ' ' || buf[digits+1] != '<' {
		return nil, false, nil
	}
	if count > f.maxSize {
		return nil, false, fmt.Errorf("octet count %d, maximum %d: %w", count, f.maxSize, ErrFrameTooLarge)
	}

	if _, err := f.br.Discard(digits + 1); err != nil {
		return nil, false, err
	}
	msg, err = f.br.Peek(count)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, false, fmt.Errorf("reading an octet-counted frame of %d bytes: %w", count, err)
	}
	// The bytes Peek returned stay valid until the next read, so the frame
	// is consumed now and returned without a copy.
	if _, err := f.br.Discard(count); err != nil {
		return nil, false, err
	}
	return msg, true, nil
}

// notEOF returns err, or nil for io.EOF: a stream that ends while a count
// is expected ends a non-transparent message instead.
func notEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return nil
	}
	return err
}

// terminated reads a message that ends at LF or NUL, or at the end of the
// stream.
func (f *FrameReader) terminated() ([]byte, error) {
	scanned := 0
	for {
		// Ask for one byte more than was scanned, then take all that is
		// buffered. On an error, buf holds exactly the scanned bytes.
		buf, err := f.br.Peek(scanned + 1)
		if err == nil {
			buf, _ = f.br.Peek(f.br.Buffered())
		}

		if i := f.indexTerminator(buf[scanned:]); i >= 0 {
			end := scanned + i
			if _, derr := f.br.Discard(end + 1); derr != nil {
				return nil, derr
			}
			return trimCR(buf[:end], f.maxSize)
		}
		scanned = len(buf)

		switch {
		case scanned > f.maxSize+1:
			return nil, f.skipMessage()
		case err == nil:
			continue
		case scanned == 0 || !errors.Is(err, io.EOF):
			return nil, err
		}

		// The stream ended after a message without a terminator.
		if _, derr := f.br.Discard(scanned); derr != nil {
			return nil, derr
		}
		return trimCR(buf, f.maxSize)
	}
}

// trimCR removes one CR at the end of msg and checks its length.
func trimCR(msg []byte, maxSize int) ([]byte, error) {
	msg = bytes.TrimSuffix(msg, []byte{'\r'})
	if len(msg) > maxSize {
		return nil, ErrMessageTooLong
	}
	return msg, nil
}

// skipMessage discards the rest of a message that is too long, up to and
// including its terminator, and returns ErrMessageTooLong. Nothing of it is
// kept beyond the reader's buffer.
func (f *FrameReader) skipMessage() error {
	for {
		n := max(f.br.Buffered(), 1)
		buf, err := f.br.Peek(n)
		if i := f.indexTerminator(buf); i >= 0 {
			if _, derr := f.br.Discard(i + 1); derr != nil {
				return derr
			}
			return ErrMessageTooLong
		}
		if _, derr := f.br.Discard(len(buf)); derr != nil {
			return derr
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return ErrMessageTooLong
			}
			return err
		}
	}
}

// indexTerminator returns the index of the first LF or NUL in b, or -1.
// It searches first for the terminator the previous message ended with and
// then for the other one only before it, so that a stream of one framing
// costs a scan of each message, not of all that is buffered.
func (f *FrameReader) indexTerminator(b []byte) int {
	first, second := byte('\n'), byte(0)
	if f.lastNUL {
		first, second = second, first
	}
	i := bytes.IndexByte(b, first)
	before := b
	if i >= 0 {
		before = b[:i]
	}
	if j := bytes.IndexByte(before, second); j >= 0 {
		f.lastNUL = second == 0
		return j
	}
	return i
}
