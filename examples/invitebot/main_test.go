package main

import (
	"testing"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/examples/internal/botkit/botkittest"
	"github.com/sessiongo/sdk/session"
)

func TestInvitebotOnDevnet(t *testing.T) { botkittest.RunDemo(t, runDevnet) }

// The bot joins an external devnet through its network file (what `sessionctl devnet` writes),
// and a room there when it is invited.
func TestInvitebotOnExternalDevnet(t *testing.T) {
	bot := botkittest.StartBot(t, runReal, sogsd.RoomConfig{Token: "lounge", Name: "Lounge"})
	t.Setenv(allowEnv, bot.User.AccountID().String())
	if _, err := bot.User.SendCommunityInvite(botkittest.Context(t), bot.ID, bot.Rooms[0], "Lounge"); err != nil {
		t.Fatal(err)
	}
	botkittest.WaitFor(t, bot.Events, "thanks for the invitation", func(e session.Event) bool {
		m, ok := e.(*session.Message)
		return ok && m.From == bot.ID && m.Text == "Thanks, I joined Lounge."
	})
}

// Only the operators' invitations are accepted.
func TestOperators(t *testing.T) {
	a, b := crypto.AccountID{0x05, 1}, crypto.AccountID{0x05, 2}
	allowed := operators(" " + a.String() + ", not-an-id,,")
	if !allowed(a) || allowed(b) {
		t.Fatalf("allowed(a) %v, allowed(b) %v", allowed(a), allowed(b))
	}
	if operators("")(a) {
		t.Fatal("an empty list allows everyone")
	}
}
