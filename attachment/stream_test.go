package attachment

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// libsodiumStreams are SHA-256s of crypto_secretstream_xchacha20poly1305 output made by
// libsodium 1.0.18 (PyNaCl 1.5.0: init_pull(header, key) then push of each chunk, no AD)
// for key = 00..1f, header = 64..7b and chunk i of length l = bytes (j*7+i) mod 256. They
// pin the MAC padding quirk (|m| mod 16 zero bytes) for every kind of chunk length, and
// REKEY.
var libsodiumStreams = []struct {
	lens []int
	tags []byte
	out  int
	sum  string
}{
	{[]int{0}, []byte{ssTagFinal}, 17, "183aa9f9d514613873e4ea14f8f38e4ed36e48796b0c761521e51bd4b96c9947"},
	{[]int{1}, []byte{ssTagFinal}, 18, "011d046f9a51c8963be0639070527d90dd713ad7f5829ba7d2ab533f33c1b759"},
	{[]int{13}, []byte{ssTagFinal}, 30, "ef8cdb9dd2a96ea61b6152acea001ffe637a9b23123b7939d8f9cc96cf5537f7"},
	{[]int{16}, []byte{ssTagFinal}, 33, "839e6111ccd6c9cd3a0b254f26eee545add7f8852fff09fbb62f49c23331a799"},
	{[]int{24}, []byte{ssTagFinal}, 41, "03e6733a57dbd63a0e16239f6d75a9724975148b21be44a67665bc1d661d18fa"},
	{[]int{31}, []byte{ssTagFinal}, 48, "7c2d64dc00da3a0b12e7e5b93d3f89fabc69518a4d1af79f52659e9a9c104ec9"},
	{[]int{32768, 3}, []byte{ssTagMessage, ssTagFinal}, 32805, "04dfd8a91409a5f61d56dce81250b8fcce94c46bef8f95373ac9cbbc4b53c1e3"},
	{[]int{100, 5, 32768, 77}, []byte{ssTagMessage, ssTagRekey, ssTagMessage, ssTagFinal}, 33018, "9b805313f05c5d0e8322f439a5e171b93b68baa6cbd6113a9188ead9860fc6c4"},
}

func TestSecretStreamMatchesLibsodium(t *testing.T) {
	var key [32]byte
	var header [24]byte
	for i := range key {
		key[i] = byte(i)
	}
	for i := range header {
		header[i] = byte(100 + i)
	}
	for _, tc := range libsodiumStreams {
		push, err := newSecretStream(key, header[:])
		if err != nil {
			t.Fatal(err)
		}
		var out []byte
		for i, l := range tc.lens {
			buf := make([]byte, ssBlock+l+16)
			for j := 0; j < l; j++ {
				buf[ssBlock+j] = byte(j*7 + i)
			}
			c, err := push.push(buf, l, tc.tags[i])
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, c...)
		}
		sum := sha256.Sum256(out)
		if len(out) != tc.out || hex.EncodeToString(sum[:]) != tc.sum {
			t.Fatalf("lens %v: %d bytes, sha256 %x; libsodium: %d bytes, %s", tc.lens, len(out), sum, tc.out, tc.sum)
		}
		// And pull it back.
		pull, err := newSecretStream(key, header[:])
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range tc.lens {
			clen := l + ssABytes
			buf := make([]byte, ssBlock+clen)
			copy(buf[ssBlock-1:], out[:clen])
			out = out[clen:]
			msg, tag, ok, err := pull.pull(buf, clen)
			if err != nil || !ok || tag != tc.tags[i] || len(msg) != l {
				t.Fatalf("lens %v chunk %d: ok %v tag %d len %d err %v", tc.lens, i, ok, tag, len(msg), err)
			}
			for j, b := range msg {
				if b != byte(j*7+i) {
					t.Fatalf("lens %v chunk %d: byte %d wrong", tc.lens, i, j)
				}
			}
		}
	}
}

func TestSecretStreamCounterWrapRekeys(t *testing.T) {
	var key [32]byte
	var header [24]byte
	a, _ := newSecretStream(key, header[:])
	b, _ := newSecretStream(key, header[:])
	a.nonce[0], a.nonce[1], a.nonce[2], a.nonce[3] = 0xff, 0xff, 0xff, 0xff
	b.nonce = a.nonce
	buf := make([]byte, ssBlock+5+16)
	c, err := a.push(buf, 5, ssTagMessage)
	if err != nil {
		t.Fatal(err)
	}
	if a.nonce[0] != 1 || a.key == b.key {
		t.Fatal("counter wrap did not rekey")
	}
	pbuf := make([]byte, ssBlock+len(c))
	copy(pbuf[ssBlock-1:], c)
	if _, _, ok, err := b.pull(pbuf, len(c)); !ok || err != nil || b.key != a.key || b.nonce != a.nonce {
		t.Fatal("pull side did not follow the rekey")
	}
}

func TestStreamLenHitsEncryptedSize(t *testing.T) {
	for n := int64(0); n < 30_000_000; n += 997 {
		for _, m := range []int64{n, n + 1, n + 16} {
			l := streamLen(m)
			chunks := (l + detChunk - 1) / detChunk
			if got, want := detOverhead+l+chunks*ssABytes, deterministicSize(m); got != want || l < m+1 {
				t.Fatalf("n=%d: stream %d encrypts to %d, want %d", m, l, got, want)
			}
		}
	}
}
