package filterlog

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/corpustest"
)

// addFuzzSeeds adds the unit-test fixtures and, when the corpus is present,
// a few lines of each corpus log file.
func addFuzzSeeds(f *testing.F) {
	for _, line := range readFixture(f, "testdata/valid.log") {
		f.Add([]byte(line))
	}
	for _, tc := range readSkipCases(f) {
		f.Add([]byte(tc.line))
	}

	dir, err := corpustest.Find()
	if err != nil {
		return // the conformance tests report a missing corpus
	}
	files, _ := filepath.Glob(filepath.Join(dir, "filterlog", "*.log"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatalf("reading %s: %v", file, err)
		}
		lines := strings.Split(string(data), "\n")
		for _, line := range lines[:min(len(lines), 5)] {
			f.Add([]byte(line))
		}
	}
}

// FuzzParse checks that Parse never panics, that a parsed event is
// complete, that a skipped line leaves a zero event and a listed reason,
// and that Parse agrees with ParseHeader about the header.
func FuzzParse(f *testing.F) {
	addFuzzSeeds(f)
	p := newTestParser()
	f.Fuzz(func(t *testing.T, line []byte) {
		original := slices.Clone(line)
		var ev Event
		err := p.Parse(line, &ev)
		if !bytes.Equal(line, original) {
			t.Fatalf("Parse modified its input %q", original)
		}

		if err != nil {
			checkSkip(t, line, err, ev)
		} else {
			checkComplete(t, line, ev)
		}

		// The same line parses the same way again.
		var again Event
		errAgain := p.Parse(line, &again)
		if errAgain != err {
			t.Fatalf("Parse(%q) = %v, then %v", line, err, errAgain)
		}
		if diffs := diffEvents(again, ev); len(diffs) > 0 {
			t.Fatalf("Parse(%q) gave different events: %v", line, diffs)
		}

		// A header ParseHeader rejects is rejected by Parse for the same reason.
		if len(line) > MaxLineLength || !bytes.Equal(trimSpace(line), line) {
			return
		}
		_, headerErr := ParseHeader(line, time.UTC, testNow)
		var headerSkip *SkipError
		if errors.As(headerErr, &headerSkip) && (err == nil || err.(*SkipError).Reason != headerSkip.Reason) {
			t.Fatalf("ParseHeader(%q) = %v but Parse = %v", line, headerErr, err)
		}
	})
}

// FuzzParseHeader checks that ParseHeader never panics and returns either a
// zero Header with a header reason, or fields that lie within the line.
func FuzzParseHeader(f *testing.F) {
	addFuzzSeeds(f)
	f.Fuzz(func(t *testing.T, line []byte) {
		h, err := ParseHeader(line, time.UTC, testNow)
		if err != nil {
			var skip *SkipError
			if !errors.As(err, &skip) || (skip.Reason != ReasonBadHeader && skip.Reason != ReasonBadTimestamp) {
				t.Fatalf("ParseHeader(%q) = %v, want a bad_header or bad_timestamp SkipError", line, err)
			}
			if !reflect.DeepEqual(h, Header{}) {
				t.Fatalf("ParseHeader(%q) returned %+v with its error", line, h)
			}
			return
		}

		if h.MessageStart < 0 || h.MessageStart > len(line) {
			t.Fatalf("ParseHeader(%q): MessageStart %d outside the line", line, h.MessageStart)
		}
		if h.Priority < -1 || h.Priority > 191 {
			t.Fatalf("ParseHeader(%q): Priority %d", line, h.Priority)
		}
		if h.Format > HeaderISO {
			t.Fatalf("ParseHeader(%q): Format %d", line, h.Format)
		}
		for name, field := range map[string][]byte{"Host": h.Host, "AppName": h.AppName, "ProcID": h.ProcID} {
			if len(field) > 0 && !bytes.Contains(line, field) {
				t.Fatalf("ParseHeader(%q): %s %q is not part of the line", line, name, field)
			}
		}
		if h.Format == HeaderNone && (!h.Time.IsZero() || h.MessageStart != 0 || h.Priority != -1) {
			t.Fatalf("ParseHeader(%q): no header, but %+v", line, h)
		}
		if (h.Format == HeaderBSD || h.Format == HeaderISO) && h.Time.IsZero() {
			t.Fatalf("ParseHeader(%q): %v header without a time", line, h.Format)
		}
	})
}
