// Package sns resolves Session Name Service (ONS) names to Account IDs.
//
// A name's record lives on the Oxen chain, encrypted with a key only the name gives. Resolve
// asks several random storage nodes (through a swarm.Transport, normally onion paths) for the
// record with oxend_request → ons_resolve, accepts it only when all of them return the same
// answer, and decrypts it locally. NameHash and DecryptRecord are the byte-level pieces.
package sns

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/sessiongo/sdk/crypto"
)

// Errors. A *DisagreementError matches ErrDisagreement.
var (
	// ErrInvalidName: the name is empty, too long or has characters names cannot have.
	ErrInvalidName = errors.New("sns: invalid name")
	// ErrNotFound: the name is not registered (every asked node said so).
	ErrNotFound = errors.New("sns: name not found")
	// ErrDisagreement: the asked nodes gave different answers.
	ErrDisagreement = errors.New("sns: nodes disagree")
	// ErrDecrypt: the record does not decrypt with the name (wrong name, or a bad record).
	ErrDecrypt = errors.New("sns: record does not decrypt")
	// ErrLegacyRecord: a pre-HF16 record (no nonce) and the resolver does not allow the costly
	// legacy decryption.
	ErrLegacyRecord = errors.New("sns: legacy record not allowed")
	// ErrInvalidResponse: a node's answer could not be read.
	ErrInvalidResponse = errors.New("sns: invalid response")
)

// MaxNameLength is the longest Session name (in bytes).
const MaxNameLength = 64

// NormalizeName returns name in lowercase after checking that it is a valid Session name:
// letters, digits and underscores, with hyphens allowed inside (^\w([\w-]*\w)?$).
func NormalizeName(name string) (string, error) {
	if name == "" || len(name) > MaxNameLength {
		return "", fmt.Errorf("%w: length %d", ErrInvalidName, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		word := c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if word || (c == '-' && i > 0 && i < len(name)-1) {
			continue
		}
		return "", fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	return strings.ToLower(name), nil
}

// NameHash returns BLAKE2b-256 of the lowercase name: the key under which oxend stores the
// record (sent base64-encoded as name_hash).
func NameHash(name string) ([32]byte, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return [32]byte{}, err
	}
	return blake2b.Sum256([]byte(n)), nil
}

// Legacy (pre-HF16) record parameters: Argon2id with libsodium's "moderate" limits.
const (
	legacyTime    = 3
	legacyMemory  = 256 * 1024 // KiB
	legacyThreads = 1
	legacySize    = crypto.AccountIDSize + secretbox.Overhead
)

// DecryptRecord decrypts a Session name record (the encrypted_value of ons_resolve) into the
// Account ID it holds.
//
// With a nonce (24 bytes, every record since HF16) the record is XChaCha20-Poly1305 under
// BLAKE2b-256(name, key = BLAKE2b-256(name)). Without one (nil nonce) it is a legacy record:
// XSalsa20-Poly1305 with a zero nonce under an Argon2id key of the name (zero salt, 3 passes,
// 256 MiB): each call then costs 256 MiB of memory and about a second.
func DecryptRecord(name string, ciphertext, nonce []byte) (crypto.AccountID, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return crypto.AccountID{}, err
	}
	var plain []byte
	if nonce == nil {
		if len(ciphertext) != legacySize {
			return crypto.AccountID{}, fmt.Errorf("%w: legacy record of %d bytes", ErrDecrypt, len(ciphertext))
		}
		key := [32]byte(argon2.IDKey([]byte(n), make([]byte, 16), legacyTime, legacyMemory, legacyThreads, 32))
		var zero [24]byte
		var ok bool
		plain, ok = secretbox.Open(nil, ciphertext, &zero, &key)
		if !ok {
			return crypto.AccountID{}, ErrDecrypt
		}
	} else {
		if len(nonce) != chacha20poly1305.NonceSizeX {
			return crypto.AccountID{}, fmt.Errorf("%w: nonce of %d bytes", ErrDecrypt, len(nonce))
		}
		if len(ciphertext) < chacha20poly1305.Overhead {
			return crypto.AccountID{}, fmt.Errorf("%w: record of %d bytes", ErrDecrypt, len(ciphertext))
		}
		h := blake2b.Sum256([]byte(n))
		kh, _ := blake2b.New256(h[:]) // a 32-byte key is always valid
		kh.Write([]byte(n))
		aead, err := chacha20poly1305.NewX(kh.Sum(nil))
		if err != nil {
			return crypto.AccountID{}, err
		}
		plain, err = aead.Open(nil, nonce, ciphertext, nil)
		if err != nil {
			return crypto.AccountID{}, ErrDecrypt
		}
	}
	if len(plain) != crypto.AccountIDSize || crypto.Prefix(plain[0]) != crypto.PrefixStandard {
		return crypto.AccountID{}, fmt.Errorf("%w: value is not a Session ID", ErrDecrypt)
	}
	return crypto.AccountID(plain), nil
}
