package window

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/threat-intel/threat-intel/internal/filterlog"
)

// randomDocAddr returns a random address in 2001:db8::/32, the IPv6
// documentation prefix, which has room for millions of distinct sources.
func randomDocAddr(r *rand.Rand) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], 0x20010db8_00000000|r.Uint64()&0xffffffff)
	binary.BigEndian.PutUint64(b[8:], r.Uint64())
	return netip.AddrFrom16(b)
}

// heapInuse returns the bytes of in-use heap spans after a full collection.
func heapInuse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestMemoryBoundScanStorm adds 2 million distinct spoofed sources spread over
// one hour, with five heavy hitters among them, using the default
// MaxTracked of 20,000 keys per bucket and table.
func TestMemoryBoundScanStorm(t *testing.T) {
	if raceDetector {
		// The test runs on one goroutine, so the detector has nothing to
		// find, and it slows 2 million adds down to about a minute.
		t.Skip("skipped under -race: single-goroutine test that takes a minute with the detector")
	}
	const (
		storm = 2_000_000
		// 60 full blocked-source tables (60 × 20,000 × 68 B), 60 full port
		// tables (60 × 4,096 × 38 B) and 60 HyperLogLog sketches of 16 KiB
		// come to 88 MiB.
		heapLimit = 96 << 20
	)
	heavy := []struct {
		addr  netip.Addr
		count int
	}{
		{netip.MustParseAddr("192.0.2.66"), 20_000},
		{netip.MustParseAddr("198.51.100.77"), 10_000},
		{netip.MustParseAddr("2001:db8:ffff::88"), 6_000},
		{netip.MustParseAddr("203.0.113.99"), 4_000},
		{netip.MustParseAddr("192.0.2.111"), 3_000},
	}

	r := rand.New(rand.NewPCG(1, 2))
	total := storm
	for _, h := range heavy {
		total += h.count
	}
	// slot[i] is the heavy hitter sent as event i, or -1 for a storm source.
	slot := make([]int8, total)
	for i := range slot {
		slot[i] = -1
	}
	for id, h := range heavy {
		for placed := 0; placed < h.count; {
			if i := r.IntN(total); slot[i] < 0 {
				slot[i] = int8(id)
				placed++
			}
		}
	}

	until := base
	step := time.Hour / time.Duration(total)
	before := heapInuse()

	w := newWindow(t, Config{MaxLookback: time.Hour})
	ev := blockedIn(until, "192.0.2.1")
	for i := range total {
		ev.Time = until.Add(-time.Hour + time.Duration(i+1)*step)
		if id := slot[i]; id >= 0 {
			ev.Src = heavy[id].addr
		} else {
			ev.Src = randomDocAddr(r)
		}
		ev.DstPort = uint16(r.IntN(65536))
		w.Add(ev)
	}
	slot = nil

	used := heapInuse() - before
	t.Logf("heap in use after %d events: %.1f MiB", total, float64(used)/(1<<20))
	if used > heapLimit {
		t.Errorf("heap in use = %.1f MiB, want at most %d MiB", float64(used)/(1<<20), heapLimit>>20)
	}

	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	allocated := m.TotalAlloc
	started := time.Now()
	obs := w.Snapshot(until, time.Hour)
	t.Logf("snapshot took %v", time.Since(started))
	runtime.ReadMemStats(&m)
	t.Logf("snapshot allocated %.1f MiB", float64(m.TotalAlloc-allocated)/(1<<20))
	if snapshotLimit := uint64(60*DefaultMaxTracked*20 + 60*DefaultMaxTrackedPorts*8 + 2<<20); m.TotalAlloc-allocated > snapshotLimit {
		t.Errorf("snapshot allocated %.1f MiB, want at most %.1f MiB", float64(m.TotalAlloc-allocated)/(1<<20), float64(snapshotLimit)/(1<<20))
	}
	runtime.KeepAlive(w)

	if !obs.Approximate {
		t.Error("Approximate = false, want true after evictions")
	}
	// Every event also targets a random port, and the port tables, with
	// fewer entries, have the larger bound.
	if limit := uint64(total / DefaultMaxTrackedPorts); obs.ErrorBound > limit {
		t.Errorf("ErrorBound = %d, want at most events/MaxTrackedPorts = %d", obs.ErrorBound, limit)
	}
	if len(obs.Blocked) < len(heavy) {
		t.Fatalf("Blocked has %d entries, want at least %d", len(obs.Blocked), len(heavy))
	}
	for i, h := range heavy {
		got := obs.Blocked[i]
		if got.Addr != h.addr {
			t.Errorf("Blocked[%d] = %v, want heavy hitter %v", i, got.Addr, h.addr)
			continue
		}
		if got.Count < uint64(h.count) || got.Count > uint64(h.count)+obs.ErrorBound {
			t.Errorf("Blocked[%d] count = %d, want %d to %d", i, got.Count, h.count, uint64(h.count)+obs.ErrorBound)
		}
	}

	distinct := storm + len(heavy)
	if e := relativeError(obs.DistinctBlocked, distinct); e > 0.03 {
		t.Errorf("DistinctBlocked = %d, want %d within 3%% (off by %.2f%%)", obs.DistinctBlocked, distinct, 100*e)
	}
}

func relativeError(got, want int) float64 {
	return math.Abs(float64(got)-float64(want)) / float64(want)
}

func TestDistinctBlocked(t *testing.T) {
	tests := []struct {
		name       string
		buckets    int // one-minute buckets the sources are spread over
		perBucket  int // distinct sources per bucket
		shared     bool
		want       int
		exact      bool
		maxTracked int
	}{
		{name: "below threshold one bucket", buckets: 1, perBucket: 999, want: 999, exact: true, maxTracked: 1000},
		{name: "below threshold same sources each bucket", buckets: 10, perBucket: 1000, shared: true, want: 1000, exact: true, maxTracked: 1000},
		{name: "below threshold distinct per bucket", buckets: 10, perBucket: 1000, want: 10_000, exact: true, maxTracked: 1000},
		{name: "above threshold one bucket", buckets: 1, perBucket: 100_000, want: 100_000, maxTracked: 1000},
		{name: "above threshold same sources each bucket", buckets: 10, perBucket: 10_000, shared: true, want: 10_000, maxTracked: 1000},
		{name: "above threshold distinct per bucket", buckets: 20, perBucket: 5_000, want: 100_000, maxTracked: 1000},
		{name: "just above threshold", buckets: 1, perBucket: 1001, want: 1001, maxTracked: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWindow(t, Config{MaxTracked: tt.maxTracked})
			ev := blockedIn(base, "192.0.2.1")
			for b := range tt.buckets {
				r := rand.New(rand.NewPCG(7, uint64(b)))
				if tt.shared {
					r = rand.New(rand.NewPCG(7, 0))
				}
				ev.Time = base.Add(-time.Duration(b)*time.Minute - time.Second)
				for range tt.perBucket {
					ev.Src = randomDocAddr(r)
					w.Add(ev)
				}
			}

			obs := w.Snapshot(base, time.Hour)
			if tt.exact {
				if obs.DistinctBlocked != tt.want {
					t.Errorf("DistinctBlocked = %d, want exactly %d", obs.DistinctBlocked, tt.want)
				}
				if obs.Approximate {
					t.Error("Approximate = true, want false below the threshold")
				}
				return
			}
			if e := relativeError(obs.DistinctBlocked, tt.want); e > 0.03 {
				t.Errorf("DistinctBlocked = %d, want %d within 3%% (off by %.2f%%)", obs.DistinctBlocked, tt.want, 100*e)
			}
			if !obs.Approximate {
				t.Error("Approximate = false, want true above the threshold")
			}
		})
	}
}

// TestSpaceSavingGuarantees checks every key of a skewed stream against its
// exact count.
func TestSpaceSavingGuarantees(t *testing.T) {
	const capacity = 100
	r := rand.New(rand.NewPCG(3, 4))
	zipf := rand.NewZipf(r, 1.1, 1, 100_000)

	s := newSummary[uint64](capacity)
	exact := make(map[uint64]uint32)
	const n = 200_000
	for range n {
		k := zipf.Uint64()
		s.add(k)
		exact[k]++
	}

	minCount := s.bound()
	if minCount == 0 {
		t.Fatal("bound = 0, want the smallest count after evictions")
	}
	if minCount > n/capacity {
		t.Errorf("bound = %d, want at most n/capacity = %d", minCount, n/capacity)
	}
	if s.len() != capacity {
		t.Errorf("len = %d, want %d", s.len(), capacity)
	}

	stored := make(map[uint64]bool)
	for i := range s.slots {
		sl := s.slots[i]
		count := s.heap[sl.pos].count
		stored[sl.key] = true
		if truth := exact[sl.key]; count < truth || count-sl.err > truth {
			t.Errorf("key %d: count %d, error %d, true count %d: want count-error ≤ true ≤ count", sl.key, count, sl.err, truth)
		}
		if sl.err > minCount {
			t.Errorf("key %d: error %d above the bound %d", sl.key, sl.err, minCount)
		}
	}
	for k, truth := range exact {
		if !stored[k] && truth > minCount {
			t.Errorf("key %d with %d events not stored, want every key above %d stored", k, truth, minCount)
		}
	}
	for i := 1; i < len(s.heap); i++ {
		if parent := (i - 1) / 2; s.heap[parent].count > s.heap[i].count {
			t.Fatalf("heap order broken at %d: parent %d > child %d", i, s.heap[parent].count, s.heap[i].count)
		}
	}
}

func TestSpaceSavingExactBelowCapacity(t *testing.T) {
	s := newSummary[uint64](10)
	for k := range uint64(10) {
		for range k + 1 {
			s.add(k)
		}
	}
	if s.evicted || s.bound() != 0 {
		t.Errorf("evicted = %v, bound = %d, want no eviction", s.evicted, s.bound())
	}
	s.each(func(k uint64, count uint32) {
		if count != uint32(k+1) {
			t.Errorf("key %d count = %d, want %d", k, count, k+1)
		}
	})
	if cap(s.slots) > 10 {
		t.Errorf("cap(slots) = %d, want at most the capacity 10", cap(s.slots))
	}
}

func TestHyperLogLogAccuracy(t *testing.T) {
	for _, n := range []int{100, 10_000, 40_000, 100_000, 1_000_000} {
		var h hyperLogLog
		r := rand.New(rand.NewPCG(5, uint64(n)))
		for range n {
			h.insert(keyOf(randomDocAddr(r)))
		}
		got := int(math.Round(h.estimate()))
		if e := relativeError(got, n); e > 0.03 {
			t.Errorf("estimate of %d distinct = %d, off by %.2f%%, want within 3%%", n, got, 100*e)
		}
	}
}

func TestHyperLogLogIPv4(t *testing.T) {
	// IPv4 addresses differ only in their last four bytes, which the hash
	// must spread over all registers.
	var h hyperLogLog
	const n = 1 << 20
	for i := range uint32(n) {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], 0x0a000000+i)
		h.insert(keyOf(netip.AddrFrom4(b)))
	}
	got := int(math.Round(h.estimate()))
	if e := relativeError(got, n); e > 0.03 {
		t.Errorf("estimate of %d sequential IPv4 addresses = %d, off by %.2f%%", n, got, 100*e)
	}
}

func TestHyperLogLogMerge(t *testing.T) {
	var a, b, union hyperLogLog
	r := rand.New(rand.NewPCG(9, 9))
	for i := range 60_000 {
		k := keyOf(randomDocAddr(r))
		union.insert(k)
		if i < 40_000 {
			a.insert(k)
		}
		if i >= 20_000 {
			b.insert(k)
		}
	}
	a.merge(&b)
	if a.registers != union.registers {
		t.Error("merged registers differ from the registers of the union")
	}
}

// BenchmarkAdd measures Add for a mix of blocked, outbound and internal-source
// events over 50,000 distinct addresses, one-minute buckets and one hour.
func BenchmarkAdd(b *testing.B) {
	for _, bc := range []struct {
		name     string
		distinct int
	}{
		{"typical", 5_000},
		{"storm", 5_000_000},
	} {
		b.Run(bc.name, func(b *testing.B) {
			w, err := New(Config{MaxLookback: time.Hour})
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 1))
			pool := make([]netip.Addr, min(bc.distinct, 1<<20))
			for i := range pool {
				pool[i] = randomDocAddr(r)
			}
			events := []*filterlog.Event{
				blockedIn(base, "192.0.2.1"),
				event(base, "igb0", actPass, dirOut, "198.51.100.1", "203.0.113.1"),
				event(base, "igb1", actPass, dirIn, "192.168.1.10", "203.0.113.1"),
			}

			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				ev := events[i%len(events)]
				ev.Time = base.Add(time.Duration(i) * time.Millisecond)
				addr := pool[i%len(pool)]
				if bc.distinct > len(pool) {
					addr = randomDocAddr(r)
				}
				if ev.Action == filterlog.ActionBlock {
					ev.Src = addr
				} else {
					ev.Dst = addr
				}
				w.Add(ev)
			}
		})
	}
}

// BenchmarkSnapshotStorm measures a Snapshot over 60 buckets whose blocked
// source and port tables are full.
func BenchmarkSnapshotStorm(b *testing.B) {
	w, err := New(Config{MaxLookback: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	ev := blockedIn(base, "192.0.2.1")
	const events = 2_000_000
	for i := range events {
		ev.Time = base.Add(-time.Hour + time.Duration(i+1)*(time.Hour/events))
		ev.Src = randomDocAddr(r)
		ev.DstPort = uint16(r.IntN(65536))
		w.Add(ev)
	}

	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		w.Snapshot(base, time.Hour)
	}
}

// TestMergedEstimatesBracketTruth checks the merged counts of a skewed
// stream over ten buckets with small tables against exact counts.
func TestMergedEstimatesBracketTruth(t *testing.T) {
	const top = 10
	w := newWindow(t, Config{MaxTracked: 50, TopBlocked: top})
	r := rand.New(rand.NewPCG(11, 12))
	zipf := rand.NewZipf(r, 1.2, 1, 5000)

	truth := make(map[netip.Addr]uint64)
	ev := blockedIn(base, "192.0.2.1")
	for i := range 100_000 {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], 0x20010db8_00000000)
		binary.BigEndian.PutUint64(b[8:], zipf.Uint64())
		ev.Src = netip.AddrFrom16(b)
		ev.Time = base.Add(-time.Duration(i%10)*time.Minute - time.Second)
		w.Add(ev)
		truth[ev.Src]++
	}

	obs := w.Snapshot(base, time.Hour)
	if !obs.Approximate || obs.ErrorBound == 0 {
		t.Fatalf("Approximate = %v, ErrorBound = %d, want evictions", obs.Approximate, obs.ErrorBound)
	}
	if len(obs.Blocked) != top {
		t.Fatalf("len(Blocked) = %d, want %d", len(obs.Blocked), top)
	}
	reported := make(map[netip.Addr]bool)
	for _, c := range obs.Blocked {
		reported[c.Addr] = true
		if want := truth[c.Addr]; c.Count < want || c.Count > want+obs.ErrorBound {
			t.Errorf("%v: count %d, true count %d, want %d to %d", c.Addr, c.Count, want, want, want+obs.ErrorBound)
		}
	}
	last := obs.Blocked[top-1].Count
	for addr, n := range truth {
		if n > last && !reported[addr] {
			t.Errorf("%v with %d events missing, above the last reported count %d", addr, n, last)
		}
	}
}
