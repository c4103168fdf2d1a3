// Command fleet runs one member of a fleet of echo bots: every member given the same database
// serves a share of its accounts, and when a member stops or dies the others take its accounts
// over (package fleet).
//
// Run one member per process or machine, all on one PostgreSQL database:
//
//	go run ./examples/fleet -dsn "postgres://bots@db.example/bots" -accounts 100
//
// (-accounts creates accounts until the database holds that many; SESSIONGO_POSTGRES_DSN is the
// default -dsn; -db uses a SQLite file instead, for members on one machine.) Each member prints
// the accounts it takes and hands over; `sessionctl leases -dsn ...` shows who holds what.
//
// With no database it runs offline: an in-process devnet, a SQLite file in a temporary
// directory and three members in this process standing for three processes; a user messages
// every bot, one member is stopped, the others take its accounts over, and every bot answers.
package main

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/examples/internal/botkit"
	"github.com/sessiongo/sdk/fleet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/postgres"
	"github.com/sessiongo/sdk/store/sqlite"
)

func main() {
	dsn := flag.String("dsn", os.Getenv("SESSIONGO_POSTGRES_DSN"), "PostgreSQL connection string of the shared database")
	db := flag.String("db", "", "SQLite file instead of PostgreSQL (members on one machine)")
	accounts := flag.Int("accounts", 0, "create accounts until the database holds this many")
	name := flag.String("fleet", "echo", "fleet name (members of one fleet share it)")
	ttl := flag.Duration("ttl", session.DefaultLeaseTTL, "lease TTL: how long a dead member's accounts wait")
	seed := flag.String("seed", "", "seed node URL (default: mainnet)")
	caFile := flag.String("ca", "", "PEM file of the roots trusted for -seed (a devnet's CA)")
	direct := flag.Bool("direct", false, "talk to storage nodes directly instead of through onion paths")
	verbose := flag.Bool("v", false, "log to stderr")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if *dsn == "" && *db == "" {
		err = demo(ctx, os.Stdout)
	} else {
		err = member(ctx, memberConfig{dsn: *dsn, db: *db, accounts: *accounts, name: *name, ttl: *ttl,
			seed: *seed, caFile: *caFile, direct: *direct, verbose: *verbose}, os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		os.Exit(1)
	}
}

type memberConfig struct {
	dsn, db      string
	accounts     int
	name         string
	ttl          time.Duration
	seed, caFile string
	direct       bool
	verbose      bool
}

// member runs one member until ctx ends.
func member(ctx context.Context, cfg memberConfig, out io.Writer) error {
	var st store.Store
	var err error
	if cfg.dsn != "" {
		st, err = postgres.Open(ctx, cfg.dsn)
	} else {
		st, err = sqlite.Open(ctx, cfg.db)
	}
	if err != nil {
		return err
	}
	defer st.Close()
	if err := ensureAccounts(ctx, st, cfg.accounts); err != nil {
		return err
	}
	netCfg := session.NetworkConfig{Direct: cfg.direct, Store: st}
	if cfg.seed != "" {
		netCfg.Seeds = []string{cfg.seed}
		netCfg.PathDiversity = onion.DistinctNodes // a devnet's nodes share one address
	}
	if cfg.caFile != "" {
		pem, err := os.ReadFile(cfg.caFile)
		if err != nil {
			return err
		}
		netCfg.SeedRootCAs = x509.NewCertPool()
		if !netCfg.SeedRootCAs.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificate in %s", cfg.caFile)
		}
	}
	if cfg.verbose {
		netCfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	nw, err := session.NewNetwork(netCfg)
	if err != nil {
		return err
	}
	defer nw.Close()
	f, err := newMember(st, nw, cfg.name, "", cfg.ttl, out)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "member %s of fleet %q\n", f.Member(), cfg.name)
	return f.Run(ctx)
}

// newMember makes a fleet member whose bots echo every message.
func newMember(st store.Store, nw *session.Network, name, id string, ttl time.Duration, out io.Writer) (*fleet.Fleet, error) {
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		fmt.Fprintf(out, format+"\n", args...)
		mu.Unlock()
	}
	var f *fleet.Fleet
	f, err := fleet.New(fleet.Config{Store: st, Name: name, Member: id, LeaseTTL: ttl,
		ClientOptions: []session.Option{session.WithNetwork(nw), session.WithPollInterval(time.Second)},
		Setup: func(ctx context.Context, c *session.Client) error {
			c.AddEventHandler(func(evt session.Event) {
				m, ok := evt.(*session.Message)
				if !ok || m.Sync {
					return
				}
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				// m.Hash is the message's stable ID: a bot that must not answer twice after a
				// member's crash would record it and skip repeats.
				if _, err := c.SendText(sctx, m.From, "echo: "+m.Text, session.WithQuote(m.Ref()), session.WithoutSync()); err != nil {
					say("%s: reply failed: %v", short(c.AccountID()), err)
				}
			})
			return nil
		},
		OnStop: func(account crypto.AccountID, err error) {
			if err != nil {
				say("%s stopped: %v", short(account), err)
			}
		},
	})
	return f, err
}

// ensureAccounts creates accounts until st holds n.
func ensureAccounts(ctx context.Context, st store.Store, n int) error {
	have, err := st.Accounts(ctx)
	if err != nil {
		return err
	}
	for i := len(have); i < n; i++ {
		k, err := crypto.GenerateKeys(nil)
		if err != nil {
			return err
		}
		if err := st.PutAccount(ctx, store.Account{ID: k.AccountID(), Seed: k.Seed(), Name: fmt.Sprintf("echo-%03d", i)}); err != nil {
			return err
		}
	}
	return nil
}

func short(id crypto.AccountID) string { return id.String()[:10] }

// demo runs three members on an in-process devnet, stops one, and checks that every bot
// answers, before and after the takeover.
func demo(ctx context.Context, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	_, nw, stopNet, err := botkit.StartDevnet(ctx, session.NetworkConfig{Direct: true})
	if err != nil {
		return err
	}
	defer stopNet()
	dir, err := os.MkdirTemp("", "fleet-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "fleet.db")
	const bots, ttl = 30, 6 * time.Second

	// Each member has its own handle on the database, as separate processes would.
	type running struct {
		f    *fleet.Fleet
		stop context.CancelFunc
		done chan error
	}
	var members []running
	for i, id := range []string{"member-a", "member-b", "member-c"} {
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return err
		}
		defer st.Close()
		if i == 0 {
			if err := ensureAccounts(ctx, st, bots); err != nil {
				return err
			}
		}
		f, err := newMember(st, nw, "demo", id, ttl, io.Discard)
		if err != nil {
			return err
		}
		mctx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- f.Run(mctx) }()
		members = append(members, running{f, stop, done})
	}
	defer func() {
		for _, m := range members {
			m.stop()
			<-m.done
		}
	}()
	admin, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer admin.Close()
	all, err := admin.Accounts(ctx)
	if err != nil {
		return err
	}
	user, err := session.NewClient(session.WithNetwork(nw))
	if err != nil {
		return err
	}
	defer user.Close()
	answers, unsubscribe := user.Subscribe(64)
	defer unsubscribe()

	// settled waits until the accounts are spread over exactly want, and counts them.
	settled := func(want ...string) (map[string]int, error) {
		for {
			ms, err := fleet.Members(ctx, admin, "demo")
			if err != nil {
				return nil, err
			}
			hs, err := fleet.Holders(ctx, admin)
			if err != nil {
				return nil, err
			}
			count := map[string]int{}
			ok := strings.Join(ms, ",") == strings.Join(want, ",")
			for _, a := range all {
				l, held := hs[a.ID]
				ok = ok && held && l.Holder == fleet.Owner(a.ID, ms)
				count[l.Holder]++
			}
			if ok {
				return count, nil
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	// ask messages every bot and waits until each has answered.
	ask := func(text string) error {
		for _, a := range all {
			if _, err := user.SendText(ctx, a.ID, text, session.WithoutSync()); err != nil {
				return err
			}
		}
		got := map[crypto.AccountID]bool{}
		for len(got) < bots {
			if err := user.PollOnce(ctx); err != nil {
				return err
			}
			for more := true; more; {
				select {
				case e := <-answers:
					if m, ok := e.(*session.Message); ok && m.Text == "echo: "+text {
						got[m.From] = true
					}
				case <-ctx.Done():
					return fmt.Errorf("%d of %d bots answered %q", len(got), bots, text)
				default:
					more = false
				}
			}
		}
		return nil
	}
	show := func(count map[string]int) string {
		var parts []string
		for h, n := range count {
			parts = append(parts, fmt.Sprintf("%s %d", h, n))
		}
		sort.Strings(parts)
		return strings.Join(parts, ", ")
	}

	count, err := settled("member-a", "member-b", "member-c")
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%d bots served by 3 members: %s\n", bots, show(count))
	if err := ask("hello"); err != nil {
		return err
	}
	fmt.Fprintf(out, "all %d bots answered\n", bots)

	// member-b stops (as on a rolling upgrade): its accounts go to the others.
	start := time.Now()
	members[1].stop()
	if err := <-members[1].done; err != nil {
		return err
	}
	members = append(members[:1], members[2:]...)
	if count, err = settled("member-a", "member-c"); err != nil {
		return err
	}
	fmt.Fprintf(out, "member-b left; its bots moved in %v: %s\n", time.Since(start).Round(100*time.Millisecond), show(count))
	if err := ask("still there?"); err != nil {
		return err
	}
	fmt.Fprintf(out, "all %d bots answered again\n", bots)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ctx.Err()
	}
	return nil
}
