// Command disappearbot is a Session bot that honours disappearing-messages settings: it answers
// every message, and its answers disappear the way the conversation says (the Client applies
// each conversation's setting to everything it sends there, and follows the changes the other
// side makes). It marks what it reads as read, which starts the timers of messages that
// disappear after reading.
//
// On the real network it keeps its account in a SQLite file:
//
//	go run ./examples/disappearbot -db disappearbot.db
//
// With -devnet it runs offline: a user turns disappearing messages on and off and prints what
// the bot's answers carry, then it exits.
//
// On a devnet started with `sessionctl devnet`, the line that command prints is all it takes:
//
//	export SESSIONGO_NETWORK=/tmp/sessiongo-devnet-….json
//	go run ./examples/disappearbot -db disappearbot.db   # or: -network /tmp/sessiongo-devnet-….json
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/sessiongo/sdk/examples/internal/botkit"
	"github.com/sessiongo/sdk/session"
)

// describe says a setting in words.
func describe(e session.Expiry) string {
	if e.Off() {
		return "off"
	}
	return fmt.Sprintf("%v, %v", e.Mode, e.Timer)
}

// serve makes client answer messages and follow disappearing settings.
func serve(client *session.Client) {
	client.AddEventHandler(func(evt session.Event) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		switch e := evt.(type) {
		case *session.DisappearingChanged:
			// The Client already applies the new setting; say so in the conversation.
			if e.By.IsZero() || e.By == client.AccountID() { // a group, or our own change
				return
			}
			text := "Disappearing messages are now " + describe(e.Expiry) + ": my answers follow."
			if _, err := client.SendText(ctx, e.Conversation, text); err != nil {
				fmt.Fprintln(os.Stderr, "reply:", err)
			}
		case *session.Message:
			if e.Sync {
				return
			}
			if e.Request {
				if err := client.AcceptMessageRequest(ctx, e.From); err != nil {
					fmt.Fprintln(os.Stderr, "accept:", err)
				}
			}
			// Reading starts the timers of messages that disappear after reading.
			if err := client.SendReadReceipt(ctx, e.From, e.Ref()); err != nil {
				fmt.Fprintln(os.Stderr, "read:", err)
			}
			setting, _ := client.Disappearing(ctx, e.From)
			reply := fmt.Sprintf("got %q (disappearing messages: %s)", e.Text, describe(setting))
			if _, err := client.SendText(ctx, e.From, reply, session.WithQuote(e.Ref())); err != nil {
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
	return botkit.Serve(ctx, f, serve, session.WithName("disappearbot"), session.WithProfile(session.Profile{DisplayName: "Disappearing Bot"}))
}

// runDevnet is the offline demo: a user turns disappearing messages on and off and checks what
// the bot's answers carry.
func runDevnet(ctx context.Context, f *botkit.Flags) error {
	return botkit.RunDemo(ctx, botkit.DemoConfig{Logger: botkit.Logger(f.Verbose)}, func(ctx context.Context, d *botkit.Demo) error {
		bot, user := d.Bot, d.User
		serve(bot)
		events, stopSub := user.Subscribe(16)
		defer stopSub()
		defer d.Run(ctx)()

		// waitReply waits for the bot's answer quoting a message and checks its expiry.
		waitReply := func(want *session.Expiry) error {
			var got *session.Message
			if err := botkit.Wait(ctx, events, "answer", func(e session.Event) bool {
				got, _ = e.(*session.Message)
				return got != nil && got.Quote != nil
			}); err != nil {
				return err
			}
			fmt.Printf("bot → user: %q, expiry %+v\n", got.Text, got.Expiry)
			if (want == nil) != (got.Expiry == nil) || (want != nil && *want != *got.Expiry) {
				return fmt.Errorf("answer expiry %+v, want %+v", got.Expiry, want)
			}
			return nil
		}
		if _, err := user.SendText(ctx, bot.AccountID(), "hello"); err != nil {
			return err
		}
		if err := waitReply(nil); err != nil {
			return err
		}
		on := session.Expiry{Mode: session.ExpiryAfterSend, Timer: 5 * time.Minute}
		if err := user.SetDisappearing(ctx, bot.AccountID(), on); err != nil {
			return err
		}
		fmt.Println("user turned disappearing messages on:", describe(on))
		if _, err := user.SendText(ctx, bot.AccountID(), "this disappears"); err != nil {
			return err
		}
		if err := waitReply(&on); err != nil {
			return err
		}
		if err := user.SetDisappearing(ctx, bot.AccountID(), session.Expiry{}); err != nil {
			return err
		}
		fmt.Println("user turned disappearing messages off")
		if _, err := user.SendText(ctx, bot.AccountID(), "this stays"); err != nil {
			return err
		}
		return waitReply(nil)
	})
}

func main() {
	botkit.Main("disappearbot", runReal, runDevnet) // flags: -db, -network, -devnet, -direct, -v
}
