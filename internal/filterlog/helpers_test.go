package filterlog

import (
	"bufio"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testNow is the reader's clock in unit tests: BSD lines dated up to a day
// after it fall in 2025, later ones in 2024.
var testNow = time.Date(2025, time.June, 15, 12, 0, 0, 0, time.UTC)

func newTestParser() *Parser {
	return NewParser(Options{Location: time.UTC, Now: func() time.Time { return testNow }})
}

// readFixture returns the lines of a testdata file, without blank lines and
// "#" comments.
func readFixture(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("opening fixture: %v", err)
	}
	defer f.Close()

	var lines []string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		lines = append(lines, line)
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	return lines
}

// diffEvents lists the fields in which got differs from want, one
// "Field: got …, want …" entry each. Times are compared as instants.
func diffEvents(got, want Event) []string {
	var diffs []string
	if !got.Time.Equal(want.Time) {
		diffs = append(diffs, fmt.Sprintf("Time: got %v, want %v", got.Time, want.Time))
	}
	gotValue, wantValue := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := range gotValue.NumField() {
		name := gotValue.Type().Field(i).Name
		if name == "Time" {
			continue
		}
		g, w := gotValue.Field(i).Interface(), wantValue.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", name, g, w))
		}
	}
	return diffs
}

// checkEvent reports every field in which got differs from want.
func checkEvent(t *testing.T, line string, got, want Event) {
	t.Helper()
	for _, diff := range diffEvents(got, want) {
		t.Errorf("Parse(%q) %s", line, diff)
	}
}
