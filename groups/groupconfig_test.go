package groups

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestGroupConfigsRoundTrip(t *testing.T) {
	g := newTestGroup(t, 2)
	info, _ := NewGroupConfig(g.admin.PublicKey(), g.admin)
	members, _ := NewGroupConfig(g.admin.PublicKey(), g.admin)
	wantInfo := Info{Name: strings.Repeat("n", 150), Description: "desc", Created: 1700000000, ExpireTimer: 3600, PicURL: "http://x", PicKey: bytes.Repeat([]byte{7}, 32)}
	if err := info.Update(wantInfo.Apply); err != nil {
		t.Fatal(err)
	}
	err := members.Update(func(d Dict) {
		_ = SetMember(d, Member{ID: g.adminKeys.AccountID(), Name: "Admin", Admin: true, Invite: InviteSent})
		_ = SetMember(d, Member{ID: g.members[0].AccountID(), Name: "", Invite: InviteNotSent, Supplement: true})
		_ = SetMember(d, Member{ID: g.members[1].AccountID(), Name: "Kicked", Removed: RemovedAndMsgs})
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := members.Update(func(d Dict) {
		if SetMember(d, Member{ID: g.admin.ID()}) == nil {
			t.Error("03 ID accepted as a member")
		}
	}); err != nil {
		t.Fatal(err)
	}
	key := [32]byte{5}
	for _, c := range []struct {
		cfg    *Config
		domain string
	}{{info, DomainGroupInfo}, {members, DomainGroupMembers}} {
		ser, seq, err := c.cfg.Push()
		if err != nil || seq != 1 {
			t.Fatal(seq, err)
		}
		payload, err := EncodeConfigPayload(ser, key, c.domain, true)
		if err != nil {
			t.Fatal(err)
		}
		back, err := DecryptGroupConfig(payload, [][32]byte{{1}, key}, c.domain)
		if err != nil || !bytes.Equal(back, ser) {
			t.Fatal(err)
		}
		if _, err := DecryptGroupConfig(payload, [][32]byte{{1}}, c.domain); !errors.Is(err, ErrDecrypt) {
			t.Fatal(err)
		}
		ro, _ := NewGroupConfig(g.admin.PublicKey(), nil)
		if n, err := ro.Merge(back); n != 1 || err != nil {
			t.Fatal(n, err)
		}
		switch c.domain {
		case DomainGroupInfo:
			got := InfoFromData(ro.Data())
			if got.Name != wantInfo.Name[:100] || got.Description != "desc" || got.ExpireTimer != 3600 || !bytes.Equal(got.PicKey, wantInfo.PicKey) {
				t.Fatalf("info %+v", got)
			}
		case DomainGroupMembers:
			got := MembersFromData(ro.Data())
			if len(got) != 3 {
				t.Fatalf("%d members", len(got))
			}
			for _, m := range got {
				switch m.ID {
				case g.adminKeys.AccountID():
					if !m.Admin || m.Invite != 0 || m.Name != "Admin" {
						t.Fatalf("admin %+v", m)
					}
				case g.members[0].AccountID():
					if m.Invite != InviteNotSent || !m.Supplement {
						t.Fatalf("invitee %+v", m)
					}
				case g.members[1].AccountID():
					if m.Removed != RemovedAndMsgs {
						t.Fatalf("kicked %+v", m)
					}
				}
			}
			if !bytes.Contains(back, []byte("1:n0:")) {
				t.Fatal("empty member name not kept")
			}
		}
	}
	_ = members.Update(func(d Dict) { EraseMember(d, g.members[1].AccountID()) })
	if len(MembersFromData(members.Data())) != 2 {
		t.Fatal("erase")
	}
	_ = info.Update(Info{}.Apply)
	if len(info.Data()) != 0 {
		t.Fatalf("zero Info left %v", info.Data())
	}
}
