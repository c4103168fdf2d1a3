package session

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// Tests without a network: a member's handling of what its group's swarm returns, and of 1:1
// invitations.

type gLocalGroup struct {
	admin     *groups.AdminKey
	adminUser *crypto.Keys
	adminKeys *groups.Keys
	member    *Client
	rec       *Recorder
	st        *groupState
}

func gKeys(t testing.TB, seed string) *crypto.Keys {
	k, err := crypto.KeysFromSeed([]byte(seed))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// gLocal makes a group (admin side) and a member Client that joined it (no key loaded yet).
func gLocal(t testing.TB) *gLocalGroup {
	var seed [32]byte
	copy(seed[:], "a fixed group seed for the tests")
	l := &gLocalGroup{admin: groups.NewAdminKey(seed), adminUser: gKeys(t, "admin's 16 bytes")}
	var err error
	if l.adminKeys, err = groups.NewKeys(l.adminUser, l.admin.PublicKey(), l.admin); err != nil {
		t.Fatal(err)
	}
	mk := gKeys(t, "member 16 bytes!")
	if l.member, err = NewClient(WithKeys(mk)); err != nil {
		t.Fatal(err)
	}
	l.rec = &Recorder{}
	l.member.AddEventHandler(l.rec.Handle)
	auth, err := l.admin.SubaccountAuth(mk.AccountID(), groups.SubaccountFlags(true, false))
	if err != nil {
		t.Fatal(err)
	}
	if l.st, err = l.member.restoreGroup(groupRecord{ID: l.admin.ID().String(), Status: GroupStatusJoined, Auth: auth[:]}); err != nil {
		t.Fatal(err)
	}
	return l
}

func (l *gLocalGroup) members() []crypto.AccountID {
	return []crypto.AccountID{l.adminUser.AccountID(), l.member.AccountID()}
}

func (l *gLocalGroup) handle(ns swarm.Namespace, hash string, data []byte) []Event {
	return l.member.handleGroupIncoming(context.Background(), l.st, store.Incoming{Hash: hash, Namespace: int16(ns), Data: data})
}

// A config encrypted with a key whose key message arrives later is applied when it does.
func TestGroupConfigBeforeItsKey(t *testing.T) {
	l := gLocal(t)
	msg0, err := l.adminKeys.Rekey(l.members())
	if err != nil {
		t.Fatal(err)
	}
	if evts := l.handle(swarm.NamespaceGroupKeys, "k0", msg0); len(evts) != 0 {
		t.Fatalf("key message events %v", evts)
	}
	if _, err := l.adminKeys.LoadKeyMessage("k0", msg0, 1); err != nil {
		t.Fatal(err)
	}
	msg1, err := l.adminKeys.Rekey(l.members())
	if err != nil {
		t.Fatal(err)
	}
	info, _ := groups.NewGroupConfig(l.admin.PublicKey(), l.admin)
	_ = info.Update(func(d groups.Dict) { groups.Info{Name: "Renamed"}.Apply(d) })
	ser, _, _ := info.Push()
	key, _ := l.adminKeys.EncryptionKey() // generation 1, which the member does not hold yet
	payload, _ := groups.EncodeConfigPayload(ser, key, groups.DomainGroupInfo, true)

	evts := l.handle(swarm.NamespaceGroupInfo, "i1", payload)
	if len(evts) != 1 {
		t.Fatalf("events %v", evts)
	}
	if u, ok := evts[0].(*UndecryptableGroupMessage); !ok || !errors.Is(u.Err, groups.ErrDecrypt) {
		t.Fatalf("event %+v", evts[0])
	}
	evts = l.handle(swarm.NamespaceGroupKeys, "k1", msg1)
	if len(evts) != 1 {
		t.Fatalf("events after the key %v", evts)
	}
	if u, ok := evts[0].(*GroupUpdated); !ok || u.Group.Name != "Renamed" || u.Group.Generation != 1 {
		t.Fatalf("event %+v", evts[0])
	}
	if len(l.st.rec.Retry) != 0 {
		t.Fatalf("retry queue %d", len(l.st.rec.Retry))
	}
}

func gInvite(l *gLocalGroup, to crypto.AccountID, ts uint64) *pb.GroupUpdateMessage {
	auth, _ := l.admin.SubaccountAuth(to, groups.SubaccountFlags(true, false))
	sig := l.admin.Sign(groups.InviteSigningMessage(to, int64(ts)))
	return &pb.GroupUpdateMessage{InviteMessage: &pb.GroupUpdateInviteMessage{GroupSessionId: proto.String(l.admin.ID().String()),
		Name: proto.String("Club"), MemberAuthData: auth[:], AdminSignature: sig[:]}}
}

func TestGroupInviteChecks(t *testing.T) {
	ctx := context.Background()
	l := gLocal(t)
	c := l.member
	holdLease(t, c)
	in := func(gu *pb.GroupUpdateMessage, ts uint64) *Incoming {
		return &Incoming{Sender: l.adminUser.AccountID(), Timestamp: ts, Content: &pb.Content{DataMessage: &pb.DataMessage{GroupUpdateMessage: gu}}}
	}
	other := gKeys(t, "someone else 16b").AccountID()
	bad := []struct {
		name string
		gu   *pb.GroupUpdateMessage
		ts   uint64
	}{
		{"timestamp", gInvite(l, c.AccountID(), 1000), 1001},
		{"invitee", gInvite(l, other, 1000), 1000},
		{"group id", func() *pb.GroupUpdateMessage {
			g := gInvite(l, c.AccountID(), 1000)
			g.InviteMessage.GroupSessionId = proto.String("05" + l.admin.ID().String()[2:])
			return g
		}(), 1000},
		{"short auth", func() *pb.GroupUpdateMessage {
			g := gInvite(l, c.AccountID(), 1000)
			g.InviteMessage.MemberAuthData = g.InviteMessage.MemberAuthData[:99]
			return g
		}(), 1000},
		{"promote seed", &pb.GroupUpdateMessage{PromoteMessage: &pb.GroupUpdatePromoteMessage{GroupIdentitySeed: []byte("short"), Name: proto.String("x")}}, 1000},
	}
	for _, b := range bad {
		n := len(l.rec.Events())
		if h, _ := c.handleGroupUpdate(ctx, in(b.gu, b.ts), "h-"+b.name); !h {
			t.Fatalf("%s: not handled", b.name)
		}
		evts := l.rec.Events()[n:]
		if len(evts) != 1 {
			t.Fatalf("%s: events %v", b.name, evts)
		}
		if u, ok := evts[0].(*UndecryptableGroupMessage); !ok || !errors.Is(u.Err, ErrInvalidGroupUpdate) {
			t.Fatalf("%s: event %+v", b.name, evts[0])
		}
	}
	if gs, _ := c.Groups(ctx); len(gs) != 0 {
		t.Fatalf("groups after bad invites: %+v", gs)
	}
	if h, _ := c.handleGroupUpdate(ctx, in(gInvite(l, c.AccountID(), 1000), 1000), "good"); !h {
		t.Fatal("invite not handled")
	}
	evts := l.rec.Events()
	if inv, ok := evts[len(evts)-1].(*GroupInvite); !ok || inv.Group != l.admin.ID() || inv.Name != "Club" || inv.From != l.adminUser.AccountID() {
		t.Fatalf("invite event %+v", evts[len(evts)-1])
	}
	g, err := c.Group(ctx, l.admin.ID())
	if err != nil || g.Status != GroupStatusInvited || g.InvitedBy != l.adminUser.AccountID() || g.Admin {
		t.Fatalf("group %+v, %v", g, err)
	}
	if _, err := c.SendGroupText(ctx, l.admin.ID(), "x"); !errors.Is(err, ErrGroupNotJoined) {
		t.Fatalf("send before accepting: %v", err)
	}
	if err := c.RemoveGroupMembers(ctx, l.admin.ID(), other); !errors.Is(err, ErrNotGroupAdmin) {
		t.Fatalf("kick as a member: %v", err)
	}
	if _, err := c.Group(ctx, gKeys(t, "no such group 16").AccountID()); !errors.Is(err, ErrUnknownGroup) {
		t.Fatalf("unknown group: %v", err)
	}
	// Other group updates sent 1:1 are not ours to handle.
	if h, _ := c.handleGroupUpdate(ctx, in(&pb.GroupUpdateMessage{InviteResponse: &pb.GroupUpdateInviteResponseMessage{IsApproved: proto.Bool(true)}}, 1), "r"); h {
		t.Fatal("1:1 invite response handled")
	}
}

// FuzzGroupIncoming feeds a member's handling of its group's namespaces arbitrary data, raw or
// correctly encrypted with the group key (so that what follows decryption is reached).
func FuzzGroupIncoming(f *testing.F) {
	l := gLocal(f)
	msg0, err := l.adminKeys.Rekey(l.members())
	if err != nil {
		f.Fatal(err)
	}
	l.handle(swarm.NamespaceGroupKeys, "k0", msg0)
	base := l.st.rec
	base.Keys, base.Info, base.Members = l.st.keys.Dump(), l.st.info.Dump(), l.st.members.Dump()
	key, _ := l.st.keys.EncryptionKey()
	env, _ := proto.Marshal(&pb.Envelope{Type: pb.Envelope_CLOSED_GROUP_MESSAGE.Enum(), Timestamp: proto.Uint64(5),
		Content: func() []byte {
			b, _ := proto.Marshal(&pb.Content{DataMessage: &pb.DataMessage{Body: proto.String("hi")}})
			return b
		}()})
	f.Add(byte(3), byte(1), env)
	f.Add(byte(0), byte(0), msg0)
	f.Add(byte(1), byte(2), []byte("d1:#i1e1:&d1:n4:namee1:<le1:=d1:n0:ee"))
	f.Add(byte(4), byte(0), []byte("d1:#24:aaaaaaaaaaaaaaaaaaaaaaaa1:eleee"))
	nss := []swarm.Namespace{swarm.NamespaceGroupKeys, swarm.NamespaceGroupInfo, swarm.NamespaceGroupMembers,
		swarm.NamespaceGroupMessages, groups.NamespaceRevokedRetrievable}
	f.Fuzz(func(t *testing.T, nsSel, wrap byte, data []byte) {
		st, err := l.member.restoreGroup(base)
		if err != nil {
			t.Fatal(err)
		}
		l.st = st
		ns := nss[int(nsSel)%len(nss)]
		switch wrap % 3 {
		case 1:
			if enc, err := l.adminKeys.EncryptMessage(data); err == nil {
				data = enc
			}
		case 2:
			domain := groups.DomainGroupInfo
			if ns == swarm.NamespaceGroupMembers {
				domain = groups.DomainGroupMembers
			}
			if enc, err := groups.EncodeConfigPayload(data, key, domain, false); err == nil {
				data = enc
			}
		}
		for _, e := range l.handle(ns, "h", data) {
			if u, ok := e.(*UndecryptableGroupMessage); ok && u.Err == nil {
				t.Fatal("undecryptable without a reason")
			}
		}
	})
}

// FuzzGroupUpdate feeds the 1:1 group update handling (invites, promotions) arbitrary messages.
func FuzzGroupUpdate(f *testing.F) {
	l := gLocal(f)
	good, _ := proto.Marshal(gInvite(l, l.member.AccountID(), 77))
	seed := l.admin.Seed()
	promote, _ := proto.Marshal(&pb.GroupUpdateMessage{PromoteMessage: &pb.GroupUpdatePromoteMessage{GroupIdentitySeed: seed[:], Name: proto.String("n")}})
	f.Add(good, uint64(77))
	f.Add(promote, uint64(1))
	f.Fuzz(func(t *testing.T, data []byte, ts uint64) {
		var gu pb.GroupUpdateMessage
		if proto.Unmarshal(data, &gu) != nil {
			return
		}
		in := &Incoming{Sender: l.adminUser.AccountID(), Timestamp: ts, Content: &pb.Content{DataMessage: &pb.DataMessage{GroupUpdateMessage: &gu}}}
		l.member.handleGroupUpdate(context.Background(), in, "h")
	})
}

// A key message that opens the configs kept for it is one message with the events of each: two
// info configs that cleared the history, and the members, give three GroupUpdated and two
// GroupHistoryCleared. A handler failing on both kinds has them given up after MaxDeliveries
// rounds, in the same round: events of one kind in one message would share one failure count,
// counted twice in a round (and restarting at every give-up), so that the kinds were never both
// given up in one round and the message came back for ever.
func TestGroupStateEventsOfOneKeyMessageGivenUp(t *testing.T) {
	ctx := context.Background()
	l := gLocal(t)
	c := l.member
	holdLease(t, c)
	const max = 3
	c.cfg.maxDeliveries = max
	c.AddEventHandlerE(func(_ context.Context, evt Event) error {
		switch evt.(type) {
		case *GroupUpdated, *GroupHistoryCleared:
			return errors.New("handler down")
		}
		return nil
	})
	msg0, err := l.adminKeys.Rekey(l.members())
	if err != nil {
		t.Fatal(err)
	}
	l.handle(swarm.NamespaceGroupKeys, "k0", msg0)
	if _, err := l.adminKeys.LoadKeyMessage("k0", msg0, 1); err != nil {
		t.Fatal(err)
	}
	msg1, err := l.adminKeys.Rekey(l.members())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := l.adminKeys.EncryptionKey() // generation 1, which the member does not hold yet
	keep := func(ns swarm.Namespace, hash string, cfg *groups.Config, domain string) {
		ser, _, _ := cfg.Push()
		payload, _ := groups.EncodeConfigPayload(ser, key, domain, true)
		l.handle(ns, hash, payload) // kept until its key comes
	}
	info, _ := groups.NewGroupConfig(l.admin.PublicKey(), l.admin)
	cleared := time.Now().Add(-time.Minute).Truncate(time.Second)
	for i, at := range []time.Time{cleared.Add(-time.Minute), cleared} {
		_ = info.Update(func(d groups.Dict) { groups.Info{Name: "Renamed", DeleteBefore: at.Unix()}.Apply(d) })
		keep(swarm.NamespaceGroupInfo, fmt.Sprintf("i%d", i), info, groups.DomainGroupInfo)
	}
	members, _ := groups.NewGroupConfig(l.admin.PublicKey(), l.admin)
	_ = members.Update(func(d groups.Dict) {
		for _, id := range l.members() {
			_ = groups.SetMember(d, groups.Member{ID: id})
		}
	})
	keep(swarm.NamespaceGroupMembers, "m1", members, groups.DomainGroupMembers)
	if len(l.st.rec.Retry) != 3 {
		t.Fatalf("retry queue %d", len(l.st.rec.Retry))
	}
	if err := c.saveGroup(ctx, l.st); err != nil {
		t.Fatal(err)
	}
	gid, inbox := l.admin.ID(), c.groupInbox(l.admin.ID())
	now := time.Now()
	if _, err := c.store.SaveRetrieved(ctx, store.Cursor{Account: inbox, Swarm: gid, Namespace: int16(swarm.NamespaceGroupKeys)},
		[]store.Incoming{{Hash: "k1", Namespace: int16(swarm.NamespaceGroupKeys), Data: msg1, Timestamp: now, Expiry: now.Add(time.Hour)}}, "k1"); err != nil {
		t.Fatal(err)
	}
	rounds := 0
	for ; rounds < 4*max; rounds++ {
		p, err := c.store.Pending(ctx, inbox)
		if err != nil {
			t.Fatal(err)
		}
		if len(p) == 0 {
			break
		}
		if err := c.handleGroupPending(ctx, gid, inbox); err != nil {
			t.Fatal(err)
		}
	}
	if rounds != max {
		t.Fatalf("the key message was handled after %d rounds, want %d (its deliveries):%s", rounds, max, l.rec)
	}
	if n := CountEvents(l.rec, func(e *GroupUpdated) bool { return e.Group.Name == "Renamed" && len(e.Group.Members) == 2 }); n != max {
		t.Fatalf("GroupUpdated (the group as it is now) delivered %d times, want %d:%s", n, max, l.rec)
	}
	if n := CountEvents(l.rec, func(e *GroupHistoryCleared) bool { return e.Before.Equal(cleared) }); n != max {
		t.Fatalf("GroupHistoryCleared (the latest) delivered %d times, want %d:%s", n, max, l.rec)
	}
	if n := CountEvents(l.rec, func(d *DeadLetter) bool { return true }); n != 2 {
		t.Fatalf("%d dead letters, want 2 (one of each kind):%s", n, l.rec)
	}
	st, err := c.loadGroup(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.rec.Undelivered) != 0 {
		t.Fatalf("kept after delivery: %+v", st.rec.Undelivered)
	}
}
