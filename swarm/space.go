package swarm

import (
	"encoding/binary"
	"slices"
	"sort"

	"github.com/sessiongo/sdk/crypto"
)

// SwarmSpace returns the position of a 32-byte account key on the swarm ring: the XOR of its
// four 8-byte chunks, each read big-endian. The key is the Account ID without its prefix byte
// (the X25519 key of an 05 ID, the Ed25519 key of an 03 group).
func SwarmSpace(key [32]byte) uint64 {
	return binary.BigEndian.Uint64(key[0:8]) ^ binary.BigEndian.Uint64(key[8:16]) ^
		binary.BigEndian.Uint64(key[16:24]) ^ binary.BigEndian.Uint64(key[24:32])
}

// AccountSwarmSpace is SwarmSpace of the account's 32-byte key (its prefix is ignored).
func AccountSwarmSpace(id crypto.AccountID) uint64 { return SwarmSpace(id.Key()) }

// ClosestSwarm returns the swarm that stores an account whose swarm-space value is v, chosen
// among ids exactly as the storage servers choose it: the nearest id on the 2^64 ring, with
// distances computed with wrapping subtraction and ties going to the lower (left) neighbour,
// including across the wrap. ids must be sorted ascending and distinct; InvalidSwarmID entries
// are ignored. It costs O(log n). ok is false when there is no valid swarm.
func ClosestSwarm(ids []uint64, v uint64) (id uint64, ok bool) {
	// InvalidSwarmID sorts last: drop it from the tail.
	for len(ids) > 0 && ids[len(ids)-1] == InvalidSwarmID {
		ids = ids[:len(ids)-1]
	}
	switch len(ids) {
	case 0:
		return 0, false
	case 1:
		return ids[0], true
	}
	r := sort.Search(len(ids), func(i int) bool { return ids[i] >= v })
	if r == len(ids) {
		r = 0
	}
	l := r - 1
	if l < 0 {
		l = len(ids) - 1
	}
	right, left := ids[r], ids[l]
	if right-v < v-left {
		return right, true
	}
	return left, true
}

// swarmIndex groups a pool's nodes by swarm, with the valid swarm IDs sorted for ClosestSwarm.
type swarmIndex struct {
	ids     []uint64
	members map[uint64][]Node
}

func newSwarmIndex(nodes []Node) swarmIndex {
	idx := swarmIndex{members: make(map[uint64][]Node)}
	for _, n := range nodes {
		if n.SwarmID == InvalidSwarmID {
			continue
		}
		if _, ok := idx.members[n.SwarmID]; !ok {
			idx.ids = append(idx.ids, n.SwarmID)
		}
		idx.members[n.SwarmID] = append(idx.members[n.SwarmID], n)
	}
	slices.Sort(idx.ids)
	return idx
}

// lookup returns the swarm ID and members for an account key.
func (idx swarmIndex) lookup(key [32]byte) (uint64, []Node, bool) {
	id, ok := ClosestSwarm(idx.ids, SwarmSpace(key))
	if !ok {
		return 0, nil, false
	}
	return id, idx.members[id], true
}
