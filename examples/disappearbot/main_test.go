package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
)

func TestDisappearbotOnDevnet(t *testing.T) {
	if err := runDevnet(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// The bot joins an external devnet through its network file (what `sessionctl devnet` writes)
// and answers there.
func TestDisappearbotOnExternalDevnet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := devnettest.Start(t, devnet.WithNodes(8))
	dir := t.TempDir()
	netFile := filepath.Join(dir, "devnet.json")
	b, _ := json.Marshal(session.NetworkFile{Seeds: []string{dn.SeedURL()}, CACertPEM: string(dn.CACertPEM()), PathDiversity: "nodes"})
	if err := os.WriteFile(netFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	keys, err := crypto.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "bot.db")
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutAccount(ctx, store.Account{ID: keys.AccountID(), Seed: keys.Seed()}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	botCtx, stopBot := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runReal(botCtx, db, netFile) }()
	defer func() {
		stopBot()
		if err := <-done; err != nil {
			t.Errorf("bot: %v", err)
		}
	}()
	cfg, err := session.LoadNetworkConfig(netFile)
	if err != nil {
		t.Fatal(err)
	}
	user, err := session.NewClient(session.WithNetworkConfig(cfg), session.WithPollInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	events, stopSub := user.Subscribe(16)
	defer stopSub()
	go user.Run(botCtx)
	if _, err := user.SendText(ctx, keys.AccountID(), "hello"); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-events:
			if m, ok := e.(*session.Message); ok && m.From == keys.AccountID() && strings.HasPrefix(m.Text, `got "hello"`) {
				return
			}
		case <-ctx.Done():
			t.Fatal("no answer")
		}
	}
}
