package sogsd

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
)

func TestJoinURLAndKeys(t *testing.T) {
	s := startServer(t, WithKey([32]byte{7}))
	pk := s.PublicKey()
	want := s.URL() + "/lobby?public_key=" + hex.EncodeToString(pk[:])
	if got := s.JoinURL("lobby"); got != want {
		t.Fatalf("JoinURL = %s", got)
	}
	srv := s.OnionServer()
	if srv.X25519 != pk || srv.URL.Host != "127.0.0.1" {
		t.Fatalf("OnionServer %+v", srv)
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 65), "a/b"} {
		if err := s.CreateRoom(RoomConfig{Token: bad}); err == nil {
			t.Fatalf("CreateRoom(%q) succeeded", bad)
		}
	}
	if err := s.CreateRoom(RoomConfig{Token: "lobby"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRoom(RoomConfig{Token: "lobby"}); err == nil {
		t.Fatal("duplicate room")
	}
}

func TestAuthMiddleware(t *testing.T) {
	clk := newClock()
	s := startServer(t, WithClock(clk.now))
	if err := s.CreateRoom(RoomConfig{Token: "r"}); err != nil {
		t.Fatal(err)
	}
	u := newUser(t, s, clk)

	// A signed request works and records the user under its 15 id.
	u.ok(200, "GET", "/room/r", nil, nil)
	if !s.HasUser(u.id) || u.id.Prefix() != crypto.PrefixBlinded15 {
		t.Fatal("user not recorded")
	}

	// Some headers but not all: 400 with the pysogs message.
	u.tweak = func(h *blinding.Headers) { h.Nonce = "" }
	if st, body := u.do("GET", "/room/r", nil); st != 400 || !strings.Contains(string(body), "missing 1/4") {
		t.Fatalf("missing header: %d %s", st, body)
	}

	// All four present but empty: anonymous (pysogs counts an empty header as missing).
	if st, body := anon(t, s).do("GET", "/room/r", nil, "X-SOGS-Pubkey", "", "X-SOGS-Nonce", ""); st != 200 {
		t.Fatalf("empty headers: %d %s", st, body)
	}

	// Clock window: 86399 s off passes, 86402 s fails with 425 (both directions).
	for _, c := range []struct {
		off  time.Duration
		want int
	}{{86399 * time.Second, 200}, {-86399 * time.Second, 200}, {86402 * time.Second, 425}, {-86402 * time.Second, 425}} {
		off := c.off
		u.tweak = nil
		u.signer.Now = func() time.Time { return clk.now().Add(off) }
		if st, body := u.do("GET", "/room/r", nil); st != c.want {
			t.Fatalf("offset %v: %d %s", off, st, body)
		}
	}
	u.signer.Now = clk.now

	// Nonce reuse: the second request with the same nonce is 425, even with a good signature.
	nonce := [16]byte{1, 2, 3}
	h := u.signer.SignWith("GET", "/room/r", nil, nonce, clk.now())
	u.tweak = func(x *blinding.Headers) { *x = h }
	if st, _ := u.do("GET", "/room/r", nil); st != 200 {
		t.Fatalf("first use of nonce: %d", st)
	}
	if st, body := u.do("GET", "/room/r", nil); st != 425 || !strings.Contains(string(body), "cannot be reused") {
		t.Fatalf("nonce reuse: %d %s", st, body)
	}

	// A bad signature is 401; the nonce is recorded before the check, so retrying it is 425.
	u.tweak = func(x *blinding.Headers) {
		sig, _ := base64.StdEncoding.DecodeString(x.Signature)
		sig[0] ^= 1
		x.Signature = base64.StdEncoding.EncodeToString(sig)
		h = *x
	}
	if st, _ := u.do("GET", "/room/r", nil); st != 401 {
		t.Fatalf("bad signature: %d", st)
	}
	// A signature over another path is 401 as well.
	u.tweak = func(x *blinding.Headers) { *x = u.signer.SignWith("GET", "/room/other", nil, [16]byte{9}, clk.now()) }
	if st, _ := u.do("GET", "/room/r", nil); st != 401 {
		t.Fatalf("signature over another path: %d", st)
	}
	// Body tampering.
	u.tweak = func(x *blinding.Headers) {
		*x = u.signer.SignWith("POST", "/room/r/message", []byte("{}"), [16]byte{10}, clk.now())
	}
	if st, _ := u.do("POST", "/room/r/message", u.postBody([]byte("x"))); st != 401 {
		t.Fatalf("body not covered: %d", st)
	}

	// Malformed headers: 400.
	for name, tw := range map[string]func(*blinding.Headers){
		"pubkey prefix 05": func(x *blinding.Headers) { x.Pubkey = "05" + x.Pubkey[2:] },
		"pubkey short":     func(x *blinding.Headers) { x.Pubkey = x.Pubkey[:64] },
		"nonce short":      func(x *blinding.Headers) { x.Nonce = "AAAA" },
		"signature short":  func(x *blinding.Headers) { x.Signature = "AAAA" },
		"timestamp":        func(x *blinding.Headers) { x.Timestamp = "soon" },
	} {
		u.tweak = tw
		if st, _ := u.do("GET", "/room/r", nil); st != 400 {
			t.Fatalf("%s: %d", name, st)
		}
	}

	// A global ban is 403 before the signature check (a garbage signature still gets 403).
	u.tweak = nil
	s.BanGlobal(u.id, time.Hour)
	u.tweak = func(x *blinding.Headers) {
		x.Signature = base64.StdEncoding.EncodeToString(make([]byte, 64))
	}
	if st, _ := u.do("GET", "/room/r", nil); st != 403 {
		t.Fatalf("banned: %d", st)
	}
	// The ban times out.
	clk.add(time.Hour)
	u.tweak = nil
	if st, _ := u.do("GET", "/room/r", nil); st != 200 {
		t.Fatalf("after ban timeout: %d", st)
	}

	// Unblinded 00 keys are refused by default (400) …
	keys, _ := crypto.GenerateKeys(nil)
	un := &tclient{t: t, s: s, hc: &http.Client{}, keys: keys, signer: blinding.NewUnblindedRequestSigner(keys, s.PublicKey())}
	un.signer.Now = clk.now
	if st, body := un.do("GET", "/room/r", nil); st != 400 || !strings.Contains(string(body), "blinded") {
		t.Fatalf("unblinded: %d %s", st, body)
	}
	// … and accepted by a server without the requirement, which records the 05 id.
	s2 := startServer(t, WithClock(clk.now), WithUnblindedIDs())
	un2 := &tclient{t: t, s: s2, hc: &http.Client{}, keys: keys, signer: blinding.NewUnblindedRequestSigner(keys, s2.PublicKey())}
	un2.signer.Now = clk.now
	un2.ok(200, "GET", "/rooms", nil, nil)
	if !s2.HasUser(keys.AccountID()) {
		t.Fatal("unblinded user not recorded as 05")
	}
	var caps struct{ Capabilities []string }
	un2.ok(200, "GET", "/capabilities", nil, &caps)
	if strings.Join(caps.Capabilities, ",") != "reactions,sogs" {
		t.Fatalf("caps without blinding: %v", caps.Capabilities)
	}
}

func TestCapabilities(t *testing.T) {
	s := startServer(t)
	a := anon(t, s)
	var caps struct {
		Capabilities []string `json:"capabilities"`
		Missing      []string `json:"missing"`
	}
	a.ok(200, "GET", "/capabilities", nil, &caps)
	if strings.Join(caps.Capabilities, ",") != "blind,reactions,sogs" {
		t.Fatalf("caps %v", caps.Capabilities)
	}
	a.ok(200, "GET", "/capabilities?required=sogs,blind", nil, nil)
	a.ok(412, "GET", "/capabilities?required=sogs,frobnicate,x", nil, &caps)
	if strings.Join(caps.Missing, ",") != "frobnicate,x" || len(caps.Capabilities) != 3 {
		t.Fatalf("412 body %+v", caps)
	}
}

type roomInfo struct {
	Token             string   `json:"token"`
	Name              string   `json:"name"`
	Description       string   `json:"description"`
	InfoUpdates       int64    `json:"info_updates"`
	MessageSequence   int64    `json:"message_sequence"`
	ActiveUsers       int      `json:"active_users"`
	ActiveUsersCutoff int64    `json:"active_users_cutoff"`
	ImageID           int64    `json:"image_id"`
	Moderators        []string `json:"moderators"`
	Admins            []string `json:"admins"`
	HiddenModerators  []string `json:"hidden_moderators"`
	Read              bool     `json:"read"`
	Write             bool     `json:"write"`
	Upload            bool     `json:"upload"`
	Moderator         bool     `json:"moderator"`
	Admin             bool     `json:"admin"`
	GlobalModerator   bool     `json:"global_moderator"`
	DefaultWrite      *bool    `json:"default_write"`
	PinnedMessages    []struct {
		ID       int64  `json:"id"`
		PinnedBy string `json:"pinned_by"`
	} `json:"pinned_messages"`
}

func TestRoomsPermissionsAndPollInfo(t *testing.T) {
	clk := newClock()
	s := startServer(t, WithClock(clk.now))
	ro := ReadOnly()
	hidden := Permissions{}
	mustOK(t, s.CreateRoom(RoomConfig{Token: "open", Name: "Open", Description: "all welcome"}))
	mustOK(t, s.CreateRoom(RoomConfig{Token: "news", Defaults: &ro}))
	mustOK(t, s.CreateRoom(RoomConfig{Token: "secret", Defaults: &hidden}))
	alice, bob, mod := newUser(t, s, clk), newUser(t, s, clk), newUser(t, s, clk)
	mustOK(t, s.AddModerator("news", mod.id, false, false))
	hiddenAdmin := newUser(t, s, clk)
	mustOK(t, s.AddModerator("news", hiddenAdmin.id, true, true))

	var rooms []roomInfo
	alice.ok(200, "GET", "/rooms", nil, &rooms)
	if len(rooms) != 2 || rooms[0].Token != "open" || rooms[1].Token != "news" {
		t.Fatalf("rooms %+v", rooms)
	}
	if r := rooms[0]; r.Name != "Open" || r.Description != "all welcome" || !r.Read || !r.Write || !r.Upload || r.ActiveUsersCutoff != 604800 {
		t.Fatalf("open room %+v", r)
	}
	// The moderator list shows visible moderators only; the hidden admin is only shown to mods.
	if r := rooms[1]; r.Write || len(r.Moderators) != 1 || r.Moderators[0] != mod.id.String() || len(r.Admins) != 0 || r.HiddenModerators != nil || r.DefaultWrite != nil {
		t.Fatalf("news room as a user %+v", r)
	}
	var info roomInfo
	mod.ok(200, "GET", "/room/news", nil, &info)
	if !info.Moderator || !info.Write || info.DefaultWrite == nil || *info.DefaultWrite {
		t.Fatalf("news as mod %+v", info)
	}
	// An inaccessible room is 404, and a user with an override sees it.
	alice.ok(404, "GET", "/room/secret", nil, nil)
	alice.ok(404, "GET", "/room/nope", nil, nil)
	mustOK(t, s.SetUserPermissions("secret", bob.id, Permissions{Read: true}))
	bob.ok(200, "GET", "/room/secret", nil, &info)
	if !info.Read || info.Write {
		t.Fatalf("override %+v", info)
	}
	// Accessible but not readable: info yes, messages no.
	mustOK(t, s.SetUserPermissions("secret", alice.id, Permissions{Accessible: true}))
	alice.ok(200, "GET", "/room/secret", nil, nil)
	alice.ok(403, "GET", "/room/secret/messages/recent", nil, nil)
	// Read-only: posting is 403; anonymous users can read but not post (401).
	alice.ok(403, "POST", "/room/news/message", alice.postBody([]byte("hi")), nil)
	anon(t, s).ok(200, "GET", "/room/open/messages/recent", nil, nil)
	anon(t, s).ok(401, "POST", "/room/open/message", alice.postBody([]byte("hi")), nil)
	// Upload needs write too.
	mustOK(t, s.SetUserPermissions("open", bob.id, Permissions{Read: true, Accessible: true, Upload: true}))
	bob.ok(403, "POST", "/room/open/file", []byte("file"), nil)

	// pollInfo: details only when info_updates moved.
	alice.ok(200, "GET", "/room/open", nil, &info)
	var poll struct {
		Token       string    `json:"token"`
		ActiveUsers int       `json:"active_users"`
		Read        bool      `json:"read"`
		Details     *roomInfo `json:"details"`
	}
	alice.ok(200, "GET", fmt.Sprintf("/room/open/pollInfo/%d", info.InfoUpdates), nil, &poll)
	if poll.Token != "open" || poll.Details != nil || !poll.Read || poll.ActiveUsers != 2 {
		t.Fatalf("poll %+v", poll)
	}
	mustOK(t, s.AddModerator("open", mod.id, false, false))
	alice.ok(200, "GET", fmt.Sprintf("/room/open/pollInfo/%d", info.InfoUpdates), nil, &poll)
	if poll.Details == nil || poll.Details.InfoUpdates != info.InfoUpdates+1 || len(poll.Details.Moderators) != 1 {
		t.Fatalf("poll after change %+v", poll)
	}

	// Room update by an admin bumps info_updates; others get 403.
	alice.ok(403, "PUT", "/room/news", map[string]any{"name": "x"}, nil)
	var upd struct {
		InfoUpdates int64 `json:"info_updates"`
	}
	hiddenAdmin.ok(200, "PUT", "/room/news", map[string]any{"name": "News!", "default_write": true}, &upd)
	alice.ok(200, "GET", "/room/news", nil, &info)
	if info.Name != "News!" || !info.Write || info.InfoUpdates != upd.InfoUpdates {
		t.Fatalf("after update %+v", info)
	}
	hiddenAdmin.ok(406, "PUT", "/room/news", map[string]any{"image": 12345}, nil)

	// Active users fall out after the cutoff.
	clk.add(ActiveUsersCutoff + time.Second)
	bob.ok(200, "GET", "/room/open", nil, &info)
	if info.ActiveUsers != 1 {
		t.Fatalf("active users after cutoff: %d", info.ActiveUsers)
	}
}

func mustOK(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMessages(t *testing.T) {
	s, clk := startRoom(t)
	alice, bob, mod := newUser(t, s, clk), newUser(t, s, clk), newModerator(t, s, clk, false)

	// Post: 201 with the message; padding kept byte for byte.
	data := Pad([]byte("hello world"))
	var posted msgRow
	alice.ok(201, "POST", "/room/r/message", alice.postBody(data), &posted)
	if posted.ID == 0 || posted.Seqno != 1 || posted.SessionID != alice.id.String() || *posted.Data != b64(data) || posted.Reactions == nil {
		t.Fatalf("posted %+v", posted)
	}
	var ids []int64
	ids = append(ids, posted.ID)
	for i := 0; i < 3; i++ {
		var m msgRow
		bob.ok(201, "POST", "/room/r/message", bob.postBody(Pad([]byte(fmt.Sprint("bob ", i)))), &m)
		ids = append(ids, m.ID)
	}
	// Bad posts, as pysogs answers them: a short signature is InvalidData (400, empty body),
	// data that is not base64 fails in the route (500), a body that is not JSON is 400.
	if body := bob.ok(400, "POST", "/room/r/message", map[string]any{"data": b64([]byte("x")), "signature": b64([]byte("short"))}, nil); len(body) != 0 {
		t.Fatalf("InvalidData body %q", body)
	}
	bob.ok(500, "POST", "/room/r/message", map[string]any{"data": "!!", "signature": b64(make([]byte, 64))}, nil)
	bob.ok(500, "POST", "/room/r/message", map[string]any{"data": b64([]byte("x"))}, nil)
	bob.ok(400, "POST", "/room/r/message", []byte("not json"), nil)
	// A JSON body without Content-Type: application/json is refused, as Flask's request.json is.
	untyped, _ := json.Marshal(bob.postBody([]byte("typed")))
	if st, _ := bob.do("POST", "/room/r/message", untyped); st != 400 {
		t.Fatalf("JSON sent as octet-stream: %d", st)
	}
	// Whispers are for moderators.
	bob.ok(403, "POST", "/room/r/message", withKV(bob.postBody([]byte("w")), "whisper_mods", true), nil)

	var rows []msgRow
	alice.ok(200, "GET", "/room/r/messages/since/0", nil, &rows)
	if len(rows) != 4 || rows[0].Seqno != 1 || rows[3].Seqno != 4 {
		t.Fatalf("since 0: %+v", rows)
	}
	alice.ok(200, "GET", "/room/r/messages/since/2?limit=1", nil, &rows)
	if len(rows) != 1 || rows[0].Seqno != 3 {
		t.Fatalf("since 2 limit 1: %+v", rows)
	}
	// limit is clamped to 1..256.
	alice.ok(200, "GET", "/room/r/messages/since/0?limit=0", nil, &rows)
	if len(rows) != 1 {
		t.Fatalf("limit 0 → %d rows", len(rows))
	}

	// Edit: author only; bumps the seqno.
	newData := Pad([]byte("edited"))
	bob.ok(403, "PUT", fmt.Sprintf("/room/r/message/%d", ids[0]), bob.postBody(newData), nil)
	alice.ok(200, "PUT", fmt.Sprintf("/room/r/message/%d", ids[0]), alice.postBody(newData), nil)
	alice.ok(200, "GET", "/room/r/messages/since/4", nil, &rows)
	if len(rows) != 1 || rows[0].ID != ids[0] || rows[0].Seqno != 5 || *rows[0].Data != b64(newData) || rows[0].Edited == 0 {
		t.Fatalf("after edit: %+v", rows)
	}
	// Delete: author or moderator; a deletion shows in since, not in recent or by id.
	alice.ok(403, "DELETE", fmt.Sprintf("/room/r/message/%d", ids[1]), nil, nil)
	mod.ok(200, "DELETE", fmt.Sprintf("/room/r/message/%d", ids[1]), nil, nil)
	bob.ok(200, "DELETE", fmt.Sprintf("/room/r/message/%d", ids[2]), nil, nil)
	bob.ok(404, "DELETE", fmt.Sprintf("/room/r/message/%d", ids[2]), nil, nil)
	raw := alice.ok(200, "GET", "/room/r/messages/since/5", nil, &rows)
	if len(rows) != 2 || !rows[0].Deleted || rows[0].Data != nil || rows[0].Seqno != 6 || rows[1].Seqno != 7 ||
		!strings.Contains(string(raw), `"data":null`) || strings.Contains(string(raw), "signature") {
		t.Fatalf("deletions in since: %s", raw)
	}
	alice.ok(404, "GET", fmt.Sprintf("/room/r/message/%d", ids[1]), nil, nil)
	var one msgRow
	alice.ok(200, "GET", fmt.Sprintf("/room/r/message/%d", ids[3]), nil, &one)
	if one.ID != ids[3] {
		t.Fatalf("single message %+v", one)
	}

	// recent: newest first, without deletions; before: older than an id.
	alice.ok(200, "GET", "/room/r/messages/recent", nil, &rows)
	if len(rows) != 2 || rows[0].ID != ids[3] || rows[1].ID != ids[0] {
		t.Fatalf("recent: %+v", rows)
	}
	alice.ok(200, "GET", fmt.Sprintf("/room/r/messages/before/%d?limit=5", ids[3]), nil, &rows)
	if len(rows) != 1 || rows[0].ID != ids[0] {
		t.Fatalf("before: %+v", rows)
	}
	var info roomInfo
	alice.ok(200, "GET", "/room/r", nil, &info)
	if info.MessageSequence != 7 {
		t.Fatalf("message_sequence %d", info.MessageSequence)
	}

	// Whispers: to one user (seen by author and recipient) and to moderators.
	var w msgRow
	mod.ok(201, "POST", "/room/r/message", withKV(mod.postBody([]byte("psst")), "whisper_to", alice.id.String()), &w)
	if !w.Whisper {
		t.Fatalf("whisper %+v", w)
	}
	// As pysogs sends them (issue 12 item 5): whisper_mods is a bool in the reply to the post
	// and a number (SQLite's 0/1) in rows read back.
	var reply, row map[string]any
	mod.ok(201, "POST", "/room/r/message", withKV(mod.postBody([]byte("mods only")), "whisper_mods", true), &reply)
	if reply["whisper"] != true || reply["whisper_mods"] != true || reply["whisper_to"] != nil {
		t.Fatalf("post reply %v", reply)
	}
	mod.ok(200, "GET", fmt.Sprintf("/room/r/message/%v", reply["id"]), nil, &row)
	if row["whisper"] != true || row["whisper_mods"] != float64(1) {
		t.Fatalf("whisper_mods row %v", row)
	}
	alice.ok(200, "GET", fmt.Sprintf("/room/r/message/%d", w.ID), nil, &row)
	if row["whisper"] != true || row["whisper_mods"] != float64(0) || row["whisper_to"] != alice.id.String() {
		t.Fatalf("whisper_to row %v", row)
	}
	bob.ok(404, "GET", fmt.Sprintf("/room/r/message/%d", w.ID), nil, nil)
	bob.ok(200, "GET", "/room/r/messages/recent", nil, &rows)
	for _, r := range rows {
		if r.ID == w.ID {
			t.Fatal("bob sees alice's whisper")
		}
	}

	// Deleting all of a user's posts (self or moderator); 404 when there are none.
	bob.ok(200, "DELETE", "/room/r/all/"+bob.id.String(), nil, nil)
	bob.ok(404, "DELETE", "/room/r/all/"+bob.id.String(), nil, nil)
	bob.ok(403, "DELETE", "/room/r/all/"+alice.id.String(), nil, nil)
	mod.ok(200, "DELETE", "/room/r/all/"+alice.id.String(), nil, nil)
	msgs, _ := s.Messages("r")
	for _, m := range msgs {
		if !m.Deleted && m.Author != mod.id {
			t.Fatalf("message %d by %s survived", m.ID, m.Author)
		}
	}
}

func withKV(m map[string]any, k string, v any) map[string]any { m[k] = v; return m }

func TestRateLimit(t *testing.T) {
	s, clk := startRoom(t)
	u, mod, admin := newUser(t, s, clk), newModerator(t, s, clk, false), newModerator(t, s, clk, true)
	for i := 0; i < DefaultPostLimit; i++ {
		u.ok(201, "POST", "/room/r/message", u.postBody([]byte{byte(i)}), nil)
		mod.ok(201, "POST", "/room/r/message", mod.postBody([]byte{byte(i)}), nil)
		admin.ok(201, "POST", "/room/r/message", admin.postBody([]byte{byte(i)}), nil)
	}
	u.ok(429, "POST", "/room/r/message", u.postBody([]byte("6")), nil)
	mod.ok(429, "POST", "/room/r/message", mod.postBody([]byte("6")), nil)
	admin.ok(201, "POST", "/room/r/message", admin.postBody([]byte("6")), nil) // administrators are exempt
	clk.add(DefaultPostWindow)
	u.ok(201, "POST", "/room/r/message", u.postBody([]byte("7")), nil)

	s2 := startServer(t, WithClock(clk.now), WithPostRateLimit(0, 0))
	mustOK(t, s2.CreateRoom(RoomConfig{Token: "r"}))
	u2 := newUser(t, s2, clk)
	for i := 0; i < 20; i++ {
		u2.ok(201, "POST", "/room/r/message", u2.postBody([]byte{byte(i)}), nil)
	}
}

func TestReactions(t *testing.T) {
	s, clk := startRoom(t)
	alice, bob, mod := newUser(t, s, clk), newUser(t, s, clk), newModerator(t, s, clk, false)
	var m msgRow
	alice.ok(201, "POST", "/room/r/message", alice.postBody([]byte("react to me")), &m)
	alice.ok(201, "POST", "/room/r/message", alice.postBody([]byte("other")), nil)

	var res struct {
		Added   bool  `json:"added"`
		Removed any   `json:"removed"`
		Seqno   int64 `json:"seqno"`
	}
	// The emoji travels URL-encoded on the wire and is signed decoded.
	path := fmt.Sprintf("/room/r/reaction/%d/🍆", m.ID)
	bob.ok(200, "PUT", path, map[string]any{}, &res)
	if !res.Added || res.Seqno != 3 {
		t.Fatalf("add %+v", res)
	}
	bob.ok(200, "PUT", path, map[string]any{}, &res)
	if res.Added {
		t.Fatal("second add reported added")
	}
	alice.ok(200, "PUT", path, map[string]any{}, nil)
	alice.ok(200, "PUT", fmt.Sprintf("/room/r/reaction/%d/👍", m.ID), map[string]any{}, nil)
	bob.ok(400, "PUT", fmt.Sprintf("/room/r/reaction/%d/%s", m.ID, strings.Repeat("x", 13)), map[string]any{}, nil)
	bob.ok(404, "PUT", "/room/r/reaction/999/x", map[string]any{}, nil)

	// since with t=r: a reaction-only row for the first message (no data key).
	var rows []map[string]json.RawMessage
	raw := bob.ok(200, "GET", "/room/r/messages/since/2?t=r&reactors=1", nil, &rows)
	if len(rows) != 1 || rows[0]["data"] != nil || string(rows[0]["id"]) != strconv.FormatInt(m.ID, 10) {
		t.Fatalf("t=r rows: %s", raw)
	}
	var reactions map[string]struct {
		Index    int      `json:"index"`
		Count    int      `json:"count"`
		Reactors []string `json:"reactors"`
		You      bool     `json:"you"`
	}
	mustOK(t, json.Unmarshal(rows[0]["reactions"], &reactions))
	if e := reactions["🍆"]; e.Index != 0 || e.Count != 2 || len(e.Reactors) != 1 || e.Reactors[0] != bob.id.String() || !e.You {
		t.Fatalf("reactions %s", rows[0]["reactions"])
	}
	if e := reactions["👍"]; e.Index != 1 || e.Count != 1 || e.You {
		t.Fatalf("reactions %s", rows[0]["reactions"])
	}
	// Without t=r there is nothing new since 2.
	bob.ok(200, "GET", "/room/r/messages/since/2", nil, &rows)
	if len(rows) != 0 {
		t.Fatalf("since without t=r: %d rows", len(rows))
	}

	var reactors [][]any
	bob.ok(200, "GET", fmt.Sprintf("/room/r/reactors/%d/🍆", m.ID), nil, &reactors)
	if len(reactors) != 2 || reactors[0][0] != bob.id.String() || reactors[1][0] != alice.id.String() {
		t.Fatalf("reactors %v", reactors)
	}

	bob.ok(200, "DELETE", path, nil, &res)
	if res.Removed != true {
		t.Fatalf("remove %+v", res)
	}
	bob.ok(200, "DELETE", path, nil, &res)
	if res.Removed != false {
		t.Fatalf("second remove %+v", res)
	}
	// Moderators clear reactions: one emoji or all.
	bob.ok(403, "DELETE", fmt.Sprintf("/room/r/reactions/%d", m.ID), nil, nil)
	mod.ok(200, "DELETE", fmt.Sprintf("/room/r/reactions/%d/👍", m.ID), nil, &res)
	if res.Removed != float64(1) {
		t.Fatalf("mod clear one %+v", res)
	}
	mod.ok(200, "DELETE", fmt.Sprintf("/room/r/reactions/%d", m.ID), nil, &res)
	if res.Removed != float64(1) {
		t.Fatalf("mod clear all %+v", res)
	}
	msgs, _ := s.Messages("r")
	if len(msgs[0].Reactions) != 0 {
		t.Fatalf("reactions left: %v", msgs[0].Reactions)
	}
}

func TestPins(t *testing.T) {
	s, clk := startRoom(t)
	admin, mod, u := newModerator(t, s, clk, true), newModerator(t, s, clk, false), newUser(t, s, clk)
	m1, _ := s.PostAs("r", u.keys, []byte("one"))
	m2, _ := s.PostAs("r", u.keys, []byte("two"))

	mod.ok(403, "POST", fmt.Sprintf("/room/r/pin/%d", m1.ID), map[string]any{}, nil)
	var res struct {
		InfoUpdates int64 `json:"info_updates"`
		Unpinned    int   `json:"unpinned"`
	}
	admin.ok(200, "POST", fmt.Sprintf("/room/r/pin/%d", m1.ID), map[string]any{}, &res)
	admin.ok(200, "POST", fmt.Sprintf("/room/r/pin/%d", m2.ID), map[string]any{}, nil)
	admin.ok(404, "POST", "/room/r/pin/999", map[string]any{}, nil)
	var info roomInfo
	u.ok(200, "GET", "/room/r", nil, &info)
	if len(info.PinnedMessages) != 2 || info.PinnedMessages[0].ID != m1.ID || info.PinnedMessages[0].PinnedBy != admin.id.String() || info.InfoUpdates != res.InfoUpdates+1 {
		t.Fatalf("pins %+v", info)
	}
	var unpin struct {
		InfoUpdates int64 `json:"info_updates"`
		Unpinned    bool  `json:"unpinned"` // a bool here, a count from unpin/all
	}
	admin.ok(200, "POST", fmt.Sprintf("/room/r/unpin/%d", m1.ID), map[string]any{}, &unpin)
	if !unpin.Unpinned {
		t.Fatalf("unpin %+v", unpin)
	}
	admin.ok(200, "POST", "/room/r/unpin/all", map[string]any{}, &res)
	if res.Unpinned != 1 {
		t.Fatalf("unpin all %+v", res)
	}
	info = roomInfo{}
	u.ok(200, "GET", "/room/r", nil, &info)
	if len(info.PinnedMessages) != 0 {
		t.Fatalf("pins left %+v", info.PinnedMessages)
	}
}

func TestRoomFiles(t *testing.T) {
	s, clk := startRoom(t, WithMaxUpload(1000))
	u, admin := newUser(t, s, clk), newModerator(t, s, clk, true)

	var up struct {
		ID int64 `json:"id"`
	}
	st, body := u.do("POST", "/room/r/file", []byte("picture bytes"), "Content-Disposition", "attachment; filename*=UTF-8''caf%C3%A9.png")
	if st != 201 || json.Unmarshal(body, &up) != nil || up.ID == 0 {
		t.Fatalf("upload: %d %s", st, body)
	}
	if name, data, err := s.RoomFile("r", up.ID); err != nil || name != "café.png" || string(data) != "picture bytes" {
		t.Fatalf("RoomFile: %q %q %v", name, data, err)
	}
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/room/r/file/%d/whatever.png", s.URL(), up.ID), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.Contains(resp.Header.Get("Content-Disposition"), "caf") || resp.Header.Get("Expires") == "" || resp.Header.Get("Date") == "" {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
	if st, _ := u.do("POST", "/room/r/file", make([]byte, 1001)); st != 413 {
		t.Fatalf("too big: %d", st)
	}
	if st, _ := u.do("POST", "/room/r/file", []byte{}); st != 400 {
		t.Fatalf("empty: %d", st)
	}

	// A second file is referenced by a post: it lives 15 days, the first only 1 hour.
	var up2 struct {
		ID int64 `json:"id"`
	}
	u.ok(201, "POST", "/room/r/file", []byte("kept"), &up2)
	u.ok(201, "POST", "/room/r/message", withKV(u.postBody([]byte("see file")), "files", []int64{up2.ID}), nil)
	// A third becomes the room image: it never expires.
	var up3 struct {
		ID int64 `json:"id"`
	}
	u.ok(201, "POST", "/room/r/file", []byte("image"), &up3)
	admin.ok(200, "PUT", "/room/r", map[string]any{"image": up3.ID}, nil)

	clk.add(FileTTL)
	u.ok(404, "GET", fmt.Sprintf("/room/r/file/%d", up.ID), nil, nil)
	u.ok(200, "GET", fmt.Sprintf("/room/r/file/%d", up2.ID), nil, nil)
	clk.add(PostedFileTTL)
	u.ok(404, "GET", fmt.Sprintf("/room/r/file/%d", up2.ID), nil, nil)
	u.ok(200, "GET", fmt.Sprintf("/room/r/file/%d", up3.ID), nil, nil)
	var info roomInfo
	u.ok(200, "GET", "/room/r", nil, &info)
	if info.ImageID != up3.ID {
		t.Fatalf("image_id %d", info.ImageID)
	}
}

func TestModerationEndpoints(t *testing.T) {
	clk := newClock()
	s := startServer(t, WithClock(clk.now))
	mustOK(t, s.CreateRoom(RoomConfig{Token: "a"}))
	mustOK(t, s.CreateRoom(RoomConfig{Token: "b"}))
	admin, mod, u, gmod := newUser(t, s, clk), newUser(t, s, clk), newUser(t, s, clk), newUser(t, s, clk)
	mustOK(t, s.AddModerator("a", admin.id, true, false))
	mustOK(t, s.AddModerator("a", mod.id, false, false))
	s.AddGlobalModerator(gmod.id, true, true)

	// Room ban by a moderator of the room; not of another room; bad bodies are 400.
	mod.ok(403, "POST", "/user/"+u.id.String()+"/ban", map[string]any{"rooms": []string{"b"}}, nil)
	mod.ok(400, "POST", "/user/"+u.id.String()+"/ban", map[string]any{"rooms": []string{"a"}, "global": true}, nil)
	mod.ok(400, "POST", "/user/"+u.id.String()+"/ban", map[string]any{}, nil)
	mod.ok(403, "POST", "/user/"+u.id.String()+"/ban", map[string]any{"global": true}, nil)
	mod.ok(403, "POST", "/user/"+admin.id.String()+"/ban", map[string]any{"rooms": []string{"a"}}, nil)
	// /user/<id> takes 05 IDs too (pysogs's AnySessionID), even where blinding is required.
	mod.ok(200, "POST", "/user/05"+u.id.String()[2:]+"/ban", map[string]any{"rooms": []string{"a"}}, nil)
	mod.ok(404, "POST", "/user/25"+u.id.String()[2:]+"/ban", map[string]any{"rooms": []string{"a"}}, nil)
	mod.ok(200, "POST", "/user/"+u.id.String()+"/ban", map[string]any{"rooms": []string{"*"}, "timeout": 60}, nil)
	u.ok(404, "GET", "/room/a", nil, nil) // a banned user cannot access the room: as if it did not exist
	u.ok(200, "GET", "/room/b", nil, nil)
	clk.add(time.Minute)
	u.ok(200, "GET", "/room/a", nil, nil)
	mod.ok(200, "POST", "/user/"+u.id.String()+"/ban", map[string]any{"rooms": []string{"a"}}, nil)
	u.ok(403, "GET", "/room/a/messages/recent", nil, nil)
	mod.ok(200, "POST", "/user/"+u.id.String()+"/unban", map[string]any{"rooms": []string{"a"}}, nil)
	u.ok(200, "GET", "/room/a/messages/recent", nil, nil)

	// Global ban by a global moderator: 403 everywhere, before anything else.
	gmod.ok(200, "POST", "/user/"+u.id.String()+"/ban", map[string]any{"global": true}, nil)
	u.ok(403, "GET", "/capabilities", nil, nil)
	gmod.ok(200, "POST", "/user/"+u.id.String()+"/unban", map[string]any{"global": true}, nil)
	u.ok(200, "GET", "/capabilities", nil, nil)

	// Moderator changes: admins only; admin without moderator is 400.
	var res struct {
		InfoUpdates map[string]int64 `json:"info_updates"`
	}
	mod.ok(403, "POST", "/user/"+u.id.String()+"/moderator", map[string]any{"rooms": []string{"a"}, "moderator": true}, nil)
	admin.ok(400, "POST", "/user/"+u.id.String()+"/moderator", map[string]any{"rooms": []string{"a"}, "admin": true, "moderator": false}, nil)
	admin.ok(200, "POST", "/user/"+u.id.String()+"/moderator", map[string]any{"rooms": []string{"a"}, "moderator": true}, &res)
	if res.InfoUpdates["a"] == 0 {
		t.Fatalf("info_updates %v", res.InfoUpdates)
	}
	var info roomInfo
	u.ok(200, "GET", "/room/a", nil, &info)
	if !info.Moderator || len(info.Moderators) != 2 {
		t.Fatalf("new moderator %+v", info)
	}
	admin.ok(200, "POST", "/user/"+u.id.String()+"/moderator", map[string]any{"rooms": []string{"a"}, "moderator": false}, nil)
	info = roomInfo{}
	u.ok(200, "GET", "/room/a", nil, &info)
	if info.Moderator {
		t.Fatal("moderator not removed")
	}
	gmod.ok(200, "POST", "/user/"+u.id.String()+"/moderator", map[string]any{"global": true, "moderator": true}, &res)
	if len(res.InfoUpdates) != 2 {
		t.Fatalf("global info_updates %v", res.InfoUpdates)
	}
	u.ok(200, "GET", "/room/b", nil, &info)
	if !info.Moderator || !info.GlobalModerator || len(info.Moderators) != 0 { // global mods default to hidden
		t.Fatalf("global moderator %+v", info)
	}

	// Per-user permissions through the API.
	v := newUser(t, s, clk)
	mod.ok(200, "POST", "/room/a/permissions/"+v.id.String(), map[string]any{"write": false}, nil)
	v.ok(403, "POST", "/room/a/message", v.postBody([]byte("x")), nil)
	var perm map[string]any
	mod.ok(200, "GET", "/room/a/permissions/"+v.id.String(), nil, &perm)
	if perm["write"] != false || len(perm) != 1 { // only what is assigned, as pysogs answers
		t.Fatalf("permissions %v", perm)
	}
	perm = nil
	mod.ok(200, "GET", "/room/a/permissions", nil, &perm)
	if len(perm) != 1 {
		t.Fatalf("overrides %v", perm)
	}
	mod.ok(200, "POST", "/room/a/permissions/"+v.id.String(), map[string]any{"default_write": true}, nil)
	v.ok(201, "POST", "/room/a/message", v.postBody([]byte("x")), nil)
	mod.ok(200, "POST", "/room/a/permissions/"+v.id.String(), map[string]any{"fly": true}, nil) // unknown keys are ignored
	mod.ok(400, "POST", "/room/a/permissions/"+v.id.String(), map[string]any{"write": true, "default_write": true}, nil)

	// Scheduled changes: write is taken away in 60 s; an unscheduled change never happens.
	mod.ok(200, "POST", "/room/a/futurePermissions/"+v.id.String(), map[string]any{"write": false, "in": 60}, nil)
	var future []map[string]any
	mod.ok(200, "GET", "/room/a/futurePermissions", nil, &future)
	if len(future) != 1 || future[0]["session_id"] != v.id.String() || future[0]["write"] != false {
		t.Fatalf("future %v", future)
	}
	v.ok(201, "POST", "/room/a/message", v.postBody([]byte("before")), nil)
	clk.add(time.Minute)
	v.ok(403, "POST", "/room/a/message", v.postBody([]byte("after")), nil)
	mod.ok(200, "POST", "/room/a/permissions/"+v.id.String(), map[string]any{"default_write": true}, nil)
	mod.ok(200, "POST", "/room/a/futurePermissions/"+v.id.String(), map[string]any{"write": false, "in": 60}, nil)
	// Setting write (here back to the default) drops the scheduled write changes.
	mod.ok(200, "POST", "/room/a/permissions/"+v.id.String(), map[string]any{"default_write": true}, nil)
	clk.add(time.Minute)
	v.ok(201, "POST", "/room/a/message", v.postBody([]byte("still")), nil)
	mod.ok(400, "POST", "/room/a/futurePermissions/"+v.id.String(), map[string]any{"write": false, "in": 0}, nil)
	mod.ok(400, "POST", "/room/a/futurePermissions/"+v.id.String(), map[string]any{"in": 5}, nil)
	v.ok(403, "GET", "/room/a/futurePermissions", nil, nil)
	v.ok(403, "GET", "/room/a/permissions", nil, nil)

	// Delete everything a user posted in the rooms the caller moderates.
	_, _ = s.PostAs("b", v.keys, []byte("in b"))
	var del struct {
		Total int            `json:"total"`
		Rooms map[string]int `json:"rooms"`
	}
	mod.ok(200, "DELETE", "/rooms/all/"+v.id.String(), nil, &del)
	if del.Total != 3 || del.Rooms["a"] != 3 {
		t.Fatalf("delete all (mod of a) %+v", del)
	}
	gmod.ok(200, "DELETE", "/rooms/all/"+v.id.String(), nil, &del)
	if del.Total != 1 || del.Rooms["b"] != 1 {
		t.Fatalf("delete all (global) %+v", del)
	}
	// A user may delete their own posts; rooms where they may not are left out, not refused.
	v.ok(200, "DELETE", "/rooms/all/"+v.id.String(), nil, &del)
	if del.Total != 0 {
		t.Fatalf("delete all (self) %+v", del)
	}
	w := newUser(t, s, clk)
	w.ok(200, "GET", "/capabilities", nil, nil)
	_, _ = s.PostAs("a", w.keys, []byte("w's"))
	del.Rooms = nil
	v.ok(200, "DELETE", "/rooms/all/"+w.id.String(), nil, &del)
	if del.Total != 0 || len(del.Rooms) != 0 {
		t.Fatalf("delete all (stranger) %+v", del)
	}
}

type subResp struct {
	Code    int               `json:"code"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

func TestBatchAndSequence(t *testing.T) {
	s, clk := startRoom(t)
	u := newUser(t, s, clk)
	post := u.postBody([]byte("from a batch"))

	var out []subResp
	u.ok(200, "POST", "/batch", []map[string]any{
		{"method": "GET", "path": "/capabilities"},
		{"method": "POST", "path": "/room/r/message", "json": post, "headers": map[string]string{"X-SOGS-Pubkey": "ignored"}},
		{"method": "GET", "path": "/room/nope"},
		{"method": "GET", "path": "/room/r/messages/since/0?t=r"},
		{"method": "POST", "path": "/room/r/file", "b64": b64([]byte("file!"))},
		{"method": "POST", "path": "/room/r/file", "bytes": "raw file"},
	}, &out)
	if len(out) != 6 || out[0].Code != 200 || out[1].Code != 201 || out[2].Code != 404 || out[3].Code != 200 || out[4].Code != 201 || out[5].Code != 201 {
		t.Fatalf("batch: %+v", out)
	}
	if out[0].Headers["content-type"] != "application/json" || !bytes.Contains(out[0].Body, []byte("blind")) {
		t.Fatalf("capabilities result %+v", out[0])
	}
	var rows []msgRow
	mustOK(t, json.Unmarshal(out[3].Body, &rows))
	if len(rows) != 1 || rows[0].SessionID != u.id.String() {
		t.Fatalf("messages in batch %s", out[3].Body)
	}
	// A non-JSON body comes back base64.
	var fid struct{ ID int64 }
	mustOK(t, json.Unmarshal(out[5].Body, &fid))
	out = nil
	u.ok(200, "POST", "/batch", []map[string]any{{"method": "GET", "path": fmt.Sprintf("/room/r/file/%d", fid.ID)}}, &out)
	var fileB64 string
	if json.Unmarshal(out[0].Body, &fileB64) != nil || fileB64 != b64([]byte("raw file")) {
		t.Fatalf("file in batch: %s", out[0].Body)
	}

	// sequence stops after the first failure (and includes it).
	u.ok(200, "POST", "/sequence", []map[string]any{
		{"method": "GET", "path": "/capabilities"},
		{"method": "GET", "path": "/room/nope"},
		{"method": "GET", "path": "/capabilities"},
	}, &out)
	if len(out) != 2 || out[1].Code != 404 {
		t.Fatalf("sequence: %+v", out)
	}

	// Any malformed subrequest fails the whole request with 400.
	for name, bad := range map[string]any{
		"not a list":       map[string]any{"method": "GET"},
		"GET with body":    []map[string]any{{"method": "GET", "path": "/capabilities", "json": map[string]any{}}},
		"POST without":     []map[string]any{{"method": "POST", "path": "/room/r/message"}},
		"POST with two":    []map[string]any{{"method": "POST", "path": "/x", "bytes": "a", "b64": "YQ=="}},
		"path without /":   []map[string]any{{"method": "GET", "path": "capabilities"}},
		"bad method":       []map[string]any{{"method": "PATCH", "path": "/x"}},
		"second malformed": []map[string]any{{"method": "GET", "path": "/capabilities"}, {"method": "GET"}},
	} {
		if st, body := u.do("POST", "/batch", bad); st != 400 {
			t.Fatalf("%s: %d %s", name, st, body)
		}
	}
	// An empty list is an empty answer; a b64 that does not decode leaves the subrequest
	// without a body (pysogs logs it and goes on).
	u.ok(200, "POST", "/batch", []any{}, &out)
	if len(out) != 0 {
		t.Fatalf("empty batch: %+v", out)
	}
	u.ok(200, "POST", "/batch", []map[string]any{{"method": "POST", "path": "/room/r/file", "b64": "!!"}}, &out)
	if len(out) != 1 || out[0].Code != 400 {
		t.Fatalf("bad b64: %+v", out)
	}
	// No nesting.
	u.ok(200, "POST", "/batch", []map[string]any{{"method": "POST", "path": "/batch", "json": []any{}}}, &out)
	if out[0].Code != 400 {
		t.Fatalf("nested batch: %+v", out)
	}
	// Anonymous batches run anonymously.
	anon(t, s).ok(200, "POST", "/batch", []map[string]any{{"method": "POST", "path": "/room/r/message", "json": post}}, &out)
	if out[0].Code != 401 {
		t.Fatalf("anonymous post in batch: %+v", out)
	}
}

func TestBlindedDMs(t *testing.T) {
	clk := newClock()
	s := startServer(t, WithClock(clk.now))
	alice, bob, stranger := newUser(t, s, clk), newUser(t, s, clk), newUser(t, s, clk)
	bob.ok(200, "GET", "/capabilities", nil, nil) // bob is known to the server now

	// An unknown recipient, or a 05 one, is 404; anonymous senders get 401.
	alice.ok(404, "POST", "/inbox/"+stranger.id.String(), map[string]any{"message": b64([]byte("hi"))}, nil)
	alice.ok(404, "POST", "/inbox/"+bob.keys.AccountID().String(), map[string]any{"message": b64([]byte("hi"))}, nil)
	anon(t, s).ok(401, "POST", "/inbox/"+bob.id.String(), map[string]any{"message": b64([]byte("hi"))}, nil)
	alice.ok(400, "POST", "/inbox/"+bob.id.String(), map[string]any{"msg": "x"}, nil)

	// A real blinded DM: encrypted by alice, read back by bob and by alice in her outbox.
	plain := Pad([]byte("hello bob"))
	enc, err := blinding.EncryptDM(alice.keys, s.PublicKey(), bob.id, plain, nil)
	mustOK(t, err)
	var sent struct {
		ID        int64   `json:"id"`
		Sender    string  `json:"sender"`
		Recipient string  `json:"recipient"`
		PostedAt  float64 `json:"posted_at"`
		ExpiresAt float64 `json:"expires_at"`
		Message   *string `json:"message"`
	}
	alice.ok(201, "POST", "/inbox/"+bob.id.String(), map[string]any{"message": b64(enc)}, &sent)
	if sent.Sender != alice.id.String() || sent.Recipient != bob.id.String() || sent.Message != nil || sent.ExpiresAt-sent.PostedAt != DMTTL.Seconds() {
		t.Fatalf("sent %+v", sent)
	}
	type dmRow struct {
		ID        int64  `json:"id"`
		Sender    string `json:"sender"`
		Recipient string `json:"recipient"`
		Message   string `json:"message"`
	}
	var inbox []dmRow
	bob.ok(200, "GET", "/inbox", nil, &inbox)
	if len(inbox) != 1 || inbox[0].ID != sent.ID {
		t.Fatalf("inbox %+v", inbox)
	}
	data, _ := base64.StdEncoding.DecodeString(inbox[0].Message)
	sender, _ := crypto.ParseAccountID(inbox[0].Sender)
	got, realSender, err := blinding.DecryptDM(bob.keys, s.PublicKey(), sender, bob.id, data)
	if err != nil || !bytes.Equal(got, plain) || realSender != alice.keys.AccountID() {
		t.Fatalf("decrypt: %v", err)
	}
	var outbox []dmRow
	alice.ok(200, "GET", "/outbox", nil, &outbox)
	if len(outbox) != 1 || outbox[0].Recipient != bob.id.String() {
		t.Fatalf("outbox %+v", outbox)
	}
	if _, _, err := blinding.DecryptDM(alice.keys, s.PublicKey(), alice.id, bob.id, data); err != nil {
		t.Fatalf("own outbox copy: %v", err)
	}

	// since: 304 with an empty body when there is nothing new; the plain form gives [].
	if st, body := bob.do("GET", fmt.Sprintf("/inbox/since/%d", sent.ID), nil); st != 304 || len(body) != 0 {
		t.Fatalf("inbox since: %d %q", st, body)
	}
	if st, _ := alice.do("GET", fmt.Sprintf("/outbox/since/%d", sent.ID), nil); st != 304 {
		t.Fatalf("outbox since: %d", st)
	}
	bob.ok(200, "GET", "/inbox/since/0", nil, &inbox)
	alice.ok(200, "GET", "/inbox", nil, &inbox)
	if len(inbox) != 0 {
		t.Fatalf("alice's inbox %+v", inbox)
	}
	for i := 0; i < 3; i++ {
		alice.ok(201, "POST", "/inbox/"+bob.id.String(), map[string]any{"message": b64([]byte{byte(i)})}, nil)
	}
	bob.ok(200, "GET", "/inbox?limit=2", nil, &inbox)
	if len(inbox) != 2 {
		t.Fatalf("limit: %d", len(inbox))
	}
	if len(s.Inbox(bob.id)) != 4 {
		t.Fatal("Inbox")
	}
	var del struct {
		Deleted int `json:"deleted"`
	}
	bob.ok(200, "DELETE", "/inbox", nil, &del)
	if del.Deleted != 4 || len(s.Inbox(bob.id)) != 0 {
		t.Fatalf("delete %+v", del)
	}
	// DMs expire; a banned recipient is 404.
	s.SendDM(alice.id, bob.id, []byte("old"))
	clk.add(DMTTL)
	if len(s.Inbox(bob.id)) != 0 {
		t.Fatal("DM outlived DMTTL")
	}
	s.BanGlobal(bob.id, 0)
	alice.ok(404, "POST", "/inbox/"+bob.id.String(), map[string]any{"message": b64([]byte("x"))}, nil)
}

func TestSeedingAPI(t *testing.T) {
	s := startServer(t)
	keys, _ := crypto.GenerateKeys(nil)
	rooms, err := s.Populate(3, 10, keys)
	mustOK(t, err)
	if len(rooms) != 3 || strings.Join(s.Rooms(), ",") != "room-0,room-1,room-2" {
		t.Fatalf("rooms %v", rooms)
	}
	msgs, err := s.Messages("room-1")
	mustOK(t, err)
	id, _ := s.BlindedID(keys)
	kp, _ := blinding.Blind15KeyPair(keys, s.PublicKey())
	pub := kp.PublicKey()
	if len(msgs) != 10 || msgs[0].Author != id || msgs[9].Seqno != 10 || len(msgs[0].Data)%160 != 0 {
		t.Fatalf("messages %+v", msgs[0])
	}
	if !ed25519Verify(pub, msgs[3].Data, msgs[3].Signature) {
		t.Fatal("PostAs signature does not verify")
	}
	if _, err := s.Post("nope", Post{Data: []byte("x"), Signature: make([]byte, 64)}); err == nil {
		t.Fatal("post to a missing room")
	}
	if _, err := s.Post("room-0", Post{Data: []byte("x")}); err == nil {
		t.Fatal("post without signature")
	}
	msgs0, _ := s.Messages("room-0")
	mustOK(t, s.EditMessage("room-0", msgs0[0].ID, []byte("e"), make([]byte, 64)))
	if err := s.EditMessage("room-0", msgs[0].ID, []byte("e"), make([]byte, 64)); err == nil {
		t.Fatal("edit of another room's message")
	}
	if err := s.DeleteMessage("room-1", 99999); err == nil {
		t.Fatal("delete missing")
	}
	if added, err := s.React("room-1", msgs[0].ID, id, "👍"); err != nil || !added {
		t.Fatal(err)
	}
	if _, err := s.React("room-1", msgs[0].ID, id, ""); err == nil {
		t.Fatal("empty reaction")
	}
	mustOK(t, s.DeleteMessage("room-1", msgs[0].ID))
	msgs, _ = s.Messages("room-1")
	if !msgs[0].Deleted || msgs[0].Data != nil || len(msgs[0].Reactions) != 0 || msgs[0].Seqno != 12 {
		t.Fatalf("after delete %+v", msgs[0])
	}
	_ = s.Close()
	if err := s.CreateRoom(RoomConfig{Token: "late"}); err == nil {
		t.Fatal("CreateRoom after Close")
	}
}
