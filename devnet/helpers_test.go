package devnet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{t: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// user is a hand-rolled account for tests: an Ed25519 key and its 05 (X25519) or 03 account.
type user struct {
	priv ed25519.PrivateKey
	pub  [32]byte
	acct account
}

func newUser(t testing.TB, seed byte, prefix byte) *user {
	t.Helper()
	s := bytes.Repeat([]byte{seed}, 32)
	priv := ed25519.NewKeyFromSeed(s)
	u := &user{priv: priv}
	copy(u.pub[:], priv.Public().(ed25519.PublicKey))
	u.acct[0] = prefix
	if prefix == 0x05 {
		x, ok := edToX(u.pub)
		if !ok {
			t.Fatal("edToX")
		}
		copy(u.acct[1:], x[:])
	} else {
		copy(u.acct[1:], u.pub[:])
	}
	return u
}

func (u *user) hex() string { return hex.EncodeToString(u.acct[:]) }

func (u *user) sign(msg string) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(u.priv, []byte(msg)))
}

// authParams adds pubkey (and pubkey_ed25519 for 05) and a signature of msg.
func (u *user) auth(p obj, msg string) obj {
	p["pubkey"] = u.hex()
	if u.acct[0] == 0x05 {
		p["pubkey_ed25519"] = hex.EncodeToString(u.pub[:])
	}
	p["signature"] = u.sign(msg)
	return p
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// tnet is a started network with an HTTP client that trusts it.
type tnet struct {
	t  testing.TB
	nw *Network
	hc *http.Client
}

func startNet(t testing.TB, opts ...Option) *tnet {
	t.Helper()
	nw, err := Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	hc := nw.HTTPClient()
	t.Cleanup(func() {
		hc.CloseIdleConnections()
		nw.Close()
	})
	return &tnet{t: t, nw: nw, hc: hc}
}

// post sends a raw body to a node path and returns status and body.
func (tn *tnet) post(n *Node, path string, body []byte) (int, []byte) {
	tn.t.Helper()
	resp, err := tn.hc.Post(n.URL()+path, "application/json", bytes.NewReader(body))
	if err != nil {
		tn.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tn.t.Fatal(err)
	}
	return resp.StatusCode, b
}

// rpc sends {"method":m,"params":p} to /storage_rpc/v1.
func (tn *tnet) rpc(n *Node, method string, p any) (int, []byte) {
	tn.t.Helper()
	b, err := json.Marshal(obj{"method": method, "params": p})
	if err != nil {
		tn.t.Fatal(err)
	}
	return tn.post(n, "/storage_rpc/v1", b)
}

// rpcJSON is rpc that expects the status and decodes the JSON body.
func (tn *tnet) rpcJSON(n *Node, method string, p any, want int) map[string]any {
	tn.t.Helper()
	st, b := tn.rpc(n, method, p)
	if st != want {
		tn.t.Fatalf("%s: status %d, want %d; body %s", method, st, want, b)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		tn.t.Fatalf("%s: body is not JSON: %s", method, b)
	}
	return out
}

// expectText asserts an error reply's status and exact text.
func (tn *tnet) expectText(n *Node, method string, p any, wantStatus int, wantText string) {
	tn.t.Helper()
	st, b := tn.rpc(n, method, p)
	if st != wantStatus || string(b) != wantText {
		tn.t.Fatalf("%s: got %d %q, want %d %q", method, st, b, wantStatus, wantText)
	}
}

// home is a node of the swarm responsible for u; other is a node of another swarm (nil if there
// is only one swarm).
func (tn *tnet) home(u *user) (*Node, []*Node) {
	_, members := tn.nw.SwarmFor(u.acct)
	if len(members) == 0 {
		tn.t.Fatal("no swarm")
	}
	return members[0], members
}

func (tn *tnet) foreign(u *user) *Node {
	id, _ := tn.nw.SwarmFor(u.acct)
	for _, n := range tn.nw.Nodes() {
		if n.SwarmID() != id {
			return n
		}
	}
	return nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
