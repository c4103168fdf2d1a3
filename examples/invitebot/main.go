// Command invitebot is a Session bot that answers community invitations: when one of its
// operators invites it to a community room in a 1:1 conversation, it joins the room (one call),
// says hello there and tells the inviter. Invitations from anyone else are ignored (anyone can
// send one): the operators are the Account IDs in INVITEBOT_ALLOW, separated by commas.
//
// On the real network it keeps its account in a SQLite file:
//
//	INVITEBOT_ALLOW=05…,05… go run ./examples/invitebot -db invitebot.db
//
// With -devnet it runs offline: it starts a devnet and a community server in-process, a user
// invites the bot to a room and sees its hello there, then it exits.
//
// On a devnet started with `sessionctl devnet`, the line that command prints is all it takes:
//
//	export SESSIONGO_NETWORK=/tmp/sessiongo-devnet-….json
//	go run ./examples/invitebot -db invitebot.db   # or: -network /tmp/sessiongo-devnet-….json
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/examples/internal/botkit"
	"github.com/sessiongo/sdk/session"
)

// allowEnv names the variable that lists the operators whose invitations the bot accepts.
const allowEnv = "INVITEBOT_ALLOW"

// operators returns the check of an inviter against list, Account IDs separated by commas
// (an ID that does not parse is reported and left out).
func operators(list string) func(crypto.AccountID) bool {
	allowed := map[crypto.AccountID]bool{}
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		id, err := crypto.ParseAccountID(s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", allowEnv, err)
			continue
		}
		allowed[id] = true
	}
	return func(id crypto.AccountID) bool { return allowed[id] }
}

// serve makes client accept the community invitations of the inviters allowed.
func serve(client *session.Client, allowed func(crypto.AccountID) bool) {
	client.AddEventHandler(func(evt session.Event) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		switch e := evt.(type) {
		case *session.CommunityInvite:
			if !allowed(e.From) {
				fmt.Fprintf(os.Stderr, "ignored an invitation to %q from %s (not in %s)\n", e.Name, e.From, allowEnv)
				return
			}
			info, err := client.AcceptCommunityInvite(ctx, e)
			if err != nil {
				fmt.Fprintln(os.Stderr, "join:", err)
				_, _ = client.SendText(ctx, e.From, "I could not join "+e.Name+": "+err.Error())
				return
			}
			if _, err := client.SendCommunityMessage(ctx, e.URL, "Hello "+info.Name+"! "+e.From.String()+" invited me."); err != nil {
				fmt.Fprintln(os.Stderr, "post:", err)
			}
			if _, err := client.SendText(ctx, e.From, "Thanks, I joined "+info.Name+"."); err != nil {
				fmt.Fprintln(os.Stderr, "reply:", err)
			}
		case *session.PollError:
			fmt.Fprintln(os.Stderr, "poll failed, retrying:", e.Err)
		}
	})
}

// runReal runs the bot until ctx ends, with its account in the SQLite file f.DB, on the network
// of f.Network (a network file from `sessionctl devnet`) or, without one, on Session's mainnet.
func runReal(ctx context.Context, f *botkit.Flags) error {
	// Read at each invitation, so that the list can change without a restart.
	allowed := func(id crypto.AccountID) bool { return operators(os.Getenv(allowEnv))(id) }
	serveAllowed := func(c *session.Client) { serve(c, allowed) }
	return botkit.Serve(ctx, f, serveAllowed, session.WithName("invitebot"), session.WithProfile(session.Profile{DisplayName: "Invite Bot"}))
}

// runDevnet is the offline demo: a user invites the bot to a room of a community server and
// sees its hello there.
func runDevnet(ctx context.Context, f *botkit.Flags) error {
	cfg := botkit.DemoConfig{Logger: botkit.Logger(f.Verbose), Room: &sogsd.RoomConfig{Token: "lounge", Name: "Lounge"}}
	return botkit.RunDemo(ctx, cfg, func(ctx context.Context, d *botkit.Demo) error {
		serve(d.Bot, func(id crypto.AccountID) bool { return id == d.User.AccountID() })
		if _, err := d.User.JoinCommunity(ctx, d.RoomURL); err != nil {
			return err
		}
		events, stopSub := d.User.Subscribe(16)
		defer stopSub()
		defer d.Run(ctx)()

		if _, err := d.User.SendCommunityInvite(ctx, d.Bot.AccountID(), d.RoomURL, "Lounge"); err != nil {
			return err
		}
		fmt.Println("user invited the bot to the Lounge")
		sawPost, sawThanks := false, false
		return botkit.Wait(ctx, events, "join", func(e session.Event) bool {
			switch e := e.(type) {
			case *session.CommunityMessage:
				fmt.Printf("in the room: %q\n", e.Text)
				sawPost = true
			case *session.Message:
				fmt.Printf("bot → user: %q\n", e.Text)
				sawThanks = true
			}
			return sawPost && sawThanks
		})
	})
}

func main() {
	botkit.Main("invitebot", runReal, runDevnet) // flags: -db, -network, -devnet, -direct, -v
}
