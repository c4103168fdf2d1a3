package session_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/sns"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
)

func startDevnet(t testing.TB, opts ...devnet.Option) *devnet.Network {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dn, err := devnet.Start(ctx, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	return dn
}

func netConfig(dn *devnet.Network, direct bool) session.NetworkConfig {
	return session.NetworkConfig{Seeds: []string{dn.SeedURL()}, SeedRootCAs: dn.CertPool(), Direct: direct,
		PathDiversity: onion.DistinctNodes}
}

// recorder collects a client's events.
type recorder struct {
	mu     sync.Mutex
	events []session.Event
}

func (r *recorder) handle(evt session.Event) {
	r.mu.Lock()
	r.events = append(r.events, evt)
	r.mu.Unlock()
}

func (r *recorder) all() []session.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]session.Event(nil), r.events...)
}

func newClient(t testing.TB, opts ...session.Option) (*session.Client, *recorder) {
	t.Helper()
	c, err := session.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &recorder{}
	c.AddEventHandler(r.handle)
	return c, r
}

// pollFor polls c until an event of type T satisfying ok arrives.
func pollFor[T any](t testing.TB, c *session.Client, r *recorder, ok func(T) bool) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		for _, e := range r.all() {
			if v, is := e.(T); is && (ok == nil || ok(v)) {
				return v
			}
		}
		if err := c.PollOnce(ctx); err != nil {
			t.Logf("poll: %v", err)
		}
		if ctx.Err() != nil {
			var zero T
			t.Fatalf("no %T event arrived; events: %#v", zero, r.all())
			return zero
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestClientExchange(t *testing.T) {
	dn := startDevnet(t)
	for _, mode := range []struct {
		name   string
		direct bool
	}{{"onion", false}, {"direct", true}} {
		t.Run(mode.name, func(t *testing.T) {
			ctx := context.Background()
			alice, ar := newClient(t, session.WithNetworkConfig(netConfig(dn, mode.direct)), session.WithProfile(session.Profile{DisplayName: "Alice"}))
			bob, br := newClient(t, session.WithNetworkConfig(netConfig(dn, mode.direct)))

			sent, err := alice.SendText(ctx, bob.AccountID(), "hello bob")
			if err != nil {
				t.Fatal(err)
			}
			if len(sent.Hash) != 43 || sent.Stored == 0 || sent.SyncHash == "" || sent.SyncErr != nil {
				t.Fatalf("send result %+v", sent)
			}
			req := pollFor[*session.MessageRequest](t, bob, br, nil)
			if req.From != alice.AccountID() || req.Profile == nil || req.Profile.DisplayName != "Alice" {
				t.Fatalf("request %+v", req)
			}
			msg := pollFor[*session.Message](t, bob, br, nil)
			if msg.Text != "hello bob" || msg.From != alice.AccountID() || !msg.Request || !msg.Timestamp.Equal(sent.Timestamp) || msg.Hash != sent.Hash {
				t.Fatalf("message %+v, sent %+v", msg, sent)
			}

			if err := bob.AcceptMessageRequest(ctx, alice.AccountID()); err != nil {
				t.Fatal(err)
			}
			pollFor[*session.MessageRequestResponse](t, alice, ar, func(r *session.MessageRequestResponse) bool { return r.Approved })

			reply, err := bob.SendText(ctx, alice.AccountID(), "hi alice", session.WithQuote(msg.Ref()))
			if err != nil {
				t.Fatal(err)
			}
			got := pollFor[*session.Message](t, alice, ar, func(m *session.Message) bool { return m.Text == "hi alice" })
			if got.Quote == nil || *got.Quote != msg.Ref() || got.Request {
				t.Fatalf("reply %+v", got)
			}
			if err := alice.SendReadReceipt(ctx, bob.AccountID(), got.Ref()); err != nil {
				t.Fatal(err)
			}
			rr := pollFor[*session.ReadReceipt](t, bob, br, nil)
			if len(rr.Timestamps) != 1 || !rr.Timestamps[0].Equal(reply.Timestamp) {
				t.Fatalf("receipt %+v", rr)
			}
			if _, err := alice.React(ctx, bob.AccountID(), got.Ref(), "👍"); err != nil {
				t.Fatal(err)
			}
			re := pollFor[*session.Reaction](t, bob, br, nil)
			if re.Emoji != "👍" || re.Target != reply.Ref || re.Removed {
				t.Fatalf("reaction %+v", re)
			}
			if err := alice.SendTyping(ctx, bob.AccountID(), true); err != nil {
				t.Fatal(err)
			}
			if ty := pollFor[*session.Typing](t, bob, br, nil); !ty.Started {
				t.Fatal("typing")
			}
			if err := alice.Unsend(ctx, bob.AccountID(), sent.Ref); err != nil {
				t.Fatal(err)
			}
			un := pollFor[*session.Unsend](t, bob, br, nil)
			if un.Target != sent.Ref {
				t.Fatalf("unsend %+v", un)
			}
			// Every message arrived exactly once.
			count := 0
			for _, e := range br.all() {
				if m, ok := e.(*session.Message); ok && m.Text == "hello bob" {
					count++
				}
			}
			if count != 1 {
				t.Fatalf("message delivered %d times", count)
			}
		})
	}
}

func TestSyncCopyReachesLinkedDevice(t *testing.T) {
	dn := startDevnet(t)
	ctx := context.Background()
	keys, _ := crypto.GenerateKeys(nil)
	phone, _ := newClient(t, session.WithKeys(keys), session.WithNetworkConfig(netConfig(dn, true)))
	laptop, lr := newClient(t, session.WithKeys(keys), session.WithNetworkConfig(netConfig(dn, true)))
	bob, _ := newClient(t, session.WithNetworkConfig(netConfig(dn, true)))
	if _, err := phone.SendText(ctx, bob.AccountID(), "from my phone"); err != nil {
		t.Fatal(err)
	}
	m := pollFor[*session.Message](t, laptop, lr, nil)
	if !m.Sync || m.To != bob.AccountID() || m.From != keys.AccountID() || m.Text != "from my phone" {
		t.Fatalf("sync copy %+v", m)
	}
}

func TestRestartLosesAndRepeatsNothing(t *testing.T) {
	dn := startDevnet(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bot.db")
	alice, _ := newClient(t, session.WithNetworkConfig(netConfig(dn, true)))

	st, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	bot, br := newClient(t, session.WithStore(st), session.WithNetworkConfig(netConfig(dn, true)))
	botID := bot.AccountID()
	for _, text := range []string{"one", "two"} {
		if _, err := alice.SendText(ctx, botID, text); err != nil {
			t.Fatal(err)
		}
	}
	pollFor[*session.Message](t, bot, br, func(m *session.Message) bool { return m.Text == "two" })
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
	bot2, br2 := newClient(t, session.WithStore(st), session.WithNetworkConfig(netConfig(dn, true)))
	if bot2.AccountID() != botID {
		t.Fatal("restart made a new account")
	}
	pollFor[*session.Message](t, bot2, br2, func(m *session.Message) bool { return m.Text == "three" })
	for _, e := range br2.all() {
		if m, ok := e.(*session.Message); ok && m.Text != "three" {
			t.Fatalf("message %q delivered again after restart", m.Text)
		}
	}
}

func TestRunDeliversAndStops(t *testing.T) {
	dn := startDevnet(t)
	alice, _ := newClient(t, session.WithNetworkConfig(netConfig(dn, false)))
	bob, _ := newClient(t, session.WithNetworkConfig(netConfig(dn, false)), session.WithPollInterval(50*time.Millisecond))
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
	dn := startDevnet(t)
	k, _ := crypto.GenerateKeys(nil)
	if err := dn.RegisterName("alice", k.AccountID().String()); err != nil {
		t.Fatal(err)
	}
	c, _ := newClient(t, session.WithNetworkConfig(netConfig(dn, false)))
	id, err := c.Network().ResolveName(context.Background(), "Alice")
	if err != nil || id != k.AccountID() {
		t.Fatalf("ResolveName = %s, %v", id, err)
	}
	if _, err := c.Network().ResolveName(context.Background(), "nobody"); !errors.Is(err, sns.ErrNotFound) {
		t.Fatalf("unregistered name: %v", err)
	}
}
