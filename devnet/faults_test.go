package devnet

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// tryMembers is what a client does: send to each swarm member in turn until one answers 200.
func (tn *tnet) tryMembers(members []*Node, method string, p any) (map[string]any, int, error) {
	b, _ := json.Marshal(obj{"method": method, "params": p})
	var lastErr error
	for i, n := range members {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, n.URL()+"/storage_rpc/v1", bytes.NewReader(b))
		resp, err := tn.hc.Do(req)
		if err != nil {
			cancel()
			lastErr = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		if err != nil {
			lastErr = err
			continue
		}
		var out map[string]any
		if resp.StatusCode != 200 || json.Unmarshal(body, &out) != nil {
			lastErr = errors.New(resp.Status + ": " + string(body))
			continue
		}
		return out, i, nil
	}
	return nil, -1, lastErr
}

func TestFaultStopRestart(t *testing.T) {
	tn := startNet(t, WithNodes(6))
	u := newUser(t, 40, 0x05)
	_, members := tn.home(u)
	down := members[0]
	down.Stop()
	if down.Running() {
		t.Fatal("still running")
	}
	now := ms(time.Now())
	res, used, err := tn.tryMembers(members, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 60000, "data": "eA=="})
	if err != nil || used == 0 {
		t.Fatalf("client should skip the stopped node: used %d, %v", used, err)
	}
	e := res["swarm"].(map[string]any)[down.edHex()].(map[string]any)
	if e["failed"] != true || e["timeout"] != true {
		t.Fatalf("stopped peer entry %v", e)
	}
	if err := down.Restart(); err != nil {
		t.Fatal(err)
	}
	tn.hc.CloseIdleConnections()
	if _, used, err = tn.tryMembers(members, "info", obj{}); err != nil || used != 0 {
		t.Fatalf("restarted node: %d %v", used, err)
	}
	if down.HasMessage(messageHash(u.acct, 0, []byte("x"))) {
		t.Fatal("a stopped node must not receive replicated data")
	}
}

func TestFaultDropDeterministic(t *testing.T) {
	pattern := func() string {
		tn := startNet(t, WithNodes(3), WithSeed(99))
		n := tn.nw.Nodes()[0]
		n.SetFaults(Faults{DropRate: 0.5})
		var sb strings.Builder
		for i := 0; i < 16; i++ {
			resp, err := tn.hc.Post(n.URL()+"/storage_rpc/v1", "application/json", strings.NewReader(`{"method":"info","params":{}}`))
			if err != nil {
				sb.WriteByte('x')
				continue
			}
			resp.Body.Close()
			sb.WriteByte('.')
		}
		return sb.String()
	}
	a, b := pattern(), pattern()
	if a != b || !strings.Contains(a, "x") || !strings.Contains(a, ".") {
		t.Fatalf("drop patterns %q and %q should be equal and mixed", a, b)
	}
	// A client recovers by going to another member.
	tn := startNet(t, WithNodes(6))
	u := newUser(t, 41, 0x05)
	_, members := tn.home(u)
	members[0].SetFaults(Faults{DropRate: 1})
	if _, used, err := tn.tryMembers(members, "get_swarm", obj{"pubkey": u.hex()}); err != nil || used != 1 {
		t.Fatalf("recovery from a dropping node: %d %v", used, err)
	}
}

func TestFaultDelay(t *testing.T) {
	tn := startNet(t, WithNodes(6))
	u := newUser(t, 42, 0x05)
	_, members := tn.home(u)
	members[0].SetFaults(Faults{Delay: 300 * time.Millisecond})
	start := time.Now()
	resp, err := tn.hc.Post(members[0].URL()+"/storage_rpc/v1", "application/json", strings.NewReader(`{"method":"info","params":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("no delay")
	}
	// A client with a short timeout gives up on the slow node and recovers on the next one.
	members[0].SetFaults(Faults{Delay: 10 * time.Second})
	start = time.Now()
	if _, used, err := tn.tryMembers(members, "info", obj{}); err != nil || used != 1 {
		t.Fatalf("slow node: %d %v", used, err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("timeout not honoured")
	}
	// Delayed onion hops honour the client's context too.
	if f := members[0].Faults(); f.Delay != 10*time.Second {
		t.Fatalf("Faults() = %+v", f)
	}
}

func TestFaultCorrupt(t *testing.T) {
	tn := startNet(t, WithNodes(6))
	u := newUser(t, 43, 0x05)
	dest, members := tn.home(u)
	dest.SetFaults(Faults{CorruptRate: 1})
	_, b := tn.rpc(dest, "get_swarm", obj{"pubkey": u.hex()})
	good := tn.rpcJSON(members[1], "get_swarm", obj{"pubkey": u.hex()}, 200)
	var v map[string]any
	if json.Unmarshal(b, &v) == nil && v["swarm"] == good["swarm"] && len(v["snodes"].([]any)) == len(good["snodes"].([]any)) {
		t.Log("corruption happened to keep the JSON valid")
	}
	gb, _ := json.Marshal(good)
	if bytes.Equal(b, gb) {
		t.Fatal("reply not corrupted")
	}
	// Through an onion the client sees a reply that does not decrypt: report it cleanly.
	path := tn.pathTo(dest)
	rpc, _ := json.Marshal(obj{"method": "info", "params": obj{}})
	outer, key := buildOnion(t, encXChaCha, path, frame(rpc, obj{"headers": ""}))
	st, body := tn.post(path[0], "/onion_req/v2", outer)
	if st == 200 {
		if ct, err := decodeB64(string(body)); err == nil {
			if _, err := hopDecrypt(encXChaCha, key, ct); err == nil {
				t.Fatal("a corrupted onion reply decrypted")
			}
		}
	}
	dest.SetFaults(Faults{})
	if st, _ := tn.post(path[0], "/onion_req/v2", func() []byte { o, _ := buildOnion(t, encXChaCha, path, frame(rpc, obj{"headers": ""})); return o }()); st != 200 {
		t.Fatal("healthy again")
	}
}

func TestFaultClockSkew(t *testing.T) {
	tn := startNet(t, WithNodes(6))
	u := newUser(t, 44, 0x05)
	n, members := tn.home(u)
	skewed := members[1]
	skewed.SetFaults(Faults{ClockSkew: 2 * time.Minute})
	now := ms(time.Now())
	tn.expectText(skewed, "retrieve", u.auth(obj{"timestamp": now}, "retrieve"+itoa(now)), 406, "retrieve timestamp too far from current time")
	// The skewed node's "t" tells a client how far off it is.
	info := tn.rpcJSON(skewed, "info", obj{}, 200)
	if d := int64(info["t"].(float64)) - now; d < 110000 {
		t.Fatalf("skewed t off by %d ms", d)
	}
	// A store through a healthy entry: the skewed peer re-validates and fails with 406.
	res := tn.rpcJSON(n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 60000, "data": "eA=="}, 200)
	e := res["swarm"].(map[string]any)[skewed.edHex()].(map[string]any)
	if e["failed"] != true || e["code"].(float64) != 406 {
		t.Fatalf("skewed peer entry %v", e)
	}
}

func TestFaultStatus(t *testing.T) {
	tn := startNet(t, WithNodes(6))
	u := newUser(t, 45, 0x05)
	_, members := tn.home(u)
	members[0].SetFaults(Faults{Status: 503})
	tn.expectText(members[0], "info", obj{}, 503, "Service node is not ready: devnet fault injected")
	path := []*Node{members[1], members[2], members[0]}
	outer, _ := buildOnion(t, encXChaCha, path, frame([]byte(`{"method":"info","params":{}}`), obj{"headers": ""}))
	if st, b := tn.post(path[0], "/onion_req/v2", outer); st != 503 || string(b) != "Snode not ready: "+members[0].edHex() {
		t.Fatalf("onion to a 503 node: %d %q", st, b)
	}
	members[0].SetFaults(Faults{Status: 429})
	tn.expectText(members[0], "info", obj{}, 429, "")
	members[0].SetFaults(Faults{Status: 500})
	tn.expectText(members[0], "info", obj{}, 500, "Internal Server Error")
	members[0].SetFaults(Faults{Status: 421})
	st, b := tn.rpc(members[0], "store", obj{"pubkey": u.hex(), "timestamp": ms(time.Now()), "ttl": 60000, "data": "eA=="})
	if st != 421 || !strings.Contains(string(b), `"snodes"`) {
		t.Fatalf("forced 421: %d %s", st, b)
	}
	// The client recovers on another member.
	if _, used, err := tn.tryMembers(members, "store", obj{"pubkey": u.hex(), "timestamp": ms(time.Now()), "ttl": 60000, "data": "eA=="}); err != nil || used != 1 {
		t.Fatalf("recovery from 421: %d %v", used, err)
	}
}

func TestRequestBodyLimit(t *testing.T) {
	tn := startNet(t, WithNodes(1))
	n := tn.nw.Nodes()[0]
	big := bytes.Repeat([]byte("a"), maxBody+1)
	if st, b := tn.post(n, "/storage_rpc/v1", big); st != 413 || string(b) != "Request body too large" {
		t.Fatalf("%d %q", st, b)
	}
}
