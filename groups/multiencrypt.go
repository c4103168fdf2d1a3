package groups

import (
	"fmt"
	"io"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/bencode"
)

// MultiOverhead is the size each multi-encrypted copy adds to its message.
const MultiOverhead = chacha20poly1305.Overhead

// multiKey derives the per-recipient key H_32(dh ‖ senderPK ‖ recipientPK; key=domain).
func multiKey(dh []byte, senderPK, recipientPK *[32]byte, domain string) [32]byte {
	if len(domain) > 64 {
		domain = domain[:64] // libsession cuts the BLAKE2b key to 64 bytes
	}
	return crypto.Blake2b256([]byte(domain), dh, senderPK[:], recipientPK[:])
}

func xchachaSeal(key *[32]byte, nonce, msg []byte) []byte {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic(err) // unreachable: the key is 32 bytes
	}
	return aead.Seal(nil, nonce, msg, nil)
}

func xchachaOpen(key *[32]byte, nonce, ct []byte) ([]byte, bool) {
	aead, err := chacha20poly1305.NewX(key[:])
	if err != nil {
		panic(err) // unreachable: the key is 32 bytes
	}
	pt, err := aead.Open(nil, nonce, ct, nil)
	return pt, err == nil
}

// MultiEncrypt encrypts messages for several X25519 recipients with one shared nonce, as
// libsession's multi_encrypt does: recipient i gets XChaCha20-Poly1305(messages[i], nonce,
// H_32(X25519(senderXSK, recipient) ‖ senderXPK ‖ recipient; key=domain)). messages must hold
// either one message (sent to everyone) or one per recipient. Recipients whose key gives an
// invalid Diffie-Hellman result (low-order points) are skipped, so the result may be shorter
// than recipients.
func MultiEncrypt(messages [][]byte, recipients [][32]byte, nonce [24]byte, senderXSK, senderXPK [32]byte, domain string) ([][]byte, error) {
	if len(messages) != 1 && len(messages) != len(recipients) {
		return nil, fmt.Errorf("%w: %d messages for %d recipients", ErrInvalidInput, len(messages), len(recipients))
	}
	out := make([][]byte, 0, len(recipients))
	for i := range recipients {
		dh, ok := crypto.X25519(&senderXSK, &recipients[i])
		if !ok {
			continue
		}
		key := multiKey(dh[:], &senderXPK, &recipients[i], domain)
		m := messages[0]
		if len(messages) > 1 {
			m = messages[i]
		}
		out = append(out, xchachaSeal(&key, nonce[:], m))
	}
	return out, nil
}

// MultiDecrypt finds and decrypts the entry of ciphertexts meant for the recipient
// (recipientXSK, recipientXPK) from senderXPK. It tries every entry and reports false if none
// decrypts.
func MultiDecrypt(ciphertexts [][]byte, nonce [24]byte, recipientXSK, recipientXPK, senderXPK [32]byte, domain string) ([]byte, bool) {
	dh, ok := crypto.X25519(&recipientXSK, &senderXPK)
	if !ok {
		return nil, false
	}
	key := multiKey(dh[:], &senderXPK, &recipientXPK, domain)
	for _, ct := range ciphertexts {
		if len(ct) < MultiOverhead {
			continue
		}
		if pt, ok := xchachaOpen(&key, nonce[:], ct); ok {
			return pt, true
		}
	}
	return nil, false
}

// MultiEncryptSimple is MultiEncrypt with a random nonce (from rand) and libsession's "simple"
// encoding, the bencoded dict {"#": nonce, "e": [ciphertexts…]}. When pad > 1, random junk
// entries are appended until the count is a multiple of pad; like libsession, each junk entry
// is as long as the plaintext of message 0.
func MultiEncryptSimple(messages [][]byte, recipients [][32]byte, senderXSK, senderXPK [32]byte, domain string, pad int, rand io.Reader) ([]byte, error) {
	var nonce [24]byte
	if _, err := io.ReadFull(rand, nonce[:]); err != nil {
		return nil, fmt.Errorf("groups: nonce: %w", err)
	}
	cts, err := MultiEncrypt(messages, recipients, nonce, senderXSK, senderXPK, domain)
	if err != nil {
		return nil, err
	}
	if pad > 1 && len(cts)%pad != 0 && len(messages) > 0 {
		for n := pad - len(cts)%pad; n > 0; n-- {
			junk := make([]byte, len(messages[0]))
			if _, err := io.ReadFull(rand, junk); err != nil {
				return nil, fmt.Errorf("groups: junk: %w", err)
			}
			cts = append(cts, junk)
		}
	}
	return encodeSimple(nonce, cts), nil
}

func encodeSimple(nonce [24]byte, cts [][]byte) []byte {
	out := []byte("d1:#")
	out = bencode.AppendBytes(out, nonce[:])
	out = append(out, "1:el"...)
	for _, c := range cts {
		out = bencode.AppendBytes(out, c)
	}
	return append(out, "ee"...)
}

// MultiDecryptSimple decrypts the recipient's entry of a MultiEncryptSimple encoding.
func MultiDecryptSimple(encoded []byte, recipientXSK, recipientXPK, senderXPK [32]byte, domain string) ([]byte, error) {
	v, err := bencode.Options{MaxDepth: 2}.Decode(encoded)
	if err != nil {
		return nil, malformed("multi-encrypted message", "", "not bencoded", err)
	}
	n, ok := v.Get("#")
	if !ok || n.Kind != bencode.KindString || len(n.Str) != 24 {
		return nil, malformed("multi-encrypted message", "#", "missing or not a 24-byte nonce", nil)
	}
	e, ok := v.Get("e")
	if !ok || e.Kind != bencode.KindList {
		return nil, malformed("multi-encrypted message", "e", "missing or not a list", nil)
	}
	cts := make([][]byte, 0, len(e.List))
	for _, x := range e.List {
		if x.Kind != bencode.KindString {
			return nil, malformed("multi-encrypted message", "e", "entry is not a string", nil)
		}
		cts = append(cts, x.Str)
	}
	pt, ok := MultiDecrypt(cts, [24]byte(n.Str), recipientXSK, recipientXPK, senderXPK, domain)
	if !ok {
		return nil, ErrDecrypt
	}
	return pt, nil
}
