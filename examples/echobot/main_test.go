package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
)

func TestEchobotOnDevnet(t *testing.T) {
	if err := runDevnet(context.Background(), false); err != nil {
		t.Fatal(err)
	}
}

// The bot joins an external devnet through its network file (what `sessionctl devnet` writes)
// and answers a user there.
func TestEchobotOnExternalDevnet(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := devnettest.Start(t, devnet.WithNodes(8))
	dir := t.TempDir()
	b, err := json.Marshal(session.NetworkFile{Seeds: []string{dn.SeedURL()}, CACertPEM: string(dn.CACertPEM()), PathDiversity: "nodes"})
	if err != nil {
		t.Fatal(err)
	}
	netFile := filepath.Join(dir, "devnet.json")
	if err := os.WriteFile(netFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "echobot.db")
	// The bot's account, made first so that the test knows whom to message.
	keys, err := crypto.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutAccount(ctx, store.Account{ID: keys.AccountID(), Seed: keys.Seed()}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	botID := keys.AccountID()
	cfg, err := session.LoadNetworkConfig(netFile)
	if err != nil {
		t.Fatal(err)
	}
	botCtx, stopBot := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- runReal(botCtx, db, netFile, false, false) }()
	defer func() {
		stopBot()
		if err := <-done; err != nil {
			t.Errorf("bot: %v", err)
		}
	}()

	user, err := session.NewClient(session.WithNetworkConfig(cfg), session.WithPollInterval(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer user.Close()
	events, stopSub := user.Subscribe(16)
	defer stopSub()
	go user.Run(botCtx)
	sent, err := user.SendText(ctx, botID, "anyone on this devnet?")
	if err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-events:
			if m, ok := e.(*session.Message); ok && m.From == botID {
				if m.Text != "anyone on this devnet?" || m.Quote == nil || *m.Quote != sent.Ref {
					t.Fatalf("echo %+v", m)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("no echo")
		}
	}
}
