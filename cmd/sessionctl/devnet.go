package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/filesd"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/session"
)

// nameFlags collects repeated -name NAME=SESSIONID flags.
type nameFlags map[string]string

func (n nameFlags) String() string { return "" }

func (n nameFlags) Set(v string) error {
	name, id, ok := strings.Cut(v, "=")
	if !ok || name == "" || id == "" {
		return fmt.Errorf("want NAME=SESSIONID, got %q", v)
	}
	n[name] = id
	return nil
}

// devnetInfo is what `sessionctl devnet -json` prints.
type devnetInfo struct {
	SeedURL string `json:"seed_url"`
	CACert  string `json:"ca_cert_file"`
	// NetworkFile is the network file (see session.LoadNetworkFile) and Env the line that
	// points programs and sessionctl at it.
	NetworkFile string       `json:"network_file"`
	Env         string       `json:"env"`
	Nodes       []devnetNode `json:"nodes"`
	Swarms      []string     `json:"swarms"`
	Height      uint64       `json:"height"`
	Protocols   []string     `json:"endpoints"`
	// Community is the devnet community server (SOGS) and FileServer the file server, both
	// reachable directly and as onion v4 destinations.
	Community  *serverInfo `json:"community,omitempty"`
	FileServer *serverInfo `json:"file_server,omitempty"`
}

type serverInfo struct {
	URL       string `json:"url"`
	X25519    string `json:"pubkey_x25519"`
	JoinURL   string `json:"join_url,omitempty"`
	RoomToken string `json:"room,omitempty"`
}

type devnetNode struct {
	URL     string `json:"url"`
	IP      string `json:"public_ip"`
	Port    int    `json:"storage_port"`
	Ed25519 string `json:"pubkey_ed25519"`
	X25519  string `json:"pubkey_x25519"`
	Swarm   string `json:"swarm"`
}

func runDevnet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("devnet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.Int("nodes", 20, "number of storage nodes (14 or more give several swarms)")
	seed := fs.Uint64("seed", 0, "make identities and swarm assignment deterministic (0: random)")
	caOut := fs.String("ca-out", "", "write the devnet CA certificate (PEM) here (default: a file in the temp dir)")
	netOut := fs.String("out", "", "write the network file (seeds, CA, file server, community) here (default: a file in the temp dir,\nremoved when the devnet stops)")
	asJSON := fs.Bool("json", false, "print the connection details as JSON")
	runFor := fs.Duration("for", 0, "stop after this long (default: until interrupted)")
	servers := fs.Bool("servers", true, "also run a community server (room \"lobby\") and a file server")
	verbose := fs.Bool("v", false, "log devnet events (reassignments, faults) to stderr")
	names := nameFlags{}
	fs.Var(names, "name", "register an ONS name: NAME=SESSIONID (repeatable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sessionctl devnet [flags]")
		fmt.Fprintln(stderr, "\nRuns a local Session storage network on 127.0.0.1 until interrupted, writes its network file")
		fmt.Fprintln(stderr, "(everything a client needs: seeds, CA, path rules, file server, community) and prints the line")
		fmt.Fprintln(stderr, "that points programs at it:")
		fmt.Fprintln(stderr, "\n  export "+session.EnvNetwork+"=/path/to/devnet.json")
		fmt.Fprintln(stderr, "\nsessionctl commands, the examples and session.NetworkConfigFromEnv() then use the devnet.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected arguments: %v", fs.Args())}
	}
	opts := []devnet.Option{devnet.WithNodes(*nodes)}
	if *seed != 0 {
		opts = append(opts, devnet.WithSeed(*seed))
	}
	for n, id := range names {
		opts = append(opts, devnet.WithName(n, id))
	}
	if *verbose {
		opts = append(opts, devnet.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	nw, err := devnet.Start(ctx, opts...)
	if err != nil {
		return err
	}
	defer nw.Close()
	var community *sogsd.Server
	var files *filesd.Server
	if *servers {
		if community, err = sogsd.Start(ctx, sogsd.WithNetwork(nw)); err != nil {
			return fmt.Errorf("starting the community server: %w", err)
		}
		defer community.Close()
		if err := community.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Lobby"}); err != nil {
			return err
		}
		if files, err = filesd.Start(ctx, filesd.WithNetwork(nw)); err != nil {
			return fmt.Errorf("starting the file server: %w", err)
		}
		defer files.Close()
	}

	caPath := *caOut
	if caPath == "" {
		f, err := os.CreateTemp("", "sessiongo-devnet-ca-*.pem")
		if err != nil {
			return err
		}
		caPath = f.Name()
		f.Close()
		defer os.Remove(caPath)
	}
	if abs, err := filepath.Abs(caPath); err == nil {
		caPath = abs
	}
	if err := os.WriteFile(caPath, nw.CACertPEM(), 0o644); err != nil {
		return fmt.Errorf("writing CA certificate: %w", err)
	}

	info := describe(nw, caPath)
	nf := session.NetworkFile{Seeds: []string{nw.SeedURL()}, CACertPEM: string(nw.CACertPEM()), PathDiversity: "nodes"}
	if community != nil {
		pk := community.PublicKey()
		info.Community = &serverInfo{URL: community.URL(), X25519: hex.EncodeToString(pk[:]),
			JoinURL: community.JoinURL("lobby"), RoomToken: "lobby"}
		nf.Communities = []string{info.Community.JoinURL}
	}
	if files != nil {
		fsrv := files.OnionServer()
		info.FileServer = &serverInfo{URL: files.URL(), X25519: hex.EncodeToString(fsrv.X25519[:])}
		nf.FileServer = &session.FileServerInfo{URL: files.URL(), X25519: info.FileServer.X25519}
		// The file server's Ed25519 key, written into file URLs, is the one that converts
		// back to its X25519 key.
		if ed, err := crypto.XEd25519PublicKey(fsrv.X25519); err == nil {
			nf.FileServer.Ed25519 = hex.EncodeToString(ed[:])
		}
	}
	netPath := *netOut
	if netPath == "" {
		f, err := os.CreateTemp("", "sessiongo-devnet-*.json")
		if err != nil {
			return err
		}
		netPath = f.Name()
		f.Close()
		defer os.Remove(netPath)
	}
	if abs, err := filepath.Abs(netPath); err == nil {
		netPath = abs
	}
	b, err := json.MarshalIndent(nf, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(netPath, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the network file: %w", err)
	}
	info.NetworkFile = netPath
	info.Env = session.EnvNetwork + "=" + netPath
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(info); err != nil {
			return err
		}
	} else {
		printText(stdout, info)
	}

	var timeout <-chan time.Time
	if *runFor > 0 {
		t := time.NewTimer(*runFor)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-ctx.Done():
	case <-timeout:
	}
	if !*asJSON {
		fmt.Fprintln(stdout, "devnet stopped")
	}
	return nil
}

func describe(nw *devnet.Network, caPath string) devnetInfo {
	info := devnetInfo{
		SeedURL: nw.SeedURL(), CACert: caPath, Height: nw.Height(),
		Protocols: []string{"POST /storage_rpc/v1", "POST /onion_req/v2", "seed: POST /json_rpc (get_n_service_nodes)"},
	}
	for _, n := range nw.Nodes() {
		ed, x := n.Ed25519PublicKey(), n.X25519PublicKey()
		info.Nodes = append(info.Nodes, devnetNode{
			URL: n.URL(), IP: "127.0.0.1", Port: n.Port(),
			Ed25519: hex.EncodeToString(ed[:]), X25519: hex.EncodeToString(x[:]),
			Swarm: fmt.Sprintf("%x", n.SwarmID()),
		})
	}
	for id := range nw.Swarms() {
		info.Swarms = append(info.Swarms, fmt.Sprintf("%x", id))
	}
	sort.Strings(info.Swarms)
	return info
}

func printText(w io.Writer, info devnetInfo) {
	fmt.Fprintf(w, "devnet running: %d storage nodes in %d swarms (height %d)\n\n", len(info.Nodes), len(info.Swarms), info.Height)
	fmt.Fprintln(w, "Connect programs and sessionctl to it (session.NetworkConfigFromEnv reads it):")
	fmt.Fprintf(w, "\n  export %s\n\n", info.Env)
	fmt.Fprintf(w, "seed:     %s   (for -seed; its oxend JSON-RPC is at /json_rpc)\n", info.SeedURL)
	fmt.Fprintf(w, "trust:    %s   (for -ca: CA of the seed and of every node)\n", info.CACert)
	fmt.Fprintf(w, "network:  %s\n\n", info.NetworkFile)
	fmt.Fprintln(w, "Nodes (POST /storage_rpc/v1, /onion_req/v2):")
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-24s %-16s %s\n", "url", "swarm", "pubkey_ed25519")
	for _, n := range info.Nodes {
		fmt.Fprintf(w, "%-24s %-16s %s\n", strings.TrimPrefix(n.URL, "https://"), n.Swarm, n.Ed25519)
	}
	if c := info.Community; c != nil {
		fmt.Fprintf(w, "\ncommunity:   %s  (room %q, join URL %s)\n", c.URL, c.RoomToken, c.JoinURL)
	}
	if f := info.FileServer; f != nil {
		fmt.Fprintf(w, "file server: %s  (X25519 key %s)\n", f.URL, f.X25519)
	}
	fmt.Fprintln(w, "\nExample:")
	fmt.Fprintf(w, "  curl --cacert %s -d '{\"method\":\"info\",\"params\":{}}' %s/storage_rpc/v1\n", info.CACert, info.Nodes[0].URL)
	fmt.Fprintln(w, "\nPress Ctrl-C to stop.")
}
