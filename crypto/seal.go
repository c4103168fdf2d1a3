package crypto

import (
	"crypto/ed25519"
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
	var shared [32]byte
	x25519(&shared, ephSK, &recipient)
	if isAllZero(shared[:]) {
		// libsodium's crypto_box refuses a shared secret of zero: recipient has small order.
		return nil, fmt.Errorf("%w: recipient X25519 key has small order", ErrInvalidPublicKey)
	}
	ephPK := x25519Base(ephSK)
	nonce := sealNonce(&ephPK, &recipient)
	key := boxKey(&shared)

	n := len(msg)
	senderPK := sender.Ed25519PublicKey()
	// inner starts as M || A || Y (what is signed) and becomes M || A || SIG (what is sealed).
	inner := make([]byte, n+sealInnerExtra)
	copy(inner, msg)
	copy(inner[n:], senderPK[:])
	copy(inner[n+32:], recipient[:])
	sig := sender.Sign(inner[:n+64])
	copy(inner[n+32:], sig[:])

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
	var shared [32]byte
	x25519(&shared, &xPriv, &ephPK)
	if isAllZero(shared[:]) {
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
	if hasSmallOrderEncoding(sig[:32]) || !ed25519.Verify(senderEd25519[:], inner[:n+64], sig[:]) {
		return nil, senderEd25519, sender, ErrBadSignature
	}
	senderX, err := Ed25519PublicToX25519(senderEd25519)
	if err != nil {
		return nil, senderEd25519, sender, fmt.Errorf("%w: %w", ErrBadSenderKey, err)
	}
	return inner[:n:n], senderEd25519, NewAccountID(PrefixStandard, senderX), nil
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

// x25519Base returns the X25519 public key of the secret key sk (clamped), computed as a
// fixed-base Edwards multiplication converted to Montgomery form: the same value as the X25519
// ladder on the base point, several times faster thanks to the precomputed base-point table.
func x25519Base(sk *[32]byte) [32]byte {
	var s edwards25519.Scalar
	if _, err := s.SetBytesWithClamping(sk[:]); err != nil {
		panic(err) // unreachable: sk is 32 bytes
	}
	var p edwards25519.Point
	p.ScalarBaseMult(&s)
	return [32]byte(p.BytesMontgomery())
}

// x25519 sets dst to the X25519 function (RFC 7748, section 5) of scalar and point.
//
// Written here, on filippo.io/edwards25519's field arithmetic, because the libraries only offer
// it through crypto/ecdh (which x/crypto/curve25519 wraps): ecdh.NewPrivateKey always computes
// the public key too, a second full ladder, and allocates, which roughly doubles the cost of each
// key exchange in the 1:1 protocol. The ladder below is the RFC's constant-time algorithm.
func x25519(dst, scalar, point *[32]byte) {
	var e [32]byte
	copy(e[:], scalar[:])
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64

	var x1, x2, z2, x3, z3, t0, t1 field.Element
	if _, err := x1.SetBytes(point[:]); err != nil {
		panic(err) // unreachable: point is 32 bytes (the top bit is ignored, as RFC 7748 says)
	}
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

		t0.Subtract(&x3, &z3)
		t1.Subtract(&x2, &z2)
		x2.Add(&x2, &z2)
		z2.Add(&x3, &z3)
		z3.Multiply(&t0, &x2)
		z2.Multiply(&z2, &t1)
		t0.Square(&t1)
		t1.Square(&x2)
		x3.Add(&z3, &z2)
		z2.Subtract(&z3, &z2)
		x2.Multiply(&t1, &t0)
		t1.Subtract(&t1, &t0)
		z2.Square(&z2)
		z3.Mult32(&t1, 121666)
		x3.Square(&x3)
		t0.Add(&t0, &z3)
		z3.Multiply(&x1, &z2)
		z2.Multiply(&t1, &t0)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	copy(dst[:], x2.Bytes())
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
