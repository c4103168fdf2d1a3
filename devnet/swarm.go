package devnet

import (
	"bytes"
	"encoding/binary"
	"sort"
)

// Swarm constants of oxend's assignment (oxen-core service_node_rules.h), from the storage-server
// spec section 7.
const (
	minSwarmSize                   = 5
	idealSwarmMargin               = 2
	newSwarmSize                   = 7
	fillSwarmLowerPercentile       = 25
	stealingSwarmUpperPercentile   = 75
	decommissionedRedistPercentile = 0
	// InvalidSwarmID marks a node that is not in any swarm (oxend's UNASSIGNED_SWARM_ID).
	InvalidSwarmID uint64 = 1<<64 - 1
	maxSwarmID     uint64 = 1<<64 - 2
)

// swarmSpace is the position of a 32-byte account key on the 2^64 swarm ring: the XOR of its four
// big-endian 64-bit words (the network prefix is not part of it).
func swarmSpace(pk [32]byte) uint64 {
	return binary.BigEndian.Uint64(pk[0:8]) ^ binary.BigEndian.Uint64(pk[8:16]) ^
		binary.BigEndian.Uint64(pk[16:24]) ^ binary.BigEndian.Uint64(pk[24:32])
}

// closestSwarm picks the swarm for ring position v among ids (which must be sorted ascending and
// distinct, without InvalidSwarmID): the nearest id on the ring, ties going to the left neighbour.
// It returns InvalidSwarmID when ids is empty.
func closestSwarm(ids []uint64, v uint64) uint64 {
	switch len(ids) {
	case 0:
		return InvalidSwarmID
	case 1:
		return ids[0]
	}
	i := sort.Search(len(ids), func(i int) bool { return ids[i] >= v })
	if i == len(ids) {
		i = 0
	}
	right := ids[i]
	left := ids[(i+len(ids)-1)%len(ids)]
	dright := right - v // modular distances: u64 wrap-around is intended
	dleft := v - left
	if dright < dleft {
		return right
	}
	return left
}

// mt19937_64 is the 64-bit Mersenne Twister that oxend seeds from the block hash to make swarm
// assignment deterministic across the network. The standard library has no MT19937-64, so it is
// written here (it is a few lines of the published reference algorithm).
type mt19937_64 struct {
	mt  [312]uint64
	idx int
}

func newMT19937_64(seed uint64) *mt19937_64 {
	m := &mt19937_64{idx: 312}
	m.mt[0] = seed
	for i := 1; i < 312; i++ {
		m.mt[i] = 6364136223846793005*(m.mt[i-1]^(m.mt[i-1]>>62)) + uint64(i)
	}
	return m
}

func (m *mt19937_64) next() uint64 {
	const (
		n         = 312
		mid       = 156
		matrixA   = 0xB5026F5AA96619E9
		upperMask = 0xFFFFFFFF80000000
		lowerMask = 0x7FFFFFFF
	)
	if m.idx >= n {
		for i := 0; i < n; i++ {
			x := (m.mt[i] & upperMask) | (m.mt[(i+1)%n] & lowerMask)
			xA := x >> 1
			if x&1 != 0 {
				xA ^= matrixA
			}
			m.mt[i] = m.mt[(i+mid)%n] ^ xA
		}
		m.idx = 0
	}
	x := m.mt[m.idx]
	m.idx++
	x ^= (x >> 29) & 0x5555555555555555
	x ^= (x << 17) & 0x71D67FFFEDA60000
	x ^= (x << 37) & 0xFFF7EEE000000000
	x ^= x >> 43
	return x
}

// uniform draws from [0, n) by rejection sampling, as oxen's common/random.cpp does.
func (m *mt19937_64) uniform(n uint64) uint64 {
	if n <= 1 {
		return 0
	}
	const max = ^uint64(0)
	secureMax := max - max%n
	for {
		x := m.next()
		if x < secureMax {
			return x / (secureMax / n)
		}
	}
}

// swarmMap is swarm id → member keys (Ed25519 public keys), kept sorted.
type swarmMap map[uint64][][32]byte

type swarmSize struct {
	id   uint64
	size int
}

func (s swarmMap) sizesAscending() []swarmSize {
	out := make([]swarmSize, 0, len(s))
	for id, m := range s {
		out = append(out, swarmSize{id, len(m)})
	}
	// oxend uses std::sort (not stable); ties are broken by id here so that the result is a
	// deterministic function of the block hash.
	sort.Slice(out, func(i, j int) bool {
		if out[i].size != out[j].size {
			return out[i].size < out[j].size
		}
		return out[i].id < out[j].id
	})
	return out
}

func (s swarmMap) sortedIDs() []uint64 {
	ids := make([]uint64, 0, len(s))
	for id := range s {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

func sortKeys(keys [][32]byte) {
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i][:], keys[j][:]) < 0 })
}

func removeKey(keys [][32]byte, k [32]byte) [][32]byte {
	for i := range keys {
		if keys[i] == k {
			return append(keys[:i:i], keys[i+1:]...)
		}
	}
	return keys
}

// newSwarmID is the midpoint of the largest gap between consecutive existing ids (the gap across
// the wrap is MAX_ID - last + first + 1), wrapping modulo MAX_ID+1; 0 when there are none.
func (s swarmMap) newSwarmID() uint64 {
	ids := s.sortedIDs()
	if len(ids) == 0 {
		return 0
	}
	var bestGap, bestID uint64
	for i, cur := range ids {
		var gap uint64
		if i == len(ids)-1 {
			gap = maxSwarmID - cur + ids[0] + 1
		} else {
			gap = ids[i+1] - cur
		}
		if gap > bestGap {
			bestGap = gap
			// (cur + gap/2) mod (MAX_ID+1)
			id := cur + bestGap/2
			if id < cur || id > maxSwarmID { // wrapped past 2^64 or onto the invalid id
				id -= maxSwarmID + 1
			}
			bestID = id
		}
	}
	return bestID
}

// assignSwarms runs oxend's calc_swarm_changes over the active nodes: prev gives each node's current
// swarm (absent or InvalidSwarmID = unassigned), active lists every active node. The RNG is seeded
// from the first 8 bytes of the block hash, read little-endian. It returns node → swarm id.
func assignSwarms(prev map[[32]byte]uint64, active [][32]byte, blockHash [32]byte) map[[32]byte]uint64 {
	rng := newMT19937_64(binary.LittleEndian.Uint64(blockHash[:8]))
	keys := append([][32]byte(nil), active...)
	sortKeys(keys)
	swarms := swarmMap{}
	var unassigned [][32]byte
	for _, k := range keys {
		id, ok := prev[k]
		if !ok || id == InvalidSwarmID {
			unassigned = append(unassigned, k)
			continue
		}
		swarms[id] = append(swarms[id], k)
	}
	if len(swarms) == 0 {
		swarms[swarms.newSwarmID()] = nil
	}
	assignTo(swarms, unassigned, rng, fillSwarmLowerPercentile)
	robinHood(swarms, rng)
	newSwarmsFromExcess(swarms, rng)
	// Dissolve swarms below the minimum while more than one swarm exists, re-assigning their
	// members to the smallest swarms.
	for len(swarms) > 1 {
		sizes := swarms.sizesAscending()
		if sizes[0].size >= minSwarmSize {
			break
		}
		members := swarms[sizes[0].id]
		delete(swarms, sizes[0].id)
		assignTo(swarms, members, rng, decommissionedRedistPercentile)
	}
	out := make(map[[32]byte]uint64, len(keys))
	for id, members := range swarms {
		for _, k := range members {
			out[k] = id
		}
	}
	for id := range swarms {
		sortKeys(swarms[id])
	}
	return out
}

// assignTo places each node (in order) into a random swarm among the smallest ones up to the given
// size percentile, then tries to form new swarms from the excess.
func assignTo(swarms swarmMap, nodes [][32]byte, rng *mt19937_64, percentile int) {
	for _, k := range nodes {
		sizes := swarms.sizesAscending()
		idx := percentile * (len(sizes) - 1) / 100
		limit := sizes[idx].size
		maxIdx := idx
		for maxIdx+1 < len(sizes) && sizes[maxIdx+1].size == limit {
			maxIdx++
		}
		pick := sizes[rng.uniform(uint64(maxIdx+1))].id
		swarms[pick] = append(swarms[pick], k)
		newSwarmsFromExcess(swarms, rng)
	}
}

func excessOf(swarms swarmMap) int {
	total := 0
	for _, m := range swarms {
		if len(m) > minSwarmSize {
			total += len(m) - minSwarmSize
		}
	}
	return total
}

// newSwarmsFromExcess builds new swarms of newSwarmSize from the nodes above the minimum of the
// existing swarms, as long as no swarm is below the minimum and the excess reaches the threshold.
func newSwarmsFromExcess(swarms swarmMap, rng *mt19937_64) {
	for _, m := range swarms {
		if len(m) < minSwarmSize {
			return
		}
	}
	for excessOf(swarms) >= newSwarmSize+idealSwarmMargin*len(swarms) {
		var fresh [][32]byte
		for len(fresh) < newSwarmSize {
			type slot struct {
				id uint64
				k  [32]byte
			}
			var pool []slot
			for _, id := range swarms.sortedIDs() {
				if len(swarms[id]) > minSwarmSize {
					for _, k := range swarms[id] {
						pool = append(pool, slot{id, k})
					}
				}
			}
			if len(pool) == 0 {
				break
			}
			p := pool[rng.uniform(uint64(len(pool)))]
			swarms[p.id] = removeKey(swarms[p.id], p.k)
			fresh = append(fresh, p.k)
		}
		swarms[swarms.newSwarmID()] = fresh
	}
}

// robinHood tops up swarms below the minimum by stealing random nodes from the largest swarms, but
// only when the total excess covers the total deficit.
func robinHood(swarms swarmMap, rng *mt19937_64) {
	sizes := swarms.sizesAscending()
	if len(sizes) < 2 {
		return
	}
	threshold := sizes[stealingSwarmUpperPercentile*(len(sizes)-1)/100].size - 1
	if threshold < minSwarmSize {
		threshold = minSwarmSize
	}
	excess, deficit := 0, 0
	for _, s := range sizes {
		if s.size > threshold {
			excess += s.size - minSwarmSize
		}
		if s.size < minSwarmSize {
			deficit += minSwarmSize - s.size
		}
	}
	if deficit == 0 || excess < deficit {
		return
	}
	for _, s := range sizes {
		if s.size >= minSwarmSize {
			break
		}
		for len(swarms[s.id]) < minSwarmSize {
			type slot struct {
				id uint64
				k  [32]byte
			}
			var pool []slot
			for _, id := range swarms.sortedIDs() {
				if id != s.id && len(swarms[id]) > threshold && len(swarms[id]) > minSwarmSize {
					for _, k := range swarms[id] {
						pool = append(pool, slot{id, k})
					}
				}
			}
			if len(pool) == 0 {
				return
			}
			p := pool[rng.uniform(uint64(len(pool)))]
			swarms[p.id] = removeKey(swarms[p.id], p.k)
			swarms[s.id] = append(swarms[s.id], p.k)
		}
	}
}
