package session_test

import (
	"fmt"
	"strings"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/session"
)

// A bot that blocks a sender who sends spam, on a devnet. The block is recorded in the
// account's Contacts config, so the bot's other devices (and the official apps logged in to
// the same account) drop that sender too; later messages arrive as MessageDropped.
func ExampleClient_Block() {
	ctx, cfg, stopDevnet := exampleDevnet() // on the real network: leave out WithNetworkConfig(cfg)
	defer stopDevnet()
	bot, err := session.NewClient(session.WithNetworkConfig(cfg))
	if err != nil {
		panic(err)
	}
	defer bot.Close()
	bot.AddEventHandler(func(evt session.Event) {
		switch e := evt.(type) {
		case *session.Message:
			if strings.Contains(strings.ToLower(e.Text), "buy now") {
				if err := bot.Block(ctx, e.From); err != nil {
					panic(err)
				}
				fmt.Println("blocked a spammer")
				return
			}
			fmt.Println("got:", e.Text)
		case *session.MessageDropped:
			fmt.Println("dropped a message from a blocked sender")
		}
	})

	spammer, err := session.NewClient(session.WithNetworkConfig(cfg))
	if err != nil {
		panic(err)
	}
	defer spammer.Close()
	for _, text := range []string{"hi", "BUY NOW!!!", "buy now, last chance"} {
		if _, err := spammer.SendText(ctx, bot.AccountID(), text); err != nil {
			panic(err)
		}
		if err := bot.PollOnce(ctx); err != nil { // Run polls on its own; a bot may also poll itself
			panic(err)
		}
	}
	blocked, _ := bot.Blocked(ctx)
	fmt.Println(len(blocked) == 1 && blocked[0] == spammer.AccountID())
	// Output:
	// got: hi
	// blocked a spammer
	// dropped a message from a blocked sender
	// true
}

// Two devices of one account (a bot restored on a second machine from its Recovery
// Password): what one changes (here, its display name and a contact's approval) reaches the
// other through the account's configs, reported as Synced* events.
func ExampleClient_linkedDevices() {
	ctx, cfg, stopDevnet := exampleDevnet() // on the real network: leave out WithNetworkConfig(cfg)
	defer stopDevnet()
	var seed [crypto.SessionSeedSize]byte
	seed[0] = 42 // use crypto.GenerateKeys for a real account
	words := crypto.EncodeMnemonic(seed)

	first, err := session.NewClient(session.WithNetworkConfig(cfg), session.WithRecoveryPassword(words))
	if err != nil {
		panic(err)
	}
	defer first.Close()
	second, err := session.NewClient(session.WithNetworkConfig(cfg), session.WithRecoveryPassword(words))
	if err != nil {
		panic(err)
	}
	defer second.Close()
	friend, _ := crypto.GenerateKeys(nil)

	if err := first.SetDisplayName(ctx, "Helper Bot"); err != nil {
		panic(err)
	}
	if _, err := first.SendText(ctx, friend.AccountID(), "hello"); err != nil { // approves friend
		panic(err)
	}
	if err := first.SyncConfigs(ctx); err != nil { // Run pushes on its own after a moment
		panic(err)
	}

	events, stop := second.Subscribe(16) // room for what one poll delivers
	defer stop()
	if err := second.PollOnce(ctx); err != nil {
		panic(err)
	}
	for len(events) > 0 {
		switch e := (<-events).(type) {
		case *session.SyncedProfile:
			fmt.Println("name:", e.Profile.DisplayName)
		case *session.SyncedContact:
			fmt.Println("approved:", e.Contact.ID == friend.AccountID() && e.Contact.Approved)
		}
	}
	// Unordered output:
	// name: Helper Bot
	// approved: true
}
