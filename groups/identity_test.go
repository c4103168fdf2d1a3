package groups

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/crypto"
)

func testKeys(t testing.TB, b byte) *crypto.Keys {
	t.Helper()
	k, err := crypto.KeysFromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestAdminKeyDoesNotLeak(t *testing.T) {
	a := NewAdminKey([32]byte{0xaa, 0xbb, 0xcc})
	for _, f := range []string{"%v", "%+v", "%#v", "%x", "%s", "%q"} {
		s := fmt.Sprintf(f, a)
		if strings.Contains(s, "aabbcc") || !strings.Contains(s, a.ID().String()) {
			t.Errorf("%s: %q", f, s)
		}
	}
	if a.ID().Prefix() != crypto.PrefixGroup {
		t.Fatal("group ID prefix")
	}
	p := a.PrivateKey()
	p[0] ^= 1
	if a.PrivateKey()[0] == p[0] {
		t.Fatal("PrivateKey is not a copy")
	}
}

func TestParseID(t *testing.T) {
	a, err := GenerateAdminKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ParseID(a.ID().String()); err != nil {
		t.Fatal(err)
	}
	member := testKeys(t, 1).AccountID().String()
	if _, _, err := ParseID(member); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("05 ID as group: %v", err)
	}
	if _, _, err := ParseID("03" + strings.Repeat("00", 32)); err == nil {
		t.Fatal("small-order group key accepted")
	}
	if _, _, err := ParseID("zz"); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestMultiEncryptRoundTrip(t *testing.T) {
	sender := testKeys(t, 1)
	r := []*crypto.Keys{testKeys(t, 2), testKeys(t, 3), testKeys(t, 4)}
	rx := [][32]byte{r[0].X25519PublicKey(), r[1].X25519PublicKey(), {} /* low order: skipped */, r[2].X25519PublicKey()}
	msgs := [][]byte{[]byte("a"), []byte("bb"), []byte("skipped"), []byte("dddd")}
	var nonce [24]byte
	cts, err := MultiEncrypt(msgs, rx, nonce, sender.X25519PrivateKey(), sender.X25519PublicKey(), "d")
	if err != nil {
		t.Fatal(err)
	}
	if len(cts) != 3 {
		t.Fatalf("%d ciphertexts, want 3 (invalid recipient skipped)", len(cts))
	}
	for i, want := range []string{"a", "bb", "dddd"} {
		pt, ok := MultiDecrypt(cts, nonce, r[i].X25519PrivateKey(), r[i].X25519PublicKey(), sender.X25519PublicKey(), "d")
		if !ok || string(pt) != want {
			t.Fatalf("recipient %d: %q %v", i, pt, ok)
		}
	}
	if _, err := MultiEncrypt(msgs[:2], rx, nonce, sender.X25519PrivateKey(), sender.X25519PublicKey(), "d"); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("2 messages for 4 recipients: %v", err)
	}
	// A domain over 64 bytes is cut, as libsession does.
	long := strings.Repeat("x", 64)
	c1, _ := MultiEncrypt(msgs[:1], rx[:1], nonce, sender.X25519PrivateKey(), sender.X25519PublicKey(), long)
	c2, _ := MultiEncrypt(msgs[:1], rx[:1], nonce, sender.X25519PrivateKey(), sender.X25519PublicKey(), long+"yyy")
	if !bytes.Equal(c1[0], c2[0]) {
		t.Fatal("domain not cut at 64 bytes")
	}
}

func TestMultiEncryptSimplePadding(t *testing.T) {
	sender := testKeys(t, 1)
	r := testKeys(t, 2)
	enc, err := MultiEncryptSimple([][]byte{[]byte("hello")}, [][32]byte{r.X25519PublicKey()}, sender.X25519PrivateKey(), sender.X25519PublicKey(), "dom", 4, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := MultiDecryptSimple(enc, r.X25519PrivateKey(), r.X25519PublicKey(), sender.X25519PublicKey(), "dom")
	if err != nil || string(pt) != "hello" {
		t.Fatalf("%q %v", pt, err)
	}
	if n := bytes.Count(enc, []byte("5:")); n != 3 {
		t.Fatalf("want 3 junk entries of the plaintext's length (5), found %d", n)
	}
	other := testKeys(t, 3)
	if _, err := MultiDecryptSimple(enc, other.X25519PrivateKey(), other.X25519PublicKey(), sender.X25519PublicKey(), "dom"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("non-recipient: %v", err)
	}
	for _, bad := range []string{"", "de", "d1:#3:abce", "d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:ei1ee", "d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:eli1eee"} {
		if _, err := MultiDecryptSimple([]byte(bad), r.X25519PrivateKey(), r.X25519PublicKey(), sender.X25519PublicKey(), "dom"); !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func FuzzMultiDecryptSimple(f *testing.F) {
	sender := testKeys(f, 1)
	r := testKeys(f, 2)
	enc, _ := MultiEncryptSimple([][]byte{[]byte("hello")}, [][32]byte{r.X25519PublicKey()}, sender.X25519PrivateKey(), sender.X25519PublicKey(), "dom", 2, rand.Reader)
	f.Add(enc)
	f.Add([]byte("d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:ele"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = MultiDecryptSimple(data, r.X25519PrivateKey(), r.X25519PublicKey(), sender.X25519PublicKey(), "dom")
	})
}

func TestGenerateAdminKeyDefaultRand(t *testing.T) {
	a, err := GenerateAdminKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateAdminKey(nil)
	if err != nil || a.PublicKey() == b.PublicKey() {
		t.Fatalf("nil rand must mean crypto/rand: %v", err)
	}
}
