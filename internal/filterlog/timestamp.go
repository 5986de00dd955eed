package filterlog

import (
	"time"
)

// bsdStamp is an RFC 3164 timestamp ("Jan  2 15:04:05"), which has neither
// a year nor a zone until resolve supplies them.
type bsdStamp struct {
	month  time.Month
	day    int
	hour   int
	minute int
	second int
}

// maxFutureSkew is how far after the reader's clock a BSD line may be dated
// before its year is taken as the previous one. A firewall clock a little
// ahead of the reader's, or a line read just after New Year, stays in the
// right year.
const maxFutureSkew = 24 * time.Hour

var monthNames = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseBSDStamp parses "Mmm dd hh:mm:ss" at the start of b, with the day
// space-padded ("Jan  1"), unpadded ("Jan 1") or zero-padded ("Jan 01").
// It returns the number of bytes read. ok is false when b does not start
// with a month name and a day. valid is false when it does, but the date or
// time is out of range.
func parseBSDStamp(b []byte) (s bsdStamp, n int, ok, valid bool) {
	if len(b) < 4 || b[3] != ' ' {
		return s, 0, false, false
	}
	month := 0
	for i, name := range monthNames {
		if b[0] == name[0] && b[1] == name[1] && b[2] == name[2] {
			month = i + 1
			break
		}
	}
	if month == 0 {
		return s, 0, false, false
	}
	s.month = time.Month(month)

	// The day: " 1", "1", "01" or "31", then one space.
	i := 4
	if i < len(b) && b[i] == ' ' {
		i++
	}
	dayStart := i
	for i < len(b) && i-dayStart < 2 && isDigit(b[i]) {
		s.day = s.day*10 + int(b[i]-'0')
		i++
	}
	if i == dayStart {
		return s, 0, false, false
	}
	if i >= len(b) || b[i] != ' ' {
		return s, 0, true, false
	}
	i++

	// The time: exactly "hh:mm:ss".
	if len(b)-i < 8 || b[i+2] != ':' || b[i+5] != ':' {
		return s, 0, true, false
	}
	var okH, okM, okS bool
	s.hour, okH = twoDigits(b[i:])
	s.minute, okM = twoDigits(b[i+3:])
	s.second, okS = twoDigits(b[i+6:])
	if !okH || !okM || !okS {
		return s, 0, true, false
	}
	i += 8

	// February 29 is checked against a leap year, and resolve picks one.
	if s.day < 1 || s.day > daysIn(s.month, 2000) || s.hour > 23 || s.minute > 59 || s.second > 60 {
		return s, 0, true, false
	}
	return s, i, true, true
}

// resolve places s in loc, in the latest year that dates it at most
// maxFutureSkew after now. A December line read on 2 January is therefore
// last year's, a January line read on 31 December at most a day early is
// next year's, and February 29 always lands in a leap year.
func (s bsdStamp) resolve(loc *time.Location, now time.Time) time.Time {
	nowLocal := now.In(loc)
	limit := now.Add(maxFutureSkew)

	year := nowLocal.Year()
	if s.month == time.January && nowLocal.Month() == time.December {
		year++
	}

	// Leap years are at most eight years apart (2096 and 2104), so the loop
	// always ends with a match well before its bound.
	for last := year - 9; year > last; year-- {
		if s.month == time.February && s.day == 29 && daysIn(time.February, year) != 29 {
			continue
		}
		t := time.Date(year, s.month, s.day, s.hour, s.minute, s.second, 0, loc)
		if !t.After(limit) {
			return t
		}
	}
	return time.Time{}
}

// parseISOTime parses an RFC 3339 timestamp that fills all of b:
// "2006-01-02T15:04:05", an optional fraction of up to 9 digits, then "Z",
// "±hh:mm" or nothing. A timestamp with no zone is read in loc.
func parseISOTime(b []byte, loc *time.Location) (time.Time, bool) {
	if len(b) < 19 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	hi, ok1 := twoDigits(b[0:])
	lo, ok2 := twoDigits(b[2:])
	month, ok3 := twoDigits(b[5:])
	day, ok4 := twoDigits(b[8:])
	hour, ok5 := twoDigits(b[11:])
	minute, ok6 := twoDigits(b[14:])
	second, ok7 := twoDigits(b[17:])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 {
		return time.Time{}, false
	}
	year := hi*100 + lo
	if month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) ||
		hour > 23 || minute > 59 || second > 60 {
		return time.Time{}, false
	}
	i := 19

	// Fraction of a second, scaled to nanoseconds.
	nanos := 0
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && isDigit(b[i]) {
			if i-start >= 9 {
				return time.Time{}, false
			}
			nanos = nanos*10 + int(b[i]-'0')
			i++
		}
		if i == start {
			return time.Time{}, false
		}
		for k := i - start; k < 9; k++ {
			nanos *= 10
		}
	}

	// Zone.
	zone := loc
	switch {
	case i == len(b):
	case len(b)-i == 1 && (b[i] == 'Z' || b[i] == 'z'):
		zone = time.UTC
	case len(b)-i == 6 && (b[i] == '+' || b[i] == '-') && b[i+3] == ':':
		offHour, okH := twoDigits(b[i+1:])
		offMinute, okM := twoDigits(b[i+4:])
		if !okH || !okM || offHour > 23 || offMinute > 59 {
			return time.Time{}, false
		}
		offset := offHour*3600 + offMinute*60
		if b[i] == '-' {
			offset = -offset
		}
		zone = fixedZone(offset)
	default:
		return time.Time{}, false
	}

	return time.Date(year, time.Month(month), day, hour, minute, second, nanos, zone), true
}

// fixedZones holds a Location for every UTC offset on a quarter hour from
// -14:00 to +14:00, which covers every zone in use, so that parsing an
// offset does not allocate a new Location per line.
var fixedZones = func() [113]*time.Location {
	var zones [113]*time.Location
	for i := range zones {
		offset := (i*15 - 14*60) * 60
		if offset == 0 {
			zones[i] = time.UTC
			continue
		}
		zones[i] = time.FixedZone("", offset)
	}
	return zones
}()

// fixedZone returns a Location for a UTC offset in seconds. Offsets off the
// quarter hour or beyond ±14:00 get a new Location each time.
func fixedZone(offset int) *time.Location {
	if offset%(15*60) == 0 && offset >= -14*3600 && offset <= 14*3600 {
		return fixedZones[(offset+14*3600)/(15*60)]
	}
	return time.FixedZone("", offset)
}

// daysIn returns the number of days of month in year.
func daysIn(month time.Month, year int) int {
	switch month {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

func twoDigits(b []byte) (int, bool) {
	if len(b) < 2 || !isDigit(b[0]) || !isDigit(b[1]) {
		return 0, false
	}
	return int(b[0]-'0')*10 + int(b[1]-'0'), true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }
