package crypto

import (
	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"github.com/cloudflare/circl/dh/x25519"
)

// X25519 for the Session Protocol and onion layers. The Go libraries that offer it
// (crypto/ecdh, and x/crypto/curve25519 which wraps it) compute the private key's public key
// whenever a private key is used, with a full Montgomery ladder: a key pair and one DH cost three
// ladders where libsodium spends one fixed-base multiplication and one ladder. So the public key
// is a fixed-base Edwards multiplication here, and the DH uses circl's ladder. Both are checked
// against crypto/ecdh on random inputs and the RFC 7748 vectors (x25519_test.go).

// X25519 returns X25519(scalar, point) (RFC 7748, constant time) and false when the result is
// zero (point of small order), which libsodium refuses. It uses github.com/cloudflare/circl's X25519,
// whose assembly field arithmetic is about a third faster here than crypto/ecdh's (which
// x/crypto/curve25519 and nacl/box use, and whose NewPrivateKey also computes a public key, a
// second full ladder, on every call).
func X25519(scalar, point *[32]byte) ([32]byte, bool) {
	var out x25519.Key
	ok := x25519.Shared(&out, (*x25519.Key)(scalar), (*x25519.Key)(point))
	return [32]byte(out), ok && !isAllZero(out[:])
}

// X25519Base returns X25519(priv, 9), the public key of priv: the Montgomery u-coordinate of
// clamp(priv)·B, computed with the fixed-base tables of the Edwards form (a fraction of a
// ladder's cost).
func X25519Base(priv *[32]byte) [32]byte {
	s, _ := new(edwards25519.Scalar).SetBytesWithClamping(priv[:]) // fails only on length
	return [32]byte(new(edwards25519.Point).ScalarBaseMult(s).BytesMontgomery())
}

// X25519BaseBatch sets pubs[i] = X25519Base(&privs[i]) for every i (pubs must be as long as
// privs), sharing one field inversion between all of them (Montgomery's trick): an onion needs
// one key pair per layer, and each inversion is a sizeable part of a fixed-base multiplication.
func X25519BaseBatch(pubs, privs [][32]byte) {
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
				pubs[j] = X25519Base(&privs[j])
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
