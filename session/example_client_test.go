package session_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/session"
)

// A bot that answers every message, on a devnet. On the real network, leave out
// WithNetworkConfig: mainnet seeds and onion paths are the default.
func ExampleClient() {
	ctx, cfg, stopDevnet := exampleDevnet()
	defer stopDevnet()

	bot, err := session.NewClient(session.WithNetworkConfig(cfg), session.WithPollInterval(100*time.Millisecond))
	if err != nil {
		panic(err)
	}
	defer bot.Close()
	bot.AddEventHandler(func(evt session.Event) {
		if m, ok := evt.(*session.Message); ok {
			bot.SendText(ctx, m.From, "you said: "+m.Text, session.WithQuote(m.Ref()))
		}
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- bot.Run(runCtx) }()

	user, err := session.NewClient(session.WithNetworkConfig(cfg))
	if err != nil {
		panic(err)
	}
	defer user.Close()
	if _, err := user.SendText(ctx, bot.AccountID(), "hello"); err != nil {
		panic(err)
	}
	replies, unsubscribe := user.Subscribe(8)
	defer unsubscribe()
	for {
		if err := user.PollOnce(ctx); err != nil {
			panic(err)
		}
		select {
		case e := <-replies:
			if m, ok := e.(*session.Message); ok {
				fmt.Println(m.Text)
				stop()
				<-done
				return
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Output: you said: hello
}
