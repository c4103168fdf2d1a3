// Command echobot is a Session bot that answers every message with the same text, quoting it.
//
// On the real network (the default) it keeps its account in a SQLite file, so it keeps the same
// Account ID across restarts and neither loses nor repeats messages:
//
//	go run ./examples/echobot -db echobot.db
//
// It prints its Account ID (message it from any Session app) and, the first time, its Recovery
// Password. SESSION_RECOVERY_PASSWORD restores an existing account instead.
//
// On a devnet started with `sessionctl devnet`, the line that command prints is all it takes:
//
//	export SESSIONGO_NETWORK=/tmp/sessiongo-devnet-….json
//	go run ./examples/echobot -db echobot.db   # or: -network /tmp/sessiongo-devnet-….json
//
// With -devnet it runs offline: it starts a devnet in-process, plus a user who sends it a few
// messages and prints the echoes, then exits.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sessiongo/sdk/examples/internal/botkit"
	"github.com/sessiongo/sdk/session"
)

// echo makes client answer every incoming message.
func echo(client *session.Client) {
	client.AddEventHandler(func(evt session.Event) {
		switch e := evt.(type) {
		case *session.Message:
			if e.Sync {
				return // our own message, sent from another device
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if e.Request {
				if err := client.AcceptMessageRequest(ctx, e.From); err != nil {
					fmt.Fprintln(os.Stderr, "accept:", err)
				}
			}
			if _, err := client.SendText(ctx, e.From, e.Text, session.WithQuote(e.Ref())); err != nil {
				fmt.Fprintln(os.Stderr, "reply:", err)
			}
		case *session.PollError:
			fmt.Fprintf(os.Stderr, "poll failed (retrying in %v): %v\n", e.Backoff.Round(time.Second), e.Err)
		case *session.Connected:
			fmt.Println("connected; waiting for messages")
		}
	})
}

// runReal runs the bot until ctx ends, with its account in the SQLite file f.DB, on the network
// of f.Network (a network file from `sessionctl devnet`) or, without one, on Session's mainnet.
func runReal(ctx context.Context, f *botkit.Flags) error {
	return botkit.Serve(ctx, f, echo, session.WithName("echobot"), session.WithProfile(session.Profile{DisplayName: "Echo Bot"}))
}

// runDevnet is the offline demo: a user sends the bot a few messages and prints the echoes.
func runDevnet(ctx context.Context, f *botkit.Flags) error {
	cfg := botkit.DemoConfig{Logger: botkit.Logger(f.Verbose),
		BotOptions: []session.Option{session.WithProfile(session.Profile{DisplayName: "Echo Bot"})}}
	return botkit.RunDemo(ctx, cfg, func(ctx context.Context, d *botkit.Demo) error {
		fmt.Println("bot: ", d.Bot.AccountID())
		fmt.Println("user:", d.User.AccountID())
		echo(d.Bot)
		replies, stopSub := d.User.Subscribe(8)
		defer stopSub()
		defer d.Run(ctx)()

		for _, text := range []string{"hello", "is anyone there?", "echo echo"} {
			if _, err := d.User.SendText(ctx, d.Bot.AccountID(), text); err != nil {
				return err
			}
			fmt.Printf("user → bot: %q\n", text)
			if err := botkit.Wait(ctx, replies, "echo", func(e session.Event) bool {
				m, ok := e.(*session.Message)
				if ok {
					fmt.Printf("bot → user: %q\n", m.Text)
				}
				return ok
			}); err != nil {
				return err
			}
		}
		return nil
	})
}

func main() {
	botkit.Main("echobot", runReal, runDevnet) // flags: -db, -network, -devnet, -direct, -v
}
