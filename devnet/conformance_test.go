package devnet

import (
	"bytes"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/internal/realpeers"
)

// TestConformanceWithRealStorageServer replays the real storage server's transcript
// (testdata/real/storage, recorded from oxen-storage-server v2.6.2) against devnet, request by
// request and in order, with the devnet clock set to the time of each recorded exchange, and
// checks that devnet answers with the same status, the same error text, and a JSON body of the
// same shape (keys and JSON value types, recursively). The checks compare with the recording
// only; nothing here calls the SDK's client packages.
//
// Requests are sent verbatim (same accounts, keys, timestamps and signatures: the clock makes
// them valid again), direct ones to /storage_rpc/v1 and onion ones through a 3-hop devnet path
// with the recorded encryption. The recorded network had 6 nodes in 3 swarms; devnet's 20 nodes
// form 2, so a recorded node is mapped to a devnet node by its role: a member of the request's
// account's swarm, or (for the recorded 421s and "another swarm" cases) a node of another swarm.
func TestConformanceWithRealStorageServer(t *testing.T) {
	lines := loadRealStorage(t)
	clock := newFakeClock(time.UnixMilli(lines[0].time))
	tn := startNet(t, WithNodes(20), WithSeed(12), WithClock(clock.Now))
	for i, l := range lines {
		if reason, ok := notReproducible[l.Case]; ok {
			t.Logf("line %d (%s) not replayed: %s", i+1, l.Case, reason)
			continue
		}
		t.Run(fmt.Sprintf("%03d %s", i+1, l.Case), func(t *testing.T) {
			clock.set(time.UnixMilli(l.time))
			tn.t = t
			replayLine(t, tn, l)
		})
	}
}

// notReproducible are the recorded cases devnet cannot replay, by case name.
var notReproducible = map[string]string{
	"oxend_request ons_resolve (fake oxend answers UNKNOWNCOMMAND)":             "the recording's oxend was a stand-in without ONS; devnet's oxend resolves names",
	"store ns0, repeat of an identical store (earlier run; request not logged)": "the request was not recorded",
}

// realStorageLine is a line of the transcript and the devnet clock for its exchange (ms).
type realStorageLine struct {
	realpeers.StorageLine
	time int64
}

func loadRealStorage(t *testing.T) []realStorageLine {
	t.Helper()
	recorded, err := realpeers.ReadLines[realpeers.StorageLine](filepath.Join(realpeers.Dir(".."), "storage", "oxen-storage-server-v2.6.2.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]realStorageLine, len(recorded))
	var last int64
	for i, l := range recorded {
		// The time of an exchange is the "t" of its reply, else that of the exchange before.
		var b struct {
			T int64 `json:"t"`
		}
		if json.Unmarshal(l.Body, &b) == nil && b.T > 0 {
			last = b.T
		}
		out[i] = realStorageLine{l, last}
	}
	for i := range out { // lines before the first "t" take the first one
		if out[i].time != 0 {
			break
		}
		for _, l := range out {
			if l.time != 0 {
				out[i].time = l.time
				break
			}
		}
	}
	return out
}

// repeatsEarlierStore reports whether the line is a store whose recorded reply says the members
// already had the message.
func (l realStorageLine) repeatsEarlierStore() bool {
	var b struct {
		Swarm map[string]map[string]any `json:"swarm"`
	}
	if l.Method == nil || *l.Method != "store" || json.Unmarshal(l.Body, &b) != nil {
		return false
	}
	for _, m := range b.Swarm {
		if _, ok := m["already"]; ok {
			return true
		}
	}
	return false
}

// deleteBeforeAllBug is the recorded outcome of a delete_before over all namespaces.
func (l realStorageLine) deleteBeforeAllBug() (DeleteBeforeAllBug, bool) {
	var r struct {
		Method string `json:"method"`
		Params struct {
			Namespace json.RawMessage `json:"namespace"`
		} `json:"params"`
	}
	if json.Unmarshal(l.Req, &r) != nil || r.Method != "delete_before" || string(r.Params.Namespace) != `"all"` {
		return 0, false
	}
	if l.Status == 500 {
		return DeleteBeforeAllFails, true
	}
	return DeleteBeforeAllUnlisted, true
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// request returns the body to send, restoring data the recording abbreviated.
func (l realStorageLine) request(t *testing.T) []byte {
	t.Helper()
	var raw string
	if json.Unmarshal(l.Req, &raw) == nil { // recorded as text: malformed JSON, or truncated
		m := regexp.MustCompile(`^data = base64 of (\d+) x 'A'$`).FindStringSubmatch(l.Note)
		if m == nil {
			return []byte(raw)
		}
		// {"method":"store","params":{... ,"data":"<truncated>"}: rebuild data from the note.
		i := strings.Index(raw, `"data":"`)
		if i < 0 {
			t.Fatalf("cannot restore %q", raw[:80])
		}
		n, _ := strconv.Atoi(m[1])
		return []byte(raw[:i] + `"data":"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("A"), n)) + `"}}`)
	}
	var req struct {
		Method string                     `json:"method"`
		Params map[string]json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(l.Req, &req); err != nil {
		t.Fatal(err)
	}
	if d, ok := req.Params["data"]; ok {
		m := regexp.MustCompile(`^"<base64 of (\d+) x 'A'`).FindSubmatch(d)
		if m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			req.Params["data"], _ = json.Marshal(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("A"), n)))
			b, _ := json.Marshal(req)
			return b
		}
	}
	return l.Req
}

// account is the pubkey the request is about (pubkey or pubKey; the first subrequest's for a
// batch).
func requestAccount(req []byte) (account, bool) {
	var r struct {
		Params struct {
			Pubkey   string `json:"pubkey"`
			PubKey   string `json:"pubKey"`
			Requests []struct {
				Params struct {
					Pubkey string `json:"pubkey"`
				} `json:"params"`
			} `json:"requests"`
		} `json:"params"`
	}
	if json.Unmarshal(req, &r) != nil {
		return account{}, false
	}
	pk := r.Params.Pubkey + r.Params.PubKey
	if pk == "" && len(r.Params.Requests) > 0 {
		pk = r.Params.Requests[0].Params.Pubkey
	}
	b, err := hex.DecodeString(pk)
	if err != nil || len(b) != 33 {
		return account{}, false
	}
	return account(b), true
}

// target maps the recorded node to a devnet node with the same role.
func (tn *tnet) target(t *testing.T, l realStorageLine, req []byte) *Node {
	acct, ok := requestAccount(req)
	if !ok {
		return tn.nw.Nodes()[0]
	}
	_, members := tn.nw.SwarmFor(acct)
	foreign := l.Status == 421 || strings.Contains(l.Case, "another swarm")
	if !foreign {
		if len(members) == 0 {
			t.Fatal("no swarm")
		}
		return members[0]
	}
	id, _ := tn.nw.SwarmFor(acct)
	for _, n := range tn.nw.Nodes() {
		if n.SwarmID() != id {
			return n
		}
	}
	t.Fatal("devnet has one swarm")
	return nil
}

func replayLine(t *testing.T, tn *tnet, l realStorageLine) {
	if strings.Contains(l.Case, "after revoke") {
		tn.revokeFor(t, l)
	}
	if l.Method != nil && *l.Method == "onion_req/v2" {
		replayUnknownHop(t, tn, l)
		return
	}
	req := l.request(t)
	n := tn.target(t, l, req)
	if l.repeatsEarlierStore() {
		// The nodes already had this message from a run before the recording: store it first.
		if st, b := tn.post(n, "/storage_rpc/v1", req); st != 200 {
			t.Fatalf("storing the message the nodes already had: %d %s", st, b)
		}
	}
	if bug, ok := l.deleteBeforeAllBug(); ok {
		// The recorded servers delete, then fail or report nothing (see DeleteBeforeAllBug);
		// devnet does when asked to.
		n.SetFaults(Faults{DeleteBeforeAll: bug})
		defer n.SetFaults(Faults{})
	}
	var status int
	var body []byte
	if l.Via == "direct" {
		status, body = tn.post(n, "/storage_rpc/v1", req)
	} else {
		et := encXChaCha
		if l.Via == "onion-gcm" {
			et = encGCM
		}
		plain := tn.onionRaw(t, et, n, req)
		if l.OnionReply != "" {
			var want any
			if err := json.Unmarshal([]byte(l.OnionReply), &want); err != nil {
				t.Fatal(err)
			}
			var got any
			if err := json.Unmarshal(plain, &got); err != nil {
				t.Fatalf("decrypted reply is not JSON: %q", plain)
			}
			// {"body":"<string>","status":N}: the inner body a string even when it holds JSON.
			if err := sameShape(want, got, "onion reply", ""); err != nil {
				t.Fatalf("%v\nrecorded %s\ndevnet   %s", err, l.OnionReply, plain)
			}
		}
		var rep struct {
			Status int             `json:"status"`
			Body   json.RawMessage `json:"body"`
		}
		if err := json.Unmarshal(plain, &rep); err != nil {
			t.Fatalf("decrypted reply %q", plain)
		}
		status = rep.Status
		var s string
		if json.Unmarshal(rep.Body, &s) == nil {
			body = []byte(s)
		} else {
			body = rep.Body
		}
	}
	compareReply(t, l, n, status, body)
}

func compareReply(t *testing.T, l realStorageLine, entry *Node, status int, body []byte) {
	t.Helper()
	if status != l.Status {
		t.Fatalf("status %d, recorded %d; devnet body %.300s", status, l.Status, body)
	}
	if text, ok := l.Text(); ok {
		if string(body) != text {
			t.Fatalf("body %q, recorded %q", body, text)
		}
		return
	}
	var want, got any
	if err := json.Unmarshal(l.Body, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("recorded a JSON body, devnet sent %.300q", body)
	}
	realEntry := ""
	if _, pfx, ok := strings.Cut(l.Node, "/"); ok {
		realEntry = pfx
	}
	ctx := shapeCtx{realEntry: realEntry, gotEntry: entry.edHex()}
	if l.Method != nil && *l.Method == "oxend_request" {
		// The recording's oxend was a stand-in that sent only what was asked for; real oxend
		// (and devnet) add fields such as "height". The wrapper is the storage server's.
		ctx.subsetAt = "body.result"
	}
	if err := ctx.same(want, got, "body", ""); err != nil {
		t.Fatalf("%v\nrecorded %.1500s\ndevnet   %.1500s", err, l.Body, body)
	}
}

// onionRaw sends req through three devnet hops to dest and returns the decrypted reply.
func (tn *tnet) onionRaw(t *testing.T, et encType, dest *Node, req []byte) []byte {
	t.Helper()
	outer, key := buildOnion(t, et, tn.pathTo(dest), frame(req, obj{"headers": ""}))
	st, b := tn.post(tn.pathTo(dest)[0], "/onion_req/v2", outer)
	if st != 200 {
		t.Fatalf("onion: outer status %d %s", st, b)
	}
	ct, err := base64.StdEncoding.DecodeString(string(b))
	if err != nil {
		t.Fatalf("onion reply not base64: %q", b)
	}
	pt, err := hopDecrypt(et, key, ct)
	if err != nil {
		t.Fatalf("onion reply does not decrypt: %v", err)
	}
	return pt
}

// replayUnknownHop sends an onion request whose third hop is a key no node has; the hop before
// it answers 502 "Next node not found: <key>" (plain text, outer status).
func replayUnknownHop(t *testing.T, tn *tnet, l realStorageLine) {
	nodes := tn.nw.Nodes()
	pub, priv, _ := ed25519.GenerateKey(crand.Reader)
	ghost := &Node{edPriv: priv}
	copy(ghost.edPub[:], pub)
	var ok bool
	if ghost.xPub, ok = edToX(ghost.edPub); !ok {
		t.Fatal("edToX")
	}
	et := encXChaCha
	if l.Via == "onion-gcm" {
		et = encGCM
	}
	outer, _ := buildOnion(t, et, []*Node{nodes[0], nodes[1], ghost, nodes[2]}, frame([]byte(`{"method":"info","params":{}}`), obj{"headers": ""}))
	st, b := tn.post(nodes[0], "/onion_req/v2", outer)
	text, _ := l.Text()
	want := regexp.MustCompile(`[0-9a-f]{64}`).ReplaceAllString(text, ghost.edHex())
	if st != l.Status || string(b) != want {
		t.Fatalf("got %d %q, recorded %d %q", st, b, l.Status, text)
	}
}

// revokeFor revokes, as the group's admin, the subaccount token of the recorded request (the
// recording revoked it just before, in a request it did not log).
func (tn *tnet) revokeFor(t *testing.T, l realStorageLine) {
	t.Helper()
	var req struct {
		Params struct {
			Pubkey     string `json:"pubkey"`
			Subaccount string `json:"subaccount"`
		} `json:"params"`
	}
	if err := json.Unmarshal(l.Req, &req); err != nil || req.Params.Subaccount == "" {
		t.Fatalf("no subaccount in %s", l.Req)
	}
	seed := groupAdminSeed(t, req.Params.Pubkey)
	admin := ed25519.NewKeyFromSeed(seed)
	tok, err := base64.StdEncoding.DecodeString(req.Params.Subaccount)
	if err != nil || len(tok) != 36 {
		t.Fatalf("token %q", req.Params.Subaccount)
	}
	ts := l.time
	sig := ed25519.Sign(admin, append([]byte("revoke_subaccount"+strconv.FormatInt(ts, 10)), tok...))
	acct, _ := requestAccount(l.Req)
	_, members := tn.nw.SwarmFor(acct)
	tn.rpcJSON(members[0], "revoke_subaccount", obj{"pubkey": req.Params.Pubkey, "revoke": req.Params.Subaccount,
		"timestamp": ts, "signature": b64(sig)}, 200)
}

func groupAdminSeed(t *testing.T, groupID string) []byte {
	t.Helper()
	k, err := realpeers.ReadStorageKeys(filepath.Join(realpeers.Dir(".."), "storage", "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range k.Groups {
		if g.ID == groupID {
			s, err := hex.DecodeString(g.Seed)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatalf("no admin seed for group %s", groupID)
	return nil
}

// ---- shapes ----

// shapeCtx compares JSON values by shape: the same JSON types, the same keys, recursively. Dicts
// keyed by data (node keys, message hashes, namespaces) are compared entry by entry against the
// recorded entries; arrays element by element against the recorded elements; an empty recorded
// array or dict accepts any content. In a recursive reply's "swarm", the entry node's own
// result is compared with the recorded entry node's, the others with the recorded others'.
type shapeCtx struct {
	realEntry string // ed25519 hex prefix of the recorded entry node
	gotEntry  string // ed25519 hex of devnet's entry node
	subsetAt  string // a path under which devnet may have keys the recording lacks
}

var dataKey = regexp.MustCompile(`^([0-9a-f]{64}|[A-Za-z0-9+/]{43}|-?[0-9]+)$`)

func kind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "bool"
	case float64:
		if x == float64(int64(x)) {
			return "int"
		}
		return "float"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func sameShape(want, got any, path, realEntry string) error {
	return shapeCtx{realEntry: realEntry}.same(want, got, path, "")
}

func (c shapeCtx) same(want, got any, path, parentKey string) error {
	if kind(want) != kind(got) {
		return fmt.Errorf("%s: devnet has %s (%.80v), recorded %s (%.80v)", path, kind(got), got, kind(want), want)
	}
	switch w := want.(type) {
	case []any:
		g := got.([]any)
		if len(w) == 0 {
			return nil
		}
		for i, ge := range g {
			if err := c.anyOf(w, ge, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		g := got.(map[string]any)
		if isDataDict(w) && isDataDict(g) {
			return c.sameDataDict(w, g, path, parentKey)
		}
		if err := sameKeys(w, g, path, c.subsetAt != "" && strings.HasPrefix(path, c.subsetAt)); err != nil {
			return err
		}
		for k, wv := range w {
			if err := c.same(wv, g[k], path+"."+k, k); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c shapeCtx) anyOf(cands []any, got any, path string) error {
	var first error
	for _, w := range cands {
		err := c.same(w, got, path, "")
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return first
}

func (c shapeCtx) sameDataDict(w, g map[string]any, path, parentKey string) error {
	if len(w) == 0 {
		return nil
	}
	if parentKey == "swarm" && c.realEntry != "" {
		var entry any
		var others []any
		for k, v := range w {
			if strings.HasPrefix(k, c.realEntry) {
				entry = v
			} else {
				others = append(others, v)
			}
		}
		if entry != nil {
			for k, gv := range g {
				p := path + "[" + k[:8] + "]"
				if k == c.gotEntry {
					if err := c.same(entry, gv, p+"(entry)", ""); err != nil {
						return err
					}
				} else if len(others) > 0 {
					if err := c.anyOf(others, gv, p); err != nil {
						return err
					}
				}
			}
			return nil
		}
	}
	vals := make([]any, 0, len(w))
	for _, v := range w {
		vals = append(vals, v)
	}
	for k, gv := range g {
		if err := c.anyOf(vals, gv, path+"["+k+"]"); err != nil {
			return err
		}
	}
	return nil
}

func isDataDict(m map[string]any) bool {
	for k := range m {
		if !dataKey.MatchString(k) {
			return false
		}
	}
	return true
}

func sameKeys(w, g map[string]any, path string, extraOK bool) error {
	var missing, extra []string
	for k := range w {
		if _, ok := g[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range g {
		if _, ok := w[k]; !ok && !extraOK {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(extra) == 0 {
		return nil
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return fmt.Errorf("%s: keys differ: devnet lacks %v, has extra %v", path, missing, extra)
}
