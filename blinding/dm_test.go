package blinding

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/chacha20poly1305"

	"github.com/sessiongo/sdk/crypto"
)

type dmParty struct {
	keys     *crypto.Keys
	id15     crypto.AccountID
	id25     crypto.AccountID
	sessionI crypto.AccountID
}

func newParty(t testing.TB, seed string) dmParty {
	k := mustKeys(t, seed)
	k15, err := Blind15KeyPair(k, testServerPK)
	if err != nil {
		t.Fatal(err)
	}
	k25, err := Blind25KeyPair(k, testServerPK)
	if err != nil {
		t.Fatal(err)
	}
	return dmParty{keys: k, id15: k15.ID(), id25: k25.ID(), sessionI: k.AccountID()}
}

func TestDMRoundTrip(t *testing.T) {
	// Seeds with positive and negative Ed25519 keys on both sides.
	seeds := []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "00112233445566778899aabbccddeeff", "8659efdcbe0949e0f81141e6d397e8be75f45d09262f209d5950e97989eb43c7"}
	for _, s1 := range seeds {
		for _, s2 := range seeds {
			a, b := newParty(t, s1), newParty(t, s2)
			for _, kind := range []string{"15", "25"} {
				sid, rid := a.id15, b.id15
				if kind == "25" {
					sid, rid = a.id25, b.id25
				}
				msg := []byte("hi from " + s1)
				data, err := EncryptDM(a.keys, testServerPK, rid, msg, nil)
				if err != nil {
					t.Fatal(err)
				}
				if len(data) != len(msg)+DMOverhead {
					t.Fatalf("length %d, want %d", len(data), len(msg)+DMOverhead)
				}
				for who, k := range map[string]*crypto.Keys{"recipient": b.keys, "sender": a.keys} {
					pt, from, err := DecryptDM(k, testServerPK, sid, rid, data)
					if err != nil || !bytes.Equal(pt, msg) || from != a.sessionI {
						t.Fatalf("%s %s->%s %s: %q from %s, %v", kind, s1, s2, who, pt, from, err)
					}
				}
				if kind == "15" {
					// The server may report a 15 sender by the other sign candidate.
					pt, _, err := DecryptDM(b.keys, testServerPK, flipSign(sid), rid, data)
					if s1 != s2 && err == nil {
						// The shared secret uses the reported ID, so the flipped one gives a
						// different key and must fail to authenticate.
						t.Fatalf("flipped sender decrypted: %q", pt)
					}
				}
				// A third party cannot read it.
				c := newParty(t, "ffeeddccbbaa99887766554433221100")
				if _, _, err := DecryptDM(c.keys, testServerPK, sid, rid, data); !errors.Is(err, ErrDecrypt) {
					t.Fatalf("third party: err = %v, want ErrDecrypt", err)
				}
			}
		}
	}
}

func TestDMBadInput(t *testing.T) {
	a, b := newParty(t, "0123456789abcdef0123456789abcdef"), newParty(t, "fedcba9876543210fedcba9876543210")
	msg := []byte("hello")
	data, err := EncryptDM(a.keys, testServerPK, b.id15, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range data {
		bad := bytes.Clone(data)
		bad[i] ^= 0x01
		if _, _, err := DecryptDM(b.keys, testServerPK, a.id15, b.id15, bad); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("flip byte %d: err = %v, want ErrDecrypt", i, err)
		}
	}
	for n := 0; n < len(data); n++ {
		if _, _, err := DecryptDM(b.keys, testServerPK, a.id15, b.id15, data[:n]); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("truncated to %d: err = %v, want ErrDecrypt", n, err)
		}
	}
	// Wrong kinds of ID.
	if _, err := EncryptDM(a.keys, testServerPK, b.sessionI, msg, nil); !errors.Is(err, ErrNotBlindedID) {
		t.Fatalf("encrypt to 05: err = %v, want ErrNotBlindedID", err)
	}
	if _, _, err := DecryptDM(b.keys, testServerPK, a.id25, b.id15, data); !errors.Is(err, ErrNotBlindedID) {
		t.Fatalf("mixed kinds: err = %v, want ErrNotBlindedID", err)
	}
	if _, _, err := DecryptDM(b.keys, testServerPK, a.sessionI, b.sessionI, data); !errors.Is(err, ErrNotBlindedID) {
		t.Fatalf("05 IDs: err = %v, want ErrNotBlindedID", err)
	}
	// A recipient key that is not a valid point.
	for name, k := range smallOrderKeys(t) {
		bad := crypto.NewAccountID(crypto.PrefixBlinded15, k)
		if _, err := EncryptDM(a.keys, testServerPK, bad, msg, nil); !errors.Is(err, ErrCannotBlind) {
			t.Fatalf("%s recipient: err = %v, want ErrCannotBlind", name, err)
		}
		if _, _, err := DecryptDM(b.keys, testServerPK, bad, b.id15, data); !errors.Is(err, ErrDecrypt) || !errors.Is(err, ErrCannotBlind) {
			t.Fatalf("%s sender: err = %v, want ErrDecrypt and ErrCannotBlind", name, err)
		}
	}
	// A failing nonce source.
	if _, err := EncryptDM(a.keys, testServerPK, b.id15, msg, bytes.NewReader(make([]byte, 5))); err == nil {
		t.Fatal("short nonce source: no error")
	}
}

// A message that authenticates but carries someone else's Ed25519 key is a forgery attempt:
// the sender reported by the server is not who the message says.
func TestDMSenderMismatch(t *testing.T) {
	for _, kind := range []crypto.Prefix{crypto.PrefixBlinded15, crypto.PrefixBlinded25} {
		a, b, c := newParty(t, "0123456789abcdef0123456789abcdef"), newParty(t, "fedcba9876543210fedcba9876543210"), newParty(t, "00112233445566778899aabbccddeeff")
		s, me, err := dmSecret(a.keys, testServerPK, kind)
		if err != nil {
			t.Fatal(err)
		}
		rid := b.id15
		if kind == crypto.PrefixBlinded25 {
			rid = b.id25
		}
		key, err := dmKey(s, rid, me, rid)
		if err != nil {
			t.Fatal(err)
		}
		aead, _ := chacha20poly1305.NewX(key[:])
		nonce := make([]byte, 24)
		cPK := c.keys.Ed25519PublicKey()
		inner := append([]byte("forged"), cPK[:]...)
		data := append(aead.Seal([]byte{0}, nonce, inner, nil), nonce...)
		if _, _, err := DecryptDM(b.keys, testServerPK, me, rid, data); !errors.Is(err, ErrSenderMismatch) {
			t.Fatalf("%s: err = %v, want ErrSenderMismatch", kind, err)
		}
		// An embedded key that is not a valid point at all.
		inner = append([]byte("forged"), make([]byte, 32)...)
		data = append(aead.Seal([]byte{0}, nonce, inner, nil), nonce...)
		if _, _, err := DecryptDM(b.keys, testServerPK, me, rid, data); !errors.Is(err, ErrSenderMismatch) {
			t.Fatalf("%s zero key: err = %v, want ErrSenderMismatch", kind, err)
		}
		// A wrong version byte is refused before any crypto.
		ok, _ := EncryptDM(a.keys, testServerPK, rid, []byte("x"), nil)
		ok[0] = 1
		if _, _, err := DecryptDM(b.keys, testServerPK, me, rid, ok); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("version 1: err = %v", err)
		}
	}
}

// FuzzDecryptDM: arbitrary bytes and IDs never panic and fail only with the documented errors;
// a genuine message still decrypts.
func FuzzDecryptDM(f *testing.F) {
	a, b := newParty(f, "0123456789abcdef0123456789abcdef"), newParty(f, "fedcba9876543210fedcba9876543210")
	for _, ids := range [][2]crypto.AccountID{{a.id15, b.id15}, {a.id25, b.id25}} {
		data, err := EncryptDM(a.keys, testServerPK, ids[1], []byte("seed message"), nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, ids[0][:], ids[1][:])
	}
	f.Add([]byte{0}, a.id15[:], b.id15[:])
	f.Add(make([]byte, 73), a.id25[:], b.id15[:])
	f.Fuzz(func(t *testing.T, data, sender, recipient []byte) {
		if len(sender) != 33 || len(recipient) != 33 {
			return
		}
		pt, from, err := DecryptDM(b.keys, testServerPK, crypto.AccountID(sender), crypto.AccountID(recipient), data)
		if err != nil {
			if pt != nil || !from.IsZero() {
				t.Fatal("output alongside an error")
			}
			if !errors.Is(err, ErrDecrypt) && !errors.Is(err, ErrNotBlindedID) && !errors.Is(err, ErrSenderMismatch) && !errors.Is(err, ErrCannotBlind) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		if from != a.sessionI || len(pt)+DMOverhead != len(data) {
			t.Fatalf("decrypted something not sent: %q from %s", pt, from)
		}
	})
}
