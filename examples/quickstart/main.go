// Command quickstart runs a full Session exchange offline: it starts a devnet (a Session network
// on 127.0.0.1) in-process, creates two accounts, and has them message each other through 3-hop
// onion paths, with a reply, a read receipt and a reaction. It prints a short transcript.
//
//	go run ./examples/quickstart
//
// With -network (default $SESSIONGO_NETWORK) it runs the same exchange on a running network
// instead, such as the devnet of `sessionctl devnet`, whose network file that names.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
)

func main() {
	netFile := flag.String("network", os.Getenv(session.EnvNetwork), "network file written by 'sessionctl devnet' (default $"+session.EnvNetwork+"; none: an in-process devnet)")
	flag.Parse()
	if err := run(*netFile); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

// run runs the exchange on the network of netFile, or on an in-process devnet when it is "".
func run(netFile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	var cfg session.NetworkConfig
	if netFile != "" {
		var err error
		if cfg, err = session.LoadNetworkConfig(netFile); err != nil {
			return err
		}
		fmt.Printf("network: %s (seed %s)\n", netFile, cfg.Seeds[0])
	} else {
		net, err := devnet.Start(ctx)
		if err != nil {
			return fmt.Errorf("starting devnet: %w", err)
		}
		defer net.Close()
		fmt.Printf("devnet: %d storage nodes in %d swarms, seed %s\n", len(net.Nodes()), len(net.Swarms()), net.SeedURL())

		// On the real network, leave out NetworkConfig: mainnet seeds and onion paths are the
		// default.
		cfg = session.NetworkConfig{
			Seeds:         []string{net.SeedURL()},
			SeedRootCAs:   net.CertPool(),
			PathDiversity: onion.DistinctNodes, // every devnet node lives on 127.0.0.1
		}
	}
	alice, err := session.NewClient(session.WithNetworkConfig(cfg), session.WithProfile(session.Profile{DisplayName: "Alice"}),
		session.WithPollInterval(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer alice.Close()
	bob, err := session.NewClient(session.WithNetworkConfig(cfg), session.WithProfile(session.Profile{DisplayName: "Bob"}),
		session.WithPollInterval(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer bob.Close()
	pw, _ := alice.Keys().RecoveryPassword()
	fmt.Println("alice:", alice.AccountID())
	fmt.Println("  recovery password:", pw)
	fmt.Println("bob:  ", bob.AccountID())

	aliceEvents, stopA := alice.Subscribe(16)
	defer stopA()
	bobEvents, stopB := bob.Subscribe(16)
	defer stopB()
	runCtx, stopRun := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- alice.Run(runCtx) }()
	go func() { done <- bob.Run(runCtx) }()
	defer func() { stopRun(); <-done; <-done }()

	hello, err := alice.SendText(ctx, bob.AccountID(), "Hi Bob! This went through three onion hops.")
	if err != nil {
		return err
	}
	fmt.Printf("alice → bob: %q (stored by %d nodes, hash %s)\n", "Hi Bob! This went through three onion hops.", hello.Stored, hello.Hash)

	msg, err := next[*session.Message](ctx, bobEvents)
	if err != nil {
		return err
	}
	fmt.Printf("bob received from %s: %q (message request: %v)\n", name(msg.Profile), msg.Text, msg.Request)
	if err := bob.AcceptMessageRequest(ctx, msg.From); err != nil {
		return err
	}
	if err := bob.SendReadReceipt(ctx, msg.From, msg.Ref()); err != nil {
		return err
	}
	reply, err := bob.SendText(ctx, msg.From, "Hello Alice, loud and clear.", session.WithQuote(msg.Ref()))
	if err != nil {
		return err
	}
	fmt.Printf("bob → alice: %q (quoting alice)\n", "Hello Alice, loud and clear.")

	// The receipt and the reply may arrive in either order.
	var got *session.Message
	for receipt := false; !receipt || got == nil; {
		e, err := next[session.Event](ctx, aliceEvents)
		if err != nil {
			return err
		}
		switch e := e.(type) {
		case *session.ReadReceipt:
			receipt = true
			fmt.Printf("alice: bob read %d message(s)\n", len(e.Timestamps))
		case *session.Message:
			if e.Sync {
				continue // the copy of alice's own message, for her other devices
			}
			got = e
			fmt.Printf("alice received from %s: %q\n", name(got.Profile), got.Text)
		}
	}
	if _, err := alice.React(ctx, bob.AccountID(), got.Ref(), "👍"); err != nil {
		return err
	}
	fmt.Println("alice reacted 👍 to bob's reply")
	re, err := next[*session.Reaction](ctx, bobEvents)
	if err != nil {
		return err
	}
	if re.Target != reply.Ref {
		return fmt.Errorf("reaction targets %v, want %v", re.Target, reply.Ref)
	}
	fmt.Printf("bob saw alice's reaction %s on his reply\n", re.Emoji)
	fmt.Println("done: a full exchange through onion paths")
	return nil
}

// next waits for the next event of type T, skipping others.
func next[T session.Event](ctx context.Context, events <-chan session.Event) (T, error) {
	var zero T
	for {
		select {
		case e, ok := <-events:
			if !ok {
				return zero, fmt.Errorf("event channel closed")
			}
			if v, is := e.(T); is {
				return v, nil
			}
			if pe, is := e.(*session.PollError); is {
				fmt.Println("  (poll error, retrying:", pe.Err, ")")
			}
		case <-ctx.Done():
			return zero, fmt.Errorf("waiting for %T: %w", zero, ctx.Err())
		}
	}
}

func name(p *session.Profile) string {
	if p == nil || p.DisplayName == "" {
		return "(no name)"
	}
	return p.DisplayName
}
