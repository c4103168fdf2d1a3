package groups

import (
	"bytes"
	"crypto/rand"
	"errors"
	"testing"

	"github.com/sessiongo/sdk/internal/bencode"
)

func TestMessageRoundTrip(t *testing.T) {
	sender := testKeys(t, 7)
	key := [32]byte{3}
	for _, pt := range [][]byte{{}, []byte("hi"), bytes.Repeat([]byte("compressible "), 500), randBytes(t, 3000)} {
		for _, opts := range []MessageOptions{{}, {NoCompress: true}, {Padding: 1}, {Padding: 1000}} {
			ct, err := EncryptMessageWith(sender, key, pt, opts)
			if err != nil {
				t.Fatal(err)
			}
			pad := opts.Padding
			if pad == 0 {
				pad = 256
			}
			if len(ct)%pad != 0 {
				t.Fatalf("size %d not a multiple of %d", len(ct), pad)
			}
			m, err := DecryptMessage([][32]byte{{9}, key}, ct)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(m.Plaintext, pt) || m.Sender != sender.AccountID() || m.KeyIndex != 1 {
				t.Fatalf("round trip mismatch")
			}
		}
	}
	if _, err := EncryptMessage(sender, key, make([]byte, MaxMessageSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatal(err)
	}
	if _, err := EncryptMessage(nil, key, nil); !errors.Is(err, ErrInvalidInput) {
		t.Fatal(err)
	}
}

func randBytes(t testing.TB, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// sealBody encrypts a hand-made body, to test the checks after decryption.
func sealBody(key [32]byte, body []byte) []byte {
	nonce := make([]byte, 24)
	return append(nonce, xchachaSeal(&key, nonce, body)...)
}

func TestMessageBadBodies(t *testing.T) {
	sender := testKeys(t, 7)
	key := [32]byte{3}
	pk := sender.Ed25519PublicKey()
	sig := sender.Sign([]byte("data"))
	good := func(ver int64, d string, sigb []byte) []byte {
		b, _ := bencode.Marshal(bencode.Dict{{Key: "", Value: ver}, {Key: "a", Value: pk[:]}, {Key: "d", Value: d}, {Key: "s", Value: sigb}})
		return b
	}
	if _, err := DecryptMessage([][32]byte{key}, sealBody(key, good(1, "data", sig[:]))); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		body []byte
		want error
	}{
		"version 2":    {good(2, "data", sig[:]), ErrUnsupported},
		"bad sig":      {good(1, "datb", sig[:]), ErrBadSignature},
		"short sig":    {good(1, "data", sig[:10]), ErrMalformed},
		"not a dict":   {[]byte("l1:ae"), ErrMalformed},
		"empty":        {nil, ErrMalformed},
		"garbage":      {[]byte("d1:x"), ErrMalformed},
		"no data":      {[]byte("d0:i1e1:a32:" + string(pk[:]) + "1:s64:" + string(sig[:]) + "e"), ErrMalformed},
		"both d and z": {[]byte("d0:i1e1:a32:" + string(pk[:]) + "1:d4:data1:s64:" + string(sig[:]) + "1:z4:datae"), ErrMalformed},
		"bad zstd":     {[]byte("d0:i1e1:a32:" + string(pk[:]) + "1:s64:" + string(sig[:]) + "1:z4:datae"), ErrMalformed},
	}
	for name, c := range cases {
		_, err := DecryptMessage([][32]byte{key}, sealBody(key, c.body))
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if _, err := DecryptMessage([][32]byte{key}, make([]byte, 39)); !errors.Is(err, ErrDecrypt) {
		t.Fatal(err)
	}
	if _, err := DecryptMessage(nil, make([]byte, 100)); !errors.Is(err, ErrDecrypt) {
		t.Fatal(err)
	}
}

func FuzzDecryptMessage(f *testing.F) {
	key := [32]byte{3}
	sender := testKeys(f, 7)
	ct, _ := EncryptMessage(sender, key, []byte("hello"))
	f.Add(ct, false)
	f.Add([]byte("d0:i1e1:a32:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa1:d0:1:s0:e"), true)
	f.Fuzz(func(t *testing.T, data []byte, seal bool) {
		if seal {
			data = sealBody(key, data) // reach the body parser with arbitrary plaintext
		}
		m, err := DecryptMessage([][32]byte{key}, data)
		if err == nil && m == nil {
			t.Fatal("nil message without error")
		}
	})
}

func BenchmarkGroupEncrypt(b *testing.B) {
	sender := testKeys(b, 7)
	pt := randBytes(b, 1024)
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := EncryptMessage(sender, [32]byte{3}, pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGroupDecrypt(b *testing.B) {
	sender := testKeys(b, 7)
	ct, _ := EncryptMessage(sender, [32]byte{3}, randBytes(b, 1024))
	keys := [][32]byte{{3}}
	b.SetBytes(1024)
	for b.Loop() {
		if _, err := DecryptMessage(keys, ct); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDecompressionLimit(t *testing.T) {
	bomb := zstdCompress(make([]byte, 2*maxDecompressed))
	if _, err := zstdDecompress(bomb); err == nil {
		t.Fatal("2 MB of zeros decompressed past the 1 MB limit")
	}
	ok := zstdCompress(make([]byte, maxDecompressed))
	if out, err := zstdDecompress(ok); err != nil || len(out) != maxDecompressed {
		t.Fatalf("1 MB: %d %v", len(out), err)
	}
	// A group message whose z body is a bomb is rejected, not decompressed.
	sender := testKeys(t, 7)
	sig := sender.Sign(bomb)
	pk := sender.Ed25519PublicKey()
	body, _ := bencode.Marshal(bencode.Dict{{Key: "", Value: 1}, {Key: "a", Value: pk[:]}, {Key: "s", Value: sig[:]}, {Key: "z", Value: bomb}})
	key := [32]byte{1}
	if _, err := DecryptMessage([][32]byte{key}, sealBody(key, body)); !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("bomb: %v", err)
	}
}
