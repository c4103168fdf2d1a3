package attachment

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"fmt"
	"io"
)

const (
	profileIVSize  = 12
	profileTagSize = 16
)

// EncryptProfilePicture encrypts a profile picture the legacy way: IV(12) ‖
// AES-256-GCM(profileKey, IV, data) with the 16-byte tag appended and no associated data.
// rand supplies the IV (nil means crypto/rand). The profile key travels, with the upload's
// URL, in the profile fields of outgoing messages and in the user-profile config.
func EncryptProfilePicture(profileKey [32]byte, data []byte, rand io.Reader) ([]byte, error) {
	aead, err := profileAEAD(&profileKey)
	if err != nil {
		return nil, err
	}
	out := make([]byte, profileIVSize, profileIVSize+len(data)+profileTagSize)
	if _, err := io.ReadFull(randOrDefault(rand), out); err != nil {
		return nil, fmt.Errorf("attachment: reading IV: %w", err)
	}
	return aead.Seal(out, out[:profileIVSize], data, nil), nil
}

// DecryptProfilePicture decrypts a profile picture encrypted with the legacy scheme
// (EncryptProfilePicture) or, when the blob starts with 'S', with the deterministic scheme
// (EncryptDeterministic with DomainProfilePicture, whose key is the profile key). A blob
// that does not authenticate under either is ErrWrongKey.
func DecryptProfilePicture(profileKey [32]byte, blob []byte) ([]byte, error) {
	if len(blob) > MaxBlobSize {
		return nil, &SizeError{Got: int64(len(blob)), Want: MaxBlobSize}
	}
	if len(blob) > 0 && blob[0] == detPrefix {
		// A legacy IV starts with 'S' once in 256 blobs, so fall back to GCM on failure.
		work := append([]byte(nil), blob...)
		if pt, err := deterministicOpen(work, Pointer{Key: DeterministicKey(profileKey)}); err == nil {
			return pt, nil
		}
	}
	if len(blob) < profileIVSize+profileTagSize {
		return nil, &SizeError{Got: int64(len(blob)), Want: profileIVSize + profileTagSize}
	}
	aead, err := profileAEAD(&profileKey)
	if err != nil {
		return nil, err
	}
	pt, err := aead.Open(nil, blob[:profileIVSize], blob[profileIVSize:], nil)
	if err != nil {
		return nil, ErrWrongKey
	}
	return pt, nil
}

func profileAEAD(key *[32]byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		return nil, fmt.Errorf("attachment: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("attachment: %w", err)
	}
	return aead, nil
}

func randOrDefault(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}
