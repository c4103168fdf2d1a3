package swarm

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// BenchmarkClosestSwarm looks up account swarms in a pool of 2,000 nodes in 300 swarms.
func BenchmarkClosestSwarm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]uint64, 300)
	for i := range ids {
		ids[i] = r.Uint64()
	}
	nodes := fakeNodes(2000, ids...)
	idx := newSwarmIndex(nodes)
	keys := make([][32]byte, 1024)
	for i := range keys {
		for j := 0; j < 4; j++ {
			binary.LittleEndian.PutUint64(keys[i][8*j:], r.Uint64())
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, m, ok := idx.lookup(keys[i%len(keys)]); !ok || len(m) == 0 {
			b.Fatal("no swarm")
		}
	}
}
