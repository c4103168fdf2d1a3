package session

import (
	"bytes"
	"errors"
	"testing"

	"github.com/sessiongo/sdk/crypto"
)

func newKeys(t testing.TB) *crypto.Keys {
	t.Helper()
	k, err := crypto.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	alice, bob := newKeys(t), newKeys(t)
	for _, n := range []int{0, 1, 158, 159, 160, 300, 2000} {
		msg := bytes.Repeat([]byte{0x42}, n)
		ct, err := Seal(alice, bob.AccountID(), msg)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(Pad(msg)) + crypto.SealOverhead; len(ct) != want {
			t.Errorf("%d bytes: sealed %d, want %d", n, len(ct), want)
		}
		got, from, err := Open(bob, ct)
		if err != nil || !bytes.Equal(got, msg) || from != alice.AccountID() {
			t.Fatalf("%d bytes: %x from %s, %v", n, got, from, err)
		}
	}
}

func TestSealOpenErrors(t *testing.T) {
	alice, bob, carol := newKeys(t), newKeys(t), newKeys(t)
	blinded := crypto.NewAccountID(crypto.PrefixBlinded15, bob.X25519PublicKey())
	if _, err := Seal(alice, blinded, []byte("x")); !errors.Is(err, ErrInvalidRecipient) {
		t.Errorf("blinded recipient: %v", err)
	}
	if _, err := Seal(nil, bob.AccountID(), []byte("x")); !errors.Is(err, crypto.ErrNilKeys) {
		t.Errorf("nil sender: %v", err)
	}
	ct, err := Seal(alice, bob.AccountID(), []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(carol, ct); !errors.Is(err, crypto.ErrDecrypt) {
		t.Errorf("wrong recipient: %v", err)
	}
	if _, _, err := Open(bob, ct[:100]); !errors.Is(err, crypto.ErrCiphertextTooShort) {
		t.Errorf("short: %v", err)
	}
	// An all-zero padded message decrypts but does not unpad.
	zeros, err := crypto.EncryptForRecipient(alice, bob.X25519PublicKey(), make([]byte, 10), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(bob, zeros); !errors.Is(err, ErrInvalidPadding) {
		t.Errorf("all-zero message: %v", err)
	}
	// An unpadded message (old or foreign client) is accepted as is.
	raw, err := crypto.EncryptForRecipient(alice, bob.X25519PublicKey(), []byte("raw"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := Open(bob, raw); err != nil || string(got) != "raw" {
		t.Errorf("unpadded message: %q %v", got, err)
	}
}
