package community_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/sogsd"
)

func TestParseURL(t *testing.T) {
	pk := strings.Repeat("ab", 32)
	good := []struct{ in, base, token string }{
		{"https://open.getsession.org/session?public_key=" + pk, "https://open.getsession.org", "session"},
		{"http://1.2.3.4:8080/my-room_1?public_key=" + strings.ToUpper(pk), "http://1.2.3.4:8080", "my-room_1"},
		{"  HTTP://example.com/r/?public_key=" + pk + "  ", "http://example.com", "r"},
	}
	for _, g := range good {
		u, err := community.ParseURL(g.in)
		if err != nil {
			t.Fatalf("%q: %v", g.in, err)
		}
		if u.Token != g.token || u.Server.URL.String() != g.base || u.Server.X25519[0] != 0xab {
			t.Fatalf("%q: %+v", g.in, u)
		}
		if again, err := community.ParseURL(u.String()); err != nil || again != u {
			t.Fatalf("round trip %q: %v", u.String(), err)
		}
	}
	bad := map[string]string{
		"":                                 "empty",
		"open.getsession.org/session":      "scheme",
		"ftp://h/r?public_key=" + pk:       "scheme",
		"https:///r?public_key=" + pk:      "host",
		"https://h?public_key=" + pk:       "no room",
		"https://h/a/b?public_key=" + pk:   "one room token",
		"https://h/a%20b?public_key=" + pk: "invalid room token",
		"https://h/" + strings.Repeat("x", 65) + "?public_key=" + pk: "invalid room token",
		"https://h/r":                                        "public_key",
		"https://h/r?public_key=" + pk[:62]:                  "64 hex",
		"https://h/r?public_key=" + pk + "&public_key=" + pk: "exactly one",
		"https://h/r?public_key=" + strings.Repeat("zz", 32): "not hex",
		"https://u:p@h/r?public_key=" + pk:                   "user",
		"https://h:99999/r?public_key=" + pk:                 "",
	}
	for in, want := range bad {
		_, err := community.ParseURL(in)
		if !errors.Is(err, community.ErrBadURL) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v (want ErrBadURL mentioning %q)", in, err, want)
		}
	}
}

func TestPad(t *testing.T) {
	for _, n := range []int{0, 1, 158, 159, 160, 500} {
		msg := bytes.Repeat([]byte{7}, n)
		p := community.Pad(msg)
		if len(p)%160 != 0 || len(p) <= n || !bytes.Equal(community.Unpad(p), msg) {
			t.Fatalf("%d: %d", n, len(p))
		}
	}
	if got := community.Unpad([]byte{1, 2}); !bytes.Equal(got, []byte{1, 2}) {
		t.Fatal(got)
	}
}

// A room's whole life through onion paths: join (capabilities + room), post, list, edit,
// delete, reactions, pins, files, batch and sequence.
func TestRoomOverOnion(t *testing.T) {
	s := server(t)
	must(t, s.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Lobby", Description: "hi"}))
	ctx := ctxT(t)
	adminKeys := newKeys(t)
	admin := user(t, s, adminKeys, nil)
	must(t, s.AddModerator("lobby", admin.ID(), true, false))
	bob := user(t, s, nil, nil)
	if want, _ := s.BlindedID(adminKeys); admin.ID() != want || admin.ID().Prefix() != crypto.PrefixBlinded15 {
		t.Fatalf("id %s, want %s", admin.ID(), want)
	}

	caps, err := bob.Capabilities(ctx, "sogs")
	if err != nil || !contains(caps, "blind") || !contains(caps, "reactions") {
		t.Fatalf("capabilities %v %v", caps, err)
	}
	if _, err := bob.Capabilities(ctx, "sogs", "nope"); !errors.Is(err, community.ErrMissingCapability) {
		t.Fatalf("required nope: %v", err)
	}
	info, err := bob.Room(ctx, "lobby")
	if err != nil || info.Name != "Lobby" || info.Description != "hi" || !info.Read || !info.Write || len(info.Admins) != 1 || info.Admins[0] != admin.ID() {
		t.Fatalf("room %+v %v", info, err)
	}
	if rooms, err := bob.Rooms(ctx); err != nil || len(rooms) != 1 || rooms[0].Token != "lobby" {
		t.Fatalf("rooms %+v %v", rooms, err)
	}
	if _, err := bob.Room(ctx, "nope"); !errors.Is(err, community.ErrNotFound) {
		t.Fatalf("missing room: %v", err)
	}
	var he *community.HTTPError
	if _, err := bob.Room(ctx, "nope"); !errors.As(err, &he) || he.Status != 404 || !errors.Is(err, &community.HTTPError{Status: 404}) {
		t.Fatalf("HTTPError: %v", err)
	}

	// Posts are padded and signed with the blinded key; the server keeps them byte for byte.
	var ids []int64
	for i := 0; i < 3; i++ {
		m, err := bob.Post(ctx, "lobby", []byte(fmt.Sprintf("hello %d", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.Author != bob.ID() || string(m.Content()) != fmt.Sprintf("hello %d", i) || len(m.Data)%160 != 0 || m.Posted.IsZero() {
			t.Fatalf("posted %+v", m)
		}
		ids = append(ids, m.ID)
	}
	stored, _ := s.Messages("lobby")
	if len(stored) != 3 || !community.VerifyPost(bob.ID(), stored[0].Data, [64]byte(stored[0].Signature)) {
		t.Fatalf("stored %+v", stored)
	}
	page, err := bob.Recent(ctx, "lobby", &community.MessageOptions{Limit: 2})
	if err != nil || len(page.Messages) != 2 || page.Messages[0].ID != ids[2] || len(page.Skipped) != 0 {
		t.Fatalf("recent %+v %v", page, err)
	}
	page, err = bob.Before(ctx, "lobby", ids[2], nil)
	if err != nil || len(page.Messages) != 2 || page.Messages[0].ID != ids[1] {
		t.Fatalf("before %+v %v", page, err)
	}
	page, err = bob.Since(ctx, "lobby", 0, nil)
	if err != nil || len(page.Messages) != 3 || page.Messages[0].ID != ids[0] {
		t.Fatalf("since %+v %v", page, err)
	}
	seq := page.Messages[2].Seqno
	m, err := bob.Message(ctx, "lobby", ids[1])
	if err != nil || string(m.Content()) != "hello 1" {
		t.Fatalf("message %+v %v", m, err)
	}

	// Edit, react and delete bump the seqno; since shows the edit, a reaction-only row and the
	// deletion.
	must(t, bob.Edit(ctx, "lobby", ids[0], []byte("edited"), nil))
	added, _, err := admin.React(ctx, "lobby", ids[1], "🍆")
	if err != nil || !added {
		t.Fatalf("react %v %v", added, err)
	}
	if added, _, err := admin.React(ctx, "lobby", ids[1], "🍆"); err != nil || added {
		t.Fatalf("react twice %v %v", added, err)
	}
	if _, _, err := bob.React(ctx, "lobby", ids[1], "👍"); err != nil {
		t.Fatal(err)
	}
	must(t, admin.Delete(ctx, "lobby", ids[2]))
	page, err = bob.Since(ctx, "lobby", seq, &community.MessageOptions{Reactors: 5})
	if err != nil || len(page.Messages) != 3 {
		t.Fatalf("since after changes %+v %v", page, err)
	}
	byID := map[int64]community.Message{}
	for _, m := range page.Messages {
		byID[m.ID] = m
		if m.Seqno <= seq {
			t.Fatalf("seqno %d after %d", m.Seqno, seq)
		}
	}
	if e := byID[ids[0]]; string(e.Content()) != "edited" || e.Edited.IsZero() {
		t.Fatalf("edit row %+v", e)
	}
	if r := byID[ids[1]]; !r.ReactionsOnly || r.Reactions["🍆"].Count != 1 || r.Reactions["🍆"].Reactors[0] != admin.ID() || !r.Reactions["👍"].You {
		t.Fatalf("reaction row %+v", r)
	}
	if d := byID[ids[2]]; !d.Deleted || d.Data != nil {
		t.Fatalf("deletion row %+v", d)
	}
	if rs, err := bob.Reactors(ctx, "lobby", ids[1], "🍆", 10); err != nil || len(rs) != 1 || rs[0].ID != admin.ID() {
		t.Fatalf("reactors %+v %v", rs, err)
	}
	if removed, _, err := bob.Unreact(ctx, "lobby", ids[1], "👍"); err != nil || !removed {
		t.Fatalf("unreact %v %v", removed, err)
	}
	if _, err := bob.ClearReactions(ctx, "lobby", ids[1], ""); !errors.Is(err, community.ErrForbidden) {
		t.Fatalf("clear as user: %v", err)
	}
	if n, err := admin.ClearReactions(ctx, "lobby", ids[1], ""); err != nil || n != 1 {
		t.Fatalf("clear %d %v", n, err)
	}
	if _, _, err := bob.React(ctx, "lobby", ids[1], ""); !errors.Is(err, community.ErrInvalidArgument) {
		t.Fatalf("empty emoji: %v", err)
	}
	if err := bob.Delete(ctx, "lobby", ids[2]); !errors.Is(err, community.ErrNotFound) {
		t.Fatalf("delete twice: %v", err)
	}

	// Pins (admins only).
	if _, err := bob.Pin(ctx, "lobby", ids[0]); !errors.Is(err, community.ErrForbidden) {
		t.Fatalf("pin as user: %v", err)
	}
	iu, err := admin.Pin(ctx, "lobby", ids[0])
	must(t, err)
	pi, err := bob.PollInfo(ctx, "lobby", iu-1)
	if err != nil || pi.Details == nil || len(pi.Details.Pinned) != 1 || pi.Details.Pinned[0].ID != ids[0] || pi.Details.Pinned[0].PinnedBy != admin.ID() {
		t.Fatalf("pollInfo %+v %v", pi, err)
	}
	if pi, err := bob.PollInfo(ctx, "lobby", iu); err != nil || pi.Details != nil || !pi.Read {
		t.Fatalf("pollInfo unchanged %+v %v", pi, err)
	}
	if _, err := admin.Unpin(ctx, "lobby", ids[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.UnpinAll(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	name := "Ünïcode file.txt"
	if _, err := admin.UpdateRoom(ctx, "lobby", community.RoomUpdate{Name: &name}); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.UpdateRoom(ctx, "lobby", community.RoomUpdate{Name: &name}); !errors.Is(err, community.ErrForbidden) {
		t.Fatalf("update as user: %v", err)
	}

	// Room files: upload, attach to a post, download with the name.
	fid, err := bob.UploadFile(ctx, "lobby", []byte("file body"), name)
	must(t, err)
	if _, err := bob.Post(ctx, "lobby", []byte("with file"), &community.PostOptions{Files: []int64{fid}}); err != nil {
		t.Fatal(err)
	}
	data, gotName, err := admin.DownloadFile(ctx, "lobby", fid)
	if err != nil || string(data) != "file body" || gotName != name {
		t.Fatalf("download %q %q %v", data, gotName, err)
	}
	if _, _, err := admin.DownloadFile(ctx, "lobby", fid+100); !errors.Is(err, community.ErrNotFound) {
		t.Fatalf("missing file: %v", err)
	}
	if !strings.HasSuffix(bob.FileURL("lobby", fid), fmt.Sprintf("/room/lobby/file/%d", fid)) {
		t.Fatal(bob.FileURL("lobby", fid))
	}

	// Batch runs everything; sequence stops at the first failure.
	subs := []community.SubRequest{
		{Method: "GET", Path: "/room/lobby"},
		{Method: "GET", Path: "/room/nope"},
		{Method: "GET", Path: fmt.Sprintf("/room/lobby/file/%d", fid)},
	}
	out, err := bob.Batch(ctx, subs)
	if err != nil || len(out) != 3 || out[0].Code != 200 || !errors.Is(out[1].Err(subs[1]), community.ErrNotFound) {
		t.Fatalf("batch %+v %v", out, err)
	}
	if b, err := out[2].Bytes(); err != nil || string(b) != "file body" || out[2].IsJSON() {
		t.Fatalf("binary subresponse %q %v", b, err)
	}
	if ri, err := community.ParseRoomInfo(out[0].Body); err != nil || ri.Token != "lobby" {
		t.Fatalf("room from batch %+v %v", ri, err)
	}
	out, err = bob.Sequence(ctx, subs)
	if err != nil || len(out) != 2 || out[1].Code != 404 {
		t.Fatalf("sequence %+v %v", out, err)
	}
	if _, err := bob.Batch(ctx, []community.SubRequest{{Method: "GET", Path: "/x", Body: []byte{1}}}); !errors.Is(err, community.ErrInvalidArgument) {
		t.Fatalf("GET with body: %v", err)
	}
	up := []community.SubRequest{{Method: "POST", Path: "/room/lobby/file", Body: []byte("via batch")}}
	if out, err := bob.Batch(ctx, up); err != nil || out[0].Code != 201 {
		t.Fatalf("upload in batch %+v %v", out, err)
	}
	// All of it went through onion paths.
	if len(transport(t).Paths()) == 0 {
		t.Fatal("no onion paths were built")
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Permissions and moderation: a read-only room refuses posts, bans refuse everything, and
// moderators can lift both.
func TestModerationOverOnion(t *testing.T) {
	s := server(t)
	ro := sogsd.ReadOnly()
	must(t, s.CreateRoom(sogsd.RoomConfig{Token: "news", Defaults: &ro}))
	must(t, s.CreateRoom(sogsd.RoomConfig{Token: "chat"}))
	ctx := ctxT(t)
	mod := user(t, s, nil, nil)
	must(t, s.AddModerator("news", mod.ID(), true, false))
	must(t, s.AddModerator("chat", mod.ID(), true, false))
	eve := user(t, s, nil, nil)

	if _, err := eve.Post(ctx, "news", []byte("spam"), nil); !errors.Is(err, community.ErrForbidden) {
		t.Fatalf("post in read-only room: %v", err)
	}
	yes := true
	must(t, mod.SetPermissions(ctx, "news", eve.ID(), community.PermissionChange{Write: &yes}))
	if _, err := eve.Post(ctx, "news", []byte("allowed"), nil); err != nil {
		t.Fatal(err)
	}
	no := false
	must(t, mod.SetFuturePermissions(ctx, "news", eve.ID(), community.PermissionChange{Write: &no}, time.Hour))
	if _, err := eve.Post(ctx, "chat", []byte("hi"), nil); err != nil {
		t.Fatal(err)
	}

	// Ban from chat: 403 there, news still works; unban.
	must(t, mod.Ban(ctx, eve.ID(), community.Scope{Rooms: []string{"chat"}}, time.Hour))
	if _, err := eve.Post(ctx, "chat", []byte("banned"), nil); !errors.Is(err, community.ErrForbidden) {
		t.Fatalf("banned post: %v", err)
	}
	must(t, mod.Unban(ctx, eve.ID(), community.Scope{Rooms: []string{"chat"}}))
	if _, err := eve.Post(ctx, "chat", []byte("back"), nil); err != nil {
		t.Fatal(err)
	}
	if err := mod.Ban(ctx, eve.ID(), community.Scope{}, 0); !errors.Is(err, community.ErrInvalidArgument) {
		t.Fatalf("empty scope: %v", err)
	}
	if err := eve.Ban(ctx, mod.ID(), community.Scope{Rooms: []string{"chat"}}, 0); !errors.Is(err, community.ErrForbidden) {
		t.Fatalf("ban by a user: %v", err)
	}

	// Delete-all in one room, then everywhere.
	must(t, mod.DeleteAllFrom(ctx, "chat", eve.ID()))
	if err := mod.DeleteAllFrom(ctx, "chat", eve.ID()); !errors.Is(err, community.ErrNotFound) {
		t.Fatalf("delete-all twice: %v", err)
	}
	n, err := mod.DeleteAllEverywhere(ctx, eve.ID())
	if err != nil || n["news"] != 1 {
		t.Fatalf("delete everywhere %v %v", n, err)
	}

	// Moderator changes: make eve a visible moderator of chat, then take it back.
	iu, err := mod.SetModerator(ctx, eve.ID(), community.Scope{Rooms: []string{"chat"}}, community.ModeratorChange{Moderator: true})
	if err != nil || iu["chat"] == 0 {
		t.Fatalf("set moderator %v %v", iu, err)
	}
	info, err := eve.Room(ctx, "chat")
	if err != nil || !info.Moderator {
		t.Fatalf("eve's room info %+v %v", info, err)
	}
	if _, err := mod.SetModerator(ctx, eve.ID(), community.Scope{Rooms: []string{"chat"}}, community.ModeratorChange{}); err != nil {
		t.Fatal(err)
	}

	// A global ban: 403 before anything else.
	s.BanGlobal(eve.ID(), 0)
	if _, err := eve.Rooms(ctx); !errors.Is(err, community.ErrForbidden) {
		t.Fatalf("globally banned: %v", err)
	}
}

// Requests are refused outside the server's ±24 h clock window (425, ErrClockSkew) and when a
// nonce is reused (425, ErrNonceReused), through the onion; the rest of the window is fine.
func TestClockWindowAndNonceReuse(t *testing.T) {
	s := server(t)
	must(t, s.CreateRoom(sogsd.RoomConfig{Token: "lobby"}))
	ctx := ctxT(t)
	keys := newKeys(t)
	for _, d := range []time.Duration{-25 * time.Hour, 25 * time.Hour} {
		skewed := user(t, s, keys, func(c *community.Config) { c.Now = func() time.Time { return time.Now().Add(d) } })
		_, err := skewed.Room(ctx, "lobby")
		if !errors.Is(err, community.ErrClockSkew) || !errors.Is(err, community.ErrTooEarly) || errors.Is(err, community.ErrNonceReused) {
			t.Fatalf("skew %s: %v", d, err)
		}
	}
	for _, d := range []time.Duration{-23 * time.Hour, 23 * time.Hour} {
		ok := user(t, s, keys, func(c *community.Config) { c.Now = func() time.Time { return time.Now().Add(d) } })
		if _, err := ok.Room(ctx, "lobby"); err != nil {
			t.Fatalf("skew %s: %v", d, err)
		}
	}
	// A nonce source that repeats itself: the second request reuses the first one's nonce.
	fixed := user(t, s, keys, func(c *community.Config) { c.Rand = zeroReader{} })
	if _, err := fixed.Room(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	_, err := fixed.Room(ctx, "lobby")
	if !errors.Is(err, community.ErrNonceReused) || errors.Is(err, community.ErrClockSkew) {
		t.Fatalf("reused nonce: %v", err)
	}
	// Another user may use the same nonce.
	other := user(t, s, nil, func(c *community.Config) { c.Rand = zeroReader{} })
	if _, err := other.Room(ctx, "lobby"); err != nil {
		t.Fatal(err)
	}
	// An unblinded key is refused by a server that requires blinding (400).
	unbl := user(t, s, keys, func(c *community.Config) { c.Unblinded = true })
	if _, err := unbl.Room(ctx, "lobby"); !errors.Is(err, community.ErrBadRequest) {
		t.Fatalf("unblinded: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// Posts whose signature does not verify (servers do not check) and posts signed by someone else
// are skipped with ErrInvalidSignature; the rest are returned.
func TestForgedPostsSkipped(t *testing.T) {
	s := server(t)
	must(t, s.CreateRoom(sogsd.RoomConfig{Token: "lobby"}))
	ctx := ctxT(t)
	alice := newKeys(t)
	good, err := s.PostAs("lobby", alice, sogsd.Pad([]byte("real")))
	must(t, err)
	aliceID, _ := s.BlindedID(alice)
	forged, err := s.Post("lobby", sogsd.Post{Author: aliceID, Data: sogsd.Pad([]byte("forged")), Signature: make([]byte, 64)})
	must(t, err)
	mallory := newKeys(t)
	kp, _ := blinding.Blind15KeyPair(mallory, s.PublicKey())
	data := sogsd.Pad([]byte("impersonated"))
	sig := kp.Sign(data)
	imp, err := s.Post("lobby", sogsd.Post{Author: aliceID, Data: data, Signature: sig[:]})
	must(t, err)

	bob := user(t, s, nil, nil)
	page, err := bob.Since(ctx, "lobby", 0, nil)
	if err != nil || len(page.Messages) != 1 || page.Messages[0].ID != good.ID || len(page.Skipped) != 2 {
		t.Fatalf("since %+v %v", page, err)
	}
	for i, sk := range page.Skipped {
		if !errors.Is(sk.Err, community.ErrInvalidSignature) || (sk.ID != forged.ID && sk.ID != imp.ID) || sk.Seqno == 0 {
			t.Fatalf("skipped %d: %+v", i, sk)
		}
	}
	if _, err := bob.Message(ctx, "lobby", forged.ID); !errors.Is(err, community.ErrInvalidSignature) {
		t.Fatalf("forged message: %v", err)
	}
}
