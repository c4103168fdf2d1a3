package attachment

import (
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"fmt"

	"golang.org/x/crypto/chacha20"
	"golang.org/x/crypto/chacha20poly1305"
	//lint:ignore SA1019 libsodium's secretstream MACs its own layout (block ‖ c ‖ padding ‖ lengths) with a one-time Poly1305 key; chacha20poly1305's AEAD cannot produce that tag and x/crypto has no other Poly1305.
	"golang.org/x/crypto/poly1305"
)

// This file is libsodium's crypto_secretstream_xchacha20poly1305, written by hand because
// golang.org/x/crypto has no secretstream, the few third-party Go ports are small unreviewed
// modules (a new dependency for ~150 lines), and the deterministic scheme needs an explicit
// header (they draw it at random). It follows libsodium's documented construction:
//
//	state: key = HChaCha20(k, header[0:16]); nonce = counter(u32 LE, starts at 1) ‖ header[16:24]
//	push(m, tag): block = ChaCha20(key, nonce, counter 1) over [tag, 0 × 63];
//	              c = ChaCha20(key, nonce, counter 2) over m;
//	              mac = Poly1305(ChaCha20 block 0) over
//	                    block ‖ c ‖ 0 × (|m| mod 16) ‖ le64(0) ‖ le64(64+|m|);
//	              out = block[0] ‖ c ‖ mac; nonce[4:12] ^= mac[0:8]; counter++;
//	              rekey when tag has REKEY or the counter wraps to 0.
//
// The padding after c is libsodium's: its expression (0x10 - sizeof block + mlen) & 0xf is
// |m| mod 16 zero bytes, not the AEAD's (16 - |m| mod 16) mod 16. The two agree when |m| mod
// 16 is 0 or 8; then the MAC input is exactly the ChaCha20-Poly1305-IETF AEAD (empty AD) of
// [tag, 0 × 63] ‖ m, whose keystream starts at counter 1, and the chunk is one
// chacha20poly1305 Seal/Open (x/crypto's assembly). Full 32 KiB chunks take that path; other
// lengths (the last chunk) are computed with chacha20 and poly1305 directly.

const (
	ssHeaderBytes = 24
	ssABytes      = 17 // tag byte + Poly1305 MAC
	ssTagMessage  = 0x00
	ssTagPush     = 0x01
	ssTagRekey    = 0x02
	ssTagFinal    = ssTagPush | ssTagRekey
	ssBlock       = 64
)

type secretStream struct {
	key   [32]byte
	nonce [chacha20poly1305.NonceSize]byte // counter (4, LE) ‖ inonce (8)
	aead  cipher.AEAD                      // ChaCha20-Poly1305-IETF under key
}

func newSecretStream(key [32]byte, header []byte) (*secretStream, error) {
	sub, err := chacha20.HChaCha20(key[:], header[:16])
	if err != nil {
		return nil, fmt.Errorf("attachment: %w", err)
	}
	s := &secretStream{}
	copy(s.key[:], sub)
	s.resetCounter()
	copy(s.nonce[4:], header[16:24])
	if s.aead, err = chacha20poly1305.New(s.key[:]); err != nil {
		return nil, fmt.Errorf("attachment: %w", err)
	}
	return s, nil
}

func (s *secretStream) resetCounter() {
	binary.LittleEndian.PutUint32(s.nonce[:4], 1)
}

// after advances the state once a chunk with this tag and MAC was pushed or pulled.
func (s *secretStream) after(tag byte, mac []byte) error {
	subtle.XORBytes(s.nonce[4:], s.nonce[4:], mac[:8])
	c := binary.LittleEndian.Uint32(s.nonce[:4]) + 1
	binary.LittleEndian.PutUint32(s.nonce[:4], c)
	if tag&ssTagRekey != 0 || c == 0 {
		return s.rekey()
	}
	return nil
}

// rekey replaces key and inonce with ChaCha20(key, nonce) over key ‖ inonce.
func (s *secretStream) rekey() error {
	var buf [32 + 8]byte
	copy(buf[:32], s.key[:])
	copy(buf[32:], s.nonce[4:])
	c, err := chacha20.NewUnauthenticatedCipher(s.key[:], s.nonce[:])
	if err != nil {
		return fmt.Errorf("attachment: %w", err)
	}
	c.XORKeyStream(buf[:], buf[:])
	copy(s.key[:], buf[:32])
	copy(s.nonce[4:], buf[32:])
	s.resetCounter()
	if s.aead, err = chacha20poly1305.New(s.key[:]); err != nil {
		return fmt.Errorf("attachment: %w", err)
	}
	return nil
}

// aeadCompatible reports whether a chunk of mlen message bytes has the AEAD's MAC layout.
func aeadCompatible(mlen int) bool { return mlen%16 == 0 || mlen%16 == 8 }

// push encrypts one chunk. buf must hold ssBlock bytes of scratch followed by the message
// (buf[ssBlock:ssBlock+mlen]) and have room for 16 more bytes; the encrypted chunk
// (tag ‖ c ‖ mac, mlen+17 bytes) is returned as a sub-slice of buf.
func (s *secretStream) push(buf []byte, mlen int, tag byte) ([]byte, error) {
	clear(buf[:ssBlock])
	buf[0] = tag
	var sealed []byte
	if aeadCompatible(mlen) {
		sealed = s.aead.Seal(buf[:0], s.nonce[:], buf[:ssBlock+mlen], nil)
	} else {
		ks, mac, err := s.macState()
		if err != nil {
			return nil, err
		}
		ks.XORKeyStream(buf[:ssBlock+mlen], buf[:ssBlock+mlen])
		writeMAC(mac, buf[:ssBlock+mlen])
		sealed = mac.Sum(buf[:ssBlock+mlen])
	}
	sealed[ssBlock-1] = sealed[0]
	out := sealed[ssBlock-1:]
	if err := s.after(tag, out[len(out)-16:]); err != nil {
		return nil, err
	}
	return out, nil
}

// macState starts a chunk: a ChaCha20 stream positioned at block 1 and the Poly1305 keyed
// with block 0.
func (s *secretStream) macState() (*chacha20.Cipher, *poly1305.MAC, error) {
	ks, err := chacha20.NewUnauthenticatedCipher(s.key[:], s.nonce[:])
	if err != nil {
		return nil, nil, fmt.Errorf("attachment: %w", err)
	}
	var block [ssBlock]byte
	ks.XORKeyStream(block[:], block[:])
	return ks, poly1305.New((*[32]byte)(block[:32])), nil
}

// writeMAC feeds libsodium's MAC input for sealed = block ‖ c (no associated data).
func writeMAC(mac *poly1305.MAC, sealed []byte) {
	var pad [16]byte
	mlen := len(sealed) - ssBlock
	mac.Write(sealed)
	mac.Write(pad[:mlen%16])
	var lens [16]byte
	binary.LittleEndian.PutUint64(lens[8:], uint64(len(sealed)))
	mac.Write(lens[:])
}

// pull decrypts one chunk. buf must hold ssBlock bytes of scratch followed by the chunk
// (tag ‖ c ‖ mac) at buf[ssBlock-1:ssBlock-1+clen]; the message is returned as a sub-slice of
// buf. ok is false when the chunk does not authenticate (the state is then unchanged).
func (s *secretStream) pull(buf []byte, clen int) (msg []byte, tag byte, ok bool, err error) {
	if clen < ssABytes {
		return nil, 0, false, nil
	}
	// Rebuild the 64-byte block as push sent it: its first byte is the encrypted tag, the
	// rest is the keystream of block 1 (zeros encrypted).
	encTag := buf[ssBlock-1]
	ks, mac, err := s.macState()
	if err != nil {
		return nil, 0, false, err
	}
	clear(buf[:ssBlock])
	ks.XORKeyStream(buf[:ssBlock], buf[:ssBlock])
	tagKey := buf[0]
	buf[0] = encTag
	mlen := clen - ssABytes
	sealed := buf[:ssBlock+mlen+16]
	var tagMAC [16]byte
	copy(tagMAC[:], sealed[ssBlock+mlen:])
	var pt []byte
	if aeadCompatible(mlen) {
		if pt, err = s.aead.Open(buf[:0], s.nonce[:], sealed, nil); err != nil {
			return nil, 0, false, nil
		}
	} else {
		writeMAC(mac, sealed[:ssBlock+mlen])
		if !mac.Verify(tagMAC[:]) {
			return nil, 0, false, nil
		}
		// The block's keystream is already in buf[1:64]: decrypt the tag and then c, which
		// continues the keystream at counter 2.
		pt = sealed[:ssBlock+mlen]
		pt[0] ^= tagKey
		ks.XORKeyStream(pt[ssBlock:], pt[ssBlock:])
	}
	if err := s.after(pt[0], tagMAC[:]); err != nil {
		return nil, 0, false, err
	}
	return pt[ssBlock:], pt[0], true, nil
}
