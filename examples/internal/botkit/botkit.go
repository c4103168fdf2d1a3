// Package botkit is the plumbing the example bots share, so that each example's main.go shows
// what it teaches (the Client's options, its event handler, Run) and not the same setup again:
// the flags every bot has, main's signal handling, opening the bot's account (a SQLite file) on
// the network a network file names, and the in-process devnet of the offline demos.
//
// A program of your own writes these lines itself; each function here is short enough to copy.
package botkit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store/sqlite"
)

// EnvRecoveryPassword names the environment variable whose Recovery Password Open restores
// instead of creating a new account.
const EnvRecoveryPassword = "SESSION_RECOVERY_PASSWORD"

// Flags are the flags every example bot has.
type Flags struct {
	// DB is the SQLite file of the bot's account and state (-db).
	DB string
	// Network is a network file written by `sessionctl devnet` (-network, default
	// $SESSIONGO_NETWORK); empty: Session's mainnet.
	Network string
	// Direct talks to storage nodes directly instead of through onion paths (-direct).
	Direct bool
	// Verbose logs to stderr (-v).
	Verbose bool
	// Devnet runs the offline demo instead (-devnet).
	Devnet bool
}

// Main runs the program: it defines -db (default name.db), -network, -direct, -v and -devnet
// (flags the program defines before it calls Main come too), parses the command line, and runs
// demo with -devnet, else bot, until SIGINT or SIGTERM. When that fails, it prints the error
// after the program's name and exits with status 1.
func Main(name string, bot, demo func(ctx context.Context, f *Flags) error) {
	f := &Flags{}
	flag.StringVar(&f.DB, "db", name+".db", "SQLite file for the bot's account and state")
	flag.StringVar(&f.Network, "network", os.Getenv(session.EnvNetwork), "network file written by 'sessionctl devnet' (default $"+session.EnvNetwork+"; none: Session mainnet)")
	flag.BoolVar(&f.Direct, "direct", false, "talk to storage nodes directly instead of through onion paths")
	flag.BoolVar(&f.Verbose, "v", false, "log to stderr")
	flag.BoolVar(&f.Devnet, "devnet", false, "run on an in-process devnet with a demo user, then exit")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	run := bot
	if f.Devnet {
		run = demo
	}
	err := run(ctx, f)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}

// Logger is a debug logger to stderr when verbose, else nil (the SDK then logs nothing).
func Logger(verbose bool) *slog.Logger {
	if !verbose {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// NetworkFile reads the network file of f (nil without one: Session's mainnet).
func (f *Flags) NetworkFile() (*session.NetworkFile, error) {
	if f.Network == "" {
		return nil, nil
	}
	return session.LoadNetworkFile(f.Network)
}

// Open opens the bot's account: its SQLite store in f.DB and a Client on the network of
// f.Network (Session's mainnet without one), made with opts after the store, network and logger
// options. The first time, the account is new, or restored from $SESSION_RECOVERY_PASSWORD.
// Open prints the Account ID and, for a new account, its Recovery Password. The returned
// function closes the Client and the store.
func Open(ctx context.Context, f *Flags, opts ...session.Option) (*session.Client, func(), error) {
	var cfg session.NetworkConfig
	if nf, err := f.NetworkFile(); err != nil {
		return nil, nil, err
	} else if nf != nil {
		if cfg, err = nf.Config(); err != nil {
			return nil, nil, err
		}
	}
	cfg.Direct = cfg.Direct || f.Direct
	st, err := sqlite.Open(ctx, f.DB)
	if err != nil {
		return nil, nil, err
	}
	accounts, err := st.Accounts(ctx)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	opts = append([]session.Option{session.WithStore(st), session.WithNetworkConfig(cfg),
		session.WithLogger(Logger(f.Verbose))}, opts...)
	if pw := os.Getenv(EnvRecoveryPassword); pw != "" {
		opts = append(opts, session.WithRecoveryPassword(pw))
	}
	client, err := session.NewClient(opts...)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	fmt.Println("Account ID:", client.AccountID())
	if len(accounts) == 0 {
		if pw, err := client.Keys().RecoveryPassword(); err == nil {
			fmt.Println("Recovery Password (keep it secret):", pw)
		}
	}
	return client, func() { client.Close(); st.Close() }, nil
}

// Serve runs a bot until ctx ends: it opens the account (Open, with opts), lets handle add the
// bot's event handlers, and runs the Client.
func Serve(ctx context.Context, f *Flags, handle func(*session.Client), opts ...session.Option) error {
	client, closeBot, err := Open(ctx, f, opts...)
	if err != nil {
		return err
	}
	defer closeBot()
	handle(client)
	return client.Run(ctx)
}

// DemoConfig describes an offline demo.
type DemoConfig struct {
	// Logger receives the logs of the network and the community server (nil: none).
	Logger *slog.Logger
	// BotOptions and UserOptions are added to the options of the two Clients.
	BotOptions, UserOptions []session.Option
	// Room, when set, is a room to create on a community server started on the devnet.
	Room *sogsd.RoomConfig
}

// Demo is the setting of an offline demo: a devnet in this process, a bot and a user on it.
type Demo struct {
	Bot, User *session.Client
	// RoomURL is the join URL of DemoConfig.Room ("" without one).
	RoomURL string
}

// StartDevnet starts a devnet in this process and a Network on it: cfg with the devnet's seed,
// the CA of its certificates, and onion paths of distinct nodes (every devnet node listens on
// 127.0.0.1). stop closes both.
func StartDevnet(ctx context.Context, cfg session.NetworkConfig) (dn *devnet.Network, nw *session.Network, stop func(), err error) {
	if dn, err = devnet.Start(ctx); err != nil {
		return nil, nil, nil, err
	}
	cfg.Seeds, cfg.SeedRootCAs, cfg.PathDiversity = []string{dn.SeedURL()}, dn.CertPool(), onion.DistinctNodes
	if nw, err = session.NewNetwork(cfg); err != nil {
		dn.Close()
		return nil, nil, nil, err
	}
	return dn, nw, func() { nw.Close(); dn.Close() }, nil
}

// RunDemo starts an in-process devnet (and, with cfg.Room, a community server on it), makes the
// demo's bot and user (polling every 200 ms) and runs demo with them, all within two minutes.
// Everything is closed when demo returns.
func RunDemo(ctx context.Context, cfg DemoConfig, demo func(ctx context.Context, d *Demo) error) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	dn, nw, stop, err := StartDevnet(ctx, session.NetworkConfig{Logger: cfg.Logger})
	if err != nil {
		return err
	}
	defer stop()
	var d Demo
	if cfg.Room != nil {
		srv, err := sogsd.Start(ctx, sogsd.WithNetwork(dn), sogsd.WithLogger(cfg.Logger))
		if err != nil {
			return err
		}
		defer srv.Close()
		if err := srv.CreateRoom(*cfg.Room); err != nil {
			return err
		}
		d.RoomURL = srv.JoinURL(cfg.Room.Token)
	}
	common := []session.Option{session.WithNetwork(nw), session.WithPollInterval(200 * time.Millisecond)}
	if d.Bot, err = session.NewClient(slices.Concat(common, cfg.BotOptions)...); err != nil {
		return err
	}
	defer d.Bot.Close()
	if d.User, err = session.NewClient(slices.Concat(common, cfg.UserOptions)...); err != nil {
		return err
	}
	defer d.User.Close()
	return demo(ctx, &d)
}

// Run runs the bot and the user until the returned function is called, which waits for both.
func (d *Demo) Run(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 2)
	go func() { done <- d.Bot.Run(ctx) }()
	go func() { done <- d.User.Run(ctx) }()
	return func() { cancel(); <-done; <-done }
}

// Wait reads events until ok accepts one; what names the awaited event in the error returned
// when ctx ends first.
func Wait(ctx context.Context, events <-chan session.Event, what string, ok func(session.Event) bool) error {
	for {
		select {
		case e := <-events:
			if ok(e) {
				return nil
			}
		case <-ctx.Done():
			return errors.New("no " + what + " before the deadline")
		}
	}
}
