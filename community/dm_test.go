package community_test

import (
	"errors"
	"testing"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/sogsd"
)

// Blinded DMs through the inbox: send to a 15 ID, poll inbox and outbox (304 when nothing is
// new), decrypt, learn the sender's real Account ID.
func TestBlindedDMsOverOnion(t *testing.T) {
	s := server(t)
	must(t, s.CreateRoom(sogsd.RoomConfig{Token: "lobby"}))
	ctx := ctxT(t)
	aliceKeys, bobKeys := newKeys(t), newKeys(t)
	alice, bob := user(t, s, aliceKeys, nil), user(t, s, bobKeys, nil)

	// Bob has never used the server: 404.
	if _, err := alice.SendDM(ctx, bob.ID(), []byte("hi")); !errors.Is(err, community.ErrNotFound) {
		t.Fatalf("unknown recipient: %v", err)
	}
	if dms, _, err := bob.Inbox(ctx, 0); err != nil || len(dms) != 0 {
		t.Fatalf("empty inbox %v %v", dms, err)
	}
	sent, err := alice.SendDM(ctx, bob.ID(), []byte("hello bob"))
	if err != nil || sent.Sender != alice.ID() || sent.Recipient != bob.ID() || sent.ID == 0 {
		t.Fatalf("send %+v %v", sent, err)
	}
	dms, skipped, err := bob.Inbox(ctx, 0)
	if err != nil || len(dms) != 1 || len(skipped) != 0 {
		t.Fatalf("inbox %+v %v", dms, err)
	}
	msg, from, err := bob.OpenDM(&dms[0])
	if err != nil || string(msg) != "hello bob" || from != aliceKeys.AccountID() {
		t.Fatalf("open %q %s %v", msg, from, err)
	}
	if dms, _, err := bob.Inbox(ctx, dms[0].ID); err != nil || len(dms) != 0 {
		t.Fatalf("inbox since (304) %v %v", dms, err)
	}
	out, _, err := alice.Outbox(ctx, 0)
	if err != nil || len(out) != 1 {
		t.Fatalf("outbox %v %v", out, err)
	}
	if msg, from, err := alice.OpenDM(&out[0]); err != nil || string(msg) != "hello bob" || from != aliceKeys.AccountID() {
		t.Fatalf("open own %q %s %v", msg, from, err)
	}
	// Bob answers; both see it in one poll.
	if _, err := bob.SendDM(ctx, alice.ID(), []byte("hi alice")); err != nil {
		t.Fatal(err)
	}
	res, err := alice.Poll(ctx, community.PollRequest{Rooms: []community.RoomCursor{{Token: "lobby"}}, DMs: true, OutboxSince: out[0].ID})
	if err != nil || res.DMErr != nil || len(res.Inbox) != 1 || len(res.Outbox) != 0 || res.Rooms[0].Err != nil || res.Rooms[0].Info == nil {
		t.Fatalf("poll %+v %v", res, err)
	}
	if msg, from, err := alice.OpenDM(&res.Inbox[0]); err != nil || string(msg) != "hi alice" || from != bobKeys.AccountID() {
		t.Fatalf("open reply %q %s %v", msg, from, err)
	}

	// A DM that Mallory wrote but the server attributes to Alice, and one that is garbage, do
	// not open.
	mallory := newKeys(t)
	data, err := blinding.EncryptDM(mallory, s.PublicKey(), bob.ID(), community.Pad([]byte("x")), nil)
	must(t, err)
	s.SendDM(alice.ID(), bob.ID(), data)
	s.SendDM(alice.ID(), bob.ID(), []byte{0, 1, 2})
	dms, _, err = bob.Inbox(ctx, dms[0].ID)
	if err != nil || len(dms) != 2 {
		t.Fatalf("inbox %v %v", dms, err)
	}
	if _, _, err := bob.OpenDM(&dms[0]); !errors.Is(err, blinding.ErrDecrypt) {
		t.Fatalf("misattributed sender: %v", err)
	}
	if _, _, err := bob.OpenDM(&dms[1]); !errors.Is(err, blinding.ErrDecrypt) {
		t.Fatalf("garbage: %v", err)
	}
	if n, err := bob.ClearInbox(ctx); err != nil || n != 3 {
		t.Fatalf("clear %d %v", n, err)
	}
	if _, err := alice.SendDM(ctx, aliceKeys.AccountID(), []byte("x")); !errors.Is(err, community.ErrInvalidArgument) {
		t.Fatalf("05 recipient: %v", err)
	}
	var zero crypto.AccountID
	if _, err := alice.SendDM(ctx, zero, []byte("x")); !errors.Is(err, community.ErrInvalidArgument) {
		t.Fatalf("zero recipient: %v", err)
	}
}

// The recommended poll: capabilities, pollInfo and since per room, with full pages reported as
// More and unknown rooms as per-room errors.
func TestPollOverOnion(t *testing.T) {
	s := server(t, sogsd.WithPostRateLimit(0, 0))
	author := newKeys(t)
	tokens, err := s.Populate(3, 30, author)
	must(t, err)
	ctx := ctxT(t)
	c := user(t, s, nil, nil)
	req := community.PollRequest{Limit: 20, DMs: true}
	for _, tok := range tokens {
		req.Rooms = append(req.Rooms, community.RoomCursor{Token: tok})
	}
	req.Rooms = append(req.Rooms, community.RoomCursor{Token: "gone"})
	res, err := c.Poll(ctx, req)
	if err != nil || !contains(res.Capabilities, "sogs") || len(res.Rooms) != 4 {
		t.Fatalf("poll %+v %v", res, err)
	}
	for i, rp := range res.Rooms[:3] {
		if rp.Err != nil || len(rp.Messages) != 20 || !rp.More || rp.Info.Details == nil || rp.Token != tokens[i] {
			t.Fatalf("room %d: %+v", i, rp)
		}
		req.Rooms[i].Seqno = rp.Messages[len(rp.Messages)-1].Seqno
		req.Rooms[i].InfoUpdates = rp.Info.Details.InfoUpdates
	}
	if !errors.Is(res.Rooms[3].Err, community.ErrNotFound) {
		t.Fatalf("gone room: %v", res.Rooms[3].Err)
	}
	res, err = c.Poll(ctx, req)
	must(t, err)
	for i, rp := range res.Rooms[:3] {
		if rp.Err != nil || len(rp.Messages) != 10 || rp.More || rp.Info.Details != nil || string(rp.Messages[9].Content()) != "msg 29" {
			t.Fatalf("second poll room %d: %+v", i, rp)
		}
	}
}
