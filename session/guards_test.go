package session_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
)

// Item 7: empty, blank and invalid UTF-8 texts are refused with a typed error, before anything
// is sent, for 1:1 messages, groups and communities.
func TestTextRefused(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := devnettest.Start(t)
	s, room := session.StartLobby(t, dn)
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	bob, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	g, err := alice.CreateGroup(ctx, "G")
	if err != nil {
		t.Fatal(err)
	}
	roomPosts := func() int {
		m, err := s.Messages("lobby")
		if err != nil {
			t.Fatal(err)
		}
		return len(m)
	}
	stored, posted := session.StoredMessages(dn), roomPosts()

	for _, tc := range []struct {
		text   string
		want   error
		offset int
	}{
		{"", session.ErrEmptyText, 0},
		{" \t\n", session.ErrEmptyText, 0},
		{"ok\xffnot", session.ErrInvalidText, 2},
		{"é\xc3", session.ErrInvalidText, 2},
	} {
		sends := map[string]func() error{
			"1:1": func() error { _, err := alice.SendText(ctx, bob.AccountID(), tc.text); return err },
			"group": func() error {
				_, err := alice.SendGroupText(ctx, g.ID, tc.text)
				return err
			},
			"community": func() error { _, err := alice.SendCommunityMessage(ctx, room, tc.text); return err },
			"community DM": func() error {
				_, err := alice.SendCommunityDM(ctx, room, bob.AccountID(), tc.text)
				return err
			},
		}
		for name, send := range sends {
			err := send()
			var te *session.TextError
			if !errors.Is(err, tc.want) || !errors.As(err, &te) || te.Offset != tc.offset {
				t.Errorf("%s %q: %v (want %v at %d)", name, tc.text, err, tc.want, tc.offset)
			}
		}
	}
	// With attachments the text may be empty, but not invalid.
	file := []session.AttachmentFile{{Data: bytes.NewReader([]byte("x")), FileName: "x"}}
	if _, err := alice.SendAttachments(ctx, bob.AccountID(), "\xff", file); !errors.Is(err, session.ErrInvalidText) {
		t.Errorf("attachments with invalid text: %v", err)
	}
	if _, err := alice.SendGroupAttachments(ctx, g.ID, "\xff", file); !errors.Is(err, session.ErrInvalidText) {
		t.Errorf("group attachments with invalid text: %v", err)
	}
	if _, err := alice.SendCommunityAttachments(ctx, room, "\xff", file); !errors.Is(err, session.ErrInvalidText) {
		t.Errorf("community attachments with invalid text: %v", err)
	}
	if session.StoredMessages(dn) != stored || roomPosts() != posted {
		t.Fatal("a refused text reached the network")
	}
	if _, err := alice.SendCommunityAttachments(ctx, room, "", file); err != nil {
		t.Errorf("community attachment without text: %v", err)
	}
}

// Item 6: a closed client says ErrClosed, whatever its network's state.
func TestClosedClientSaysErrClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dn := devnettest.Start(t)
	_, room := session.StartLobby(t, dn)
	shared, err := session.NewNetwork(session.NetConfig(dn, false))
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	for name, opt := range map[string]session.Option{
		"own network":    session.WithNetworkConfig(session.NetConfig(dn, false)),
		"shared network": session.WithNetwork(shared),
	} {
		c, _ := session.NewTestClient(t, opt)
		peer, _ := session.NewTestClient(t, opt)
		g, err := c.CreateGroup(ctx, "G")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.JoinCommunity(ctx, room); err != nil {
			t.Fatal(err)
		}
		c.Close()
		file := []session.AttachmentFile{{Data: strings.NewReader("x")}}
		for op, call := range map[string]func() error{
			"PollOnce":        func() error { return c.PollOnce(ctx) },
			"PollCommunities": func() error { return c.PollCommunities(ctx) },
			"Run":             func() error { return c.Run(ctx) },
			"SendText":        func() error { _, err := c.SendText(ctx, peer.AccountID(), "x"); return err },
			"SendAttachments": func() error { _, err := c.SendAttachments(ctx, peer.AccountID(), "", file); return err },
			"SetProfilePicture": func() error {
				return c.SetProfilePicture(ctx, []byte("img"))
			},
			"SendGroupText":        func() error { _, err := c.SendGroupText(ctx, g.ID, "x"); return err },
			"InviteToGroup":        func() error { return c.InviteToGroup(ctx, g.ID, peer.AccountID()) },
			"JoinCommunity":        func() error { _, err := c.JoinCommunity(ctx, room); return err },
			"SendCommunityMessage": func() error { _, err := c.SendCommunityMessage(ctx, room, "x"); return err },
			"ReactInCommunity":     func() error { return c.ReactInCommunity(ctx, room, 1, "👍") },
		} {
			if err := call(); !errors.Is(err, session.ErrClosed) {
				t.Errorf("%s: %s after Close: %v", name, op, err)
			}
		}
	}
}

// Item 6: a community URL with the wrong key gives an error that says so, through onion paths
// and directly.
func TestCommunityWrongKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dn := devnettest.Start(t)
	s, good := session.StartLobby(t, dn)
	bad := good[:strings.Index(good, "public_key=")+len("public_key=")] + strings.Repeat("ab", 32)
	for _, direct := range []bool{false, true} {
		c, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, direct)))
		_, err := c.JoinCommunity(ctx, bad)
		var ke *session.ServerKeyError
		if !errors.Is(err, session.ErrWrongServerKey) || !errors.As(err, &ke) || ke.Server != s.URL() ||
			!strings.Contains(err.Error(), "public key of its URL") {
			t.Errorf("direct=%v: join with the wrong key: %v", direct, err)
		}
		if _, err := c.SendCommunityMessage(ctx, bad, "x"); !errors.Is(err, session.ErrWrongServerKey) {
			t.Errorf("direct=%v: post with the wrong key: %v", direct, err)
		}
		if _, err := c.JoinCommunity(ctx, good); err != nil {
			t.Errorf("direct=%v: join with the right key: %v", direct, err)
		}
	}
}
