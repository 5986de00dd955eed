// Package window aggregates filterlog events into time buckets and produces
// the Observation of any lookback window that ends at a given time. An
// Observation lists the top blocked public sources, the top outbound public
// destinations with the hosts behind them, the targeted ports and the
// interfaces seen.
//
// Memory stays bounded however many distinct addresses arrive. Each bucket
// counts its keys in Space-Saving summaries of at most Config.MaxTracked
// entries. The number of distinct blocked sources is exact until a bucket's
// blocked-source summary has to evict, and a HyperLogLog estimate after that.
package window

import (
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
)

// Window is a time-bucketed aggregate of filterlog events. It is safe for
// concurrent use: Add and Snapshot serialise on one mutex, so a Snapshot,
// which merges every bucket in the window, holds up Add while it runs.
type Window struct {
	cfg   Config
	wan   map[string]bool // nil: every interface is WAN side
	width int64           // bucket width in nanoseconds

	mu      sync.Mutex
	buckets map[int64]*bucket // by bucket index
	// untimed holds events without a timestamp that arrived before any
	// timed event. It becomes the bucket of the first timed event.
	untimed *bucket
	newest  time.Time // newest event time added
	// horizon is the latest of newest and every snapshot end: buckets that a
	// window ending there cannot reach are dropped.
	horizon  time.Time
	oldest   int64 // smallest bucket index kept, valid once horizon is set
	stats    Stats
	hasTimed bool

	// last caches the bucket of the previous event, which is usually the
	// bucket of the next one too.
	last      *bucket
	lastIndex int64
}

// Stats counts what Add did with the events it was given.
type Stats struct {
	Added   uint64 // events counted into a bucket
	Untimed uint64 // events without a timestamp, counted at the newest time or at Config.Now
	TooOld  uint64 // events dropped because they are older than the maximum lookback
	Future  uint64 // events dated after Config.Now, counted at Now
}

// New returns an empty Window, or an error naming the invalid field of cfg.
func New(cfg Config) (*Window, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	w := &Window{
		cfg:     cfg,
		width:   int64(cfg.BucketWidth),
		buckets: make(map[int64]*bucket),
	}
	if len(cfg.WANInterfaces) > 0 {
		w.wan = make(map[string]bool, len(cfg.WANInterfaces))
		for _, name := range cfg.WANInterfaces {
			w.wan[name] = true
		}
	}
	return w, nil
}

// Add counts one event. It keeps no reference to ev.
//
// An event without a timestamp (a bare CSV body) is counted in the bucket of
// the newest event seen so far, or at Config.Now for a live source. Before
// any timed event has arrived it waits in a bucket of its own that every
// snapshot includes, and that becomes the bucket of the first timed event.
// An event older than the maximum lookback, measured from the newest event
// or snapshot end, is dropped and counted in Stats.TooOld.
func (w *Window) Add(ev *filterlog.Event) {
	kind := w.classify(ev)

	w.mu.Lock()
	defer w.mu.Unlock()

	b := w.bucketForLocked(ev.Time)
	if b == nil {
		return
	}
	w.stats.Added++
	b.add(ev, kind, &w.cfg)
}

// Stats returns the counts of what Add did so far.
func (w *Window) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stats
}

// Newest returns the time of the newest event added, or the zero time when
// no timed event has been added.
func (w *Window) Newest() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.newest
}

// eventKind is the set of tables an event counts in. One event can be both
// outbound and an internal source.
type eventKind struct {
	blocked        bool // blocked inbound from a public source on a WAN interface
	outbound       bool // passed outbound to a public destination on a WAN interface
	internalSource bool // passed from an internal source to a public destination
}

// classify decides what ev counts as. It runs before the lock is taken
// because the classifier is read-only.
func (w *Window) classify(ev *filterlog.Event) eventKind {
	var kind eventKind
	wanSide := w.wan == nil || w.wan[ev.Interface]
	classifier := w.cfg.Classifier

	switch ev.Action {
	case filterlog.ActionBlock, filterlog.ActionReject:
		kind.blocked = wanSide && ev.Direction == filterlog.DirectionIn && classifier.IsPublic(ev.Src)
	case filterlog.ActionPass:
		dstPublic := classifier.IsPublic(ev.Dst)
		kind.outbound = wanSide && ev.Direction == filterlog.DirectionOut && dstPublic
		// Only lines logged inbound on the sending host's interface come
		// before NAT. The outbound line on the WAN carries the translated
		// address, which OWN_PREFIXES may make look internal.
		kind.internalSource = dstPublic && ev.Direction == filterlog.DirectionIn && classifier.IsInternal(ev.Src)
	}
	return kind
}

// bucketForLocked returns the bucket for an event at t, creating it when
// needed, or nil when the event is too old to count.
func (w *Window) bucketForLocked(t time.Time) *bucket {
	if t.IsZero() {
		w.stats.Untimed++
		switch {
		case w.cfg.Now != nil:
			t = w.cfg.Now()
		case w.hasTimed:
			t = w.newest
		default:
			if w.untimed == nil {
				w.untimed = newBucket()
			}
			return w.untimed
		}
	} else if w.cfg.Now != nil {
		if now := w.cfg.Now(); t.After(now) {
			w.stats.Future++
			t = now
		}
	}

	if !w.hasTimed || t.After(w.newest) {
		w.newest = t
		w.hasTimed = true
	}
	w.advanceLocked(t)

	index := w.indexOf(t)
	if index < w.oldest {
		w.stats.TooOld++
		return nil
	}
	if w.last != nil && index == w.lastIndex {
		return w.last
	}
	b := w.buckets[index]
	if b == nil {
		if w.untimed != nil {
			b, w.untimed = w.untimed, nil
		} else {
			b = newBucket()
		}
		w.buckets[index] = b
	}
	w.last, w.lastIndex = b, index
	return b
}

// advanceLocked moves the horizon to t if t is later and drops the buckets
// that no window ending at or after the horizon can include.
func (w *Window) advanceLocked(t time.Time) {
	first := w.horizon.IsZero()
	if !first && !t.After(w.horizon) {
		return
	}
	w.horizon = t
	oldest := w.indexOf(t) - w.bucketsPer(w.cfg.MaxLookback) + 1
	if !first && oldest <= w.oldest {
		return
	}
	w.oldest = oldest
	for index := range w.buckets {
		if index < oldest {
			delete(w.buckets, index)
		}
	}
	if w.lastIndex < oldest {
		w.last = nil
	}
}

// indexOf returns the index of the bucket that contains t. Bucket i covers
// the half-open span (Anchor + i×width, Anchor + (i+1)×width], so a window
// (until-lookback, until] whose ends lie on boundaries is covered exactly.
func (w *Window) indexOf(t time.Time) int64 {
	// Sub saturates about 292 years from the anchor, so d cannot overflow
	// unless it is the minimum itself.
	d := int64(t.Sub(w.cfg.Anchor))
	if d > math.MinInt64 {
		d--
	}
	index := d / w.width
	if d < 0 && d%w.width != 0 {
		index--
	}
	return index
}

// bucketStart returns the exclusive start of bucket index.
func (w *Window) bucketStart(index int64) time.Time {
	return w.cfg.Anchor.Add(time.Duration(index * w.width))
}

// bucketsPer returns how many whole buckets fit in lookback, at least one.
func (w *Window) bucketsPer(lookback time.Duration) int64 {
	return max(int64(lookback)/w.width, 1)
}

// addrKey is an address in 16 bytes with IPv4 in its IPv4-mapped form. It
// holds no pointer, so the garbage collector does not scan the tables, at the
// cost of the zone, which filterlog addresses never carry, and of telling an
// IPv4 address from the same address IPv4-mapped, which netclass treats alike.
type addrKey [16]byte

func keyOf(a netip.Addr) addrKey { return a.As16() }

func (k addrKey) addr() netip.Addr { return netip.AddrFrom16(k).Unmap() }

// pairKey is an outbound destination with one of its sources.
type pairKey struct {
	dst, src addrKey
}

// portKey is a destination port with its transport protocol number.
type portKey struct {
	port  uint16
	proto uint8
}
