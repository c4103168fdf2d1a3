package crypto

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"fmt"
	"io"
)

// SessionSeedSize is the size of the seed that new accounts are made from and that the Recovery
// Password encodes.
const SessionSeedSize = 16

// Keys is an account's key material: the Ed25519 key pair made from its seed and the X25519 key
// pair derived from it. Keys is immutable and safe for concurrent use. Printing a Keys with any
// fmt verb shows only its Account ID.
type Keys struct {
	seed   [32]byte
	edPriv ed25519.PrivateKey // seed || public key
	edPub  [32]byte
	xPriv  [32]byte
	xPub   [32]byte
	id     AccountID
}

// KeysFromSeed derives an account's keys from a 16-byte Session seed (zero-padded to 32 bytes, as
// every Session client does; not hashed) or from a full 32-byte Ed25519 seed.
func KeysFromSeed(seed []byte) (*Keys, error) {
	var s [32]byte
	switch len(seed) {
	case SessionSeedSize, 32:
		copy(s[:], seed)
	default:
		return nil, fmt.Errorf("%w (got %d bytes)", ErrInvalidSeed, len(seed))
	}
	return keysFromEd25519Seed(s), nil
}

// GenerateKeys makes a new account from 16 bytes read from r (crypto/rand when r is nil), so that
// it has a Recovery Password.
func GenerateKeys(r io.Reader) (*Keys, error) {
	if r == nil {
		r = rand.Reader
	}
	var seed [SessionSeedSize]byte
	if _, err := io.ReadFull(r, seed[:]); err != nil {
		return nil, fmt.Errorf("crypto: reading random seed: %w", err)
	}
	return KeysFromSeed(seed[:])
}

func keysFromEd25519Seed(seed [32]byte) *Keys {
	k := &Keys{seed: seed}
	k.edPriv = ed25519.NewKeyFromSeed(seed[:])
	copy(k.edPub[:], k.edPriv[32:])
	k.xPriv = Ed25519PrivateToX25519(seed)
	// The public key of a valid Ed25519 key pair always converts.
	k.xPub = x25519BaseFromEd(k.edPub)
	k.id = NewAccountID(PrefixStandard, k.xPub)
	return k
}

// Seed returns the 32-byte Ed25519 seed. For accounts made from a Session seed its last 16 bytes
// are zero. It is secret.
func (k *Keys) Seed() [32]byte { return k.seed }

// SessionSeed returns the 16-byte Session seed, and false when the keys come from a 32-byte seed
// whose last 16 bytes are not zero.
func (k *Keys) SessionSeed() ([SessionSeedSize]byte, bool) {
	var s [SessionSeedSize]byte
	copy(s[:], k.seed[:SessionSeedSize])
	for _, b := range k.seed[SessionSeedSize:] {
		if b != 0 {
			return s, false
		}
	}
	return s, true
}

// RecoveryPassword returns the 13-word Recovery Password that restores these keys in any Session
// app, or ErrNoRecoveryPassword for keys made from a full 32-byte seed.
func (k *Keys) RecoveryPassword() (string, error) {
	s, ok := k.SessionSeed()
	if !ok {
		return "", ErrNoRecoveryPassword
	}
	return EncodeMnemonic(s), nil
}

// Ed25519PublicKey returns the account's Ed25519 public key.
func (k *Keys) Ed25519PublicKey() [32]byte { return k.edPub }

// Ed25519PrivateKey returns a copy of the 64-byte Ed25519 private key (seed || public key).
func (k *Keys) Ed25519PrivateKey() ed25519.PrivateKey {
	return append(ed25519.PrivateKey(nil), k.edPriv...)
}

// X25519PublicKey returns the X25519 public key, the key part of the Account ID.
func (k *Keys) X25519PublicKey() [32]byte { return k.xPub }

// X25519PrivateKey returns the X25519 private key: the clamped first half of SHA-512(seed), which
// is also the Ed25519 private scalar. It is secret.
func (k *Keys) X25519PrivateKey() [32]byte { return k.xPriv }

// AccountID returns the account's 05-prefixed Account ID.
func (k *Keys) AccountID() AccountID { return k.id }

// Sign returns the Ed25519 signature of msg.
func (k *Keys) Sign(msg []byte) [64]byte {
	return [64]byte(ed25519.Sign(k.edPriv, msg))
}

// String shows the Account ID only.
func (k Keys) String() string { return "crypto.Keys{" + k.id.String() + "}" }

// GoString shows the Account ID only.
func (k Keys) GoString() string { return k.String() }

// Format prints String for every verb, so no fmt verb can print key material.
func (k Keys) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// Ed25519PrivateToX25519 converts an Ed25519 seed to its X25519 private key: SHA-512 of the seed,
// first 32 bytes, clamped (libsodium's crypto_sign_ed25519_sk_to_curve25519).
func Ed25519PrivateToX25519(seed [32]byte) [32]byte {
	h := sha512.Sum512(seed[:])
	var x [32]byte
	copy(x[:], h[:32])
	x[0] &= 248
	x[31] &= 127
	x[31] |= 64
	return x
}
