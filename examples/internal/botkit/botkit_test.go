package botkit_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/examples/internal/botkit"
	"github.com/sessiongo/sdk/examples/internal/botkit/botkittest"
)

// Open makes a new account in a new file, and opens the same account from then on.
func TestOpenKeepsTheAccount(t *testing.T) {
	t.Parallel()
	f := &botkit.Flags{DB: filepath.Join(t.TempDir(), "bot.db"),
		Network: botkittest.NetworkFile(t, devnettest.Start(t, devnet.WithNodes(3)), nil)}
	ctx := context.Background()
	first, closeFirst, err := botkit.Open(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	id := first.AccountID()
	closeFirst()
	again, closeAgain, err := botkit.Open(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAgain()
	if again.AccountID() != id {
		t.Fatalf("reopened as %s, want %s", again.AccountID(), id)
	}
}

// A network file that cannot be read is an error, and nothing is left open.
func TestOpenBadNetworkFile(t *testing.T) {
	t.Parallel()
	f := &botkit.Flags{DB: filepath.Join(t.TempDir(), "bot.db"), Network: filepath.Join(t.TempDir(), "missing.json")}
	if _, _, err := botkit.Open(context.Background(), f); err == nil {
		t.Fatal("opened with a missing network file")
	}
}
