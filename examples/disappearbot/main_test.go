package main

import (
	"strings"
	"testing"

	"github.com/sessiongo/sdk/examples/internal/botkit/botkittest"
	"github.com/sessiongo/sdk/session"
)

func TestDisappearbotOnDevnet(t *testing.T) { botkittest.RunDemo(t, runDevnet) }

// The bot joins an external devnet through its network file (what `sessionctl devnet` writes)
// and answers there.
func TestDisappearbotOnExternalDevnet(t *testing.T) {
	bot := botkittest.StartBot(t, runReal)
	if _, err := bot.User.SendText(botkittest.Context(t), bot.ID, "hello"); err != nil {
		t.Fatal(err)
	}
	botkittest.WaitFor(t, bot.Events, "answer", func(e session.Event) bool {
		m, ok := e.(*session.Message)
		return ok && m.From == bot.ID && strings.HasPrefix(m.Text, `got "hello"`)
	})
}
