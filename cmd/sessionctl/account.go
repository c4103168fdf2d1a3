package main

import (
	"bufio"
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
	"unicode/utf8"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/sns"
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
	commands["send"] = command{summary: "send a text message", runInput: runSend}
	commands["listen"] = command{summary: "receive messages (1:1, groups, communities) and print them", run: runListen}
	commands["import"] = command{summary: "add an existing account from its Recovery Password (read from standard input)", runInput: runImport}
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

// parseWithAccount parses the command line of a command whose one argument is an Account ID,
// and returns that ID.
func parseWithAccount(fs *flag.FlagSet, args []string) (crypto.AccountID, error) {
	if err := parse(fs, args); err != nil {
		return crypto.AccountID{}, err
	}
	if fs.NArg() != 1 {
		return crypto.AccountID{}, usageError{errors.New("want one Account ID")}
	}
	return parseAccountArg("ACCOUNT_ID", fs.Arg(0))
}

const defaultDB = "sessionctl.db"

// accountFlags choose the account a command acts as.
type accountFlags struct {
	db      *string
	account *string
}

func addAccountFlags(fs *flag.FlagSet) accountFlags {
	return accountFlags{
		db:      addDBFlag(fs),
		account: fs.String("account", envOr(envAccount, ""), "Account ID to act as (default: $"+envAccount+", else the file's only account)"),
	}
}

// addDBFlag adds -db, defaulting to $SESSIONGO_DB.
func addDBFlag(fs *flag.FlagSet) *string {
	return fs.String("db", envOr(envDB, defaultDB), "SQLite file holding the accounts (default: $"+envDB+", else "+defaultDB+")")
}

func (a accountFlags) open(ctx context.Context) (*sqlite.Store, []session.Option, error) {
	st, err := openStore(ctx, *a.db, false)
	if err != nil {
		return nil, nil, err
	}
	opts := []session.Option{session.WithStore(st)}
	if *a.account != "" {
		id, err := parseAccountArg("-account", *a.account)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		if _, err := st.GetAccount(ctx, id); errors.Is(err, store.ErrNotFound) {
			st.Close()
			return nil, nil, fmt.Errorf("-account %s is not in %s: 'sessionctl id -db %s' lists the accounts there", id, *a.db, *a.db)
		} else if err != nil {
			st.Close()
			return nil, nil, err
		}
		opts = append(opts, session.WithAccount(id))
	} else {
		accounts, err := st.Accounts(ctx)
		if err != nil {
			st.Close()
			return nil, nil, err
		}
		switch {
		case len(accounts) == 0:
			st.Close()
			return nil, nil, fmt.Errorf("no account in %s: create one with 'sessionctl new -db %s' or import one with 'sessionctl import -db %s'", *a.db, *a.db, *a.db)
		case len(accounts) > 1:
			st.Close()
			return nil, nil, explain(session.ErrAmbiguousAccount, *a.db)
		}
	}
	return st, opts, nil
}

// netFlags choose the network.
type netFlags struct {
	file   *string // -network
	seeds  *stringList
	ca     *string
	direct *bool
	local  *bool
}

// stringList is a repeatable flag whose default (from the environment) the first use replaces.
type stringList struct {
	vals []string
	set  bool
}

func (s *stringList) String() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.vals, ",")
}

func (s *stringList) Set(v string) error {
	if !s.set {
		s.vals, s.set = nil, true
	}
	s.vals = append(s.vals, v)
	return nil
}

func addNetFlags(fs *flag.FlagSet) netFlags {
	n := netFlags{seeds: &stringList{}}
	if env := os.Getenv(envSeed); env != "" {
		for _, s := range strings.Split(env, ",") {
			if s = strings.TrimSpace(s); s != "" {
				n.seeds.vals = append(n.seeds.vals, s)
			}
		}
	}
	n.file = fs.String("network", os.Getenv(envNetwork), "network file written by 'sessionctl devnet' (default: $"+envNetwork+"; none: Session mainnet)")
	fs.Var(n.seeds, "seed", "seed node URL (repeatable; default: $"+envSeed+", the network file's, else Session mainnet)")
	n.ca = fs.String("ca", os.Getenv(envCA), "PEM file of the CA to trust for the seeds (default: $"+envCA+" or the network file's)")
	n.direct = fs.Bool("direct", envBool(envDirect, false), "talk to storage nodes directly instead of through onion paths (default: $"+envDirect+")")
	n.local = fs.Bool("local", false, "nodes share an IP address (a devnet): allow them in one onion path (automatic for loopback seeds)")
	return n
}

func (n netFlags) config() (session.NetworkConfig, error) {
	var cfg session.NetworkConfig
	if *n.file != "" {
		c, err := session.LoadNetworkConfig(*n.file)
		if err != nil {
			return cfg, fmt.Errorf("-network: %w", err)
		}
		cfg = c
	}
	if len(n.seeds.vals) > 0 {
		cfg.Seeds = nil
		for _, s := range n.seeds.vals {
			cfg.Seeds = append(cfg.Seeds, session.NormalizeSeedURL(s))
		}
	}
	if *n.ca != "" {
		pem, err := os.ReadFile(*n.ca)
		if err != nil {
			return cfg, fmt.Errorf("-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, usageError{fmt.Errorf("-ca: %s holds no PEM certificate", *n.ca)}
		}
		cfg.SeedRootCAs = pool
	}
	cfg.Direct = cfg.Direct || *n.direct
	local := *n.local
	for _, s := range cfg.Seeds {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return cfg, usageError{fmt.Errorf("-seed %q: want a URL such as https://127.0.0.1:4443", s)}
		}
		if ip := net.ParseIP(u.Hostname()); ip != nil && ip.IsLoopback() {
			local = true
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
		return nil, nil, explain(err, *af.db)
	}
	return client, func() { client.Close(); st.Close() }, nil
}

// accountJSON is an account in JSON output.
type accountJSON struct {
	AccountID        string `json:"account_id"`
	Name             string `json:"name,omitempty"`
	RecoveryPassword string `json:"recovery_password,omitempty"`
	Existed          bool   `json:"existed,omitempty"`
}

func runNew(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("new", "", "Creates an account in the -db file and prints its Account ID and Recovery Password.", stderr)
	db := addDBFlag(fs)
	name := fs.String("name", "", "a label for the account")
	asJSON := addJSONFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	st, err := openStore(ctx, *db, true)
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
	return emit(stdout, *asJSON, accountJSON{AccountID: keys.AccountID().String(), Name: *name, RecoveryPassword: pw}, func(w io.Writer) {
		fmt.Fprintln(w, "Account ID:       ", keys.AccountID())
		fmt.Fprintln(w, "Recovery Password:", pw)
		fmt.Fprintln(w, "(the Recovery Password restores this account in any Session app: keep it secret)")
	})
}

// runImport adds an existing account, given by its Recovery Password, to the -db file.
func runImport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("import", "", "Adds an existing account to the -db file from its 13-word Recovery Password, read from\n"+
		"standard input (or -password-file), never from the command line.", stderr)
	db := addDBFlag(fs)
	name := fs.String("name", "", "a label for the account")
	pwFile := fs.String("password-file", "", "read the Recovery Password from this file instead of standard input")
	asJSON := addJSONFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{errors.New("the Recovery Password is read from standard input (or -password-file), not from arguments, which other users can see")}
	}
	in := stdin
	if *pwFile != "" {
		f, err := os.Open(*pwFile)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	} else if f, ok := stdin.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(stderr, "Recovery Password (13 words): ")
		}
	}
	line, err := bufio.NewReader(io.LimitReader(in, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	words := strings.Join(strings.Fields(line), " ")
	if words == "" {
		return usageError{errors.New("no Recovery Password on standard input: pipe the 13 words in, e.g. 'sessionctl import < password.txt'")}
	}
	seed, err := crypto.DecodeMnemonic(words)
	if err != nil {
		return fmt.Errorf("not a valid Recovery Password: %w", err)
	}
	keys, err := crypto.KeysFromSeed(seed[:])
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *db, true)
	if err != nil {
		return err
	}
	defer st.Close()
	res := accountJSON{AccountID: keys.AccountID().String(), Name: *name}
	if old, err := st.GetAccount(ctx, keys.AccountID()); err == nil {
		res.Existed, res.Name = true, old.Name
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	} else if err := st.PutAccount(ctx, store.Account{ID: keys.AccountID(), Seed: keys.Seed(), Name: *name}); err != nil {
		return err
	}
	return emit(stdout, *asJSON, res, func(w io.Writer) {
		if res.Existed {
			fmt.Fprintln(w, "already in", *db+":", res.AccountID)
			return
		}
		fmt.Fprintln(w, "imported", res.AccountID, "into", *db)
	})
}

func runID(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("id", "", "Lists the accounts in the -db file.", stderr)
	db := addDBFlag(fs)
	showPW := fs.Bool("password", false, "also print each account's Recovery Password (secret)")
	asJSON := addJSONFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := openStore(ctx, *db, false)
	if err != nil {
		return err
	}
	defer st.Close()
	accounts, err := st.Accounts(ctx)
	if err != nil {
		return err
	}
	out := []accountJSON{}
	for _, a := range accounts {
		aj := accountJSON{AccountID: a.ID.String(), Name: a.Name}
		if *showPW {
			k, err := a.Keys()
			if err != nil {
				return err
			}
			if pw, err := k.RecoveryPassword(); err == nil {
				aj.RecoveryPassword = pw
			}
		}
		out = append(out, aj)
	}
	return emit(stdout, *asJSON, out, func(w io.Writer) {
		for _, a := range out {
			line := a.AccountID
			if a.Name != "" {
				line += "  " + a.Name
			}
			fmt.Fprintln(w, line)
			if *showPW {
				if a.RecoveryPassword != "" {
					fmt.Fprintln(w, "  Recovery Password:", a.RecoveryPassword)
				} else {
					fmt.Fprintln(w, "  (no Recovery Password: made from a 32-byte seed)")
				}
			}
		}
	})
}

func runBlind(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("blind", "ACCOUNT_ID", "Prints the 15- and 25-blinded IDs a community with the given public key sees for an Account ID.", stderr)
	serverPK := fs.String("server-pk", "", "the community server's public key (64 hex digits; the join URL's public_key)")
	asJSON := addJSONFlag(fs)
	id, err := parseWithAccount(fs, args)
	if err != nil {
		return err
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
	res := struct {
		Blinded15 []string `json:"blinded15"`
		Blinded25 string   `json:"blinded25"`
	}{[]string{ids15[0].String(), ids15[1].String()}, id25.String()}
	return emit(stdout, *asJSON, res, func(w io.Writer) {
		fmt.Fprintln(w, "15 (one of):", ids15[0])
		fmt.Fprintln(w, "            ", ids15[1])
		fmt.Fprintln(w, "25:         ", id25)
	})
}

func runSwarm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("swarm", "ACCOUNT_ID", "Prints the swarm (ID and member nodes) that stores an Account ID's messages.", stderr)
	nf := addNetFlags(fs)
	asJSON := addJSONFlag(fs)
	id, err := parseWithAccount(fs, args)
	if err != nil {
		return err
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
	type nodeJSON struct {
		Address string `json:"address"`
		Ed25519 string `json:"pubkey_ed25519"`
	}
	res := struct {
		Swarm string     `json:"swarm"`
		Nodes []nodeJSON `json:"nodes"`
	}{Swarm: fmt.Sprintf("%016x", swarmID)}
	for _, n := range nodes {
		res.Nodes = append(res.Nodes, nodeJSON{n.AddrPort().String(), hex.EncodeToString(n.Ed25519[:])})
	}
	return emit(stdout, *asJSON, res, func(w io.Writer) {
		fmt.Fprintf(w, "swarm %s (%d nodes)\n", res.Swarm, len(nodes))
		for _, n := range res.Nodes {
			fmt.Fprintf(w, "  %s  %s\n", n.Address, n.Ed25519)
		}
	})
}

func runResolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("resolve", "NAME", "Resolves a Session name (SNS/ONS) to an Account ID.", stderr)
	nf := addNetFlags(fs)
	asJSON := addJSONFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("want one name")}
	}
	name := fs.Arg(0)
	if _, err := sns.NormalizeName(name); err != nil {
		return usageError{err}
	}
	nw, err := nf.network()
	if err != nil {
		return err
	}
	defer nw.Close()
	id, err := nw.ResolveName(ctx, name)
	if err != nil {
		return err
	}
	return emit(stdout, *asJSON, struct {
		Name      string `json:"name"`
		AccountID string `json:"account_id"`
	}{name, id.String()}, func(w io.Writer) { fmt.Fprintln(w, id) })
}

// readText returns the message text of a command: its arguments joined, or standard input
// when the only argument is "-". Text that is empty, only white space or not UTF-8 is refused
// (Session apps show such messages as blank or garbled).
func readText(args []string, stdin io.Reader, required bool) (string, error) {
	var text string
	if len(args) == 1 && args[0] == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, maxTextBytes+1))
		if err != nil {
			return "", err
		}
		if len(b) > maxTextBytes {
			return "", usageError{fmt.Errorf("the text on standard input is longer than %d bytes", maxTextBytes)}
		}
		text = strings.TrimRight(string(b), "\r\n")
	} else {
		text = strings.Join(args, " ")
	}
	return checkText(text, required)
}

// checkText refuses text that is not UTF-8 and, when required, text that is empty or only
// white space; optional blank text becomes "".
func checkText(text string, required bool) (string, error) {
	if !utf8.ValidString(text) {
		return "", usageError{errors.New("the text is not valid UTF-8")}
	}
	if strings.TrimSpace(text) == "" {
		if required {
			return "", usageError{errors.New("the text is empty: give it as arguments, or '-' to read it from standard input")}
		}
		return "", nil
	}
	return text, nil
}

// maxTextBytes bounds a text read from standard input.
const maxTextBytes = 64 << 10

// sentJSON is a sent message in JSON output.
type sentJSON struct {
	To          string `json:"to"`
	Hash        string `json:"hash,omitempty"`
	Timestamp   string `json:"timestamp"`
	TimestampMs int64  `json:"timestamp_ms"`
	Stored      int    `json:"stored,omitempty"`
	ID          int64  `json:"id,omitempty"` // community message ID
}

func sentResult(to string, res *session.SendResult) sentJSON {
	return sentJSON{To: to, Hash: res.Hash, Timestamp: timeJSON(res.Timestamp), TimestampMs: res.Timestamp.UnixMilli(), Stored: res.Stored}
}

func runSend(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("send", "TEXT... | -", "Sends a text message as the chosen account ('-': the text is read from standard input).", stderr)
	af := addAccountFlags(fs)
	nf := addNetFlags(fs)
	to := fs.String("to", "", "recipient: an Account ID (05...) or a Session name")
	asJSON := addJSONFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *to == "" {
		return usageError{errors.New("want -to and a text")}
	}
	text, err := readText(fs.Args(), stdin, true)
	if err != nil {
		return err
	}
	client, closeAll, err := openClient(ctx, af, nf)
	if err != nil {
		return err
	}
	defer closeAll()
	recipient, err := resolveRecipient(ctx, client.Network(), "-to", *to)
	if err != nil {
		return err
	}
	res, err := client.SendText(ctx, recipient, text)
	if err != nil {
		return err
	}
	return emit(stdout, *asJSON, sentResult(recipient.String(), res), func(w io.Writer) {
		fmt.Fprintf(w, "sent to %s at %s (hash %s, stored by %d nodes)\n", recipient, res.Timestamp.Format(time.RFC3339Nano), res.Hash, res.Stored)
	})
}

func runListen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("listen", "", "Receives messages (1:1, groups, communities) for the chosen account and prints them until\n"+
		"interrupted; with -json, one JSON object per event and line.", stderr)
	af := addAccountFlags(fs)
	nf := addNetFlags(fs)
	runFor := fs.Duration("for", 0, "stop after this long (default: until interrupted)")
	interval := fs.Duration("interval", session.DefaultPollInterval, "poll interval")
	download := fs.String("download", "", "save received attachments in this directory")
	asJSON := addJSONFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if *download != "" {
		if st, err := os.Stat(*download); err != nil || !st.IsDir() {
			return usageError{fmt.Errorf("-download %s: not a directory", *download)}
		}
	}
	client, closeAll, err := openClient(ctx, af, nf, session.WithPollInterval(*interval))
	if err != nil {
		return err
	}
	defer closeAll()
	if !*asJSON {
		fmt.Fprintln(stdout, "listening as", client.AccountID())
	}
	p := &eventPrinter{w: stdout, errw: stderr, json: *asJSON, download: *download}
	client.AddEventHandler(func(evt session.Event) { p.print(ctx, evt) })
	if *runFor > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *runFor)
		defer cancel()
	}
	return client.Run(ctx)
}
