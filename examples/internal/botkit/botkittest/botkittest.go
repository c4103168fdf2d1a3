// Package botkittest runs the example bots in their tests, both ways a user runs them: the
// offline demo (-devnet), and the real program on a devnet of the test named by a network file
// (what `sessionctl devnet` writes), with a user on the same network who talks to the bot.
package botkittest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/examples/internal/botkit"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
)

// Timeout bounds each wait for the bot, and the user's calls.
const Timeout = time.Minute

// Context is a context for t's calls to the network: it ends after Timeout or with t.
func Context(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), Timeout)
	t.Cleanup(cancel)
	return ctx
}

// RunDemo runs a bot's offline demo (its -devnet mode, without other flags); t fails if the
// demo does.
func RunDemo(t *testing.T, demo func(ctx context.Context, f *botkit.Flags) error) {
	t.Helper()
	if err := demo(context.Background(), &botkit.Flags{}); err != nil {
		t.Fatal(err)
	}
}

// Bot is a bot program running in a test, and a user on its network.
type Bot struct {
	// ID is the bot's Account ID.
	ID crypto.AccountID
	// User is a new account on the bot's network, running until the test ends.
	User *session.Client
	// Events are the user's events.
	Events <-chan session.Event
	// Rooms are the join URLs of the rooms StartBot made, which the user has joined.
	Rooms []string
}

// StartBot starts an 8-node devnet (with a community server holding rooms, if any) and writes
// its network file, naming the rooms; makes the bot's account in a SQLite file; and runs the
// bot's program (run, given -db and -network) until t ends, failing t if run returns an error.
// Then it starts the user.
func StartBot(t *testing.T, run func(ctx context.Context, f *botkit.Flags) error, rooms ...sogsd.RoomConfig) *Bot {
	t.Helper()
	netFile, urls := startNetwork(t, rooms)
	b := &Bot{Rooms: urls}
	f := &botkit.Flags{DB: filepath.Join(t.TempDir(), "bot.db"), Network: netFile}
	b.ID = newAccount(t, f.DB)

	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, f) }()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("bot: %v", err)
		}
	})
	b.User, b.Events = startUser(t, netFile, b.Rooms)
	return b
}

// newAccount makes a new account in the SQLite file db, for the bot to open.
func newAccount(t *testing.T, db string) crypto.AccountID {
	t.Helper()
	keys, err := crypto.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := Context(t)
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.PutAccount(ctx, store.Account{ID: keys.AccountID(), Seed: keys.Seed()}); err != nil {
		t.Fatal(err)
	}
	return keys.AccountID()
}

// startUser makes a user with a new account on the network of netFile, joins it to rooms and
// runs it until t ends.
func startUser(t *testing.T, netFile string, rooms []string) (*session.Client, <-chan session.Event) {
	t.Helper()
	cfg, err := session.LoadNetworkConfig(netFile)
	if err != nil {
		t.Fatal(err)
	}
	user, err := session.NewClient(session.WithNetworkConfig(cfg), session.WithPollInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for _, room := range rooms {
		if _, err := user.JoinCommunity(Context(t), room); err != nil {
			user.Close()
			t.Fatal(err)
		}
	}
	events, unsubscribe := user.Subscribe(16)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); user.Run(ctx) }()
	t.Cleanup(func() {
		stop()
		<-done
		unsubscribe()
		user.Close()
	})
	return user, events
}

// WaitFor fails t unless ok accepts one of events within Timeout; what names the awaited event.
func WaitFor(t *testing.T, events <-chan session.Event, what string, ok func(session.Event) bool) {
	t.Helper()
	if err := botkit.Wait(Context(t), events, what, ok); err != nil {
		t.Fatal(err)
	}
}
