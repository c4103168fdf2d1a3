package crypto

import (
	"encoding"
	"encoding/binary"
	"fmt"
	"hash"
	"math/bits"

	"golang.org/x/crypto/blake2b"
)

// Blake2b returns the size-byte BLAKE2b hash (libsodium's crypto_generichash) of the
// concatenation of data, keyed with key when it is not empty. size must be 1..64 and key at most
// 64 bytes.
func Blake2b(size int, key []byte, data ...[]byte) ([]byte, error) {
	if size < 1 || size > blake2b.Size || len(key) > blake2b.Size {
		return nil, fmt.Errorf("%w: output %d, key %d bytes (both at most 64)", ErrInvalidHashSize, size, len(key))
	}
	h, err := blake2b.New(size, key)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidHashSize, err)
	}
	for _, d := range data {
		h.Write(d)
	}
	return h.Sum(nil), nil
}

// Blake2b256 returns the 32-byte BLAKE2b hash of the concatenation of data, keyed with key
// (at most 64 bytes; longer keys are a programming error and panic).
func Blake2b256(key []byte, data ...[]byte) [32]byte {
	h, err := Blake2b(32, key, data...)
	if err != nil {
		panic(err)
	}
	return [32]byte(h)
}

// Blake2b512 returns the 64-byte BLAKE2b hash of the concatenation of data, keyed with key
// (at most 64 bytes; longer keys are a programming error and panic).
func Blake2b512(key []byte, data ...[]byte) [64]byte {
	h, err := Blake2b(64, key, data...)
	if err != nil {
		panic(err)
	}
	return [64]byte(h)
}

// Blake2bSaltPersonal is Blake2b with BLAKE2b's salt and personalisation parameters (libsodium's
// crypto_generichash_blake2b_salt_personal). salt and personal are 16 bytes each, or nil for
// zeros. Session uses them for XEd25519 nonces, file IDs and attachment keys.
//
// golang.org/x/crypto/blake2b has no way to set these parameters, and no maintained Go library
// exposes them. They only change the initial chaining value, so the fast path starts an
// x/crypto digest (with its assembly compression) from a state set up through its
// encoding.BinaryMarshaler form; if that form ever changes, a small self-contained BLAKE2b
// (RFC 7693) below takes over. Tests check both against x/crypto for zero parameters and
// against reference outputs for non-zero ones.
func Blake2bSaltPersonal(size int, key, salt, personal []byte, data ...[]byte) ([]byte, error) {
	if size < 1 || size > 64 || len(key) > 64 {
		return nil, fmt.Errorf("%w: output %d, key %d bytes (both at most 64)", ErrInvalidHashSize, size, len(key))
	}
	if (salt != nil && len(salt) != 16) || (personal != nil && len(personal) != 16) {
		return nil, fmt.Errorf("%w: salt and personalisation must be 16 bytes (got %d and %d)", ErrInvalidHashSize, len(salt), len(personal))
	}
	if h := paramDigest(size, key, salt, personal); h != nil {
		for _, p := range data {
			h.Write(p)
		}
		return h.Sum(nil), nil
	}
	return blake2bGeneric(size, key, salt, personal, data...), nil
}

// x/crypto's marshalled digest: "b2b" ‖ h[0..7] ‖ c[0..1] (big-endian uint64s) ‖ size ‖
// block[128] ‖ offset.
const (
	b2bMagic     = "b2b"
	b2bStateSize = len(b2bMagic) + 8*8 + 2*8 + 1 + 128 + 1
)

// paramDigest returns an x/crypto BLAKE2b digest whose state is that of BLAKE2b with the given
// key, salt and personalisation before any data, or nil when x/crypto's state form is not the
// one expected.
func paramDigest(size int, key, salt, personal []byte) hash.Hash {
	h, err := blake2b.New(size, nil)
	if err != nil {
		return nil
	}
	m, ok1 := h.(encoding.BinaryMarshaler)
	u, ok2 := h.(encoding.BinaryUnmarshaler)
	if !ok1 || !ok2 {
		return nil
	}
	st, err := m.MarshalBinary()
	if err != nil || len(st) != b2bStateSize || string(st[:3]) != b2bMagic || int(st[3+64+16]) != size {
		return nil
	}
	words := st[3 : 3+64]
	xor := func(i int, v uint64) {
		binary.BigEndian.PutUint64(words[8*i:], binary.BigEndian.Uint64(words[8*i:])^v)
	}
	if binary.BigEndian.Uint64(words) != b2bIV[0]^(uint64(size)|1<<16|1<<24) {
		return nil // not the fresh unkeyed state we know how to adjust
	}
	xor(0, uint64(len(key))<<8)
	if salt != nil {
		xor(4, binary.LittleEndian.Uint64(salt[0:]))
		xor(5, binary.LittleEndian.Uint64(salt[8:]))
	}
	if personal != nil {
		xor(6, binary.LittleEndian.Uint64(personal[0:]))
		xor(7, binary.LittleEndian.Uint64(personal[8:]))
	}
	if len(key) > 0 {
		// The key, zero-padded to a block, is the first block; it is pending (offset 128)
		// so that it is compressed as the last block when no data follows.
		block := st[3+64+16+1 : 3+64+16+1+128]
		clear(block)
		copy(block, key)
		st[len(st)-1] = 128
	}
	if u.UnmarshalBinary(st) != nil {
		return nil
	}
	return h
}

// blake2bGeneric is a plain BLAKE2b (RFC 7693) with every parameter, for when paramDigest cannot
// be used.
func blake2bGeneric(size int, key, salt, personal []byte, data ...[]byte) []byte {
	var d b2bDigest
	d.init(size, key, salt, personal)
	for _, p := range data {
		d.write(p)
	}
	return d.sum()
}

var b2bIV = [8]uint64{
	0x6a09e667f3bcc908, 0xbb67ae8584caa73b, 0x3c6ef372fe94f82b, 0xa54ff53a5f1d36f1,
	0x510e527fade682d1, 0x9b05688c2b3e6c1f, 0x1f83d9abfb41bd6b, 0x5be0cd19137e2179,
}

var b2bSigma = [12][16]byte{
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
	{11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
	{7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
	{9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
	{2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
	{12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
	{13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
	{6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
	{10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
	{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
	{14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
}

type b2bDigest struct {
	h    [8]uint64
	t    [2]uint64
	buf  [128]byte
	n    int
	size int
}

func (d *b2bDigest) init(size int, key, salt, personal []byte) {
	d.size = size
	d.h = b2bIV
	d.h[0] ^= uint64(size) | uint64(len(key))<<8 | 1<<16 | 1<<24
	if salt != nil {
		d.h[4] ^= binary.LittleEndian.Uint64(salt[0:])
		d.h[5] ^= binary.LittleEndian.Uint64(salt[8:])
	}
	if personal != nil {
		d.h[6] ^= binary.LittleEndian.Uint64(personal[0:])
		d.h[7] ^= binary.LittleEndian.Uint64(personal[8:])
	}
	if len(key) > 0 {
		var block [128]byte
		copy(block[:], key)
		d.write(block[:])
	}
}

func (d *b2bDigest) write(p []byte) {
	for len(p) > 0 {
		if d.n == len(d.buf) {
			// Only compress a full buffer once more input follows: the last block is special.
			d.addCounter(128)
			d.compress(false)
			d.n = 0
		}
		c := copy(d.buf[d.n:], p)
		d.n += c
		p = p[c:]
	}
}

func (d *b2bDigest) addCounter(n uint64) {
	d.t[0] += n
	if d.t[0] < n {
		d.t[1]++
	}
}

func (d *b2bDigest) sum() []byte {
	d.addCounter(uint64(d.n))
	clear(d.buf[d.n:])
	d.compress(true)
	var out [64]byte
	for i, v := range d.h {
		binary.LittleEndian.PutUint64(out[8*i:], v)
	}
	return append([]byte(nil), out[:d.size]...)
}

func (d *b2bDigest) compress(last bool) {
	var m [16]uint64
	for i := range m {
		m[i] = binary.LittleEndian.Uint64(d.buf[8*i:])
	}
	var v [16]uint64
	copy(v[:8], d.h[:])
	copy(v[8:], b2bIV[:])
	v[12] ^= d.t[0]
	v[13] ^= d.t[1]
	if last {
		v[14] = ^v[14]
	}
	g := func(a, b, c, dd int, x, y uint64) {
		v[a] = v[a] + v[b] + x
		v[dd] = bits.RotateLeft64(v[dd]^v[a], -32)
		v[c] = v[c] + v[dd]
		v[b] = bits.RotateLeft64(v[b]^v[c], -24)
		v[a] = v[a] + v[b] + y
		v[dd] = bits.RotateLeft64(v[dd]^v[a], -16)
		v[c] = v[c] + v[dd]
		v[b] = bits.RotateLeft64(v[b]^v[c], -63)
	}
	for r := 0; r < 12; r++ {
		s := &b2bSigma[r]
		g(0, 4, 8, 12, m[s[0]], m[s[1]])
		g(1, 5, 9, 13, m[s[2]], m[s[3]])
		g(2, 6, 10, 14, m[s[4]], m[s[5]])
		g(3, 7, 11, 15, m[s[6]], m[s[7]])
		g(0, 5, 10, 15, m[s[8]], m[s[9]])
		g(1, 6, 11, 12, m[s[10]], m[s[11]])
		g(2, 7, 8, 13, m[s[12]], m[s[13]])
		g(3, 4, 9, 14, m[s[14]], m[s[15]])
	}
	for i := range d.h {
		d.h[i] ^= v[i] ^ v[i+8]
	}
}
