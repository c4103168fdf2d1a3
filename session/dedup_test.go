package session

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// Re-encoded copies by a malicious node: only a 1:1 message's sealed content is authenticated,
// so a node can serve a message again with another decoy proSig (or any other unauthenticated
// field changed) under a new valid storage hash (devnet fault ReencodeMessages). The Client
// de-duplicates 1:1 messages by their content too (dedup.go).

func reencodingSwarm(dn *devnet.Network, id crypto.AccountID) {
	_, members := dn.SwarmFor(id)
	for _, m := range members {
		m.SetFaults(devnet.Faults{ReencodeMessages: true})
	}
}

func TestReencodedOneToOneMessageDeliveredOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dn, alice, bob := gAliceBob(t, devnet.WithNodes(5), devnet.WithSeed(43))
	reencodingSwarm(dn, bob.AccountID())

	if _, err := alice.SendText(ctx, bob.AccountID(), "once"); err != nil {
		t.Fatal(err)
	}
	once := func(m *Message) bool { return m.Text == "once" && m.From == alice.AccountID() }
	gWait(t, bob, once)
	pollTimes(t, bob, 3)
	if n := gCount(bob, once); n != 1 {
		t.Fatalf("delivered %d times", n)
	}
	if n := gCount[*UndecryptableMessage](bob, nil); n != 0 {
		t.Fatalf("%d undecryptable messages: %s", n, bob.rec)
	}
	if n := gCount[*UnknownContent](bob, nil); n != 0 {
		t.Fatalf("%d unknown contents: %s", n, bob.rec)
	}
	p, err := bob.store.Pending(ctx, bob.AccountID())
	if err != nil || len(p) != 0 {
		t.Fatalf("pending after the polls: %d, %v", len(p), err)
	}

}

// A batch as a node may serve it: a message, the same message again, a re-encoded copy, the
// copy again, and another message. Only the two messages are pending afterwards, each once, and
// no marker is; a copy in a later batch is not pending either.
func TestContentDedupBatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, alice, bob := gAliceBob(t)
	msg := func(text string) store.Incoming {
		t.Helper()
		wire, err := encodeMessage(alice.keys, bob.AccountID(), &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String(text)}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return store.Incoming{Hash: "h-" + text, Data: wire, Timestamp: time.Now(), Expiry: time.Now().Add(time.Hour)}
	}
	reencoded := func(m store.Incoming, hash string) store.Incoming {
		t.Helper()
		env, err := DecodeEnvelope(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if m.Data, err = EncodeEnvelope(env.GetContent(), env.GetTimestamp(), decoyProSig()); err != nil {
			t.Fatal(err)
		}
		m.Hash = hash
		return m
	}
	a, b := msg("a"), msg("b")
	cur := store.Cursor{Account: bob.AccountID(), Swarm: bob.AccountID()}
	save := func(in ...store.Incoming) {
		t.Helper()
		if err := bob.pollByHand(ctx, func(ctx context.Context) error { return bob.saveRetrieved(ctx, cur, in, "") }); err != nil {
			t.Fatal(err)
		}
	}
	pending := func() []string {
		t.Helper()
		p, err := bob.store.Pending(ctx, bob.AccountID())
		if err != nil {
			t.Fatal(err)
		}
		var hs []string
		for _, m := range p {
			hs = append(hs, m.Hash)
		}
		return hs
	}
	save(a, a, reencoded(a, "h-a2"), reencoded(a, "h-a2"), b)
	if got := pending(); !slices.Equal(got, []string{"h-a", "h-b"}) {
		t.Fatalf("pending %q, want h-a, h-b", got)
	}
	save(reencoded(b, "h-b2"), reencoded(a, "h-a3"))
	if got := pending(); !slices.Equal(got, []string{"h-a", "h-b"}) {
		t.Fatalf("pending after later copies %q, want h-a, h-b", got)
	}
	// Other cursors (a group's swarm, another namespace) get no markers.
	other := store.Cursor{Account: bob.AccountID(), Swarm: bob.AccountID(), Namespace: 5}
	if batch, markers := bob.withContentMarkers(other, []store.Incoming{msg("c")}); len(batch) != 1 || markers != nil {
		t.Fatalf("namespace 5: batch of %d, markers %q", len(batch), markers)
	}
	if err := bob.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	texts := func(text string) int { return gCount(bob, func(m *Message) bool { return m.Text == text }) }
	if texts("a") != 1 || texts("b") != 1 {
		t.Fatalf("delivered a %d, b %d times: %s", texts("a"), texts("b"), bob.rec)
	}
}

// A content marker left pending (a stop between the save of its batch and its MarkHandled) is
// bookkeeping: it is marked handled, never delivered nor reported as undecryptable.
func TestPendingContentMarkerNotDelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dn := devnettest.Start(t)
	bob := gNewPeer(t, NetConfig(dn, true), "Bob")
	cur := store.Cursor{Account: bob.AccountID(), Swarm: bob.AccountID()}
	k, ok := contentMarker(mustEncodeEnvelope(t, []byte("sealed")))
	if !ok || !isContentMarker(k) {
		t.Fatalf("marker %q, %v", k, ok)
	}
	if _, err := bob.store.SaveRetrieved(ctx, cur, []store.Incoming{{Hash: k, Timestamp: time.Now(), Expiry: time.Now().Add(time.Hour)}}, ""); err != nil {
		t.Fatal(err)
	}
	if err := bob.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(bob.rec.Events()); n != 0 {
		t.Fatalf("%d events for a pending marker: %s", n, bob.rec)
	}
	if p, err := bob.store.Pending(ctx, bob.AccountID()); err != nil || len(p) != 0 {
		t.Fatalf("still pending: %d, %v", len(p), err)
	}
	// And it stays recorded as seen.
	if fresh, err := bob.store.SaveRetrieved(ctx, cur, []store.Incoming{{Hash: k}}, ""); err != nil || len(fresh) != 0 {
		t.Fatalf("marker fresh again: %d, %v", len(fresh), err)
	}
}

// A re-encoded copy of the sync copy we stored in our own swarm, served without the original
// (which would claim the content first), is not delivered to us: storing the sync copy recorded
// its content as seen.
func TestReencodedOwnSyncCopyNotDelivered(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, alice, bob := gAliceBob(t)
	res, err := alice.SendText(ctx, bob.AccountID(), "mine")
	if err != nil || res.SyncErr != nil {
		t.Fatal(err, res.SyncErr)
	}
	got, err := alice.Network().RPC().Retrieve(ctx, alice.signer, swarm.RetrieveRequest{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(got.Messages, func(m swarm.Message) bool { return m.Hash == res.SyncHash })
	if i < 0 {
		t.Fatalf("sync copy %s not in our swarm", res.SyncHash)
	}
	env, err := DecodeEnvelope(got.Messages[i].Data)
	if err != nil {
		t.Fatal(err)
	}
	copyData, err := EncodeEnvelope(env.GetContent(), env.GetTimestamp(), decoyProSig())
	if err != nil {
		t.Fatal(err)
	}
	cur := store.Cursor{Account: alice.AccountID(), Swarm: alice.AccountID()}
	in := []store.Incoming{{Hash: "copy-of-sync", Data: copyData, Timestamp: time.Now(), Expiry: time.Now().Add(time.Hour)}}
	if err := alice.pollByHand(ctx, func(ctx context.Context) error { return alice.saveRetrieved(ctx, cur, in, "") }); err != nil {
		t.Fatal(err)
	}
	if p, err := alice.store.Pending(ctx, alice.AccountID()); err != nil || len(p) != 0 {
		t.Fatalf("copy of our sync copy pending: %d, %v", len(p), err)
	}
}

func mustEncodeEnvelope(t *testing.T, sealed []byte) []byte {
	t.Helper()
	w, err := EncodeEnvelope(sealed, 1, decoyProSig())
	if err != nil {
		t.Fatal(err)
	}
	return w
}
