package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/sns"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
)

func TestClientExchange(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	for _, mode := range []struct {
		name   string
		direct bool
	}{{"onion", false}, {"direct", true}} {
		t.Run(mode.name, func(t *testing.T) {
			ctx := context.Background()
			alice, ar := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, mode.direct)), session.WithProfile(session.Profile{DisplayName: "Alice"}))
			bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, mode.direct)))

			sent, err := alice.SendText(ctx, bob.AccountID(), "hello bob")
			if err != nil {
				t.Fatal(err)
			}
			if len(sent.Hash) != 43 || sent.Stored == 0 || sent.SyncHash == "" || sent.SyncErr != nil {
				t.Fatalf("send result %+v", sent)
			}
			req := session.WaitEvent[*session.MessageRequest](t, br, bob.PollOnce, nil)
			if req.From != alice.AccountID() || req.Profile == nil || req.Profile.DisplayName != "Alice" {
				t.Fatalf("request %+v", req)
			}
			msg := session.WaitEvent[*session.Message](t, br, bob.PollOnce, nil)
			if msg.Text != "hello bob" || msg.From != alice.AccountID() || !msg.Request || !msg.Timestamp.Equal(sent.Timestamp) || msg.Hash != sent.Hash {
				t.Fatalf("message %+v, sent %+v", msg, sent)
			}

			if err := bob.AcceptMessageRequest(ctx, alice.AccountID()); err != nil {
				t.Fatal(err)
			}
			session.WaitEvent[*session.MessageRequestResponse](t, ar, alice.PollOnce, func(r *session.MessageRequestResponse) bool { return r.Approved })

			reply, err := bob.SendText(ctx, alice.AccountID(), "hi alice", session.WithQuote(msg.Ref()))
			if err != nil {
				t.Fatal(err)
			}
			got := session.WaitEvent[*session.Message](t, ar, alice.PollOnce, func(m *session.Message) bool { return m.Text == "hi alice" })
			if got.Quote == nil || *got.Quote != msg.Ref() || got.Request {
				t.Fatalf("reply %+v", got)
			}
			if err := alice.SendReadReceipt(ctx, bob.AccountID(), got.Ref()); err != nil {
				t.Fatal(err)
			}
			rr := session.WaitEvent[*session.ReadReceipt](t, br, bob.PollOnce, nil)
			if len(rr.Timestamps) != 1 || !rr.Timestamps[0].Equal(reply.Timestamp) {
				t.Fatalf("receipt %+v", rr)
			}
			if _, err := alice.React(ctx, bob.AccountID(), got.Ref(), "👍"); err != nil {
				t.Fatal(err)
			}
			re := session.WaitEvent[*session.Reaction](t, br, bob.PollOnce, nil)
			if re.Emoji != "👍" || re.Target != reply.Ref || re.Removed {
				t.Fatalf("reaction %+v", re)
			}
			if err := alice.SendTyping(ctx, bob.AccountID(), true); err != nil {
				t.Fatal(err)
			}
			if ty := session.WaitEvent[*session.Typing](t, br, bob.PollOnce, nil); !ty.Started {
				t.Fatal("typing")
			}
			if err := alice.Unsend(ctx, bob.AccountID(), sent.Ref); err != nil {
				t.Fatal(err)
			}
			un := session.WaitEvent[*session.Unsend](t, br, bob.PollOnce, nil)
			if un.Target != sent.Ref {
				t.Fatalf("unsend %+v", un)
			}
			// Every message arrived exactly once.
			if count := session.CountEvents(br, func(m *session.Message) bool { return m.Text == "hello bob" }); count != 1 {
				t.Fatalf("message delivered %d times", count)
			}
		})
	}
}

func TestSyncCopyReachesLinkedDevice(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	ctx := context.Background()
	keys, _ := crypto.GenerateKeys(nil)
	phone, _ := session.NewTestClient(t, session.WithKeys(keys), session.WithNetworkConfig(session.NetConfig(dn, true)))
	laptop, lr := session.NewTestClient(t, session.WithKeys(keys), session.WithNetworkConfig(session.NetConfig(dn, true)))
	bob, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))
	if _, err := phone.SendText(ctx, bob.AccountID(), "from my phone"); err != nil {
		t.Fatal(err)
	}
	m := session.WaitEvent[*session.Message](t, lr, laptop.PollOnce, nil)
	if !m.Sync || m.To != bob.AccountID() || m.From != keys.AccountID() || m.Text != "from my phone" {
		t.Fatalf("sync copy %+v", m)
	}
}

func TestRestartLosesAndRepeatsNothing(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))

	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	bot, br := session.NewTestClient(t, session.WithStore(st), session.WithNetworkConfig(session.NetConfig(dn, true)))
	botID := bot.AccountID()
	for _, text := range []string{"one", "two"} {
		if _, err := alice.SendText(ctx, botID, text); err != nil {
			t.Fatal(err)
		}
	}
	session.WaitEvent[*session.Message](t, br, bot.PollOnce, func(m *session.Message) bool { return m.Text == "two" })
	bot.Close()
	st.Close()

	if _, err := alice.SendText(ctx, botID, "three"); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// No keys given: the store's only account is used again.
	bot2, br2 := session.NewTestClient(t, session.WithStore(st), session.WithNetworkConfig(session.NetConfig(dn, true)))
	if bot2.AccountID() != botID {
		t.Fatal("restart made a new account")
	}
	session.WaitEvent[*session.Message](t, br2, bot2.PollOnce, func(m *session.Message) bool { return m.Text == "three" })
	for _, e := range br2.Events() {
		if m, ok := e.(*session.Message); ok && m.Text != "three" {
			t.Fatalf("message %q delivered again after restart", m.Text)
		}
	}
}

func TestRunDeliversAndStops(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	bob, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)), session.WithPollInterval(50*time.Millisecond))
	events, stop := bob.Subscribe(16)
	defer stop()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bob.Run(ctx) }()
	if _, err := alice.SendText(context.Background(), bob.AccountID(), "ping"); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(30 * time.Second)
	var sawConnected bool
	for {
		select {
		case e := <-events:
			switch e := e.(type) {
			case *session.Connected:
				sawConnected = true
				if err := bob.Run(ctx); !errors.Is(err, session.ErrAlreadyRunning) {
					t.Errorf("second Run: %v", err)
				}
			case *session.Message:
				if e.Text != "ping" || !sawConnected {
					t.Fatalf("got %+v (connected %v)", e, sawConnected)
				}
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run returned %v", err)
				}
				return
			}
		case <-timeout:
			t.Fatal("no message")
		}
	}
}

func TestZeroConfigClient(t *testing.T) {
	t.Parallel()
	c, err := session.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.AccountID().Prefix() != crypto.PrefixStandard {
		t.Fatal("no account")
	}
	if _, err := session.NewClient(session.WithRecoveryPassword("not a password")); !errors.Is(err, crypto.ErrMnemonicLength) {
		t.Fatalf("bad password: %v", err)
	}
	s := store.NewMemory()
	for i := 0; i < 2; i++ {
		k, _ := crypto.GenerateKeys(nil)
		s.PutAccount(context.Background(), store.Account{ID: k.AccountID(), Seed: k.Seed()})
	}
	if _, err := session.NewClient(session.WithStore(s)); !errors.Is(err, session.ErrAmbiguousAccount) {
		t.Fatalf("two accounts: %v", err)
	}
	if _, err := c.SendText(context.Background(), crypto.NewAccountID(crypto.PrefixBlinded15, [32]byte{}), "x"); !errors.Is(err, session.ErrInvalidRecipient) {
		t.Fatalf("blinded recipient: %v", err)
	}
}

func TestResolveName(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	k, _ := crypto.GenerateKeys(nil)
	if err := dn.RegisterName("alice", k.AccountID().String()); err != nil {
		t.Fatal(err)
	}
	c, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	id, err := c.Network().ResolveName(context.Background(), "Alice")
	if err != nil || id != k.AccountID() {
		t.Fatalf("ResolveName = %s, %v", id, err)
	}
	if _, err := c.Network().ResolveName(context.Background(), "nobody"); !errors.Is(err, sns.ErrNotFound) {
		t.Fatalf("unregistered name: %v", err)
	}
}
