package onion

import (
	"crypto/subtle"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// X25519 is written here, on filippo.io/edwards25519's field and point arithmetic, because the
// Go libraries that offer it (crypto/ecdh, and x/crypto/curve25519 which wraps it) compute the
// private key's public key whenever a private key is used, with a full Montgomery ladder. An
// onion layer needs a fresh key pair and one DH, so those libraries cost three ladders per
// layer where libsodium spends one fixed-base multiplication and one ladder, and building an
// onion took ~1.6× libsodium's time. Both functions are checked against crypto/ecdh on random
// inputs and against the RFC 7748 vectors (x25519_test.go), and every hop vector goes through
// them.

// x25519Base sets pub to X25519(priv, 9): the Montgomery u-coordinate of clamp(priv)·B,
// computed with the fixed-base tables of the Edwards form.
func x25519Base(pub, priv *[32]byte) {
	s, _ := new(edwards25519.Scalar).SetBytesWithClamping(priv[:]) // fails only on length
	copy(pub[:], new(edwards25519.Point).ScalarBaseMult(s).BytesMontgomery())
}

// x25519 sets dst to X25519(scalar, point) (RFC 7748 §5, constant time) and reports whether
// the result is not all zero (it is zero exactly when point has small order).
func x25519(dst, scalar, point *[32]byte) bool {
	var e [32]byte
	copy(e[:], scalar[:])
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64

	var x1, x2, z2, x3, z3, tmp0, tmp1 field.Element
	_, _ = x1.SetBytes(point[:]) // fails only on length; ignores the top bit as RFC 7748 says
	x2.One()
	x3.Set(&x1)
	z3.One()

	swap := 0
	for pos := 254; pos >= 0; pos-- {
		b := int(e[pos/8]>>uint(pos&7)) & 1
		swap ^= b
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = b

		tmp0.Subtract(&x3, &z3)
		tmp1.Subtract(&x2, &z2)
		x2.Add(&x2, &z2)
		z2.Add(&x3, &z3)
		z3.Multiply(&tmp0, &x2)
		z2.Multiply(&z2, &tmp1)
		tmp0.Square(&tmp1)
		tmp1.Square(&x2)
		x3.Add(&z3, &z2)
		z2.Subtract(&z3, &z2)
		x2.Multiply(&tmp1, &tmp0)
		tmp1.Subtract(&tmp1, &tmp0)
		z2.Square(&z2)

		z3.Mult32(&tmp1, 121666)
		x3.Square(&x3)
		tmp0.Add(&tmp0, &z3)
		z3.Multiply(&x1, &z2)
		z2.Multiply(&tmp1, &tmp0)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	copy(dst[:], x2.Bytes())
	var zero [32]byte
	return subtle.ConstantTimeCompare(dst[:], zero[:]) == 0
}

// x25519BaseBatch sets pubs[i] = X25519(privs[i], 9) for every i, sharing one field inversion
// between all of them (Montgomery's trick): an onion needs one key pair per layer, and each
// inversion is a sizeable part of a fixed-base multiplication.
func x25519BaseBatch(pubs, privs [][32]byte) {
	n := len(privs)
	if n == 0 {
		return
	}
	num := make([]field.Element, n)
	den := make([]field.Element, n)
	var p edwards25519.Point
	var zero field.Element
	for i := range privs {
		s, _ := new(edwards25519.Scalar).SetBytesWithClamping(privs[i][:]) // fails only on length
		p.ScalarBaseMult(s)
		_, y, z, _ := p.ExtendedCoordinates()
		num[i].Add(z, y)      // u = (Z + Y) / (Z - Y)
		den[i].Subtract(z, y) // zero only for the identity (clamp(k) ≡ 0 mod ℓ)
		if den[i].Equal(&zero) == 1 {
			for j := range privs { // never in practice; keep the exact per-key result
				x25519Base(&pubs[j], &privs[j])
			}
			return
		}
	}
	// prefix[i] = den[0]·…·den[i]; one inversion of the total, then walk back.
	prefix := make([]field.Element, n)
	prefix[0].Set(&den[0])
	for i := 1; i < n; i++ {
		prefix[i].Multiply(&prefix[i-1], &den[i])
	}
	var inv, u, t field.Element
	inv.Invert(&prefix[n-1])
	for i := n - 1; i >= 0; i-- {
		if i > 0 {
			t.Multiply(&inv, &prefix[i-1]) // 1/den[i]
			inv.Multiply(&inv, &den[i])    // 1/(den[0]·…·den[i-1])
		} else {
			t.Set(&inv)
		}
		u.Multiply(&num[i], &t)
		copy(pubs[i][:], u.Bytes())
	}
}
