package window

import "math"

// summary counts keys with the Space-Saving algorithm (Metwally, Agrawal and
// El Abbadi, "Efficient Computation of Frequent and Top-k Elements in Data
// Streams", ICDT 2005), keeping at most capacity keys.
//
// Until capacity distinct keys have been added every count is exact. After
// that, a new key takes the place of the key with the smallest count c: it
// starts at c+1 and c is recorded as its error. Three guarantees follow, where
// n is the number of additions and min the smallest stored count:
//   - a stored count overstates the true count by at most its error, and the
//     error is at most min;
//   - a key that is not stored was added at most min times;
//   - min ≤ n/capacity, so every key added more than n/capacity times is stored.
//
// The counters form a min-heap on count. The map points to a slot that does
// not move when the heap reorders, so an addition costs one map lookup and
// O(log capacity) swaps in two flat slices. Counts are uint32 and saturate,
// which a bucket reaches only after 4.29 billion events.
type summary[K comparable] struct {
	capacity int
	index    map[K]int32 // key → slot
	slots    []slot[K]
	heap     []heapEntry // min-heap on count
	evicted  bool
}

type slot[K comparable] struct {
	key K
	err uint32 // the count of the key it replaced
	pos int32  // position in heap
}

type heapEntry struct {
	count uint32
	slot  int32
}

func newSummary[K comparable](capacity int) *summary[K] {
	return &summary[K]{capacity: capacity, index: make(map[K]int32)}
}

// add counts one occurrence of k.
func (s *summary[K]) add(k K) {
	if i, ok := s.index[k]; ok {
		pos := s.slots[i].pos
		s.heap[pos].count = incrementSaturated(s.heap[pos].count)
		s.down(int(pos))
		return
	}

	if len(s.slots) < s.capacity {
		s.grow()
		i := int32(len(s.slots))
		s.slots = append(s.slots, slot[K]{key: k, pos: int32(len(s.heap))})
		s.heap = append(s.heap, heapEntry{count: 1, slot: i})
		s.index[k] = i
		s.up(len(s.heap) - 1)
		return
	}

	// Replace the key with the smallest count, which is at the root.
	root := s.heap[0]
	victim := &s.slots[root.slot]
	delete(s.index, victim.key)
	victim.key = k
	victim.err = root.count
	s.index[k] = root.slot
	s.heap[0].count = incrementSaturated(root.count)
	s.evicted = true
	s.down(0)
}

// grow enlarges slots and heap before an append so that their capacity never
// exceeds s.capacity: a full summary holds no unused tail.
func (s *summary[K]) grow() {
	if len(s.slots) < cap(s.slots) {
		return
	}
	n := min(max(2*cap(s.slots), 16), s.capacity)
	slots := make([]slot[K], len(s.slots), n)
	copy(slots, s.slots)
	s.slots = slots
	heap := make([]heapEntry, len(s.heap), n)
	copy(heap, s.heap)
	s.heap = heap
}

// bound returns the maximum overstatement of any stored count, which is also
// the maximum true count of any key that is not stored: zero until the first
// eviction, then the smallest stored count.
func (s *summary[K]) bound() uint32 {
	if !s.evicted {
		return 0
	}
	return s.heap[0].count
}

func (s *summary[K]) len() int { return len(s.slots) }

func (s *summary[K]) full() bool { return len(s.slots) == s.capacity }

func (s *summary[K]) contains(k K) bool {
	_, ok := s.index[k]
	return ok
}

// each calls fn for every stored key with its count.
func (s *summary[K]) each(fn func(k K, count uint32)) {
	for i := range s.slots {
		fn(s.slots[i].key, s.heap[s.slots[i].pos].count)
	}
}

func (s *summary[K]) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if s.heap[parent].count <= s.heap[i].count {
			return
		}
		s.swap(i, parent)
		i = parent
	}
}

func (s *summary[K]) down(i int) {
	n := len(s.heap)
	for {
		smallest := i
		left, right := 2*i+1, 2*i+2
		if left < n && s.heap[left].count < s.heap[smallest].count {
			smallest = left
		}
		if right < n && s.heap[right].count < s.heap[smallest].count {
			smallest = right
		}
		if smallest == i {
			return
		}
		s.swap(i, smallest)
		i = smallest
	}
}

func (s *summary[K]) swap(i, j int) {
	s.heap[i], s.heap[j] = s.heap[j], s.heap[i]
	s.slots[s.heap[i].slot].pos = int32(i)
	s.slots[s.heap[j].slot].pos = int32(j)
}

func incrementSaturated(c uint32) uint32 {
	if c == math.MaxUint32 {
		return c
	}
	return c + 1
}
