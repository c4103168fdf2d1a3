// Command sessionctl is the SDK's command-line tool.
//
// Usage:
//
//	sessionctl <command> [flags]
//
// Commands (run 'sessionctl' for the list and 'sessionctl <command> -h' for a command's flags):
//
//	new, import, id      create, import and list accounts (kept in a SQLite file, -db)
//	send, attach, listen send texts and files, receive and print messages
//	group, community     closed groups and community rooms
//	blind, swarm, resolve  blinded IDs, the swarm of an Account ID, Session names
//	devnet               run a local Session network on 127.0.0.1 and write its network file
//	leases               which process holds each account (clients, fleets; -db or -dsn)
//
// Every command takes -json for output that scripts can read. The SESSIONGO_* environment
// variables give -db, -account, -network, -seed, -ca and -direct their defaults, and
// SESSIONGO_NETWORK (printed by 'sessionctl devnet') connects every command to a devnet.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. run parses its own flags from args.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// runInput, set instead of run, also reads standard input.
	runInput func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"devnet": {summary: "run a local Session network on 127.0.0.1 and write the network file that connects to it", run: runDevnet},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runWithInput(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: sessionctl <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'sessionctl <command> -h' for a command's flags. Every command takes -json.")
	fmt.Fprintln(w, envHelp)
}

// runWithInput executes the command line and returns the exit code (0 ok, 1 failure, 2 usage).
// With -json, a failure is also reported as a JSON object on stderr: {"error": ..., "exit": n}.
func runWithInput(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sessionctl: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	var err error
	if cmd.runInput != nil {
		err = cmd.runInput(ctx, args[1:], stdin, stdout, stderr)
	} else {
		err = cmd.run(ctx, args[1:], stdout, stderr)
	}
	if err == nil {
		return 0
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	code := 1
	var ue usageError
	if errors.As(err, &ue) {
		code = 2
	}
	if wantsJSON(args[1:]) {
		_ = json.NewEncoder(stderr).Encode(struct {
			Command string `json:"command"`
			Error   string `json:"error"`
			Exit    int    `json:"exit"`
		}{args[0], err.Error(), code})
		return code
	}
	fmt.Fprintf(stderr, "sessionctl %s: %v\n", args[0], err)
	return code
}

// usageError is a bad command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }
