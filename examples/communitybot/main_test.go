package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/examples/internal/botkit"
	"github.com/sessiongo/sdk/examples/internal/botkit/botkittest"
	"github.com/sessiongo/sdk/session"
)

// The devnet demo: the bot answers !ping with a quoted pong and a reaction, and !dm with a
// blinded DM that reveals its real Account ID.
func TestCommunitybotOnDevnet(t *testing.T) {
	var out bytes.Buffer
	if err := runDevnet(context.Background(), &out, false); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`bot → room: "pong" (a reply to the user: true)`,
		"bot reacted 👍 to !ping",
		`bot → user (blinded DM): "Hi! This is a private message through the community inbox.", from the bot's real Account ID: true`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// The bot joins the room of an external devnet named by its network file (what `sessionctl
// devnet` writes) and answers there.
func TestCommunitybotOnExternalDevnet(t *testing.T) {
	run := func(ctx context.Context, f *botkit.Flags) error { return runReal(ctx, "", f) } // the room of the network file
	bot := botkittest.StartBot(t, run, sogsd.RoomConfig{Token: "lobby", Name: "Lobby"})
	user, room := bot.User, bot.Rooms[0]
	// The bot joins when it starts and reads the room from then on: ping until it answers
	// (slowly: the room allows 5 posts in 16 s).
	ctx := botkittest.Context(t)
	tick := time.NewTicker(3 * time.Second)
	defer tick.Stop()
	if _, err := user.SendCommunityMessage(ctx, room, "!ping"); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case e := <-bot.Events:
			if m, ok := e.(*session.CommunityMessage); ok && !m.Self && m.Text == "pong" {
				return
			}
		case <-tick.C:
			if _, err := user.SendCommunityMessage(ctx, room, "!ping"); err != nil {
				t.Log(err)
			}
		case <-ctx.Done():
			t.Fatal("no pong")
		}
	}
}
