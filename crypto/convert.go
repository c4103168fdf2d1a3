package crypto

import (
	"fmt"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// scalarLMinus1 is ℓ−1, the largest canonical scalar; [ℓ−1]P + P is the identity exactly when P
// lies in the prime-order subgroup.
var scalarLMinus1 = func() *edwards25519.Scalar {
	b := [32]byte{
		0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
	}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(b[:])
	if err != nil {
		panic(err) // a constant; cannot fail
	}
	return s
}()

// ParseEd25519Point decodes a public Ed25519 key with the checks libsodium applies to keys it
// converts or multiplies: canonical encoding, not of small order, in the prime-order subgroup.
// filippo.io/edwards25519 alone accepts non-canonical encodings and does none of these checks.
func ParseEd25519Point(pk [32]byte) (*edwards25519.Point, error) {
	p, err := new(edwards25519.Point).SetBytes(pk[:])
	if err != nil {
		return nil, fmt.Errorf("%w: not a point on the curve", ErrInvalidPublicKey)
	}
	if [32]byte(p.Bytes()) != pk {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrInvalidPublicKey)
	}
	if new(edwards25519.Point).MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, fmt.Errorf("%w: small-order point", ErrInvalidPublicKey)
	}
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(scalarLMinus1, p, edwards25519.NewScalar())
	if q.Add(q, p).Equal(edwards25519.NewIdentityPoint()) != 1 {
		return nil, fmt.Errorf("%w: not in the prime-order subgroup", ErrInvalidPublicKey)
	}
	return p, nil
}

// Ed25519PublicToX25519 converts an Ed25519 public key to its X25519 (Montgomery) form, as
// libsodium's crypto_sign_ed25519_pk_to_curve25519 does, rejecting the same invalid keys.
func Ed25519PublicToX25519(pk [32]byte) ([32]byte, error) {
	p, err := ParseEd25519Point(pk)
	if err != nil {
		return [32]byte{}, err
	}
	return [32]byte(p.BytesMontgomery()), nil
}

// x25519BaseFromEd converts our own, known-valid Ed25519 public key without the subgroup checks.
func x25519BaseFromEd(pk [32]byte) [32]byte {
	p, err := new(edwards25519.Point).SetBytes(pk[:])
	if err != nil {
		panic("crypto: own Ed25519 public key does not decode") // unreachable: made by ed25519.NewKeyFromSeed
	}
	return [32]byte(p.BytesMontgomery())
}

// XEd25519PublicKey returns the Ed25519 public key whose X25519 form is x, with the sign bit
// clear: y = (u−1)/(u+1). It equals the real Ed25519 key when that key's sign bit is clear, and
// the real key with bit 255 cleared otherwise. Blinded IDs are built from it.
func XEd25519PublicKey(x [32]byte) ([32]byte, error) {
	u, err := new(field.Element).SetBytes(x[:]) // ignores bit 255, as libsodium does
	if err != nil {
		return [32]byte{}, fmt.Errorf("%w: %v", ErrInvalidPublicKey, err)
	}
	one := new(field.Element).One()
	den := new(field.Element).Add(u, one)
	if den.Equal(new(field.Element).Zero()) == 1 {
		return [32]byte{}, fmt.Errorf("%w: X25519 key has no Edwards form", ErrInvalidPublicKey)
	}
	num := new(field.Element).Subtract(u, one)
	y := new(field.Element).Multiply(num, new(field.Element).Invert(den))
	out := [32]byte(y.Bytes())
	out[31] &= 0x7f
	return out, nil
}
