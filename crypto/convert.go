package crypto

import (
	"fmt"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
)

// ParseEd25519Point decodes a public Ed25519 key with the checks libsodium applies to keys it
// converts or multiplies: canonical encoding, not of small order, in the prime-order subgroup.
// filippo.io/edwards25519 alone accepts non-canonical encodings and does none of these checks.
func ParseEd25519Point(pk [32]byte) (*edwards25519.Point, error) {
	p, err := parseSenderKey(&pk)
	if err != nil {
		return nil, err
	}
	u, err := new(field.Element).SetBytes(p.BytesMontgomery())
	if err != nil || !inPrimeOrderSubgroup(u) {
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
		return [32]byte{}, fmt.Errorf("%w: %w", ErrInvalidPublicKey, err)
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
