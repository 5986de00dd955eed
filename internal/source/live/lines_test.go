package live

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// splitAll writes the chunks to a lineSplitter with maxLen 8 and returns
// the emitted lines, with "<too long>" for a line over the maximum, and then
// what flush emits after "|".
func splitAll(chunks []string, flush bool) []string {
	l := lineSplitter{maxLen: 8}
	var got []string
	emit := func(line []byte, tooLong bool) {
		if tooLong {
			got = append(got, "<too long>")
			return
		}
		got = append(got, string(line))
	}
	for _, c := range chunks {
		l.write([]byte(c), emit)
	}
	if flush {
		got = append(got, "|")
		l.flush(emit)
	}
	return got
}

func TestLineSplitter(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		flush  bool
		want   []string
	}{
		{"whole lines", []string{"a\nbb\n"}, false, []string{"a", "bb"}},
		{"CRLF endings", []string{"a\r\nbb\r\n"}, false, []string{"a", "bb"}},
		{"empty line kept", []string{"a\n\nb\n"}, false, []string{"a", "", "b"}},
		{"partial line held", []string{"a\nbc"}, false, []string{"a"}},
		{"partial line completed", []string{"a\nbc", "d\n"}, false, []string{"a", "bcd"}},
		{"line split in three", []string{"ab", "cd", "ef\n"}, false, []string{"abcdef"}},
		{"partial line flushed", []string{"a\nbc"}, true, []string{"a", "|", "bc"}},
		{"maximum length", []string{"12345678\n"}, false, []string{"12345678"}},
		{"maximum length with CR", []string{"12345678\r\n"}, false, []string{"12345678"}},
		{"one over maximum", []string{"123456789\n", "ok\n"}, false, []string{"<too long>", "ok"}},
		{"one over maximum with CR", []string{"123456789\r\n"}, false, []string{"<too long>"}},
		{"too long across chunks", []string{"12345", "67890", "12345", "\nok\n"}, false, []string{"<too long>", "ok"}},
		{"too long unfinished not flushed", []string{"1234567890123"}, true, []string{"<too long>", "|"}},
		{"too long counted once", []string{strings.Repeat("x", 100), strings.Repeat("y", 100), "\n"}, false, []string{"<too long>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitAll(tt.chunks, tt.flush)
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLineSplitterBoundsMemory(t *testing.T) {
	l := lineSplitter{maxLen: 8}
	for i := range 1000 {
		l.write([]byte(fmt.Sprint(i)), func([]byte, bool) {})
	}
	if cap(l.partial) > 2*(l.maxLen+1) {
		t.Errorf("partial line buffer grew to %d bytes for a maximum of %d", cap(l.partial), l.maxLen)
	}
}

func TestLineSplitterReset(t *testing.T) {
	l := lineSplitter{maxLen: 8}
	var got []string
	emit := func(line []byte, _ bool) { got = append(got, string(line)) }
	l.write([]byte("stale"), emit)
	l.reset()
	l.write([]byte("new\n"), emit)
	if !slices.Equal(got, []string{"new"}) {
		t.Errorf("got %q after reset, want [\"new\"]", got)
	}
}
