package blinding

import (
	"crypto/sha512"
	"fmt"
	"io"

	"filippo.io/edwards25519"

	"github.com/sessiongo/sdk/crypto"
)

// Keys of the keyed BLAKE2b hashes of 25-blinded signatures.
var (
	blind25SeedKey = []byte("SessCommBlind25_seed")
	blind25SigKey  = []byte("SessCommBlind25_sig")
)

// factor15 is k15 = reduce(BLAKE2b-512(server_pk)).
func factor15(serverPK [32]byte) *edwards25519.Scalar {
	h := crypto.Blake2b512(nil, serverPK[:])
	return reduce64(h[:])
}

// factor25 is k25 = reduce(BLAKE2b-512(0x05 || X || server_pk)).
func factor25(x, serverPK [32]byte) *edwards25519.Scalar {
	h := crypto.Blake2b512(nil, []byte{byte(crypto.PrefixStandard)}, x[:], serverPK[:])
	return reduce64(h[:])
}

// sessionPoint returns |A|, the sign-less Ed25519 point of a 05 Account ID, checked.
func sessionPoint(sessionID crypto.AccountID) (*edwards25519.Point, error) {
	if sessionID.Prefix() != crypto.PrefixStandard {
		return nil, fmt.Errorf("%w: blinding: want a 05 Account ID, got prefix %s", crypto.ErrInvalidAccountID, sessionID.Prefix())
	}
	xed, err := crypto.XEd25519PublicKey(sessionID.Key())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrCannotBlind, err)
	}
	return parsePoint(xed)
}

// flipSign returns id with the sign bit of its key (bit 7 of the last byte) flipped: the other
// candidate of a 15 ID derived from a 05 ID.
func flipSign(id crypto.AccountID) crypto.AccountID {
	id[crypto.AccountIDSize-1] ^= 0x80
	return id
}

// Blind15IDs returns the two 15-blinded IDs that the owner of the 05 sessionID may have on the
// community server with X25519 key serverPK. A 05 ID fixes the Ed25519 key only up to its
// sign, so the first is k·|A| and the second is the same with the sign bit flipped; the user
// has exactly one of them, and both must be treated as theirs.
//
// It fails with crypto.ErrInvalidAccountID for a prefix other than 05 and with ErrCannotBlind
// for a key that is not a valid point.
func Blind15IDs(sessionID crypto.AccountID, serverPK [32]byte) ([2]crypto.AccountID, error) {
	p, err := sessionPoint(sessionID)
	if err != nil {
		return [2]crypto.AccountID{}, err
	}
	kA, err := mulPublic(factor15(serverPK), p)
	if err != nil {
		return [2]crypto.AccountID{}, err
	}
	pos := crypto.NewAccountID(crypto.PrefixBlinded15, kA)
	return [2]crypto.AccountID{pos, flipSign(pos)}, nil
}

// Blind15IDFromEd25519 returns the 15-blinded ID of the Ed25519 public key edPK on the
// community server serverPK: k·A, with no sign ambiguity.
func Blind15IDFromEd25519(edPK, serverPK [32]byte) (crypto.AccountID, error) {
	id, _, err := blindIDFromEd25519(crypto.PrefixBlinded15, edPK, serverPK)
	return id, err
}

// Blind25ID returns the 25-blinded ID of the 05 sessionID on the community server serverPK:
// k·|A| with k = H(05 || X || serverPK). Unlike 15-blinding there is one answer: the key pair
// side negates k when A is negative, so the ID is always made from |A|.
func Blind25ID(sessionID crypto.AccountID, serverPK [32]byte) (crypto.AccountID, error) {
	p, err := sessionPoint(sessionID)
	if err != nil {
		return crypto.AccountID{}, err
	}
	kA, err := mulPublic(factor25(sessionID.Key(), serverPK), p)
	if err != nil {
		return crypto.AccountID{}, err
	}
	return crypto.NewAccountID(crypto.PrefixBlinded25, kA), nil
}

// Blind25IDFromEd25519 returns the 25-blinded ID of the Ed25519 public key edPK on the
// community server serverPK.
func Blind25IDFromEd25519(edPK, serverPK [32]byte) (crypto.AccountID, error) {
	id, _, err := blindIDFromEd25519(crypto.PrefixBlinded25, edPK, serverPK)
	return id, err
}

// blindIDFromEd25519 returns the blinded ID of kind p (15 or 25) of an Ed25519 public key, and
// the key's 05 Account ID, checking the point once.
func blindIDFromEd25519(p crypto.Prefix, edPK, serverPK [32]byte) (crypto.AccountID, crypto.AccountID, error) {
	var none crypto.AccountID
	if p != crypto.PrefixBlinded15 && p != crypto.PrefixBlinded25 {
		return none, none, fmt.Errorf("%w: prefix %s", ErrNotBlindedID, p)
	}
	A, err := parsePoint(edPK)
	if err != nil {
		return none, none, err
	}
	x := [32]byte(A.BytesMontgomery())
	k := factor15(serverPK)
	if p == crypto.PrefixBlinded25 {
		k = factor25(x, serverPK)
		if edPK[31]&0x80 != 0 {
			A.Negate(A) // |A|: same y, sign bit clear
		}
	}
	kA, err := mulPublic(k, A)
	if err != nil {
		return none, none, err
	}
	return crypto.NewAccountID(p, kA), crypto.NewAccountID(crypto.PrefixStandard, x), nil
}

// MatchesSessionID reports whether blindedID (15 or 25) belongs to the owner of the 05
// sessionID on the community server serverPK. A 15 ID matches either of its two candidates.
// Both prefixes are checked: a sessionID that is not 05 fails with crypto.ErrInvalidAccountID,
// a blindedID that is not 15 or 25 with ErrNotBlindedID. It costs two variable-time scalar
// multiplications.
func MatchesSessionID(sessionID, blindedID crypto.AccountID, serverPK [32]byte) (bool, error) {
	switch blindedID.Prefix() {
	case crypto.PrefixBlinded15:
		ids, err := Blind15IDs(sessionID, serverPK)
		if err != nil {
			return false, err
		}
		return blindedID == ids[0] || blindedID == ids[1], nil
	case crypto.PrefixBlinded25:
		id, err := Blind25ID(sessionID, serverPK)
		if err != nil {
			return false, err
		}
		return blindedID == id, nil
	}
	return false, fmt.Errorf("%w: prefix %s", ErrNotBlindedID, blindedID.Prefix())
}

// KeyPair is our blinded identity on one community server: the blinded private scalar, its
// public key and ID (15 or 25), and the secret that seeds its deterministic signing nonces.
// It is immutable and safe for concurrent use; printing it shows only the ID.
type KeyPair struct {
	id       crypto.AccountID
	serverPK [32]byte
	priv     edwards25519.Scalar // ka (25: sign-adjusted)
	nonceKey [32]byte            // 15: SHA-512 prefix half; 25: BLAKE2b(seed, SessCommBlind25_seed)
}

// KeyOption adjusts a 15-blinded key pair.
type KeyOption func(*keyConfig)

type keyConfig struct{ seedNonce bool }

// SeedNonce makes a 15-blinded key pair derive its signing nonces from SHA-512 of the 32-byte
// seed, as session-desktop and pysogs do, instead of the 64-byte secret key (seed || public
// key), as libsession does. Both kinds of signature are valid; only byte-exact comparisons
// with one implementation care.
func SeedNonce() KeyOption { return func(c *keyConfig) { c.seedNonce = true } }

// Blind15KeyPair returns our 15-blinded key pair on the community server serverPK:
// ka = H(serverPK)·a, kA = ka·B, ID 15||kA. Signatures are byte-exact with libsession's
// blind15_sign (or with session-desktop's with SeedNonce).
func Blind15KeyPair(keys *crypto.Keys, serverPK [32]byte, opts ...KeyOption) (*KeyPair, error) {
	var cfg keyConfig
	for _, o := range opts {
		o(&cfg)
	}
	a := scalarFromClamped(keys.X25519PrivateKey())
	kp := &KeyPair{serverPK: serverPK}
	kp.priv.Multiply(factor15(serverPK), a)
	pub, err := mulBase(&kp.priv)
	if err != nil {
		return nil, err
	}
	kp.id = crypto.NewAccountID(crypto.PrefixBlinded15, pub)
	var h [64]byte
	if cfg.seedNonce {
		seed := keys.Seed()
		h = sha512.Sum512(seed[:])
	} else {
		h = sha512.Sum512(keys.Ed25519PrivateKey())
	}
	copy(kp.nonceKey[:], h[32:])
	return kp, nil
}

// Blind25KeyPair returns our 25-blinded key pair on the community server serverPK:
// k = H(05 || X || serverPK), negated when our Ed25519 public key is negative, ka = k·a,
// kA = ka·B, ID 25||kA. Signatures are byte-exact with libsession's blind25_sign.
func Blind25KeyPair(keys *crypto.Keys, serverPK [32]byte) (*KeyPair, error) {
	k := factor25(keys.X25519PublicKey(), serverPK)
	if edPK := keys.Ed25519PublicKey(); edPK[31]&0x80 != 0 {
		k.Negate(k)
	}
	a := scalarFromClamped(keys.X25519PrivateKey())
	kp := &KeyPair{serverPK: serverPK}
	kp.priv.Multiply(k, a)
	pub, err := mulBase(&kp.priv)
	if err != nil {
		return nil, err
	}
	kp.id = crypto.NewAccountID(crypto.PrefixBlinded25, pub)
	seed := keys.Seed()
	kp.nonceKey = crypto.Blake2b256(blind25SeedKey, seed[:])
	return kp, nil
}

// ID returns the blinded Account ID (prefix 15 or 25).
func (kp *KeyPair) ID() crypto.AccountID { return kp.id }

// PublicKey returns the blinded Ed25519 public key kA (the ID without its prefix).
func (kp *KeyPair) PublicKey() [32]byte { return kp.id.Key() }

// ServerPK returns the community server key the pair was made for.
func (kp *KeyPair) ServerPK() [32]byte { return kp.serverPK }

// PrivateScalar returns the blinded private scalar ka (32 bytes, little-endian, reduced).
// It is secret.
func (kp *KeyPair) PrivateScalar() [32]byte { return [32]byte(kp.priv.Bytes()) }

// Sign returns the blinded signature of msg: an Ed25519 signature that verifies under
// PublicKey with crypto/ed25519.Verify. The nonce is deterministic, derived as libsession
// derives it for the pair's kind (15: SHA-512(sk)[32:] || kA || msg; 25: keyed BLAKE2b).
func (kp *KeyPair) Sign(msg []byte) [64]byte {
	pub := kp.id.Key()
	var r *edwards25519.Scalar
	if kp.id.Prefix() == crypto.PrefixBlinded25 {
		h := crypto.Blake2b512(blind25SigKey, kp.nonceKey[:], pub[:], msg)
		r = reduce64(h[:])
	} else {
		h := sha512.New()
		h.Write(kp.nonceKey[:])
		h.Write(pub[:])
		h.Write(msg)
		r = reduce64(h.Sum(nil))
	}
	return signWithScalar(&kp.priv, pub, r, msg)
}

// String shows the blinded ID only.
func (kp KeyPair) String() string {
	return "blinding.KeyPair{" + kp.id.String() + "}"
}

// GoString shows the blinded ID only.
func (kp KeyPair) GoString() string { return kp.String() }

// Format prints String for every verb, so no fmt verb can print the private scalar.
func (kp KeyPair) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, kp.String()) }
