package window

import (
	"cmp"
	"encoding/binary"
	"maps"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"github.com/threat-intel/threat-intel/internal/source"
)

// Snapshot returns the Observation of the window (until-lookback, until]. A
// zero until means the time of the newest event. A lookback that is not
// positive or exceeds Config.MaxLookback means MaxLookback.
//
// The window is made of whole buckets: the lookback/BucketWidth buckets that
// end with the one containing until. No event at or before until-lookback is
// ever counted. When until does not fall on a bucket boundary, the oldest
// events inside the window, up to one bucket width of them, are left out.
// Observation.Start is the real start of the span covered. Events after until
// in until's own bucket are counted, which only happens when the window ends
// before the newest event. Events without a timestamp that arrived before any
// timed event are in every snapshot.
//
// A snapshot ending after the newest event moves the present forward:
// buckets older than MaxLookback before until are dropped.
func (w *Window) Snapshot(until time.Time, lookback time.Duration) source.Observation {
	w.mu.Lock()
	defer w.mu.Unlock()

	if until.IsZero() {
		until = w.newest
	}
	if lookback <= 0 || lookback > w.cfg.MaxLookback {
		lookback = w.cfg.MaxLookback
	}

	obs := source.Observation{End: until}
	var included []*bucket
	if !until.IsZero() {
		w.advanceLocked(until)
		last := w.indexOf(until)
		first := last - w.bucketsPer(lookback) + 1
		obs.Start = w.bucketStart(first)
		for index, b := range w.buckets {
			if index >= first && index <= last {
				included = append(included, b)
			}
		}
	}
	if w.untimed != nil {
		included = append(included, w.untimed)
	}

	w.fillLocked(&obs, included)
	return obs
}

// fillLocked merges the buckets into obs.
func (w *Window) fillLocked(obs *source.Observation, buckets []*bucket) {
	cfg := &w.cfg

	var blockedTables, outboundTables []*summary[addrKey]
	var portTables []*summary[portKey]
	for _, b := range buckets {
		blockedTables = appendTable(blockedTables, b.blocked)
		outboundTables = appendTable(outboundTables, b.outbound)
		portTables = appendTable(portTables, b.ports)
		if b.approximate() {
			obs.Approximate = true
		}
	}

	blocked := mergeTop(blockedTables, cfg.TopBlocked, compareAddrKeyBytes, compareAddrKeys)
	for _, r := range blocked.top {
		obs.Blocked = append(obs.Blocked, source.AddrCount{Addr: r.key.addr(), Count: r.count})
	}
	obs.DistinctBlocked = distinctBlocked(buckets, blocked.unique)

	outbound := mergeTop(outboundTables, cfg.TopOutbound, compareAddrKeyBytes, compareAddrKeys)
	obs.Outbound = make([]source.Outbound, 0, len(outbound.top))
	for _, r := range outbound.top {
		obs.Outbound = append(obs.Outbound, source.Outbound{Addr: r.key.addr(), Count: r.count})
	}
	fillSources(obs.Outbound, buckets, func(b *bucket) *summary[pairKey] { return b.internal }, cfg.InternalSourcesPerDestination,
		func(o *source.Outbound, srcs []ranked[addrKey]) { o.InternalSources = addrsOf(srcs) })
	fillSources(obs.Outbound, buckets, func(b *bucket) *summary[pairKey] { return b.nat }, cfg.NATSourcesPerDestination,
		func(o *source.Outbound, srcs []ranked[addrKey]) { o.NATSources = addrsOf(srcs) })

	ports := mergeTop(portTables, cfg.TopPorts, comparePortKeys, comparePortKeys)
	for _, r := range ports.top {
		obs.Ports = append(obs.Ports, source.PortCount{Port: r.key.port, Protocol: protocolName(r.key.proto), Count: r.count})
	}

	obs.ErrorBound = max(blocked.bound, outbound.bound, ports.bound)
	obs.Interfaces = interfacesOf(buckets, cfg.MaxInterfaces, &obs.Approximate)
}

func appendTable[K comparable](tables []*summary[K], s *summary[K]) []*summary[K] {
	if s == nil {
		return tables
	}
	return append(tables, s)
}

// interfacesOf returns the sorted union of the buckets' interface names, at
// most limit of them, and sets *approximate when names were cut.
func interfacesOf(buckets []*bucket, limit int, approximate *bool) []string {
	names := make(map[string]struct{})
	for _, b := range buckets {
		for name := range b.interfaces {
			names[name] = struct{}{}
		}
	}
	sorted := slices.Sorted(maps.Keys(names))
	if len(sorted) > limit {
		*approximate = true
		sorted = sorted[:limit]
	}
	return sorted
}

// distinctBlocked returns the number of distinct blocked sources in the
// buckets. It is exact, the number of distinct keys in the blocked tables,
// unless a table has evicted. Then it is the HyperLogLog estimate, never less
// than that number of distinct keys, which is a lower bound.
func distinctBlocked(buckets []*bucket, unique int) int {
	var sketch *hyperLogLog
	for _, b := range buckets {
		if b.distinct == nil {
			continue
		}
		if sketch == nil {
			sketch = new(hyperLogLog)
		}
		sketch.merge(b.distinct)
	}
	if sketch == nil {
		return unique
	}

	for _, b := range buckets {
		if b.distinct == nil && b.blocked != nil {
			b.blocked.each(func(k addrKey, _ uint32) { sketch.insert(k) })
		}
	}
	return max(int(math.Round(sketch.estimate())), unique)
}

// fillSources sets, for each destination in outbound, the sources of the
// pair tables chosen by table, most events first, at most limit of them.
func fillSources(outbound []source.Outbound, buckets []*bucket, table func(*bucket) *summary[pairKey], limit int, set func(*source.Outbound, []ranked[addrKey])) {
	if len(outbound) == 0 {
		return
	}
	byDestination := make(map[addrKey]map[addrKey]uint64, len(outbound))
	for _, o := range outbound {
		byDestination[keyOf(o.Addr)] = make(map[addrKey]uint64)
	}
	for _, b := range buckets {
		s := table(b)
		if s == nil {
			continue
		}
		s.each(func(k pairKey, count uint32) {
			if srcs, ok := byDestination[k.dst]; ok {
				srcs[k.src] += uint64(count)
			}
		})
	}
	for i := range outbound {
		srcs := byDestination[keyOf(outbound[i].Addr)]
		set(&outbound[i], selectTop(srcs, limit, compareAddrKeys))
	}
}

// merged is the result of mergeTop.
type merged[K any] struct {
	top    []ranked[K]
	unique int    // distinct keys stored across the tables
	bound  uint64 // maximum overstatement of any count in top
}

// gainEntry is one stored key of one table, with its count less the table's
// bound.
type gainEntry[K any] struct {
	key  K
	gain uint32
}

// mergeTop merges Space-Saving summaries of several buckets and returns the
// n keys with the highest estimated counts, ties in the ascending order of
// order.
//
// A key's estimate is its stored counts summed, plus, for each table that
// evicted and does not store the key, that table's bound, which is the most
// the key can have had there. The estimate therefore never understates the
// true count, and overstates it by at most B, the sum of the bounds.
//
// The same estimate is B plus the key's gains, where a gain is a stored count
// less its table's bound. A gain is never negative, because a stored count
// is at least the table's minimum. One sort of all (key, gain) entries brings
// each key's entries together, so every estimate is a sum over one run. The
// sort's slice takes 8 to 20 bytes per stored entry while the call runs,
// far less than a hash map over the same keys.
func mergeTop[K comparable](tables []*summary[K], n int, group, order func(a, b K) int) merged[K] {
	var result merged[K]
	total := 0
	for _, s := range tables {
		result.bound += uint64(s.bound())
		total += s.len()
	}

	entries := make([]gainEntry[K], 0, total)
	for _, s := range tables {
		bound := s.bound()
		s.each(func(k K, count uint32) {
			entries = append(entries, gainEntry[K]{key: k, gain: count - bound})
		})
	}
	slices.SortFunc(entries, func(a, b gainEntry[K]) int { return group(a.key, b.key) })

	estimates := func(yield func(K, uint64) bool) {
		for i := 0; i < len(entries); {
			key := entries[i].key
			sum := result.bound
			for ; i < len(entries) && entries[i].key == key; i++ {
				sum += uint64(entries[i].gain)
			}
			result.unique++
			if !yield(key, sum) {
				return
			}
		}
	}
	result.top = selectTopSeq(estimates, n, order)
	return result
}

type ranked[K any] struct {
	key   K
	count uint64
}

func selectTop[K comparable](counts map[K]uint64, n int, compareKeys func(a, b K) int) []ranked[K] {
	return selectTopSeq(func(yield func(K, uint64) bool) {
		for k, c := range counts {
			if !yield(k, c) {
				return
			}
		}
	}, n, compareKeys)
}

// selectTopSeq returns the n items with the highest counts, by count
// descending and then key ascending. This order is total, so the result does
// not depend on the order of the sequence. It keeps only n items and does
// O(1) work for an item that does not enter the top n.
func selectTopSeq[K any](items func(yield func(K, uint64) bool), n int, compareKeys func(a, b K) int) []ranked[K] {
	before := func(a, b ranked[K]) int {
		if c := cmp.Compare(b.count, a.count); c != 0 {
			return c
		}
		return compareKeys(a.key, b.key)
	}

	best := make([]ranked[K], 0, n+1)
	for k, count := range items {
		r := ranked[K]{key: k, count: count}
		if len(best) == n && before(r, best[n-1]) >= 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(best, r, before)
		best = slices.Insert(best, i, r)
		if len(best) > n {
			best = best[:n]
		}
	}
	return best
}

func addrsOf(rs []ranked[addrKey]) []netip.Addr {
	if len(rs) == 0 {
		return nil
	}
	out := make([]netip.Addr, len(rs))
	for i, r := range rs {
		out[i] = r.key.addr()
	}
	return out
}

// compareAddrKeys orders keys as netip.Addr.Compare orders addresses: IPv4
// before IPv6, then by value.
func compareAddrKeys(a, b addrKey) int { return a.addr().Compare(b.addr()) }

// compareAddrKeyBytes is a cheaper total order, used only to bring equal
// keys together.
func compareAddrKeyBytes(a, b addrKey) int {
	if c := cmp.Compare(binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])); c != 0 {
		return c
	}
	return cmp.Compare(binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:]))
}

func comparePortKeys(a, b portKey) int {
	if c := cmp.Compare(a.port, b.port); c != 0 {
		return c
	}
	return cmp.Compare(protocolName(a.proto), protocolName(b.proto))
}

// protocolName returns the name of the transport protocols that carry ports,
// as the IANA protocol numbers registry spells them.
func protocolName(number uint8) string {
	switch number {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 132:
		return "sctp"
	}
	return "proto-" + strconv.Itoa(int(number))
}
