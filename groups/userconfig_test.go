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
