package sogsd

// TestConformsToPysogs replays the recorded exchanges with the real community server (pysogs
// 9497ddb, testdata/real/sogs) against sogsd, in order, and checks that each reply has the
// real reply's status, content type and shape: for JSON, the same keys and value types
// recursively (integers and floats told apart; for lists, every element sogsd sends has the
// shape of one the real server sent, and a list is empty on both sides or on neither); for
// other bodies, the same bytes (error pages and messages, after the IDs are translated).
//
// The requests are rebuilt, not copied: sogsd has its own key, so every account's blinded ID,
// every signature, and every message, file, DM id, seqno and info_updates counter differ. The
// test keeps maps from the recording's values to sogsd's, learnt from the replies as they come
// (and, for counters never seen, interpolated between the nearest known ones), and rewrites
// paths and bodies with them. Requests are signed here with blinding's signer for sogsd's key,
// at sogsd's clock plus the recorded offset, with the recorded nonce; the deliberately broken
// requests (corrupted signature, missing nonce, 05 prefix, a nonce already spent, a timestamp
// 25 h away) are broken the same way. The recording is missing some exchanges (the second post
// of the rate-limit burst, a few posts of earlier steps): posts the transcript never shows are
// made when first referenced, by the room's last poster, and a post whose id skips ids first
// posts the missing ones by the same author, so that counters and the rate limit agree.
//
// Server checks stay written from the spec and the transcripts: nothing here calls the
// community client.

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/internal/v4srv/v4srvtest"
	"github.com/sessiongo/sdk/internal/realpeers"
)

type realAccount struct {
	name string
	keys *crypto.Keys
	ed   string            // Ed25519 key hex
	id15 map[string]string // instance → the recording's 15 ID
}

func loadRealSogs(t *testing.T) (lines []realpeers.SogsLine, accounts []*realAccount, serverKeys map[string]string) {
	t.Helper()
	dir := filepath.Join(realpeers.Dir(filepath.Join("..", "..")), "sogs")
	kf, err := realpeers.ReadSogsKeys(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	serverKeys = map[string]string{}
	for k, v := range kf.Servers {
		serverKeys[k] = v.X25519
	}
	for name, a := range kf.Accounts {
		seed, _ := hex.DecodeString(a.Seed)
		k, err := crypto.KeysFromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, &realAccount{name: name, keys: k, ed: a.Ed, id15: a.ID15})
	}
	sort.Slice(accounts, func(i, j int) bool { return accounts[i].name < accounts[j].name })
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no pysogs transcript in %s: %v", dir, err)
	}
	for _, p := range files {
		l, err := realpeers.ReadLines[realpeers.SogsLine](p)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, l...)
	}
	return lines, accounts, serverKeys
}

// counterMap translates a counter of the recording (seqno, info_updates, DM id) into sogsd's:
// exactly when the pair was seen, else from the nearest known pair, assuming the same number of
// steps in between.
type counterMap map[int64]int64

func (m counterMap) learn(real, dev int64) {
	if real > 0 && dev > 0 {
		m[real] = dev
	}
}

func (m counterMap) to(real int64) int64 {
	if d, ok := m[real]; ok || real == 0 {
		return d
	}
	var below, above int64 = -1, -1
	for r := range m {
		if r < real && r > below {
			below = r
		}
		if r > real && (above < 0 || r < above) {
			above = r
		}
	}
	switch {
	case above >= 0:
		d := m[above] - (above - real)
		if below >= 0 && d < m[below] {
			d = m[below]
		}
		return max(d, 0)
	case below >= 0:
		return m[below] + (real - below)
	}
	return real
}

// conformance is the replay of one transcript against two sogsd instances.
type conformance struct {
	t        *testing.T
	accounts []*realAccount
	servers  map[string]*Server // "main", "unblinded"
	realKeys map[string]string
	clock    *clock
	hc       *http.Client

	ids      map[string]string // recording's session ID or key hex → sogsd's (per instance)
	msgs     map[string]map[int64]int64
	files    map[string]map[int64]int64
	dms      map[string]map[int64]int64
	seqnos   map[string]counterMap // per room
	infos    map[string]counterMap // per room
	lastPost map[string]*realAccount
	lastID   map[string]int64 // largest real message id seen per instance
	spent    map[string]bool  // account name + nonce
	nonceCtr int
}

func TestConformsToPysogs(t *testing.T) {
	lines, accounts, realKeys := loadRealSogs(t)
	clk := &clock{t: time.Unix(int64(lines[0].T), 0)}
	c := &conformance{t: t, accounts: accounts, realKeys: realKeys, clock: clk, hc: &http.Client{},
		servers: map[string]*Server{}, ids: map[string]string{},
		msgs: map[string]map[int64]int64{}, files: map[string]map[int64]int64{}, dms: map[string]map[int64]int64{},
		seqnos: map[string]counterMap{}, infos: map[string]counterMap{}, lastPost: map[string]*realAccount{},
		lastID: map[string]int64{}, spent: map[string]bool{}}
	c.servers["main"] = startServer(t, WithClock(clk.now))
	c.servers["unblinded"] = startServer(t, WithClock(clk.now), WithUnblindedIDs())
	for inst := range c.servers {
		c.msgs[inst], c.files[inst], c.dms[inst] = map[int64]int64{}, map[int64]int64{}, map[int64]int64{}
	}
	c.seed()
	// Messages up to the first one the recording posts are history from before it (sogsd has
	// its own); later ones the recording never showed being posted are made when they show up.
	for i := range lines {
		l := &lines[i]
		var r struct {
			ID int64 `json:"id"`
		}
		inst := c.instance(l)
		if l.Method == "POST" && strings.HasSuffix(l.Path, "/message") && l.Status == 201 && c.lastID[inst] == 0 &&
			json.Unmarshal([]byte(deref(l.RespBody)), &r) == nil {
			c.lastID[inst] = r.ID - 1
		}
	}
	for i := range lines {
		l := &lines[i]
		clk.mu.Lock()
		clk.t = time.UnixMilli(int64(l.T * 1000))
		clk.mu.Unlock()
		t.Run(fmt.Sprintf("%03d %s", i+1, l.Case), func(t *testing.T) { c.replay(t, l) })
	}
}

func (c *conformance) instance(l *realpeers.SogsLine) string {
	if strings.HasPrefix(l.Instance, "unblinded") {
		return "unblinded"
	}
	return "main"
}

func (c *conformance) account(name string) *realAccount {
	for _, a := range c.accounts {
		if a.name == name {
			return a
		}
	}
	c.t.Fatalf("no account %s", name)
	return nil
}

// seed gives both servers the state the recording started from: the rooms, their admins and
// moderators, the lobby's description and image, and the open room's two pins.
func (c *conformance) seed() {
	t := c.t
	for inst, s := range c.servers {
		for _, a := range c.accounts {
			id, err := s.BlindedID(a.keys)
			if err != nil {
				t.Fatal(err)
			}
			c.ids[inst+a.id15[inst]] = id.String()
			c.ids[inst+a.id15[inst][2:]] = id.String()[2:]
			s.AddUser(id)
			if inst == "unblinded" {
				s.AddUser(a.keys.AccountID())
			}
		}
	}
	main, open := c.servers["main"], c.servers["unblinded"]
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(main.CreateRoom(RoomConfig{Token: "lobby", Name: "Interop Lobby", Description: "updated by sessiongo 08:07:16"}))
	admin, sessA, gmod := c.account("admin"), c.account("sessA"), c.account("gmod")
	adminID, _ := main.BlindedID(admin.keys)
	sessAID, _ := main.BlindedID(sessA.keys)
	gmodID, _ := main.BlindedID(gmod.keys)
	must(main.AddModerator("lobby", adminID, true, false))
	must(main.AddModerator("lobby", sessAID, false, false))
	main.AddGlobalModerator(gmodID, false, true)
	c.send("main", admin, "POST", "/room/lobby/file", []byte("image"), "application/octet-stream", 201)
	c.send("main", admin, "PUT", "/room/lobby", []byte(`{"image":1}`), "application/json", 200)

	must(open.CreateRoom(RoomConfig{Token: "open", Name: "Unblinded room"}))
	must(open.AddModerator("open", admin.keys.AccountID(), true, false))
	for i := 0; i < 3; i++ {
		data := Pad([]byte(fmt.Sprint("earlier post ", i)))
		sig := admin.keys.Sign(data)
		if _, err := open.Post("open", Post{Author: admin.keys.AccountID(), Data: data, Signature: sig[:]}); err != nil {
			t.Fatal(err)
		}
	}
	c.send("unblinded", admin, "POST", "/room/open/pin/1", []byte(`{}`), "application/json", 200)
	c.send("unblinded", admin, "POST", "/room/open/pin/3", []byte(`{}`), "application/json", 200)
	c.lastPost["unblinded/open"] = admin
}

// send makes a setup request as a (unblinded on the unblinded server) and requires a status.
func (c *conformance) send(inst string, a *realAccount, method, path string, body []byte, ct string, want int) []byte {
	c.t.Helper()
	h := http.Header{}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	c.sign(inst, a, inst == "unblinded", method, path, body, c.freshNonce(), 0).Set(h)
	st, _, out := c.do(inst, method, path, h, body)
	if st != want {
		c.t.Fatalf("setup %s %s: %d %s", method, path, st, out)
	}
	return out
}

func (c *conformance) freshNonce() [16]byte {
	c.nonceCtr++
	var n [16]byte
	copy(n[:], fmt.Sprintf("setup-%010d", c.nonceCtr))
	return n
}

func (c *conformance) sign(inst string, a *realAccount, unblinded bool, method, path string, body []byte, nonce [16]byte, offset int64) blinding.Headers {
	c.t.Helper()
	s := c.servers[inst]
	var signer *blinding.RequestSigner
	if unblinded {
		signer = blinding.NewUnblindedRequestSigner(a.keys, s.PublicKey())
	} else {
		var err error
		if signer, err = s.Signer(a.keys); err != nil {
			c.t.Fatal(err)
		}
	}
	p, err := url.Parse(path)
	if err != nil {
		c.t.Fatal(err)
	}
	return signer.SignWith(method, blindingPath(p), body, nonce, c.clock.now().Add(time.Duration(offset)*time.Second))
}

func blindingPath(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	return u.Path + "?" + u.RawQuery
}

func (c *conformance) do(inst, method, path string, h http.Header, body []byte) (int, http.Header, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.servers[inst].URL()+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header = h
	return v4srvtest.RoundTrip(c.t, c.hc, req)
}

// realAccountOf finds the account of a recorded X-SOGS-Pubkey.
func (c *conformance) realAccountOf(inst, pk string) *realAccount {
	if len(pk) != 66 {
		return nil
	}
	for _, a := range c.accounts {
		if pk[2:] == a.ed || pk[2:] == a.id15[inst][2:] {
			return a
		}
	}
	return nil
}

var (
	idRE      = regexp.MustCompile(`[01]5[0-9a-f]{64}`)
	msgPathRE = regexp.MustCompile(`^/room/([\w-]+)/(message|reaction|reactions|reactors|pin|unpin|messages/before)/(\d+)`)
	sinceRE   = regexp.MustCompile(`^/room/([\w-]+)/messages/since/(\d+)`)
	pollRE    = regexp.MustCompile(`^/room/([\w-]+)/pollInfo/(\d+)`)
	fileRE    = regexp.MustCompile(`^/room/([\w-]+)/file/(\d+)`)
	boxRE     = regexp.MustCompile(`^/(inbox|outbox)/since/(\d+)`)
)

// translateIDs rewrites the recording's session IDs into sogsd's.
func (c *conformance) translateIDs(inst, s string) string {
	return idRE.ReplaceAllStringFunc(s, func(id string) string {
		if d, ok := c.ids[inst+id]; ok {
			return d
		}
		return id
	})
}

// translatePath rewrites a recorded path (percent-encoding kept) for sogsd, posting messages
// the recording references but never showed being posted.
func (c *conformance) translatePath(inst, p string) string {
	p = c.translateIDs(inst, p)
	if m := msgPathRE.FindStringSubmatchIndex(p); m != nil {
		room, real := p[m[2]:m[3]], p[m[6]:m[7]]
		n, _ := strconv.ParseInt(real, 10, 64)
		return p[:m[6]] + strconv.FormatInt(c.messageID(inst, room, n), 10) + p[m[7]:]
	}
	if m := sinceRE.FindStringSubmatchIndex(p); m != nil {
		n, _ := strconv.ParseInt(p[m[4]:m[5]], 10, 64)
		return p[:m[4]] + strconv.FormatInt(c.seqnoMap(inst, p[m[2]:m[3]]).to(n), 10) + p[m[5]:]
	}
	if m := pollRE.FindStringSubmatchIndex(p); m != nil {
		n, _ := strconv.ParseInt(p[m[4]:m[5]], 10, 64)
		return p[:m[4]] + strconv.FormatInt(c.infoMap(inst, p[m[2]:m[3]]).to(n), 10) + p[m[5]:]
	}
	if m := fileRE.FindStringSubmatchIndex(p); m != nil {
		n, _ := strconv.ParseInt(p[m[4]:m[5]], 10, 64)
		if d, ok := c.files[inst][n]; ok {
			n = d
		}
		return p[:m[4]] + strconv.FormatInt(n, 10) + p[m[5]:]
	}
	if m := boxRE.FindStringSubmatchIndex(p); m != nil {
		n, _ := strconv.ParseInt(p[m[4]:m[5]], 10, 64)
		return p[:m[4]] + strconv.FormatInt(counterMap(c.dms[inst]).to(n), 10) + p[m[5]:]
	}
	return p
}

func (c *conformance) seqnoMap(inst, room string) counterMap {
	k := inst + "/" + room
	if c.seqnos[k] == nil {
		c.seqnos[k] = counterMap{}
	}
	return c.seqnos[k]
}

func (c *conformance) infoMap(inst, room string) counterMap {
	k := inst + "/" + room
	if c.infos[k] == nil {
		c.infos[k] = counterMap{}
	}
	return c.infos[k]
}

// messageID translates a message id, posting the message first when the recording never
// showed it (its post was not recorded), as the room's last poster.
func (c *conformance) messageID(inst, room string, real int64) int64 {
	if d, ok := c.msgs[inst][real]; ok {
		return d
	}
	if real >= 999999 || real <= c.lastID[inst] {
		return real // an id that does not exist, on both servers
	}
	a := c.lastPost[inst+"/"+room]
	if a == nil {
		return real
	}
	d := c.postAs(inst, room, a, fmt.Sprint("post ", real, " (not in the recording)"))
	c.msgs[inst][real] = d
	c.lastID[inst] = real
	return d
}

func (c *conformance) postAs(inst, room string, a *realAccount, text string) int64 {
	data := Pad([]byte(text))
	kp, _ := blinding.Blind15KeyPair(a.keys, c.servers[inst].PublicKey())
	sig := kp.Sign(data)
	body, _ := json.Marshal(map[string]string{"data": base64.StdEncoding.EncodeToString(data), "signature": base64.StdEncoding.EncodeToString(sig[:])})
	out := c.send(inst, a, "POST", "/room/"+room+"/message", body, "application/json", 201)
	var r struct {
		ID int64 `json:"id"`
	}
	_ = json.Unmarshal(out, &r)
	return r.ID
}

// translateBody rewrites IDs, message and file ids in a JSON request body.
func (c *conformance) translateBody(inst string, body []byte) []byte {
	if len(body) == 0 || body[0] != '{' && body[0] != '[' {
		return body
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return body
	}
	v = c.translateValue(inst, "", v)
	out, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

func (c *conformance) translateValue(inst, key string, v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = c.translateValue(inst, k, e)
		}
		if p, ok := x["path"].(string); ok {
			x["path"] = c.translatePath(inst, p)
		}
	case []any:
		for i, e := range x {
			x[i] = c.translateValue(inst, key, e)
		}
	case string:
		if key != "path" {
			return c.translateIDs(inst, x)
		}
	case json.Number:
		n, _ := x.Int64()
		switch key {
		case "files", "image":
			if d, ok := c.files[inst][n]; ok {
				return json.Number(strconv.FormatInt(d, 10))
			}
		}
	}
	return v
}

func (c *conformance) replay(t *testing.T, l *realpeers.SogsLine) {
	c.t = t
	inst := c.instance(l)
	var body []byte
	switch {
	case l.ReqBody != nil:
		body = []byte(*l.ReqBody)
	case l.ReqBodyB64 != nil:
		body, _ = base64.StdEncoding.DecodeString(*l.ReqBodyB64)
	}
	c.restore(inst, l)
	path := c.translatePath(inst, l.Path)
	body = c.translateBody(inst, body)
	u, _ := url.Parse(path)
	if l.Method == "POST" && strings.HasSuffix(u.Path, "/message") && l.Status == 201 {
		c.fillGap(inst, l)
	}

	h := http.Header{}
	for _, k := range []string{"Content-Type", "Content-Disposition"} {
		if v := l.ReqHeaders[k]; v != "" {
			h.Set(k, v)
		}
	}
	a := c.realAccountOf(inst, l.ReqHeaders["X-SOGS-Pubkey"])
	if pk := l.ReqHeaders["X-SOGS-Pubkey"]; pk != "" {
		if a == nil {
			t.Fatalf("unknown pubkey %s", pk)
		}
		var nonce [16]byte
		nb, _ := base64.StdEncoding.DecodeString(l.ReqHeaders["X-SOGS-Nonce"])
		copy(nonce[:], nb)
		ts, _ := strconv.ParseInt(l.ReqHeaders["X-SOGS-Timestamp"], 10, 64)
		offset := ts - int64(l.T)
		unblinded := strings.HasPrefix(pk, "00")
		key := a.name + string(nonce[:])
		if strings.Contains(deref(l.RespBody), "X-SOGS-Nonce cannot be reused") && !c.spent[key] {
			// The recording had spent this nonce in an exchange it did not keep.
			hh := http.Header{}
			c.sign(inst, a, unblinded, "GET", "/capabilities", nil, nonce, 0).Set(hh)
			c.do(inst, "GET", "/capabilities", hh, nil)
		}
		c.spent[key] = true
		hs := c.sign(inst, a, unblinded, l.Method, path, body, nonce, offset)
		switch l.Case {
		case "raw: corrupted X-SOGS-Signature -> 401":
			sig, _ := base64.StdEncoding.DecodeString(hs.Signature)
			sig[10] ^= 1
			hs.Signature = base64.StdEncoding.EncodeToString(sig)
		case "raw: 05-prefixed X-SOGS-Pubkey -> 400":
			hs.Pubkey = "05" + hs.Pubkey[2:]
		}
		hs.Set(h)
		if _, ok := l.ReqHeaders["X-SOGS-Nonce"]; !ok {
			h.Del(blinding.HeaderNonce)
		}
	}
	st, rh, out := c.do(inst, l.Method, path, h, body)
	if st == l.Status && st >= 200 && st <= 299 {
		c.learn(inst, l, u, body, out)
		if l.Method == "POST" && strings.HasSuffix(u.Path, "/message") && a != nil {
			c.lastPost[inst+"/"+strings.Split(u.Path, "/")[2]] = a
		}
	}
	c.compare(t, inst, l, st, rh, out)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// missingExchanges are the effects of exchanges the recording does not have, by the case that
// shows them: applied before that case.
var missingExchanges = map[string]func(c *conformance, inst string){
	// The room ban of carol ("Ban (room)" was labelled onto the exchange before it).
	"run: Banned user post refused 403": func(c *conformance, inst string) {
		id, _ := c.servers[inst].BlindedID(c.account("carol").keys)
		if err := c.servers[inst].Ban("lobby", id, 0); err != nil {
			c.t.Fatal(err)
		}
	},
}

// restore brings sogsd to what the recorded reply shows of the state before the request: the
// exchanges the recording lost. For reads, messages and DMs newer than the recording's
// history that sogsd does not have are made (by their author, whispers as whispers), and
// messages the reply shows deleted are deleted.
func (c *conformance) restore(inst string, l *realpeers.SogsLine) {
	if f := missingExchanges[l.Case]; f != nil {
		f(c, inst)
	}
	if l.Status < 200 || l.Status > 299 || l.RespBody == nil {
		return
	}
	read := l.Method == "GET" || strings.HasSuffix(l.Path, "/batch") || strings.HasSuffix(l.Path, "/sequence")
	if !read {
		return
	}
	var v any
	d := json.NewDecoder(strings.NewReader(*l.RespBody))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return
	}
	if list, ok := v.([]any); ok && l.ReqBody != nil && (strings.HasSuffix(l.Path, "/batch") || strings.HasSuffix(l.Path, "/sequence")) {
		var subs []struct {
			Path string `json:"path"`
		}
		_ = json.Unmarshal([]byte(*l.ReqBody), &subs)
		for i, sub := range list {
			if i < len(subs) {
				c.restoreValue(inst, roomOf(subs[i].Path), sub)
			}
		}
		return
	}
	c.restoreValue(inst, roomOf(l.Path), v)
}

// roomOf is the room token of a /room/<token>/… path ("" for others).
func roomOf(path string) string {
	if seg := strings.Split(strings.Trim(path, "/"), "/"); len(seg) > 1 && seg[0] == "room" {
		return seg[1]
	}
	return ""
}

func num(v any) int64 {
	n, _ := v.(json.Number)
	i, err := n.Int64()
	if err != nil {
		f, _ := n.Float64()
		return int64(f)
	}
	return i
}

func (c *conformance) restoreValue(inst, room string, v any) {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			c.restoreValue(inst, room, e)
		}
	case map[string]any:
		if b, ok := x["body"]; ok && x["code"] != nil {
			c.restoreValue(inst, room, b)
			return
		}
		if _, isRow := x["seqno"]; isRow && x["id"] != nil && room != "" {
			c.restoreRow(inst, room, x)
		}
		if _, isDM := x["recipient"]; isDM && x["id"] != nil {
			c.restoreDM(inst, x)
		}
	}
}

func (c *conformance) accountOfID(inst, id string) *realAccount {
	for _, a := range c.accounts {
		if a.id15[inst] == id || a.keys.AccountID().String() == id {
			return a
		}
	}
	return nil
}

func (c *conformance) restoreRow(inst, room string, row map[string]any) {
	s := c.servers[inst]
	id := num(row["id"])
	if dev, ok := c.msgs[inst][id]; ok {
		if row["data"] == nil && row["deleted"] != nil {
			if err := s.DeleteMessage(room, dev); err == nil {
				c.t.Logf("restored the deletion of message %d", id)
			}
		}
		return
	}
	if id <= c.lastID[inst] {
		return
	}
	author := c.accountOfID(inst, fmt.Sprint(row["session_id"]))
	if author == nil {
		author = c.lastPost[inst+"/"+room]
	}
	if author == nil {
		return
	}
	authorID := author.keys.AccountID()
	if inst == "main" || strings.HasPrefix(fmt.Sprint(row["session_id"]), "15") {
		authorID, _ = s.BlindedID(author.keys)
	}
	data := Pad([]byte(fmt.Sprint("message ", id, " (not in the recording)")))
	p := Post{Author: authorID, Data: data, Signature: make([]byte, 64), WhisperMods: row["whisper_mods"] == json.Number("1")}
	if w, ok := row["whisper_to"].(string); ok {
		if a := c.accountOfID(inst, w); a != nil {
			to, _ := s.BlindedID(a.keys)
			p.WhisperTo = &to
		}
	}
	m, err := s.Post(room, p)
	if err != nil {
		c.t.Fatal(err)
	}
	c.msgs[inst][id], c.lastID[inst] = m.ID, id
	if row["data"] == nil && row["deleted"] != nil {
		_ = s.DeleteMessage(room, m.ID)
	}
	c.t.Logf("restored message %d (sogsd %d)", id, m.ID)
}

func (c *conformance) restoreDM(inst string, row map[string]any) {
	id := num(row["id"])
	if _, ok := c.dms[inst][id]; ok {
		return
	}
	from, to := c.accountOfID(inst, fmt.Sprint(row["sender"])), c.accountOfID(inst, fmt.Sprint(row["recipient"]))
	if from == nil || to == nil {
		return
	}
	s := c.servers[inst]
	fid, _ := s.BlindedID(from.keys)
	tid, _ := s.BlindedID(to.keys)
	msg, _ := base64.StdEncoding.DecodeString(fmt.Sprint(row["message"]))
	d := s.SendDM(fid, tid, append([]byte{0}, msg...))
	c.dms[inst][id] = d.ID
	c.t.Logf("restored DM %d (sogsd %d)", id, d.ID)
}

// fillGap posts, as the same author, the messages whose post the recording did not keep, when
// the reply's id skips ids (they count for the rate limit and the counters).
func (c *conformance) fillGap(inst string, l *realpeers.SogsLine) {
	var r struct {
		ID int64 `json:"id"`
	}
	if json.Unmarshal([]byte(deref(l.RespBody)), &r) != nil || c.lastID[inst] == 0 {
		return
	}
	a := c.realAccountOf(inst, l.ReqHeaders["X-SOGS-Pubkey"])
	room := strings.Split(l.Path, "/")[2]
	for id := c.lastID[inst] + 1; id < r.ID; id++ {
		c.msgs[inst][id] = c.postAs(inst, room, a, fmt.Sprint("post ", id, " (not in the recording)"))
	}
}

// learn records the translations a successful reply teaches.
func (c *conformance) learn(inst string, l *realpeers.SogsLine, u *url.URL, body, out []byte) {
	var real, dev any
	dr := json.NewDecoder(strings.NewReader(deref(l.RespBody)))
	dr.UseNumber()
	dd := json.NewDecoder(bytes.NewReader(out))
	dd.UseNumber()
	if dr.Decode(&real) != nil || dd.Decode(&dev) != nil {
		return
	}
	num := func(v any, k string) int64 {
		m, _ := v.(map[string]any)
		n, _ := m[k].(json.Number)
		i, _ := n.Int64()
		return i
	}
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	room := ""
	if len(seg) > 1 && seg[0] == "room" {
		room = seg[1]
	}
	switch {
	case room != "" && len(seg) == 3 && seg[2] == "message":
		c.msgs[inst][num(real, "id")] = num(dev, "id")
		c.lastID[inst] = max(c.lastID[inst], num(real, "id"))
		c.seqnoMap(inst, room).learn(num(real, "seqno"), num(dev, "seqno"))
	case room != "" && len(seg) == 3 && seg[2] == "file":
		c.files[inst][num(real, "id")] = num(dev, "id")
	case seg[0] == "inbox" && len(seg) == 2:
		c.dms[inst][num(real, "id")] = num(dev, "id")
	}
	if room != "" {
		c.seqnoMap(inst, room).learn(num(real, "seqno"), num(dev, "seqno"))
		c.infoMap(inst, room).learn(num(real, "info_updates"), num(dev, "info_updates"))
		c.learnRoom(inst, real, dev)
		c.learnRows(inst, room, real, dev)
	}
	if seg[0] == "rooms" || seg[0] == "batch" || seg[0] == "sequence" {
		rl, _ := real.([]any)
		dl, _ := dev.([]any)
		for i := range min(len(rl), len(dl)) {
			r, d := rl[i], dl[i]
			if seg[0] != "rooms" {
				r, d = jget(r, "body"), jget(d, "body")
			}
			c.learnRoom(inst, r, d)
			c.learnRoom(inst, jget(r, "details"), jget(d, "details"))
			if tok, ok := jget(r, "token").(string); ok {
				c.infoMap(inst, tok).learn(num(r, "info_updates"), num(d, "info_updates"))
			}
		}
		if seg[0] == "batch" && len(dl) > 2 {
			c.learnRows(inst, "", jget(rl[2], "body"), jget(dl[2], "body"))
		}
	}
	if m, ok := jget(real, "info_updates").(map[string]any); ok {
		for tok := range m {
			c.infoMap(inst, tok).learn(num(m, tok), num(jget(dev, "info_updates"), tok))
		}
	}
}

func (c *conformance) learnRoom(inst string, real, dev any) {
	tok, ok := jget(real, "token").(string)
	if !ok {
		return
	}
	num := func(v any, k string) int64 {
		n, _ := jget(v, k).(json.Number)
		i, _ := n.Int64()
		return i
	}
	c.infoMap(inst, tok).learn(num(real, "info_updates"), num(dev, "info_updates"))
	c.seqnoMap(inst, tok).learn(num(real, "message_sequence"), num(dev, "message_sequence"))
	if d := jget(real, "details"); d != nil {
		c.learnRoom(inst, d, jget(dev, "details"))
	}
}

// learnRows pairs the seqnos of rows whose message ids are known.
func (c *conformance) learnRows(inst, room string, real, dev any) {
	rl, _ := real.([]any)
	dl, _ := dev.([]any)
	byID := map[int64]any{}
	for _, d := range dl {
		n, _ := jget(d, "id").(json.Number)
		i, _ := n.Int64()
		byID[i] = d
	}
	for _, r := range rl {
		n, _ := jget(r, "id").(json.Number)
		rid, _ := n.Int64()
		did, ok := c.msgs[inst][rid]
		if !ok || byID[did] == nil || room == "" {
			continue
		}
		rs, _ := jget(r, "seqno").(json.Number)
		ds, _ := jget(byID[did], "seqno").(json.Number)
		a, _ := rs.Int64()
		b, _ := ds.Int64()
		c.seqnoMap(inst, room).learn(a, b)
	}
}

// jget reads into recorded JSON.
var jget = realpeers.Get

// compare checks sogsd's reply against the recorded one.
func (c *conformance) compare(t *testing.T, inst string, l *realpeers.SogsLine, st int, h http.Header, out []byte) {
	if st != l.Status {
		t.Fatalf("status %d, pysogs %d: %s", st, l.Status, out)
	}
	if got, want := h.Get("Content-Type"), l.RespHeaders["Content-Type"]; got != want {
		t.Fatalf("content type %q, pysogs %q (body %q)", got, want, out)
	}
	want := []byte(deref(l.RespBody))
	if l.RespBodyB64 != nil {
		want, _ = base64.StdEncoding.DecodeString(*l.RespBodyB64)
	}
	if !strings.HasPrefix(l.RespHeaders["Content-Type"], "application/json") {
		if strings.HasPrefix(l.RespHeaders["Content-Type"], "application/octet-stream") {
			// A room file: the bytes that were uploaded (the recording keeps the first 4 KiB of
			// both), and the same Content-Disposition.
			if !bytes.HasPrefix(want, out) && !bytes.Equal(out[:min(len(out), len(want))], want) {
				t.Fatalf("file of %d bytes differs from pysogs's", len(out))
			}
			if got, want := h.Get("Content-Disposition"), l.RespHeaders["Content-Disposition"]; got != want {
				t.Fatalf("Content-Disposition %q, pysogs %q", got, want)
			}
			return
		}
		if w := c.translateIDs(inst, string(want)); string(out) != w {
			t.Fatalf("body %q, pysogs %q", out, w)
		}
		return
	}
	var real, dev any
	dr := json.NewDecoder(bytes.NewReader(want))
	dr.UseNumber()
	dd := json.NewDecoder(bytes.NewReader(out))
	dd.UseNumber()
	if err := dr.Decode(&real); err != nil {
		t.Fatalf("recorded JSON: %v", err)
	}
	if err := dd.Decode(&dev); err != nil {
		t.Fatalf("sogsd's JSON %q: %v", out, err)
	}
	positional := strings.HasSuffix(l.Path, "/batch") || strings.HasSuffix(l.Path, "/sequence")
	if err := c.sameShape(inst, "$", real, dev, positional); err != nil {
		t.Fatalf("%v\nsogsd  %s\npysogs %s", err, clip(out), clip(want))
	}
}

func clip(b []byte) string {
	if len(b) > 1500 {
		return string(b[:1500]) + "…"
	}
	return string(b)
}

// kind is a JSON value's type: null, bool, string, slice, map, and for numbers int or float as
// they are written.
func kind(v any) string {
	if n, ok := v.(json.Number); ok {
		if strings.ContainsAny(n.String(), ".eE") {
			return "float"
		}
		return "int"
	}
	if v == nil {
		return "null"
	}
	return reflect.TypeOf(v).Kind().String()
}

// sameShape checks that dev has real's shape. For batch replies (positional) the lists are
// compared item by item, and error bodies inside them byte for byte.
func (c *conformance) sameShape(inst, at string, real, dev any, positional bool) error {
	if kind(real) != kind(dev) {
		return fmt.Errorf("%s: %s, pysogs %s (%v)", at, kind(dev), kind(real), real)
	}
	switch r := real.(type) {
	case map[string]any:
		d := dev.(map[string]any)
		var missing, extra []string
		for k := range r {
			if _, ok := d[k]; !ok {
				missing = append(missing, k)
			}
		}
		for k := range d {
			if _, ok := r[k]; !ok {
				extra = append(extra, k)
			}
		}
		if len(missing)+len(extra) > 0 {
			sort.Strings(missing)
			sort.Strings(extra)
			return fmt.Errorf("%s: keys missing %v, extra %v", at, missing, extra)
		}
		for k := range r {
			if err := c.sameShape(inst, at+"."+k, r[k], d[k], false); err != nil {
				return err
			}
		}
		if code, ok := r["code"].(json.Number); ok && positional {
			if n, _ := code.Int64(); n >= 300 {
				rb, _ := base64.StdEncoding.DecodeString(fmt.Sprint(r["body"]))
				db, _ := base64.StdEncoding.DecodeString(fmt.Sprint(d["body"]))
				if string(db) != c.translateIDs(inst, string(rb)) || fmt.Sprint(r["code"]) != fmt.Sprint(d["code"]) {
					return fmt.Errorf("%s: %v %q, pysogs %v %q", at, d["code"], db, r["code"], rb)
				}
			}
		}
	case []any:
		d := dev.([]any)
		if (len(r) == 0) != (len(d) == 0) {
			return fmt.Errorf("%s: %d items, pysogs %d", at, len(d), len(r))
		}
		if positional {
			if len(r) != len(d) {
				return fmt.Errorf("%s: %d items, pysogs %d", at, len(d), len(r))
			}
			for i := range r {
				if err := c.sameShape(inst, fmt.Sprintf("%s[%d]", at, i), r[i], d[i], true); err != nil {
					return err
				}
			}
			return nil
		}
		for i, dv := range d {
			var errs []string
			ok := false
			for _, rv := range r {
				err := c.sameShape(inst, fmt.Sprintf("%s[%d]", at, i), rv, dv, false)
				if err == nil {
					ok = true
					break
				}
				errs = append(errs, err.Error())
			}
			if !ok {
				return fmt.Errorf("%s[%d] has no counterpart in pysogs's list: %s", at, i, strings.Join(dedupe(errs), "; "))
			}
		}
	}
	return nil
}

func dedupe(l []string) []string {
	sort.Strings(l)
	out := l[:0]
	for i, s := range l {
		if i == 0 || s != l[i-1] {
			out = append(out, s)
		}
	}
	return out
}
