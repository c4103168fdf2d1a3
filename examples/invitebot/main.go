// Command invitebot is a Session bot that answers community invitations: when someone invites
// it to a community room in a 1:1 conversation, it joins the room (one call), says hello there
// and tells the inviter.
//
// On the real network it keeps its account in a SQLite file:
//
//	go run ./examples/invitebot -db invitebot.db
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
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store/sqlite"
)

func main() {
	dbPath := flag.String("db", "invitebot.db", "SQLite file for the bot's account and state")
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
		fmt.Fprintln(os.Stderr, "invitebot:", err)
		os.Exit(1)
	}
}

// serve makes client accept every community invitation.
func serve(client *session.Client) {
	client.AddEventHandler(func(evt session.Event) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		switch e := evt.(type) {
		case *session.CommunityInvite:
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
	opts := []session.Option{session.WithStore(st), session.WithName("invitebot"),
		session.WithProfile(session.Profile{DisplayName: "Invite Bot"}), session.WithNetworkConfig(cfg)}
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
	room, err := sogsd.Start(ctx, sogsd.WithNetwork(dn))
	if err != nil {
		return err
	}
	defer room.Close()
	if err := room.CreateRoom(sogsd.RoomConfig{Token: "lounge", Name: "Lounge"}); err != nil {
		return err
	}
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
	url := room.JoinURL("lounge")
	if _, err := user.JoinCommunity(ctx, url); err != nil {
		return err
	}
	events, stopSub := user.Subscribe(16)
	defer stopSub()
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- bot.Run(runCtx) }()
	go func() { done <- user.Run(runCtx) }()
	defer func() { stopRun(); <-done; <-done }()

	if _, err := user.SendCommunityInvite(ctx, bot.AccountID(), url, "Lounge"); err != nil {
		return err
	}
	fmt.Println("user invited the bot to the Lounge")
	for sawPost, sawThanks := false, false; !sawPost || !sawThanks; {
		select {
		case e := <-events:
			switch e := e.(type) {
			case *session.CommunityMessage:
				fmt.Printf("in the room: %q\n", e.Text)
				sawPost = true
			case *session.Message:
				fmt.Printf("bot → user: %q\n", e.Text)
				sawThanks = true
			}
		case <-ctx.Done():
			return errors.New("the bot did not join before the deadline")
		}
	}
	return nil
}
