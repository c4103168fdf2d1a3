package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/session"
)

func init() {
	commands["group"] = command{summary: "closed groups: create, list, info, send, invite, remove, accept, leave, delete", runInput: runGroup}
}

// subcommand is one action of a command with actions (group, community).
type subcommand struct {
	args, about string
	run         func(ctx context.Context, sc *subctx) error
	room        bool // takes -room (community actions)
}

// subctx is what a subcommand works with: its flags, parsed, and its client.
type subctx struct {
	fs      *flag.FlagSet
	client  *session.Client
	nf      netFlags
	roomURL *string // -room, when the action takes it
	asJSON  bool
	stdin   io.Reader
	stdout  io.Writer
}

var groupCommands = map[string]subcommand{
	"create": {"NAME [MEMBER...]", "Creates a group with us as admin and invites the members (Account IDs or names).", groupCreate, false},
	"list":   {"", "Lists our groups.", groupList, false},
	"info":   {"GROUP", "Shows a group and its members.", groupInfo, false},
	"send":   {"GROUP TEXT... | GROUP -", "Sends a text to a group ('-': read from standard input).", groupSend, false},
	"invite": {"GROUP MEMBER...", "Invites members to a group we administer.", groupInvite, false},
	"remove": {"GROUP MEMBER...", "Removes members from a group we administer (the group is rekeyed).", groupRemove, false},
	"accept": {"GROUP", "Accepts an invitation ('sessionctl listen' receives it first).", groupAccept, false},
	"leave":  {"GROUP", "Leaves a group.", groupLeave, false},
	"delete": {"GROUP", "Deletes a group we administer for every member.", groupDelete, false},
}

func runGroup(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runSubcommand(ctx, "group", groupCommands, args, stdin, stdout, stderr)
}

// runSubcommand parses "<action> [flags] args" and runs the action with a client.
func runSubcommand(ctx context.Context, name string, subs map[string]subcommand, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		fmt.Fprintf(stderr, "usage: sessionctl %s <action> [flags] ...\n\nactions:\n", name)
		for _, n := range names {
			fmt.Fprintf(stderr, "  %-8s %-28s %s\n", n, subs[n].args, subs[n].about)
		}
		if len(args) == 0 {
			return usageError{fmt.Errorf("want an action: %s", strings.Join(names, ", "))}
		}
		return flag.ErrHelp
	}
	sub, ok := subs[args[0]]
	if !ok {
		return usageError{fmt.Errorf("unknown action %q (want one of %s)", args[0], strings.Join(names, ", "))}
	}
	fs := newFlagSet(name+" "+args[0], sub.args, sub.about, stderr)
	af := addAccountFlags(fs)
	nf := addNetFlags(fs)
	asJSON := addJSONFlag(fs)
	var room *string
	if sub.room {
		room = fs.String("room", "", "the room's join URL (default: the network file's first room)")
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	client, closeAll, err := openClient(ctx, af, nf)
	if err != nil {
		return err
	}
	defer closeAll()
	return sub.run(ctx, &subctx{fs: fs, client: client, nf: nf, roomURL: room, asJSON: *asJSON, stdin: stdin, stdout: stdout})
}

// members resolves Account IDs or names.
func (sc *subctx) members(ctx context.Context, args []string) ([]crypto.AccountID, error) {
	var out []crypto.AccountID
	for _, a := range args {
		id, err := resolveRecipient(ctx, sc.client.Network(), "member", a)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// group parses the GROUP argument.
func (sc *subctx) group() (crypto.AccountID, error) {
	if sc.fs.NArg() < 1 {
		return crypto.AccountID{}, usageError{errors.New("want a group ID (03...)")}
	}
	return parseAccountArg("GROUP", sc.fs.Arg(0))
}

// groupJSON is a group in JSON output.
type groupJSON struct {
	ID          string       `json:"id"`
	Name        string       `json:"name"`
	Description string       `json:"description,omitempty"`
	Status      string       `json:"status"`
	Admin       bool         `json:"admin"`
	Created     string       `json:"created,omitempty"`
	InvitedBy   string       `json:"invited_by,omitempty"`
	Members     []memberJSON `json:"members,omitempty"`
}

type memberJSON struct {
	ID      string `json:"id"`
	Name    string `json:"name,omitempty"`
	Admin   bool   `json:"admin,omitempty"`
	Invited bool   `json:"invited,omitempty"`
	Failed  bool   `json:"invite_failed,omitempty"`
	Removed bool   `json:"removed,omitempty"`
}

func toGroupJSON(g session.Group) groupJSON {
	out := groupJSON{ID: g.ID.String(), Name: g.Name, Description: g.Description, Status: g.Status.String(),
		Admin: g.Admin, Created: timeJSON(g.Created), InvitedBy: idJSON(g.InvitedBy)}
	for _, m := range g.Members {
		out.Members = append(out.Members, memberJSON{ID: m.ID.String(), Name: m.Name, Admin: m.Admin,
			Invited: m.Invited, Failed: m.InviteFailed, Removed: m.Removed})
	}
	return out
}

func printGroup(w io.Writer, g groupJSON) {
	role := "member"
	if g.Admin {
		role = "admin"
	}
	fmt.Fprintf(w, "%s  %q  (%s, %s)\n", g.ID, g.Name, g.Status, role)
	for _, m := range g.Members {
		var notes []string
		if m.Admin {
			notes = append(notes, "admin")
		}
		if m.Invited {
			notes = append(notes, "invited")
		}
		if m.Failed {
			notes = append(notes, "invite failed")
		}
		if m.Removed {
			notes = append(notes, "being removed")
		}
		line := "  " + m.ID
		if m.Name != "" {
			line += "  " + m.Name
		}
		if len(notes) > 0 {
			line += "  (" + strings.Join(notes, ", ") + ")"
		}
		fmt.Fprintln(w, line)
	}
}

func groupCreate(ctx context.Context, sc *subctx) error {
	if sc.fs.NArg() < 1 {
		return usageError{errors.New("want a group name")}
	}
	name, err := checkText(sc.fs.Arg(0), true)
	if err != nil {
		return usageError{fmt.Errorf("group name: %w", err)}
	}
	members, err := sc.members(ctx, sc.fs.Args()[1:])
	if err != nil {
		return err
	}
	g, err := sc.client.CreateGroup(ctx, name, members...)
	if g == nil {
		return err
	}
	gj := toGroupJSON(*g)
	if perr := emit(sc.stdout, sc.asJSON, gj, func(w io.Writer) { printGroup(w, gj) }); perr != nil {
		return perr
	}
	if err != nil {
		return fmt.Errorf("the group was created, but some invitations failed ('sessionctl group invite' sends them again): %w", err)
	}
	return nil
}

func groupList(ctx context.Context, sc *subctx) error {
	gs, err := sc.client.Groups(ctx)
	if err != nil {
		return err
	}
	out := []groupJSON{}
	for _, g := range gs {
		gj := toGroupJSON(g)
		gj.Members = nil
		out = append(out, gj)
	}
	return emit(sc.stdout, sc.asJSON, out, func(w io.Writer) {
		for _, g := range out {
			printGroup(w, g)
		}
	})
}

func groupInfo(ctx context.Context, sc *subctx) error {
	gid, err := sc.group()
	if err != nil {
		return err
	}
	g, err := sc.client.Group(ctx, gid)
	if err != nil {
		return err
	}
	gj := toGroupJSON(g)
	return emit(sc.stdout, sc.asJSON, gj, func(w io.Writer) { printGroup(w, gj) })
}

func groupSend(ctx context.Context, sc *subctx) error {
	gid, err := sc.group()
	if err != nil {
		return err
	}
	text, err := readText(sc.fs.Args()[1:], sc.stdin, true)
	if err != nil {
		return err
	}
	res, err := sc.client.SendGroupText(ctx, gid, text)
	if err != nil {
		return err
	}
	return emit(sc.stdout, sc.asJSON, sentResult(gid.String(), res), func(w io.Writer) {
		fmt.Fprintf(w, "sent to the group %s (hash %s, stored by %d nodes)\n", gid, res.Hash, res.Stored)
	})
}

func groupMembersAction(ctx context.Context, sc *subctx, verb string, act func(context.Context, crypto.AccountID, ...crypto.AccountID) error) error {
	gid, err := sc.group()
	if err != nil {
		return err
	}
	if sc.fs.NArg() < 2 {
		return usageError{errors.New("want the group and at least one member")}
	}
	members, err := sc.members(ctx, sc.fs.Args()[1:])
	if err != nil {
		return err
	}
	if err := act(ctx, gid, members...); err != nil {
		return err
	}
	return emit(sc.stdout, sc.asJSON, struct {
		Group   string   `json:"group"`
		Action  string   `json:"action"`
		Members []string `json:"members"`
	}{gid.String(), verb, ids(members)}, func(w io.Writer) {
		fmt.Fprintf(w, "%s %d member(s) of %s\n", verb, len(members), gid)
	})
}

func groupInvite(ctx context.Context, sc *subctx) error {
	return groupMembersAction(ctx, sc, "invited", sc.client.InviteToGroup)
}

func groupRemove(ctx context.Context, sc *subctx) error {
	return groupMembersAction(ctx, sc, "removed", sc.client.RemoveGroupMembers)
}

func groupAction(ctx context.Context, sc *subctx, verb string, act func(context.Context, crypto.AccountID) error) error {
	gid, err := sc.group()
	if err != nil {
		return err
	}
	if sc.fs.NArg() > 1 {
		return usageError{fmt.Errorf("unexpected arguments: %v", sc.fs.Args()[1:])}
	}
	if err := act(ctx, gid); err != nil {
		if errors.Is(err, session.ErrUnknownGroup) && verb == "accepted" {
			return fmt.Errorf("%w: no invitation to %s yet: 'sessionctl listen' receives it", err, gid)
		}
		return err
	}
	return emit(sc.stdout, sc.asJSON, struct {
		Group  string `json:"group"`
		Action string `json:"action"`
	}{gid.String(), verb}, func(w io.Writer) {
		fmt.Fprintf(w, "%s %s\n", verb, gid)
		if verb == "accepted" {
			fmt.Fprintln(w, "'sessionctl listen' completes the join (a group_joined event) and then receives the group's messages")
		}
	})
}

func groupAccept(ctx context.Context, sc *subctx) error {
	return groupAction(ctx, sc, "accepted", sc.client.AcceptGroupInvite)
}

func groupLeave(ctx context.Context, sc *subctx) error {
	return groupAction(ctx, sc, "left", sc.client.LeaveGroup)
}

func groupDelete(ctx context.Context, sc *subctx) error {
	return groupAction(ctx, sc, "deleted", sc.client.DeleteGroup)
}
