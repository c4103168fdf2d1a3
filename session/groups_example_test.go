package session_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/session"
)

// A bot that creates a closed group, invites a user and echoes what is said in it, on a
// devnet. The user accepts the invitation and talks in the group.
func ExampleClient_CreateGroup() {
	ctx, cfg, stopDevnet := exampleDevnet() // on the real network: leave out WithNetworkConfig(cfg)
	defer stopDevnet()

	bot, err := session.NewClient(session.WithNetworkConfig(cfg),
		session.WithProfile(session.Profile{DisplayName: "Echo Bot"}), session.WithPollInterval(100*time.Millisecond))
	if err != nil {
		panic(err)
	}
	defer bot.Close()
	user, err := session.NewClient(session.WithNetworkConfig(cfg))
	if err != nil {
		panic(err)
	}
	defer user.Close()

	bot.AddEventHandler(func(evt session.Event) {
		if m, ok := evt.(*session.GroupMessage); ok && m.From != bot.AccountID() {
			bot.SendGroupText(ctx, m.Group, "echo: "+m.Text, session.WithQuote(m.Ref()))
		}
	})
	group, err := bot.CreateGroup(ctx, "Echo room", user.AccountID())
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- bot.Run(runCtx) }()

	events, unsubscribe := user.Subscribe(64)
	defer unsubscribe()
	for {
		if err := user.PollOnce(ctx); err != nil {
			panic(err)
		}
		for len(events) > 0 {
			switch e := (<-events).(type) {
			case *session.GroupInvite:
				fmt.Printf("invited to %q\n", e.Name)
				if err := user.AcceptGroupInvite(ctx, e.Group); err != nil {
					panic(err)
				}
			case *session.GroupJoined:
				if _, err := user.SendGroupText(ctx, e.Group.ID, "hello group"); err != nil {
					panic(err)
				}
			case *session.GroupMessage:
				fmt.Println(e.Text, e.Group == group.ID)
				stop()
				<-done
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Output:
	// invited to "Echo room"
	// echo: hello group true
}
