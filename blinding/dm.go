package blinding

import (
	"crypto/rand"
	"fmt"
	"io"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sessiongo/sdk/crypto"
)

// Layout of a blinded direct message: version byte 0, XChaCha20-Poly1305 ciphertext of
// message || sender's Ed25519 public key, then the 24-byte nonce.
const (
	dmVersion  = 0x00
	dmOverhead = 1 + chacha20poly1305.Overhead + chacha20poly1305.NonceSizeX // 41
)

// DMOverhead is how many bytes EncryptDM adds to a message: the version byte, the sender's
// Ed25519 key, the authentication tag and the nonce.
const DMOverhead = dmOverhead + 32

// dmSecret returns our scalar for the shared secret of a blinded DM of kind p and our blinded
// ID of that kind: for 15 the unblinded scalar a (both sides use the same factor), for 25 the
// blinded scalar ka (the factors differ per user, so both are applied).
func dmSecret(keys *crypto.Keys, serverPK [32]byte, p crypto.Prefix) (*edwards25519.Scalar, crypto.AccountID, error) {
	switch p {
	case crypto.PrefixBlinded15:
		kp, err := Blind15KeyPair(keys, serverPK)
		if err != nil {
			return nil, crypto.AccountID{}, err
		}
		return scalarFromClamped(keys.X25519PrivateKey()), kp.id, nil
	case crypto.PrefixBlinded25:
		kp, err := Blind25KeyPair(keys, serverPK)
		if err != nil {
			return nil, crypto.AccountID{}, err
		}
		return new(edwards25519.Scalar).Set(&kp.priv), kp.id, nil
	}
	return nil, crypto.AccountID{}, fmt.Errorf("%w: prefix %s (want 15 or 25)", ErrNotBlindedID, p)
}

// dmKey is BLAKE2b-256(s·other || sender || recipient), keys without prefixes, sender first
// whoever computes it.
func dmKey(s *edwards25519.Scalar, other, sender, recipient crypto.AccountID) ([32]byte, error) {
	p, err := parsePoint(other.Key())
	if err != nil {
		return [32]byte{}, err
	}
	shared, err := mulSecret(s, p)
	if err != nil {
		return [32]byte{}, err
	}
	return crypto.Blake2b256(nil, shared[:], sender[1:], recipient[1:]), nil
}

// EncryptDM encrypts msg from us (keys) to the blinded recipient (15 or 25, which also sets
// the kind of our own blinded ID) on the community server serverPK, for the server's inbox:
// 0x00 || XChaCha20-Poly1305(msg || our Ed25519 public key) || nonce. The nonce is 24 bytes
// read from rand (crypto/rand when nil). msg is normally a padded Content message, as for 1:1
// messages, without Envelope. The output is len(msg) + DMOverhead bytes.
//
// A 15 recipient must be the user's real 15 ID (as the server shows it), not a candidate from
// Blind15IDs whose sign may be wrong: a message to the wrong candidate cannot be decrypted.
func EncryptDM(keys *crypto.Keys, serverPK [32]byte, recipient crypto.AccountID, msg []byte, rand io.Reader) ([]byte, error) {
	s, me, err := dmSecret(keys, serverPK, recipient.Prefix())
	if err != nil {
		return nil, err
	}
	key, err := dmKey(s, recipient, me, recipient)
	if err != nil {
		return nil, fmt.Errorf("blinding: recipient %s: %w", recipient, err)
	}
	var nonce [chacha20poly1305.NonceSizeX]byte
	if _, err := io.ReadFull(randOrDefault(rand), nonce[:]); err != nil {
		return nil, fmt.Errorf("blinding: reading nonce: %w", err)
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, fmt.Errorf("blinding: %w", err) // unreachable: the key is 32 bytes
	}
	edPK := keys.Ed25519PublicKey()
	inner := make([]byte, 0, len(msg)+32)
	inner = append(append(inner, msg...), edPK[:]...)
	out := make([]byte, 1, len(msg)+DMOverhead)
	out[0] = dmVersion
	out = aead.Seal(out, nonce[:], inner, nil)
	return append(out, nonce[:]...), nil
}

// DecryptDM decrypts a blinded direct message that the community server serverPK delivered
// from sender to recipient (both 15 or both 25, as the server reported them). It works both
// for messages we received (recipient is our blinded ID) and for our own outbox copies
// (sender is our blinded ID). It returns the message and the sender's real 05 Account ID,
// after checking that the Ed25519 key inside the message blinds to sender.
//
// Errors: ErrNotBlindedID for IDs that are not both 15 or both 25; ErrDecrypt for data that
// is malformed, tampered with or not for us; ErrSenderMismatch when the embedded key does not
// belong to sender.
func DecryptDM(keys *crypto.Keys, serverPK [32]byte, sender, recipient crypto.AccountID, data []byte) ([]byte, crypto.AccountID, error) {
	var none crypto.AccountID
	if sender.Prefix() != recipient.Prefix() {
		return nil, none, fmt.Errorf("%w: sender %s and recipient %s are not the same kind", ErrNotBlindedID, sender.Prefix(), recipient.Prefix())
	}
	if p := sender.Prefix(); p != crypto.PrefixBlinded15 && p != crypto.PrefixBlinded25 {
		return nil, none, fmt.Errorf("%w: prefix %s (want 15 or 25)", ErrNotBlindedID, p)
	}
	if len(data) < dmOverhead+32 {
		return nil, none, fmt.Errorf("%w: %d bytes is too short", ErrDecrypt, len(data))
	}
	if data[0] != dmVersion {
		return nil, none, fmt.Errorf("%w: unknown version %d", ErrDecrypt, data[0])
	}
	s, me, err := dmSecret(keys, serverPK, sender.Prefix())
	if err != nil {
		return nil, none, err
	}
	other := sender
	if sender == me {
		other = recipient // our own outbox copy
	}
	key, err := dmKey(s, other, sender, recipient)
	if err != nil {
		return nil, none, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		return nil, none, fmt.Errorf("blinding: %w", err) // unreachable: the key is 32 bytes
	}
	nonce := data[len(data)-chacha20poly1305.NonceSizeX:]
	inner, err := aead.Open(nil, nonce, data[1:len(data)-chacha20poly1305.NonceSizeX], nil)
	if err != nil {
		return nil, none, fmt.Errorf("%w: authentication failed", ErrDecrypt)
	}
	msg, edPK := inner[:len(inner)-32], [32]byte(inner[len(inner)-32:])
	got, sid, err := blindIDFromEd25519(sender.Prefix(), edPK, serverPK)
	if err != nil {
		return nil, none, fmt.Errorf("%w: embedded key: %w", ErrSenderMismatch, err)
	}
	// A 15 sender may be reported with either sign (it could come from a 05 ID).
	if got != sender && !(sender.Prefix() == crypto.PrefixBlinded15 && flipSign(got) == sender) {
		return nil, none, fmt.Errorf("%w: message key blinds to %s, not %s", ErrSenderMismatch, got, sender)
	}
	return msg, sid, nil
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
