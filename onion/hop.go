package onion

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/sessiongo/sdk/crypto"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
)

// EncType names the symmetric scheme used for every layer of an onion request.
type EncType uint8

const (
	// XChaCha20 is XChaCha20-Poly1305-IETF keyed with BLAKE2b-256(shared ‖ clientPub ‖ serverPub);
	// the wire layout is nonce(24) ‖ ciphertext ‖ tag(16). It is libsession's default and ours.
	XChaCha20 EncType = iota + 1
	// AESGCM is AES-256-GCM keyed with HMAC-SHA256(key "LOKI", shared); the wire layout is
	// iv(12) ‖ ciphertext ‖ tag(16). Storage servers assume it when enc_type is absent.
	AESGCM
)

// wire names, as sent in the routing JSON.
const (
	encNameXChaCha20 = "xchacha20"
	encNameAESGCM    = "aes-gcm"
)

// String returns the name sent on the wire ("xchacha20" or "aes-gcm").
func (e EncType) String() string {
	switch e {
	case XChaCha20:
		return encNameXChaCha20
	case AESGCM:
		return encNameAESGCM
	}
	return fmt.Sprintf("EncType(%d)", uint8(e))
}

// ParseEncType reads an enc_type value, accepting the aliases storage servers accept
// ("gcm", "xchacha20-poly1305"). An empty string is an error: servers default it to aes-gcm,
// which callers that parse server-side input should apply themselves (as [ParseHopRequest]
// and [ParseLayer] do).
func ParseEncType(s string) (EncType, error) {
	switch s {
	case encNameXChaCha20, "xchacha20-poly1305":
		return XChaCha20, nil
	case encNameAESGCM, "gcm":
		return AESGCM, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrUnknownEncType, s)
}

// NonceSize is the nonce length the scheme puts in front of its ciphertext.
func (e EncType) NonceSize() int {
	switch e {
	case XChaCha20:
		return chacha20poly1305.NonceSizeX
	case AESGCM:
		return gcmNonceSize
	}
	return 0
}

// Overhead is how many bytes a sealed message is longer than its plaintext (nonce and tag).
func (e EncType) Overhead() int {
	switch e {
	case XChaCha20:
		return chacha20poly1305.NonceSizeX + chacha20poly1305.Overhead
	case AESGCM:
		return gcmNonceSize + gcmTagSize
	}
	return 0
}

func (e EncType) valid() bool { return e == XChaCha20 || e == AESGCM }

const (
	gcmNonceSize = 12
	gcmTagSize   = 16
)

// KeyPair is an X25519 key pair: a client's per-layer ephemeral key, or a node's or server's
// onion key. Its String and %v forms show only the public key.
type KeyPair struct {
	Public  [32]byte
	Private [32]byte
}

// String returns the hex public key; the private key is never printed.
func (k KeyPair) String() string { return "onion.KeyPair{" + hex.EncodeToString(k.Public[:]) + "}" }

// GoString is the %#v form, which also hides the private key.
func (k KeyPair) GoString() string { return k.String() }

// Format makes every fmt verb (%v, %+v, %s, %x …) print String, so the private key never leaks
// into logs.
func (k KeyPair) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// GenerateKeyPair makes a fresh X25519 key pair from r (crypto/rand when r is nil). It reads
// exactly 32 bytes, which become the private key (clamping happens inside X25519).
func GenerateKeyPair(r io.Reader) (KeyPair, error) {
	if r == nil {
		r = rand.Reader
	}
	var priv [32]byte
	if _, err := io.ReadFull(r, priv[:]); err != nil {
		return KeyPair{}, fmt.Errorf("onion: generating key: %w", err)
	}
	return NewKeyPair(priv)
}

// NewKeyPair completes a key pair from its 32-byte X25519 private key.
func NewKeyPair(priv [32]byte) (KeyPair, error) {
	kp := KeyPair{Private: priv}
	kp.Public = crypto.X25519Base(&kp.Private)
	return kp, nil
}

// Role says which side of a hop computes the key: the hash input order of xchacha20 is always
// client key first, so both sides must know who the client is.
type Role uint8

const (
	// RoleClient is the side that made the ephemeral key (the onion request builder).
	RoleClient Role = iota
	// RoleServer is the node or server that owns the long-term X25519 key.
	RoleServer
)

// DeriveKey computes the symmetric key of one hop. local is this side's key pair and remote
// the other side's public key; role says whether local is the client (ephemeral) side.
//
//	aes-gcm:   HMAC-SHA256(key = "LOKI", msg = X25519(local, remote))
//	xchacha20: BLAKE2b-256(X25519(local, remote) ‖ clientPub ‖ serverPub)
//
// Both sides get the same key. A low-order remote key (all-zero shared secret) is
// ErrInvalidKey.
func DeriveKey(enc EncType, role Role, local KeyPair, remote [32]byte) ([32]byte, error) {
	return deriveKey(enc, role, &local.Private, &local.Public, &remote)
}

func deriveKey(enc EncType, role Role, priv, localPub, remote *[32]byte) ([32]byte, error) {
	var key [32]byte
	if !enc.valid() {
		return key, fmt.Errorf("%w: %v", ErrUnknownEncType, enc)
	}
	shared, ok := crypto.X25519(priv, remote)
	if !ok {
		return key, fmt.Errorf("%w: low-order point", ErrInvalidKey)
	}
	switch enc {
	case AESGCM:
		gcmKey(&key, &shared)
	case XChaCha20:
		client, server := localPub, remote
		if role == RoleServer {
			client, server = server, client
		}
		xchachaKey(&key, &shared, client, server)
	}
	clear(shared[:])
	return key, nil
}

var lokiKey = []byte("LOKI")

func gcmKey(dst, shared *[32]byte) {
	m := hmac.New(sha256.New, lokiKey)
	m.Write(shared[:])
	m.Sum(dst[:0])
}

func xchachaKey(dst, shared, clientPub, serverPub *[32]byte) {
	var in [96]byte
	copy(in[:32], shared[:])
	copy(in[32:64], clientPub[:])
	copy(in[64:], serverPub[:])
	*dst = blake2b.Sum256(in[:])
	clear(in[:32])
}

// Channel is the symmetric state of one hop: one enc type and one derived key. It seals and
// opens in both directions (the reply of a node uses the same key as the request to it). A
// Channel is safe for concurrent use.
type Channel struct {
	enc  EncType
	key  [32]byte
	aead cipher.AEAD
}

// NewChannel wraps an already derived key (see [DeriveKey]).
func NewChannel(enc EncType, key [32]byte) (*Channel, error) {
	c := &Channel{enc: enc, key: key}
	var err error
	switch enc {
	case XChaCha20:
		c.aead, err = chacha20poly1305.NewX(key[:])
	case AESGCM:
		var b cipher.Block
		if b, err = aes.NewCipher(key[:]); err == nil {
			c.aead, err = cipher.NewGCM(b)
		}
	default:
		return nil, fmt.Errorf("%w: %v", ErrUnknownEncType, enc)
	}
	if err != nil {
		return nil, fmt.Errorf("onion: %w", err)
	}
	return c, nil
}

// NewClientChannel is the client side of a hop: eph is the client's ephemeral key pair and
// serverPub the node's (or server's) X25519 key.
func NewClientChannel(enc EncType, eph KeyPair, serverPub [32]byte) (*Channel, error) {
	key, err := DeriveKey(enc, RoleClient, eph, serverPub)
	if err != nil {
		return nil, err
	}
	return NewChannel(enc, key)
}

// NewServerChannel is the node side of a hop: server is the node's X25519 key pair and
// clientPub the ephemeral_key from the request's JSON.
func NewServerChannel(enc EncType, server KeyPair, clientPub [32]byte) (*Channel, error) {
	key, err := DeriveKey(enc, RoleServer, server, clientPub)
	if err != nil {
		return nil, err
	}
	return NewChannel(enc, key)
}

// EncType returns the channel's scheme.
func (c *Channel) EncType() EncType { return c.enc }

// Key returns the derived symmetric key (for tests and vectors; treat it as secret).
func (c *Channel) Key() [32]byte { return c.key }

// Seal encrypts plaintext with a random nonce read from r (crypto/rand when nil) and returns
// nonce ‖ ciphertext ‖ tag.
func (c *Channel) Seal(r io.Reader, plaintext []byte) ([]byte, error) {
	return c.AppendSeal(nil, r, plaintext)
}

// AppendSeal is Seal appending to dst.
func (c *Channel) AppendSeal(dst []byte, r io.Reader, plaintext []byte) ([]byte, error) {
	if c == nil || c.aead == nil {
		return nil, errNoChannel
	}
	if r == nil {
		r = rand.Reader
	}
	ns := c.aead.NonceSize()
	out, nonceAt := grow(dst, ns+len(plaintext)+c.aead.Overhead())
	nonce := out[nonceAt : nonceAt+ns]
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, fmt.Errorf("onion: reading nonce: %w", err)
	}
	return c.aead.Seal(out[:nonceAt+ns], nonce, plaintext, nil), nil
}

// SealWithNonce encrypts plaintext with the given nonce (12 bytes for aes-gcm, 24 for
// xchacha20). Only for deterministic tests: reusing a nonce with one key breaks the cipher.
func (c *Channel) SealWithNonce(nonce, plaintext []byte) ([]byte, error) {
	if c == nil || c.aead == nil {
		return nil, errNoChannel
	}
	if len(nonce) != c.aead.NonceSize() {
		return nil, fmt.Errorf("onion: %v nonce must be %d bytes, got %d", c.enc, c.aead.NonceSize(), len(nonce))
	}
	out := make([]byte, len(nonce), len(nonce)+len(plaintext)+c.aead.Overhead())
	copy(out, nonce)
	return c.aead.Seal(out, nonce, plaintext, nil), nil
}

// Open decrypts nonce ‖ ciphertext ‖ tag. Anything too short or not authentic is ErrDecrypt.
func (c *Channel) Open(sealed []byte) ([]byte, error) { return c.open(sealed, false) }

// openInPlace is Open decrypting sealed over itself (the plaintext is a sub-slice of
// sealed). When it fails, sealed's ciphertext may be overwritten.
func (c *Channel) openInPlace(sealed []byte) ([]byte, error) { return c.open(sealed, true) }

func (c *Channel) open(sealed []byte, inPlace bool) ([]byte, error) {
	if c == nil || c.aead == nil {
		return nil, errNoChannel
	}
	ns := c.aead.NonceSize()
	if len(sealed) < ns+c.aead.Overhead() {
		return nil, fmt.Errorf("%w: %v ciphertext of %d bytes is too short", ErrDecrypt, c.enc, len(sealed))
	}
	ct := sealed[ns:]
	var dst []byte
	if inPlace {
		dst = ct[:0]
	}
	pt, err := c.aead.Open(dst, sealed[:ns], ct, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrDecrypt, c.enc)
	}
	return pt, nil
}

var errNoChannel = errors.New("onion: Channel not made by NewChannel")

// grow extends b by n bytes, returning the extended slice and the old length.
func grow(b []byte, n int) ([]byte, int) {
	l := len(b)
	if cap(b)-l < n {
		nb := make([]byte, l, l+n)
		copy(nb, b)
		b = nb
	}
	return b[:l+n], l
}
