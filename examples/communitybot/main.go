// Command communitybot is a Session community (SOGS) bot: it joins a room, answers "!ping" with
// "pong" (quoting the command) and a 👍 reaction, and answers "!dm" with a blinded direct
// message through the server's inbox, which reaches the sender without knowing their Account
// ID.
//
// By default it runs offline: it starts a devnet and a community server in-process, joins a
// room there with a demo user who sends both commands, prints what the user gets back, and
// exits:
//
//	go run ./examples/communitybot
//
// Given a join URL it runs on the real network (through onion paths), keeping its account and
// room state in a SQLite file so that it neither repeats nor misses messages across restarts:
//
//	go run ./examples/communitybot -url 'https://open.getsession.org/session?public_key=…' -db bot.db
//
// On a devnet started with `sessionctl devnet`, the network file it writes names the devnet's
// room, so the line that command prints is all it takes:
//
//	export SESSIONGO_NETWORK=/tmp/sessiongo-devnet-….json
//	go run ./examples/communitybot -db bot.db   # or: -network /tmp/sessiongo-devnet-….json
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/examples/internal/botkit"
	"github.com/sessiongo/sdk/session"
)

func main() {
	joinURL := flag.String("url", "", "community room join URL (none, and no -network: the in-process devnet demo)")
	runDemo := func(ctx context.Context, f *botkit.Flags) error { return runDevnet(ctx, os.Stdout, f.Verbose) }
	botkit.Main("communitybot", func(ctx context.Context, f *botkit.Flags) error { // flags: -db, -network, -devnet, -direct, -v
		if *joinURL == "" && f.Network == "" {
			return runDemo(ctx, f) // no room given: the offline demo
		}
		return runReal(ctx, *joinURL, f)
	}, runDemo)
}

// serve makes bot answer the commands posted in its rooms.
func serve(bot *session.Client) {
	bot.AddEventHandler(func(evt session.Event) {
		switch e := evt.(type) {
		case *session.CommunityMessage:
			if e.Self {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			switch strings.TrimSpace(e.Text) {
			case "!ping":
				quote := session.WithQuote(e.Ref())
				if _, err := bot.SendCommunityMessage(ctx, e.Room, "pong", quote); err != nil {
					fmt.Fprintln(os.Stderr, "reply:", err)
				}
				if err := bot.ReactInCommunity(ctx, e.Room, e.ID, "👍"); err != nil {
					fmt.Fprintln(os.Stderr, "react:", err)
				}
			case "!dm":
				if _, err := bot.SendCommunityDM(ctx, e.Room, e.From, "Hi! This is a private message through the community inbox."); err != nil {
					fmt.Fprintln(os.Stderr, "DM:", err)
				}
			}
		case *session.CommunityDM:
			if !e.Outgoing {
				fmt.Printf("DM from %s (Account ID %s): %q\n", e.From, e.FromAccount, e.Text)
			}
		case *session.PollError:
			fmt.Fprintf(os.Stderr, "poll failed (retrying in %v): %v\n", e.Backoff.Round(time.Second), e.Err)
		}
	})
}

// runReal runs the bot in the room of joinURL until ctx ends, with its account and room state in
// the SQLite file f.DB, on the network of f.Network (a network file from `sessionctl devnet`,
// whose first room is the default joinURL) or, without one, on Session's mainnet.
func runReal(ctx context.Context, joinURL string, f *botkit.Flags) error {
	if nf, err := f.NetworkFile(); err != nil {
		return err
	} else if joinURL == "" && nf != nil && len(nf.Communities) > 0 {
		joinURL = nf.Communities[0]
	}
	if joinURL == "" {
		return errors.New("no room: give -url (the network file names none)")
	}
	bot, closeBot, err := botkit.Open(ctx, f, session.WithName("communitybot"),
		session.WithProfile(session.Profile{DisplayName: "Community Bot"}))
	if err != nil {
		return err
	}
	defer closeBot()
	info, err := bot.JoinCommunity(ctx, joinURL)
	if err != nil {
		return err
	}
	fmt.Printf("joined %q; answering !ping and !dm\n", info.Name)
	serve(bot)
	return bot.Run(ctx)
}

// runDevnet is the offline demo: a devnet, a community server with one room, the bot, and a
// user who sends the commands. It writes what the user sees to out.
func runDevnet(ctx context.Context, out io.Writer, verbose bool) error {
	cfg := botkit.DemoConfig{Logger: botkit.Logger(verbose), Room: &sogsd.RoomConfig{Token: "lobby", Name: "Devnet Lobby"},
		BotOptions:  []session.Option{session.WithProfile(session.Profile{DisplayName: "Community Bot"})},
		UserOptions: []session.Option{session.WithProfile(session.Profile{DisplayName: "Demo User"})}}
	return botkit.RunDemo(ctx, cfg, func(ctx context.Context, d *botkit.Demo) error {
		bot, user, room := d.Bot, d.User, d.RoomURL
		for _, c := range []*session.Client{bot, user} {
			if _, err := c.JoinCommunity(ctx, room); err != nil {
				return err
			}
		}
		fmt.Fprintln(out, "room:", room)
		serve(bot)
		events, stopSub := user.Subscribe(16)
		defer stopSub()
		defer d.Run(ctx)()

		ping, err := user.SendCommunityMessage(ctx, room, "!ping")
		if err != nil {
			return err
		}
		fmt.Fprintln(out, "user → room: !ping")
		gotPong, gotReaction := false, false
		if err := botkit.Wait(ctx, events, "pong and reaction", func(e session.Event) bool {
			switch e := e.(type) {
			case *session.CommunityMessage:
				if !e.Self && e.Text == "pong" {
					fmt.Fprintf(out, "bot → room: %q (a reply to the user: %v)\n", e.Text, e.Quote != nil && e.Quote.Author == ping.Author)
					gotPong = true
				}
			case *session.CommunityReaction:
				if r, ok := e.Reactions["👍"]; ok && e.MessageID == ping.ID && r.Count == 1 && !gotReaction {
					fmt.Fprintln(out, "bot reacted 👍 to !ping")
					gotReaction = true
				}
			}
			return gotPong && gotReaction
		}); err != nil {
			return err
		}

		if _, err := user.SendCommunityMessage(ctx, room, "!dm"); err != nil {
			return err
		}
		fmt.Fprintln(out, "user → room: !dm")
		return botkit.Wait(ctx, events, "DM", func(e session.Event) bool {
			d, ok := e.(*session.CommunityDM)
			if !ok || d.Outgoing {
				return false
			}
			fmt.Fprintf(out, "bot → user (blinded DM): %q, from the bot's real Account ID: %v\n", d.Text, d.FromAccount == bot.AccountID())
			return true
		})
	})
}
