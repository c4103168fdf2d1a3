package crypto

import (
	"crypto/rand"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/nacl/secretbox"
	//lint:ignore SA1019 crypto_box_seal's key is HSalsa20 of the checked X25519 secret (libsodium's crypto_box_beforenm); x/crypto exposes HSalsa20 only here (nacl/box.Precompute would redo the scalar multiplication without the low-order check).
	"golang.org/x/crypto/salsa20/salsa"
)

// The Session Protocol (1:1) message layout. A sealed message is
//
//	eph_pk(32) || XSalsa20-Poly1305( M || sender_ed_pk(32) || sig(64) )
//
// where sig is the sender's Ed25519 signature of M || sender_ed_pk || recipient_x_pk and the box
// is libsodium's crypto_box_seal to the recipient's X25519 key.
const (
	// SealOverhead is how many bytes EncryptForRecipient adds to a message: the ephemeral key,
	// the MAC, the sender's Ed25519 key and the signature.
	SealOverhead = 32 + secretbox.Overhead + 32 + 64

	sealBoxOverhead = 32 + secretbox.Overhead // crypto_box_SEALBYTES
	sealInnerExtra  = 32 + 64                 // sender Ed25519 key and signature
)

// Errors of the Session Protocol primitives. DecryptIncoming returns them wrapped with context;
// match them with errors.Is.
var (
	// ErrCiphertextTooShort reports a ciphertext shorter than the format's fixed overhead.
	ErrCiphertextTooShort = errors.New("crypto: ciphertext too short")
	// ErrDecrypt reports a ciphertext that does not open with our key: not for us, or
	// tampered with.
	ErrDecrypt = errors.New("crypto: decryption failed")
	// ErrBadSignature reports a message whose signature does not verify.
	ErrBadSignature = errors.New("crypto: bad signature")
	// ErrBadSenderKey reports a decrypted message whose embedded sender key is not a valid
	// Ed25519 public key (it also matches ErrInvalidPublicKey).
	ErrBadSenderKey = errors.New("crypto: invalid sender key")
	// ErrNilKeys reports a nil *Keys passed where keys are needed.
	ErrNilKeys = errors.New("crypto: nil keys")
)

// boxEphemeralHashKey keys the hash that derives the deterministic variant's ephemeral seed.
var boxEphemeralHashKey = []byte("SessionBoxEphemeralHashKey")

// EncryptForRecipient encrypts msg from sender to the X25519 key recipient (an Account ID's key
// without its 05 prefix) with the Session Protocol: it signs msg || sender Ed25519 key ||
// recipient, and seals msg || sender Ed25519 key || signature in an anonymous box. The result is
// len(msg)+SealOverhead bytes. rand supplies the ephemeral key (crypto/rand when nil). msg is
// normally a padded Content (see package session).
func EncryptForRecipient(sender *Keys, recipient [32]byte, msg []byte, rand io.Reader) ([]byte, error) {
	if sender == nil {
		return nil, ErrNilKeys
	}
	var ephSeed [32]byte
	if err := readRandom(rand, ephSeed[:]); err != nil {
		return nil, fmt.Errorf("crypto: reading ephemeral key: %w", err)
	}
	return sealForRecipient(sender, recipient, msg, &ephSeed)
}

// EncryptForRecipientDeterministic is EncryptForRecipient with the ephemeral key derived from
// the sender's seed, the recipient and msg (libsession's encrypt_for_recipient_deterministic), so
// that equal inputs give equal outputs. Only for messages to oneself (config pushes), where that
// is wanted: it reveals when the same message is sent twice.
func EncryptForRecipientDeterministic(sender *Keys, recipient [32]byte, msg []byte) ([]byte, error) {
	if sender == nil {
		return nil, ErrNilKeys
	}
	seed := sender.Seed()
	h, err := blake2b.New256(boxEphemeralHashKey)
	if err != nil {
		return nil, err // unreachable: the key is 26 bytes
	}
	h.Write(seed[:])
	h.Write(recipient[:])
	h.Write(msg)
	var ephSeed [32]byte
	h.Sum(ephSeed[:0])
	// crypto_box_seed_keypair: the secret key is the first half of SHA-512(seed).
	d := sha512.Sum512(ephSeed[:])
	copy(ephSeed[:], d[:32])
	return sealForRecipient(sender, recipient, msg, &ephSeed)
}

func readRandom(r io.Reader, b []byte) error {
	if r == nil {
		r = rand.Reader
	}
	_, err := io.ReadFull(r, b)
	return err
}

// sealForRecipient builds the signed inner message and seals it with the ephemeral X25519
// secret key ephSK, exactly as crypto_box_seal does with a key pair made from ephSK.
func sealForRecipient(sender *Keys, recipient [32]byte, msg []byte, ephSK *[32]byte) ([]byte, error) {
	shared, ok := X25519(ephSK, &recipient)
	if !ok {
		// libsodium's crypto_box refuses a shared secret of zero: recipient has small order.
		return nil, fmt.Errorf("%w: recipient X25519 key has small order", ErrInvalidPublicKey)
	}
	n := len(msg)
	senderPK := sender.Ed25519PublicKey()
	// inner starts as M || A || Y (what is signed) and becomes M || A || SIG (what is sealed).
	inner := make([]byte, n+sealInnerExtra)
	copy(inner, msg)
	copy(inner[n:], senderPK[:])
	copy(inner[n+32:], recipient[:])
	sig, ephPK := signWithEphemeral(sender, inner[:n+64], ephSK)
	copy(inner[n+32:], sig[:])

	nonce := sealNonce(&ephPK, &recipient)
	key := boxKey(&shared)

	out := make([]byte, 32, n+SealOverhead)
	copy(out, ephPK[:])
	return secretbox.Seal(out, inner, &nonce, &key), nil
}

// DecryptIncoming opens a Session Protocol message sent to k, checks its signature and returns
// the message (still padded), the sender's Ed25519 key and the sender's 05 Account ID. Every
// failure is an error matching one of ErrCiphertextTooShort, ErrDecrypt, ErrBadSignature or
// ErrBadSenderKey.
func DecryptIncoming(k *Keys, ciphertext []byte) (msg []byte, senderEd25519 [32]byte, sender AccountID, err error) {
	if k == nil {
		return nil, senderEd25519, sender, ErrNilKeys
	}
	if len(ciphertext) < SealOverhead {
		return nil, senderEd25519, sender, fmt.Errorf("%w: %d bytes, need at least %d", ErrCiphertextTooShort, len(ciphertext), SealOverhead)
	}
	xPriv, xPub := k.X25519PrivateKey(), k.X25519PublicKey()
	ephPK := [32]byte(ciphertext[:32])
	shared, ok := X25519(&xPriv, &ephPK)
	if !ok {
		return nil, senderEd25519, sender, fmt.Errorf("%w: ephemeral key has small order", ErrDecrypt)
	}
	nonce := sealNonce(&ephPK, &xPub)
	key := boxKey(&shared)
	inner, ok := secretbox.Open(nil, ciphertext[32:], &nonce, &key)
	if !ok {
		return nil, senderEd25519, sender, fmt.Errorf("%w: sealed box does not open", ErrDecrypt)
	}

	n := len(inner) - sealInnerExtra
	copy(senderEd25519[:], inner[n:n+32])
	var sig [64]byte
	copy(sig[:], inner[n+32:])
	// The signature covers M || A || our X25519 key: put the key where the signature was.
	copy(inner[n+32:], xPub[:])
	// The sender key gets the checks of libsodium's crypto_sign_verify_detached and
	// crypto_sign_ed25519_pk_to_curve25519 (canonical, not of small order, in the prime-order
	// subgroup); it is decoded once for the signature check and the conversion, and the
	// subgroup check works on its X25519 form.
	A, err := parseSenderKey(&senderEd25519)
	if err != nil {
		return nil, senderEd25519, sender, fmt.Errorf("%w: %w", ErrBadSenderKey, err)
	}
	u, ok := verifyAndConvert(A, &senderEd25519, inner[:n+64], &sig)
	if !ok {
		return nil, senderEd25519, sender, ErrBadSignature
	}
	if !inPrimeOrderSubgroup(&u) {
		return nil, senderEd25519, sender, fmt.Errorf("%w: %w: not in the prime-order subgroup", ErrBadSenderKey, ErrInvalidPublicKey)
	}
	return inner[:n:n], senderEd25519, NewAccountID(PrefixStandard, [32]byte(u.Bytes())), nil
}

// DecryptPushNotification decrypts a push-notification payload, nonce(24) || XChaCha20-Poly1305
// ciphertext, with the 32-byte key registered with the push server, and strips the trailing zero
// bytes the sender padded it with.
func DecryptPushNotification(key [32]byte, payload []byte) ([]byte, error) {
	if len(payload) < chacha20poly1305.NonceSizeX+chacha20poly1305.Overhead {
		return nil, fmt.Errorf("%w: push payload of %d bytes", ErrCiphertextTooShort, len(payload))
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, err // unreachable: the key is 32 bytes
	}
	nonce, ct := payload[:chacha20poly1305.NonceSizeX], payload[chacha20poly1305.NonceSizeX:]
	out, err := aead.Open(nil, nonce, ct, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: push payload", ErrDecrypt)
	}
	end := len(out)
	for end > 0 && out[end-1] == 0 {
		end--
	}
	return out[:end], nil
}

// sealNonce is the implicit nonce of crypto_box_seal: BLAKE2b-192(eph_pk || recipient_pk).
func sealNonce(ephPK, recipient *[32]byte) [24]byte {
	h, err := blake2b.New(24, nil)
	if err != nil {
		panic(err) // unreachable: 24 is a valid size
	}
	h.Write(ephPK[:])
	h.Write(recipient[:])
	var nonce [24]byte
	h.Sum(nonce[:0])
	return nonce
}

// boxKey is crypto_box_beforenm's key: HSalsa20 of the X25519 shared secret with a zero input.
func boxKey(shared *[32]byte) [32]byte {
	var zero [16]byte
	var key [32]byte
	salsa.HSalsa20(&key, &zero, shared, &salsa.Sigma)
	return key
}

func isAllZero(b []byte) bool {
	var acc byte
	for _, c := range b {
		acc |= c
	}
	return acc == 0
}

// parseSenderKey decodes an Ed25519 public key with the checks libsodium applies before it
// verifies with it: canonical encoding (checked on the bytes, as libsodium's ge25519_is_canonical
// does, which saves the inversion of a re-encoding) and not of small order. The prime-order
// subgroup check of the conversion comes after the signature check (inPrimeOrderSubgroup).
func parseSenderKey(pk *[32]byte) (*edwards25519.Point, error) {
	// Non-canonical: y ≥ p, i.e. bytes 1..30 all 0xff, byte 31 (sign bit cleared) 0x7f and
	// byte 0 ≥ 0xed.
	top := pk[31]&0x7f == 0x7f
	for _, b := range pk[1:31] {
		top = top && b == 0xff
	}
	if top && pk[0] >= 0xed {
		return nil, fmt.Errorf("%w: non-canonical encoding", ErrInvalidPublicKey)
	}
	p, err := new(edwards25519.Point).SetBytes(pk[:])
	if err != nil {
		return nil, fmt.Errorf("%w: not a point on the curve", ErrInvalidPublicKey)
	}
	var q edwards25519.Point
	if q.MultByCofactor(p).Equal(edwards25519.NewIdentityPoint()) == 1 {
		return nil, fmt.Errorf("%w: small-order point", ErrInvalidPublicKey)
	}
	return p, nil
}

// inPrimeOrderSubgroup reports whether the point with X25519 coordinate u, known to be on the
// curve and not of small order, lies in the prime-order subgroup, as libsodium's
// crypto_sign_ed25519_pk_to_curve25519 requires.
//
// The curve's group is cyclic of order 8ℓ, so that subgroup is 8E: the points that can be
// halved three times. On the Montgomery curve v² = u³ + Au² + u (A = 486662), whose only rational
// point of order 2 is (0, 0), a point is a double exactly when u² + Au + 1 (= v²/u) is a square,
// and the u of a half Q satisfies u_Q + 1/u_Q = 2h with h = u ± √(u² + Au + 1), so
// u_Q = h + √(h² − 1) for the sign that makes h² − 1 a square (the other sign gives the halves
// that differ by an irrational point of order 2). Both rational halves are doubles or neither is,
// because (0, 0) is itself a double. This costs about six square roots, about half of the scalar
// multiplication by ℓ that libsodium and ParseEd25519Point use; TestParseSenderKey checks it
// against ParseEd25519Point for points in all eight cosets.
func inPrimeOrderSubgroup(u *field.Element) bool {
	x := new(field.Element).Set(u)
	for i := 0; i < 2; i++ {
		if !halveU(x) {
			return false
		}
	}
	var t field.Element
	_, isSquare := t.SqrtRatio(curveRHSOverU(&t, x), new(field.Element).One())
	return isSquare == 1
}

// curveRHSOverU sets t = u² + Au + 1 and returns t.
func curveRHSOverU(t, u *field.Element) *field.Element {
	var au field.Element
	au.Mult32(u, 486662)
	t.Square(u)
	t.Add(t, &au)
	return t.Add(t, new(field.Element).One())
}

// halveU replaces u by the u of a rational half of the point, or reports false when the point
// is not a double.
func halveU(u *field.Element) bool {
	one := new(field.Element).One()
	var t, s1, h, s2 field.Element
	if _, ok := s1.SqrtRatio(curveRHSOverU(&t, u), one); ok != 1 {
		return false
	}
	for _, neg := range []bool{false, true} {
		if neg {
			h.Subtract(u, &s1)
		} else {
			h.Add(u, &s1)
		}
		t.Square(&h)
		t.Subtract(&t, one)
		if _, ok := s2.SqrtRatio(&t, one); ok == 1 {
			u.Add(&h, &s2)
			return true
		}
	}
	return false // unreachable for a double: one of the signs always works
}

// verifyAndConvert checks an Ed25519 signature (RFC 8032, cofactorless, as crypto/ed25519 and
// libsodium do; a small-order R is rejected as libsodium does) with the already decoded and
// checked public key A (encoded as pk), and returns A's X25519 coordinate. crypto/ed25519.Verify would
// decode the key again, and encoding R' and converting A would cost two field inversions; here
// they share one.
func verifyAndConvert(A *edwards25519.Point, pk *[32]byte, msg []byte, sig *[64]byte) (u field.Element, ok bool) {
	if hasSmallOrderEncoding(sig[:32]) {
		return u, false
	}
	S, err := new(edwards25519.Scalar).SetCanonicalBytes(sig[32:])
	if err != nil {
		return u, false
	}
	h := sha512.New()
	h.Write(sig[:32])
	h.Write(pk[:])
	h.Write(msg)
	var digest [64]byte
	k, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		return u, false // unreachable: the digest is 64 bytes
	}
	var minusA, R edwards25519.Point
	minusA.Negate(A)
	R.VarTimeDoubleScalarBaseMult(k, &minusA, S)

	// u(A) = (Z+Y)/(Z−Y); Z−Y ≠ 0 because A is not the identity (parseSenderKey).
	_, ay, az, _ := A.ExtendedCoordinates()
	var den field.Element
	den.Subtract(az, ay)
	rEnc, invDen := encodeWithBatchedInverse(&R, &den)
	if subtle.ConstantTimeCompare(rEnc[:], sig[:32]) != 1 {
		return u, false
	}
	u.Add(az, ay)
	u.Multiply(&u, &invDen)
	return u, true
}

// encodeWithBatchedInverse returns the encoding of P and 1/d (d ≠ 0) for the price of one field
// inversion (Montgomery's trick).
func encodeWithBatchedInverse(P *edwards25519.Point, d *field.Element) (enc [32]byte, invD field.Element) {
	px, py, pz, _ := P.ExtendedCoordinates()
	var prod, inv, invZ field.Element
	prod.Multiply(pz, d)
	inv.Invert(&prod)
	invZ.Multiply(&inv, d)
	invD.Multiply(&inv, pz)
	var x, y field.Element
	x.Multiply(px, &invZ)
	y.Multiply(py, &invZ)
	copy(enc[:], y.Bytes())
	enc[31] |= byte(x.IsNegative() << 7)
	return enc, invD
}

// signWithEphemeral returns sender's Ed25519 signature of msg (RFC 8032, the same bytes as
// crypto/ed25519 and Keys.Sign) and the X25519 public key of ephSK (clamped). The nonce point R
// and the ephemeral point are both fixed-base Edwards multiplications whose encodings each need
// a field inversion; computed together they share one, which is why this does not call
// Keys.Sign.
func signWithEphemeral(sender *Keys, msg []byte, ephSK *[32]byte) (sig [64]byte, ephPK [32]byte) {
	seed := sender.Seed()
	expanded := sha512.Sum512(seed[:])
	var a, e edwards25519.Scalar
	if _, err := a.SetBytesWithClamping(expanded[:32]); err != nil {
		panic(err) // unreachable: 32 bytes
	}
	if _, err := e.SetBytesWithClamping(ephSK[:]); err != nil {
		panic(err) // unreachable: 32 bytes
	}
	h := sha512.New()
	h.Write(expanded[32:])
	h.Write(msg)
	var digest [64]byte
	r, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		panic(err) // unreachable: 64 bytes
	}
	var R, E edwards25519.Point
	R.ScalarBaseMult(r)
	E.ScalarBaseMult(&e)

	// u(E) = (Z+Y)/(Z−Y). Z−Y = 0 only for the identity, which a clamped scalar never gives
	// (it is never a multiple of ℓ), but fall back to the library rather than rely on it.
	_, ey, ez, _ := E.ExtendedCoordinates()
	var den field.Element
	den.Subtract(ez, ey)
	if den.Equal(new(field.Element).Zero()) == 1 {
		copy(ephPK[:], E.BytesMontgomery())
		copy(sig[:32], R.Bytes())
	} else {
		rEnc, invDen := encodeWithBatchedInverse(&R, &den)
		var u field.Element
		u.Add(ez, ey)
		u.Multiply(&u, &invDen)
		copy(ephPK[:], u.Bytes())
		copy(sig[:32], rEnc[:])
	}

	h.Reset()
	h.Write(sig[:32])
	pk := sender.Ed25519PublicKey()
	h.Write(pk[:])
	h.Write(msg)
	k, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(digest[:0]))
	if err != nil {
		panic(err) // unreachable: 64 bytes
	}
	S := new(edwards25519.Scalar).MultiplyAdd(k, &a, r)
	copy(sig[32:], S.Bytes())
	return sig, ephPK
}

// smallOrderEncodings are the encodings (sign bit ignored) of the Ed25519 points of small order,
// including the non-canonical ones: 0 and 1, the two y values of the order-8 points, p−1, p and
// p+1. libsodium rejects a signature whose R is one of them; TestSmallOrderEncodings derives the
// list from the curve.
var smallOrderEncodings = [7][32]byte{
	{},
	{1},
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}

// hasSmallOrderEncoding reports whether the 32-byte point encoding b is one of
// smallOrderEncodings, ignoring the sign bit.
func hasSmallOrderEncoding(b []byte) bool {
	var v [32]byte
	copy(v[:], b)
	v[31] &= 0x7f
	found := 0
	for i := range smallOrderEncodings {
		found |= subtle.ConstantTimeCompare(v[:], smallOrderEncodings[i][:])
	}
	return found == 1
}
