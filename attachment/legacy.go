package attachment

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"math"
)

const (
	legacyIVSize  = aes.BlockSize
	legacyMACSize = sha256.Size
	// legacyMinPadded and legacyPadCap are desktop's padding floor and cap (BufferPadding).
	legacyMinPadded = 541
	legacyPadCap    = 10_000_000
)

// PaddedSize is the Legacy scheme's padding bucket for an n-byte attachment, as session-desktop
// computes it: max(541, floor(1.05^ceil(log(n)/log(1.05)))), capped at 10,000,000 when n is at
// most that. Negative n gives 0.
func PaddedSize(n int64) int64 {
	if n < 0 {
		return 0
	}
	if n == 0 {
		return legacyMinPadded
	}
	p := math.Floor(math.Pow(1.05, math.Ceil(math.Log(float64(n))/math.Log(1.05))))
	var padded int64
	if p >= math.MaxInt64/2 || math.IsNaN(p) {
		padded = n
	} else {
		padded = int64(p)
	}
	padded = max(padded, legacyMinPadded, n)
	if n <= legacyPadCap {
		padded = min(padded, legacyPadCap)
	}
	return padded
}

// legacyBlobSize is the blob length for m plaintext bytes (after zero padding, if any).
func legacyBlobSize(m int64) int64 {
	return legacyIVSize + (m/aes.BlockSize+1)*aes.BlockSize + legacyMACSize
}

// LegacyOptions tune EncryptLegacy. The zero value is right for attachments.
type LegacyOptions struct {
	// NoPadding leaves out the zero padding to PaddedSize (desktop pads attachments but not
	// link-preview images).
	NoPadding bool
	// Rand supplies the 64-byte key and then the 16-byte IV; nil means crypto/rand.
	Rand io.Reader
}

// legacyChunk is how much plaintext EncryptLegacy encrypts per write (a multiple of the
// AES block size).
const legacyChunk = 64 << 10

// EncryptLegacy encrypts everything src yields with the Legacy scheme and writes the blob
// (IV ‖ AES-256-CBC ciphertext ‖ HMAC-SHA256) to dst, holding only a 64 KiB buffer. It
// returns the pointer: a fresh key, the blob's SHA-256 digest and the plaintext size. The
// blob is EncryptedSize(Legacy, size) bytes long (less with NoPadding).
func EncryptLegacy(dst io.Writer, src io.Reader, opts *LegacyOptions) (Pointer, error) {
	var o LegacyOptions
	if opts != nil {
		o = *opts
	}
	r := o.Rand
	if r == nil {
		r = rand.Reader
	}
	var keyIV [64 + legacyIVSize]byte
	if _, err := io.ReadFull(r, keyIV[:]); err != nil {
		return Pointer{}, fmt.Errorf("attachment: reading key and IV: %w", err)
	}
	key := LegacyKey([64]byte(keyIV[:64]))
	iv := keyIV[64:]

	block, err := aes.NewCipher(key.b[:32])
	if err != nil {
		return Pointer{}, fmt.Errorf("attachment: %w", err)
	}
	e := &legacyWriter{
		dst:    dst,
		cbc:    cipher.NewCBCEncrypter(block, iv),
		mac:    hmac.New(sha256.New, key.b[32:64]),
		digest: sha256.New(),
		buf:    make([]byte, legacyChunk+aes.BlockSize),
	}
	if err := e.emit(iv); err != nil {
		return Pointer{}, err
	}
	e.mac.Write(iv)

	// Encrypt src in chunks, keeping any partial block in the buffer.
	var n int64
	for {
		m, rerr := io.ReadFull(src, e.buf[e.fill:legacyChunk])
		e.fill += m
		n += int64(m)
		if err := e.flushBlocks(); err != nil {
			return Pointer{}, err
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return Pointer{}, fmt.Errorf("attachment: reading plaintext: %w", rerr)
		}
	}
	// Zero padding, then PKCS#7.
	total := n
	if !o.NoPadding {
		total = PaddedSize(n)
	}
	for z := total - n; z > 0; {
		k := min(z, int64(legacyChunk-e.fill))
		clear(e.buf[e.fill : e.fill+int(k)])
		e.fill += int(k)
		z -= k
		if err := e.flushBlocks(); err != nil {
			return Pointer{}, err
		}
	}
	pad := aes.BlockSize - e.fill%aes.BlockSize
	for i := 0; i < pad; i++ {
		e.buf[e.fill+i] = byte(pad)
	}
	e.fill += pad
	if err := e.flushBlocks(); err != nil {
		return Pointer{}, err
	}
	if err := e.emit(e.mac.Sum(nil)); err != nil {
		return Pointer{}, err
	}
	return Pointer{Key: key, Digest: e.digest.Sum(nil), Size: n}, nil
}

// legacyWriter encrypts whole blocks of buf[:fill] and writes them, with MAC and digest.
type legacyWriter struct {
	dst    io.Writer
	cbc    cipher.BlockMode
	mac    hash.Hash
	digest hash.Hash
	buf    []byte
	fill   int
}

func (e *legacyWriter) emit(b []byte) error {
	e.digest.Write(b)
	if _, err := e.dst.Write(b); err != nil {
		return fmt.Errorf("attachment: writing blob: %w", err)
	}
	return nil
}

// flushBlocks encrypts and writes the whole blocks of the buffer once it is full, or all of
// them when fill is a block multiple at the end (the caller ensures that).
func (e *legacyWriter) flushBlocks() error {
	whole := e.fill - e.fill%aes.BlockSize
	if whole == 0 || (e.fill < legacyChunk && e.fill%aes.BlockSize != 0) {
		return nil
	}
	// A full buffer or block-aligned data: encrypt the whole blocks.
	c := e.buf[:whole]
	e.cbc.CryptBlocks(c, c)
	e.mac.Write(c)
	if err := e.emit(c); err != nil {
		return err
	}
	rest := copy(e.buf, e.buf[whole:e.fill])
	e.fill = rest
	return nil
}

// legacyOpen authenticates and decrypts a Legacy blob in place (the digest, if any, was
// already checked) and returns the plaintext cut to p.Size.
func legacyOpen(blob []byte, p Pointer) ([]byte, error) {
	min := int64(legacyIVSize + aes.BlockSize + legacyMACSize)
	if p.Size > 0 {
		min = legacyBlobSize(p.Size)
	}
	if int64(len(blob)) < min {
		return nil, &SizeError{Got: int64(len(blob)), Want: min}
	}
	if (len(blob)-legacyIVSize-legacyMACSize)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("%w: ciphertext is not a whole number of blocks", ErrMalformed)
	}
	body, tag := blob[:len(blob)-legacyMACSize], blob[len(blob)-legacyMACSize:]
	mac := hmac.New(sha256.New, p.Key.b[32:64])
	mac.Write(body)
	var sum [legacyMACSize]byte
	if !hmac.Equal(mac.Sum(sum[:0]), tag) {
		return nil, ErrWrongKey
	}
	block, err := aes.NewCipher(p.Key.b[:32])
	if err != nil {
		return nil, fmt.Errorf("attachment: %w", err)
	}
	iv, ct := body[:legacyIVSize], body[legacyIVSize:]
	// CryptBlocks allows dst == src exactly: the plaintext replaces the ciphertext.
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(ct, ct)
	pad := int(ct[len(ct)-1])
	if pad < 1 || pad > aes.BlockSize {
		return nil, fmt.Errorf("%w: bad PKCS#7 padding", ErrMalformed)
	}
	for _, b := range ct[len(ct)-pad:] {
		if int(b) != pad {
			return nil, fmt.Errorf("%w: bad PKCS#7 padding", ErrMalformed)
		}
	}
	pt := ct[:len(ct)-pad]
	if p.Size > 0 {
		if int64(len(pt)) < p.Size {
			return nil, fmt.Errorf("%w: plaintext of %d bytes, pointer says %d", ErrMalformed, len(pt), p.Size)
		}
		pt = pt[:p.Size]
	}
	return pt, nil
}
