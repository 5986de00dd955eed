package window

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// hllPrecision is the number of hash bits that select a register. 2^14
// registers take 16 KiB and give a standard error of 1.04/√16384 ≈ 0.8%.
const hllPrecision = 14

const hllRegisters = 1 << hllPrecision

// hyperLogLog estimates the number of distinct addresses inserted (Flajolet,
// Fusy, Gandouet and Meunier, "HyperLogLog: the analysis of a near-optimal
// cardinality estimation algorithm", 2007). Two sketches merge by taking the
// larger value of each register, so a window's sketch is the merge of its
// buckets' sketches.
type hyperLogLog struct {
	registers [hllRegisters]uint8
}

func (h *hyperLogLog) insert(k addrKey) {
	hash := hashAddrKey(k)
	index := hash >> (64 - hllPrecision)
	// The low bit set after the shift caps the rank at 64-hllPrecision+1, the
	// largest a 50-bit remainder can give.
	rest := hash<<hllPrecision | 1<<(hllPrecision-1)
	rank := uint8(bits.LeadingZeros64(rest)) + 1
	if rank > h.registers[index] {
		h.registers[index] = rank
	}
}

func (h *hyperLogLog) merge(other *hyperLogLog) {
	for i, r := range other.registers {
		if r > h.registers[i] {
			h.registers[i] = r
		}
	}
}

// estimate returns the estimated number of distinct inserted addresses. Below
// 2.5 × registers it uses linear counting on the empty registers, which is
// more accurate there than the harmonic mean. A 64-bit hash needs no
// correction for hash collisions at the counts a firewall logs.
func (h *hyperLogLog) estimate() float64 {
	const m = float64(hllRegisters)
	alpha := 0.7213 / (1 + 1.079/m)

	var sum float64
	var zeros int
	for _, r := range h.registers {
		sum += math.Ldexp(1, -int(r))
		if r == 0 {
			zeros++
		}
	}

	e := alpha * m * m / sum
	if e <= 2.5*m && zeros > 0 {
		e = m * math.Log(m/float64(zeros))
	}
	return e
}

// hashAddrKey mixes the 128 bits of an address into 64 with the SplitMix64
// finaliser, so that every output bit depends on every input bit. IPv4
// addresses vary only in their low 32 bits, which a plain fold would leave
// poorly spread.
func hashAddrKey(k addrKey) uint64 {
	hi := binary.BigEndian.Uint64(k[:8])
	lo := binary.BigEndian.Uint64(k[8:])
	return mix64(hi ^ mix64(lo+0x9e3779b97f4a7c15))
}

func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}
