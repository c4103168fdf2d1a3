package blinding

import (
	"crypto/sha512"
	"fmt"

	"filippo.io/edwards25519"

	"github.com/sessiongo/sdk/crypto"
)

// reduce64 is libsodium's crypto_core_ed25519_scalar_reduce: a 64-byte little-endian number
// taken mod ℓ.
func reduce64(h []byte) *edwards25519.Scalar {
	s, err := new(edwards25519.Scalar).SetUniformBytes(h)
	if err != nil {
		panic("blinding: reduce64 needs 64 bytes") // callers always pass a 64-byte hash
	}
	return s
}

// scalarFromClamped turns a clamped 32-byte private scalar (the X25519 private key, which is also
// the Ed25519 secret scalar) into a Scalar mod ℓ. Clamping is idempotent on such input.
func scalarFromClamped(b [32]byte) *edwards25519.Scalar {
	s, err := new(edwards25519.Scalar).SetBytesWithClamping(b[:])
	if err != nil {
		panic("blinding: scalar needs 32 bytes") // the argument is a [32]byte
	}
	return s
}

var zeroScalar = edwards25519.NewScalar()

// parsePoint decodes a public point with libsodium's checks for *_noclamp multiplication
// (canonical, not of small order, in the prime-order subgroup), reported as ErrCannotBlind.
func parsePoint(b [32]byte) (*edwards25519.Point, error) {
	p, err := crypto.ParseEd25519Point(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCannotBlind, err)
	}
	return p, nil
}

// mulPublic returns s·p for a public scalar and a point from parsePoint, in variable time, and
// refuses an identity result as crypto_scalarmult_ed25519_noclamp does (the point is in the
// prime-order subgroup, so that happens only for s = 0).
func mulPublic(s *edwards25519.Scalar, p *edwards25519.Point) ([32]byte, error) {
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(s, p, zeroScalar)
	if q.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return [32]byte{}, fmt.Errorf("%w: degenerate result", ErrCannotBlind)
	}
	return [32]byte(q.Bytes()), nil
}

// mulSecret returns s·p for a secret scalar in constant time, with the same identity check.
func mulSecret(s *edwards25519.Scalar, p *edwards25519.Point) ([32]byte, error) {
	q := new(edwards25519.Point).ScalarMult(s, p)
	if q.Equal(edwards25519.NewIdentityPoint()) == 1 {
		return [32]byte{}, fmt.Errorf("%w: degenerate result", ErrCannotBlind)
	}
	return [32]byte(q.Bytes()), nil
}

// mulBase returns s·B (crypto_scalarmult_ed25519_base_noclamp), refusing s = 0.
func mulBase(s *edwards25519.Scalar) ([32]byte, error) {
	if s.Equal(zeroScalar) == 1 {
		return [32]byte{}, fmt.Errorf("%w: zero scalar", ErrCannotBlind)
	}
	return [32]byte(new(edwards25519.Point).ScalarBaseMult(s).Bytes()), nil
}

// signWithScalar makes an Ed25519 signature with a private scalar that has no seed: R = r·B,
// S = r + SHA-512(R || pub || msg)·priv. It verifies as ordinary Ed25519 under pub. The standard
// library cannot sign with a bare scalar, so this is written out on top of edwards25519.
func signWithScalar(priv *edwards25519.Scalar, pub [32]byte, r *edwards25519.Scalar, msg []byte) [64]byte {
	R := new(edwards25519.Point).ScalarBaseMult(r).Bytes()
	h := sha512.New()
	h.Write(R)
	h.Write(pub[:])
	h.Write(msg)
	hram := reduce64(h.Sum(nil))
	S := new(edwards25519.Scalar).MultiplyAdd(hram, priv, r)
	var sig [64]byte
	copy(sig[:32], R)
	copy(sig[32:], S.Bytes())
	return sig
}

// isSmallOrder reports whether b decodes to a point of small order (libsodium's
// ge25519_has_small_order, which also catches non-canonical encodings of such points).
func isSmallOrder(b [32]byte) bool {
	p, err := new(edwards25519.Point).SetBytes(b[:])
	if err != nil {
		return false
	}
	return new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1
}
