package groups

import (
	"crypto/rand"
	"errors"
	"testing"

	"github.com/sessiongo/sdk/crypto"
)

func TestSubaccountSigner(t *testing.T) {
	admin := NewAdminKey([32]byte{3})
	member := testKeys(t, 4)
	auth, _ := admin.SubaccountAuth(member.AccountID(), SubaccountFlags(true, false))
	s, err := NewSubaccountSigner(member, admin.ID(), auth)
	if err != nil {
		t.Fatal(err)
	}
	if s.AccountID() != admin.ID() {
		t.Fatal("signer addresses the wrong account")
	}
	msg := []byte("retrieve111700000000000")
	a, err := s.SignRequest(msg)
	if err != nil || a.Subaccount == nil || a.SubaccountSig == nil || a.PubkeyEd25519 != nil {
		t.Fatalf("%+v %v", a, err)
	}
	sig := SubaccountSignature{Token: Token(*a.Subaccount), TokenSig: *a.SubaccountSig, Signature: a.Signature}
	if err := VerifySubaccountRequest(admin.PublicKey(), sig, msg, FlagRead|FlagWrite); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSubaccountSigner(testKeys(t, 5), admin.ID(), auth); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another member's auth data: %v", err)
	}
	if _, err := NewSubaccountSigner(member, member.AccountID(), auth); !errors.Is(err, ErrInvalidInput) {
		t.Fatalf("05 group: %v", err)
	}
}

func TestKickedMessage(t *testing.T) {
	admin := NewAdminKey([32]byte{3})
	kicked := []*crypto.Keys{testKeys(t, 4), testKeys(t, 5)}
	msg, err := admin.KickedMessage([]crypto.AccountID{kicked[0].AccountID(), kicked[1].AccountID()}, 7, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range kicked {
		if gen, ok := ReadKickedMessage(k, admin.PublicKey(), msg, 7); !ok || gen != 7 {
			t.Fatalf("kicked member: %d %v", gen, ok)
		}
		if _, ok := ReadKickedMessage(k, admin.PublicKey(), msg, 8); ok {
			t.Fatal("stale notice accepted")
		}
		if _, ok := ReadKickedMessage(k, NewAdminKey([32]byte{1}).PublicKey(), msg, 0); ok {
			t.Fatal("notice accepted from another group")
		}
	}
	if _, ok := ReadKickedMessage(testKeys(t, 6), admin.PublicKey(), msg, 0); ok {
		t.Fatal("bystander kicked")
	}
	if _, err := admin.KickedMessage(nil, 1, rand.Reader); !errors.Is(err, ErrInvalidInput) {
		t.Fatal(err)
	}
}

func TestAdminSignatures(t *testing.T) {
	admin := NewAdminKey([32]byte{3})
	invitee := testKeys(t, 4).AccountID()
	m := InviteSigningMessage(invitee, 1700000000123)
	if string(m) != "INVITE"+invitee.String()+"1700000000123" {
		t.Fatalf("%s", m)
	}
	sig := admin.Sign(m)
	if err := VerifyAdminSignature(admin.PublicKey(), m, sig[:]); err != nil {
		t.Fatal(err)
	}
	if err := VerifyAdminSignature(admin.PublicKey(), InviteSigningMessage(invitee, 1700000000124), sig[:]); !errors.Is(err, ErrBadSignature) {
		t.Fatal(err)
	}
	if err := VerifyAdminSignature(admin.PublicKey(), m, sig[:63]); !errors.Is(err, ErrBadSignature) {
		t.Fatal(err)
	}
	if got := string(InfoChangeSigningMessage(1, 5)); got != "INFO_CHANGE15" {
		t.Fatal(got)
	}
	if got := string(MemberChangeSigningMessage(3, 5)); got != "MEMBER_CHANGE35" {
		t.Fatal(got)
	}
	if got := string(DeleteContentSigningMessage(5, []string{"05a", "05b"}, []string{"h1"})); got != "DELETE_CONTENT505a05bh1" {
		t.Fatal(got)
	}
}
