package blocklist

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/scoring"
)

const validMembership = `{"version":1,"updated_at":"2026-03-01T12:00:00Z","entries":[` +
	`{"ip":"203.0.113.10","first_seen":"2026-03-01T11:00:00Z","last_seen":"2026-03-01T12:00:00Z",` +
	`"score":62.5,"level":"high","directions":["in","out"],"reason":"abuse 100, OTX 39 pulses"},` +
	`{"ip":"2001:db8::10","first_seen":"2026-03-01T12:00:00Z","last_seen":"2026-03-01T12:00:00Z",` +
	`"score":90,"level":"critical","directions":["out"],"reason":"feeds spamhaus-drop"}]}`

func TestDecodeMembershipValid(t *testing.T) {
	t.Parallel()
	m, err := decodeMembership([]byte(validMembership))
	if err != nil {
		t.Fatalf("decodeMembership: %v", err)
	}

	if len(m.Entries) != 2 {
		t.Fatalf("decoded %d entries, want 2", len(m.Entries))
	}
	e := m.Entries[0]
	if e.Addr != netip.MustParseAddr("203.0.113.10") {
		t.Errorf("Addr = %s, want 203.0.113.10", e.Addr)
	}
	if want := time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC); !e.FirstSeen.Equal(want) {
		t.Errorf("FirstSeen = %s, want %s", e.FirstSeen, want)
	}
	if len(e.Directions) != 2 || e.Directions[0] != scoring.Inbound || e.Directions[1] != scoring.Outbound {
		t.Errorf("Directions = %v, want [in out]", e.Directions)
	}

	again, err := encodeMembership(m)
	if err != nil {
		t.Fatalf("encodeMembership: %v", err)
	}
	if string(again) != validMembership {
		t.Errorf("encoding the decoded membership changed it:\ngot  %s\nwant %s", again, validMembership)
	}
}

func TestDecodeMembershipNormalizes(t *testing.T) {
	t.Parallel()
	data := `{"version":1,"entries":[{"ip":"::ffff:203.0.113.10","first_seen":"2026-03-01T13:00:00+01:00",` +
		`"last_seen":"2026-03-01T12:00:00Z","score":60,"level":"high","directions":["out","in","out"],"reason":""}]}`

	m, err := decodeMembership([]byte(data))
	if err != nil {
		t.Fatalf("decodeMembership: %v", err)
	}

	e := m.Entries[0]
	if e.Addr != netip.MustParseAddr("203.0.113.10") {
		t.Errorf("Addr = %s, want the unmapped 203.0.113.10", e.Addr)
	}
	if e.FirstSeen.Location() != time.UTC {
		t.Errorf("FirstSeen location = %s, want UTC", e.FirstSeen.Location())
	}
	if len(e.Directions) != 2 || e.Directions[0] != scoring.Inbound {
		t.Errorf("Directions = %v, want [in out]", e.Directions)
	}
}

func TestDecodeMembershipRejects(t *testing.T) {
	t.Parallel()
	entry := func(fields string) string {
		base := map[string]string{
			"ip":         `"203.0.113.10"`,
			"first_seen": `"2026-03-01T11:00:00Z"`,
			"last_seen":  `"2026-03-01T12:00:00Z"`,
			"score":      `60`,
			"level":      `"high"`,
			"directions": `["in"]`,
			"reason":     `"abuse 100"`,
		}
		for _, kv := range strings.Split(fields, ";") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			base[k] = v
		}
		var parts []string
		for _, k := range []string{"ip", "first_seen", "last_seen", "score", "level", "directions", "reason"} {
			if v := base[k]; v != "-" {
				parts = append(parts, `"`+k+`":`+v)
			}
		}
		return `{` + strings.Join(parts, ",") + `}`
	}
	wrap := func(entries ...string) string {
		return `{"version":1,"entries":[` + strings.Join(entries, ",") + `]}`
	}

	tests := []struct {
		name      string
		data      string
		wantNewer bool
		want      string
	}{
		{name: "not JSON", data: "garbage", want: "decoding JSON"},
		{name: "empty object", data: "{}", want: "missing or invalid version 0"},
		{name: "negative version", data: `{"version":-1}`, want: "invalid version -1"},
		{name: "newer version", data: `{"version":2,"entries":[]}`, wantNewer: true, want: "version 2"},
		{name: "updated before year 1", data: `{"version":1,"updated_at":"0000-01-01T00:00:00+01:00"}`, want: "updated_at is outside"},
		{name: "seen before year 1", data: wrap(entry(`first_seen="0000-01-01T00:00:00+01:00"`)), want: "outside the years 1 to 9999"},
		{name: "invalid address", data: wrap(entry(`ip="203.0.113.300"`)), want: "decoding JSON"},
		{name: "missing address", data: wrap(entry(`ip=-`)), want: "missing address"},
		{name: "address with zone", data: wrap(entry(`ip="fe80::1%eth0"`)), want: "has a zone"},
		{name: "duplicate address", data: wrap(entry(""), entry(`ip="::ffff:203.0.113.10"`)), want: "listed twice"},
		{name: "missing first seen", data: wrap(entry(`first_seen=-`)), want: "missing first_seen"},
		{name: "last seen before first", data: wrap(entry(`last_seen="2026-03-01T10:00:00Z"`)), want: "is before first_seen"},
		{name: "negative score", data: wrap(entry(`score=-1`)), want: "outside 0 to 100"},
		{name: "score over 100", data: wrap(entry(`score=100.5`)), want: "outside 0 to 100"},
		{name: "unknown level", data: wrap(entry(`level="severe"`)), want: `unknown level "severe"`},
		{name: "no direction", data: wrap(entry(`directions=[]`)), want: "no direction"},
		{name: "unknown direction", data: wrap(entry(`directions=["up"]`)), want: `unknown direction "up"`},
		{name: "reason with newline", data: wrap(entry(`reason="a\nb"`)), want: "control characters"},
		{name: "reason too long", data: wrap(entry(`reason="` + strings.Repeat("x", 201) + `"`)), want: "longer than 200 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeMembership([]byte(tt.data))

			wantKind := errCorrupt
			if tt.wantNewer {
				wantKind = errNewerVersion
			}
			if !errors.Is(err, wantKind) {
				t.Errorf("error = %v, want one matching %v", err, wantKind)
			}
			if err != nil && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestComparePriority(t *testing.T) {
	t.Parallel()
	at := func(addr string, score float64, seen time.Time) Entry {
		return Entry{Addr: netip.MustParseAddr(addr), Score: score, LastSeen: seen}
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		a, b Entry
	}{
		{"higher score first", at("203.0.113.2", 70, t0), at("203.0.113.1", 60, t0.Add(time.Hour))},
		{"later sighting first on equal score", at("203.0.113.2", 60, t0.Add(time.Hour)), at("203.0.113.1", 60, t0)},
		{"lower address first on full tie", at("203.0.113.1", 60, t0), at("203.0.113.2", 60, t0)},
		{"IPv4 before IPv6 on full tie", at("203.0.113.200", 60, t0), at("2001:db8::1", 60, t0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := comparePriority(tt.a, tt.b); got >= 0 {
				t.Errorf("comparePriority(%s, %s) = %d, want negative", tt.a.Addr, tt.b.Addr, got)
			}
			if got := comparePriority(tt.b, tt.a); got <= 0 {
				t.Errorf("comparePriority(%s, %s) = %d, want positive", tt.b.Addr, tt.a.Addr, got)
			}
		})
	}
}

// FuzzDecodeMembership checks that the decoder never panics and that what
// it accepts encodes to data it accepts again, unchanged.
func FuzzDecodeMembership(f *testing.F) {
	f.Add([]byte(validMembership))
	f.Add([]byte(`{"version":1,"entries":[]}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`{"version":1,"entries":[{"ip":"::ffff:192.0.2.1","first_seen":"2026-03-01T12:00:00+01:00",` +
		`"last_seen":"2026-03-01T12:00:00Z","score":1e2,"level":"none","directions":["out","in"],"reason":"é"}]}`))
	f.Add([]byte(`null`))
	f.Add([]byte(``))

	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeMembership(data)
		if err != nil {
			if !errors.Is(err, errCorrupt) && !errors.Is(err, errNewerVersion) {
				t.Fatalf("error %v matches neither errCorrupt nor errNewerVersion", err)
			}
			return
		}

		first, err := encodeMembership(m)
		if err != nil {
			t.Fatalf("encoding an accepted membership: %v", err)
		}
		again, err := decodeMembership(first)
		if err != nil {
			t.Fatalf("decoding the encoded membership: %v\n%s", err, first)
		}
		second, err := encodeMembership(again)
		if err != nil {
			t.Fatalf("encoding the membership again: %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("encoding is not stable:\nfirst  %s\nsecond %s", first, second)
		}
	})
}
