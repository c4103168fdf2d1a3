package attachment

import (
	"fmt"
	"io"
	"math/bits"

	"github.com/sessiongo/sdk/crypto"
)

// Domain separates the deterministic keys of attachments from those of profile pictures.
type Domain uint8

const (
	// DomainAttachment is for message attachments (BLAKE2b personalisation "SessionAttachmnt").
	DomainAttachment Domain = iota
	// DomainProfilePicture is for profile pictures ("Session_Prof_Pic").
	DomainProfilePicture
)

func (d Domain) personal() ([]byte, error) {
	switch d {
	case DomainAttachment:
		return []byte("SessionAttachmnt"), nil
	case DomainProfilePicture:
		return []byte("Session_Prof_Pic"), nil
	}
	return nil, fmt.Errorf("%w: unknown domain %d", ErrMalformed, d)
}

const (
	detPrefix    = 'S'
	detChunk     = 32768
	detOverhead  = 1 + ssHeaderBytes // 'S' ‖ header
	detCipherLen = detChunk + ssABytes
	// maxPlaintext bounds sizes in size arithmetic (1 TiB) so that nothing overflows.
	maxPlaintext = 1 << 40
)

// deterministicSize is libsession's padded blob size for n plaintext bytes: the unpadded
// size enc = n + 1 ('S') + 24 (header) + 1 (padding marker) + 17 per 32 KiB chunk, rounded up
// to a multiple of bit_floor(max(enc, 131072)) / 32 (so at least 4096).
func deterministicSize(n int64) int64 {
	if n < 0 || n > maxPlaintext {
		return 0
	}
	enc := n + detOverhead + 1 + (n+detChunk-1)/detChunk*ssABytes
	f := int64(1) << (63 - bits.LeadingZeros64(uint64(max(enc, 131072)))) >> 5
	return (enc + f - 1) / f * f
}

// streamLen is the length of the padded plaintext stream (zeros ‖ 0x01 ‖ data) whose
// encryption is deterministicSize(n) bytes: the padding's own chunk tags are taken out of
// it. Should no stream length hit the size exactly (x mod 32785 in 1..17, which no size up
// to 30 MB gives), the longest stream below it is used.
func streamLen(n int64) int64 {
	x := deterministicSize(n) - detOverhead
	c := (x + detCipherLen - 1) / detCipherLen
	l := x - c*ssABytes
	if l <= (c-1)*detChunk {
		l = (c - 1) * detChunk
	}
	return max(l, n+1)
}

// deriveDeterministic returns the key and header the deterministic scheme uses for data:
// BLAKE2b-448(data, key = seed, personal = the domain's) split as header(24) ‖ key(32).
func deriveDeterministic(seed *[32]byte, data []byte, d Domain) (key [32]byte, header [ssHeaderBytes]byte, err error) {
	personal, err := d.personal()
	if err != nil {
		return key, header, err
	}
	nk, err := crypto.Blake2bSaltPersonal(ssHeaderBytes+32, seed[:], nil, personal, data)
	if err != nil {
		return key, header, fmt.Errorf("attachment: %w", err)
	}
	copy(header[:], nk[:ssHeaderBytes])
	copy(key[:], nk[ssHeaderBytes:])
	return key, header, nil
}

// EncryptDeterministic encrypts data with the deterministic scheme and writes the blob
// ('S' ‖ header ‖ secretstream chunks, EncryptedSize(Deterministic, len(data)) bytes) to dst,
// in 32 KiB chunks. seed is the account's 32-byte Ed25519 seed (crypto.Keys.Seed): the same
// data from the same account always gives the same blob and key. The returned pointer has
// the 32-byte key, no digest and the plaintext size.
func EncryptDeterministic(dst io.Writer, data []byte, seed [32]byte, d Domain) (Pointer, error) {
	if int64(len(data)) > maxPlaintext {
		return Pointer{}, &SizeError{Got: int64(len(data)), Want: maxPlaintext}
	}
	key, header, err := deriveDeterministic(&seed, data, d)
	if err != nil {
		return Pointer{}, err
	}
	st, err := newSecretStream(key, header[:])
	if err != nil {
		return Pointer{}, err
	}
	var head [detOverhead]byte
	head[0] = detPrefix
	copy(head[1:], header[:])
	if _, err := dst.Write(head[:]); err != nil {
		return Pointer{}, fmt.Errorf("attachment: writing blob: %w", err)
	}
	total := streamLen(int64(len(data)))
	zeros := total - int64(len(data)) - 1 // then the 0x01 marker, then data
	buf := make([]byte, ssBlock+detChunk+16)
	for pos := int64(0); pos < total; {
		m := int(min(detChunk, total-pos))
		chunk := buf[ssBlock : ssBlock+m]
		// Fill the chunk with the stream bytes [pos, pos+m).
		for i := 0; i < m; {
			at := pos + int64(i)
			switch {
			case at < zeros:
				k := int(min(int64(m-i), zeros-at))
				clear(chunk[i : i+k])
				i += k
			case at == zeros:
				chunk[i] = 0x01
				i++
			default:
				i += copy(chunk[i:], data[at-zeros-1:])
			}
		}
		pos += int64(m)
		tag := byte(ssTagMessage)
		if pos == total {
			tag = ssTagFinal
		}
		out, err := st.push(buf, m, tag)
		if err != nil {
			return Pointer{}, err
		}
		if _, err := dst.Write(out); err != nil {
			return Pointer{}, fmt.Errorf("attachment: writing blob: %w", err)
		}
	}
	return Pointer{Key: DeterministicKey(key), Size: int64(len(data))}, nil
}

// deterministicOpen authenticates and decrypts a deterministic blob in place (the digest, if
// any, was already checked) and returns the unpadded plaintext.
func deterministicOpen(blob []byte, p Pointer) ([]byte, error) {
	if len(blob) < detOverhead+ssABytes {
		return nil, &SizeError{Got: int64(len(blob)), Want: detOverhead + ssABytes}
	}
	if p.Size > 0 {
		// The padding makes the length exact: anything else is a truncated or padded download.
		if want := deterministicSize(p.Size); int64(len(blob)) != want {
			return nil, &SizeError{Got: int64(len(blob)), Want: want, Exact: true}
		}
	}
	if blob[0] != detPrefix {
		return nil, fmt.Errorf("%w: not a deterministic blob (first byte %#x)", ErrMalformed, blob[0])
	}
	st, err := newSecretStream([32]byte(p.Key.b[:32]), blob[1:detOverhead])
	if err != nil {
		return nil, err
	}
	buf := make([]byte, ssBlock+detCipherLen)
	w := 0 // plaintext written back at blob[:w]; always behind the read position
	final := false
	for r, i := detOverhead, 0; r < len(blob); i++ {
		if final {
			return nil, fmt.Errorf("%w: data after the final chunk", ErrMalformed)
		}
		clen := min(detCipherLen, len(blob)-r)
		copy(buf[ssBlock-1:], blob[r:r+clen])
		msg, tag, ok, err := st.pull(buf, clen)
		if err != nil {
			return nil, err
		}
		if !ok {
			if i == 0 {
				return nil, ErrWrongKey
			}
			return nil, fmt.Errorf("%w: chunk %d does not authenticate", ErrMalformed, i)
		}
		switch tag {
		case ssTagFinal:
			final = true
		case ssTagMessage, ssTagPush, ssTagRekey:
		default:
			return nil, fmt.Errorf("%w: chunk %d has tag %#x", ErrMalformed, i, tag)
		}
		w += copy(blob[w:], msg)
		r += clen
	}
	if !final {
		return nil, fmt.Errorf("%w: stream ends without its final chunk", ErrTruncated)
	}
	pt := blob[:w]
	// Padding: zeros, then 0x01.
	start := -1
	for i, b := range pt {
		if b != 0 {
			if b == 0x01 {
				start = i + 1
			}
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("%w: no padding marker", ErrMalformed)
	}
	pt = pt[start:]
	if p.Size > 0 && int64(len(pt)) != p.Size {
		return nil, fmt.Errorf("%w: plaintext of %d bytes, pointer says %d", ErrMalformed, len(pt), p.Size)
	}
	return pt, nil
}
