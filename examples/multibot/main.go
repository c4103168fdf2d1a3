// Command multibot runs hundreds of bots in one process on an in-process devnet: every bot is a
// session.Client sharing one Network (node pool and onion paths) and one store, each polling its
// own swarm. A driver account messages every bot and waits for every answer.
//
//	go run ./examples/multibot -bots 300
//
// With -network (default $SESSIONGO_NETWORK) the bots run on a running network instead, such as
// the devnet of `sessionctl devnet`, whose network file that names.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
)

func main() {
	n := flag.Int("bots", 200, "number of bots")
	netFile := flag.String("network", os.Getenv(session.EnvNetwork), "network file written by 'sessionctl devnet' (default $"+session.EnvNetwork+"; none: an in-process devnet)")
	flag.Parse()
	if err := run(context.Background(), *n, *netFile); err != nil {
		fmt.Fprintln(os.Stderr, "multibot:", err)
		os.Exit(1)
	}
}

// run runs n bots on the network of netFile, or on an in-process devnet when it is "".
func run(ctx context.Context, n int, netFile string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	var cfg session.NetworkConfig
	where := "the network of " + netFile
	if netFile != "" {
		var err error
		if cfg, err = session.LoadNetworkConfig(netFile); err != nil {
			return err
		}
	} else {
		net, err := devnet.Start(ctx)
		if err != nil {
			return err
		}
		defer net.Close()
		cfg = session.NetworkConfig{Seeds: []string{net.SeedURL()}, SeedRootCAs: net.CertPool(), PathDiversity: onion.DistinctNodes}
		where = fmt.Sprintf("a %d-node devnet", len(net.Nodes()))
	}
	// One network and one store for everyone: that is what keeps a bot cheap.
	nw, err := session.NewNetwork(cfg)
	if err != nil {
		return err
	}
	defer nw.Close()
	st, err := sqlite.Open(ctx, ":memory:")
	if err != nil {
		return err
	}
	defer st.Close()

	start := time.Now()
	bots := make([]*session.Client, n)
	for i := range bots {
		keys, err := crypto.GenerateKeys(nil)
		if err != nil {
			return err
		}
		bot, err := session.NewClient(session.WithNetwork(nw), session.WithStore(st), session.WithKeys(keys),
			session.WithName(fmt.Sprintf("bot-%03d", i)), session.WithPollInterval(time.Second))
		if err != nil {
			return err
		}
		defer bot.Close()
		id := i
		bot.AddEventHandler(func(evt session.Event) {
			if m, ok := evt.(*session.Message); ok && !m.Sync {
				reply := fmt.Sprintf("bot %d got %q", id, m.Text)
				if _, err := bot.SendText(ctx, m.From, reply, session.WithoutSync()); err != nil {
					fmt.Fprintln(os.Stderr, "bot", id, "reply:", err)
				}
			}
		})
		bots[i] = bot
	}
	driver, err := session.NewClient(session.WithNetwork(nw), session.WithStore(store.NewMemory()),
		session.WithPollInterval(100*time.Millisecond))
	if err != nil {
		return err
	}
	defer driver.Close()
	answers := map[string]bool{}
	var mu sync.Mutex
	all := make(chan struct{})
	driver.AddEventHandler(func(evt session.Event) {
		if m, ok := evt.(*session.Message); ok && strings.HasPrefix(m.Text, "bot ") {
			mu.Lock()
			answers[m.From.String()] = true
			if len(answers) == n {
				close(all)
			}
			mu.Unlock()
		}
	})

	runCtx, stopRun := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, c := range append(bots, driver) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.Run(runCtx)
		}()
	}
	defer func() { stopRun(); wg.Wait() }()
	fmt.Printf("%d bots running on %s (started in %v)\n", n, where, time.Since(start).Round(time.Millisecond))

	sendStart := time.Now()
	sem := make(chan struct{}, 16)
	for _, b := range bots {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if _, err := driver.SendText(ctx, b.AccountID(), "ping", session.WithoutSync()); err != nil {
				fmt.Fprintln(os.Stderr, "ping:", err)
			}
		}()
	}
	select {
	case <-all:
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		return fmt.Errorf("only %d of %d bots answered", len(answers), n)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	fmt.Printf("all %d bots answered in %v\n", n, time.Since(sendStart).Round(time.Millisecond))
	fmt.Printf("heap: %.1f MiB in use (devnet included), %d goroutines\n", float64(after.HeapAlloc)/(1<<20), runtime.NumGoroutine())
	return nil
}
