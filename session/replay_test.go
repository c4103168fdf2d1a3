package session

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/store"
)

// Replays by a malicious node: every member of the swarm claims each message expires now and
// serves everything again from the start, whatever last hash the client gives (devnet faults
// ExpiryNow and IgnoreLastHash). The claimed expiry must not shorten the store's record of the
// message (3 days later the record is still there, so the message is not new again), and once
// any record may be gone (MaxMessageTTL + PruneMargin later) the message, saved again then, was
// too old to be anything but a replay when it was saved: dropped, reported, not delivered. A
// message that merely waited, pending, through a long outage is delivered.

// replayLater moves p's clock to after the message's delivery and prunes its store then, as
// the hourly prune of a Client running at that time does.
func replayLater(t *testing.T, p *gPeer, offset *atomic.Int64, d time.Duration) {
	t.Helper()
	offset.Store(int64(d))
	if err := p.store.Prune(context.Background(), time.Now().Add(d)); err != nil {
		t.Fatal(err)
	}
}

// replayPeers starts a devnet of five nodes (seed) with a peer named sender and one named
// clocked whose clock (and its store's) runs offset ahead.
func replayPeers(t *testing.T, seed uint64, sender, clocked string) (dn *devnet.Network, s, c *gPeer, offset *atomic.Int64) {
	t.Helper()
	dn = devnettest.Start(t, devnet.WithNodes(5), devnet.WithSeed(seed))
	cfg := NetConfig(dn, true)
	offset = new(atomic.Int64)
	return dn, gNewPeer(t, cfg, sender), clockedPeer(t, cfg, clocked, offset), offset
}

// clockedPeer is gNewPeer whose clock, and its store's, run offset ahead of the local one:
// the store says it saved what it saves offset later than it did (shiftStore).
func clockedPeer(t *testing.T, cfg NetworkConfig, name string, offset *atomic.Int64) *gPeer {
	t.Helper()
	st := store.NewMemory()
	c, rec := NewTestClient(t, WithNetworkConfig(cfg), WithStore(shiftStore{st, offset}), WithProfile(Profile{DisplayName: name}))
	p := &gPeer{Client: c, rec: rec, store: st}
	p.clock = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	return p
}

// shiftStore is a store whose clock runs shift ahead: Pending reports records saved that much
// later (the messages re-served after the clock moved are saved "then").
type shiftStore struct {
	*store.Memory
	shift *atomic.Int64
}

func (s shiftStore) Pending(ctx context.Context, a crypto.AccountID) ([]store.Incoming, error) {
	p, err := s.Memory.Pending(ctx, a)
	for i := range p {
		p[i].Saved = p[i].Saved.Add(time.Duration(s.shift.Load()))
	}
	return p, err
}

func hostileSwarm(dn *devnet.Network, id crypto.AccountID) {
	_, members := dn.SwarmFor(id)
	for _, m := range members {
		m.SetFaults(devnet.Faults{ExpiryNow: true, IgnoreLastHash: true})
	}
}

// pollTimes polls p n times (errors are logged: a poll may fail on a node and succeed on the
// next).
func pollTimes(t *testing.T, p *gPeer, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range n {
		if err := p.PollOnce(ctx); err != nil {
			t.Logf("poll: %v", err)
		}
	}
}

func TestReplayOfOneToOneMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dn, alice, bob, offset := replayPeers(t, 41, "Alice", "Bob")
	hostileSwarm(dn, bob.AccountID())

	res, err := alice.SendText(ctx, bob.AccountID(), "once")
	if err != nil {
		t.Fatal(err)
	}
	once := func(m *Message) bool { return m.Text == "once" && m.From == alice.AccountID() }
	gWait(t, bob, once)
	pollTimes(t, bob, 2)
	if n := gCount(bob, once); n != 1 {
		t.Fatalf("delivered %d times while the store keeps its record", n)
	}

	// Three days later: past the claimed expiry plus PruneMargin, well within MaxMessageTTL.
	replayLater(t, bob, offset, 3*24*time.Hour)
	pollTimes(t, bob, 3)
	if n := gCount(bob, once); n != 1 {
		t.Fatalf("delivered %d times: the node's early expiry had the record pruned", n)
	}
	if n := gCount[*MessageDropped](bob, nil); n != 0 {
		t.Fatalf("%d messages dropped three days on", n)
	}

	// A day past MaxMessageTTL + PruneMargin: the record may be gone; the message is a replay.
	replayLater(t, bob, offset, store.MaxMessageTTL+store.PruneMargin+24*time.Hour)
	expectReplayDropped(t, bob, res.Hash, alice.AccountID(), crypto.AccountID{}, once)
}

func TestReplayOfGroupMessage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dn, admin, member, offset := replayPeers(t, 42, "Admin", "Member")
	g, err := admin.CreateGroup(ctx, "Replay", member.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gJoin(t, member, g.ID, admin.AccountID(), "Replay")
	hostileSwarm(dn, g.ID)

	res, err := admin.SendGroupText(ctx, g.ID, "once")
	if err != nil {
		t.Fatal(err)
	}
	once := gText(g.ID, admin.AccountID(), "once")
	gWait(t, member, once)

	replayLater(t, member, offset, 3*24*time.Hour)
	pollTimes(t, member, 3)
	if n := gCount(member, once); n != 1 {
		t.Fatalf("delivered %d times: the node's early expiry had the record pruned", n)
	}

	replayLater(t, member, offset, store.MaxMessageTTL+store.PruneMargin+24*time.Hour)
	expectReplayDropped(t, member, res.Hash, admin.AccountID(), g.ID, once)
}

// expectReplayDropped waits for p to drop the replay of message hash (from, in group, zero for
// 1:1) as too old, and checks that it was delivered once before (once) and dropped only once.
func expectReplayDropped[T any](t *testing.T, p *gPeer, hash string, from, group crypto.AccountID, once func(T) bool) {
	t.Helper()
	d := gWait(t, p, func(e *MessageDropped) bool { return e.Hash == hash })
	if !errors.Is(d.Err, ErrMessageTooOld) || d.From != from || d.Group != group {
		t.Fatalf("dropped %+v", d)
	}
	pollTimes(t, p, 2)
	if n := gCount(p, once); n != 1 {
		t.Fatalf("a replay older than any swarm keeps a message delivered: %d deliveries", n)
	}
	if n := gCount(p, func(e *MessageDropped) bool { return e.Hash == hash }); n != 1 {
		t.Fatalf("the replay reported %d times, want once (it is recorded as handled)", n)
	}
}

// A message saved while it was young and left pending through a long outage (a crash, then
// weeks down) is delivered when the Client comes back: its age counts when it was saved, not
// when it is handled. Found by review: the first version of the replay check compared with the
// time of handling and dropped it for good.
func TestPendingMessageDeliveredAfterLongOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, alice, bob := gAliceBob(t, devnet.WithNodes(3), devnet.WithSeed(43))
	cur := store.Cursor{Account: bob.AccountID(), Swarm: bob.AccountID()}
	save := func(text string, sent time.Time) {
		t.Helper()
		wire, err := encodeMessage(alice.Keys(), bob.AccountID(), textContent(text), sent)
		if err != nil {
			t.Fatal(err)
		}
		in := store.Incoming{Hash: text, Data: wire, Timestamp: sent, Expiry: sent.Add(14 * 24 * time.Hour)}
		if _, err := bob.store.SaveRetrieved(ctx, cur, []store.Incoming{in}, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Thirteen days old when saved; handled twenty days later.
	save("waited", time.Now().Add(-13*24*time.Hour))
	// Older than any swarm keeps a message when saved: a replay.
	save("replayed", time.Now().Add(-(store.MaxMessageTTL + store.PruneMargin + time.Hour)))
	bob.clock = func() time.Time { return time.Now().Add(20 * 24 * time.Hour) }
	pollTimes(t, bob, 1)
	if n := gCount(bob, func(m *Message) bool { return m.Text == "waited" }); n != 1 {
		t.Fatalf("the message pending through the outage delivered %d times; dropped: %d", n, gCount[*MessageDropped](bob, nil))
	}
	if n := gCount(bob, func(m *Message) bool { return m.Text == "replayed" }); n != 0 {
		t.Fatal("a message older than any swarm keeps one when saved was delivered")
	}
	if n := gCount(bob, func(e *MessageDropped) bool { return e.Hash == "replayed" && errors.Is(e.Err, ErrMessageTooOld) }); n != 1 {
		t.Fatalf("the replay reported %d times", n)
	}
}

// gAliceBob starts a devnet (with opts) and two peers on it (direct connections), Alice and Bob.
func gAliceBob(t *testing.T, opts ...devnet.Option) (dn *devnet.Network, alice, bob *gPeer) {
	t.Helper()
	dn = devnettest.Start(t, opts...)
	cfg := NetConfig(dn, true)
	return dn, gNewPeer(t, cfg, "Alice"), gNewPeer(t, cfg, "Bob")
}
