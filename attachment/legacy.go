package attachment

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"math"
	"sync/atomic"
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

// legacyChunk is how much plaintext EncryptLegacy encrypts at a time (a multiple of the AES
// block size).
const legacyChunk = 64 << 10

// EncryptLegacy encrypts everything src yields with the Legacy scheme and writes the blob
// (IV ‖ AES-256-CBC ciphertext ‖ HMAC-SHA256) to dst, holding at most three 64 KiB buffers.
// It returns the pointer: a fresh key, the blob's SHA-256 digest and the plaintext size. The
// blob is EncryptedSize(Legacy, size) bytes long (less with NoPadding).
//
// CBC encryption is serial, so the MAC, the digest and the writes to dst run on a second
// goroutine, one chunk behind; it has ended when EncryptLegacy returns.
func EncryptLegacy(dst io.Writer, src io.Reader, opts *LegacyOptions) (Pointer, error) {
	var o LegacyOptions
	if opts != nil {
		o = *opts
	}
	var keyIV [64 + legacyIVSize]byte
	if _, err := io.ReadFull(randOrDefault(o.Rand), keyIV[:]); err != nil {
		return Pointer{}, fmt.Errorf("attachment: reading key and IV: %w", err)
	}
	key := LegacyKey([64]byte(keyIV[:64]))
	iv := keyIV[64:]
	block, err := aes.NewCipher(key.b[:32])
	if err != nil {
		return Pointer{}, fmt.Errorf("attachment: %w", err)
	}
	mac := hmac.New(sha256.New, key.b[32:64])
	digest := sha256.New()
	mac.Write(iv)
	digest.Write(iv)
	if _, err := dst.Write(iv); err != nil {
		return Pointer{}, fmt.Errorf("attachment: writing blob: %w", err)
	}

	sk := newSink(dst, mac, digest)
	cbc := cipher.NewCBCEncrypter(block, iv)
	cur, fill := sk.get(), 0
	// push encrypts cur[:fill] (whole blocks) and hands it to the sink.
	push := func() {
		cbc.CryptBlocks(cur[:fill], cur[:fill])
		sk.put(cur[:fill])
		cur, fill = sk.get(), 0
	}
	var n int64
	for {
		m, rerr := io.ReadFull(src, cur[fill:])
		fill += m
		n += int64(m)
		if fill == len(cur) {
			push()
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr == nil && sk.failed.Load() {
			break // the sink's write error is returned below
		}
		if rerr != nil {
			_ = sk.close()
			return Pointer{}, fmt.Errorf("attachment: reading plaintext: %w", rerr)
		}
	}
	// Zero padding, then PKCS#7 (the buffer is never full here, and is a block multiple long,
	// so the PKCS#7 bytes fit).
	total := n
	if !o.NoPadding {
		total = PaddedSize(n)
	}
	for z := total - n; z > 0; {
		k := int(min(z, int64(len(cur)-fill)))
		clear(cur[fill : fill+k])
		fill += k
		z -= int64(k)
		if fill == len(cur) {
			push()
		}
	}
	pad := aes.BlockSize - fill%aes.BlockSize
	for i := 0; i < pad; i++ {
		cur[fill+i] = byte(pad)
	}
	fill += pad
	cbc.CryptBlocks(cur[:fill], cur[:fill])
	sk.put(cur[:fill])
	if err := sk.close(); err != nil {
		return Pointer{}, err
	}
	sum := mac.Sum(nil)
	digest.Write(sum)
	if _, err := dst.Write(sum); err != nil {
		return Pointer{}, fmt.Errorf("attachment: writing blob: %w", err)
	}
	return Pointer{Key: key, Digest: digest.Sum(nil), Size: n}, nil
}

// sink feeds ciphertext chunks, in order, to the MAC, the digest and dst on its own
// goroutine, and recycles up to three chunk buffers.
type sink struct {
	dst         io.Writer
	mac, digest hash.Hash
	work, free  chan []byte
	made        int
	done        chan struct{}
	err         error // set by the goroutine; read after done
	failed      atomic.Bool
}

const sinkBuffers = 3

func newSink(dst io.Writer, mac, digest hash.Hash) *sink {
	s := &sink{
		dst: dst, mac: mac, digest: digest,
		work: make(chan []byte, sinkBuffers),
		free: make(chan []byte, sinkBuffers),
		done: make(chan struct{}),
	}
	go s.run()
	return s
}

func (s *sink) run() {
	defer close(s.done)
	for b := range s.work {
		if s.err == nil {
			s.mac.Write(b)
			s.digest.Write(b)
			if _, err := s.dst.Write(b); err != nil {
				s.err = fmt.Errorf("attachment: writing blob: %w", err)
				s.failed.Store(true)
			}
		}
		s.free <- b[:cap(b)]
	}
}

// get returns a free buffer, making one while fewer than sinkBuffers exist.
func (s *sink) get() []byte {
	select {
	case b := <-s.free:
		return b
	default:
	}
	if s.made < sinkBuffers {
		s.made++
		return make([]byte, legacyChunk)
	}
	return <-s.free
}

func (s *sink) put(b []byte) { s.work <- b }

// close waits for the goroutine to finish every chunk and returns its write error.
func (s *sink) close() error {
	close(s.work)
	<-s.done
	return s.err
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
	// The digest (desktop checks it after the MAC; we check it first, which tells a damaged
	// download from a wrong key) and the MAC, side by side for big blobs.
	big := len(blob) >= parallelMin
	var digestErr error
	var macOK bool
	both(big, func() { digestErr = checkDigest(blob, p.Digest) }, func() {
		mac := hmac.New(sha256.New, p.Key.b[32:64])
		mac.Write(body)
		var sum [legacyMACSize]byte
		macOK = hmac.Equal(mac.Sum(sum[:0]), tag)
	})
	if digestErr != nil {
		return nil, digestErr
	}
	if !macOK {
		return nil, ErrWrongKey
	}
	block, err := aes.NewCipher(p.Key.b[:32])
	if err != nil {
		return nil, fmt.Errorf("attachment: %w", err)
	}
	iv, ct := body[:legacyIVSize], body[legacyIVSize:]
	// CBC decryption is parallel: the second half's IV is the last ciphertext block of the
	// first (copied before the first half is decrypted in place; CryptBlocks allows dst ==
	// src exactly, and an aes Block is safe for concurrent use).
	half := len(ct) / 2 / aes.BlockSize * aes.BlockSize
	if !big {
		half = len(ct)
	}
	var iv2 [aes.BlockSize]byte
	if half > 0 && half < len(ct) {
		copy(iv2[:], ct[half-aes.BlockSize:half])
	}
	both(big && half > 0, func() {
		cipher.NewCBCDecrypter(block, iv).CryptBlocks(ct[:half], ct[:half])
	}, func() {
		if half < len(ct) {
			cipher.NewCBCDecrypter(block, iv2[:]).CryptBlocks(ct[half:], ct[half:])
		}
	})
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
