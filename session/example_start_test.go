package session_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
)

// Many bots in one process: they share one Network (pool, paths, and the poll scheduler that
// serves every running client) and one store, and Start runs each without a goroutine of its
// own. Each channel receives the bot's Run result once it has stopped.
func ExampleClient_Start() {
	ctx, cfg, stopDevnet := exampleDevnet() // on the real network: a zero NetworkConfig
	defer stopDevnet()
	nw, err := session.NewNetwork(cfg)
	if err != nil {
		panic(err)
	}
	defer nw.Close()
	st := store.NewMemory()

	runCtx, stop := context.WithCancel(ctx)
	var connected atomic.Int32
	var results []<-chan error
	for range 100 {
		keys, err := crypto.GenerateKeys(nil) // or WithAccount for accounts saved in st
		if err != nil {
			panic(err)
		}
		bot, err := session.NewClient(session.WithKeys(keys), session.WithNetwork(nw), session.WithStore(st),
			session.WithPollInterval(time.Second))
		if err != nil {
			panic(err)
		}
		bot.AddEventHandler(func(evt session.Event) {
			if _, ok := evt.(*session.Connected); ok {
				connected.Add(1)
			}
		})
		results = append(results, bot.Start(runCtx))
	}
	for connected.Load() < 100 {
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Println("bots connected:", connected.Load())
	stop()
	for _, done := range results {
		if err := <-done; err != nil {
			panic(err)
		}
	}
	// Output: bots connected: 100
}
