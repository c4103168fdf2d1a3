package groups

import (
	"errors"
	"testing"

	"github.com/sessiongo/sdk/crypto"
)

func TestSubaccountFlow(t *testing.T) {
	admin := NewAdminKey([32]byte{1})
	member := testKeys(t, 5)
	for _, flags := range []byte{SubaccountFlags(false, false), SubaccountFlags(true, false), SubaccountFlags(true, true)} {
		auth, err := admin.SubaccountAuth(member.AccountID(), flags)
		if err != nil {
			t.Fatal(err)
		}
		if auth.Flags() != flags || auth[0] != 0x03 {
			t.Fatalf("auth header %x", auth[:4])
		}
		if err := VerifyAuthData(admin.PublicKey(), member.Ed25519PublicKey(), auth); err != nil {
			t.Fatal(err)
		}
		msg := []byte("store111700000000000")
		sig, err := SignSubaccount(member, auth, msg)
		if err != nil {
			t.Fatal(err)
		}
		tok, _ := admin.SubaccountToken(member.AccountID(), flags)
		if sig.Token != tok {
			t.Fatal("member's token differs from the admin's")
		}
		if err := VerifySubaccountRequest(admin.PublicKey(), sig, msg, FlagRead); err != nil {
			t.Fatal(err)
		}
		err = VerifySubaccountRequest(admin.PublicKey(), sig, msg, FlagWrite)
		if (flags&FlagWrite != 0) != (err == nil) {
			t.Fatalf("flags %02x, write required: %v", flags, err)
		}
		// Forgeries: changed flags (the admin signature covers them), other group.
		forged := sig
		forged.Token[1] |= FlagDelete | FlagWrite
		if forged.Token != sig.Token {
			if err := VerifySubaccountRequest(admin.PublicKey(), forged, msg, FlagRead); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("forged flags: %v", err)
			}
		}
		other := NewAdminKey([32]byte{2})
		if err := VerifySubaccountRequest(other.PublicKey(), sig, msg, FlagRead); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("other group: %v", err)
		}
		if err := VerifyAuthData(other.PublicKey(), member.Ed25519PublicKey(), auth); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("auth data under other group: %v", err)
		}
		bad := auth
		bad[5] ^= 1
		if err := VerifyAuthData(admin.PublicKey(), member.Ed25519PublicKey(), bad); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("corrupted k: %v", err)
		}
	}
}

// TestSubaccountTopBitIgnored pins upstream's behaviour: bit 255 of k is ignored (libsodium's
// noclamp scalar multiplication clears it), so flipping it still verifies.
func TestSubaccountTopBitIgnored(t *testing.T) {
	admin := NewAdminKey([32]byte{1})
	member := testKeys(t, 5)
	auth, _ := admin.SubaccountAuth(member.AccountID(), 3)
	flipped := auth
	flipped[35] ^= 0x80
	if err := VerifyAuthData(admin.PublicKey(), member.Ed25519PublicKey(), flipped); err != nil {
		t.Fatalf("bit 255 flip: %v", err)
	}
	// Every other bit of the 100 bytes matters.
	for i := 0; i < AuthDataSize*8; i++ {
		if i == 35*8+7 {
			continue
		}
		b := auth
		b[i/8] ^= 1 << (i % 8)
		if err := VerifyAuthData(admin.PublicKey(), member.Ed25519PublicKey(), b); err == nil {
			t.Fatalf("bit %d flip undetected", i)
		}
	}
}

func TestSubaccountBadInput(t *testing.T) {
	admin := NewAdminKey([32]byte{1})
	if _, err := admin.SubaccountAuth(admin.ID(), 3); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("03 member: %v", err)
	}
	var zeroX crypto.AccountID
	zeroX[0] = 0x05
	zeroX[1] = 1 // u = 1 has no Edwards form (y = 0/2 = 0 is fine) -> check no panic
	_, _ = admin.SubaccountAuth(zeroX, 3)
	var junk AuthData
	if _, err := SignSubaccount(testKeys(t, 1), junk, nil); err == nil {
		// k = 0 gives the identity
		t.Fatal("zero auth data accepted")
	}
}
