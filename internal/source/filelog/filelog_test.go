package filelog

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io/fs"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
	"github.com/threat-intel/threat-intel/internal/source"
	"github.com/threat-intel/threat-intel/internal/source/filelog/filelogtest"
	"github.com/threat-intel/threat-intel/internal/window"
)

// newest is the time of the last line of testdata/small.log.
var newest = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func newSource(t *testing.T, opts Options) *Source {
	t.Helper()
	opts.Parser.Location = time.UTC
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func observe(t *testing.T, opts Options, until time.Time) (source.Observation, error) {
	t.Helper()
	return newSource(t, opts).Observe(t.Context(), until, time.Hour)
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestObserveSmallLog(t *testing.T) {
	obs, err := observe(t, Options{Paths: []string{"testdata/small.log"}}, time.Time{})
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}

	if !obs.End.Equal(newest) {
		t.Errorf("End = %v, want the newest event %v", obs.End, newest)
	}
	if want := newest.Add(-time.Hour); !obs.Start.Equal(want) {
		t.Errorf("Start = %v, want %v", obs.Start, want)
	}
	wantBlocked := []source.AddrCount{
		{Addr: mustAddr("192.0.2.10"), Count: 3},
		{Addr: mustAddr("203.0.113.7"), Count: 1},
		{Addr: mustAddr("2001:db8:bad::1"), Count: 1},
	}
	if !slices.Equal(obs.Blocked, wantBlocked) {
		t.Errorf("Blocked = %v, want %v", obs.Blocked, wantBlocked)
	}
	if obs.DistinctBlocked != 3 {
		t.Errorf("DistinctBlocked = %d, want 3", obs.DistinctBlocked)
	}

	if len(obs.Outbound) != 1 {
		t.Fatalf("Outbound = %+v, want one destination", obs.Outbound)
	}
	out := obs.Outbound[0]
	if out.Addr != mustAddr("203.0.113.80") || out.Count != 1 {
		t.Errorf("Outbound[0] = %v × %d, want 203.0.113.80 × 1", out.Addr, out.Count)
	}
	if want := []netip.Addr{mustAddr("192.168.1.50")}; !slices.Equal(out.InternalSources, want) {
		t.Errorf("InternalSources = %v, want %v", out.InternalSources, want)
	}
	if want := []netip.Addr{mustAddr("198.51.100.1")}; !slices.Equal(out.NATSources, want) {
		t.Errorf("NATSources = %v, want %v", out.NATSources, want)
	}

	wantPorts := []source.PortCount{
		{Port: 22, Protocol: "tcp", Count: 1},
		{Port: 23, Protocol: "tcp", Count: 1},
		{Port: 443, Protocol: "tcp", Count: 1},
		{Port: 3389, Protocol: "tcp", Count: 1},
		{Port: 5060, Protocol: "udp", Count: 1},
	}
	if !slices.Equal(obs.Ports, wantPorts) {
		t.Errorf("Ports = %v, want %v", obs.Ports, wantPorts)
	}
	if want := []string{"igb0", "igb1"}; !slices.Equal(obs.Interfaces, want) {
		t.Errorf("Interfaces = %v, want %v", obs.Interfaces, want)
	}
	if want := map[string]uint64{OutcomeParsed: 8, filterlog.ReasonNotFilterlog: 1}; !maps.Equal(obs.Lines, want) {
		t.Errorf("Lines = %v, want %v", obs.Lines, want)
	}
}

func TestObserveUntil(t *testing.T) {
	tests := []struct {
		name  string
		until time.Time
		want  []source.AddrCount
	}{
		{
			name:  "at the newest line",
			until: newest,
			want:  []source.AddrCount{{Addr: mustAddr("192.0.2.10"), Count: 4}, {Addr: mustAddr("203.0.113.7"), Count: 1}, {Addr: mustAddr("2001:db8:bad::1"), Count: 1}},
		},
		{
			// Lines after until are not counted, and do not age out the
			// earlier ones.
			name:  "before later lines",
			until: time.Date(2025, 3, 14, 11, 52, 30, 0, time.UTC),
			want:  []source.AddrCount{{Addr: mustAddr("192.0.2.10"), Count: 2}, {Addr: mustAddr("203.0.113.7"), Count: 1}},
		},
		{
			name:  "event exactly at the start is excluded",
			until: time.Date(2025, 3, 14, 12, 51, 0, 0, time.UTC),
			want:  []source.AddrCount{{Addr: mustAddr("192.0.2.10"), Count: 2}, {Addr: mustAddr("203.0.113.7"), Count: 1}, {Addr: mustAddr("2001:db8:bad::1"), Count: 1}},
		},
		{
			name:  "event one second before the start is excluded",
			until: time.Date(2025, 3, 14, 12, 51, 1, 0, time.UTC),
			want:  []source.AddrCount{{Addr: mustAddr("192.0.2.10"), Count: 2}, {Addr: mustAddr("203.0.113.7"), Count: 1}, {Addr: mustAddr("2001:db8:bad::1"), Count: 1}},
		},
		{
			name:  "event one second after the start is included",
			until: time.Date(2025, 3, 14, 12, 50, 59, 0, time.UTC),
			want:  []source.AddrCount{{Addr: mustAddr("192.0.2.10"), Count: 3}, {Addr: mustAddr("203.0.113.7"), Count: 1}, {Addr: mustAddr("2001:db8:bad::1"), Count: 1}},
		},
		{
			name:  "hours before the first line",
			until: time.Date(2025, 3, 14, 6, 0, 0, 0, time.UTC),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs, err := observe(t, Options{Paths: []string{"testdata/old.log", "testdata/small.log"}}, tt.until)
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if !slices.Equal(obs.Blocked, tt.want) {
				t.Errorf("Blocked = %v, want %v", obs.Blocked, tt.want)
			}
			if !obs.End.Equal(tt.until) || !obs.Start.Equal(tt.until.Add(-time.Hour)) {
				t.Errorf("window = %v – %v, want exactly the hour before %v", obs.Start, obs.End, tt.until)
			}
			if got := obs.Lines[OutcomeParsed]; got != 10 {
				t.Errorf("Lines[parsed] = %d, want 10: every line is counted, in the window or not", got)
			}
		})
	}
}

func TestObserveGlobAndDuplicates(t *testing.T) {
	obs, err := observe(t, Options{Paths: []string{"testdata/small.log", "testdata/*.log", "./testdata/old.log"}}, newest)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	// small.log once, old.log once, empty.log adds nothing.
	if got := obs.Lines[OutcomeParsed]; got != 10 {
		t.Errorf("Lines[parsed] = %d, want 10 with each file read once", got)
	}
}

func TestObserveUntimedLines(t *testing.T) {
	obs, err := observe(t, Options{Paths: []string{"testdata/bare.csv"}}, time.Time{})
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	want := []source.AddrCount{{Addr: mustAddr("192.0.2.77"), Count: 2}}
	if !slices.Equal(obs.Blocked, want) {
		t.Errorf("Blocked = %v, want %v", obs.Blocked, want)
	}
	if !obs.End.IsZero() {
		t.Errorf("End = %v, want zero for input without timestamps", obs.End)
	}
}

func TestObserveGzipByMagic(t *testing.T) {
	small := readTestdata(t, "small.log")
	tests := []struct {
		name string
		file string
		data []byte
	}{
		{"gzip with gz suffix", "filter.log.gz", gzipBytes(t, small)},
		{"gzip without suffix", "filter.log.1", gzipBytes(t, small)},
		{"plain with gz suffix", "filter.log.gz", small},
		{"concatenated gzip members", "filter.log.gz", append(gzipBytes(t, small[:len(small)/2]), gzipBytes(t, small[len(small)/2:])...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.data)
			obs, err := observe(t, Options{Paths: []string{path}}, time.Time{})
			if err != nil {
				t.Fatalf("Observe: %v", err)
			}
			if got := obs.Lines[OutcomeParsed]; got != 8 {
				t.Errorf("Lines[parsed] = %d, want 8", got)
			}
			if len(obs.Blocked) != 3 {
				t.Errorf("Blocked = %v, want 3 sources", obs.Blocked)
			}
		})
	}
}

func TestObserveStdin(t *testing.T) {
	opts := Options{Paths: []string{Stdin}, Stdin: bytes.NewReader(readTestdata(t, "small.log"))}
	obs, err := observe(t, opts, time.Time{})
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	if got := obs.Lines[OutcomeParsed]; got != 8 {
		t.Errorf("Lines[parsed] = %d, want 8", got)
	}
}

// corruptGzip returns a gzip stream of many lines with the compressed data
// damaged or cut in its second half.
func corruptGzip(t *testing.T, truncate bool) []byte {
	t.Helper()
	small := readTestdata(t, "small.log")
	data := gzipBytes(t, bytes.Repeat(small, 2000))
	if truncate {
		return data[:len(data)*3/4]
	}
	damaged := slices.Clone(data)
	for i := len(damaged) * 3 / 4; i < len(damaged)*3/4+64; i++ {
		damaged[i] ^= 0x5a
	}
	return damaged
}

func TestObserveBadInputs(t *testing.T) {
	dir := t.TempDir()
	longLine := append(bytes.Repeat([]byte("A"), 1<<20), '\n')
	small := readTestdata(t, "small.log")

	tests := []struct {
		name        string
		path        string // the bad input, read together with small.log
		wantErr     []string
		wantIs      error
		wantLines   map[string]uint64 // lines of the bad input alone
		wantAtLeast uint64            // for corrupt input: at least this many lines parsed before the damage
	}{
		{
			name:    "missing file",
			path:    filepath.Join(dir, "nope.log"),
			wantErr: []string{filepath.Join(dir, "nope.log"), "no such file"},
			wantIs:  fs.ErrNotExist,
		},
		{
			name:    "directory",
			path:    dir,
			wantErr: []string{dir, "is a directory; pass log files or a glob"},
			wantIs:  ErrIsDirectory,
		},
		{
			name:    "glob matching nothing",
			path:    filepath.Join(dir, "*.nomatch"),
			wantErr: []string{filepath.Join(dir, "*.nomatch"), "matches no files"},
			wantIs:  ErrNoMatch,
		},
		{
			name:    "invalid glob",
			path:    filepath.Join(dir, "[.log"),
			wantErr: []string{"invalid glob pattern", "[.log"},
			wantIs:  filepath.ErrBadPattern,
		},
		{
			name:        "corrupt gzip",
			path:        writeFile(t, "corrupt.log.gz", corruptGzip(t, false)),
			wantErr:     []string{"corrupt.log.gz", "gzip data is corrupt"},
			wantIs:      ErrCorruptGzip,
			wantAtLeast: 1000,
		},
		{
			name:        "truncated gzip",
			path:        writeFile(t, "truncated.log.gz", corruptGzip(t, true)),
			wantErr:     []string{"truncated.log.gz", "gzip data is corrupt or truncated"},
			wantIs:      ErrCorruptGzip,
			wantAtLeast: 1000,
		},
		{
			name:        "gzip magic then garbage",
			path:        writeFile(t, "fake.gz", []byte("\x1f\x8bnot really gzip\n")),
			wantErr:     []string{"fake.gz", "gzip data is corrupt"},
			wantIs:      ErrCorruptGzip,
			wantAtLeast: 0,
		},
		{
			name:      "empty file",
			path:      writeFile(t, "empty.log", nil),
			wantLines: map[string]uint64{},
		},
		{
			name:      "binary garbage",
			path:      "testdata/garbage.bin",
			wantLines: map[string]uint64{filterlog.ReasonNotFilterlog: 3},
		},
		{
			name:      "1 MiB line",
			path:      writeFile(t, "long.log", slices.Concat(small[:bytes.IndexByte(small, '\n')+1], longLine, small[:bytes.IndexByte(small, '\n')+1])),
			wantLines: map[string]uint64{OutcomeParsed: 2, filterlog.ReasonTooLong: 1},
		},
		{
			name:      "1 MiB last line without newline",
			path:      writeFile(t, "longlast.log", slices.Concat(small[:bytes.IndexByte(small, '\n')+1], longLine[:len(longLine)-1])),
			wantLines: map[string]uint64{OutcomeParsed: 1, filterlog.ReasonTooLong: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs, err := observe(t, Options{Paths: []string{tt.path, "testdata/small.log"}}, time.Time{})

			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Observe: %v, want no error", err)
				}
				got := maps.Clone(obs.Lines)
				got[OutcomeParsed] -= 8
				got[filterlog.ReasonNotFilterlog]--
				maps.DeleteFunc(got, func(_ string, n uint64) bool { return n == 0 })
				if !maps.Equal(got, tt.wantLines) {
					t.Errorf("Lines of the bad input = %v, want %v", got, tt.wantLines)
				}
				return
			}

			var readErr *ReadError
			if !errors.As(err, &readErr) {
				t.Fatalf("Observe error = %v (%T), want a *ReadError", err, err)
			}
			if readErr.Read != 1 || len(readErr.Failures) != 1 {
				t.Errorf("Read = %d, Failures = %d, want 1 and 1", readErr.Read, len(readErr.Failures))
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if got := obs.Lines[OutcomeParsed]; got < 8+tt.wantAtLeast {
				t.Errorf("Lines[parsed] = %d, want at least %d from the other file and the lines before the damage", got, 8+tt.wantAtLeast)
			}
			if len(obs.Blocked) == 0 {
				t.Error("Blocked is empty, want the other file's sources")
			}
		})
	}
}

func TestObserveNothingReadable(t *testing.T) {
	dir := t.TempDir()
	_, err := observe(t, Options{Paths: []string{filepath.Join(dir, "a.log"), filepath.Join(dir, "b*.log")}}, time.Time{})
	var readErr *ReadError
	if !errors.As(err, &readErr) {
		t.Fatalf("Observe error = %v, want a *ReadError", err)
	}
	if readErr.Read != 0 || len(readErr.Failures) != 2 {
		t.Errorf("Read = %d, Failures = %d, want 0 and 2", readErr.Read, len(readErr.Failures))
	}
	if want := "2 of 2 log inputs failed"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error = %q, want it to start with %q", err, want)
	}
}

func TestObserveCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	s := newSource(t, Options{Paths: []string{"testdata/small.log"}})
	_, err := s.Observe(ctx, time.Time{}, time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Observe error = %v, want context.Canceled", err)
	}
	var readErr *ReadError
	if errors.As(err, &readErr) {
		t.Errorf("Observe error is a *ReadError, want cancellation to stop the whole read")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no paths", Options{}, "no log file given"},
		{"negative line length", Options{Paths: []string{"x"}, MaxLineLength: -1}, "invalid maximum line length -1"},
		{"bad window settings", Options{Paths: []string{"x"}}, "invalid top blocked -3"},
	}
	tests[2].opts.Window.TopBlocked = -3
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestObserveInvalidLookback(t *testing.T) {
	s := newSource(t, Options{Paths: []string{"testdata/small.log"}})
	_, err := s.Observe(t.Context(), time.Time{}, 0)
	if err == nil || !strings.Contains(err.Error(), "invalid lookback 0s") {
		t.Errorf("Observe error = %v, want an invalid lookback", err)
	}
}

func TestSourceEach(t *testing.T) {
	s := newSource(t, Options{Paths: []string{"testdata/small.log", "testdata/old.log"}})
	type seen struct {
		path    string
		number  int
		outcome string
	}
	var got []seen
	err := s.Each(t.Context(), func(path string, line Line) error {
		got = append(got, seen{path, line.Number, line.Outcome()})
		if line.Outcome() == OutcomeParsed && (line.Event == nil || line.Text == nil) {
			t.Errorf("%s:%d parsed without an event or text", path, line.Number)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Each: %v", err)
	}
	if len(got) != 11 {
		t.Fatalf("Each saw %d lines, want 11", len(got))
	}
	if want := (seen{"testdata/small.log", 8, filterlog.ReasonNotFilterlog}); got[7] != want {
		t.Errorf("line 8 = %+v, want %+v", got[7], want)
	}
	if want := (seen{"testdata/old.log", 1, OutcomeParsed}); got[9] != want {
		t.Errorf("line 10 = %+v, want %+v (numbers restart per file)", got[9], want)
	}
}

func TestSourceEachStopsOnCallbackError(t *testing.T) {
	stop := errors.New("stop")
	s := newSource(t, Options{Paths: []string{"testdata/small.log", "testdata/old.log"}})
	calls := 0
	err := s.Each(t.Context(), func(string, Line) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Each error = %v, want the callback's error", err)
	}
	if calls != 3 {
		t.Errorf("callback ran %d times, want 3", calls)
	}
}

func TestEachLineEndings(t *testing.T) {
	first := readTestdata(t, "small.log")
	first = first[:bytes.IndexByte(first, '\n')]
	tests := []struct {
		name  string
		input []byte
		want  []string // outcomes in order
	}{
		{"LF", slices.Concat(first, []byte("\n"), first, []byte("\n")), []string{OutcomeParsed, OutcomeParsed}},
		{"CRLF", slices.Concat(first, []byte("\r\n"), first, []byte("\r\n")), []string{OutcomeParsed, OutcomeParsed}},
		{"no final newline", slices.Concat(first, []byte("\n"), first), []string{OutcomeParsed, OutcomeParsed}},
		{"blank line between", slices.Concat(first, []byte("\n\n"), first), []string{OutcomeParsed, filterlog.ReasonNotFilterlog, OutcomeParsed}},
		{"empty input", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			err := Each(t.Context(), bytes.NewReader(tt.input), filterlog.NewParser(filterlog.Options{}), func(l Line) error {
				got = append(got, l.Outcome())
				return nil
			})
			if err != nil {
				t.Fatalf("Each: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("outcomes = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEachLineLengthLimit(t *testing.T) {
	const limit = 100
	tests := []struct {
		name    string
		length  int
		tooLong bool
	}{
		{"at the limit", limit, false},
		{"one byte over", limit + 1, true},
		{"far over", 10 * limit, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			input := slices.Concat(bytes.Repeat([]byte("x"), tt.length), []byte("\r\nnext\n"))
			var lines []Line
			err := eachLine(t.Context(), bytes.NewReader(input), filterlog.NewParser(filterlog.Options{}), limit, func(l Line) error {
				l.Text = slices.Clone(l.Text)
				lines = append(lines, l)
				return nil
			})
			if err != nil {
				t.Fatalf("eachLine: %v", err)
			}
			if len(lines) != 2 {
				t.Fatalf("got %d lines, want 2", len(lines))
			}
			if got := lines[0].Outcome() == filterlog.ReasonTooLong; got != tt.tooLong {
				t.Errorf("first line too long = %v, want %v", got, tt.tooLong)
			}
			if string(lines[1].Text) != "next" || lines[1].Number != 2 {
				t.Errorf("second line = %d %q, want 2 \"next\"", lines[1].Number, lines[1].Text)
			}
		})
	}
}

func FuzzEach(f *testing.F) {
	f.Add(readTestdata(f, "small.log"))
	f.Add(readTestdata(f, "garbage.bin"))
	f.Add([]byte("a\r\n\nb"))
	f.Add([]byte("\x1f\x8b\x08\x00"))
	f.Fuzz(func(t *testing.T, input []byte) {
		const limit = 64
		parser := filterlog.NewParser(filterlog.Options{Location: time.UTC, Now: func() time.Time { return newest }})
		lines := 0
		err := eachLine(t.Context(), bytes.NewReader(input), parser, limit, func(l Line) error {
			lines++
			if l.Number != lines {
				t.Fatalf("line number %d, want %d", l.Number, lines)
			}
			if bytes.IndexByte(l.Text, '\n') >= 0 || len(l.Text) > limit {
				t.Fatalf("line %d text %q contains a newline or exceeds %d bytes", l.Number, l.Text, limit)
			}
			if (l.Event == nil) == (l.Err == nil) {
				t.Fatalf("line %d: event %v and error %v, want exactly one", l.Number, l.Event, l.Err)
			}
			return nil
		})
		if bytes.HasPrefix(input, gzipMagic) {
			return // a gzip stream may be corrupt; the error path is tested above
		}
		if err != nil {
			t.Fatalf("eachLine on plain input: %v", err)
		}
		want := bytes.Count(input, []byte{'\n'})
		if len(input) > 0 && input[len(input)-1] != '\n' {
			want++
		}
		if lines != want {
			t.Errorf("got %d lines, want %d", lines, want)
		}
	})
}

// TestObserveMatchesDirectAggregation checks that Observe, which adds events
// on a second goroutine in batches, counts exactly what adding every parsed
// event in order to a window does.
func TestObserveMatchesDirectAggregation(t *testing.T) {
	var buf bytes.Buffer
	const lines = 3*batchSize + 17
	if err := filelogtest.Generate(&buf, filelogtest.Options{Lines: lines, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	path := writeFile(t, "generated.log", buf.Bytes())

	got, err := observe(t, Options{Paths: []string{path}}, time.Time{})
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}

	w, err := window.New(window.Config{MaxLookback: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	parser := filterlog.NewParser(filterlog.Options{Location: time.UTC})
	err = Each(t.Context(), bytes.NewReader(buf.Bytes()), parser, func(l Line) error {
		if l.Event != nil {
			w.Add(l.Event)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := w.Snapshot(time.Time{}, time.Hour)
	want.Lines = map[string]uint64{OutcomeParsed: lines}

	if !reflect.DeepEqual(got, want) {
		t.Errorf("Observe = %+v\nwant %+v", got, want)
	}
	if len(got.Blocked) == 0 || len(got.Outbound) == 0 || len(got.Outbound[0].InternalSources) == 0 {
		t.Errorf("Observe found Blocked %d, Outbound %d: want both, with internal sources", len(got.Blocked), len(got.Outbound))
	}
}
