package swarm

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// Regression tests for what the real storage server (v2.6.2, testdata/real/storage) answered
// differently from our spec (issue 12).

const realStorage = "../testdata/real/storage/oxen-storage-server-v2.6.2.jsonl"

type realLine struct {
	Case   string          `json:"case"`
	Node   string          `json:"node"`
	Status int             `json:"status"`
	Req    json.RawMessage `json:"req"`
	Body   json.RawMessage `json:"body"`
}

var (
	realOnce  sync.Once
	realLines []realLine
	realErr   error
)

// realExchange returns line n (1-based) of the storage transcript.
func realExchange(t *testing.T, n int) realLine {
	t.Helper()
	realOnce.Do(func() {
		f, err := os.Open(realStorage)
		if err != nil {
			realErr = err
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var l realLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				realErr = err
				return
			}
			realLines = append(realLines, l)
		}
		realErr = sc.Err()
	})
	if realErr != nil {
		t.Fatal(realErr)
	}
	if n < 1 || n > len(realLines) {
		t.Fatalf("no line %d in %s", n, realStorage)
	}
	return realLines[n-1]
}

// realBody is the recorded reply body as the node sent it: JSON replies as JSON, text as text.
func (l realLine) realBody() []byte {
	var s string
	if json.Unmarshal(l.Body, &s) == nil {
		return []byte(s)
	}
	return l.Body
}

// Item 1: a repeated store reaches the other members' results through bencode, so they say
// "already": 1 (the entry node's own result says true).
func TestRealRepeatStoreAlreadyIsOne(t *testing.T) {
	for _, n := range []int{123, 154, 184} {
		l := realExchange(t, n)
		if !strings.Contains(string(l.Body), `"already": 1`) {
			t.Fatalf("line %d: expected a member with \"already\": 1", n)
		}
		res, err := ParseSwarmResult(l.realBody())
		if err != nil {
			t.Fatalf("line %d (%s): %v", n, l.Case, err)
		}
		if len(res.Swarm) != 2 || res.Succeeded() != 2 {
			t.Fatalf("line %d: %+v", n, res)
		}
		for k, m := range res.Swarm {
			if !m.Already || m.Failed {
				t.Errorf("line %d: member %s: already %v failed %v", n, k[:8], m.Already, m.Failed)
			}
		}
		if bad := res.CheckSignatures(crypto.AccountID{}, StoreRequest{}, 0); len(bad) != 0 {
			t.Errorf("line %d: signatures of %v do not verify", n, bad)
		}
	}
}

// Every boolean a node sends may come as 0/1: failures, timeouts and "more" included.
func TestNodeBooleansAcceptIntegers(t *testing.T) {
	res, err := ParseSwarmResult([]byte(`{"swarm":{"aa":{"failed":1,"timeout":1},"bb":{"failed":0,"hash":"` + hashA + `","already":0}},"t":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Swarm["aa"].Failed || !res.Swarm["aa"].Timeout || res.Swarm["bb"].Failed || res.Swarm["bb"].Already {
		t.Fatalf("%+v", res.Swarm)
	}
	for _, more := range []string{"1", "true"} {
		r, err := ParseRetrieve([]byte(`{"messages":[],"more":` + more + `,"t":5}`))
		if err != nil || !r.More {
			t.Fatalf("more %s: %+v %v", more, r, err)
		}
	}
	for _, bad := range []string{`{"swarm":{"a":{"failed":2}}}`, `{"swarm":{"a":{"already":"yes"}}}`, `{"messages":[],"more":[]}`} {
		_, err1 := ParseSwarmResult([]byte(bad))
		_, err2 := ParseRetrieve([]byte(bad))
		if !errors.Is(err1, ErrInvalidResponse) || !errors.Is(err2, ErrInvalidResponse) {
			t.Errorf("%s: %v / %v", bad, err1, err2)
		}
	}
}

// Item 2: a request that needs no auth carries none of pubkey_ed25519, signature, timestamp:
// the real server answers 400 "Required field 'signature' missing" to an unsigned retrieve
// with a timestamp (lines 9, 49, 50, 86, 143, 145, 147, 207).
func TestUnsignedRetrieveHasNoTimestamp(t *testing.T) {
	id := testKeys(t, 3).AccountID()
	for _, ns := range []Namespace{NamespaceLegacyClosed, -21, -1} {
		body, err := EncodeRequest(RetrieveRequest{Namespace: ns}, Unsigned(id), 1796286439738)
		if err != nil {
			t.Fatal(err)
		}
		_, p := decodeParams(t, body)
		for _, k := range []string{"timestamp", "signature", "pubkey_ed25519", "sig_timestamp"} {
			if _, ok := p[k]; ok {
				t.Errorf("ns %d: unsigned retrieve carries %q: %s", ns, k, body)
			}
		}
		if len(p) != 2 || p["pubkey"] != id.String() || p["namespace"] != float64(ns) {
			t.Errorf("ns %d: params %v", ns, p)
		}
	}
	// The recorded refusal is a plain bad request.
	l := realExchange(t, 145)
	ne := NewNodeError(Node{}, l.Status, l.realBody())
	if !errors.Is(ne, ErrBadRequest) || string(ne.Body) != "invalid request: Required field 'signature' missing" {
		t.Fatalf("%v", ne)
	}
	// An unsigned store keeps its timestamp (the server needs it) and drops sig_timestamp.
	body, err := EncodeRequest(StoreRequest{Data: []byte("x"), TTL: time.Hour}, Unsigned(id), 1796286439721)
	if err != nil {
		t.Fatal(err)
	}
	if _, p := decodeParams(t, body); p["timestamp"] != float64(1796286439721) || p["sig_timestamp"] != nil || p["signature"] != nil {
		t.Fatalf("unsigned store params %v", p)
	}
}

// replayTransport answers from a list of recorded replies, one per request, and records what
// was sent.
type replayTransport struct {
	mu      sync.Mutex
	replies []realLine
	sent    [][]byte
	nodes   []Node
}

func (r *replayTransport) Send(_ context.Context, node Node, body []byte) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sent = append(r.sent, append([]byte(nil), body...))
	r.nodes = append(r.nodes, node)
	if len(r.replies) == 0 {
		return nil, errors.New("replay: no more replies")
	}
	l := r.replies[0]
	r.replies = r.replies[1:]
	if l.Status != 200 {
		return nil, NewNodeError(node, l.Status, l.realBody())
	}
	return l.realBody(), nil
}

// realSwarmPool is a pool of the recorded run's swarm 0x7000000000000000 (alice's): nodes 1
// and 4 of keys.json.
func realSwarmPool(t *testing.T) *Pool {
	t.Helper()
	p, err := NewPool(PoolConfig{Seeds: []string{"https://127.0.0.1:1"}, MinSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []Node
	for _, n := range []struct {
		port uint16
		ed   string
	}{{22101, "673d6aa1fc185fb707e8e6790d4cb5596905233fbeef1f9f865c4c9e0fd52f3f"}, {22104, "95bff6aae6e06ee898bd751b7c8d736eac207566ee0fea4d7e36b1a92c1e0150"}} {
		ed, err := hexKey(n.ed)
		if err != nil {
			t.Fatal(err)
		}
		x, err := crypto.Ed25519PublicToX25519(ed)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, Node{IP: netip.MustParseAddr("127.0.0.1"), Port: n.port, Ed25519: ed, X25519: x, SwarmID: 0x7000000000000000})
	}
	if err := p.Set(context.Background(), nodes); err != nil {
		t.Fatal(err)
	}
	return p
}

func aliceSigner(t *testing.T) Signer {
	t.Helper()
	k, err := crypto.KeysFromSeed(mustHex(t, "56da952c7a78fff983cb303a2a3650b53e2b4b1f88794b9cf8db4fddd3d422ef"))
	if err != nil {
		t.Fatal(err)
	}
	if k.AccountID().String() != "052eccf4c42e8137852a308bcddb43b5d19a123eedfef22b0dd79ae72150dc654f" {
		t.Fatalf("alice is %s", k.AccountID())
	}
	return NewKeysSigner(k)
}

// Item 3: delete_before with namespace "all" deletes, then answers 500 (v2.6.2–v2.8.0); the
// retry on the other member finds nothing left and answers 200 with nothing deleted. The
// Client must not report that as "nothing deleted".
func TestDeleteBeforeAllFailureIsNotNothingDeleted(t *testing.T) {
	for _, pair := range [][2]int{{22, 23}, {60, 61}} {
		tr := &replayTransport{replies: []realLine{realExchange(t, pair[0]), realExchange(t, pair[1])}}
		c, err := NewClient(ClientConfig{Transport: tr, Pool: realSwarmPool(t)})
		if err != nil {
			t.Fatal(err)
		}
		var req struct {
			Params struct {
				Before int64 `json:"before"`
			} `json:"params"`
		}
		if err := json.Unmarshal(realExchange(t, pair[0]).Req, &req); err != nil {
			t.Fatal(err)
		}
		// The members' signatures cover the recorded "before".
		res, err := c.DeleteBefore(context.Background(), aliceSigner(t), DeleteBeforeRequest{AllNamespaces: true, Before: time.UnixMilli(req.Params.Before)})
		if err == nil {
			t.Fatalf("lines %v: reported success (%d members, nothing deleted) after a node failed mid-delete", pair, len(res.Swarm))
		}
		if !errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("lines %v: %v does not match ErrOutcomeUnknown", pair, err)
		}
		var ue *UncertainError
		if !errors.As(err, &ue) {
			t.Fatalf("lines %v: %T", pair, err)
		}
		var ne *NodeError
		if ue.Node != tr.nodes[0] || !errors.As(ue.Err, &ne) || ne.Status != 500 || !errors.Is(err, ErrServer) {
			t.Fatalf("lines %v: %+v", pair, ue)
		}
		if ue.Later == nil || ue.Later.Succeeded() != 2 || len(ue.Later.Swarm) != 2 {
			t.Fatalf("lines %v: later result %+v", pair, ue.Later)
		}
		if !strings.Contains(err.Error(), "may have") {
			t.Errorf("message does not say what is known: %v", err)
		}
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
