package groups

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

func openUC(t testing.TB, keys *crypto.Keys, domain string) *UserConfig {
	t.Helper()
	u, err := OpenUserConfig(keys, domain, nil)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// pushConfirm stores the config's pending message under hash and returns the stored bytes.
func pushConfirm(t testing.TB, u *UserConfig, hash string) []byte {
	t.Helper()
	p, err := u.PrepareStore(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u.ConfirmPushed(p.Seqno, hash)
	return p.Data
}

func TestUnknownKeysSurviveTypedWrites(t *testing.T) {
	me := testKeys(t, 11)
	friend := testKeys(t, 12).AccountID()
	grp := NewAdminKey([32]byte{3})
	// A newer client wrote keys we do not know, at every level.
	c := openUC(t, me, DomainContacts)
	_ = c.Update(func(d Dict) {
		d["Z"] = "top"
		d["c"] = Dict{string(friend[:]): Dict{"n": "F", "x": int64(7)}}
	})
	_ = c.Update(func(d Dict) {
		ct, _ := ContactFromData(d, friend)
		ct.Approved = true
		ct.Nickname = "nick"
		_ = SetContact(d, ct)
	})
	d := c.Data()
	e := d.Dict("c").Dict(string(friend[:]))
	if d.String("Z") != "top" || e.Int("x") != 7 || e.Int("a") != 1 || e.String("N") != "nick" || e.String("n") != "F" {
		t.Fatalf("%#v", d)
	}
	// The same through a push and a fresh device.
	out := pushConfirm(t, c, "h1")
	f := openUC(t, me, DomainContacts)
	if _, err := f.MergeStored([]ConfigInput{{Hash: "h1", Data: out}}); err != nil {
		t.Fatal(err)
	}
	if f.Data().Dict("c").Dict(string(friend[:])).Int("x") != 7 {
		t.Fatal("unknown contact field lost")
	}
	// Groups and communities keep theirs too.
	g := openUC(t, me, DomainUserGroups)
	id := grp.ID()
	_ = g.Update(func(d Dict) {
		d["g"] = Dict{string(id[:]): Dict{"K": "", "n": "G", "?": "future"}}
		d["o"] = Dict{"https://example.org": Dict{"#": strings.Repeat("k", 32), "R": Dict{"room": Dict{"n": "Room", "?": int64(1)}}}}
	})
	_ = g.Update(func(d Dict) {
		ug, _ := UserGroupFromData(d, grp.PublicKey())
		ug.Priority = 3
		_ = SetUserGroup(d, ug)
		cs := CommunitiesFromData(d)
		cs[0].Joined = 5
		_ = SetCommunity(d, cs[0])
	})
	d = g.Data()
	if d.Dict("g").Dict(string(id[:])).String("?") != "future" || d.Dict("g").Dict(string(id[:])).Int("+") != 3 {
		t.Fatalf("%#v", d.Dict("g"))
	}
	if r := d.Dict("o").Dict("https://example.org").Dict("R").Dict("room"); r.Int("?") != 1 || r.Int("j") != 5 || r.String("n") != "Room" {
		t.Fatalf("%#v", r)
	}
	// The profile too.
	p := openUC(t, me, DomainUserProfile)
	_ = p.Update(func(d Dict) { d["t"] = int64(99) })
	_ = p.Update(UserProfile{Name: "n", BlindedMsgRequests: -1}.Apply)
	if p.Data().Int("t") != 99 {
		t.Fatal("unknown profile key lost")
	}
}

func TestTruncateUTF8(t *testing.T) {
	long := strings.Repeat("é", 60) // 120 bytes
	got := truncate(long, MaxNameLength)
	if len(got) != 100 || !strings.HasPrefix(long, got) {
		t.Fatalf("%d bytes", len(got))
	}
	odd := "a" + strings.Repeat("€", 40) // 1 + 120 bytes
	if got := truncate(odd, 100); len(got) != 100 || got[len(got)-3:] != "€" {
		t.Fatalf("%q", got[len(got)-4:])
	}
	if got := truncate(strings.Repeat("\xff", 200), 100); len(got) != 100 {
		t.Fatal("invalid UTF-8 not cut at the limit")
	}
	c := NewUserConfig()
	_ = c.Update(UserProfile{Name: odd}.Apply)
	if n := UserProfileFromData(c.Data()).Name; len(n) != 100 {
		t.Fatalf("%d", len(n))
	}
}

func TestCommunityURLs(t *testing.T) {
	for in, want := range map[string]string{
		"https://Example.ORG":      "https://example.org",
		"HTTPS://example.org:443/": "https://example.org",
		"http://example.org:80":    "http://example.org",
		"http://example.org:8080":  "http://example.org:8080",
		"https://127.0.0.1:12345":  "https://127.0.0.1:12345",
		"https://sub-1.a.b":        "https://sub-1.a.b",
	} {
		got, err := CanonicalCommunityURL(in)
		if err != nil || got != want {
			t.Errorf("%q: %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "example.org", "ftp://example.org", "https://localhost", "https://a.b", "https://example.org/room",
		"https://example..org", "https://example.org.", "https://example.org:99999", "https://.example.org", "https://exa_mple.org"} {
		if _, err := CanonicalCommunityURL(bad); !errors.Is(err, ErrInvalidInput) {
			t.Errorf("%q accepted", bad)
		}
	}
	if r, err := CanonicalRoom("Sudoku_Solvers-2"); err != nil || r != "sudoku_solvers-2" {
		t.Fatal(r, err)
	}
	for _, bad := range []string{"", "a b", strings.Repeat("a", 65), "é"} {
		if _, err := CanonicalRoom(bad); err == nil {
			t.Errorf("room %q accepted", bad)
		}
	}
	if !SameRoom("https://Example.org", "Lobby", "https://example.org/", "lobby") || SameRoom("https://a.org", "x", "https://b.org", "x") {
		t.Fatal("SameRoom")
	}
}

func TestConvos(t *testing.T) {
	now := time.UnixMilli(1_800_000_000_000)
	ms := now.UnixMilli()
	bob := testKeys(t, 12).AccountID()
	grp := NewAdminKey([32]byte{3}).ID()
	d := Dict{}
	pk := [32]byte{9}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(SetConvo(d, Convo{Kind: ConvoOneToOne, ID: bob, LastRead: ms}, now))
	must(SetConvo(d, Convo{Kind: ConvoGroup, ID: grp, LastRead: ms - 1, Unread: true}, now))
	must(SetConvo(d, Convo{Kind: ConvoCommunity, BaseURL: "https://Example.org", Room: "Lobby", PubKey: pk, LastRead: ms - 2}, now))
	must(SetConvo(d, Convo{Kind: ConvoLegacyGroup, ID: bob, LastRead: ms - 3}, now))
	if SetConvo(d, Convo{Kind: ConvoGroup, ID: bob}, now) == nil || SetConvo(d, Convo{Kind: 9}, now) == nil ||
		SetConvo(d, Convo{Kind: ConvoCommunity, BaseURL: "nope", Room: "x"}, now) == nil {
		t.Fatal("bad convo accepted")
	}
	cs := ConvosFromData(d)
	if len(cs) != 4 || cs[0].Kind != ConvoOneToOne || cs[1].Kind != ConvoGroup || !cs[1].Unread || cs[2].BaseURL != "https://example.org" || cs[2].Room != "lobby" || cs[2].PubKey != pk || cs[3].Kind != ConvoLegacyGroup {
		t.Fatalf("%+v", cs)
	}
	// Too old to record, unless it moves a position back.
	must(SetConvo(d, Convo{Kind: ConvoOneToOne, ID: testKeys(t, 13).AccountID(), LastRead: now.Add(-31 * 24 * time.Hour).UnixMilli()}, now))
	if len(ConvosFromData(d)) != 4 {
		t.Fatal("an old read position was recorded")
	}
	must(SetConvo(d, Convo{Kind: ConvoOneToOne, ID: bob, LastRead: 5}, now))
	if c, ok := ConvoFromData(d, Convo{Kind: ConvoOneToOne, ID: bob}); !ok || c.LastRead != 5 {
		t.Fatalf("%+v", c)
	}
	// Pruning drops what is old and read, but keeps groups and unread entries.
	PruneConvos(d, now)
	cs = ConvosFromData(d)
	if len(cs) != 3 || cs[0].Kind != ConvoGroup {
		t.Fatalf("after prune: %+v", cs)
	}
	PruneConvos(d, now.Add(50*24*time.Hour))
	if cs = ConvosFromData(d); len(cs) != 1 || cs[0].Kind != ConvoGroup {
		t.Fatalf("after late prune: %+v", cs)
	}
	if c, ok := ConvoFromData(d, Convo{Kind: ConvoCommunity, BaseURL: "https://example.org", Room: "LOBBY"}); ok {
		t.Fatalf("erased community still there: %+v", c)
	}
	if len(d.Dict("o")) != 0 {
		t.Fatal("server kept without rooms")
	}
	if !EraseConvo(d, cs[0]) || EraseConvo(d, cs[0]) || len(d) != 0 {
		t.Fatalf("%#v", d)
	}
}

func TestUserGroupsModels(t *testing.T) {
	d := Dict{}
	grp := NewAdminKey([32]byte{3})
	seed := grp.Seed()
	if err := SetUserGroup(d, UserGroup{PublicKey: grp.PublicKey(), Seed: seed[:], Name: "G", Removed: GroupKicked}); err != nil {
		t.Fatal(err)
	}
	id := grp.ID()
	if _, ok := d.Dict("g")[string(id[:])]; !ok {
		t.Fatal("not keyed by the 33-byte ID")
	}
	g, ok := UserGroupFromData(d, grp.PublicKey())
	if !ok || !g.Kicked() || g.Destroyed() || len(g.SecretKey()) != 64 || !bytes.Equal(g.SecretKey()[32:], id[1:]) {
		t.Fatalf("%+v", g)
	}
	// A seed that is not the group's is ignored when read.
	d.Dict("g").Dict(string(id[:]))["K"] = strings.Repeat("x", 32)
	if g, _ := UserGroupFromData(d, grp.PublicKey()); g.Seed != nil {
		t.Fatal("foreign seed read")
	}
	if !EraseUserGroup(d, grp.PublicKey()) || EraseUserGroup(d, grp.PublicKey()) {
		t.Fatal("erase")
	}
	if err := SetCommunity(d, UserCommunity{BaseURL: "https://example.org", Room: "Lobby", PubKey: [32]byte{1}}); err != nil {
		t.Fatal(err)
	}
	_ = SetCommunity(d, UserCommunity{BaseURL: "https://example.org", Room: "other", PubKey: [32]byte{1}})
	if SetCommunity(d, UserCommunity{BaseURL: "bad", Room: "x"}) == nil || SetCommunity(d, UserCommunity{BaseURL: "https://a.org", Room: "a b"}) == nil {
		t.Fatal("bad community accepted")
	}
	if cs := CommunitiesFromData(d); len(cs) != 2 || cs[0].Room != "Lobby" {
		t.Fatalf("%+v", cs)
	}
	if !EraseCommunity(d, "https://EXAMPLE.org", "lobby") || EraseCommunity(d, "https://example.org", "lobby") || !EraseCommunity(d, "https://example.org", "other") {
		t.Fatal("erase community")
	}
	if len(d) != 0 {
		t.Fatalf("left %#v", d)
	}
	member, admin := testKeys(t, 12).AccountID(), testKeys(t, 13).AccountID()
	lg := LegacyGroup{ID: testKeys(t, 14).AccountID(), Name: "L", EncPubKey: make([]byte, 32), EncSecKey: make([]byte, 32),
		Members: []LegacyMember{{ID: member}, {ID: admin, Admin: true}}, DisappearingTimer: 60}
	if err := SetLegacyGroup(d, lg); err != nil {
		t.Fatal(err)
	}
	ls := LegacyGroupsFromData(d)
	if len(ls) != 1 || ls[0].Name != "L" || len(ls[0].Members) != 2 || ls[0].DisappearingTimer != 60 {
		t.Fatalf("%+v", ls)
	}
	for _, m := range ls[0].Members {
		if m.Admin != (m.ID == admin) {
			t.Fatalf("%+v", m)
		}
	}
	if SetLegacyGroup(d, LegacyGroup{ID: grp.ID()}) == nil {
		t.Fatal("03 legacy group accepted")
	}
	if !EraseLegacyGroup(d, lg.ID) || len(LegacyGroupsFromData(d)) != 0 {
		t.Fatal("erase legacy")
	}
}

func TestContactFields(t *testing.T) {
	d := Dict{}
	id := testKeys(t, 12).AccountID()
	_ = SetContact(d, Contact{ID: id, Notifications: NotifyMentionsOnly, MuteUntil: 9, ExpirationMode: ExpireAfterRead, ExpirationTimer: 0})
	e := d.Dict("c").Dict(string(id[:]))
	if e.Int("@") != int64(NotifyAll) || e["e"] != nil || e["n"] != "" {
		t.Fatalf("%#v", e)
	}
	e["e"], e["E"], e["@"] = int64(7), int64(60), int64(9)
	c, _ := ContactFromData(d, id)
	if c.ExpirationMode != 0 || c.ExpirationTimer != 0 || c.Notifications != NotifyDefault || c.MuteUntil != 9 {
		t.Fatalf("%+v", c)
	}
	if !EraseContact(d, id) || EraseContact(d, id) {
		t.Fatal("erase")
	}
}

// TestBadConfigInput feeds a held config what the network might send: nothing that fails is
// kept, every failure is typed, and nothing held changes.
func TestBadConfigInput(t *testing.T) {
	me := testKeys(t, 11)
	held := openUC(t, me, DomainUserProfile)
	_ = held.Update(UserProfile{Name: "me", BlindedMsgRequests: -1}.Apply)
	v1 := pushConfirm(t, held, "v1")
	_ = held.Update(UserProfile{Name: "me2", BlindedMsgRequests: -1}.Apply)
	pushConfirm(t, held, "v2")
	before := held.Dump()

	seal := func(ser []byte) []byte {
		p, err := EncodeConfigPayload(ser, me.Seed(), DomainUserProfile, false)
		if err != nil {
			t.Fatal(err)
		}
		out, err := WrapUserConfig(me, DomainUserProfile, 1, p)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	deep := []byte("d1:#i9e1:&d1:a" + strings.Repeat("d1:a", 100) + "i1e" + strings.Repeat("e", 100) + "e1:<le1:=dee")
	zw, _ := zstd.NewWriter(nil)
	bomb := append([]byte{'z'}, zw.EncodeAll(append([]byte("d1:#i9e1:&d1:n"), bytes.Repeat([]byte("9"), 2_000_000)...), nil)...)
	bombCt, _ := EncryptConfig(append(make([]byte, ConfigPaddedSize(len(bomb), ConfigOverhead)-len(bomb)), bomb...), me.Seed(), DomainUserProfile)
	other := testKeys(t, 12)
	foreign, _ := WrapUserConfig(other, DomainUserProfile, 1, []byte("x"))
	// A config sealed to us by another account.
	forged := sealForMe(t, other, me)

	for name, tc := range map[string]struct {
		data []byte
		err  error
	}{
		"garbage":         {[]byte("garbage"), ErrDecrypt},
		"huge":            {make([]byte, MaxConfigSize+1), ErrTooLarge},
		"deeply nested":   {seal(deep), ErrMalformed},
		"bomb":            {bombCt, ErrTooLarge},
		"another account": {foreign, ErrDecrypt},
		"forged":          {forged, ErrForeign},
		"not a config":    {seal([]byte("d1:xi1ee")), ErrMalformed},
		"newer version":   {seal([]byte("d1:!i1e1:#i9e1:&de1:<le1:=dee")), ErrUnsupported},
	} {
		res, err := held.MergeStored([]ConfigInput{{Hash: name, Data: tc.data}})
		if !errors.Is(err, tc.err) || len(res.Accepted) != 0 || len(res.Rejected) != 1 || res.Changed {
			t.Errorf("%s: %v (%+v), want %v", name, err, res, tc.err)
		}
		if !bytes.Equal(held.Dump(), before) {
			t.Fatalf("%s changed the held state", name)
		}
	}
	// An older message we already include is accepted, reported stale, and changes nothing.
	res, err := held.MergeStored([]ConfigInput{{Hash: "v1", Data: v1}})
	if err != nil || len(res.Stale) != 1 || res.Changed || held.NeedsPush() {
		t.Fatalf("older: %+v %v", res, err)
	}
	if UserProfileFromData(held.Data()).Name != "me2" {
		t.Fatal("older message won")
	}
	// A good message among bad ones still merges.
	other2 := openUC(t, me, DomainUserProfile)
	if _, err := other2.MergeStored([]ConfigInput{{"x", []byte("bad")}, {"v1", v1}}); err != nil || UserProfileFromData(other2.Data()).Name != "me" {
		t.Fatal(err)
	}
}

// sealForMe makes a user config message that other sealed to me's account, as a forger
// would.
func sealForMe(t *testing.T, other, me *crypto.Keys) []byte {
	t.Helper()
	c := NewUserConfig()
	_ = c.Update(UserProfile{Name: "hijack"}.Apply)
	ser, _, _ := c.Push()
	p, _ := EncodeConfigPayload(ser, me.Seed(), DomainUserProfile, false)
	content := append(protoConfigContent(t, p), 0x80)
	sealed, err := crypto.EncryptForRecipientDeterministic(other, me.X25519PublicKey(), content)
	if err != nil {
		t.Fatal(err)
	}
	return wrapSealed(t, sealed)
}

func TestMergeKeepsUnpushedChanges(t *testing.T) {
	me := testKeys(t, 11)
	friend, other := testKeys(t, 12).AccountID(), testKeys(t, 13).AccountID()
	a, b := openUC(t, me, DomainContacts), openUC(t, me, DomainContacts)
	_ = a.Update(func(d Dict) { _ = SetContact(d, Contact{ID: friend, Name: "F"}) })
	fromA := pushConfirm(t, a, "a1")
	// B changes something before it hears of A's push.
	_ = b.Update(func(d Dict) { _ = SetContact(d, Contact{ID: other, Name: "O", Blocked: true}) })
	if _, err := b.MergeStored([]ConfigInput{{"a1", fromA}}); err != nil {
		t.Fatal(err)
	}
	cs := ContactsFromData(b.Data())
	if len(cs) != 2 || !b.NeedsPush() {
		t.Fatalf("%+v", cs)
	}
	p, _ := b.PrepareStore(time.Now())
	if fmt.Sprint(p.Obsolete) != "[a1]" {
		t.Fatalf("obsolete %v", p.Obsolete)
	}
	b.ConfirmPushed(p.Seqno, "b2")
	if _, err := a.MergeStored([]ConfigInput{{"b2", p.Data}}); err != nil {
		t.Fatal(err)
	}
	if len(ContactsFromData(a.Data())) != 2 || a.NeedsPush() || fmt.Sprint(a.CurrentHashes()) != "[b2]" {
		t.Fatal("A did not adopt B's merge")
	}
	// A stale confirmation is ignored.
	_ = a.Update(func(d Dict) { EraseContact(d, other) })
	a.ConfirmPushed(p.Seqno, "late")
	if !a.NeedsPush() {
		t.Fatal("confirmed an old seqno")
	}
}

func FuzzMergeStored(f *testing.F) {
	me := testKeys(f, 11)
	src := openUC(f, me, DomainContacts)
	_ = src.Update(func(d Dict) { _ = SetContact(d, Contact{ID: testKeys(f, 12).AccountID(), Name: "x", Approved: true}) })
	v1 := pushConfirm(f, src, "v1")
	_ = src.Update(func(d Dict) { _ = SetContact(d, Contact{ID: testKeys(f, 13).AccountID(), Name: "y"}) })
	v2 := pushConfirm(f, src, "v2")
	f.Add(v1)
	f.Add(v2)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		held, err := OpenUserConfig(me, DomainContacts, src.Dump())
		if err != nil {
			t.Fatal(err)
		}
		before := held.Dump()
		res, err := held.MergeStored([]ConfigInput{{Hash: "in", Data: data}})
		if err != nil || len(res.Accepted) == 0 {
			if err == nil || !bytes.Equal(held.Dump(), before) {
				t.Fatalf("rejected input changed the state (err %v)", err)
			}
			return
		}
		// Whatever was merged, the result pushes, reads back and parses on a new device.
		p, err := held.PrepareStore(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		fresh := openUC(t, me, DomainContacts)
		if _, err := fresh.MergeStored([]ConfigInput{{Hash: "p", Data: p.Data}}); err != nil {
			t.Fatalf("our push does not read back: %v", err)
		}
		_ = ContactsFromData(fresh.Data())
	})
}

// FuzzUserModels runs the typed readers on whatever data a parsed config may hold.
func FuzzUserModels(f *testing.F) {
	for _, s := range []string{
		"d1:#i1e1:&d1:cd33:\x05aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad1:ni1eeee1:<le1:=dee",
		"d1:#i1e1:&d1:od19:https://example.orgd1:#32:kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk1:Rd4:roomd1:n4:ROOMeeeee1:<le1:=dee",
		"d1:#i1e1:&d1:Cd33:\x05aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad1:ali1ee1:ml2:xxeeee1:<le1:=dee",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseConfigMessage(data, nil)
		if err != nil {
			return
		}
		d := m.Data
		_ = UserProfileFromData(d)
		for _, c := range ContactsFromData(d) {
			_ = SetContact(d.Clone(), c)
		}
		for _, c := range ConvosFromData(d) {
			_, _ = ConvoFromData(d, c)
			_ = EraseConvo(d.Clone(), c)
		}
		for _, g := range UserGroupsFromData(d) {
			_ = SetUserGroup(d.Clone(), g)
		}
		for _, c := range CommunitiesFromData(d) {
			_ = SetCommunity(d.Clone(), c)
		}
		for _, l := range LegacyGroupsFromData(d) {
			_ = SetLegacyGroup(d.Clone(), l)
		}
		PruneConvos(d.Clone(), time.Now())
	})
}

// BenchmarkConfigMerge merges two conflicting 500-contact configs: two devices of one account
// each change every contact from a common base, then one merges the other's push.
func BenchmarkConfigMerge(b *testing.B) {
	me := testKeys(b, 11)
	base := openUC(b, me, DomainContacts)
	ids := make([]crypto.AccountID, 500)
	_ = base.Update(func(d Dict) {
		for i := range ids {
			var pk [32]byte
			pk[0], pk[1] = byte(i), byte(i>>8)
			ids[i] = crypto.NewAccountID(crypto.PrefixStandard, pk)
			_ = SetContact(d, Contact{ID: ids[i], Name: fmt.Sprint("contact ", i), Approved: true, Created: 1_700_000_000})
		}
	})
	basePush := pushConfirm(b, base, "base")
	dev := func(name string, f func(c *Contact)) (*UserConfig, []byte) {
		u := openUC(b, me, DomainContacts)
		if _, err := u.MergeStored([]ConfigInput{{"base", basePush}}); err != nil {
			b.Fatal(err)
		}
		_ = u.Update(func(d Dict) {
			for _, c := range ContactsFromData(d) {
				f(&c)
				_ = SetContact(d, c)
			}
		})
		return u, pushConfirm(b, u, name)
	}
	a, _ := dev("a", func(c *Contact) { c.Nickname = "from A" })
	_, fromB := dev("b", func(c *Contact) { c.Priority = 1; c.Blocked = c.ID[1]%2 == 0 })
	dump := a.Dump()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u, err := OpenUserConfig(me, DomainContacts, dump)
		if err != nil {
			b.Fatal(err)
		}
		res, err := u.MergeStored([]ConfigInput{{"b", fromB}})
		if err != nil || !res.Changed {
			b.Fatal(err)
		}
		if _, err := u.PrepareStore(time.Unix(1_700_000_000, 0)); err != nil {
			b.Fatal(err)
		}
	}
}

func protoConfigContent(t *testing.T, payload []byte) []byte {
	t.Helper()
	b, err := proto.Marshal(&pb.Content{SharedConfigMessage: &pb.SharedConfigMessage{
		Kind: pb.SharedConfigMessage_USER_PROFILE.Enum(), Seqno: proto.Int64(1), Data: payload,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wrapSealed(t *testing.T, sealed []byte) []byte {
	t.Helper()
	env, err := proto.Marshal(&pb.Envelope{Type: pb.Envelope_SESSION_MESSAGE.Enum(), Timestamp: proto.Uint64(1), Content: sealed})
	if err != nil {
		t.Fatal(err)
	}
	out, err := proto.Marshal(&pb.WebSocketMessage{Type: pb.WebSocketMessage_REQUEST.Enum(),
		Request: &pb.WebSocketRequestMessage{Verb: proto.String(""), Path: proto.String(""), Body: env, RequestId: proto.Uint64(0)}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
