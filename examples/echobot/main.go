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
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store/sqlite"
)

func main() {
	dbPath := flag.String("db", "echobot.db", "SQLite file for the bot's account and state")
	netFile := flag.String("network", os.Getenv(session.EnvNetwork), "network file written by 'sessionctl devnet' (default $"+session.EnvNetwork+"; none: Session mainnet)")
	useDevnet := flag.Bool("devnet", false, "run on an in-process devnet with a demo user, then exit")
	direct := flag.Bool("direct", false, "talk to storage nodes directly instead of through onion paths")
	verbose := flag.Bool("v", false, "log to stderr")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *useDevnet {
		err = runDevnet(ctx, *verbose)
	} else {
		err = runReal(ctx, *dbPath, *netFile, *direct, *verbose)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		os.Exit(1)
	}
}

func logger(verbose bool) *slog.Logger {
	if !verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

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

// runReal runs the bot until ctx ends, on the network of netFile (a network file from
// `sessionctl devnet`) or, without one, on Session's mainnet.
func runReal(ctx context.Context, dbPath, netFile string, direct, verbose bool) error {
	var cfg session.NetworkConfig
	if netFile != "" {
		var err error
		if cfg, err = session.LoadNetworkConfig(netFile); err != nil {
			return err
		}
	}
	cfg.Direct = cfg.Direct || direct
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := []session.Option{session.WithStore(st), session.WithLogger(logger(verbose)),
		session.WithProfile(session.Profile{DisplayName: "Echo Bot"}), session.WithName("echobot"),
		session.WithNetworkConfig(cfg)}
	if pw := os.Getenv("SESSION_RECOVERY_PASSWORD"); pw != "" {
		opts = append(opts, session.WithRecoveryPassword(pw))
	}
	accounts, err := st.Accounts(ctx)
	if err != nil {
		return err
	}
	client, err := session.NewClient(opts...)
	if err != nil {
		return err
	}
	defer client.Close()
	fmt.Println("Account ID:", client.AccountID())
	if len(accounts) == 0 {
		if pw, err := client.Keys().RecoveryPassword(); err == nil {
			fmt.Println("Recovery Password (keep it secret):", pw)
		}
	}
	echo(client)
	return client.Run(ctx)
}

func runDevnet(ctx context.Context, verbose bool) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	net, err := devnet.Start(ctx)
	if err != nil {
		return err
	}
	defer net.Close()
	nw, err := session.NewNetwork(session.NetworkConfig{Seeds: []string{net.SeedURL()}, SeedRootCAs: net.CertPool(),
		PathDiversity: onion.DistinctNodes, Logger: logger(verbose)})
	if err != nil {
		return err
	}
	defer nw.Close()
	bot, err := session.NewClient(session.WithNetwork(nw), session.WithPollInterval(200*time.Millisecond),
		session.WithProfile(session.Profile{DisplayName: "Echo Bot"}))
	if err != nil {
		return err
	}
	defer bot.Close()
	user, err := session.NewClient(session.WithNetwork(nw), session.WithPollInterval(200*time.Millisecond))
	if err != nil {
		return err
	}
	defer user.Close()
	fmt.Println("bot: ", bot.AccountID())
	fmt.Println("user:", user.AccountID())
	echo(bot)
	replies, stopSub := user.Subscribe(8)
	defer stopSub()

	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- bot.Run(runCtx) }()
	go func() { done <- user.Run(runCtx) }()
	defer func() { stopRun(); <-done; <-done }()

	for _, text := range []string{"hello", "is anyone there?", "echo echo"} {
		if _, err := user.SendText(ctx, bot.AccountID(), text); err != nil {
			return err
		}
		fmt.Printf("user → bot: %q\n", text)
		for got := false; !got; {
			select {
			case e := <-replies:
				if m, ok := e.(*session.Message); ok {
					fmt.Printf("bot → user: %q\n", m.Text)
					got = true
				}
			case <-ctx.Done():
				return errors.New("no echo before the deadline")
			}
		}
	}
	return nil
}
