package crypto

import (
	"bytes"
	mrand "math/rand/v2"
	"testing"
)

// The fast path (an x/crypto digest started from an adjusted state) and the generic BLAKE2b give
// the same hashes for every parameter combination, around block boundaries.
func TestBlake2bFastPathMatchesGeneric(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	rnd := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.IntN(256))
		}
		return b
	}
	for i := 0; i < 400; i++ {
		size := 1 + r.IntN(64)
		key := rnd([]int{0, 1, 32, 64}[r.IntN(4)])
		var salt, personal []byte
		if r.IntN(2) == 0 {
			salt = rnd(16)
		}
		if r.IntN(2) == 0 {
			personal = rnd(16)
		}
		msg := rnd([]int{0, 1, 127, 128, 129, 256, 1000}[r.IntN(7)])
		h := paramDigest(size, key, salt, personal)
		if h == nil {
			t.Fatal("fast path unavailable: x/crypto's blake2b state form changed")
		}
		h.Write(msg[:len(msg)/3])
		h.Write(msg[len(msg)/3:])
		fast := h.Sum(nil)
		if slow := blake2bGeneric(size, key, salt, personal, msg); !bytes.Equal(fast, slow) {
			t.Fatalf("size %d key %d salt %v personal %v len %d: fast %x generic %x", size, len(key), salt != nil, personal != nil, len(msg), fast, slow)
		}
	}
}
