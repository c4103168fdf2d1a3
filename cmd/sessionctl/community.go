package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/sessiongo/sdk/session"
)

func init() {
	commands["community"] = command{summary: "community rooms: join, leave, list, send, dm, react", runInput: runCommunity}
}

const roomHelp = "The room is -room (a join URL: https://server/room?public_key=...), else the first room of the\n" +
	"network file (a devnet's lobby)."

var communityCommands = map[string]subcommand{
	"join":  {"[-room URL]", "Joins a room: 'sessionctl listen' then prints its messages. " + roomHelp, communityJoin, true},
	"leave": {"[-room URL]", "Leaves a room. " + roomHelp, communityLeave, true},
	"list":  {"", "Lists the joined rooms.", communityList, false},
	"send":  {"[-room URL] TEXT... | -", "Posts a text in a room ('-': read from standard input). " + roomHelp, communitySend, true},
	"dm":    {"[-room URL] BLINDED_ID TEXT...", "Sends a blinded direct message through the room's server to a 15-blinded ID seen in the room. " + roomHelp, communityDM, true},
	"react": {"[-room URL] MESSAGE_ID EMOJI", "Reacts to a message of a room. " + roomHelp, communityReact, true},
}

func runCommunity(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runSubcommand(ctx, "community", communityCommands, args, stdin, stdout, stderr)
}

// room returns -room, or the network file's first community.
func (sc *subctx) room() (string, error) {
	if sc.roomURL != nil && *sc.roomURL != "" {
		return *sc.roomURL, nil
	}
	if *sc.nf.file != "" {
		f, err := session.LoadNetworkFile(*sc.nf.file)
		if err != nil {
			return "", err
		}
		if len(f.Communities) > 0 {
			return f.Communities[0], nil
		}
	}
	return "", usageError{errors.New("want -room with a room's join URL (the network file names no room)")}
}

func communityJoin(ctx context.Context, sc *subctx) error {
	room, err := sc.room()
	if err != nil {
		return err
	}
	info, err := sc.client.JoinCommunity(ctx, room)
	if err != nil {
		return err
	}
	return emit(sc.stdout, sc.asJSON, struct {
		Room        string `json:"room"`
		Token       string `json:"token"`
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		ActiveUsers int64  `json:"active_users"`
		Write       bool   `json:"write"`
		Upload      bool   `json:"upload"`
	}{room, info.Token, info.Name, info.Description, info.ActiveUsers, info.Write, info.Upload}, func(w io.Writer) {
		fmt.Fprintf(w, "joined %q (%s, %d active users); 'sessionctl listen' prints its messages\n", info.Name, info.Token, info.ActiveUsers)
	})
}

func communityLeave(ctx context.Context, sc *subctx) error {
	room, err := sc.room()
	if err != nil {
		return err
	}
	if err := sc.client.LeaveCommunity(ctx, room); err != nil {
		return err
	}
	return emit(sc.stdout, sc.asJSON, struct {
		Room   string `json:"room"`
		Action string `json:"action"`
	}{room, "left"}, func(w io.Writer) { fmt.Fprintln(w, "left", room) })
}

func communityList(ctx context.Context, sc *subctx) error {
	rooms, err := sc.client.Communities(ctx)
	if err != nil {
		return err
	}
	if rooms == nil {
		rooms = []string{}
	}
	return emit(sc.stdout, sc.asJSON, rooms, func(w io.Writer) {
		for _, r := range rooms {
			fmt.Fprintln(w, r)
		}
	})
}

func communitySend(ctx context.Context, sc *subctx) error {
	room, err := sc.room()
	if err != nil {
		return err
	}
	text, err := readText(sc.fs.Args(), sc.stdin, true)
	if err != nil {
		return err
	}
	m, err := sc.client.SendCommunityMessage(ctx, room, text)
	if err != nil {
		return err
	}
	return emit(sc.stdout, sc.asJSON, sentJSON{To: room, ID: m.ID, Timestamp: timeJSON(m.Posted), TimestampMs: m.Posted.UnixMilli()}, func(w io.Writer) {
		fmt.Fprintf(w, "posted message #%d in %s\n", m.ID, room)
	})
}

func communityDM(ctx context.Context, sc *subctx) error {
	room, err := sc.room()
	if err != nil {
		return err
	}
	if sc.fs.NArg() < 2 {
		return usageError{errors.New("want a blinded ID (15...) and a text")}
	}
	to, err := parseAccountArg("BLINDED_ID", sc.fs.Arg(0))
	if err != nil {
		return err
	}
	text, err := readText(sc.fs.Args()[1:], sc.stdin, true)
	if err != nil {
		return err
	}
	dm, err := sc.client.SendCommunityDM(ctx, room, to, text)
	if err != nil {
		return err
	}
	return emit(sc.stdout, sc.asJSON, sentJSON{To: to.String(), ID: dm.ID, Timestamp: timeJSON(dm.Posted), TimestampMs: dm.Posted.UnixMilli()}, func(w io.Writer) {
		fmt.Fprintf(w, "sent a blinded DM to %s (#%d)\n", to, dm.ID)
	})
}

func communityReact(ctx context.Context, sc *subctx) error {
	room, err := sc.room()
	if err != nil {
		return err
	}
	if sc.fs.NArg() != 2 {
		return usageError{errors.New("want a message ID and an emoji")}
	}
	id, err := strconv.ParseInt(sc.fs.Arg(0), 10, 64)
	if err != nil || id <= 0 {
		return usageError{fmt.Errorf("message ID %q: want a positive number", sc.fs.Arg(0))}
	}
	emoji, err := checkText(sc.fs.Arg(1), true)
	if err != nil {
		return err
	}
	if err := sc.client.ReactInCommunity(ctx, room, id, emoji); err != nil {
		return err
	}
	return emit(sc.stdout, sc.asJSON, struct {
		Room  string `json:"room"`
		ID    int64  `json:"id"`
		Emoji string `json:"emoji"`
	}{room, id, emoji}, func(w io.Writer) { fmt.Fprintf(w, "reacted %s to #%d\n", emoji, id) })
}
