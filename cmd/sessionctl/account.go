package main

import (
	"context"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/sqlite"
)

// The account and messaging commands. Accounts live in a SQLite file (-db); network commands
// reach mainnet by default, or a devnet given its seed URL and CA (see `sessionctl devnet`).
func init() {
	commands["new"] = command{summary: "create an account and print its Account ID and Recovery Password", run: runNew}
	commands["id"] = command{summary: "show the stored accounts (and, with -password, their Recovery Passwords)", run: runID}
	commands["blind"] = command{summary: "show the community-blinded IDs (15, 25) of an Account ID for a server key", run: runBlind}
	commands["swarm"] = command{summary: "show the swarm that stores an Account ID", run: runSwarm}
	commands["send"] = command{summary: "send a text message", run: runSend}
	commands["listen"] = command{summary: "receive messages and print them", run: runListen}
	commands["resolve"] = command{summary: "resolve a Session name (SNS) to an Account ID", run: runResolve}
}

func newFlagSet(name, args, about string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: sessionctl %s [flags] %s\n\n%s\n", name, args, about)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

const defaultDB = "sessionctl.db"

// accountFlags choose the account a command acts as.
type accountFlags struct {
	db      *string
	account *string
}

func addAccountFlags(fs *flag.FlagSet) accountFlags {
	return accountFlags{
		db:      fs.String("db", defaultDB, "SQLite file holding the accounts"),
		account: fs.String("account", "", "Account ID to act as (default: the file's only account)"),
	}
}

func (a accountFlags) open(ctx context.Context) (*sqlite.Store, []session.Option, error) {
	st, err := sqlite.Open(ctx, *a.db)
	if err != nil {
		return nil, nil, err
	}
	opts := []session.Option{session.WithStore(st)}
	if *a.account != "" {
		id, err := crypto.ParseAccountID(*a.account)
		if err != nil {
			st.Close()
			return nil, nil, usageError{err}
		}
		opts = append(opts, session.WithAccount(id))
	} else {
		accounts, err := st.Accounts(ctx)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		if len(accounts) == 0 {
			st.Close()
			return nil, nil, fmt.Errorf("no account in %s: create one with 'sessionctl new -db %s'", *a.db, *a.db)
		}
	}
	return st, opts, nil
}

// netFlags choose the network.
type netFlags struct {
	seeds  *stringList
	ca     *string
	direct *bool
	local  *bool
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func addNetFlags(fs *flag.FlagSet) netFlags {
	n := netFlags{seeds: &stringList{}}
	fs.Var(n.seeds, "seed", "seed node URL (repeatable; default: Session mainnet)")
	n.ca = fs.String("ca", "", "PEM file of the CA to trust for the seeds (a devnet's, from 'sessionctl devnet')")
	n.direct = fs.Bool("direct", false, "talk to storage nodes directly instead of through onion paths")
	n.local = fs.Bool("local", false, "nodes share an IP address (a devnet): allow them in one onion path (automatic for loopback seeds)")
	return n
}

func (n netFlags) config() (session.NetworkConfig, error) {
	cfg := session.NetworkConfig{Seeds: *n.seeds, Direct: *n.direct}
	if *n.ca != "" {
		pem, err := os.ReadFile(*n.ca)
		if err != nil {
			return cfg, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, usageError{fmt.Errorf("%s holds no PEM certificate", *n.ca)}
		}
		cfg.SeedRootCAs = pool
	}
	local := *n.local
	for _, s := range cfg.Seeds {
		if u, err := url.Parse(s); err == nil {
			if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
				local = true
			}
		}
	}
	if local {
		cfg.PathDiversity = onion.DistinctNodes
	}
	return cfg, nil
}

// network returns a Network for the flags.
func (n netFlags) network() (*session.Network, error) {
	cfg, err := n.config()
	if err != nil {
		return nil, err
	}
	return session.NewNetwork(cfg)
}

// openClient opens the account file and a client for the chosen account on the chosen network;
// closeAll releases both.
func openClient(ctx context.Context, af accountFlags, nf netFlags, extra ...session.Option) (client *session.Client, closeAll func(), err error) {
	cfg, err := nf.config()
	if err != nil {
		return nil, nil, err
	}
	st, opts, err := af.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	opts = append(opts, session.WithNetworkConfig(cfg))
	client, err = session.NewClient(append(opts, extra...)...)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return client, func() { client.Close(); st.Close() }, nil
}

func runNew(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("new", "", "Creates an account in the -db file and prints its Account ID and Recovery Password.", stderr)
	db := fs.String("db", defaultDB, "SQLite file holding the accounts")
	name := fs.String("name", "", "a label for the account")
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	keys, err := crypto.GenerateKeys(nil)
	if err != nil {
		return err
	}
	if err := st.PutAccount(ctx, store.Account{ID: keys.AccountID(), Seed: keys.Seed(), Name: *name}); err != nil {
		return err
	}
	pw, _ := keys.RecoveryPassword()
	fmt.Fprintln(stdout, "Account ID:       ", keys.AccountID())
	fmt.Fprintln(stdout, "Recovery Password:", pw)
	fmt.Fprintln(stdout, "(the Recovery Password restores this account in any Session app: keep it secret)")
	return nil
}

func runID(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("id", "", "Lists the accounts in the -db file.", stderr)
	db := fs.String("db", defaultDB, "SQLite file holding the accounts")
	showPW := fs.Bool("password", false, "also print each account's Recovery Password (secret)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if _, err := os.Stat(*db); err != nil {
		return fmt.Errorf("no account file %s: create one with 'sessionctl new'", *db)
	}
	st, err := sqlite.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	accounts, err := st.Accounts(ctx)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		line := a.ID.String()
		if a.Name != "" {
			line += "  " + a.Name
		}
		fmt.Fprintln(stdout, line)
		if *showPW {
			k, err := a.Keys()
			if err != nil {
				return err
			}
			if pw, err := k.RecoveryPassword(); err == nil {
				fmt.Fprintln(stdout, "  Recovery Password:", pw)
			} else {
				fmt.Fprintln(stdout, "  (no Recovery Password: made from a 32-byte seed)")
			}
		}
	}
	return nil
}

func runBlind(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("blind", "ACCOUNT_ID", "Prints the 15- and 25-blinded IDs a community with the given public key sees for an Account ID.", stderr)
	serverPK := fs.String("server-pk", "", "the community server's public key (64 hex digits; the join URL's public_key)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("want one Account ID")}
	}
	id, err := crypto.ParseAccountID(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	pkb, err := hex.DecodeString(*serverPK)
	if err != nil || len(pkb) != 32 {
		return usageError{fmt.Errorf("-server-pk must be 64 hex digits")}
	}
	pk := [32]byte(pkb)
	ids15, err := blinding.Blind15IDs(id, pk)
	if err != nil {
		return err
	}
	id25, err := blinding.Blind25ID(id, pk)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, "15 (one of):", ids15[0])
	fmt.Fprintln(stdout, "            ", ids15[1])
	fmt.Fprintln(stdout, "25:         ", id25)
	return nil
}

func runSwarm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("swarm", "ACCOUNT_ID", "Prints the swarm (ID and member nodes) that stores an Account ID's messages.", stderr)
	nf := addNetFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("want one Account ID")}
	}
	id, err := crypto.ParseAccountID(fs.Arg(0))
	if err != nil {
		return usageError{err}
	}
	nw, err := nf.network()
	if err != nil {
		return err
	}
	defer nw.Close()
	swarmID, nodes, err := nw.Pool().Swarm(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "swarm %016x (%d nodes)\n", swarmID, len(nodes))
	for _, n := range nodes {
		fmt.Fprintf(stdout, "  %s  %x\n", n.AddrPort(), n.Ed25519)
	}
	return nil
}

func runResolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("resolve", "NAME", "Resolves a Session name (SNS/ONS) to an Account ID.", stderr)
	nf := addNetFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("want one name")}
	}
	nw, err := nf.network()
	if err != nil {
		return err
	}
	defer nw.Close()
	id, err := nw.ResolveName(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("send", "TEXT...", "Sends a text message as the chosen account.", stderr)
	af := addAccountFlags(fs)
	nf := addNetFlags(fs)
	to := fs.String("to", "", "recipient: an Account ID (05...) or a Session name")
	if err := parse(fs, args); err != nil {
		return err
	}
	text := strings.Join(fs.Args(), " ")
	if *to == "" || text == "" {
		return usageError{errors.New("want -to and a text")}
	}
	client, closeAll, err := openClient(ctx, af, nf)
	if err != nil {
		return err
	}
	defer closeAll()
	recipient, err := crypto.ParseAccountID(*to)
	if err != nil {
		if recipient, err = client.Network().ResolveName(ctx, *to); err != nil {
			return fmt.Errorf("-to %q is neither an Account ID nor a name that resolves: %w", *to, err)
		}
	}
	res, err := client.SendText(ctx, recipient, text)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent to %s at %s (hash %s, stored by %d nodes)\n", recipient, res.Timestamp.Format(time.RFC3339Nano), res.Hash, res.Stored)
	return nil
}

func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("listen", "", "Receives messages for the chosen account and prints them until interrupted.", stderr)
	af := addAccountFlags(fs)
	nf := addNetFlags(fs)
	runFor := fs.Duration("for", 0, "stop after this long (default: until interrupted)")
	interval := fs.Duration("interval", session.DefaultPollInterval, "poll interval")
	if err := parse(fs, args); err != nil {
		return err
	}
	client, closeAll, err := openClient(ctx, af, nf, session.WithPollInterval(*interval))
	if err != nil {
		return err
	}
	defer closeAll()
	fmt.Fprintln(stdout, "listening as", client.AccountID())
	client.AddEventHandler(func(evt any) {
		switch e := evt.(type) {
		case *session.Message:
			who := e.From.String()
			if e.Profile != nil && e.Profile.DisplayName != "" {
				who = e.Profile.DisplayName + " (" + who + ")"
			}
			if e.Sync {
				fmt.Fprintf(stdout, "[%s] me → %s: %s\n", e.Timestamp.Format(time.TimeOnly), e.To, e.Text)
			} else {
				fmt.Fprintf(stdout, "[%s] %s: %s\n", e.Timestamp.Format(time.TimeOnly), who, e.Text)
			}
		case *session.Reaction:
			fmt.Fprintf(stdout, "%s reacted %s\n", e.From, e.Emoji)
		case *session.ReadReceipt:
			fmt.Fprintf(stdout, "%s read %d message(s)\n", e.From, len(e.Timestamps))
		case *session.Unsend:
			fmt.Fprintf(stdout, "%s deleted a message\n", e.From)
		case *session.PollError:
			fmt.Fprintf(stderr, "poll failed (retrying in %v): %v\n", e.Backoff.Round(time.Millisecond), e.Err)
		}
	})
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	return client.Run(ctx)
}
