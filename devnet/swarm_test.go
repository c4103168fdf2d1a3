package devnet

import (
	"testing"
)

func TestMT19937_64Reference(t *testing.T) {
	// The C++ standard requires the 10000th output of mt19937_64 with the default seed 5489.
	m := newMT19937_64(5489)
	if got := m.next(); got != 14514284786278117030 {
		t.Fatalf("first output %d", got)
	}
	for i := 1; i < 9999; i++ {
		m.next()
	}
	if got := m.next(); got != 9981545732273789042 {
		t.Fatalf("10000th output %d", got)
	}
}

func keysN(n int) [][32]byte {
	out := make([][32]byte, n)
	for i := range out {
		out[i][0] = byte(i)
		out[i][1] = byte(i >> 8)
		out[i][31] = 0xaa
	}
	return out
}

func sizes(a map[[32]byte]uint64) map[uint64]int {
	s := map[uint64]int{}
	for _, id := range a {
		s[id]++
	}
	return s
}

func TestAssignSwarms(t *testing.T) {
	var bh [32]byte
	bh[0] = 1
	a := assignSwarms(nil, keysN(13), bh)
	if s := sizes(a); len(s) != 1 || s[0] != 13 {
		t.Fatalf("13 nodes: %v", s)
	}
	a = assignSwarms(nil, keysN(14), bh)
	s := sizes(a)
	if len(s) != 2 || s[0] != 7 || s[0x7fffffffffffffff] != 7 {
		t.Fatalf("14 nodes: %v", s)
	}
	// Robin Hood: take three nodes out of one swarm (7 → 4): one node is stolen from the other.
	var keys [][32]byte
	removed := 0
	for k, id := range a {
		if id == 0 && removed < 3 {
			removed++
			continue
		}
		keys = append(keys, k)
	}
	b := assignSwarms(a, keys, bh)
	s = sizes(b)
	if len(s) != 2 || s[0] != 5 || s[0x7fffffffffffffff] != 6 {
		t.Fatalf("after Robin Hood: %v", s)
	}
	// Existing assignments are kept when nothing changes.
	c := assignSwarms(b, keys, bh)
	for k, id := range b {
		if c[k] != id {
			t.Fatal("stable membership moved a node")
		}
	}
	// A third swarm appears once the excess reaches 7 + 2*2.
	d := assignSwarms(nil, keysN(40), bh)
	if len(sizes(d)) < 3 {
		t.Fatalf("40 nodes: %v", sizes(d))
	}
	for id, n := range sizes(d) {
		if n < minSwarmSize || id == InvalidSwarmID {
			t.Fatalf("40 nodes: %v", sizes(d))
		}
	}
}

func TestNewSwarmIDWrap(t *testing.T) {
	s := swarmMap{maxSwarmID - 10: nil, 100: nil}
	// Gaps: 100 → max-10 is huge; the wrap gap is small. New id is in the middle of the big one.
	if id := s.newSwarmID(); id != 100+(maxSwarmID-10-100)/2 {
		t.Fatalf("new id %x", id)
	}
	s = swarmMap{10: nil, 20: nil}
	// The wrap gap (20 → 10 across MAX) is the largest: midpoint wraps modulo MAX+1.
	want := uint64(20) + (maxSwarmID-20+10+1)/2
	if id := s.newSwarmID(); id != want {
		t.Fatalf("wrap id %x, want %x", id, want)
	}
}
