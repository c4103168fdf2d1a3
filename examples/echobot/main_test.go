package main

import (
	"testing"

	"github.com/sessiongo/sdk/examples/internal/botkit/botkittest"
	"github.com/sessiongo/sdk/session"
)

func TestEchobotOnDevnet(t *testing.T) { botkittest.RunDemo(t, runDevnet) }

// The bot joins an external devnet through its network file (what `sessionctl devnet` writes)
// and answers a user there.
func TestEchobotOnExternalDevnet(t *testing.T) {
	bot := botkittest.StartBot(t, runReal)
	sent, err := bot.User.SendText(botkittest.Context(t), bot.ID, "anyone on this devnet?")
	if err != nil {
		t.Fatal(err)
	}
	botkittest.WaitFor(t, bot.Events, "echo", func(e session.Event) bool {
		m, ok := e.(*session.Message)
		if !ok || m.From != bot.ID {
			return false
		}
		if m.Text != "anyone on this devnet?" || m.Quote == nil || *m.Quote != sent.Ref {
			t.Fatalf("echo %+v", m)
		}
		return true
	})
}
