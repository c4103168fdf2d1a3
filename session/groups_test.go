package session

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/groups"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
	"github.com/sessiongo/sdk/swarm"
)

// These tests are in package session so that they can check, on the devnet's swarm, what the
// Client keeps to itself (a removed member's credentials and keys).

// gPeer is a Client of these tests with its memory store and the Recorder of its events.
type gPeer struct {
	*Client
	rec   *Recorder
	store *store.Memory
}

// gDevnet starts a devnet for t and returns the config of a client on it (onion paths).
func gDevnet(t testing.TB) NetworkConfig {
	t.Helper()
	return NetConfig(devnettest.Start(t), false)
}

// gNewPeer makes a peer on cfg named name, with a memory store.
func gNewPeer(t testing.TB, cfg NetworkConfig, name string, opts ...Option) *gPeer {
	t.Helper()
	st := store.NewMemory()
	c, rec := NewTestClient(t, append([]Option{WithNetworkConfig(cfg), WithStore(st), WithProfile(Profile{DisplayName: name})}, opts...)...)
	return &gPeer{Client: c, rec: rec, store: st}
}

// poll polls p once, unless its Run polls.
func (p *gPeer) poll(ctx context.Context) error {
	if p.running.Load() {
		return nil
	}
	return p.PollOnce(ctx)
}

// gWait waits for an event of type T satisfying ok on p (WaitEvent), polling p unless its Run
// polls, and returns it.
func gWait[T any](t testing.TB, p *gPeer, ok func(T) bool) T {
	t.Helper()
	return WaitEvent(t, p.rec, p.poll, ok)
}

// gCount counts p's events of type T satisfying ok (nil: all).
func gCount[T any](p *gPeer, ok func(T) bool) int { return CountEvents(p.rec, ok) }

func gText(group crypto.AccountID, from crypto.AccountID, text string) func(*GroupMessage) bool {
	return func(m *GroupMessage) bool { return m.Group == group && m.From == from && m.Text == text }
}

func gMember(g Group, id crypto.AccountID) (GroupMember, bool) {
	for _, m := range g.Members {
		if m.ID == id {
			return m, true
		}
	}
	return GroupMember{}, false
}

func gJoin(t testing.TB, p *gPeer, gid, admin crypto.AccountID, name string) {
	t.Helper()
	inv := gWait(t, p, func(e *GroupInvite) bool { return e.Group == gid })
	if inv.Name != name || inv.From != admin || inv.Promoted {
		t.Fatalf("invite %+v", inv)
	}
	g, err := p.Group(context.Background(), gid)
	if err != nil || g.Status != GroupStatusInvited {
		t.Fatalf("invited group %+v, %v", g, err)
	}
	if err := p.AcceptGroupInvite(context.Background(), gid); err != nil {
		t.Fatalf("accept: %v", err)
	}
	j := gWait(t, p, func(e *GroupJoined) bool { return e.Group.ID == gid })
	if j.Group.Status != GroupStatusJoined || j.Group.Generation < 0 || j.Group.Name != name {
		t.Fatalf("joined %+v", j.Group)
	}
}

func TestGroupsDevnet(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := gDevnet(t)
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	carol := gNewPeer(t, cfg, "Carol")
	dave := gNewPeer(t, cfg, "Dave")

	// Every step builds on the ones before: the scenario stops at the first that fails.
	step := func(name string, f func(t *testing.T)) {
		t.Helper()
		if !t.Run(name, f) {
			t.FailNow()
		}
	}
	var gid crypto.AccountID
	var ag, bg Group      // alice's and bob's views of the group
	var after *SendResult // alice's first message after the kick

	// Create with two members; both join.
	step("create and join", func(t *testing.T) {
		g, err := alice.CreateGroup(ctx, "Test group", bob.AccountID(), carol.AccountID())
		if err != nil {
			t.Fatal(err)
		}
		if g.ID.Prefix() != crypto.PrefixGroup || !g.Admin || g.Status != GroupStatusJoined || len(g.Members) != 3 || g.Generation != 0 {
			t.Fatalf("created %+v", g)
		}
		if m, _ := gMember(*g, bob.AccountID()); !m.Invited {
			t.Fatalf("bob's entry %+v", m)
		}
		gid = g.ID
		gJoin(t, bob, gid, alice.AccountID(), "Test group")
		gJoin(t, carol, gid, alice.AccountID(), "Test group")
		for _, p := range []*gPeer{bob, carol} {
			gWait(t, alice, func(e *GroupMemberChange) bool {
				return e.Group == gid && e.Kind == MemberJoined && slices.Equal(e.Members, []crypto.AccountID{p.AccountID()})
			})
		}
		ag, _ = alice.Group(ctx, gid)
		for _, p := range []*gPeer{bob, carol} {
			if m, ok := gMember(ag, p.AccountID()); !ok || m.Invited || m.Admin || m.Name == "" {
				t.Fatalf("alice's view of %s: %+v", p.AccountID(), m)
			}
		}
		bg, _ = bob.Group(ctx, gid)
		if bg.Name != "Test group" || bg.Admin || bg.Status != GroupStatusJoined || len(bg.Members) != 3 || bg.Generation != 0 {
			t.Fatalf("bob's view %+v", bg)
		}
	})

	step("exchange messages", func(t *testing.T) {
		if _, err := bob.SendGroupText(ctx, gid, "hi from bob"); err != nil {
			t.Fatal(err)
		}
		sent, err := alice.SendGroupText(ctx, gid, "hi from alice")
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []*gPeer{alice, carol} {
			m := gWait(t, p, gText(gid, bob.AccountID(), "hi from bob"))
			if m.Profile == nil || m.Profile.DisplayName != "Bob" {
				t.Fatalf("profile %+v", m.Profile)
			}
		}
		for _, p := range []*gPeer{bob, carol} {
			m := gWait(t, p, gText(gid, alice.AccountID(), "hi from alice"))
			if m.Hash != sent.Hash || !m.Timestamp.Equal(sent.Timestamp) {
				t.Fatalf("message %+v, sent %+v", m, sent)
			}
		}
		// Our own messages are not delivered back to us.
		if n := gCount(bob, gText(gid, bob.AccountID(), "hi from bob")); n != 0 {
			t.Fatalf("bob got his own message %d times", n)
		}
	})

	// The admin keeps the key messages and its configs from expiring.
	step("admin keeps keys and configs alive", func(t *testing.T) {
		ast0, err := alice.loadGroup(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		asig0, _ := alice.groupSigner(ast0)
		kept := append(ast0.keys.ActiveHashes(), ast0.rec.Pushed...)
		if len(kept) != 3 {
			t.Fatalf("hashes to keep: %v", kept)
		}
		if _, err := alice.net.rpc.Expire(ctx, asig0, swarm.ExpireRequest{Hashes: kept, Expiry: alice.net.Now().Add(time.Hour), Shorten: true}); err != nil {
			t.Fatal(err)
		}
		if err := alice.updateGroup(ctx, gid, func(st *groupState) error { st.rec.Extended = 0; return nil }); err != nil {
			t.Fatal(err)
		}
		if err := alice.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
		exp, err := alice.net.rpc.GetExpiries(ctx, asig0, swarm.GetExpiriesRequest{Hashes: kept})
		if err != nil || len(exp) != 3 {
			t.Fatalf("expiries %v, %v", exp, err)
		}
		for h, e := range exp {
			if e.Before(alice.net.Now().Add(29 * 24 * time.Hour)) {
				t.Fatalf("%s expires at %v", h, e)
			}
		}
		if err := alice.RemoveGroupMembers(ctx, gid, dave.AccountID()); err == nil {
			t.Fatal("removing a non-member succeeded")
		}
	})

	// Rename: members get the announcement and the new info.
	step("rename", func(t *testing.T) {
		desc := "a group for tests"
		if err := alice.SetGroupName(ctx, gid, "Renamed", &desc); err != nil {
			t.Fatal(err)
		}
		if err := bob.SetGroupName(ctx, gid, "Mine", nil); !errors.Is(err, ErrNotGroupAdmin) {
			t.Fatalf("rename by a member: %v", err)
		}
		for _, p := range []*gPeer{bob, carol} {
			gWait(t, p, func(e *GroupInfoChange) bool { return e.Name == "Renamed" && e.By == alice.AccountID() })
			gWait(t, p, func(e *GroupUpdated) bool { return e.Group.Name == "Renamed" && e.Group.Description == desc })
		}
	})

	// Invite a fourth member (rekey), who cannot read what was said before but reads what follows.
	step("invite a fourth member", func(t *testing.T) {
		if err := alice.InviteToGroup(ctx, gid, dave.AccountID()); err != nil {
			t.Fatal(err)
		}
		gJoin(t, dave, gid, alice.AccountID(), "Renamed")
		// Carol must have the new key before she writes (a member that has not polled since the
		// rekey writes with the old key, which the newcomer does not hold).
		for _, p := range []*gPeer{bob, carol} {
			gWait(t, p, func(e *GroupMemberChange) bool {
				return e.Kind == MembersAdded && slices.Equal(e.Members, []crypto.AccountID{dave.AccountID()}) && e.By == alice.AccountID()
			})
		}
		if _, err := carol.SendGroupText(ctx, gid, "welcome dave"); err != nil {
			t.Fatal(err)
		}
		gWait(t, dave, gText(gid, carol.AccountID(), "welcome dave"))
		if gCount(dave, gText(gid, alice.AccountID(), "hi from alice")) != 0 {
			t.Fatal("dave read a message from before he joined")
		}
	})

	step("kick with key rotation", func(t *testing.T) {
		before := ag.Generation
		if err := alice.RemoveGroupMembers(ctx, gid, carol.AccountID()); err != nil {
			t.Fatal(err)
		}
		gWait(t, bob, func(e *GroupMemberChange) bool {
			return e.Kind == MembersRemoved && slices.Equal(e.Members, []crypto.AccountID{carol.AccountID()})
		})
		gWait(t, carol, func(e *GroupRemoved) bool { return e.Group == gid && !e.Destroyed })
		cg, _ := carol.Group(ctx, gid)
		if cg.Status != GroupStatusRemoved {
			t.Fatalf("carol's status %v", cg.Status)
		}
		if _, err := carol.SendGroupText(ctx, gid, "still here?"); !errors.Is(err, ErrGroupRemoved) {
			t.Fatalf("carol sends after removal: %v", err)
		}
		var err error
		after, err = alice.SendGroupText(ctx, gid, "carol is gone")
		if err != nil {
			t.Fatal(err)
		}
		gWait(t, bob, gText(gid, alice.AccountID(), "carol is gone"))
		gWait(t, dave, gText(gid, alice.AccountID(), "carol is gone"))
		bg, _ = bob.Group(ctx, gid)
		if bg.Generation <= before {
			t.Fatalf("no rekey: generation %d then %d", before, bg.Generation)
		}
		if _, ok := gMember(bg, carol.AccountID()); ok {
			t.Fatal("carol still listed")
		}
	})

	// Carol's credentials are revoked (the swarm refuses them, except for the removal notices)
	// and her keys do not open what was sent after the kick.
	step("kicked member is revoked", func(t *testing.T) {
		cst, err := carol.loadGroup(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		csig, err := groups.NewSubaccountSigner(carol.keys, gid, *cst.auth)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := carol.net.rpc.Retrieve(ctx, csig, swarm.RetrieveRequest{Namespace: swarm.NamespaceGroupMessages}); !errors.Is(err, swarm.ErrUnauthorized) {
			t.Fatalf("revoked retrieve: %v", err)
		}
		if _, err := carol.net.rpc.Retrieve(ctx, csig, swarm.RetrieveRequest{Namespace: groups.NamespaceRevokedRetrievable}); err != nil {
			t.Fatalf("retrieve of the removal notices: %v", err)
		}
		ast, err := alice.loadGroup(ctx, gid)
		if err != nil {
			t.Fatal(err)
		}
		asig, _ := alice.groupSigner(ast)
		res, err := alice.net.rpc.Retrieve(ctx, asig, swarm.RetrieveRequest{Namespace: swarm.NamespaceGroupMessages})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, m := range res.Messages {
			if m.Hash != after.Hash {
				continue
			}
			found = true
			if _, err := cst.keys.DecryptMessage(m.Data); !errors.Is(err, groups.ErrDecrypt) {
				t.Fatalf("carol decrypts a message sent after her removal: %v", err)
			}
			if _, err := ast.keys.DecryptMessage(m.Data); err != nil {
				t.Fatalf("alice cannot decrypt it: %v", err)
			}
		}
		if !found {
			t.Fatal("message sent after the kick not in the swarm")
		}
	})

	// Promote bob; the promoted admin can kick.
	step("promote", func(t *testing.T) {
		if err := alice.PromoteGroupMember(ctx, gid, bob.AccountID()); err != nil {
			t.Fatal(err)
		}
		gWait(t, bob, func(e *GroupMemberChange) bool {
			return e.Kind == MembersPromoted && slices.Contains(e.Members, bob.AccountID()) && e.By == alice.AccountID()
		})
		gWait(t, dave, func(e *GroupMemberChange) bool { return e.Kind == MembersPromoted })
		bg, _ = bob.Group(ctx, gid)
		if !bg.Admin {
			t.Fatalf("bob not admin after promotion: %+v", bg)
		}
		if m, _ := gMember(bg, bob.AccountID()); !m.Admin || m.PromotionPending {
			t.Fatalf("bob's entry after taking the key: %+v", m)
		}
		if err := bob.RemoveGroupMembers(ctx, gid, dave.AccountID()); err != nil {
			t.Fatalf("promoted admin kicks: %v", err)
		}
		gWait(t, dave, func(e *GroupRemoved) bool { return e.Group == gid })
		gWait(t, alice, func(e *GroupMemberChange) bool {
			return e.Kind == MembersRemoved && e.By == bob.AccountID() && slices.Equal(e.Members, []crypto.AccountID{dave.AccountID()})
		})
		if _, err := bob.SendGroupText(ctx, gid, "just us"); err != nil {
			t.Fatal(err)
		}
		gWait(t, alice, gText(gid, bob.AccountID(), "just us"))
	})

	// State survives a restart: a new client on bob's store keeps the group and its keys.
	step("restart keeps the state", func(t *testing.T) {
		bob2, err := NewClient(WithKeys(bob.keys), WithStore(bob.store), WithNetworkConfig(cfg))
		if err != nil {
			t.Fatal(err)
		}
		defer bob2.Close()
		if gs, err := bob2.Groups(ctx); err != nil || len(gs) != 1 || gs[0].ID != gid || !gs[0].Admin {
			t.Fatalf("groups after restart: %+v, %v", gs, err)
		}
	})

	// Bob leaves: alice hears it and, as admin, removes him.
	step("leave", func(t *testing.T) {
		if err := bob.LeaveGroup(ctx, gid); err != nil {
			t.Fatal(err)
		}
		if _, err := bob.Group(ctx, gid); !errors.Is(err, ErrUnknownGroup) {
			t.Fatalf("bob still has the group: %v", err)
		}
		gWait(t, alice, func(e *GroupMemberChange) bool {
			return e.Kind == MemberLeft && slices.Equal(e.Members, []crypto.AccountID{bob.AccountID()})
		})
		ag, _ = alice.Group(ctx, gid)
		if _, ok := gMember(ag, bob.AccountID()); ok || len(ag.Members) != 1 {
			t.Fatalf("members after bob left: %+v", ag.Members)
		}
	})

	// Nothing was undecryptable for the members that stayed, apart from what predates them.
	step("nothing undecryptable", func(t *testing.T) {
		for _, p := range []*gPeer{alice, bob} {
			for _, e := range p.rec.Events() {
				if u, ok := e.(*UndecryptableGroupMessage); ok {
					t.Errorf("%s: undecryptable %+v", p.AccountID(), u)
				}
			}
		}
	})
}

func TestGroupsDeleteAndRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := gDevnet(t)
	alice := gNewPeer(t, cfg, "Alice", WithPollInterval(100*time.Millisecond))
	bob := gNewPeer(t, cfg, "Bob", WithPollInterval(100*time.Millisecond))

	g, err := alice.CreateGroup(ctx, "Doomed", bob.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	// Bob runs: the invite arrives through Run and he accepts from the handler; the group is
	// then polled by Run's group poller.
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	bob.AddEventHandler(func(evt Event) {
		if inv, ok := evt.(*GroupInvite); ok {
			if err := bob.AcceptGroupInvite(ctx, inv.Group); err != nil {
				t.Errorf("accept: %v", err)
			}
		}
	})
	go func() {
		defer wg.Done()
		if err := bob.Run(runCtx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	defer func() {
		cancel()
		wg.Wait()
	}()
	gWait(t, alice, func(e *GroupMemberChange) bool { return e.Kind == MemberJoined })
	if _, err := alice.SendGroupText(ctx, g.ID, "bye"); err != nil {
		t.Fatal(err)
	}
	gWait(t, bob, func(m *GroupMessage) bool { return m.Text == "bye" })
	if err := alice.DeleteGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	gWait(t, bob, func(r *GroupRemoved) bool { return r.Destroyed && r.Group == g.ID })
	if gs, _ := alice.Groups(ctx); len(gs) != 0 {
		t.Fatalf("alice still lists %+v", gs)
	}
	bg, _ := bob.Group(ctx, g.ID)
	if bg.Status != GroupStatusDestroyed {
		t.Fatalf("bob's status %v", bg.Status)
	}
}

// TestGroupsBadInput has a member (whose token may store anywhere in the group's swarm, as the
// storage server allows) write forged keys, configs and messages, and forge an invite: the
// others report each as UndecryptableGroupMessage, apply none of it, and keep working.
func TestGroupsBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := gDevnet(t)
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	carol := gNewPeer(t, cfg, "Carol")
	g, err := alice.CreateGroup(ctx, "Target", bob.AccountID(), carol.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gid := g.ID
	gJoin(t, bob, gid, alice.AccountID(), "Target")
	gJoin(t, carol, gid, alice.AccountID(), "Target")
	gWait(t, alice, func(e *GroupMemberChange) bool { return e.Kind == MemberJoined && e.Members[0] == carol.AccountID() })

	bst, err := bob.loadGroup(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	bsig, err := bob.groupSigner(bst)
	if err != nil {
		t.Fatal(err)
	}
	put := func(ns swarm.Namespace, data []byte) string {
		t.Helper()
		res, err := bob.storeInGroup(ctx, bst, bsig, ns, data, time.Hour, bob.msNow())
		if err != nil {
			t.Fatalf("store in %d: %v", ns, err)
		}
		return res.Hash
	}
	forger, _ := groups.GenerateAdminKey(rand.Reader)
	var forged []string
	// A key message signed by another key.
	fakeKeys, _, err := groups.BuildRekeyMessage(forger, []crypto.AccountID{alice.AccountID(), bob.AccountID(), carol.AccountID()}, 5)
	if err != nil {
		t.Fatal(err)
	}
	forged = append(forged, put(swarm.NamespaceGroupKeys, fakeKeys))
	// An Info config encrypted with the real key but signed by another one.
	fakeInfo, _ := groups.NewGroupConfig(forger.PublicKey(), forger)
	_ = fakeInfo.Update(func(d groups.Dict) { groups.Info{Name: "Hijacked"}.Apply(d) })
	ser, _, _ := fakeInfo.Push()
	key, _ := bst.keys.EncryptionKey()
	payload, _ := groups.EncodeConfigPayload(ser, key, groups.DomainGroupInfo, true)
	forged = append(forged, put(swarm.NamespaceGroupInfo, payload))
	// A truncated Members config and random bytes.
	forged = append(forged, put(swarm.NamespaceGroupMembers, payload[:len(payload)/2]))
	// Messages: random bytes, a well-encrypted non-protobuf, a member change with a bad signature.
	forged = append(forged, put(swarm.NamespaceGroupMessages, []byte("not a group message at all, just bytes")))
	junk, _ := bst.keys.EncryptMessage([]byte{0xff, 0xff, 0xff, 0x01})
	forged = append(forged, put(swarm.NamespaceGroupMessages, junk))
	if _, err := bob.sendGroupBuilt(ctx, bst, time.Hour, func(ts int64) *pb.Content {
		sig := forger.Sign(groups.MemberChangeSigningMessage(2, ts))
		return &pb.Content{DataMessage: &pb.DataMessage{GroupUpdateMessage: &pb.GroupUpdateMessage{
			MemberChangeMessage: &pb.GroupUpdateMemberChangeMessage{Type: pb.GroupUpdateMemberChangeMessage_REMOVED.Enum(),
				MemberSessionIds: []string{carol.AccountID().String()}, AdminSignature: sig[:]}}}}
	}); err != nil {
		t.Fatal(err)
	}
	// A 1:1 invite to carol into a group bob does not own, with a signature by another key.
	auth, _ := forger.SubaccountAuth(carol.AccountID(), groups.SubaccountFlags(true, false))
	at := bob.msNow()
	sig := forger.Sign(groups.InviteSigningMessage(carol.AccountID(), at.UnixMilli()))
	if err := bob.sendDirectGroupUpdate(ctx, carol.AccountID(), &pb.GroupUpdateMessage{InviteMessage: &pb.GroupUpdateInviteMessage{
		GroupSessionId: proto.String(gid.String()), Name: proto.String("fake"), MemberAuthData: auth[:], AdminSignature: sig[:]}}, at); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SendGroupText(ctx, gid, "still fine"); err != nil {
		t.Fatal(err)
	}

	for _, p := range []*gPeer{alice, carol} {
		gWait(t, p, gText(gid, bob.AccountID(), "still fine"))
		for _, h := range forged {
			u := gWait(t, p, func(e *UndecryptableGroupMessage) bool { return e.Hash == h })
			if u.Group != gid || u.Err == nil {
				t.Fatalf("undecryptable %+v", u)
			}
		}
		gWait(t, p, func(e *UndecryptableGroupMessage) bool {
			return errors.Is(e.Err, ErrInvalidGroupUpdate) && e.Namespace == 11
		})
		if n := gCount(p, func(e *GroupMemberChange) bool { return e.Kind == MembersRemoved }); n != 0 {
			t.Fatal("forged removal accepted")
		}
		pg, _ := p.Group(ctx, gid)
		if pg.Name != "Target" || pg.Generation != 0 || len(pg.Members) != 3 || pg.Status != GroupStatusJoined {
			t.Fatalf("state changed by forged data: %+v", pg)
		}
	}
	gWait(t, carol, func(e *UndecryptableGroupMessage) bool {
		return errors.Is(e.Err, ErrInvalidGroupUpdate) && e.Namespace == 0
	})
	if n := gCount(carol, func(e *GroupInvite) bool { return e.Name == "fake" }); n != 0 {
		t.Fatal("forged invite accepted")
	}
	// The admin still rekeys and everyone follows.
	if err := alice.RemoveGroupMembers(ctx, gid, carol.AccountID()); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendGroupText(ctx, gid, "after"); err != nil {
		t.Fatal(err)
	}
	gWait(t, bob, gText(gid, alice.AccountID(), "after"))
}

// BenchmarkGroupSendReceive measures one group message from a member's send to another
// member's poll that delivers it, on a devnet through onion paths.
func BenchmarkGroupSendReceive(b *testing.B) {
	ctx := context.Background()
	cfg := gDevnet(b)
	alice := gNewPeer(b, cfg, "Alice")
	bob := gNewPeer(b, cfg, "Bob")
	g, err := alice.CreateGroup(ctx, "Bench", bob.AccountID())
	if err != nil {
		b.Fatal(err)
	}
	gJoin(b, bob, g.ID, alice.AccountID(), "Bench")
	for i := 0; b.Loop(); i++ {
		text := fmt.Sprintf("m%d", i)
		if _, err := alice.SendGroupText(ctx, g.ID, text); err != nil {
			b.Fatal(err)
		}
		gWait(b, bob, gText(g.ID, alice.AccountID(), text))
	}
}

// Polls of one group from several goroutines deliver each message once.
func TestGroupsConcurrentPolls(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := gDevnet(t)
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	g, err := alice.CreateGroup(ctx, "Busy", bob.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gJoin(t, bob, g.ID, alice.AccountID(), "Busy")
	const n = 20
	for i := range n {
		if _, err := alice.SendGroupText(ctx, g.ID, fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	count := func() map[string]int {
		c := map[string]int{}
		for _, e := range bob.rec.Events() {
			if m, ok := e.(*GroupMessage); ok {
				c[m.Text]++
			}
		}
		return c
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			deadline := time.Now().Add(20 * time.Second)
			for len(count()) < n && time.Now().Before(deadline) {
				_ = bob.PollOnce(ctx)
			}
		}()
	}
	wg.Wait()
	got := count()
	if len(got) != n {
		t.Fatalf("%d of %d messages", len(got), n)
	}
	for text, k := range got {
		if k != 1 {
			t.Fatalf("%s delivered %d times", text, k)
		}
	}
}

// A group message fetched but not handled before a crash is delivered after the restart, once,
// and the group's state survives in a SQLite store.
func TestGroupsRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := gDevnet(t)
	alice := gNewPeer(t, cfg, "Alice")
	path := t.TempDir() + "/bob.db"
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	bobKeys := gKeys(t, "bob's 16 bytes!!")
	bob, err := NewClient(WithKeys(bobKeys), WithStore(db), WithNetworkConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	brec := &Recorder{}
	bob.AddEventHandler(brec.Handle)
	bp := &gPeer{Client: bob, rec: brec}
	g, err := alice.CreateGroup(ctx, "Durable", bob.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gJoin(t, bp, g.ID, alice.AccountID(), "Durable")
	if _, err := alice.SendGroupText(ctx, g.ID, "before the crash"); err != nil {
		t.Fatal(err)
	}
	// Fetch without handling, then "crash".
	st, err := bob.loadGroup(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := bob.groupSigner(st)
	if err := bob.pollGroupNamespace(ctx, bob.groupInbox(g.ID), g.ID, signer, swarm.NamespaceGroupMessages); err != nil {
		t.Fatal(err)
	}
	bob.Close()
	db.Close()

	db2, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	bob2, err := NewClient(WithStore(db2), WithNetworkConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer bob2.Close()
	rec2 := &Recorder{}
	bob2.AddEventHandler(rec2.Handle)
	bp2 := &gPeer{Client: bob2, rec: rec2}
	gWait(t, bp2, gText(g.ID, alice.AccountID(), "before the crash"))
	if _, err := bob2.SendGroupText(ctx, g.ID, "back"); err != nil {
		t.Fatal(err)
	}
	gWait(t, alice, gText(g.ID, bob2.AccountID(), "back"))
	for range 3 {
		if err := bob2.PollOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := gCount(bp2, gText(g.ID, alice.AccountID(), "before the crash")); n != 1 {
		t.Fatalf("delivered %d times", n)
	}
	if gs, err := bob2.Groups(ctx); err != nil || len(gs) != 1 || gs[0].Status != GroupStatusJoined || gs[0].Admin {
		t.Fatalf("groups %+v, %v", gs, err)
	}
}
