package sns

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	good := map[string]string{"Alice": "alice", "a": "a", "a-b_c": "a-b_c", "_x_": "_x_", "A1-2": "a1-2", strings.Repeat("z", 64): strings.Repeat("z", 64)}
	for in, want := range good {
		if got, err := NormalizeName(in); err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "-a", "a-", "a b", "a.b", "é", strings.Repeat("z", 65), "a\x00"} {
		if _, err := NormalizeName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
	h1, _ := NameHash("KeeJef")
	h2, _ := NameHash("keejef")
	if h1 != h2 {
		t.Error("name hash is case-sensitive")
	}
}

// The first ons_decrypt vector (libsession), used for the error cases.
const (
	recName  = "test"
	recCT    = "3575802dd9bfea72672a208840f37ca289ceade5d3ffacabe2d231f109d204329fc33e28c331580d9a8c9b8a64cacfec97"
	recNonce = "00112233445566778899aabbccddeeff00ffeeddccbbaa99"
	recID    = "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestDecryptRecordErrors(t *testing.T) {
	ct, nonce := mustHex(recCT), mustHex(recNonce)
	id, err := DecryptRecord("TEST", ct, nonce)
	if err != nil || id.String() != recID {
		t.Fatalf("%s %v", id, err)
	}
	flipped := append([]byte(nil), ct...)
	flipped[3] ^= 1
	for name, c := range map[string]struct {
		ct, nonce []byte
	}{
		"flipped":     {flipped, nonce},
		"short nonce": {ct, nonce[:23]},
		"empty nonce": {ct, []byte{}},
		"short ct":    {ct[:15], nonce},
		"legacy size": {ct[:48], nil},
	} {
		if _, err := DecryptRecord(recName, c.ct, c.nonce); !errors.Is(err, ErrDecrypt) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := DecryptRecord("bad name", ct, nonce); !errors.Is(err, ErrInvalidName) {
		t.Error(err)
	}
}

func TestParseResolveResponse(t *testing.T) {
	rec, err := ParseResolveResponse([]byte(`{"result":{"encrypted_value":"` + recCT + `","nonce":"` + recNonce + `"},"t":1,"hf":[19,4]}`))
	if err != nil || !rec.Found || len(rec.Nonce) != 24 || hex.EncodeToString(rec.Ciphertext) != recCT {
		t.Fatalf("%+v %v", rec, err)
	}
	for _, body := range []string{`{"result":{}}`, `{"result":{"encrypted_value":""}}`, `{}`} {
		if rec, err := ParseResolveResponse([]byte(body)); err != nil || rec.Found {
			t.Errorf("%s: %+v %v", body, rec, err)
		}
	}
	legacy, err := ParseResolveResponse([]byte(`{"result":{"encrypted_value":"00","nonce":"000000000000000000000000000000000000000000000000"}}`))
	if err != nil || !legacy.Found || legacy.Nonce != nil {
		t.Fatalf("%+v %v", legacy, err)
	}
	for _, bad := range []string{`x`, `{"result":{"encrypted_value":"zz"}}`, `{"result":{"encrypted_value":"00","nonce":"q"}}`, `{"result":[1]}`} {
		if _, err := ParseResolveResponse([]byte(bad)); !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func FuzzParseResolveResponse(f *testing.F) {
	f.Add([]byte(`{"result":{"encrypted_value":"` + recCT + `","nonce":"` + recNonce + `"}}`))
	f.Add([]byte(`{"result":{}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, err := ParseResolveResponse(b)
		if err != nil || !rec.Found || rec.Nonce == nil {
			return // legacy records cost 256 MiB to try: not fuzzed
		}
		_, _ = DecryptRecord(recName, rec.Ciphertext, rec.Nonce)
	})
}

func FuzzDecryptRecord(f *testing.F) {
	f.Add(recName, mustHex(recCT), mustHex(recNonce))
	f.Fuzz(func(t *testing.T, name string, ct, nonce []byte) {
		if nonce == nil {
			nonce = []byte{} // nil selects the legacy (Argon2id) path
		}
		id, err := DecryptRecord(name, ct, nonce)
		if err == nil && id[0] != 0x05 {
			t.Fatalf("decrypted to %s", id)
		}
	})
}
