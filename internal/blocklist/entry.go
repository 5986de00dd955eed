package blocklist

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/threat-intel/threat-intel/internal/scoring"
)

// Entry is one listed address.
type Entry struct {
	// Addr is the address, never IPv4-mapped and without a zone.
	Addr netip.Addr `json:"ip"`
	// FirstSeen is when a report first listed the address in this listing.
	// An address that expired and comes back starts again.
	FirstSeen time.Time `json:"first_seen"`
	// LastSeen is the latest time a report saw the address as a listed bad
	// actor. The entry expires at LastSeen plus the TTL.
	LastSeen time.Time `json:"last_seen"`
	// Score is the composite score, 0 to 100, at the latest sighting.
	Score float64 `json:"score"`
	// Level is the threat level at the latest sighting.
	Level string `json:"level"`
	// Directions are the directions the address was listed for, "in"
	// before "out". The list keeps a direction until the entry expires.
	Directions []scoring.Direction `json:"directions"`
	// Reason names the evidence, such as "abuse 100, OTX 39 pulses".
	Reason string `json:"reason"`
}

// ExpiresAt returns when e leaves the list unless a later report lists it
// again.
func (e Entry) ExpiresAt(ttl time.Duration) time.Time { return e.LastSeen.Add(ttl) }

// levels are the threat levels from lowest to highest.
var levels = []string{
	scoring.LevelNone,
	scoring.LevelLow,
	scoring.LevelMedium,
	scoring.LevelHigh,
	scoring.LevelCritical,
}

func levelRank(level string) (int, bool) {
	i := slices.Index(levels, level)
	return i, i >= 0
}

// membershipVersion is the layout of the stored membership. Raise it when
// a change would make an older release misread the data.
const membershipVersion = 1

// maxReasonBytes caps Entry.Reason, which a report's feed names fill.
const maxReasonBytes = 200

// membership is the stored state: the listed entries and when they were
// last merged from a report.
type membership struct {
	Version   int       `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
	Entries   []Entry   `json:"entries"`
}

// errCorrupt marks stored data that cannot be decoded.
var errCorrupt = errors.New("stored blocklist is corrupt, and the next update replaces it")

// errNewerVersion marks data written by a newer release.
var errNewerVersion = errors.New("stored blocklist was written by a newer release")

// encodeMembership returns m as JSON with the version set and the entries
// sorted by address, so equal memberships encode to equal bytes.
func encodeMembership(m membership) ([]byte, error) {
	m.Version = membershipVersion
	if m.Entries == nil {
		m.Entries = []Entry{}
	}
	m.Entries = slices.Clone(m.Entries)
	slices.SortFunc(m.Entries, func(a, b Entry) int { return a.Addr.Compare(b.Addr) })
	return json.Marshal(m)
}

// decodeMembership parses stored data and checks every entry. Addresses are
// unmapped and directions sorted, so a decoded membership encodes the same
// way again. Errors match errCorrupt, or errNewerVersion for a version this
// release does not know.
func decodeMembership(data []byte) (membership, error) {
	var m membership
	if err := json.Unmarshal(data, &m); err != nil {
		return membership{}, fmt.Errorf("%w: decoding JSON: %v", errCorrupt, err)
	}
	switch {
	case m.Version > membershipVersion:
		return membership{}, fmt.Errorf("%w: version %d, this release reads version %d: upgrade every replica",
			errNewerVersion, m.Version, membershipVersion)
	case m.Version < 1:
		return membership{}, fmt.Errorf("%w: missing or invalid version %d", errCorrupt, m.Version)
	}

	m.UpdatedAt = m.UpdatedAt.UTC()
	if y := m.UpdatedAt.Year(); y < 1 || y > 9999 {
		return membership{}, fmt.Errorf("%w: updated_at is outside the years 1 to 9999", errCorrupt)
	}

	seen := make(map[netip.Addr]bool, len(m.Entries))
	for i := range m.Entries {
		e := &m.Entries[i]
		if err := normalizeEntry(e); err != nil {
			return membership{}, fmt.Errorf("%w: entry %d: %v", errCorrupt, i, err)
		}
		if seen[e.Addr] {
			return membership{}, fmt.Errorf("%w: entry %d: address %s is listed twice", errCorrupt, i, e.Addr)
		}
		seen[e.Addr] = true
	}
	if m.Entries == nil {
		m.Entries = []Entry{}
	}
	return m, nil
}

// normalizeEntry checks a decoded entry and puts it in canonical form.
func normalizeEntry(e *Entry) error {
	if !e.Addr.IsValid() {
		return errors.New("missing address")
	}
	if e.Addr.Zone() != "" {
		return fmt.Errorf("address %s has a zone", e.Addr)
	}
	e.Addr = e.Addr.Unmap()

	if e.FirstSeen.IsZero() || e.LastSeen.IsZero() {
		return fmt.Errorf("address %s: missing first_seen or last_seen", e.Addr)
	}
	if e.LastSeen.Before(e.FirstSeen) {
		return fmt.Errorf("address %s: last_seen %s is before first_seen %s",
			e.Addr, e.LastSeen.Format(time.RFC3339), e.FirstSeen.Format(time.RFC3339))
	}
	e.FirstSeen = e.FirstSeen.UTC()
	e.LastSeen = e.LastSeen.UTC()
	// time.Time encodes to JSON only for the years 0 to 9999, and a zone
	// offset can move a decoded time outside them.
	if e.FirstSeen.Year() < 1 || e.LastSeen.Year() > 9999 {
		return fmt.Errorf("address %s: first_seen or last_seen is outside the years 1 to 9999", e.Addr)
	}

	if math.IsNaN(e.Score) || e.Score < 0 || e.Score > 100 {
		return fmt.Errorf("address %s: score %v is outside 0 to 100", e.Addr, e.Score)
	}
	if _, ok := levelRank(e.Level); !ok {
		return fmt.Errorf("address %s: unknown level %q", e.Addr, e.Level)
	}

	dirs, err := normalizeDirections(e.Directions)
	if err != nil {
		return fmt.Errorf("address %s: %v", e.Addr, err)
	}
	e.Directions = dirs

	if len(e.Reason) > maxReasonBytes || !utf8.ValidString(e.Reason) || hasControl(e.Reason) {
		return fmt.Errorf("address %s: reason is longer than %d bytes, not UTF-8 or has control characters", e.Addr, maxReasonBytes)
	}
	return nil
}

// normalizeDirections returns dirs without duplicates, "in" before "out".
// It rejects an empty list and unknown directions.
func normalizeDirections(dirs []scoring.Direction) ([]scoring.Direction, error) {
	var in, out bool
	for _, d := range dirs {
		switch d {
		case scoring.Inbound:
			in = true
		case scoring.Outbound:
			out = true
		default:
			return nil, fmt.Errorf("unknown direction %q", d)
		}
	}
	var res []scoring.Direction
	if in {
		res = append(res, scoring.Inbound)
	}
	if out {
		res = append(res, scoring.Outbound)
	}
	if len(res) == 0 {
		return nil, errors.New("no direction")
	}
	return res, nil
}

func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return true
		}
	}
	return false
}
