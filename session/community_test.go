package session_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
)

// Two clients in one community room through onion paths: join, post, receive, react, blinded
// DMs with the sender's real ID learned, the handover to 1:1 messages, persisted state across
// a restart, and leaving.
func TestCommunityEndToEnd(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	s, _ := session.StartLobby(t, dn)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A message from before Alice joins is history, not an event.
	old, _ := crypto.GenerateKeys(nil)
	if _, err := s.PostAs("lobby", old, sogsd.Pad([]byte{0x0a, 0x02, 0x0a, 0x00})); err != nil {
		t.Fatal(err)
	}

	aliceStore := store.NewMemory()
	aliceKeys, _ := crypto.GenerateKeys(nil)
	cfg := session.NetConfig(dn, false)
	alice, ar := session.NewTestClient(t, session.WithKeys(aliceKeys), session.WithStore(aliceStore), session.WithNetworkConfig(cfg),
		session.WithProfile(session.Profile{DisplayName: "Alice"}))
	bob, br := session.NewTestClient(t, session.WithNetworkConfig(cfg))
	url := s.JoinURL("lobby")

	if _, err := alice.JoinCommunity(ctx, "https://nowhere/lobby"); !errors.Is(err, community.ErrBadURL) {
		t.Fatalf("bad URL: %v", err)
	}
	if _, err := alice.JoinCommunity(ctx, s.JoinURL("nope")); !errors.Is(err, community.ErrNotFound) {
		t.Fatalf("missing room: %v", err)
	}
	info, err := alice.JoinCommunity(ctx, url)
	if err != nil || info.Name != "Lobby" {
		t.Fatalf("join %+v %v", info, err)
	}
	if _, err := alice.JoinCommunity(ctx, url); err != nil {
		t.Fatalf("join twice: %v", err)
	}
	if rooms, err := alice.Communities(ctx); err != nil || len(rooms) != 1 || rooms[0] != url {
		t.Fatalf("communities %v %v", rooms, err)
	}
	if _, err := bob.JoinCommunity(ctx, url); err != nil {
		t.Fatal(err)
	}

	// Bob posts; Alice gets it with his blinded ID, and her own post comes back as Self.
	posted, err := bob.SendCommunityMessage(ctx, url, "hello room")
	if err != nil {
		t.Fatal(err)
	}
	got := session.WaitEvent(t, ar, alice.PollCommunities, func(m *session.CommunityMessage) bool { return m.Text == "hello room" })
	bobBlinded, _ := s.BlindedID(bob.Keys())
	if got.From != bobBlinded || !got.FromAccount.IsZero() || got.ID != posted.ID || got.Room != url || got.Token != "lobby" || got.Self {
		t.Fatalf("message %+v", got)
	}
	if _, err := alice.SendCommunityMessage(ctx, url, "hi bob", session.WithQuote(session.MessageRef{Author: got.From, Timestamp: got.Posted})); err != nil {
		t.Fatal(err)
	}
	mine := session.WaitEvent(t, ar, alice.PollCommunities, func(m *session.CommunityMessage) bool { return m.Text == "hi bob" })
	if !mine.Self || mine.FromAccount != alice.AccountID() || mine.Quote == nil || mine.Quote.Author != bobBlinded || mine.Profile == nil || mine.Profile.DisplayName != "Alice" {
		t.Fatalf("own message %+v", mine)
	}

	// Alice reacts; Bob sees the reaction state.
	if err := alice.ReactInCommunity(ctx, url, posted.ID, "👍"); err != nil {
		t.Fatal(err)
	}
	re := session.WaitEvent(t, br, bob.PollCommunities, func(r *session.CommunityReaction) bool { return r.MessageID == posted.ID })
	aliceBlinded, _ := s.BlindedID(aliceKeys)
	if re.Reactions["👍"].Count != 1 || re.Reactions["👍"].Reactors[0] != aliceBlinded {
		t.Fatalf("reaction %+v", re)
	}

	// Alice DMs Bob's blinded ID through the inbox; Bob learns her real ID from it.
	if _, err := alice.SendCommunityDM(ctx, url, bobBlinded, "psst"); err != nil {
		t.Fatal(err)
	}
	dm := session.WaitEvent(t, br, bob.PollCommunities, func(d *session.CommunityDM) bool { return !d.Outgoing })
	if dm.Text != "psst" || dm.From != aliceBlinded || dm.FromAccount != alice.AccountID() || dm.To != bobBlinded ||
		dm.ToAccount != bob.AccountID() || dm.Profile == nil || dm.Profile.DisplayName != "Alice" {
		t.Fatalf("DM %+v", dm)
	}
	out := session.WaitEvent(t, ar, alice.PollCommunities, func(d *session.CommunityDM) bool { return d.Outgoing })
	if out.Text != "psst" || out.FromAccount != alice.AccountID() || out.To != bobBlinded {
		t.Fatalf("outbox copy %+v", out)
	}
	if id, ok, err := bob.CommunityAccountID(ctx, url, aliceBlinded); err != nil || !ok || id != alice.AccountID() {
		t.Fatalf("mapping %s %v %v", id, ok, err)
	}
	// Her next post carries both IDs for Bob.
	if _, err := alice.SendCommunityMessage(ctx, url, "known now"); err != nil {
		t.Fatal(err)
	}
	known := session.WaitEvent(t, br, bob.PollCommunities, func(m *session.CommunityMessage) bool { return m.Text == "known now" })
	if known.From != aliceBlinded || known.FromAccount != alice.AccountID() {
		t.Fatalf("mapped message %+v", known)
	}
	// Handover: Bob answers her real ID with an ordinary 1:1 message.
	if _, err := bob.SendText(ctx, dm.FromAccount, "let's talk here"); err != nil {
		t.Fatal(err)
	}
	one := session.WaitEvent(t, ar, alice.PollOnce, func(m *session.Message) bool { return m.Text == "let's talk here" })
	if one.From != bob.AccountID() {
		t.Fatalf("1:1 %+v", one)
	}

	// Deletions arrive as events.
	if err := s.DeleteMessage("lobby", posted.ID); err != nil {
		t.Fatal(err)
	}
	session.WaitEvent(t, ar, alice.PollCommunities, func(d *session.CommunityMessageDeleted) bool { return d.ID == posted.ID })

	// A forged post (servers do not check signatures) is skipped with the reason.
	if _, err := s.Post("lobby", sogsd.Post{Author: bobBlinded, Data: sogsd.Pad([]byte("forged")), Signature: make([]byte, 64)}); err != nil {
		t.Fatal(err)
	}
	sk := session.WaitEvent(t, ar, alice.PollCommunities, func(s *session.CommunitySkipped) bool { return errors.Is(s.Err, community.ErrInvalidSignature) })
	if sk.Room != url {
		t.Fatalf("skipped %+v", sk)
	}
	// Nothing before the join was delivered, and nothing twice.
	if n := session.CountEvents[*session.CommunityMessage](ar, nil); n != 3 {
		t.Fatalf("alice got %d community messages", n)
	}

	// A restart on the same store continues where Alice left off.
	alice2, ar2 := session.NewTestClient(t, session.WithKeys(aliceKeys), session.WithStore(aliceStore), session.WithNetworkConfig(cfg))
	if rooms, err := alice2.Communities(ctx); err != nil || len(rooms) != 1 {
		t.Fatalf("restart communities %v %v", rooms, err)
	}
	if _, err := bob.SendCommunityMessage(ctx, url, "after restart"); err != nil {
		t.Fatal(err)
	}
	session.WaitEvent(t, ar2, alice2.PollCommunities, func(m *session.CommunityMessage) bool { return m.Text == "after restart" })
	if n := session.CountEvents[*session.CommunityMessage](ar2, nil) + session.CountEvents[*session.CommunityDM](ar2, nil); n != 1 {
		t.Fatalf("restarted client got %d events, want only the new message", n)
	}

	// Leaving stops the room's events.
	if err := alice2.LeaveCommunity(ctx, url); err != nil {
		t.Fatal(err)
	}
	if err := alice2.LeaveCommunity(ctx, url); !errors.Is(err, session.ErrNotJoined) {
		t.Fatalf("leave twice: %v", err)
	}
	if _, err := bob.SendCommunityMessage(ctx, url, "gone"); err != nil {
		t.Fatal(err)
	}
	if err := alice2.PollCommunities(ctx); err != nil {
		t.Fatal(err)
	}
	for _, e := range ar2.Events() {
		if m, ok := e.(*session.CommunityMessage); ok && m.Text == "gone" {
			t.Fatal("message from a room we left")
		}
	}
}

// Run polls joined rooms on its own and its poller ends with Run.
func TestCommunityRun(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	s := session.StartSOGS(t, dn)
	author, _ := crypto.GenerateKeys(nil)
	tokens, err := s.Populate(2, 0, author)
	if err != nil {
		t.Fatal(err)
	}
	cfg := session.NetConfig(dn, false)
	bot, r := session.NewTestClient(t, session.WithNetworkConfig(cfg), session.WithPollInterval(100*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tok := range tokens {
		if _, err := bot.JoinCommunity(ctx, s.JoinURL(tok)); err != nil {
			t.Fatal(err)
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- bot.Run(runCtx) }()

	other, _ := crypto.GenerateKeys(nil)
	for _, tok := range tokens {
		content := []byte("\x0a\x05\x0a\x03" + tok[len(tok)-3:])
		if _, err := s.PostAs(tok, other, sogsd.Pad(content)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for session.CountEvents[*session.CommunityMessage](r, nil) < len(tokens) {
		if time.Now().After(deadline) {
			t.Fatalf("Run delivered %d of %d messages", session.CountEvents[*session.CommunityMessage](r, nil), len(tokens))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, e := range r.Events() {
		if m, ok := e.(*session.CommunityMessage); ok && !strings.HasPrefix(m.Token, "room-") {
			t.Fatalf("event %+v", m)
		}
	}
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	// The poller ended with Run: nothing more arrives.
	n := len(r.Events())
	if _, err := s.PostAs(tokens[0], other, sogsd.Pad([]byte("\x0a\x03\x0a\x01x"))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if len(r.Events()) != n {
		t.Fatal("events after Run returned")
	}
}

// A bot joins a community room on an in-process devnet, posts, and reads another member's post
// as an event.
func ExampleClient_JoinCommunity() {
	ctx := context.Background()
	dn, err := devnet.Start(ctx)
	if err != nil {
		panic(err)
	}
	defer dn.Close()
	srv, err := sogsd.Start(ctx, sogsd.WithNetwork(dn))
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	_ = srv.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Lobby"})

	bot, err := session.NewClient(session.WithNetworkConfig(session.NetworkConfig{
		Seeds: []string{dn.SeedURL()}, SeedRootCAs: dn.CertPool(), PathDiversity: onion.DistinctNodes}))
	if err != nil {
		panic(err)
	}
	defer bot.Close()
	bot.AddEventHandler(func(evt session.Event) {
		if m, ok := evt.(*session.CommunityMessage); ok && !m.Self {
			fmt.Printf("%s in %s: %q\n", m.From.Prefix(), m.Token, m.Text)
		}
	})
	info, err := bot.JoinCommunity(ctx, srv.JoinURL("lobby"))
	if err != nil {
		panic(err)
	}
	fmt.Println("joined", info.Name)
	if _, err := bot.SendCommunityMessage(ctx, srv.JoinURL("lobby"), "hello from the bot"); err != nil {
		panic(err)
	}
	// Someone else posts (here: straight into the server) and the bot's next poll delivers it.
	member, _ := crypto.GenerateKeys(nil)
	_, _ = srv.PostAs("lobby", member, sogsd.Pad([]byte("\x0a\x04\x0a\x02hi")))
	if err := bot.PollCommunities(ctx); err != nil {
		panic(err)
	}
	// Output:
	// joined Lobby
	// 15 in lobby: "hi"
}

// In direct mode the community server is reached over plain HTTPS (the devnet's CA), not onion
// paths.
func TestCommunityDirect(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	s := session.StartSOGS(t, dn)
	if err := s.CreateRoom(sogsd.RoomConfig{Token: "lobby"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))
	b, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))
	if a.Network().Onion() != nil {
		t.Fatal("direct network has an onion transport")
	}
	url := s.JoinURL("lobby")
	for _, c := range []*session.Client{a, b} {
		if _, err := c.JoinCommunity(ctx, url); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.SendCommunityMessage(ctx, url, "direct"); err != nil {
		t.Fatal(err)
	}
	session.WaitEvent(t, br, b.PollCommunities, func(m *session.CommunityMessage) bool { return m.Text == "direct" })
}

// BenchmarkCommunityPoll is one PollCommunities of 5 joined rooms with 100 new text messages
// each, through onion paths of a devnet: the batch request, signature checks, Content decoding,
// 500 CommunityMessage events and the saved room state. (The community package's benchmark of
// the same name measures the request and decoding alone.)
func BenchmarkCommunityPoll(b *testing.B) {
	dn := devnettest.Start(b)
	s := session.StartSOGS(b, dn, sogsd.WithPostRateLimit(0, 0))
	author, _ := crypto.GenerateKeys(nil)
	tokens, err := s.Populate(5, 0, author)
	if err != nil {
		b.Fatal(err)
	}
	st := store.NewMemory()
	bot, _ := session.NewTestClient(b, session.WithStore(st), session.WithNetworkConfig(session.NetConfig(dn, false)))
	ctx := context.Background()
	for _, tok := range tokens {
		if _, err := bot.JoinCommunity(ctx, s.JoinURL(tok)); err != nil {
			b.Fatal(err)
		}
		for i := 0; i < 100; i++ {
			text := fmt.Sprintf("message %d", i)
			content := append([]byte{0x0a, byte(len(text) + 2), 0x0a, byte(len(text))}, text...)
			if _, err := s.PostAs(tok, author, sogsd.Pad(content)); err != nil {
				b.Fatal(err)
			}
		}
	}
	n := 0
	bot.AddEventHandler(func(evt session.Event) {
		if _, ok := evt.(*session.CommunityMessage); ok {
			n++
		}
	})
	// Rewind the saved room state so that every iteration finds the same 500 new messages (the
	// state layout is documented in community.go).
	rewind := func() {
		pk := s.JoinURL("x")[strings.Index(s.JoinURL("x"), "=")+1:]
		for _, tok := range tokens {
			if err := st.PutValue(ctx, "community", bot.AccountID().String()+"/room/"+pk+"/"+tok, []byte(`{"seqno":0}`)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		rewind()
		n = 0
		b.StartTimer()
		if err := bot.PollCommunities(ctx); err != nil {
			b.Fatal(err)
		}
		if n != 500 {
			b.Fatalf("%d messages", n)
		}
	}
}

// Concurrent polls (Run's poller, callers, handlers) deliver every message once.
func TestCommunityConcurrentPolls(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	s := session.StartSOGS(t, dn, sogsd.WithPostRateLimit(0, 0))
	if err := s.CreateRoom(sogsd.RoomConfig{Token: "lobby"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bot, r := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	if _, err := bot.JoinCommunity(ctx, s.JoinURL("lobby")); err != nil {
		t.Fatal(err)
	}
	author, _ := crypto.GenerateKeys(nil)
	const total = 40
	done := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				_ = bot.PollCommunities(ctx)
			}
		}()
	}
	for i := 0; i < total; i++ {
		text := fmt.Sprintf("m%02d", i)
		if _, err := s.PostAs("lobby", author, sogsd.Pad(append([]byte{0x0a, 5, 0x0a, 3}, text...))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for session.CountEvents[*session.CommunityMessage](r, nil) < total && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	close(done)
	wg.Wait()
	if err := bot.PollCommunities(ctx); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, e := range r.Events() {
		if m, ok := e.(*session.CommunityMessage); ok {
			seen[m.Text]++
		}
	}
	if len(seen) != total {
		t.Fatalf("%d distinct messages of %d", len(seen), total)
	}
	for text, n := range seen {
		if n != 1 {
			t.Fatalf("%q delivered %d times", text, n)
		}
	}
}
