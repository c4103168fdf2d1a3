package fleet_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/fleet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
)

// One member of a fleet of echo bots. Every process given the same database (store/postgres
// for several machines) runs the same code; the members spread the accounts among themselves.
func ExampleFleet() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	net, err := devnet.Start(ctx)
	if err != nil {
		panic(err)
	}
	defer net.Close()
	nw, err := session.NewNetwork(session.NetworkConfig{Seeds: []string{net.SeedURL()}, SeedRootCAs: net.CertPool(), PathDiversity: onion.DistinctNodes})
	if err != nil {
		panic(err)
	}
	defer nw.Close()
	st := store.NewMemory() // in production: postgres.Open(ctx, dsn)
	for i := 0; i < 3; i++ {
		k, _ := crypto.GenerateKeys(nil)
		_ = st.PutAccount(ctx, store.Account{ID: k.AccountID(), Seed: k.Seed(), Name: fmt.Sprint("bot", i)})
	}

	member, err := fleet.New(fleet.Config{
		Store:         st,
		Name:          "echo",
		ClientOptions: []session.Option{session.WithNetwork(nw)},
		Setup: func(ctx context.Context, c *session.Client) error {
			c.AddEventHandler(func(evt session.Event) {
				if m, ok := evt.(*session.Message); ok && !m.Sync {
					c.SendText(ctx, m.From, "echo: "+m.Text)
				}
			})
			return nil
		},
	})
	if err != nil {
		panic(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- member.Run(runCtx) }()
	// Who serves what is in the store: the account leases.
	for {
		holders, _ := fleet.Holders(ctx, st)
		if len(holders) == 3 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("serving", len(member.Serving()), "accounts")
	stop()
	fmt.Println(<-done)
	// Output:
	// serving 3 accounts
	// <nil>
}
