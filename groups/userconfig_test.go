package groups

import (
	"bytes"
	"errors"
	"testing"
)

func TestUserConfigRoundTrip(t *testing.T) {
	me := testKeys(t, 11)
	prof := NewUserConfig()
	want := UserProfile{Name: "bot", PicURL: "http://p", PicKey: bytes.Repeat([]byte{1}, 32), NoteToSelfPriority: 1, BlindedMsgRequests: 0}
	_ = prof.Update(want.Apply)
	out, seq, err := PushUserConfig(me, prof, DomainUserProfile)
	if err != nil || seq != 1 {
		t.Fatal(seq, err)
	}
	ser, err := ReadUserConfig(me, DomainUserProfile, out)
	if err != nil {
		t.Fatal(err)
	}
	other := NewUserConfig()
	if n, err := other.Merge(ser); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	got := UserProfileFromData(other.Data())
	if got.Name != "bot" || got.BlindedMsgRequests != 0 || got.NoteToSelfPriority != 1 || !bytes.Equal(got.PicKey, want.PicKey) {
		t.Fatalf("%+v", got)
	}
	if UserProfileFromData(Dict{}).BlindedMsgRequests != -1 {
		t.Fatal("default M")
	}
	// Bare and double-wrapped payloads are read too.
	raw, _, _ := prof.Push()
	bare, _ := EncodeConfigPayload(raw, me.Seed(), DomainUserProfile, false)
	double, _ := WrapUserConfig(me, DomainUserProfile, 1, out)
	for _, in := range [][]byte{bare, double} {
		if s, err := ReadUserConfig(me, DomainUserProfile, in); err != nil || !bytes.Equal(s, raw) {
			t.Fatal(err)
		}
	}
	if _, err := ReadUserConfig(me, DomainContacts, out); err == nil {
		t.Fatal("read under the wrong domain")
	}
	if _, err := ReadUserConfig(me, DomainGroupInfo, out); !errors.Is(err, ErrInvalidInput) {
		t.Fatal(err)
	}
	if _, err := WrapUserConfig(me, "nope", 1, nil); !errors.Is(err, ErrInvalidInput) {
		t.Fatal(err)
	}
	if _, err := ReadUserConfig(testKeys(t, 12), DomainUserProfile, out); !errors.Is(err, ErrDecrypt) {
		t.Fatal(err)
	}

	contacts := NewUserConfig()
	friend := testKeys(t, 13).AccountID()
	_ = contacts.Update(func(d Dict) {
		_ = SetContact(d, Contact{ID: friend, Name: "F", Approved: true, Priority: -1, Created: 5, ExpirationMode: 2, ExpirationTimer: 60})
		if SetContact(d, Contact{ID: NewAdminKey([32]byte{1}).ID()}) == nil {
			t.Error("03 contact accepted")
		}
	})
	out, _, err = PushUserConfig(me, contacts, DomainContacts)
	if err != nil {
		t.Fatal(err)
	}
	ser, err = ReadUserConfig(me, DomainContacts, out)
	if err != nil {
		t.Fatal(err)
	}
	c2 := NewUserConfig()
	_, _ = c2.Merge(ser)
	cs := ContactsFromData(c2.Data())
	if len(cs) != 1 || cs[0].ID != friend || !cs[0].Approved || cs[0].Blocked || cs[0].Priority != -1 || cs[0].ExpirationTimer != 60 {
		t.Fatalf("%+v", cs)
	}
}

func FuzzReadUserConfig(f *testing.F) {
	me := testKeys(f, 11)
	c := NewUserConfig()
	_ = c.Update(UserProfile{Name: "x"}.Apply)
	out, _, _ := PushUserConfig(me, c, DomainUserProfile)
	f.Add(out)
	f.Add([]byte{0x08, 0x01, 0x12, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		ser, err := ReadUserConfig(me, DomainUserProfile, data)
		if err == nil {
			_, _ = NewUserConfig().Merge(ser)
		}
	})
}

func TestUserGroups(t *testing.T) {
	me := testKeys(t, 11)
	admin := NewAdminKey([32]byte{1})
	joined := NewAdminKey([32]byte{2})
	auth, _ := joined.SubaccountAuth(me.AccountID(), 3)
	seed := admin.Seed()
	c := NewUserConfig()
	err := c.Update(func(d Dict) {
		if err := SetUserGroup(d, UserGroup{PublicKey: admin.PublicKey(), Seed: seed[:], Name: "mine", Joined: 10}); err != nil {
			t.Error(err)
		}
		if err := SetUserGroup(d, UserGroup{PublicKey: joined.PublicKey(), AuthData: &auth, Name: "theirs", Invited: true}); err != nil {
			t.Error(err)
		}
		if SetUserGroup(d, UserGroup{PublicKey: joined.PublicKey(), Seed: seed[:]}) == nil {
			t.Error("mismatched seed accepted")
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := PushUserConfig(me, c, DomainUserGroups)
	if err != nil {
		t.Fatal(err)
	}
	ser, err := ReadUserConfig(me, DomainUserGroups, out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ser, []byte("1:K0:")) {
		t.Fatal("empty K not written")
	}
	r := NewUserConfig()
	_, _ = r.Merge(ser)
	gs := UserGroupsFromData(r.Data())
	if len(gs) != 2 {
		t.Fatalf("%d groups", len(gs))
	}
	for _, g := range gs {
		switch g.ID() {
		case admin.ID():
			if !bytes.Equal(g.Seed, seed[:]) || g.AuthData != nil || g.Joined != 10 || g.Name != "mine" {
				t.Fatalf("%+v", g)
			}
		case joined.ID():
			if g.Seed != nil || g.AuthData == nil || *g.AuthData != auth || !g.Invited {
				t.Fatalf("%+v", g)
			}
		default:
			t.Fatal("unknown group")
		}
	}
	_ = c.Update(func(d Dict) { EraseUserGroup(d, admin.PublicKey()) })
	if len(UserGroupsFromData(c.Data())) != 1 {
		t.Fatal("erase")
	}
}
