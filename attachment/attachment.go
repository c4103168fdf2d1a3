package attachment

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
)

// MaxBlobSize bounds the blobs Decrypt and DecryptInPlace accept (a pointer's size only
// lowers it). It is larger than any blob the file server accepts (about 10 MB) and than the
// deterministic scheme's 25 MB vector.
const MaxBlobSize = 32 << 20

// DigestSize is the length of a pointer's digest (SHA-256).
const DigestSize = sha256.Size

// Scheme names an attachment encryption scheme.
type Scheme uint8

const (
	// Legacy is AES-256-CBC + HMAC-SHA256 with a random 64-byte key (current clients).
	Legacy Scheme = iota + 1
	// Deterministic is the "S" secretstream scheme with a key derived from the file.
	Deterministic
)

func (s Scheme) String() string {
	switch s {
	case Legacy:
		return "legacy"
	case Deterministic:
		return "deterministic"
	}
	return fmt.Sprintf("Scheme(%d)", uint8(s))
}

// Key is an attachment key: 64 bytes (AES-256 key ‖ HMAC-SHA256 key) for Legacy, 32 bytes
// for Deterministic. The zero Key is invalid. Printing a Key with any fmt verb shows only its
// scheme, never its bytes.
type Key struct {
	scheme Scheme
	b      [64]byte
}

// LegacyKey makes a Legacy key from its 64 bytes.
func LegacyKey(k [64]byte) Key { return Key{scheme: Legacy, b: k} }

// DeterministicKey makes a Deterministic key from its 32 bytes.
func DeterministicKey(k [32]byte) Key {
	key := Key{scheme: Deterministic}
	copy(key.b[:], k[:])
	return key
}

// ParseKey reads the key field of an AttachmentPointer: 64 bytes is a Legacy key, 32 bytes a
// Deterministic one; anything else is ErrMalformed.
func ParseKey(b []byte) (Key, error) {
	switch len(b) {
	case 64:
		return LegacyKey([64]byte(b)), nil
	case 32:
		return DeterministicKey([32]byte(b)), nil
	}
	return Key{}, fmt.Errorf("%w: key of %d bytes (want 64 or 32)", ErrMalformed, len(b))
}

// Scheme returns the key's scheme (0 for the zero Key).
func (k Key) Scheme() Scheme { return k.scheme }

// Bytes returns a copy of the key as the AttachmentPointer carries it (64 or 32 bytes; nil
// for the zero Key).
func (k Key) Bytes() []byte {
	switch k.scheme {
	case Legacy:
		return bytes.Clone(k.b[:])
	case Deterministic:
		return bytes.Clone(k.b[:32])
	}
	return nil
}

// String shows the scheme only.
func (k Key) String() string { return "attachment.Key(" + k.scheme.String() + ")" }

// GoString shows the scheme only.
func (k Key) GoString() string { return k.String() }

// Format makes every verb print String, so key bytes never reach logs.
func (k Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// Pointer is what a receiver needs to decrypt an attachment: the fields of an
// AttachmentPointer that concern the crypto.
type Pointer struct {
	Key Key
	// Digest is the SHA-256 of the encrypted blob. Legacy blobs must have one (as desktop
	// requires); for Deterministic blobs it is checked when present.
	Digest []byte
	// Size is the plaintext length (AttachmentPointer.size). Legacy plaintext is cut to it
	// (that removes the zero padding); a Deterministic plaintext must have exactly this
	// length. 0 means unknown: Legacy plaintext is then returned with its padding.
	Size int64
}

// EncryptedSize returns the length of the blob that encrypting n plaintext bytes gives:
// for Legacy with padding (as attachments are sent), for Deterministic as libsession pads.
// Negative n, or an unknown scheme, gives 0.
func EncryptedSize(s Scheme, n int64) int64 {
	if n < 0 {
		return 0
	}
	switch s {
	case Legacy:
		return legacyBlobSize(PaddedSize(n))
	case Deterministic:
		return deterministicSize(n)
	}
	return 0
}

// Decrypt reads a whole encrypted blob from src, authenticates it against p and writes the
// plaintext to dst, returning the number of bytes written. The blob is held in memory once
// and decrypted in place; nothing is written to dst unless every check passes. It reads at
// most EncryptedSize for p.Size (MaxBlobSize when p.Size is 0): a longer src is a
// *SizeError (ErrTooLarge).
func Decrypt(dst io.Writer, src io.Reader, p Pointer) (int64, error) {
	if err := p.check(); err != nil {
		return 0, err
	}
	limit := p.maxBlob()
	buf, err := readAtMost(src, limit, p.expectedBlob())
	if err != nil {
		return 0, err
	}
	return DecryptInPlace(dst, buf, p)
}

// DecryptInPlace is Decrypt for a blob already in memory. It uses blob as its working space:
// the contents of blob are overwritten, whatever the outcome. Nothing is written to dst
// unless every check passes.
func DecryptInPlace(dst io.Writer, blob []byte, p Pointer) (int64, error) {
	pt, err := OpenInPlace(blob, p)
	if err != nil {
		return 0, err
	}
	n, err := dst.Write(pt)
	if err == nil && n != len(pt) {
		err = io.ErrShortWrite
	}
	if err != nil {
		return int64(n), fmt.Errorf("attachment: writing plaintext: %w", err)
	}
	return int64(n), nil
}

// OpenInPlace checks and decrypts blob in place and returns the plaintext, a sub-slice of
// blob (no copy). The contents of blob are overwritten, whatever the outcome.
func OpenInPlace(blob []byte, p Pointer) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	if max := p.maxBlob(); int64(len(blob)) > max {
		return nil, &SizeError{Got: int64(len(blob)), Want: max}
	}
	if p.Key.scheme == Legacy {
		return legacyOpen(blob, p)
	}
	if err := checkDigest(blob, p.Digest); err != nil {
		return nil, err
	}
	return deterministicOpen(blob, p)
}

// checkDigest compares the blob's SHA-256 with digest (if not nil).
func checkDigest(blob, digest []byte) error {
	if digest == nil {
		return nil
	}
	sum := sha256.Sum256(blob)
	if subtle.ConstantTimeCompare(sum[:], digest) != 1 {
		return ErrDigestMismatch
	}
	return nil
}

// parallelMin is the size from which work on a blob is split between two goroutines.
const parallelMin = 256 << 10

// both runs f and g, on two goroutines when big is true, and returns when both are done.
func both(big bool, f, g func()) {
	if !big {
		f()
		g()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	g()
	<-done
}

// check validates the pointer itself.
func (p Pointer) check() error {
	switch p.Key.scheme {
	case Legacy:
		if p.Digest == nil {
			return fmt.Errorf("%w: legacy pointer has no digest", ErrDigestMismatch)
		}
	case Deterministic:
	default:
		return fmt.Errorf("%w: zero key", ErrMalformed)
	}
	if p.Digest != nil && len(p.Digest) != DigestSize {
		return fmt.Errorf("%w: digest of %d bytes", ErrMalformed, len(p.Digest))
	}
	if p.Size < 0 {
		return fmt.Errorf("%w: negative size", ErrMalformed)
	}
	if p.Size > maxPlaintext {
		return &SizeError{Got: p.Size, Want: maxPlaintext}
	}
	return nil
}

// maxBlob is the largest blob the pointer allows, and never more than MaxBlobSize (so a
// pointer claiming a huge size cannot make Decrypt allocate more).
func (p Pointer) maxBlob() int64 {
	if p.Size == 0 {
		return MaxBlobSize
	}
	return min(EncryptedSize(p.Key.scheme, p.Size), MaxBlobSize)
}

// expectedBlob is a size hint for reading (the largest allowed blob when known).
func (p Pointer) expectedBlob() int64 {
	if p.Size == 0 {
		return 0
	}
	return p.maxBlob()
}

// readAtMost reads src to EOF into one buffer of at most limit bytes; hint pre-sizes it.
func readAtMost(src io.Reader, limit, hint int64) ([]byte, error) {
	var buf []byte
	if hint > 0 && hint <= limit {
		buf = make([]byte, 0, hint+1)
	} else {
		buf = make([]byte, 0, 64<<10)
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		want := cap(buf)
		if int64(want) > limit+1 {
			want = int(limit + 1)
		}
		n, err := src.Read(buf[len(buf):want])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return nil, &SizeError{Got: int64(len(buf)), Want: limit}
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("attachment: reading blob: %w", err)
		}
	}
}
