package live

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// frameResult is one outcome of FrameReader.Next: a message, or the error
// it returned, by its sentinel.
type frameResult struct {
	msg string
	err error
}

func (r frameResult) String() string {
	if r.err != nil {
		return "error(" + r.err.Error() + ")"
	}
	return strconv.Quote(r.msg)
}

// readFrames calls Next until an error other than ErrMessageTooLong, or at
// most limit times, and returns every outcome.
func readFrames(r io.Reader, maxSize, limit int) []frameResult {
	frames := NewFrameReader(r, maxSize)
	var results []frameResult
	for range limit {
		msg, err := frames.Next()
		if err != nil {
			results = append(results, frameResult{err: sentinel(err)})
			if !errors.Is(err, ErrMessageTooLong) {
				return results
			}
			continue
		}
		results = append(results, frameResult{msg: string(msg)})
	}
	return results
}

// sentinel maps err to the sentinel it wraps, so results compare with ==.
func sentinel(err error) error {
	for _, s := range []error{ErrMessageTooLong, ErrFrameTooLarge, io.ErrUnexpectedEOF, io.EOF} {
		if errors.Is(err, s) {
			return s
		}
	}
	return err
}

func msgs(ss ...string) []frameResult {
	var results []frameResult
	for _, s := range ss {
		results = append(results, frameResult{msg: s})
	}
	return results
}

func TestFrameReader(t *testing.T) {
	const max = 32
	long := "<13>" + strings.Repeat("x", max) // max+4 bytes
	exact := "<13>" + strings.Repeat("y", max-4)

	tests := []struct {
		name  string
		input string
		want  []frameResult
	}{
		{"newline framed", "<13>a\n<13>b\n", append(msgs("<13>a", "<13>b"), frameResult{err: io.EOF})},
		{"CRLF", "<13>a\r\n<13>b\r\n", append(msgs("<13>a", "<13>b"), frameResult{err: io.EOF})},
		{"NUL terminators", "<13>a\x00<13>b\x00", append(msgs("<13>a", "<13>b"), frameResult{err: io.EOF})},
		{"empty messages skipped", "\n\r\n\x00\n<13>a\n\n", append(msgs("<13>a"), frameResult{err: io.EOF})},
		{"last message without terminator", "<13>a\n<13>b", append(msgs("<13>a", "<13>b"), frameResult{err: io.EOF})},
		{"octet counted", "5 <13>a6 <13>bb", append(msgs("<13>a", "<13>bb"), frameResult{err: io.EOF})},
		{"octet counted keeps LF inside", "8 <13>a\nb\n", append(msgs("<13>a\nb\n"), frameResult{err: io.EOF})},
		{"mixed framings", "5 <13>a<13>b\n6 <13>cc<13>d\x00", append(msgs("<13>a", "<13>b", "<13>cc", "<13>d"), frameResult{err: io.EOF})},
		{"leading zero is no count", "05 <13>a\n", append(msgs("05 <13>a"), frameResult{err: io.EOF})},
		{"missing space is no count", "5<13>abc\n", append(msgs("5<13>abc"), frameResult{err: io.EOF})},
		{"count without priority is no count", "1 2025-03-14T12:00Z fw x\n",
			append(msgs("1 2025-03-14T12:00Z fw x"), frameResult{err: io.EOF})},
		{"bare CSV body", "5,,,1000000103,igb0\n", append(msgs("5,,,1000000103,igb0"), frameResult{err: io.EOF})},
		{"eleven digits are no count", "12345678901 <13>x\n", append(msgs("12345678901 <13>x"), frameResult{err: io.EOF})},
		{"digits at end of stream", "12", append(msgs("12"), frameResult{err: io.EOF})},
		{"count and space at end of stream", "12 ", append(msgs("12 "), frameResult{err: io.EOF})},
		{"count too big", "33 <13>" + strings.Repeat("z", 29), []frameResult{{err: ErrFrameTooLarge}}},
		{"count far too big", "9999999999 <13>", []frameResult{{err: ErrFrameTooLarge}}},
		{"closed mid-frame", "10 <13>abc", []frameResult{{err: io.ErrUnexpectedEOF}}},
		{"message of maximum size", exact + "\r\n", append(msgs(exact), frameResult{err: io.EOF})},
		{"frame of maximum size", octetFrame(exact), append(msgs(exact), frameResult{err: io.EOF})},
		{"too long then next", long + "\n<13>ok\n", []frameResult{{err: ErrMessageTooLong}, {msg: "<13>ok"}, {err: io.EOF}}},
		{"far too long then next", strings.Repeat(long, 5) + "\x00<13>ok\n", []frameResult{{err: ErrMessageTooLong}, {msg: "<13>ok"}, {err: io.EOF}}},
		{"too long at end of stream", strings.Repeat(long, 3), []frameResult{{err: ErrMessageTooLong}, {err: io.EOF}}},
		{"empty stream", "", []frameResult{{err: io.EOF}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readers := map[string]io.Reader{
				"whole":    strings.NewReader(tt.input),
				"one byte": iotest.OneByteReader(strings.NewReader(tt.input)),
			}
			for kind, r := range readers {
				got := readFrames(r, max, 100)
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("%s reader: got %v, want %v", kind, got, tt.want)
				}
			}
		})
	}
}

func TestFrameReaderReadError(t *testing.T) {
	broken := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("<13>a\n<13>b"), iotest.ErrReader(broken))

	got := readFrames(r, 32, 10)
	want := []frameResult{{msg: "<13>a"}, {err: broken}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

// FuzzFraming checks that any byte stream is split without a panic, that
// no message exceeds the maximum size, that reading ends, and that the
// result does not depend on how the bytes arrive.
func FuzzFraming(f *testing.F) {
	for _, seed := range []string{
		"<13>a\n<13>b\r\n", "5 <13>a6 <13>bb", "05 <13>a\n", "5<13>abc\n",
		"99999 <13>", "10 <13>abc", "<13>a\x00\x00<13>b", strings.Repeat("x", 100) + "\n<13>ok",
		"1 2025-03-14T12:00:00Z fw filterlog - - - x\n", "12345678901 <13>x\n",
	} {
		f.Add([]byte(seed))
	}

	const max = 32
	f.Fuzz(func(t *testing.T, data []byte) {
		limit := len(data) + 2
		whole := readFrames(bytes.NewReader(data), max, limit)
		for _, r := range whole {
			if len(r.msg) > max {
				t.Fatalf("message of %d bytes exceeds the maximum %d", len(r.msg), max)
			}
		}
		last := whole[len(whole)-1]
		if last.err == nil || errors.Is(last.err, ErrMessageTooLong) {
			t.Fatalf("reading did not end within %d calls: %v", limit, whole)
		}

		split := readFrames(iotest.OneByteReader(bytes.NewReader(data)), max, limit)
		if fmt.Sprint(whole) != fmt.Sprint(split) {
			t.Fatalf("whole reader: %v\none-byte reader: %v", whole, split)
		}
	})
}

// FuzzOctetCounting frames arbitrary messages with octet counting and
// checks that they come back unchanged, whatever bytes they hold.
func FuzzOctetCounting(f *testing.F) {
	f.Add([]byte("a\nb"), byte(1))
	f.Add([]byte("1 2\x003 <4>\r\n"), byte(3))
	f.Add([]byte(""), byte(0))

	const max = 1024
	f.Fuzz(func(t *testing.T, data []byte, parts byte) {
		// Cut data into up to parts+1 messages, each given a priority.
		var sent []string
		n := int(parts)%8 + 1
		size := len(data)/n + 1
		for chunk := range slices.Chunk(data, size) {
			sent = append(sent, "<13>"+string(chunk))
		}
		if len(sent) == 0 {
			sent = []string{"<13>"}
		}

		var stream strings.Builder
		for _, msg := range sent {
			if len(msg) > max {
				t.Skip("message over the maximum size")
			}
			stream.WriteString(octetFrame(msg))
		}

		got := readFrames(strings.NewReader(stream.String()), max, len(sent)+1)
		want := append(msgs(sent...), frameResult{err: io.EOF})
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("got %v, want %v", got, want)
		}
	})
}

func BenchmarkFrameReader(b *testing.B) {
	line := blockLine(base, "192.0.2.10")
	benchmarks := []struct {
		name  string
		frame string
	}{
		{"newline", line + "\n"},
		{"octet counted", octetFrame(line)},
	}
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			stream := []byte(strings.Repeat(bm.frame, 1000))
			b.SetBytes(int64(len(stream)))
			b.ReportAllocs()
			for b.Loop() {
				frames := NewFrameReader(bytes.NewReader(stream), 64<<10)
				for {
					if _, err := frames.Next(); err != nil {
						break
					}
				}
			}
		})
	}
}
