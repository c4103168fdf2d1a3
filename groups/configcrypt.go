package groups

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/sessiongo/sdk/crypto"
)

// ConfigOverhead is what config encryption adds: a 16-byte tag and the 24-byte nonce.
const ConfigOverhead = 40

// MaxConfigSize is the largest encrypted config message libsession pushes.
const MaxConfigSize = 76800

// maxDecompressed bounds zstd output (config payloads and group message bodies).
const maxDecompressed = 1_000_000

// ConfigPaddedSize returns the size that a config payload of size bytes is padded to, so that
// the padded size plus overhead is a whole number of chunks (256 B below 5 KiB, 1 KiB below
// 20 KiB, 2 KiB below 40 KiB, 5 KiB above).
func ConfigPaddedSize(size, overhead int) int {
	s2 := size + overhead
	chunk := 5120
	switch {
	case s2 < 5120:
		chunk = 256
	case s2 < 20480:
		chunk = 1024
	case s2 < 40960:
		chunk = 2048
	}
	return (s2+chunk-1)/chunk*chunk - overhead
}

func checkDomain(domain string) error {
	if len(domain) < 1 || len(domain) > 24 {
		return fmt.Errorf("%w: config domain must be 1-24 bytes", ErrInvalidInput)
	}
	return nil
}

func configKeys(msgLen int, keyBase *[32]byte, domain string, msg []byte) (key [32]byte, nonce [24]byte) {
	var l [8]byte
	binary.BigEndian.PutUint64(l[:], uint64(msgLen))
	key = crypto.Blake2b256(nil, keyBase[:], l[:], []byte(domain))
	if msg != nil {
		n, err := crypto.Blake2b(24, []byte("libsessionutil-config-encrypted-"+domain), msg)
		if err != nil {
			panic(err) // unreachable: key is at most 56 bytes
		}
		nonce = [24]byte(n)
	}
	return key, nonce
}

// EncryptConfig encrypts an (already padded) config payload deterministically, as
// libsession's config encrypt does: key = H_32(keyBase ‖ uint64_be(len(msg)) ‖ domain),
// nonce = H_24(msg; key="libsessionutil-config-encrypted-"+domain), output
// XChaCha20-Poly1305(msg) ‖ nonce. keyBase is the user's Ed25519 seed for user configs and the
// newest group key for group Info and Members.
func EncryptConfig(msg []byte, keyBase [32]byte, domain string) ([]byte, error) {
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	key, nonce := configKeys(len(msg), &keyBase, domain, msg)
	out := xchachaSeal(&key, nonce[:], msg)
	return append(out, nonce[:]...), nil
}

// DecryptConfig reverses EncryptConfig. The result still carries its padding; see
// DecodeConfigPayload.
func DecryptConfig(ciphertext []byte, keyBase [32]byte, domain string) ([]byte, error) {
	if err := checkDomain(domain); err != nil {
		return nil, err
	}
	if len(ciphertext) < ConfigOverhead {
		return nil, fmt.Errorf("%w: config ciphertext too short (%d bytes)", ErrDecrypt, len(ciphertext))
	}
	n := len(ciphertext) - 24
	key, _ := configKeys(len(ciphertext)-ConfigOverhead, &keyBase, domain, nil)
	pt, ok := xchachaOpen(&key, ciphertext[n:], ciphertext[:n])
	if !ok {
		return nil, ErrDecrypt
	}
	return pt, nil
}

// zstd coders are safe for concurrent EncodeAll/DecodeAll and expensive to build, so one of
// each is made on first use and shared. They hold no state between calls and start no
// goroutines (concurrency 1).
var (
	zstdEncoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1))
		if err != nil {
			panic(err) // unreachable: constant options
		}
		return e
	})
	zstdDecoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(maxDecompressed))
		if err != nil {
			panic(err) // unreachable: constant options
		}
		return d
	})
)

func zstdCompress(b []byte) []byte { return zstdEncoder().EncodeAll(b, nil) }

func zstdDecompress(b []byte) ([]byte, error) {
	out, err := zstdDecoder().DecodeAll(b, nil)
	if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return nil, fmt.Errorf("%w: decompressed size over %d bytes: %w", ErrTooLarge, maxDecompressed, err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: zstd: %w", ErrMalformed, err)
	}
	if len(out) > maxDecompressed {
		return nil, fmt.Errorf("%w: decompressed size over %d bytes", ErrTooLarge, maxDecompressed)
	}
	return out, nil
}

// EncodeConfigPayload runs libsession's push pipeline on a serialized config message: it
// compresses it ('z' ‖ zstd) when asked and when that is smaller, prepends zero padding up to
// ConfigPaddedSize, and encrypts it with EncryptConfig. The compressed bytes differ from
// libzstd's, which is harmless: readers only decompress.
func EncodeConfigPayload(serialized []byte, keyBase [32]byte, domain string, compress bool) ([]byte, error) {
	data := serialized
	if compress {
		if z := zstdCompress(serialized); len(z)+1 < len(serialized) {
			data = append([]byte{'z'}, z...)
		}
	}
	padded := make([]byte, ConfigPaddedSize(len(data), ConfigOverhead))
	copy(padded[len(padded)-len(data):], data)
	out, err := EncryptConfig(padded, keyBase, domain)
	if err != nil {
		return nil, err
	}
	if len(out) > MaxConfigSize {
		return nil, fmt.Errorf("%w: config message is %d bytes (max %d)", ErrTooLarge, len(out), MaxConfigSize)
	}
	return out, nil
}

// DecodeConfigPayload decrypts an encrypted config payload with keyBase, strips the leading
// zero padding and decompresses it if needed, returning the serialized config message.
func DecodeConfigPayload(payload []byte, keyBase [32]byte, domain string) ([]byte, error) {
	pt, err := DecryptConfig(payload, keyBase, domain)
	if err != nil {
		return nil, err
	}
	return unpadConfig(pt)
}

func unpadConfig(pt []byte) ([]byte, error) {
	i := 0
	for i < len(pt) && pt[i] == 0 {
		i++
	}
	pt = pt[i:]
	if len(pt) == 0 {
		return nil, malformed("config payload", "", "empty", nil)
	}
	switch pt[0] {
	case 'z':
		out, err := zstdDecompress(pt[1:])
		if err != nil {
			return nil, err
		}
		if len(out) == 0 || out[0] != 'd' {
			return nil, malformed("config payload", "", "decompressed data is not a dict", nil)
		}
		return out, nil
	case 'd':
		return pt, nil
	case 'm':
		return nil, fmt.Errorf("%w: multipart config messages", ErrUnsupported)
	}
	return nil, malformed("config payload", "", fmt.Sprintf("unknown leading byte 0x%02x", pt[0]), nil)
}

// ConfigMessageHash is the hash libsession identifies a config message by: unkeyed
// BLAKE2b-256 of its serialized (plaintext) form.
func ConfigMessageHash(serialized []byte) [32]byte { return crypto.Blake2b256(nil, serialized) }
