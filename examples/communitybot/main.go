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
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store/sqlite"
)

func main() {
	joinURL := flag.String("url", "", "community room join URL (empty: an in-process devnet demo)")
	dbPath := flag.String("db", "communitybot.db", "SQLite file for the bot's account and state (real network)")
	netFile := flag.String("network", os.Getenv(session.EnvNetwork), "network file written by 'sessionctl devnet' (default $"+session.EnvNetwork+"; none: Session mainnet)")
	verbose := flag.Bool("v", false, "log to stderr")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *joinURL == "" && *netFile == "" {
		err = runDevnet(ctx, os.Stdout, *verbose)
	} else {
		err = runReal(ctx, *joinURL, *dbPath, *netFile, *verbose)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "communitybot:", err)
		os.Exit(1)
	}
}

func logger(verbose bool) *slog.Logger {
	if !verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
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

// runReal runs the bot in the room of joinURL until ctx ends, on the network of netFile (a
// network file from `sessionctl devnet`, whose first room is the default joinURL) or, without
// one, on Session's mainnet.
func runReal(ctx context.Context, joinURL, dbPath, netFile string, verbose bool) error {
	var cfg session.NetworkConfig
	if netFile != "" {
		nf, err := session.LoadNetworkFile(netFile)
		if err != nil {
			return err
		}
		if cfg, err = nf.Config(); err != nil {
			return err
		}
		if joinURL == "" && len(nf.Communities) > 0 {
			joinURL = nf.Communities[0]
		}
	}
	if joinURL == "" {
		return errors.New("no room: give -url (the network file names none)")
	}
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	bot, err := session.NewClient(session.WithStore(st), session.WithLogger(logger(verbose)), session.WithName("communitybot"),
		session.WithProfile(session.Profile{DisplayName: "Community Bot"}), session.WithNetworkConfig(cfg))
	if err != nil {
		return err
	}
	defer bot.Close()
	fmt.Println("Account ID:", bot.AccountID())
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
func runDevnet(ctx context.Context, out *os.File, verbose bool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dn, err := devnet.Start(ctx)
	if err != nil {
		return err
	}
	defer dn.Close()
	srv, err := sogsd.Start(ctx, sogsd.WithNetwork(dn), sogsd.WithLogger(logger(verbose)))
	if err != nil {
		return err
	}
	defer srv.Close()
	if err := srv.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Devnet Lobby"}); err != nil {
		return err
	}
	room := srv.JoinURL("lobby")

	nw, err := session.NewNetwork(session.NetworkConfig{Seeds: []string{dn.SeedURL()}, SeedRootCAs: dn.CertPool(),
		PathDiversity: onion.DistinctNodes, Logger: logger(verbose)})
	if err != nil {
		return err
	}
	defer nw.Close()
	opts := []session.Option{session.WithNetwork(nw), session.WithPollInterval(200 * time.Millisecond)}
	bot, err := session.NewClient(append(opts, session.WithProfile(session.Profile{DisplayName: "Community Bot"}))...)
	if err != nil {
		return err
	}
	defer bot.Close()
	user, err := session.NewClient(append(opts, session.WithProfile(session.Profile{DisplayName: "Demo User"}))...)
	if err != nil {
		return err
	}
	defer user.Close()

	for _, c := range []*session.Client{bot, user} {
		if _, err := c.JoinCommunity(ctx, room); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "room:", room)
	serve(bot)
	events, stopSub := user.Subscribe(16)
	defer stopSub()
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- bot.Run(runCtx) }()
	go func() { done <- user.Run(runCtx) }()
	defer func() { stopRun(); <-done; <-done }()

	// wait reads the user's events until want accepts one.
	wait := func(what string, want func(any) bool) error {
		for {
			select {
			case e := <-events:
				if want(e) {
					return nil
				}
			case <-ctx.Done():
				return errors.New("no " + what + " before the deadline")
			}
		}
	}

	ping, err := user.SendCommunityMessage(ctx, room, "!ping")
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "user → room: !ping")
	gotPong, gotReaction := false, false
	if err := wait("pong and reaction", func(e any) bool {
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
	return wait("DM", func(e any) bool {
		d, ok := e.(*session.CommunityDM)
		if !ok || d.Outgoing {
			return false
		}
		fmt.Fprintf(out, "bot → user (blinded DM): %q, from the bot's real Account ID: %v\n", d.Text, d.FromAccount == bot.AccountID())
		return true
	})
}
