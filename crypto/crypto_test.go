package crypto_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/crypto"
	"golang.org/x/crypto/blake2b"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestKeysFromSeedSizes(t *testing.T) {
	for _, n := range []int{0, 15, 17, 31, 33, 64} {
		if _, err := crypto.KeysFromSeed(make([]byte, n)); !errors.Is(err, crypto.ErrInvalidSeed) {
			t.Errorf("seed of %d bytes: err = %v, want ErrInvalidSeed", n, err)
		}
	}
	seed16 := mustHex(t, "39038c8988db02c1af44e8c847bd9713")
	k16, err := crypto.KeysFromSeed(seed16)
	if err != nil {
		t.Fatal(err)
	}
	k32, err := crypto.KeysFromSeed(append(seed16, make([]byte, 16)...))
	if err != nil {
		t.Fatal(err)
	}
	if k16.AccountID() != k32.AccountID() {
		t.Fatal("a 16-byte seed must equal the same seed zero-padded to 32 bytes")
	}
	if got := k16.AccountID().String(); got != "054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69" {
		t.Fatalf("Account ID = %s", got)
	}
	if pw, err := k16.RecoveryPassword(); err != nil || pw != "puffin luxury annoyed rustled memoir faxed smidgen puddle kiwi nylon utopia zinger kiwi" {
		t.Fatalf("RecoveryPassword = %q, %v", pw, err)
	}
	seed32 := bytes.Repeat([]byte{7}, 32)
	k, _ := crypto.KeysFromSeed(seed32)
	if _, err := k.RecoveryPassword(); !errors.Is(err, crypto.ErrNoRecoveryPassword) {
		t.Fatalf("32-byte seed: RecoveryPassword err = %v", err)
	}
}

func TestKeysNeverPrintSecrets(t *testing.T) {
	k, err := crypto.KeysFromSeed(mustHex(t, "39038c8988db02c1af44e8c847bd9713"))
	if err != nil {
		t.Fatal(err)
	}
	seed := k.Seed()
	xsk := k.X25519PrivateKey()
	secrets := []string{hex.EncodeToString(seed[:16]), hex.EncodeToString(xsk[:]), hex.EncodeToString(k.Ed25519PrivateKey())}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		for _, v := range []any{k, *k} {
			out := strings.ToLower(fmt.Sprintf(verb, v))
			for _, s := range secrets {
				if strings.Contains(out, s) || strings.Contains(out, "57, 3, 140") || strings.Contains(out, "[57 3 140") {
					t.Errorf("%s of %T leaks a secret: %s", verb, v, out)
				}
			}
		}
	}
	//lint:ignore SA9005 Keys has no exported fields today: this guards against one that would leak
	if b, _ := json.Marshal(k); strings.Contains(string(b), secrets[0]) {
		t.Errorf("json leaks: %s", b)
	}
}

func TestGenerateKeys(t *testing.T) {
	a, err := crypto.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := crypto.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	if a.AccountID() == b.AccountID() {
		t.Fatal("two generated accounts are equal")
	}
	pw, err := a.RecoveryPassword()
	if err != nil {
		t.Fatal(err)
	}
	seed, err := crypto.DecodeMnemonic(pw)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := crypto.KeysFromSeed(seed[:])
	if c.AccountID() != a.AccountID() {
		t.Fatal("restore from Recovery Password gives another account")
	}
	if _, err := crypto.GenerateKeys(bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Fatal("short random source must fail")
	}
	id := a.AccountID()
	x, err := crypto.Ed25519PublicToX25519(a.Ed25519PublicKey())
	if err != nil || x != id.Key() || x != a.X25519PublicKey() {
		t.Fatal("Ed->X conversion of own key disagrees with the Account ID")
	}
	sig := a.Sign([]byte("m"))
	if pub := a.Ed25519PublicKey(); !ed25519.Verify(pub[:], []byte("m"), sig[:]) {
		t.Fatal("own signature does not verify")
	}
}

func TestParseAccountIDErrors(t *testing.T) {
	valid := "054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69"
	cases := []struct {
		in   string
		want error
	}{
		{"", crypto.ErrAccountIDLength},
		{valid[:65], crypto.ErrAccountIDLength},
		{valid + "0", crypto.ErrAccountIDLength},
		{"05" + strings.Repeat("g", 64), crypto.ErrAccountIDHex},
		{"06" + valid[2:], crypto.ErrAccountIDPrefix},
		{"ff" + valid[2:], crypto.ErrAccountIDPrefix},
		{" " + valid[1:], crypto.ErrAccountIDHex},
	}
	for _, c := range cases {
		_, err := crypto.ParseAccountID(c.in)
		if !errors.Is(err, c.want) || !errors.Is(err, crypto.ErrInvalidAccountID) {
			t.Errorf("ParseAccountID(%q) = %v, want %v", c.in, err, c.want)
		}
		var ae *crypto.AccountIDError
		if !errors.As(err, &ae) {
			t.Errorf("ParseAccountID(%q): not an *AccountIDError", c.in)
		}
	}
	for _, p := range []string{"00", "03", "05", "07", "15", "25"} {
		id, err := crypto.ParseAccountID(p + valid[2:])
		if err != nil || id.Prefix().String() != p {
			t.Errorf("prefix %s: %v", p, err)
		}
	}
	id, err := crypto.ParseAccountID(strings.ToUpper(valid))
	if err != nil || id.String() != valid {
		t.Fatalf("upper case: %v %s", err, id)
	}
}

func TestAccountIDJSON(t *testing.T) {
	id, err := crypto.ParseAccountID("054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69")
	if err != nil {
		t.Fatal(err)
	}
	type wrap struct {
		ID crypto.AccountID `json:"id"`
	}
	b, err := json.Marshal(wrap{id})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"id":"054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69"}` {
		t.Fatalf("json = %s", b)
	}
	var w wrap
	if err := json.Unmarshal(b, &w); err != nil || w.ID != id {
		t.Fatalf("round trip: %v", err)
	}
	if err := json.Unmarshal([]byte(`{"id":"05zz"}`), &w); !errors.Is(err, crypto.ErrInvalidAccountID) {
		t.Fatalf("bad JSON id: %v", err)
	}
	if id.IsZero() || !(crypto.AccountID{}).IsZero() {
		t.Fatal("IsZero")
	}
	if crypto.NewAccountID(crypto.PrefixGroup, id.Key()).String()[:2] != "03" {
		t.Fatal("NewAccountID prefix")
	}
}

func TestEd25519PublicToX25519Rejects(t *testing.T) {
	bad := map[string]string{
		"identity (small order)": "0100000000000000000000000000000000000000000000000000000000000000",
		"order 2":                "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"non-canonical y":        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"not on curve":           "0200000000000000000000000000000000000000000000000000000000000000",
		// A point of order 8ℓ: the base point plus a point of order 8.
		"mixed order": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
	}
	for name, h := range bad {
		if _, err := crypto.Ed25519PublicToX25519([32]byte(mustHex(t, h))); !errors.Is(err, crypto.ErrInvalidPublicKey) {
			t.Errorf("%s: err = %v, want ErrInvalidPublicKey", name, err)
		}
	}
}

func TestMnemonicErrors(t *testing.T) {
	good := "puffin luxury annoyed rustled memoir faxed smidgen puddle kiwi nylon utopia zinger kiwi"
	if _, err := crypto.DecodeMnemonic("  PUFFIN luxury annoyed rustled memoir faxed smidgen\tpuddle kiwi nylon utopia zinger kiwi \n"); err != nil {
		t.Fatalf("normalised input: %v", err)
	}
	// Words are matched by their first three letters.
	if s, err := crypto.DecodeMnemonic("puf lux ann rus mem fax smi pud kiw nyl uto zin kiw"); err != nil || hex.EncodeToString(s[:]) != "39038c8988db02c1af44e8c847bd9713" {
		t.Fatalf("prefixes: %x %v", s, err)
	}
	words := strings.Fields(good)
	if _, err := crypto.DecodeMnemonic(strings.Join(words[:12], " ")); !errors.Is(err, crypto.ErrMnemonicLength) || !strings.Contains(err.Error(), "checksum") {
		t.Errorf("12 words: %v", err)
	}
	if _, err := crypto.DecodeMnemonic(good + " kiwi"); !errors.Is(err, crypto.ErrMnemonicLength) {
		t.Errorf("14 words: %v", err)
	}
	bad := append([]string(nil), words...)
	bad[4] = "xylophonez"
	_, err := crypto.DecodeMnemonic(strings.Join(bad, " "))
	var uw *crypto.UnknownWordError
	if !errors.As(err, &uw) || uw.Position != 5 || !errors.Is(err, crypto.ErrMnemonicWord) {
		t.Errorf("unknown word: %v", err)
	}
	bad = append([]string(nil), words...)
	bad[12] = "puffin"
	if _, err := crypto.DecodeMnemonic(strings.Join(bad, " ")); !errors.Is(err, crypto.ErrMnemonicChecksum) {
		t.Errorf("bad checksum: %v", err)
	}
	bad = append([]string(nil), words...)
	bad[0], bad[1] = bad[1], bad[0]
	if _, err := crypto.DecodeMnemonic(strings.Join(bad, " ")); err == nil {
		t.Errorf("swapped words accepted")
	}
	short := append([]string(nil), words...)
	short[3] = "ru"
	if _, err := crypto.DecodeMnemonic(strings.Join(short, " ")); !errors.Is(err, crypto.ErrMnemonicWord) {
		t.Errorf("two-letter word: %v", err)
	}
}

func TestMnemonicRoundTrip(t *testing.T) {
	for i := 0; i < 500; i++ {
		var seed [16]byte
		for j := range seed {
			seed[j] = byte(i*31 + j*7 + i*j)
		}
		if i == 1 {
			seed = [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		}
		got, err := crypto.DecodeMnemonic(crypto.EncodeMnemonic(seed))
		if err != nil || got != seed {
			t.Fatalf("seed %x: %x %v", seed, got, err)
		}
	}
}

func TestBIP39(t *testing.T) {
	seed := [16]byte(mustHex(t, "39038c8988db02c1af44e8c847bd9713"))
	m := crypto.EncodeBIP39(seed)
	if n := len(strings.Fields(m)); n != 12 {
		t.Fatalf("%d words", n)
	}
	got, err := crypto.DecodeBIP39(m)
	if err != nil || got != seed {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := crypto.DecodeBIP39("abandon abandon"); !errors.Is(err, crypto.ErrBIP39) {
		t.Fatalf("bad phrase: %v", err)
	}
	long := crypto.EncodeBIP39(seed) // 24 words would encode 32 bytes: build one from 32 bytes of entropy.
	_ = long
	if _, err := crypto.DecodeBIP39(strings.Repeat("abandon ", 23) + "art"); !errors.Is(err, crypto.ErrBIP39) {
		t.Fatalf("24-word phrase: %v", err)
	}
}

func TestBlake2b(t *testing.T) {
	if _, err := crypto.Blake2b(0, nil); !errors.Is(err, crypto.ErrInvalidHashSize) {
		t.Error("size 0")
	}
	if _, err := crypto.Blake2b(65, nil); !errors.Is(err, crypto.ErrInvalidHashSize) {
		t.Error("size 65")
	}
	if _, err := crypto.Blake2b(32, make([]byte, 65)); !errors.Is(err, crypto.ErrInvalidHashSize) {
		t.Error("key 65")
	}
	if _, err := crypto.Blake2bSaltPersonal(32, nil, make([]byte, 15), nil); !errors.Is(err, crypto.ErrInvalidHashSize) {
		t.Error("salt 15")
	}
	// The hand-written parameterised BLAKE2b equals x/crypto's with zero salt and personalisation,
	// over lengths around the block boundaries.
	for _, size := range []int{1, 16, 24, 32, 33, 56, 64} {
		for _, keyLen := range []int{0, 1, 32, 64} {
			for _, n := range []int{0, 1, 127, 128, 129, 255, 256, 257, 1000} {
				msg := bytes.Repeat([]byte{byte(n)}, n)
				key := bytes.Repeat([]byte{0xaa}, keyLen)
				h, _ := blake2b.New(size, key)
				h.Write(msg)
				want := h.Sum(nil)
				got, err := crypto.Blake2bSaltPersonal(size, key, nil, nil, msg[:n/2], msg[n/2:])
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("size %d key %d len %d: %x, want %x", size, keyLen, n, got, want)
				}
				got2, _ := crypto.Blake2bSaltPersonal(size, key, make([]byte, 16), make([]byte, 16), msg)
				if !bytes.Equal(got2, want) {
					t.Fatalf("zero salt/personal differs")
				}
			}
		}
	}
	// Reference outputs of Python's hashlib.blake2b with salt and person.
	seq := func(a, b int) []byte {
		out := make([]byte, 0, b-a)
		for i := a; i < b; i++ {
			out = append(out, byte(i))
		}
		return out
	}
	ref := []struct {
		size                 int
		key, salt, pers, msg []byte
		want                 string
	}{
		{56, seq(0, 32), nil, []byte("SessionAttachmnt"), []byte("hello world"), "297f59ddf307527599f0541ac23033810735c8c5491748dbbb9161b096a369045cf23900ca42c6bd6bd603aba9ba5d73d46a6f7b7b7ebc48"},
		{33, nil, []byte("SessionFileSvr\x00\x00"), nil, nil, "8811386d35e2d362ea6699c014bf7dc8ed8a58aa5ba4562d1a3104938dfea224e0"},
		{64, []byte("k"), seq(0, 16), seq(16, 32), bytes.Repeat(seq(0, 256), 3), "505f14c494707a1e8588cfd3a04f24cecac9e6190a11ed274b8898f6558d81dd05f65f82d4e8958e56630cde2520f40bfe90779d97304b9fe7aeaad82557b03c"},
	}
	for i, r := range ref {
		got, err := crypto.Blake2bSaltPersonal(r.size, r.key, r.salt, r.pers, r.msg)
		if err != nil || hex.EncodeToString(got) != r.want {
			t.Errorf("reference %d: %x %v", i, got, err)
		}
	}
}

func FuzzParseAccountID(f *testing.F) {
	f.Add("054830367d369d94605247999a375dbd0a0f65fdec5de1535612bcb6d4de452c69")
	f.Add("15")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := crypto.ParseAccountID(s)
		if err != nil {
			if !errors.Is(err, crypto.ErrInvalidAccountID) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if !strings.EqualFold(id.String(), s) {
			t.Fatalf("round trip %q -> %s", s, id)
		}
	})
}

func FuzzMnemonicDecode(f *testing.F) {
	f.Add("puffin luxury annoyed rustled memoir faxed smidgen puddle kiwi nylon utopia zinger kiwi")
	f.Add("session session session session session session session session session session session session session")
	f.Add("zzz")
	f.Fuzz(func(t *testing.T, s string) {
		seed, err := crypto.DecodeMnemonic(s)
		if err != nil {
			for _, e := range []error{crypto.ErrMnemonicLength, crypto.ErrMnemonicWord, crypto.ErrMnemonicChecksum, crypto.ErrMnemonicInvalid} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("untyped error %v", err)
		}
		again, err := crypto.DecodeMnemonic(crypto.EncodeMnemonic(seed))
		if err != nil || again != seed {
			t.Fatalf("re-encode of %q fails", s)
		}
	})
}

func FuzzEd25519PublicToX25519(f *testing.F) {
	f.Add(make([]byte, 32))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 32 {
			return
		}
		if _, err := crypto.Ed25519PublicToX25519([32]byte(b)); err != nil && !errors.Is(err, crypto.ErrInvalidPublicKey) {
			t.Fatal(err)
		}
		_, _ = crypto.XEd25519PublicKey([32]byte(b))
	})
}
