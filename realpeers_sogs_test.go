package sdk_test

// runSogsTranscript replays a recording of the real community server (pysogs) through the SDK:
// for every exchange (one leaf subtest per transcript line),
//   - the SDK, given the recorded inputs (the account's keys from keys.json, the recorded
//     timestamp and nonce), makes the recorded X-SOGS-* headers byte for byte; for the
//     exchanges the SDK itself made when recording (cases "run", "errors", "readpy",
//     "sessionwhisper", "unblinded"), the community.Client builds the whole request again:
//     method, path, every header, body;
//   - the recorded reply, handed to the community.Client through a transport that replays it,
//     parses to the same meaning: status and typed error (with the body kept), rows (checked
//     against signatures verified here with crypto/ed25519, not by the SDK), skipped rows,
//     fields.
// Exchanges made by hand (pysogs's tests/auth.py signing: cases "raw", "raw-unblinded",
// "pyclient") sign with the seed-derived nonce of session-desktop and pysogs; the SDK's client
// signs with libsession's (blinding.SeedNonce).

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/realpeers"
	"github.com/sessiongo/sdk/onion"
)

// sogsAccount is a test account of the recording.
type sogsAccount struct {
	name string
	keys *crypto.Keys
	id05 string
	id15 map[string]string // instance → 15 ID
}

type sogsWorld struct {
	servers  map[string]onion.Server // instance ("main", "unblinded") → server
	accounts []*sogsAccount
}

func loadSogsWorld(t *testing.T, path string) *sogsWorld {
	t.Helper()
	kf, err := realpeers.ReadSogsKeys(filepath.Join(filepath.Dir(path), "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	w := &sogsWorld{servers: map[string]onion.Server{}}
	for name, s := range kf.Servers {
		var pk [32]byte
		if _, err := hex.Decode(pk[:], []byte(s.X25519)); err != nil {
			t.Fatal(err)
		}
		base, _, _ := strings.Cut(s.BaseURL, " ")
		srv, err := onion.NewServer(base, pk)
		if err != nil {
			t.Fatal(err)
		}
		w.servers[name] = srv
	}
	for name, a := range kf.Accounts {
		seed, err := hex.DecodeString(a.Seed)
		if err != nil {
			t.Fatal(err)
		}
		k, err := crypto.KeysFromSeed(seed)
		if err != nil {
			t.Fatal(err)
		}
		if ed := k.Ed25519PublicKey(); hex.EncodeToString(ed[:]) != a.Ed || k.AccountID().String() != a.ID05 {
			t.Fatalf("keys.json: %s's seed does not give its keys", name)
		}
		w.accounts = append(w.accounts, &sogsAccount{name: name, keys: k, id05: a.ID05, id15: a.ID15})
	}
	slices.SortFunc(w.accounts, func(a, b *sogsAccount) int { return strings.Compare(a.name, b.name) })
	return w
}

// account finds who an X-SOGS-Pubkey (00, 15, or the deliberately wrong 05) belongs to.
func (w *sogsWorld) account(instance, pubkey string) *sogsAccount {
	if len(pubkey) != 66 {
		return nil
	}
	for _, a := range w.accounts {
		ed := a.keys.Ed25519PublicKey()
		if pubkey[2:] == hex.EncodeToString(ed[:]) || pubkey[2:] == a.id15[instance][2:] {
			return a
		}
	}
	return nil
}

// byID05 finds the account of a 05 Account ID.
func (w *sogsWorld) byID05(id string) *sogsAccount {
	for _, a := range w.accounts {
		if a.id05 == id {
			return a
		}
	}
	return nil
}

func runSogsTranscript(t *testing.T, path string) {
	w := loadSogsWorld(t, path)
	lines, err := realpeers.ReadLines[realpeers.SogsLine](path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lines {
		t.Run(realCaseName(i+1, lines[i].Case), func(t *testing.T) { replaySogsLine(t, w, &lines[i]) })
	}
}

// sogsExchange is one line being replayed.
type sogsExchange struct {
	t        *testing.T
	w        *sogsWorld
	l        *realpeers.SogsLine
	instance string
	server   onion.Server
	acct     *sogsAccount // nil: unauthenticated
	sdkMade  bool         // the SDK made this request when recording
	reqBody  []byte       // nil: none
	respBody []byte
	nonce    [16]byte
	ts       time.Time
	path     string // URL-decoded path
	query    string // raw query
	tr       *replayTransport
	client   *community.Client
	raw      any // the reply body as JSON (json.Number for numbers), nil when not JSON
}

func (x *sogsExchange) endpoint() string {
	if x.query == "" {
		return x.path
	}
	return x.path + "?" + x.query
}

// replayTransport answers every request with the recorded reply and keeps what it was sent.
type replayTransport struct {
	resp *onion.Response
	reqs []*onion.ServerRequest
}

func (r *replayTransport) Do(_ context.Context, _ onion.Server, req *onion.ServerRequest) (*onion.Response, error) {
	r.reqs = append(r.reqs, req)
	return r.resp, nil
}

func replaySogsLine(t *testing.T, w *sogsWorld, l *realpeers.SogsLine) {
	x := &sogsExchange{t: t, w: w, l: l, instance: "main"}
	if strings.HasPrefix(l.Instance, "unblinded") {
		x.instance = "unblinded"
	}
	x.server = w.servers[x.instance]
	mode, _, _ := strings.Cut(l.Case, ":")
	x.sdkMade = !strings.HasPrefix(mode, "raw") && !strings.HasPrefix(mode, "pyclient")
	u, err := url.Parse(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	x.path, x.query = u.Path, u.RawQuery
	switch {
	case l.ReqBody != nil:
		x.reqBody = []byte(*l.ReqBody)
	case l.ReqBodyB64 != nil:
		if x.reqBody, err = base64.StdEncoding.DecodeString(*l.ReqBodyB64); err != nil {
			t.Fatal(err)
		}
	}
	if x.reqBody != nil && !l.ReqBodyTruncated && len(x.reqBody) != l.ReqLen {
		t.Fatalf("request body of %d bytes, recorded length %d", len(x.reqBody), l.ReqLen)
	}
	switch {
	case l.RespBody != nil:
		x.respBody = []byte(*l.RespBody)
	case l.RespBodyB64 != nil:
		if x.respBody, err = base64.StdEncoding.DecodeString(*l.RespBodyB64); err != nil {
			t.Fatal(err)
		}
	}
	if ct := l.RespHeaders["Content-Type"]; strings.HasPrefix(ct, "application/json") {
		d := json.NewDecoder(bytes.NewReader(x.respBody))
		d.UseNumber()
		if err := d.Decode(&x.raw); err != nil {
			t.Fatalf("recorded JSON reply: %v", err)
		}
	}
	h := l.ReqHeaders
	if pk := h["X-SOGS-Pubkey"]; pk != "" {
		if x.acct = w.account(x.instance, pk); x.acct == nil {
			t.Fatalf("no account in keys.json has X-SOGS-Pubkey %s", pk)
		}
		nb, err := base64.StdEncoding.DecodeString(h["X-SOGS-Nonce"])
		if h["X-SOGS-Nonce"] != "" && (err != nil || len(nb) != 16) {
			t.Fatalf("nonce %q", h["X-SOGS-Nonce"])
		}
		copy(x.nonce[:], nb)
		sec, err := strconv.ParseInt(h["X-SOGS-Timestamp"], 10, 64)
		if err != nil {
			t.Fatalf("timestamp %q", h["X-SOGS-Timestamp"])
		}
		x.ts = time.Unix(sec, 0)
		x.checkSignature()
	}
	x.replay()
}

// signer returns the SDK's request signer for the line's account in the convention the
// recording used.
func (x *sogsExchange) signer() (*blinding.RequestSigner, *blinding.KeyPair) {
	pk := x.l.ReqHeaders["X-SOGS-Pubkey"]
	if strings.HasPrefix(pk, "00") {
		return blinding.NewUnblindedRequestSigner(x.acct.keys, x.server.X25519), nil
	}
	var opts []blinding.KeyOption
	if !x.sdkMade {
		opts = append(opts, blinding.SeedNonce())
	}
	kp, err := blinding.Blind15KeyPair(x.acct.keys, x.server.X25519, opts...)
	if err != nil {
		x.t.Fatal(err)
	}
	s, err := blinding.NewRequestSigner(kp)
	if err != nil {
		x.t.Fatal(err)
	}
	return s, kp
}

// checkSignature recomputes the X-SOGS-* headers with the SDK's signer from the recorded
// inputs.
func (x *sogsExchange) checkSignature() {
	t, h := x.t, x.l.ReqHeaders
	s, kp := x.signer()
	var got blinding.Headers
	if x.l.ReqBodyTruncated {
		// The body is recorded by its hash only (README): sign the message around that hash.
		sum, err := hex.DecodeString(x.l.ReqBodyBlake2b512)
		if err != nil || len(sum) != 64 || kp == nil {
			t.Fatalf("truncated body without a usable BLAKE2b-512: %v", err)
		}
		msg := slices.Concat(x.server.X25519[:], x.nonce[:], []byte(h["X-SOGS-Timestamp"]), []byte(x.l.Method), []byte(x.endpoint()), sum)
		sig := kp.Sign(msg)
		got = s.SignWith(x.l.Method, x.endpoint(), nil, x.nonce, x.ts)
		got.Signature = base64.StdEncoding.EncodeToString(sig[:])
	} else {
		got = s.SignWith(x.l.Method, x.endpoint(), x.reqBody, x.nonce, x.ts)
	}
	want := blinding.HeadersFromMap(h)
	switch x.l.Case {
	case "raw: corrupted X-SOGS-Signature -> 401":
		// The one deliberately corrupted signature: everything else is ours.
		if got.Signature == want.Signature {
			t.Fatal("the corrupted signature verifies")
		}
		got.Signature = want.Signature
	case "raw: missing X-SOGS-Nonce -> 400":
		// The nonce the signature was made with was removed from the request and not
		// recorded, so the signature cannot be made again; the rest is checked.
		got.Nonce, got.Signature = "", want.Signature
	case "raw: 05-prefixed X-SOGS-Pubkey -> 400":
		// A 15 signature sent under a deliberately wrong 05 prefix.
		if got.Pubkey[2:] != want.Pubkey[2:] || want.Pubkey[:2] != "05" {
			t.Fatalf("pubkey %s", want.Pubkey)
		}
		got.Pubkey = want.Pubkey
	}
	if got != want {
		t.Fatalf("the SDK signs\n%+v\nrecorded\n%+v", got, want)
	}
}

// newClient makes the community client of the line's account (admin for unauthenticated
// requests), at the recorded time, reading the recorded nonce (after extra, for DM nonces).
func (x *sogsExchange) newClient(extra []byte) {
	acct := x.acct
	if acct == nil {
		acct = x.w.accounts[0]
	}
	var hdr map[string]string
	if len(x.l.RespHeaders) > 0 {
		hdr = map[string]string{}
		for k, v := range x.l.RespHeaders {
			hdr[strings.ToLower(k)] = v
		}
	}
	x.tr = &replayTransport{resp: &onion.Response{Status: x.l.Status, Headers: hdr, Body: x.respBody}}
	ts := x.ts
	if ts.IsZero() {
		ts = time.Unix(1796286529, 0)
	}
	c, err := community.New(community.Config{
		Keys: acct.keys, Server: x.server, Transport: x.tr,
		Unblinded: strings.HasPrefix(x.l.ReqHeaders["X-SOGS-Pubkey"], "00"),
		Now:       func() time.Time { return ts },
		Rand:      io.MultiReader(bytes.NewReader(extra), bytes.NewReader(x.nonce[:])),
	})
	if err != nil {
		x.t.Fatal(err)
	}
	x.client = c
}

// checkBuilt compares the request the client sent with the recorded one, for requests the SDK
// made when recording.
func (x *sogsExchange) checkBuilt() {
	t := x.t
	if !x.sdkMade || x.l.ReqBodyTruncated {
		return
	}
	if len(x.tr.reqs) != 1 {
		t.Fatalf("the client sent %d requests", len(x.tr.reqs))
	}
	r := x.tr.reqs[0]
	if r.Method != x.l.Method || r.Endpoint != x.endpoint() {
		t.Fatalf("the client sent %s %s, recorded %s %s", r.Method, r.Endpoint, x.l.Method, x.endpoint())
	}
	if wire := (&url.URL{Path: x.path, RawQuery: x.query}).RequestURI(); wire != x.l.Path {
		t.Fatalf("on the wire %s, recorded %s", wire, x.l.Path)
	}
	if !mapsEqualFold(r.Headers, x.l.ReqHeaders) {
		t.Fatalf("the client sent headers\n%v\nrecorded\n%v", r.Headers, x.l.ReqHeaders)
	}
	if !bytes.Equal(r.Body, x.reqBody) {
		t.Fatalf("the client sent body\n%s\nrecorded\n%s", r.Body, x.reqBody)
	}
}

func mapsEqualFold(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		found := false
		for k2, v2 := range b {
			if strings.EqualFold(k, k2) {
				found = v == v2
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// sogsRoute maps a request to the client call that makes it and checks the answer.
type sogsRoute struct {
	method string
	re     *regexp.Regexp
	call   func(x *sogsExchange, m []string) error
}

var sogsRoutes []sogsRoute

func init() {
	r := func(method, pattern string, call func(x *sogsExchange, m []string) error) {
		sogsRoutes = append(sogsRoutes, sogsRoute{method, regexp.MustCompile("^" + pattern + "$"), call})
	}
	r("GET", `/capabilities`, sogsCapabilities)
	r("GET", `/rooms`, sogsRooms)
	r("GET", `/room/([\w-]+)`, sogsRoom)
	r("PUT", `/room/([\w-]+)`, sogsUpdateRoom)
	r("GET", `/room/([\w-]+)/pollInfo/(\d+)`, sogsPollInfo)
	r("GET", `/room/([\w-]+)/messages/(recent|since|before)(?:/(\d+))?`, sogsMessages)
	r("GET", `/room/([\w-]+)/message/(\d+)`, sogsMessage)
	r("POST", `/room/([\w-]+)/message`, sogsPost)
	r("PUT", `/room/([\w-]+)/message/(\d+)`, sogsEdit)
	r("DELETE", `/room/([\w-]+)/message/(\d+)`, sogsDelete)
	r("PUT", `/room/([\w-]+)/reaction/(\d+)/(.+)`, sogsReact)
	r("DELETE", `/room/([\w-]+)/reaction/(\d+)/(.+)`, sogsReact)
	r("DELETE", `/room/([\w-]+)/reactions/(\d+)(?:/(.+))?`, sogsClearReactions)
	r("GET", `/room/([\w-]+)/reactors/(\d+)/(.+)`, sogsReactors)
	r("POST", `/room/([\w-]+)/(pin|unpin)/(\d+|all)`, sogsPin)
	r("POST", `/room/([\w-]+)/file`, sogsUpload)
	r("GET", `/room/([\w-]+)/file/(\d+)`, sogsDownload)
	r("POST", `/inbox/(\w+)`, sogsSendDM)
	r("GET", `/(inbox|outbox)(?:/since/(\d+))?`, sogsBox)
	r("DELETE", `/inbox`, sogsClearInbox)
	r("POST", `/user/(\w+)/(ban|unban|moderator)`, sogsUserMod)
	r("POST", `/room/([\w-]+)/(permissions|futurePermissions)/(\w+)`, sogsPermissions)
	r("GET", `/room/([\w-]+)/permissions`, sogsAnyError)
	r("DELETE", `/room/([\w-]+)/all/(\w+)`, sogsDeleteAll)
	r("DELETE", `/rooms/all/(\w+)`, sogsDeleteAll)
	r("POST", `/(batch|sequence)`, sogsBatch)
}

func (x *sogsExchange) replay() {
	t := x.t
	for _, rt := range sogsRoutes {
		if rt.method != x.l.Method {
			continue
		}
		m := rt.re.FindStringSubmatch(x.path)
		if m == nil {
			continue
		}
		x.newClient(nil)
		err := rt.call(x, m)
		x.checkBuilt()
		x.checkOutcome(err)
		return
	}
	t.Fatalf("no SDK call makes %s %s", x.l.Method, x.path)
}

// checkOutcome checks the error side: a non-2xx status must be an *HTTPError with that status,
// the body kept, matching the sentinel for the status; a 2xx answer must not be an error.
func (x *sogsExchange) checkOutcome(err error) {
	t := x.t
	st := x.l.Status
	if st >= 200 && st <= 299 || (st == 304 && strings.Contains(x.path, "/since/")) {
		if err != nil {
			t.Fatalf("recorded %d, the SDK says: %v", st, err)
		}
		return
	}
	var he *community.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("recorded %d, the SDK says: %v", st, err)
	}
	want := x.respBody
	if len(want) > 512 {
		want = want[:512]
	}
	if he.Status != st || !bytes.Equal(he.Body, want) {
		t.Fatalf("HTTPError %d %q, recorded %d %q", he.Status, he.Body, st, x.respBody)
	}
	sentinels := map[int][]error{
		304: {community.ErrNotModified}, 400: {community.ErrBadRequest}, 401: {community.ErrUnauthorized},
		403: {community.ErrForbidden}, 404: {community.ErrNotFound}, 412: {community.ErrMissingCapability},
		425: {community.ErrTooEarly}, 429: {community.ErrRateLimited}, 500: {community.ErrServer},
	}[st]
	if sentinels == nil {
		t.Fatalf("no sentinel expected for %d", st)
	}
	if st == 425 {
		// pysogs says which of the two it is in the body.
		if strings.Contains(string(x.respBody), "X-SOGS-Nonce cannot be reused") {
			sentinels = append(sentinels, community.ErrNonceReused)
		} else {
			sentinels = append(sentinels, community.ErrClockSkew)
		}
	}
	for _, s := range sentinels {
		if !errors.Is(err, s) {
			t.Fatalf("%v does not match %v", err, s)
		}
	}
	if strings.ContainsAny(err.Error(), "<>") {
		t.Fatalf("the message shows markup: %v", err)
	}
}

// Independent reading of the recorded JSON.

// jget reads into recorded JSON.
var jget = realpeers.Get

func jint(v any) int64 {
	n, ok := v.(json.Number)
	if !ok {
		return 0
	}
	i, err := n.Int64()
	if err != nil {
		f, _ := n.Float64()
		return int64(f)
	}
	return i
}

func jfloat(v any) float64 {
	n, _ := v.(json.Number)
	f, _ := n.Float64()
	return f
}

func jstr(v any) string { s, _ := v.(string); return s }

// jbool is a pysogs boolean: true/false or 1/0.
func jbool(v any) bool {
	switch b := v.(type) {
	case bool:
		return b
	case json.Number:
		return b.String() != "0"
	}
	return false
}

func jtime(v any) time.Time {
	f := jfloat(v)
	if f == 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(math.Round(f * 1000)))
}

func (x *sogsExchange) fail(format string, args ...any) {
	x.t.Helper()
	x.t.Fatalf(format, args...)
}

func ids(l []crypto.AccountID) []string {
	out := []string{}
	for _, id := range l {
		out = append(out, id.String())
	}
	return out
}

func jstrs(v any) []string {
	out := []string{}
	l, _ := v.([]any)
	for _, s := range l {
		out = append(out, jstr(s))
	}
	return out
}

// checkRoomInfo compares a parsed room with the recorded object.
func (x *sogsExchange) checkRoomInfo(r *community.RoomInfo, raw any) {
	x.t.Helper()
	if r.Token != jstr(jget(raw, "token")) || r.Name != jstr(jget(raw, "name")) || r.Description != jstr(jget(raw, "description")) ||
		r.InfoUpdates != jint(jget(raw, "info_updates")) || r.MessageSequence != jint(jget(raw, "message_sequence")) ||
		r.ActiveUsers != jint(jget(raw, "active_users")) || r.ImageID != jint(jget(raw, "image_id")) ||
		r.ActiveUsersCutoff != time.Duration(jint(jget(raw, "active_users_cutoff")))*time.Second ||
		!r.Created.Equal(jtime(jget(raw, "created"))) {
		x.fail("room %+v\nrecorded %v", r, raw)
	}
	for _, f := range []struct {
		got  bool
		name string
	}{{r.Read, "read"}, {r.Write, "write"}, {r.Upload, "upload"}, {r.Moderator, "moderator"}, {r.Admin, "admin"},
		{r.GlobalModerator, "global_moderator"}, {r.GlobalAdmin, "global_admin"}, {r.DefaultRead, "default_read"},
		{r.DefaultAccessible, "default_accessible"}, {r.DefaultWrite, "default_write"}, {r.DefaultUpload, "default_upload"}} {
		if f.got != jbool(jget(raw, f.name)) {
			x.fail("room %s = %v, recorded %v", f.name, f.got, jget(raw, f.name))
		}
	}
	for _, l := range []struct {
		got  []crypto.AccountID
		name string
	}{{r.Moderators, "moderators"}, {r.Admins, "admins"}, {r.HiddenModerators, "hidden_moderators"}, {r.HiddenAdmins, "hidden_admins"}} {
		if !slices.Equal(ids(l.got), jstrs(jget(raw, l.name))) {
			x.fail("room %s = %v, recorded %v", l.name, ids(l.got), jget(raw, l.name))
		}
	}
	pins, _ := jget(raw, "pinned_messages").([]any)
	if len(r.Pinned) != len(pins) {
		x.fail("pins %+v, recorded %v", r.Pinned, pins)
	}
	for i, p := range pins {
		if r.Pinned[i].ID != jint(jget(p, "id")) || r.Pinned[i].PinnedBy.String() != jstr(jget(p, "pinned_by")) ||
			!r.Pinned[i].PinnedAt.Equal(jtime(jget(p, "pinned_at"))) {
			x.fail("pin %+v, recorded %v", r.Pinned[i], p)
		}
	}
}

// verifiedHere checks a post signature with crypto/ed25519: under a 15 (or 00) key itself, or,
// for a 05 author, under the Ed25519 key keys.json gives that account.
func (x *sogsExchange) verifiedHere(author string, data, sig []byte) bool {
	var pub []byte
	switch author[:2] {
	case "15":
		pub, _ = hex.DecodeString(author[2:])
	case "05":
		a := x.w.byID05(author)
		if a == nil {
			x.fail("no account in keys.json is %s", author)
		}
		ed := a.keys.Ed25519PublicKey()
		pub = ed[:]
	}
	return len(pub) == 32 && len(sig) == 64 && ed25519.Verify(pub, data, sig)
}

// checkRows compares parsed messages and skipped rows with the recorded rows.
func (x *sogsExchange) checkRows(raw any, msgs []community.Message, skipped []community.Skipped, maxSeqno int64) {
	x.t.Helper()
	rows, ok := raw.([]any)
	if !ok {
		x.fail("recorded rows are not a list: %v", raw)
	}
	if len(msgs)+len(skipped) != len(rows) {
		x.fail("%d messages + %d skipped for %d rows", len(msgs), len(skipped), len(rows))
	}
	var top int64
	mi, si := 0, 0
	for _, row := range rows {
		id, seqno := jint(jget(row, "id")), jint(jget(row, "seqno"))
		top = max(top, seqno)
		obj := row.(map[string]any)
		data, hasData := obj["data"]
		var dataBytes, sig []byte
		if s, ok := data.(string); ok {
			dataBytes, _ = base64.StdEncoding.DecodeString(s)
			sig, _ = base64.StdEncoding.DecodeString(jstr(obj["signature"]))
		}
		if hasData && data != nil && !x.verifiedHere(jstr(obj["session_id"]), dataBytes, sig) {
			if si >= len(skipped) || skipped[si].ID != id || skipped[si].Seqno != seqno || !errors.Is(skipped[si].Err, community.ErrInvalidSignature) {
				x.fail("row %d has a bad signature: want it skipped, got %+v", id, skipped)
			}
			si++
			continue
		}
		if mi >= len(msgs) {
			x.fail("row %d missing from the messages", id)
		}
		m := msgs[mi]
		mi++
		if m.ID != id || m.Seqno != seqno {
			x.fail("message %d/%d, recorded %d/%d", m.ID, m.Seqno, id, seqno)
		}
		switch {
		case !hasData:
			if !m.ReactionsOnly {
				x.fail("row %d is reaction-only: %+v", id, m)
			}
		case data == nil:
			if !m.Deleted || m.Data != nil || !m.Edited.Equal(jtime(obj["edited"])) || m.Signature != ([64]byte{}) {
				x.fail("row %d is a deletion: %+v", id, m)
			}
		default:
			if !bytes.Equal(m.Data, dataBytes) || !bytes.Equal(m.Signature[:], sig) || m.Author.String() != jstr(obj["session_id"]) ||
				!m.Posted.Equal(jtime(obj["posted"])) || !m.Edited.Equal(jtime(obj["edited"])) || m.Deleted {
				x.fail("row %d: %+v\nrecorded %v", id, m, obj)
			}
			if m.Whisper != jbool(obj["whisper"]) || m.WhisperMods != jbool(obj["whisper_mods"]) || idOrEmpty(m.WhisperTo) != jstr(obj["whisper_to"]) {
				x.fail("row %d whisper %v/%v/%s, recorded %v/%v/%v", id, m.Whisper, m.WhisperMods, m.WhisperTo, obj["whisper"], obj["whisper_mods"], obj["whisper_to"])
			}
		}
		reacts, _ := obj["reactions"].(map[string]any)
		if len(m.Reactions) != len(reacts) {
			x.fail("row %d reactions %+v, recorded %v", id, m.Reactions, reacts)
		}
		for emoji, r := range reacts {
			got, ok := m.Reactions[emoji]
			if !ok || int64(got.Count) != jint(jget(r, "count")) || int64(got.Index) != jint(jget(r, "index")) ||
				got.You != jbool(jget(r, "you")) || !slices.Equal(ids(got.Reactors), jstrs(jget(r, "reactors"))) {
				x.fail("row %d reaction %s %+v, recorded %v", id, emoji, got, r)
			}
		}
	}
	if maxSeqno != top {
		x.fail("MaxSeqno %d, recorded rows reach %d", maxSeqno, top)
	}
}

func idOrEmpty(id crypto.AccountID) string {
	if id.IsZero() {
		return ""
	}
	return id.String()
}

func (x *sogsExchange) ok() bool { return x.l.Status >= 200 && x.l.Status <= 299 }

func parseID(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// The calls, one per endpoint.

func sogsCapabilities(x *sogsExchange, _ []string) error {
	var req []string
	if q, err := url.ParseQuery(x.query); err == nil && q.Has("required") {
		req = strings.Split(q.Get("required"), ",")
	}
	caps, err := x.client.Capabilities(context.Background(), req...)
	if err == nil && !slices.Equal(caps, jstrs(jget(x.raw, "capabilities"))) {
		x.fail("capabilities %v, recorded %v", caps, x.raw)
	}
	return err
}

func sogsRooms(x *sogsExchange, _ []string) error {
	rooms, err := x.client.Rooms(context.Background())
	if err == nil {
		l, _ := x.raw.([]any)
		if len(rooms) != len(l) {
			x.fail("%d rooms, recorded %d", len(rooms), len(l))
		}
		for i := range rooms {
			x.checkRoomInfo(&rooms[i], l[i])
		}
	}
	return err
}

func sogsRoom(x *sogsExchange, m []string) error {
	r, err := x.client.Room(context.Background(), m[1])
	if err == nil {
		x.checkRoomInfo(r, x.raw)
	}
	return err
}

func sogsUpdateRoom(x *sogsExchange, m []string) error {
	var u community.RoomUpdate
	if err := json.Unmarshal(x.reqBody, &u); err != nil {
		x.fail("room update %s: %v", x.reqBody, err)
	}
	n, err := x.client.UpdateRoom(context.Background(), m[1], u)
	if err == nil && n != jint(jget(x.raw, "info_updates")) {
		x.fail("info_updates %d, recorded %v", n, x.raw)
	}
	return err
}

func (x *sogsExchange) checkPollInfo(p *community.PollInfo, raw any) {
	x.t.Helper()
	if p.Token != jstr(jget(raw, "token")) || p.ActiveUsers != jint(jget(raw, "active_users")) ||
		p.Read != jbool(jget(raw, "read")) || p.Write != jbool(jget(raw, "write")) || p.Upload != jbool(jget(raw, "upload")) ||
		p.Moderator != jbool(jget(raw, "moderator")) || p.Admin != jbool(jget(raw, "admin")) ||
		(p.Details == nil) != (jget(raw, "details") == nil) {
		x.fail("pollInfo %+v, recorded %v", p, raw)
	}
	if p.Details != nil {
		x.checkRoomInfo(p.Details, jget(raw, "details"))
	}
}

func sogsPollInfo(x *sogsExchange, m []string) error {
	p, err := x.client.PollInfo(context.Background(), m[1], parseID(m[2]))
	if err == nil {
		x.checkPollInfo(p, x.raw)
	}
	return err
}

func sogsMessages(x *sogsExchange, m []string) error {
	q, _ := url.ParseQuery(x.query)
	opts := &community.MessageOptions{}
	if v := q.Get("limit"); v != "" {
		opts.Limit, _ = strconv.Atoi(v)
	}
	if v := q.Get("reactors"); v != "" {
		opts.Reactors, _ = strconv.Atoi(v)
		if opts.Reactors == 0 {
			opts.Reactors = -1 // "none", which the SDK sends as 0
		}
	}
	ctx := context.Background()
	var page *community.Page
	var err error
	switch m[2] {
	case "recent":
		page, err = x.client.Recent(ctx, m[1], opts)
	case "before":
		page, err = x.client.Before(ctx, m[1], parseID(m[3]), opts)
	case "since":
		// (A hand-made since without t=r, which the SDK never asks, answers the same list.)
		page, err = x.client.Since(ctx, m[1], parseID(m[3]), opts)
	}
	if err == nil {
		x.checkRows(x.raw, page.Messages, page.Skipped, page.MaxSeqno)
	}
	return err
}

func sogsMessage(x *sogsExchange, m []string) error {
	msg, err := x.client.Message(context.Background(), m[1], parseID(m[2]))
	return x.checkOne(msg, err)
}

// checkOne checks the answer of a call that returns one message: the recorded row, or
// ErrInvalidSignature when its signature does not verify (servers do not check them).
func (x *sogsExchange) checkOne(msg *community.Message, err error) error {
	x.t.Helper()
	if !x.ok() {
		return err
	}
	data, _ := base64.StdEncoding.DecodeString(jstr(jget(x.raw, "data")))
	sig, _ := base64.StdEncoding.DecodeString(jstr(jget(x.raw, "signature")))
	if !x.verifiedHere(jstr(jget(x.raw, "session_id")), data, sig) {
		if !errors.Is(err, community.ErrInvalidSignature) {
			x.fail("a row whose signature does not verify: %v", err)
		}
		return nil
	}
	if err == nil {
		x.checkRows([]any{x.raw}, []community.Message{*msg}, nil, msg.Seqno)
	}
	return err
}

type sogsPostBody struct {
	Data        string  `json:"data"`
	Signature   string  `json:"signature"`
	WhisperTo   string  `json:"whisper_to"`
	WhisperMods bool    `json:"whisper_mods"`
	Files       []int64 `json:"files"`
}

// postContent is what the SDK was asked to post: the recorded data without its padding (which
// the SDK adds back the same way).
func (x *sogsExchange) postContent() ([]byte, *community.PostOptions) {
	var b sogsPostBody
	_ = json.Unmarshal(x.reqBody, &b)
	data, err := base64.StdEncoding.DecodeString(b.Data)
	if err != nil || len(data) == 0 {
		if x.sdkMade {
			x.fail("post data %q", b.Data)
		}
		return []byte("not what was sent"), nil // hand-made invalid data: the reply is what matters
	}
	content := community.Unpad(data)
	if x.sdkMade && !bytes.Equal(community.Pad(content), data) {
		x.fail("the SDK pads the content to other bytes than it sent")
	}
	opts := &community.PostOptions{WhisperMods: b.WhisperMods, Files: b.Files}
	if b.WhisperTo != "" {
		id, err := crypto.ParseAccountID(b.WhisperTo)
		if err != nil {
			x.fail("whisper_to %q", b.WhisperTo)
		}
		opts.WhisperTo = &id
	}
	return content, opts
}

func sogsPost(x *sogsExchange, m []string) error {
	content, opts := x.postContent()
	msg, err := x.client.Post(context.Background(), m[1], content, opts)
	if err = x.checkOne(msg, err); err == nil && msg != nil {
		if x.sdkMade && (msg.WhisperMods != opts.WhisperMods || (opts.WhisperTo != nil) != !msg.WhisperTo.IsZero()) {
			x.fail("whisper of the post %+v", msg)
		}
	}
	return err
}

func sogsEdit(x *sogsExchange, m []string) error {
	content, opts := x.postContent()
	return x.client.Edit(context.Background(), m[1], parseID(m[2]), content, opts.Files)
}

func sogsDelete(x *sogsExchange, m []string) error {
	return x.client.Delete(context.Background(), m[1], parseID(m[2]))
}

func sogsReact(x *sogsExchange, m []string) error {
	ctx := context.Background()
	var done bool
	var seqno int64
	var err error
	key := "added"
	if x.l.Method == "PUT" {
		done, seqno, err = x.client.React(ctx, m[1], parseID(m[2]), m[3])
	} else {
		key = "removed"
		done, seqno, err = x.client.Unreact(ctx, m[1], parseID(m[2]), m[3])
	}
	if err == nil && (done != jbool(jget(x.raw, key)) || seqno != jint(jget(x.raw, "seqno"))) {
		x.fail("%s %v seqno %d, recorded %v", key, done, seqno, x.raw)
	}
	return err
}

func sogsClearReactions(x *sogsExchange, m []string) error {
	n, err := x.client.ClearReactions(context.Background(), m[1], parseID(m[2]), m[3])
	if err == nil && int64(n) != jint(jget(x.raw, "removed")) {
		x.fail("removed %d, recorded %v", n, x.raw)
	}
	return err
}

func sogsReactors(x *sogsExchange, m []string) error {
	limit := 0
	if q, _ := url.ParseQuery(x.query); q.Has("limit") {
		limit, _ = strconv.Atoi(q.Get("limit"))
	}
	rs, err := x.client.Reactors(context.Background(), m[1], parseID(m[2]), m[3], limit)
	if err == nil {
		l, _ := x.raw.([]any)
		if len(rs) != len(l) {
			x.fail("%d reactors, recorded %v", len(rs), l)
		}
		for i, r := range rs {
			if r.ID.String() != jstr(jget(l[i], 0)) || !r.At.Equal(jtime(jget(l[i], 1))) {
				x.fail("reactor %+v, recorded %v", r, l[i])
			}
		}
	}
	return err
}

func sogsPin(x *sogsExchange, m []string) error {
	ctx := context.Background()
	var n int64
	var err error
	switch {
	case m[2] == "pin":
		n, err = x.client.Pin(ctx, m[1], parseID(m[3]))
	case m[3] == "all":
		n, err = x.client.UnpinAll(ctx, m[1])
	default:
		n, err = x.client.Unpin(ctx, m[1], parseID(m[3]))
	}
	if err == nil && n != jint(jget(x.raw, "info_updates")) {
		x.fail("info_updates %d, recorded %v", n, x.raw)
	}
	return err
}

func sogsUpload(x *sogsExchange, m []string) error {
	name := ""
	if cd := x.l.ReqHeaders["Content-Disposition"]; cd != "" {
		_, enc, _ := strings.Cut(cd, "filename*=UTF-8''")
		var err error
		if name, err = url.PathUnescape(enc); err != nil {
			x.fail("Content-Disposition %q", cd)
		}
	}
	data := x.reqBody
	if x.l.ReqBodyTruncated {
		data = bytes.Repeat([]byte{1}, x.l.ReqLen) // only the reply matters here (see checkSignature)
	}
	id, err := x.client.UploadFile(context.Background(), m[1], data, name)
	if err == nil && id != jint(jget(x.raw, "id")) {
		x.fail("file id %d, recorded %v", id, x.raw)
	}
	return err
}

func sogsDownload(x *sogsExchange, m []string) error {
	data, name, err := x.client.DownloadFile(context.Background(), m[1], parseID(m[2]))
	if err == nil {
		cd := x.l.RespHeaders["Content-Disposition"]
		_, enc, _ := strings.Cut(cd, "filename*=UTF-8''")
		want, _ := url.PathUnescape(enc)
		if !bytes.Equal(data, x.respBody) || name != want {
			x.fail("download %d bytes named %q, recorded %d bytes named %q", len(data), name, len(x.respBody), want)
		}
	}
	return err
}

func (x *sogsExchange) checkDMs(dms []community.DM, skipped []community.Skipped, raw any, withMessage bool) {
	x.t.Helper()
	l, _ := raw.([]any)
	if len(skipped) != 0 || len(dms) != len(l) {
		x.fail("%d DMs + %d skipped, recorded %v", len(dms), len(skipped), raw)
	}
	for i, d := range dms {
		x.checkDM(&d, l[i], withMessage)
	}
}

func (x *sogsExchange) checkDM(d *community.DM, raw any, withMessage bool) {
	x.t.Helper()
	msg, _ := base64.StdEncoding.DecodeString(jstr(jget(raw, "message")))
	if d.ID != jint(jget(raw, "id")) || d.Sender.String() != jstr(jget(raw, "sender")) || d.Recipient.String() != jstr(jget(raw, "recipient")) ||
		!d.Posted.Equal(jtime(jget(raw, "posted_at"))) || !d.Expires.Equal(jtime(jget(raw, "expires_at"))) ||
		(withMessage && !bytes.Equal(d.Message, msg)) || (!withMessage && d.Message != nil) {
		x.fail("DM %+v, recorded %v", d, raw)
	}
}

func sogsSendDM(x *sogsExchange, m []string) error {
	to, err := crypto.ParseAccountID(m[1])
	if err != nil {
		x.fail("recipient %s", m[1])
	}
	var b struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(x.reqBody, &b)
	data, _ := base64.StdEncoding.DecodeString(b.Message)
	// The sender reads their own DM back (as from the outbox) to get the content, and the
	// client encrypts it again with the recorded nonce (the last 24 bytes).
	kp, err := blinding.Blind15KeyPair(x.acct.keys, x.server.X25519)
	if err != nil {
		x.fail("%v", err)
	}
	plain, from, err := blinding.DecryptDM(x.acct.keys, x.server.X25519, kp.ID(), to, data)
	if err != nil || from != x.acct.keys.AccountID() || len(data) < 24 {
		x.fail("the sender cannot read their DM: %v", err)
	}
	x.newClient(data[len(data)-24:])
	d, err := x.client.SendDM(context.Background(), to, community.Unpad(plain))
	if err == nil {
		x.checkDM(d, x.raw, false)
	}
	return err
}

func sogsBox(x *sogsExchange, m []string) error {
	since := parseID(m[2])
	ctx := context.Background()
	var dms []community.DM
	var skipped []community.Skipped
	var err error
	if m[1] == "inbox" {
		dms, skipped, err = x.client.Inbox(ctx, since)
	} else {
		dms, skipped, err = x.client.Outbox(ctx, since)
	}
	if err == nil && x.l.Status != 304 {
		x.checkDMs(dms, skipped, x.raw, true)
	}
	if err == nil && x.l.Status == 304 && (len(dms) != 0 || len(skipped) != 0) {
		x.fail("304 gave %d DMs", len(dms))
	}
	return err
}

func sogsClearInbox(x *sogsExchange, _ []string) error {
	n, err := x.client.ClearInbox(context.Background())
	if err == nil && int64(n) != jint(jget(x.raw, "deleted")) {
		x.fail("deleted %d, recorded %v", n, x.raw)
	}
	return err
}

func (x *sogsExchange) target(s string) crypto.AccountID {
	id, err := crypto.ParseAccountID(s)
	if err != nil {
		x.fail("user %q: %v", s, err)
	}
	return id
}

func sogsUserMod(x *sogsExchange, m []string) error {
	var b struct {
		Rooms     []string `json:"rooms"`
		Global    bool     `json:"global"`
		Timeout   float64  `json:"timeout"`
		Moderator bool     `json:"moderator"`
		Admin     bool     `json:"admin"`
		Visible   *bool    `json:"visible"`
	}
	if err := json.Unmarshal(x.reqBody, &b); err != nil {
		x.fail("body %s", x.reqBody)
	}
	ctx := context.Background()
	user := x.target(m[1])
	scope := community.Scope{Rooms: b.Rooms, Global: b.Global}
	switch m[2] {
	case "ban":
		return x.client.Ban(ctx, user, scope, time.Duration(b.Timeout*float64(time.Second)))
	case "unban":
		return x.client.Unban(ctx, user, scope)
	}
	upd, err := x.client.SetModerator(ctx, user, scope, community.ModeratorChange{Moderator: b.Moderator, Admin: b.Admin, Visible: b.Visible})
	if err == nil {
		want, _ := jget(x.raw, "info_updates").(map[string]any)
		if len(upd) != len(want) {
			x.fail("info_updates %v, recorded %v", upd, x.raw)
		}
		for k, v := range want {
			if upd[k] != jint(v) {
				x.fail("info_updates %v, recorded %v", upd, x.raw)
			}
		}
	}
	return err
}

func sogsPermissions(x *sogsExchange, m []string) error {
	var b map[string]json.RawMessage
	if err := json.Unmarshal(x.reqBody, &b); err != nil {
		x.fail("body %s", x.reqBody)
	}
	var p community.PermissionChange
	for k, dst := range map[string]**bool{"read": &p.Read, "accessible": &p.Accessible, "write": &p.Write, "upload": &p.Upload} {
		if v, ok := b[k]; ok {
			var f bool
			_ = json.Unmarshal(v, &f)
			*dst = &f
		}
	}
	ctx := context.Background()
	if m[2] == "permissions" {
		return x.client.SetPermissions(ctx, m[1], x.target(m[3]), p)
	}
	var in float64
	_ = json.Unmarshal(b["in"], &in)
	return x.client.SetFuturePermissions(ctx, m[1], x.target(m[3]), p, time.Duration(in*float64(time.Second)))
}

// sogsAnyError serves the refusals of endpoints the SDK has no call for (the moderators' GET
// of a room's permissions): the error typing does not depend on the call, so a room read
// carries the recorded answer.
func sogsAnyError(x *sogsExchange, m []string) error {
	if x.ok() {
		x.fail("no SDK call reads %s", x.path)
	}
	_, err := x.client.Room(context.Background(), m[1])
	x.tr.reqs = nil
	return err
}

func sogsDeleteAll(x *sogsExchange, m []string) error {
	ctx := context.Background()
	if len(m) == 3 {
		return x.client.DeleteAllFrom(ctx, m[1], x.target(m[2]))
	}
	rooms, err := x.client.DeleteAllEverywhere(ctx, x.target(m[1]))
	if err == nil {
		want, _ := jget(x.raw, "rooms").(map[string]any)
		if len(rooms) != len(want) {
			x.fail("rooms %v, recorded %v", rooms, x.raw)
		}
		for k, v := range want {
			if int64(rooms[k]) != jint(v) {
				x.fail("rooms %v, recorded %v", rooms, x.raw)
			}
		}
	}
	return err
}

var pollSubs = regexp.MustCompile(`^/room/([\w-]+)/(pollInfo/(\d+)|messages/since/(\d+)\?t=r&reactors=(\d+)&limit=(\d+))$`)

func sogsBatch(x *sogsExchange, m []string) error {
	var subs []struct {
		Method string          `json:"method"`
		Path   string          `json:"path"`
		JSON   json.RawMessage `json:"json"`
		B64    *string         `json:"b64"`
	}
	if err := json.Unmarshal(x.reqBody, &subs); err != nil {
		x.fail("batch body: %v", err)
	}
	if m[1] == "batch" {
		if req, ok := asPoll(subs); ok {
			return x.poll(req)
		}
	}
	reqs := make([]community.SubRequest, len(subs))
	for i, s := range subs {
		reqs[i] = community.SubRequest{Method: s.Method, Path: s.Path}
		if s.JSON != nil {
			reqs[i].JSON = s.JSON
		}
		if s.B64 != nil {
			reqs[i].Body, _ = base64.StdEncoding.DecodeString(*s.B64)
		}
	}
	ctx := context.Background()
	var out []community.SubResponse
	var err error
	if m[1] == "batch" {
		out, err = x.client.Batch(ctx, reqs)
	} else {
		out, err = x.client.Sequence(ctx, reqs)
	}
	if err == nil {
		x.checkSubResponses(reqs, out)
	}
	return err
}

// asPoll recognises the official clients' poll, which Client.Poll makes.
func asPoll(subs []struct {
	Method string          `json:"method"`
	Path   string          `json:"path"`
	JSON   json.RawMessage `json:"json"`
	B64    *string         `json:"b64"`
}) (community.PollRequest, bool) {
	var req community.PollRequest
	if len(subs) < 3 || subs[0].Path != "/capabilities" {
		return req, false
	}
	i := 1
	for ; i+1 < len(subs); i += 2 {
		a, b := pollSubs.FindStringSubmatch(subs[i].Path), pollSubs.FindStringSubmatch(subs[i+1].Path)
		if a == nil || b == nil || a[3] == "" || b[4] == "" || a[1] != b[1] {
			break
		}
		req.Rooms = append(req.Rooms, community.RoomCursor{Token: a[1], InfoUpdates: parseID(a[3]), Seqno: parseID(b[4])})
		req.Reactors, req.Limit = int(parseID(b[5])), int(parseID(b[6]))
	}
	rest := subs[i:]
	if len(rest) == 2 {
		in, ok1 := strings.CutPrefix(rest[0].Path, "/inbox/since/")
		out, ok2 := strings.CutPrefix(rest[1].Path, "/outbox/since/")
		if !ok1 || !ok2 {
			return req, false
		}
		req.DMs, req.InboxSince, req.OutboxSince = true, parseID(in), parseID(out)
	} else if len(rest) != 0 {
		return req, false
	}
	return req, len(req.Rooms) > 0
}

// subResult is a recorded subresponse.
func (x *sogsExchange) subResult(i int) (code int, body any) {
	sub := jget(x.raw, i)
	return int(jint(jget(sub, "code"))), jget(sub, "body")
}

func (x *sogsExchange) checkSubResponses(reqs []community.SubRequest, out []community.SubResponse) {
	l, _ := x.raw.([]any)
	if len(out) != len(l) {
		x.fail("%d subresponses, recorded %d", len(out), len(l))
	}
	for i, s := range out {
		code, body := x.subResult(i)
		if s.Code != code {
			x.fail("subresponse %d: code %d, recorded %d", i, s.Code, code)
		}
		err := s.Err(reqs[i])
		if (err == nil) != (code >= 200 && code <= 299) {
			x.fail("subresponse %d (%d): %v", i, code, err)
		}
		b, berr := s.Bytes()
		if berr != nil {
			x.fail("subresponse %d body: %v", i, berr)
		}
		if str, isStr := body.(string); isStr && !s.IsJSON() {
			want, _ := base64.StdEncoding.DecodeString(str)
			if !bytes.Equal(b, want) {
				x.fail("subresponse %d body %q, recorded %q", i, b, want)
			}
			var he *community.HTTPError
			if err != nil && (!errors.As(err, &he) || !bytes.Equal(he.Body, want)) {
				x.fail("subresponse %d error %v", i, err)
			}
		}
	}
}

func (x *sogsExchange) poll(req community.PollRequest) error {
	res, err := x.client.Poll(context.Background(), req)
	if err != nil {
		return err
	}
	if !slices.Equal(res.Capabilities, jstrs(jget(x.raw, 0, "body", "capabilities"))) {
		x.fail("capabilities %v", res.Capabilities)
	}
	for i, rp := range res.Rooms {
		infoCode, info := x.subResult(1 + 2*i)
		msgCode, rows := x.subResult(2 + 2*i)
		if infoCode != 200 || msgCode != 200 {
			if rp.Err == nil {
				x.fail("room %s: recorded %d/%d, no error", rp.Token, infoCode, msgCode)
			}
			continue
		}
		if rp.Err != nil {
			x.fail("room %s: %v", rp.Token, rp.Err)
		}
		x.checkPollInfo(rp.Info, info)
		x.checkRows(rows, rp.Messages, rp.Skipped, rp.MaxSeqno)
		if rp.More != (len(rows.([]any)) >= req.Limit) {
			x.fail("More %v with %d rows", rp.More, len(rows.([]any)))
		}
	}
	if req.DMs {
		n := 1 + 2*len(req.Rooms)
		for k, box := range [][]community.DM{res.Inbox, res.Outbox} {
			code, body := x.subResult(n + k)
			last := []int64{res.InboxLast, res.OutboxLast}[k]
			switch code {
			case 304:
				if len(box) != 0 || last != 0 || body != "" {
					x.fail("304 box %d: %v (recorded body %q)", k, box, body)
				}
			case 200:
				x.checkDMs(box, nil, body, true)
				var top int64
				for _, d := range box {
					top = max(top, d.ID)
				}
				if last != top {
					x.fail("box %d last %d, want %d", k, last, top)
				}
			default:
				x.fail("box %d: recorded %d", k, code)
			}
		}
		if res.DMErr != nil || len(res.DMSkipped) != 0 {
			x.fail("DMs: %v %v", res.DMErr, res.DMSkipped)
		}
	}
	return nil
}
