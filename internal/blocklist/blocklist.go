// Package blocklist keeps the list of addresses the firewall should block and
// renders it as the plain-text list that pfBlockerNG IP lists, OPNsense URL
// table aliases and pfSense URL table aliases download.
//
// The list is built only from the intel rows of reports, never from the
// narrative, so text that a model wrote cannot put an address on it. An
// address is listed when a report scores it as a known bad actor at or above
// the minimum threat level, in either direction. Blocked inbound sources and
// suspicious outbound destinations (command-and-control) go on the same
// list, because one firewall alias blocks both directions. An address is never
// listed when it is not public (private, loopback, CGNAT and the other
// special-purpose ranges), when it is in the operator's own prefixes, the
// allowlist or the configured DNS resolvers, or when a report marks it a
// likely false positive.
//
// A listed address stays listed until the TTL passes without a report
// seeing it again as a listed bad actor. A later report that scores it
// lower does not remove it early, but an exclusion does: an address that is
// allowlisted later, or that a report marks a likely false positive, is
// removed at the next update.
//
// The membership is kept in a Store so that it survives restarts and is
// shared between replicas. Update loads it, merges a report and saves it.
// Two replicas that update at the same time overwrite each other and the
// last save wins. The service runs one cycle at a time under a lease, so
// this happens only when a lease expires during an update, and the next
// cycle repairs it.
package blocklist

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/threat-intel/threat-intel/internal/netclass"
	"github.com/threat-intel/threat-intel/internal/report"
	"github.com/threat-intel/threat-intel/internal/scoring"
	"github.com/threat-intel/threat-intel/internal/store"
)

// Defaults of Options.
const (
	DefaultMinLevel   = scoring.LevelHigh
	DefaultTTL        = 24 * time.Hour
	DefaultMaxEntries = 5000
)

// Store keeps the encoded membership. The service's store backends implement
// it, under the key threat-intel:blocklist in Redis.
type Store interface {
	// LoadBlocklist returns the membership saved last. When none was saved
	// it returns either no data and a nil error, or an error that matches
	// store.ErrNotFound.
	LoadBlocklist(ctx context.Context) ([]byte, error)
	// SaveBlocklist replaces the saved membership.
	SaveBlocklist(ctx context.Context, data []byte) error
}

// Options configures a Blocklist.
type Options struct {
	// MinLevel is the lowest threat level that is listed: "none", "low",
	// "medium", "high" or "critical" (BLOCKLIST_MIN_LEVEL).
	MinLevel string
	// TTL is how long an address stays listed after a report last saw it
	// as a listed bad actor (BLOCKLIST_TTL_HOURS).
	TTL time.Duration
	// MaxEntries is the most addresses the list holds (BLOCKLIST_MAX_ENTRIES).
	// When more qualify, the list keeps the highest scores and, among equal
	// scores, the most recently seen addresses.
	MaxEntries int

	// OwnPrefixes are the operator's own public prefixes (OWN_PREFIXES).
	OwnPrefixes []netip.Prefix
	// Allowlist contains the prefixes never listed (ALLOWLIST).
	Allowlist []netip.Prefix
	// DNSResolvers contains the resolvers the network uses (DNS_RESOLVERS).
	// Blocking one would break name resolution, so they are never listed.
	DNSResolvers []netip.Prefix
}

// DefaultOptions returns the options with every default set.
func DefaultOptions() Options {
	return Options{
		MinLevel:   DefaultMinLevel,
		TTL:        DefaultTTL,
		MaxEntries: DefaultMaxEntries,
	}
}

// Validate returns an error naming the first invalid option.
func (o Options) Validate() error {
	if _, ok := levelRank(o.MinLevel); !ok {
		return fmt.Errorf("invalid minimum level %q: want none, low, medium, high or critical", o.MinLevel)
	}
	if o.TTL <= 0 {
		return fmt.Errorf("invalid TTL %s: want a positive duration such as 24h", o.TTL)
	}
	if o.MaxEntries <= 0 {
		return fmt.Errorf("invalid maximum entries %d: want a positive number such as %d", o.MaxEntries, DefaultMaxEntries)
	}
	for _, list := range []struct {
		name     string
		prefixes []netip.Prefix
	}{
		{"own prefixes", o.OwnPrefixes},
		{"allowlist", o.Allowlist},
		{"DNS resolvers", o.DNSResolvers},
	} {
		for _, p := range list.prefixes {
			if !p.IsValid() {
				return fmt.Errorf("invalid prefix %s in %s: want CIDR notation such as 203.0.113.0/24", p, list.name)
			}
		}
	}
	return nil
}

// Blocklist merges reports into the stored membership and reads it back. It
// is safe for concurrent use. Updates within one process are serialized.
type Blocklist struct {
	store      Store
	opts       Options
	minRank    int
	classifier *netclass.Classifier
	allowlist  []netip.Prefix
	resolvers  []netip.Prefix

	// mu serializes load, merge and save within this process.
	mu sync.Mutex
}

// New returns a Blocklist that keeps its membership in st.
func New(st Store, opts Options) (*Blocklist, error) {
	if st == nil {
		return nil, errors.New("no blocklist store: pass the service's store")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	rank, _ := levelRank(opts.MinLevel)
	return &Blocklist{
		store:      st,
		opts:       opts,
		minRank:    rank,
		classifier: netclass.New(opts.OwnPrefixes),
		allowlist:  unmapPrefixes(opts.Allowlist),
		resolvers:  unmapPrefixes(opts.DNSResolvers),
	}, nil
}

// Options returns the options the Blocklist was created with.
func (b *Blocklist) Options() Options { return b.opts }

// Diff is what an update adds to and removes from the list.
type Diff struct {
	// Added are the addresses listed by this update, sorted by address.
	Added []Entry
	// Removed are the addresses taken off the list, sorted by address, each
	// as it was listed, with the reason.
	Removed []Removal
	// Listed is the number of addresses on the list after the update.
	Listed int
	// OverCap counts addresses that qualified but are not listed because
	// the list holds MaxEntries addresses with higher priority. Those that
	// were listed before are also in Removed.
	OverCap int
	// Discarded is set when the stored membership could not be decoded.
	// The update then starts from an empty list and saves over it, so the
	// caller should log this error as a warning.
	Discarded error
}

// Removal is a listed address that an update removes.
type Removal struct {
	Entry
	// Reason is the cause of the removal: "expired", "over the cap",
	// "allowlisted", "own prefix", "DNS resolver", "likely false positive"
	// or "internal (…)".
	Reason string
}

// Update merges the bad actors of r into the stored membership and saves
// it. now is the time the report's addresses count as seen. Expired and
// excluded entries are removed. A stale report, kept from an earlier cycle,
// lists and extends nothing, but expiry and exclusions still apply.
func (b *Blocklist) Update(ctx context.Context, r report.Report, now time.Time) (Diff, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	m, diff, err := b.prepare(ctx, r, now)
	if err != nil {
		return Diff{}, err
	}

	data, err := encodeMembership(m)
	if err != nil {
		return Diff{}, fmt.Errorf("encoding the blocklist: %w", err)
	}
	if err := b.store.SaveBlocklist(ctx, data); err != nil {
		return Diff{}, fmt.Errorf("saving the blocklist: %w", err)
	}
	return diff, nil
}

// Preview returns what Update would add and remove for r at now, without
// saving anything.
func (b *Blocklist) Preview(ctx context.Context, r report.Report, now time.Time) (Diff, error) {
	b.mu.Lock()
	defer b.mu.Unlock()

	_, diff, err := b.prepare(ctx, r, now)
	return diff, err
}

// prepare loads the membership and merges r into it. A membership that
// cannot be decoded is replaced by an empty one and reported in the diff,
// so one corrupt save cannot stop every later update. A membership written
// by a newer release is an error, because overwriting it would lose data
// that release keeps.
func (b *Blocklist) prepare(ctx context.Context, r report.Report, now time.Time) (membership, Diff, error) {
	old, err := b.load(ctx)
	var discarded error
	if errors.Is(err, errCorrupt) {
		discarded = err
		old = membership{}
	} else if err != nil {
		return membership{}, Diff{}, err
	}

	now = now.UTC().Round(0)
	next, diff := b.merge(old.Entries, r, now)
	diff.Discarded = discarded
	return membership{UpdatedAt: now, Entries: next}, diff, nil
}

// Entries returns the listed addresses at now, sorted by address (IPv4
// first). Entries that expired, that the current options exclude or that
// exceed MaxEntries are left out even before the next update removes them.
// A stored membership that cannot be decoded is an error, so the firewall
// keeps its previous copy instead of downloading an empty list.
func (b *Blocklist) Entries(ctx context.Context, now time.Time) ([]Entry, error) {
	m, err := b.load(ctx)
	if err != nil {
		return nil, err
	}
	entries, _ := b.merge(m.Entries, report.Report{}, now.UTC().Round(0))
	return entries, nil
}

// Text returns the list for family ("" for both, "4" or "6") in the format
// of Render, generated at now. It is the body of /api/blocklist.txt.
func (b *Blocklist) Text(ctx context.Context, family string, now time.Time) ([]byte, error) {
	m, err := b.load(ctx)
	if err != nil {
		return nil, err
	}
	now = now.UTC().Round(0)
	entries, _ := b.merge(m.Entries, report.Report{}, now)

	var buf bytes.Buffer
	err = Render(&buf, entries, RenderOptions{
		Family:      family,
		GeneratedAt: now,
		UpdatedAt:   m.UpdatedAt,
		MinLevel:    b.opts.MinLevel,
		TTL:         b.opts.TTL,
	})
	if err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// load reads and decodes the stored membership. Nothing stored is an empty
// membership.
func (b *Blocklist) load(ctx context.Context) (membership, error) {
	data, err := b.store.LoadBlocklist(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return membership{}, nil
	}
	if err != nil {
		return membership{}, fmt.Errorf("loading the blocklist: %w", err)
	}
	if len(data) == 0 {
		return membership{}, nil
	}
	return decodeMembership(data)
}

func unmapPrefixes(in []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(in))
	for _, p := range in {
		a := p.Addr()
		if a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return slices.Clip(out)
}
