package filterlog

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

func TestParseHeader(t *testing.T) {
	const body = "5,,,1000000103,igb0,match,block,in,4"
	tests := []struct {
		name     string
		line     string
		format   HeaderFormat
		priority int
		time     time.Time
		host     string
		app      string
		procID   string
		message  string
		relayed  bool
	}{
		{
			name: "bsd without host", line: "Jan 22 18:34:00 filterlog: " + body,
			format: HeaderBSD, priority: -1, time: time.Date(2025, 1, 22, 18, 34, 0, 0, utc),
			app: "filterlog", message: body,
		},
		{
			name: "bsd with priority host and pid", line: "<134>Jan  5 10:20:30 fw.example.net filterlog[12345]: " + body,
			format: HeaderBSD, priority: 134, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			host: "fw.example.net", app: "filterlog", procID: "12345", message: body,
		},
		{
			name: "bsd unpadded day", line: "<134>Jan 1 02:21:38 fw filterlog[97530]: " + body,
			format: HeaderBSD, priority: 134, time: time.Date(2025, 1, 1, 2, 21, 38, 0, utc),
			host: "fw", app: "filterlog", procID: "97530", message: body,
		},
		{
			name: "bsd zero padded day", line: "Jan 01 02:21:38 fw filterlog: " + body,
			format: HeaderBSD, priority: -1, time: time.Date(2025, 1, 1, 2, 21, 38, 0, utc),
			host: "fw", app: "filterlog", message: body,
		},
		{
			name: "bsd pid without colon", line: "Sep  9 22:34:20 fw filterlog[66047] " + body,
			format: HeaderBSD, priority: -1, time: time.Date(2024, 9, 9, 22, 34, 20, 0, utc),
			host: "fw", app: "filterlog", procID: "66047", message: body,
		},
		{
			name: "bsd pid without colon or host", line: "Sep  9 22:34:20 filterlog[66047] " + body,
			format: HeaderBSD, priority: -1, time: time.Date(2024, 9, 9, 22, 34, 20, 0, utc),
			app: "filterlog", procID: "66047", message: body,
		},
		{
			name: "bsd priority zero", line: "<0>Jan  5 10:20:30 kernel: boot",
			format: HeaderBSD, priority: 0, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			app: "kernel", message: "boot",
		},
		{
			name: "bsd other program", line: "<190>Dec 31 22:06:16 fw dhcpd[40152]: DHCPDISCOVER from 00:00:5e:00:53:01",
			format: HeaderBSD, priority: 190, time: time.Date(2024, 12, 31, 22, 6, 16, 0, utc),
			host: "fw", app: "dhcpd", procID: "40152", message: "DHCPDISCOVER from 00:00:5e:00:53:01",
		},
		{
			name: "bsd without tag", line: "Jan  5 10:20:30 fw last message repeated 3 times",
			format: HeaderBSD, priority: -1, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			host: "fw", message: "last message repeated 3 times",
		},
		{
			name: "bsd csv right after timestamp", line: "Jan  5 10:20:30 " + body,
			format: HeaderBSD, priority: -1, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			message: body,
		},
		{
			name: "bsd ends after tag", line: "Jan  5 10:20:30 fw filterlog:",
			format: HeaderBSD, priority: -1, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			host: "fw", app: "filterlog",
		},
		{
			name: "rfc5424 nil structured data", line: "<134>1 2025-11-06T11:32:42.868451+00:00 fw.example.net filterlog 92653 - - " + body,
			format: HeaderRFC5424, priority: 134, time: time.Date(2025, 11, 6, 11, 32, 42, 868451000, utc),
			host: "fw.example.net", app: "filterlog", procID: "92653", message: body,
		},
		{
			name: "rfc5424 structured data", line: `<134>1 2023-05-14T21:52:42+02:00 fw filterlog 55728 - [meta sequenceId="9973"] ` + body,
			format: HeaderRFC5424, priority: 134, time: time.Date(2023, 5, 14, 19, 52, 42, 0, utc),
			host: "fw", app: "filterlog", procID: "55728", message: body,
		},
		{
			name: "rfc5424 escaped structured data", line: `<134>1 2023-05-14T21:52:42Z fw filterlog 1 ID47 [a x="]"][b y="\"]\\"] ` + body,
			format: HeaderRFC5424, priority: 134, time: time.Date(2023, 5, 14, 21, 52, 42, 0, utc),
			host: "fw", app: "filterlog", procID: "1", message: body,
		},
		{
			name: "rfc5424 without priority", line: "1 2021-08-04T06:59:07.691848+04:00 fw filterlog 48906 - - " + body,
			format: HeaderRFC5424, priority: -1, time: time.Date(2021, 8, 4, 2, 59, 7, 691848000, utc),
			host: "fw", app: "filterlog", procID: "48906", message: body,
		},
		{
			name: "rfc5424 nil fields", line: "<134>1 - - - - - - " + body,
			format: HeaderRFC5424, priority: 134, message: body,
		},
		{
			name: "rfc5424 byte order mark", line: "<134>1 2025-01-05T10:20:30Z fw filterlog 1 - - \xef\xbb\xbf" + body,
			format: HeaderRFC5424, priority: 134, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			host: "fw", app: "filterlog", procID: "1", message: body,
		},
		{
			name: "rfc5424 without message", line: "<134>1 2025-01-05T10:20:30Z fw filterlog 1 - -",
			format: HeaderRFC5424, priority: 134, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			host: "fw", app: "filterlog", procID: "1",
		},
		{
			name: "iso export", line: "2025-05-06T14:49:32+00:00 " + body,
			format: HeaderISO, priority: -1, time: time.Date(2025, 5, 6, 14, 49, 32, 0, utc),
			message: body,
		},
		{
			name: "iso local file", line: "2024-12-29T08:20:39.570483+01:00 fw filterlog[61076] " + body,
			format: HeaderISO, priority: -1, time: time.Date(2024, 12, 29, 7, 20, 39, 570483000, utc),
			host: "fw", app: "filterlog", procID: "61076", message: body,
		},
		{
			name: "iso without zone", line: "2024-12-29T08:20:39 fw filterlog: " + body,
			format: HeaderISO, priority: -1, time: time.Date(2024, 12, 29, 8, 20, 39, 0, utc),
			host: "fw", app: "filterlog", message: body,
		},
		{
			name: "no header", line: body,
			format: HeaderNone, priority: -1, message: body,
		},
		{
			name: "relay without host of its own", line: "Jan  5 10:20:31 <134>Jan  5 10:20:30 fw filterlog: " + body,
			format: HeaderBSD, priority: 134, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			host: "fw", app: "filterlog", message: body, relayed: true,
		},
		{
			name: "relay host stands in for a missing one", line: "Jan  5 10:20:31 relay <134>Jan  5 10:20:30 filterlog[1]: " + body,
			format: HeaderBSD, priority: 134, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			host: "relay", app: "filterlog", procID: "1", message: body, relayed: true,
		},
		{
			name: "relay priority stands in for a missing one", line: "<13>Jan  5 10:20:31 relay Jan  5 10:20:30 fw filterlog: " + body,
			format: HeaderBSD, priority: 13, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			host: "fw", app: "filterlog", message: body, relayed: true,
		},
		{
			name: "relay with a tag of its own", line: "Jan  5 10:20:31 relay syslog-ng[9]: <134>Jan  5 10:20:30 fw filterlog: " + body,
			format: HeaderBSD, priority: 134, time: time.Date(2025, 1, 5, 10, 20, 30, 0, utc),
			host: "fw", app: "filterlog", message: body, relayed: true,
		},
		{
			name: "rfc5424 relay around iso line", line: "<134>1 2025-01-05T10:20:31Z relay syslog-ng - - - 2024-12-29T08:20:39+01:00 fw filterlog[7] " + body,
			format: HeaderISO, priority: 134, time: time.Date(2024, 12, 29, 7, 20, 39, 0, utc),
			host: "fw", app: "filterlog", procID: "7", message: body, relayed: true,
		},
		{
			// Two relay headers are removed; a third stays in the message.
			name: "relay depth is bounded", line: "Jan  1 00:00:03 r1 Jan  1 00:00:02 r2 Jan  1 00:00:01 r3 Jan  1 00:00:00 fw filterlog: " + body,
			format: HeaderBSD, priority: -1, time: time.Date(2025, 1, 1, 0, 0, 1, 0, utc),
			host: "r3", message: "Jan  1 00:00:00 fw filterlog: " + body, relayed: true,
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := []byte(tt.line)
			h, err := ParseHeader(line, time.UTC, testNow)
			if err != nil {
				t.Fatalf("ParseHeader(%q) = %v, want nil", tt.line, err)
			}
			if h.Format != tt.format {
				t.Errorf("Format = %v, want %v", h.Format, tt.format)
			}
			if h.Priority != tt.priority {
				t.Errorf("Priority = %d, want %d", h.Priority, tt.priority)
			}
			if !h.Time.Equal(tt.time) {
				t.Errorf("Time = %v, want %v", h.Time, tt.time)
			}
			if string(h.Host) != tt.host {
				t.Errorf("Host = %q, want %q", h.Host, tt.host)
			}
			if string(h.AppName) != tt.app {
				t.Errorf("AppName = %q, want %q", h.AppName, tt.app)
			}
			if string(h.ProcID) != tt.procID {
				t.Errorf("ProcID = %q, want %q", h.ProcID, tt.procID)
			}
			if got := string(line[h.MessageStart:]); got != tt.message {
				t.Errorf("message = %q, want %q", got, tt.message)
			}
			if h.Relayed != tt.relayed {
				t.Errorf("Relayed = %v, want %v", h.Relayed, tt.relayed)
			}
		})
	}
}

func TestParseHeaderErrors(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		reason string
	}{
		{"priority without header", "<134>5,,,0,em0", ReasonBadHeader},
		{"priority then space", "<134> 2025-10-10T00:00:11+02:00 fw filterlog 1 - - x", ReasonBadHeader},
		{"priority over 191", "<192>Jan  5 10:20:30 fw filterlog: x", ReasonBadHeader},
		{"priority of four digits", "<0134>Jan  5 10:20:30 fw filterlog: x", ReasonBadHeader},
		{"priority not closed", "<134Jan  5 10:20:30 fw filterlog: x", ReasonBadHeader},
		{"empty priority", "<>Jan  5 10:20:30 fw filterlog: x", ReasonBadHeader},
		{"version glued to timestamp", "<134>12025-10-10T00:00:00+02:00fw filterlog 1 - - x", ReasonBadHeader},
		{"rfc5424 cut after version", "<134>1 ", ReasonBadHeader},
		{"rfc5424 cut after host", "<134>1 2025-10-10T00:00:00Z fw", ReasonBadHeader},
		{"rfc5424 missing structured data", "<134>1 2025-10-10T00:00:00Z fw filterlog 1 - 68,,,0", ReasonBadHeader},
		{"rfc5424 unclosed structured data", `<134>1 2025-10-10T00:00:00Z fw filterlog 1 - [meta x="1"`, ReasonBadHeader},
		{"rfc5424 unclosed value", `<134>1 2025-10-10T00:00:00Z fw filterlog 1 - [meta x="1] x`, ReasonBadHeader},
		{"rfc5424 no space after structured data", "<134>1 2025-10-10T00:00:00Z fw filterlog 1 - [meta]x", ReasonBadHeader},
		{"rfc5424 app name too long", "<134>1 2025-10-10T00:00:00Z fw a123456789012345678901234567890123456789012345678 1 - - x", ReasonBadHeader},
		{"rfc5424 empty field", "<134>1 2025-10-10T00:00:00Z  filterlog 1 - - x", ReasonBadHeader},
		{"rfc5424 bad timestamp", "<134>1 notatimestamp fw filterlog 1 - - x", ReasonBadTimestamp},
		{"rfc5424 date without time", "<134>1 2025-10-10 00:00:00 fw filterlog 1 - - x", ReasonBadTimestamp},
		{"rfc5424 month 13", "<134>1 2025-13-10T00:00:00Z fw filterlog 1 - - x", ReasonBadTimestamp},
		{"rfc5424 february 29 of a common year", "<134>1 2025-02-29T00:00:00Z fw filterlog 1 - - x", ReasonBadTimestamp},
		{"rfc5424 offset without colon", "<134>1 2025-10-10T00:00:00+0200 fw filterlog 1 - - x", ReasonBadTimestamp},
		{"rfc5424 ten fraction digits", "<134>1 2025-10-10T00:00:00.1234567890Z fw filterlog 1 - - x", ReasonBadTimestamp},
		{"bsd day 32", "Jan 32 10:20:30 fw filterlog: x", ReasonBadTimestamp},
		{"bsd april 31", "Apr 31 10:20:30 fw filterlog: x", ReasonBadTimestamp},
		{"bsd minute 60", "Jan  5 10:60:30 fw filterlog: x", ReasonBadTimestamp},
		{"bsd cut time", "Jan  5 10:20", ReasonBadTimestamp},
		{"bsd fraction", "Jan  5 10:20:30.5 fw filterlog: x", ReasonBadTimestamp},
		{"iso hour 24", "2025-10-10T24:00:00Z fw filterlog: x", ReasonBadTimestamp},
		{"relayed header broken", "Jan  5 10:20:31 relay <134>Jan 45 10:20:30 fw filterlog: x", ReasonBadTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseHeader([]byte(tt.line), time.UTC, testNow)
			var skip *SkipError
			if !errors.As(err, &skip) {
				t.Fatalf("ParseHeader(%q) = %+v, %v; want a *SkipError", tt.line, h, err)
			}
			if skip.Reason != tt.reason {
				t.Errorf("ParseHeader(%q) reason = %q, want %q", tt.line, skip.Reason, tt.reason)
			}
			if !reflect.DeepEqual(h, Header{}) {
				t.Errorf("ParseHeader(%q) returned %+v with its error, want a zero Header", tt.line, h)
			}
		})
	}
}

func TestParseHeaderDefaultLocation(t *testing.T) {
	h, err := ParseHeader([]byte("Jan  5 10:20:30 fw filterlog: x"), nil, testNow)
	if err != nil {
		t.Fatalf("ParseHeader = %v", err)
	}
	if h.Time.Location() != time.Local {
		t.Errorf("Time location = %v, want time.Local", h.Time.Location())
	}
}

func TestParseHeaderAllocations(t *testing.T) {
	lines := [][]byte{
		[]byte("<134>Jan  5 10:20:30 fw.example.net filterlog[12345]: 5,,,"),
		[]byte(`<134>1 2023-05-14T21:52:42.123+02:00 fw filterlog 55728 - [meta sequenceId="9973"] 5,,,`),
		[]byte("2024-12-29T08:20:39.570483-05:30 fw filterlog[61076] 5,,,"),
	}
	for _, line := range lines {
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := ParseHeader(line, time.UTC, testNow); err != nil {
				t.Fatalf("ParseHeader(%q) = %v", line, err)
			}
		})
		if allocs != 0 {
			t.Errorf("ParseHeader(%q) allocates %.0f times, want 0", line, allocs)
		}
	}
}

// TestBSDYear checks the year a BSD timestamp gets: the latest that puts
// the line at most one day after the reader's clock.
func TestBSDYear(t *testing.T) {
	plus10 := time.FixedZone("", 10*3600)
	tests := []struct {
		name  string
		stamp string
		now   time.Time
		loc   *time.Location
		want  time.Time
	}{
		{
			name: "same day", stamp: "Jun 15 11:00:00",
			now: time.Date(2025, 6, 15, 12, 0, 0, 0, utc), loc: utc,
			want: time.Date(2025, 6, 15, 11, 0, 0, 0, utc),
		},
		{
			name: "december line read on new year", stamp: "Dec 31 23:59:59",
			now: time.Date(2026, 1, 1, 0, 0, 10, 0, utc), loc: utc,
			want: time.Date(2025, 12, 31, 23, 59, 59, 0, utc),
		},
		{
			name: "december line read on 2 january", stamp: "Dec 20 08:00:00",
			now: time.Date(2026, 1, 2, 9, 0, 0, 0, utc), loc: utc,
			want: time.Date(2025, 12, 20, 8, 0, 0, 0, utc),
		},
		{
			name: "january line from a clock just ahead on new year's eve", stamp: "Jan  1 00:30:00",
			now: time.Date(2025, 12, 31, 23, 50, 0, 0, utc), loc: utc,
			want: time.Date(2026, 1, 1, 0, 30, 0, 0, utc),
		},
		{
			name: "january line more than a day ahead is this year's", stamp: "Jan  1 12:00:00",
			now: time.Date(2025, 12, 31, 10, 0, 0, 0, utc), loc: utc,
			want: time.Date(2025, 1, 1, 12, 0, 0, 0, utc),
		},
		{
			name: "line 23 hours ahead", stamp: "Jun  5 10:00:00",
			now: time.Date(2025, 6, 4, 11, 0, 0, 0, utc), loc: utc,
			want: time.Date(2025, 6, 5, 10, 0, 0, 0, utc),
		},
		{
			name: "line 25 hours ahead is last year's", stamp: "Jun  5 12:00:00",
			now: time.Date(2025, 6, 4, 11, 0, 0, 0, utc), loc: utc,
			want: time.Date(2024, 6, 5, 12, 0, 0, 0, utc),
		},
		{
			name: "february 29 read in march of a common year", stamp: "Feb 29 10:00:00",
			now: time.Date(2025, 3, 1, 0, 0, 0, 0, utc), loc: utc,
			want: time.Date(2024, 2, 29, 10, 0, 0, 0, utc),
		},
		{
			name: "february 29 within a day", stamp: "Feb 29 00:00:00",
			now: time.Date(2024, 2, 28, 12, 0, 0, 0, utc), loc: utc,
			want: time.Date(2024, 2, 29, 0, 0, 0, 0, utc),
		},
		{
			name: "february 29 two days ahead", stamp: "Feb 29 00:00:00",
			now: time.Date(2024, 2, 27, 0, 0, 0, 0, utc), loc: utc,
			want: time.Date(2020, 2, 29, 0, 0, 0, 0, utc),
		},
		{
			name: "february 29 across a century without leap day", stamp: "Feb 29 00:00:00",
			now: time.Date(2101, 1, 1, 0, 0, 0, 0, utc), loc: utc,
			want: time.Date(2096, 2, 29, 0, 0, 0, 0, utc),
		},
		{
			name: "new year in the reader's zone, not in utc", stamp: "Jan  1 00:30:00",
			now: time.Date(2024, 12, 31, 15, 0, 0, 0, utc), loc: plus10,
			want: time.Date(2025, 1, 1, 0, 30, 0, 0, plus10),
		},
		{
			name: "december line in a zone already in the new year", stamp: "Dec 31 23:00:00",
			now: time.Date(2024, 12, 31, 15, 0, 0, 0, utc), loc: plus10,
			want: time.Date(2024, 12, 31, 23, 0, 0, 0, plus10),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stamp, n, ok, valid := parseBSDStamp([]byte(tt.stamp))
			if !ok || !valid || n != len(tt.stamp) {
				t.Fatalf("parseBSDStamp(%q) = _, %d, %v, %v; want all of it valid", tt.stamp, n, ok, valid)
			}
			got := stamp.resolve(tt.loc, tt.now)
			if !got.Equal(tt.want) {
				t.Errorf("resolve(%q) at %v = %v, want %v", tt.stamp, tt.now, got, tt.want)
			}
			if got.Location() != tt.loc {
				t.Errorf("resolve(%q) location = %v, want %v", tt.stamp, got.Location(), tt.loc)
			}
		})
	}
}

// TestParseISOTime compares parseISOTime with time.Parse on the RFC 3339
// forms both accept, and checks the forms it rejects.
func TestParseISOTime(t *testing.T) {
	valid := []string{
		"2025-11-06T11:32:42.868451+00:00",
		"2021-07-03T19:10:14.578288-05:00",
		"2023-05-14T21:52:42+02:00",
		"2025-01-05T10:20:31Z",
		"2025-01-05T10:20:31.5Z",
		"2025-01-05T10:20:31.123456789Z",
		"2024-02-29T00:00:00+05:45",
		"2000-02-29T23:59:59-14:00",
		"1999-12-31T23:59:59+14:00",
		"2025-01-05T10:20:31+01:07",
	}
	for _, s := range valid {
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("time.Parse(%q) = %v", s, err)
		}
		got, ok := parseISOTime([]byte(s), utc)
		if !ok {
			t.Errorf("parseISOTime(%q) failed, want %v", s, want)
			continue
		}
		if !got.Equal(want) {
			t.Errorf("parseISOTime(%q) = %v, want %v", s, got, want)
		}
		_, gotOffset := got.Zone()
		_, wantOffset := want.Zone()
		if gotOffset != wantOffset {
			t.Errorf("parseISOTime(%q) offset = %d, want %d", s, gotOffset, wantOffset)
		}
	}

	invalid := []string{
		"", "2025-01-05", "2025-01-05T10:20", "2025-01-05 10:20:31Z", "2025/01/05T10:20:31Z",
		"2025-00-05T10:20:31Z", "2025-01-00T10:20:31Z", "2025-02-29T10:20:31Z", "2025-04-31T10:20:31Z",
		"2025-01-05T24:00:00Z", "2025-01-05T10:60:00Z", "2025-01-05T10:20:61Z",
		"2025-01-05T10:20:31.Z", "2025-01-05T10:20:31.1234567890Z", "2025-01-05T10:20:31ZZ",
		"2025-01-05T10:20:31+0100", "2025-01-05T10:20:31+24:00", "2025-01-05T10:20:31+01:60",
		"2025-01-05T10:20:31+01", "2025-01-05T10:20:31 ", "+025-01-05T10:20:31Z", "2025-01-05T1a:20:31Z",
	}
	for _, s := range invalid {
		if got, ok := parseISOTime([]byte(s), utc); ok {
			t.Errorf("parseISOTime(%q) = %v, want failure", s, got)
		}
	}
}

func TestHeaderFormatString(t *testing.T) {
	formats := map[HeaderFormat]string{
		HeaderNone: "none", HeaderBSD: "bsd", HeaderRFC5424: "rfc5424", HeaderISO: "iso", HeaderFormat(99): "none",
	}
	for format, want := range formats {
		if got := format.String(); got != want {
			t.Errorf("HeaderFormat(%d).String() = %q, want %q", format, got, want)
		}
	}
}
