package groups

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/bencode"
)

// MaxMessageSize is the largest plaintext EncryptMessage accepts.
const MaxMessageSize = 1_000_000

// DefaultMessagePadding is the padding multiple of group messages.
const DefaultMessagePadding = 256

const messageNonceSize = 24

// MessageOptions tunes EncryptMessageWith. The zero value means libsession's defaults:
// compress, pad to 256, random nonce from crypto/rand.
type MessageOptions struct {
	// NoCompress stores the plaintext as is instead of zstd-compressing it when that is smaller.
	NoCompress bool
	// Padding is the multiple the whole ciphertext (nonce included) is padded to; 0 means 256,
	// 1 means no padding.
	Padding int
	// Rand supplies the 24-byte nonce; nil means crypto/rand.
	Rand io.Reader
}

// EncryptMessage encrypts a group message (normally a serialized Envelope wrapping a Content)
// from sender with the group key groupKey (the newest, or pending, key), as libsession's
// encrypt_message(plaintext, compress=true, padding=256) does. The result is what is stored in
// the group's namespace 11.
func EncryptMessage(sender *crypto.Keys, groupKey [32]byte, plaintext []byte) ([]byte, error) {
	return EncryptMessageWith(sender, groupKey, plaintext, MessageOptions{})
}

// EncryptMessageWith is EncryptMessage with options. Steps: compress (zstd, kept only when
// smaller), sign the stored bytes with the sender's Ed25519 key, build the bencoded body
// {"": 1, "a": sender pk, "d"|"z": data, "s": sig}, pad it with zeros at the end so that
// 24 + len + 16 is a multiple of the padding, and output nonce ‖ XChaCha20-Poly1305(body).
func EncryptMessageWith(sender *crypto.Keys, groupKey [32]byte, plaintext []byte, opts MessageOptions) ([]byte, error) {
	if sender == nil {
		return nil, fmt.Errorf("%w: nil sender keys", ErrInvalidInput)
	}
	if len(plaintext) > MaxMessageSize {
		return nil, fmt.Errorf("%w: group message of %d bytes (max %d)", ErrTooLarge, len(plaintext), MaxMessageSize)
	}
	padding := opts.Padding
	if padding <= 0 {
		padding = DefaultMessagePadding
	}
	r := opts.Rand
	if r == nil {
		r = rand.Reader
	}
	var nonce [messageNonceSize]byte
	if _, err := io.ReadFull(r, nonce[:]); err != nil {
		return nil, fmt.Errorf("groups: nonce: %w", err)
	}
	data, key := plaintext, "d"
	if !opts.NoCompress {
		if z := zstdCompress(plaintext); len(z) < len(plaintext) {
			data, key = z, "z"
		}
	}
	pk := sender.Ed25519PublicKey()
	sig := sender.Sign(data)
	body := []byte("d0:i1e1:a")
	body = bencode.AppendBytes(body, pk[:])
	// Keys in order: "" < "a" < "d" < "s" < "z".
	if key == "d" {
		body = bencode.AppendBytes(append(body, "1:d"...), data)
	}
	body = bencode.AppendBytes(append(body, "1:s"...), sig[:])
	if key == "z" {
		body = bencode.AppendBytes(append(body, "1:z"...), data)
	}
	body = append(body, 'e')
	if over := (messageNonceSize + len(body) + MultiOverhead) % padding; over != 0 {
		body = append(body, make([]byte, padding-over)...)
	}
	out := append([]byte(nil), nonce[:]...)
	return append(out, xchachaSeal(&groupKey, nonce[:], body)...), nil
}

// Message is a decrypted group message.
type Message struct {
	// Plaintext is the decrypted (and decompressed) content: normally a serialized Envelope.
	Plaintext []byte
	// Sender is the author's 05 Account ID and SenderEd25519 its Ed25519 key.
	Sender        crypto.AccountID
	SenderEd25519 [32]byte
	// KeyIndex is the index in the keys given to DecryptMessage of the key that decrypted it.
	KeyIndex int
}

// DecryptMessage decrypts a group message with the first of keys that works (give them in
// libsession's order: pending key first, then newest to oldest), checks the author's signature
// and returns the content and its author. Failing keys give ErrDecrypt; a message that decrypts
// but is malformed gives ErrMalformed or ErrBadSignature.
func DecryptMessage(keys [][32]byte, ciphertext []byte) (*Message, error) {
	if len(ciphertext) < messageNonceSize+MultiOverhead {
		return nil, fmt.Errorf("%w: group message too short (%d bytes)", ErrDecrypt, len(ciphertext))
	}
	nonce, ct := ciphertext[:messageNonceSize], ciphertext[messageNonceSize:]
	for i := range keys {
		body, ok := xchachaOpen(&keys[i], nonce, ct)
		if !ok {
			continue
		}
		m, err := parseMessageBody(body)
		if err != nil {
			return nil, err
		}
		m.KeyIndex = i
		return m, nil
	}
	return nil, fmt.Errorf("%w: no group key decrypts the message", ErrDecrypt)
}

func parseMessageBody(body []byte) (*Message, error) {
	const what = "group message"
	n := len(body)
	for n > 0 && body[n-1] == 0 {
		n--
	}
	body = body[:n]
	if len(body) < 2 || body[0] != 'd' || body[n-1] != 'e' {
		return nil, malformed(what, "", "body is not a bencoded dict", nil)
	}
	v, err := bencode.Options{MaxDepth: 1}.Decode(body)
	if err != nil {
		return nil, malformed(what, "", "bad body", err)
	}
	ver, ok := v.Get("")
	if n, err := ver.Int64(); !ok || err != nil || n != 1 {
		return nil, fmt.Errorf("%w: group message version is not 1", ErrUnsupported)
	}
	a, ok := v.Get("a")
	if !ok || a.Kind != bencode.KindString || len(a.Str) != 32 {
		return nil, malformed(what, "a", "missing or not a 32-byte key", nil)
	}
	s, ok := v.Get("s")
	if !ok || s.Kind != bencode.KindString || len(s.Str) != 64 {
		return nil, malformed(what, "s", "missing or not a 64-byte signature", nil)
	}
	d, hasD := v.Get("d")
	z, hasZ := v.Get("z")
	if hasD == hasZ {
		return nil, malformed(what, "d", "need exactly one of d and z", nil)
	}
	data := d
	if hasZ {
		data = z
	}
	if data.Kind != bencode.KindString {
		return nil, malformed(what, "d", "data is not a string", nil)
	}
	if !ed25519.Verify(a.Str, data.Str, s.Str) {
		return nil, fmt.Errorf("%w: group message author signature", ErrBadSignature)
	}
	m := &Message{SenderEd25519: [32]byte(a.Str)}
	id, err := crypto.AccountIDFromEd25519(m.SenderEd25519)
	if err != nil {
		return nil, malformed(what, "a", "author key", err)
	}
	m.Sender = id
	if hasZ {
		if m.Plaintext, err = zstdDecompress(data.Str); err != nil {
			return nil, err
		}
	} else {
		m.Plaintext = append([]byte(nil), data.Str...)
	}
	return m, nil
}
