package session

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// Regression tests from the second review of the message vocabulary (issue 14).

// Our sync copy of a message that disappears after reading expires when its timer has run from
// the send: we read our own message when we wrote it, so desktop stores the synced copy with the
// timer as its TTL, and our other devices see when it disappears.
func TestSyncCopyOfAfterReadMessageExpires(t *testing.T) {
	cfg := gDevnet(t)
	ctx := context.Background()
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	alice2 := gNewPeer(t, cfg, "Alice", WithKeys(alice.Keys()))
	dar := Expiry{Mode: ExpiryAfterRead, Timer: 2 * time.Minute}
	if err := alice.SetDisappearing(ctx, bob.AccountID(), dar); err != nil {
		t.Fatal(err)
	}
	sent, err := alice.SendText(ctx, bob.AccountID(), "read me")
	if err != nil {
		t.Fatal(err)
	}
	if sent.SyncHash == "" || sent.SyncErr != nil {
		t.Fatalf("no sync copy: %v", sent.SyncErr)
	}
	if exp := swarmExpiry(t, alice.Client, sent.SyncHash); !near(exp, sent.Timestamp.Add(dar.Timer), 5*time.Second) {
		t.Fatalf("our sync copy expires %v, sent %v with a %v after-read timer", exp, sent.Timestamp, dar.Timer)
	}
	m := gWait(t, alice2, func(m *Message) bool { return m.Sync && m.Text == "read me" })
	if !near(m.ExpiresAt, sent.Timestamp.Add(dar.Timer), 5*time.Second) {
		t.Fatalf("the other device sees it expire at %v, sent %v", m.ExpiresAt, sent.Timestamp)
	}
	// The recipient's copy waits for the read.
	rm := gWait(t, bob, func(m *Message) bool { return m.Text == "read me" })
	if exp := swarmExpiry(t, bob.Client, rm.Hash); exp.Before(time.Now().Add(time.Hour)) {
		t.Fatalf("unread copy already expires at %v", exp)
	}
}

// Reactions follow the conversation's delete-after-send setting in the swarm too (their TTL is
// the timer, as for text), in 1:1 conversations and in groups.
func TestReactionsDisappearAfterSend(t *testing.T) {
	cfg := gDevnet(t)
	ctx := context.Background()
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	das := Expiry{Mode: ExpiryAfterSend, Timer: 90 * time.Second}
	if err := alice.SetDisappearing(ctx, bob.AccountID(), das); err != nil {
		t.Fatal(err)
	}
	hi, err := bob.SendText(ctx, alice.AccountID(), "hi", WithExpiry(ExpiryNone, 0))
	if err != nil {
		t.Fatal(err)
	}
	r, err := alice.React(ctx, bob.AccountID(), hi.Ref, "👍")
	if err != nil {
		t.Fatal(err)
	}
	if exp := swarmExpiry(t, bob.Client, r.Hash); !near(exp, r.Timestamp.Add(das.Timer), 5*time.Second) {
		t.Fatalf("1:1 reaction expires %v, sent %v with a %v after-send timer", exp, r.Timestamp, das.Timer)
	}
	if r.SyncHash == "" {
		t.Fatal("no sync copy of the reaction")
	}
	if exp := swarmExpiry(t, alice.Client, r.SyncHash); !near(exp, r.Timestamp.Add(das.Timer), 5*time.Second) {
		t.Fatalf("our copy of the reaction expires %v, sent %v", exp, r.Timestamp)
	}

	g, err := alice.CreateGroup(ctx, "Reacts", bob.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gJoin(t, bob, g.ID, alice.AccountID(), "Reacts")
	if err := alice.SetDisappearing(ctx, g.ID, das); err != nil {
		t.Fatal(err)
	}
	gWait(t, bob, func(e *DisappearingChanged) bool { return e.Conversation == g.ID })
	ghi, err := alice.SendGroupText(ctx, g.ID, "group hi")
	if err != nil {
		t.Fatal(err)
	}
	gr, err := bob.React(ctx, g.ID, ghi.Ref, "🎉")
	if err != nil {
		t.Fatal(err)
	}
	exp, err := alice.net.rpc.GetExpiries(ctx, mustGroupSigner(t, alice, g.ID), swarm.GetExpiriesRequest{Hashes: []string{gr.Hash}})
	if err != nil {
		t.Fatal(err)
	}
	if !near(exp[gr.Hash], gr.Timestamp.Add(das.Timer), 5*time.Second) {
		t.Fatalf("group reaction expires %v, sent %v with a %v after-send timer", exp[gr.Hash], gr.Timestamp, das.Timer)
	}
}

// storeRawAt is storeRaw with the Envelope's sent time chosen by the sender (the swarm store
// request carries the real time).
func storeRawAt(t *testing.T, from, to *Client, content *pb.Content, at time.Time) string {
	t.Helper()
	data, err := from.encode(to.AccountID(), content, at)
	if err != nil {
		t.Fatal(err)
	}
	res, err := from.net.rpc.Store(context.Background(), swarm.Unsigned(to.AccountID()), swarm.StoreRequest{Data: data, TTL: time.Hour, Timestamp: from.msNow()})
	if err != nil {
		t.Fatal(err)
	}
	return res.Hash
}

// A timer update dated in the future (a peer's wrong clock, or a malicious one) must not pin
// the setting: later updates still apply, and so does our own SetDisappearing.
func TestFutureDatedTimerUpdate(t *testing.T) {
	cfg := gDevnet(t)
	ctx := context.Background()
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	future := &pb.Content{DataMessage: &pb.DataMessage{Flags: proto.Uint32(2)},
		ExpirationType: pb.Content_DELETE_AFTER_SEND.Enum(), ExpirationTimer: proto.Uint32(60)}
	h := storeRawAt(t, bob.Client, alice.Client, future, time.Now().AddDate(10, 0, 0))
	gWait(t, alice, func(e *DisappearingChanged) bool { return e.Hash == h })
	if e, _ := alice.Disappearing(ctx, bob.AccountID()); e != (Expiry{Mode: ExpiryAfterSend, Timer: time.Minute}) {
		t.Fatalf("setting after bob's update: %+v", e)
	}
	// Bob's next (correctly dated) change applies.
	dar := Expiry{Mode: ExpiryAfterRead, Timer: 5 * time.Minute}
	if err := bob.SetDisappearing(ctx, alice.AccountID(), dar); err != nil {
		t.Fatal(err)
	}
	gWait(t, alice, func(e *DisappearingChanged) bool { return e.Expiry == dar })
	if e, _ := alice.Disappearing(ctx, bob.AccountID()); e != dar {
		t.Fatalf("bob's later change ignored: %+v", e)
	}
	// So does ours.
	if err := alice.SetDisappearing(ctx, bob.AccountID(), Expiry{}); err != nil {
		t.Fatal(err)
	}
	if e, _ := alice.Disappearing(ctx, bob.AccountID()); !e.Off() {
		t.Fatalf("SetDisappearing(off) succeeded but the setting is still %+v", e)
	}
	if res, err := alice.SendText(ctx, bob.AccountID(), "stays"); err != nil {
		t.Fatal(err)
	} else if m := gWait(t, bob, func(m *Message) bool { return m.Hash == res.Hash }); m.Expiry != nil {
		t.Fatalf("sent with expiry %+v after turning it off", m.Expiry)
	}
}

// failingValues fails PutValue in one bucket while armed.
type failingValues struct {
	store.Store
	bucket string
	armed  atomic.Bool
}

func (s *failingValues) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	if bucket == s.bucket && s.armed.Load() {
		return errors.New("disk full")
	}
	return s.Store.PutValue(ctx, bucket, key, value)
}

// A timer update whose setting cannot be saved is not lost: it stays pending and comes again
// (saved, and as an event) with the next poll.
func TestDisappearingChangeKeptOnStoreError(t *testing.T) {
	t.Parallel()
	cfg := gDevnet(t)
	ctx := context.Background()
	fs := &failingValues{Store: store.NewMemory(), bucket: expiryBucket}
	alice := gNewPeer(t, cfg, "Alice", WithStore(fs))
	bob := gNewPeer(t, cfg, "Bob")
	das := Expiry{Mode: ExpiryAfterSend, Timer: time.Minute}
	fs.armed.Store(true)
	if err := bob.SetDisappearing(ctx, alice.AccountID(), das); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i := 0; i < 20; i++ {
		if err := alice.PollOnce(pctx); err != nil {
			t.Logf("poll: %v", err)
		}
		if n, _ := alice.Client.store.Pending(ctx, alice.AccountID()); len(n) > 0 {
			break // retrieved, and kept pending
		}
		time.Sleep(100 * time.Millisecond)
	}
	fs.armed.Store(false)
	ch := gWait(t, alice, func(e *DisappearingChanged) bool { return e.Conversation == bob.AccountID() })
	if ch.Expiry != das {
		t.Fatalf("change %+v", ch)
	}
	if e, err := alice.Disappearing(ctx, bob.AccountID()); err != nil || e != das {
		t.Fatalf("setting %+v %v", e, err)
	}
}

// A Content with an expiration timer but no expiration type is not something official clients
// send (they write both, or neither): CheckContent refuses it, and so a WithExpiry of an unknown
// mode is a typed error instead of a half-set disappearing message.
func TestCheckContentTimerWithoutType(t *testing.T) {
	c := &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String("x")}, ExpirationTimer: proto.Uint32(60)}
	if err := CheckContent(c); !errors.Is(err, ErrInvalidContent) {
		t.Fatalf("timer without a type: %v", err)
	}
	o := sendOpts{}
	WithExpiry(ExpiryMode(7), time.Minute)(&o)
	if err := CheckContent(visibleContent("x", nil, &o)); !errors.Is(err, ErrInvalidContent) {
		t.Fatalf("WithExpiry of an unknown mode: %v", err)
	}
	// What Session.js writes (type UNKNOWN, timer 0) stays accepted.
	c.ExpirationType, c.ExpirationTimer = pb.Content_UNKNOWN.Enum(), proto.Uint32(0)
	if err := CheckContent(c); err != nil {
		t.Fatal(err)
	}
}

// A punycode host (xn--) is Unicode in disguise: desktop decodes it before its mixed-script
// check, so a homograph like xn--80ak6aa92e.com ("аррӏе.com") is not previewed; a domain
// entirely in another script still is.
func TestCheckPreviewURLPunycode(t *testing.T) {
	for _, u := range []string{"https://xn--80ak6aa92e.com/", "https://www.XN--80ak6aa92e.com/login", "https://example.xn--p1ai/"} {
		if err := CheckPreviewURL(u); !errors.Is(err, ErrInvalidPreview) {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"https://xn--e1afmkfd.xn--p1ai/", "https://пример.рф/", "https://example.com/a?b=c#d"} {
		if err := CheckPreviewURL(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	// Received previews follow the same rule.
	ps := previewsFromPB([]*pb.DataMessage_Preview{{Url: proto.String("https://xn--80ak6aa92e.com/")}}, nil)
	if len(ps) != 0 {
		t.Fatalf("homograph preview delivered: %+v", ps)
	}
}

// A timer shorter than the swarm's shortest TTL keeps the message for that shortest TTL (10 s),
// not for the default 14 days.
func TestShortTimerUsesShortestTTL(t *testing.T) {
	cfg := gDevnet(t)
	ctx := context.Background()
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	if err := alice.SetDisappearing(ctx, bob.AccountID(), Expiry{Mode: ExpiryAfterSend, Timer: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	sent, err := alice.SendText(ctx, bob.AccountID(), "blink")
	if err != nil {
		t.Fatal(err)
	}
	if exp := swarmExpiry(t, bob.Client, sent.Hash); exp.After(sent.Timestamp.Add(swarm.MinTTL + 2*time.Second)) {
		t.Fatalf("a 3 s message is kept until %v (sent %v)", exp, sent.Timestamp)
	}
	if err := alice.SetDisappearing(ctx, bob.AccountID(), Expiry{Mode: ExpiryAfterRead, Timer: 3 * time.Second}); err != nil {
		t.Fatal(err)
	}
	sent, err = alice.SendText(ctx, bob.AccountID(), "blink after read")
	if err != nil {
		t.Fatal(err)
	}
	if exp := swarmExpiry(t, alice.Client, sent.SyncHash); exp.After(sent.Timestamp.Add(swarm.MinTTL + 2*time.Second)) {
		t.Fatalf("our copy of a 3 s after-read message is kept until %v (sent %v)", exp, sent.Timestamp)
	}
}
