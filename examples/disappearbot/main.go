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
	"errors"
	"flag"
	"fmt"
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
	dbPath := flag.String("db", "disappearbot.db", "SQLite file for the bot's account and state")
	netFile := flag.String("network", os.Getenv(session.EnvNetwork), "network file written by 'sessionctl devnet' (default $"+session.EnvNetwork+"; none: Session mainnet)")
	useDevnet := flag.Bool("devnet", false, "run on an in-process devnet with a demo user, then exit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *useDevnet {
		err = runDevnet(ctx)
	} else {
		err = runReal(ctx, *dbPath, *netFile)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "disappearbot:", err)
		os.Exit(1)
	}
}

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

// runReal runs the bot until ctx ends, on the network of netFile (a network file from
// `sessionctl devnet`) or, without one, on Session's mainnet.
func runReal(ctx context.Context, dbPath, netFile string) error {
	var cfg session.NetworkConfig
	if netFile != "" {
		var err error
		if cfg, err = session.LoadNetworkConfig(netFile); err != nil {
			return err
		}
	}
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		return err
	}
	defer st.Close()
	opts := []session.Option{session.WithStore(st), session.WithName("disappearbot"),
		session.WithProfile(session.Profile{DisplayName: "Disappearing Bot"}), session.WithNetworkConfig(cfg)}
	if pw := os.Getenv("SESSION_RECOVERY_PASSWORD"); pw != "" {
		opts = append(opts, session.WithRecoveryPassword(pw))
	}
	client, err := session.NewClient(opts...)
	if err != nil {
		return err
	}
	defer client.Close()
	fmt.Println("Account ID:", client.AccountID())
	serve(client)
	return client.Run(ctx)
}

func runDevnet(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dn, err := devnet.Start(ctx)
	if err != nil {
		return err
	}
	defer dn.Close()
	nw, err := session.NewNetwork(session.NetworkConfig{Seeds: []string{dn.SeedURL()}, SeedRootCAs: dn.CertPool(),
		PathDiversity: onion.DistinctNodes})
	if err != nil {
		return err
	}
	defer nw.Close()
	bot, err := session.NewClient(session.WithNetwork(nw), session.WithPollInterval(200*time.Millisecond))
	if err != nil {
		return err
	}
	defer bot.Close()
	user, err := session.NewClient(session.WithNetwork(nw), session.WithPollInterval(200*time.Millisecond))
	if err != nil {
		return err
	}
	defer user.Close()
	serve(bot)
	events, stopSub := user.Subscribe(16)
	defer stopSub()
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- bot.Run(runCtx) }()
	go func() { done <- user.Run(runCtx) }()
	defer func() { stopRun(); <-done; <-done }()

	// waitReply waits for the bot's answer quoting a message and checks its expiry.
	waitReply := func(want *session.Expiry) error {
		for {
			select {
			case e := <-events:
				m, ok := e.(*session.Message)
				if !ok || m.Quote == nil {
					continue
				}
				fmt.Printf("bot → user: %q, expiry %+v\n", m.Text, m.Expiry)
				if (want == nil) != (m.Expiry == nil) || (want != nil && *want != *m.Expiry) {
					return fmt.Errorf("answer expiry %+v, want %+v", m.Expiry, want)
				}
				return nil
			case <-ctx.Done():
				return errors.New("no answer before the deadline")
			}
		}
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
}
