package devnet

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"sort"
	"strings"
	"testing"
	"time"
)

// store helpers used by several tests.
func (tn *tnet) storeSigned(n *Node, u *user, ns int16, data []byte, ts int64, ttl int64) string {
	tn.t.Helper()
	p := obj{"namespace": ns, "timestamp": ts, "ttl": ttl, "data": b64(data)}
	res := tn.rpcJSON(n, "store", u.auth(p, "store"+nsString(ns)+itoa(ts)), 200)
	return res["hash"].(string)
}

func (tn *tnet) retrieveHashes(n *Node, u *user, ns int16, now int64) []string {
	tn.t.Helper()
	r := tn.rpcJSON(n, "retrieve", u.auth(obj{"namespace": ns, "timestamp": now}, "retrieve"+nsString(ns)+itoa(now)), 200)
	var out []string
	for _, m := range r["messages"].([]any) {
		out = append(out, m.(map[string]any)["hash"].(string))
	}
	return out
}

// verifyMemberSigs checks each swarm member's Ed25519 signature over want(entry).
func verifyMemberSigs(t *testing.T, tn *tnet, res map[string]any, want func(e map[string]any) string) {
	t.Helper()
	for k, v := range res["swarm"].(map[string]any) {
		e := v.(map[string]any)
		if e["failed"] == true {
			t.Fatalf("member %s failed: %v", k, e)
		}
		pk, _ := hex.DecodeString(k)
		sig, _ := base64.StdEncoding.DecodeString(e["signature"].(string))
		if !ed25519.Verify(pk, []byte(want(e)), sig) {
			t.Fatalf("member %s signature does not verify over %q", k, want(e))
		}
	}
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestNamespaces(t *testing.T) {
	tn := startNet(t, WithNodes(5))
	g := newUser(t, 10, 0x03)
	n, _ := tn.home(g)
	now := ms(time.Now())
	// Public inbox 10: store without signature, retrieve needs auth.
	tn.rpcJSON(n, "store", obj{"pubkey": g.hex(), "namespace": 10, "timestamp": now, "ttl": 60000, "data": "eA=="}, 200)
	// A signature given to a public namespace is not verified.
	tn.rpcJSON(n, "store", obj{"pubkey": g.hex(), "namespace": 20, "timestamp": now, "ttl": 60000, "data": "eQ==", "signature": g.sign("junk")}, 200)
	if h := tn.retrieveHashes(n, g, 10, now); len(h) != 1 {
		t.Fatalf("ns 10: %v", h)
	}
	// Public outbox -21: signed store replaces the previous message; retrieve needs no auth.
	h1 := tn.storeSigned(n, g, -21, []byte("one"), now, 60000)
	h2 := tn.storeSigned(n, g, -21, []byte("two"), now, 60000)
	r := tn.rpcJSON(n, "retrieve", obj{"pubkey": g.hex(), "namespace": -21}, 200)
	l := r["messages"].([]any)
	if len(l) != 1 || l[0].(map[string]any)["hash"] != h2 || h1 == h2 {
		t.Fatalf("public outbox: %v", r)
	}
	// -10: public store and no-auth retrieve.
	tn.rpcJSON(n, "store", obj{"pubkey": g.hex(), "namespace": -10, "timestamp": now, "ttl": 60000, "data": "eg=="}, 200)
	r = tn.rpcJSON(n, "retrieve", obj{"pubkey": g.hex(), "namespace": -10}, 200)
	if len(r["messages"].([]any)) != 1 {
		t.Fatalf("-10: %v", r)
	}
	// 30-day TTL allowed on private namespaces, not on public ones.
	tn.storeSigned(n, g, 5, []byte("cfg"), now, 30*86400000)
	tn.expectText(n, "store", obj{"pubkey": g.hex(), "namespace": 10, "timestamp": now, "ttl": 30 * 86400000, "data": "eA=="}, 403, "Provided expiry/TTL is not valid.")
	// Hash covers the namespace.
	if got := tn.retrieveHashes(n, g, 5, now); len(got) != 1 || got[0] != messageHash(g.acct, 5, []byte("cfg")) {
		t.Fatalf("ns 5: %v", got)
	}
}

func TestDeletes(t *testing.T) {
	tn := startNet(t, WithNodes(6))
	u := newUser(t, 11, 0x05)
	n, members := tn.home(u)
	pkHex := u.hex()
	now := ms(time.Now())
	var hs []string
	for i, d := range []string{"a", "b", "c", "d"} {
		ns := int16(0)
		if i >= 2 {
			ns = 3
		}
		hs = append(hs, tn.storeSigned(n, u, ns, []byte(d), now-int64(10-i)*1000, 600000))
	}
	// delete one by hash (namespace-independent), then a missing one with required → 404.
	res := tn.rpcJSON(n, "delete", u.auth(obj{"messages": []string{hs[2]}}, "delete"+hs[2]), 200)
	verifyMemberSigs(t, tn, res, func(e map[string]any) string { return pkHex + hs[2] + strings.Join(strs(e["deleted"]), "") })
	if len(res["swarm"].(map[string]any)) != len(members) {
		t.Fatal("delete not recursive")
	}
	for _, m := range members {
		if m.HasMessage(hs[2]) {
			t.Fatal("delete not replicated")
		}
	}
	st, b := tn.rpc(n, "delete", u.auth(obj{"messages": hs[2], "required": true}, "delete"+hs[2]))
	if st != 404 || !strings.Contains(string(b), `"deleted":[]`) {
		t.Fatalf("required delete of a missing message: %d %s", st, b)
	}
	// delete_before on ns 0 removes the older of the two.
	before := now - 9500
	res = tn.rpcJSON(n, "delete_before", u.auth(obj{"before": before}, "delete_before"+itoa(before)), 200)
	verifyMemberSigs(t, tn, res, func(e map[string]any) string {
		return pkHex + itoa(before) + strings.Join(strs(e["deleted"]), "")
	})
	if d := strs(res["swarm"].(map[string]any)[n.edHex()].(map[string]any)["deleted"]); len(d) != 1 || d[0] != hs[0] {
		t.Fatalf("delete_before deleted %v", d)
	}
	// delete_all "all": a per-namespace dict; the signature covers all hashes sorted globally.
	ts := ms(time.Now())
	res = tn.rpcJSON(n, "delete_all", u.auth(obj{"namespace": "all", "timestamp": ts}, "delete_allall"+itoa(ts)), 200)
	verifyMemberSigs(t, tn, res, func(e map[string]any) string {
		var all []string
		for _, l := range e["deleted"].(map[string]any) {
			all = append(all, strs(l)...)
		}
		sort.Strings(all)
		return pkHex + itoa(ts) + strings.Join(all, "")
	})
	del := res["swarm"].(map[string]any)[n.edHex()].(map[string]any)["deleted"].(map[string]any)
	if len(strs(del["0"])) != 1 || len(strs(del["3"])) != 1 {
		t.Fatalf("delete_all all: %v", del)
	}
	if n.MessageCount() != 0 {
		t.Fatal("messages left")
	}
	// delete_all on one namespace gives a plain list.
	tn.storeSigned(n, u, 2, []byte("x"), now, 600000)
	ts = ms(time.Now())
	res = tn.rpcJSON(n, "delete_all", u.auth(obj{"namespace": 2, "timestamp": ts}, "delete_all2"+itoa(ts)), 200)
	if d := strs(res["swarm"].(map[string]any)[n.edHex()].(map[string]any)["deleted"]); len(d) != 1 {
		t.Fatalf("delete_all ns 2: %v", d)
	}
}

func TestExpire(t *testing.T) {
	tn := startNet(t, WithNodes(5))
	g := newUser(t, 12, 0x03)
	n, _ := tn.home(g)
	pkHex := g.hex()
	now := ms(time.Now())
	h1 := tn.storeSigned(n, g, 11, []byte("one"), now, 3600000)   // expires now+1h
	h2 := tn.storeSigned(n, g, 11, []byte("two"), now, 2*3600000) // expires now+2h
	newExp := now + 5400000                                       // 1.5h
	// extend: h1 moves to 1.5h, h2 is unchanged (already later).
	msg := "expireextend" + itoa(newExp) + h1 + h2
	res := tn.rpcJSON(n, "expire", g.auth(obj{"messages": []string{h1, h2}, "expiry": newExp, "extend": true}, msg), 200)
	e := res["swarm"].(map[string]any)[n.edHex()].(map[string]any)
	if u := strs(e["updated"]); len(u) != 1 || u[0] != h1 {
		t.Fatalf("extend updated %v", e)
	}
	if unch := e["unchanged"].(map[string]any); unch[h2].(float64) != float64(now+2*3600000) {
		t.Fatalf("unchanged %v", unch)
	}
	verifyMemberSigs(t, tn, res, func(e map[string]any) string {
		return pkHex + itoa(newExp) + h1 + h2 + h1 + h2 + itoa(now+2*3600000)
	})
	// get_expiries
	ts := ms(time.Now())
	missing := strings.Repeat("B", 43)
	r := tn.rpcJSON(n, "get_expiries", g.auth(obj{"messages": []string{h1, h2, missing}, "timestamp": ts}, "get_expiries"+itoa(ts)+h1+h2+missing), 200)
	ex := r["expiries"].(map[string]any)
	if len(ex) != 2 || ex[h1].(float64) != float64(newExp) {
		t.Fatalf("get_expiries %v", r)
	}
	if _, ok := r["t"]; ok {
		t.Fatal("get_expiries must not carry t")
	}
	// Multi-expiry without flags; the far one is clamped to now+30d.
	far := now + 40*86400000
	exps := []int64{now + 600000, far}
	msg = "expire" + itoa(exps[0]) + itoa(exps[1]) + h1 + h2
	res = tn.rpcJSON(n, "expire", g.auth(obj{"messages": []string{h1, h2}, "expiry": exps}, msg), 200)
	e = res["swarm"].(map[string]any)[n.edHex()].(map[string]any)
	applied := e["expiry"].([]any)
	if applied[0].(float64) != float64(exps[0]) || applied[1].(float64) > float64(ms(time.Now())+30*86400000) {
		t.Fatalf("multi expiry %v", e)
	}
	if _, ok := e["unchanged"]; ok {
		t.Fatal("unchanged only with shorten/extend")
	}
	// expire_all shortens only.
	target := now + 300000
	res = tn.rpcJSON(n, "expire_all", g.auth(obj{"namespace": 11, "expiry": target}, "expire_all11"+itoa(target)), 200)
	verifyMemberSigs(t, tn, res, func(e map[string]any) string {
		return pkHex + itoa(target) + strings.Join(strs(e["updated"]), "")
	})
	if u := strs(res["swarm"].(map[string]any)[n.edHex()].(map[string]any)["updated"]); len(u) != 2 {
		t.Fatalf("expire_all updated %v", u)
	}
}

func TestTTLExpiry(t *testing.T) {
	clock := newFakeClock(time.Now())
	tn := startNet(t, WithClock(clock.Now), WithNodes(5))
	u := newUser(t, 13, 0x05)
	n, _ := tn.home(u)
	now := ms(clock.Now())
	h := tn.storeSigned(n, u, 0, []byte("brief"), now, 20000)
	if got := tn.retrieveHashes(n, u, 0, now); len(got) != 1 || got[0] != h {
		t.Fatal("message missing before expiry")
	}
	clock.Advance(21 * time.Second)
	if got := tn.retrieveHashes(n, u, 0, ms(clock.Now())); len(got) != 0 {
		t.Fatal("message still there after its TTL")
	}
	if n.MessageCount() != 0 {
		t.Fatal("count after expiry")
	}
}

func TestBatchSequenceIfElse(t *testing.T) {
	tn := startNet(t, WithNodes(5))
	g := newUser(t, 14, 0x03)
	n, _ := tn.home(g)
	now := ms(time.Now())
	sub := func(d string) obj {
		return obj{"method": "store", "params": g.auth(obj{"namespace": 42, "timestamp": now, "ttl": 86400000, "data": b64([]byte(d))}, "store42"+itoa(now))}
	}
	bad := obj{"method": "store", "params": obj{"pubkey": g.hex(), "namespace": 42, "timestamp": now, "ttl": 86400000, "data": "eA=="}}
	r := tn.rpcJSON(n, "batch", obj{"requests": []obj{sub("abc 123"), bad, sub("xyz 123")}}, 200)
	res := r["results"].([]any)
	if len(res) != 3 {
		t.Fatalf("batch %v", r)
	}
	first := res[0].(map[string]any)
	if first["code"].(float64) != 200 || first["body"].(map[string]any)["hash"] != messageHash(g.acct, 42, []byte("abc 123")) {
		t.Fatalf("batch[0] %v", first)
	}
	if second := res[1].(map[string]any); second["code"].(float64) != 401 || second["body"] != "store: signature required to store to namespace 42" {
		t.Fatalf("batch[1] %v", second)
	}
	r = tn.rpcJSON(n, "sequence", obj{"requests": []obj{sub("s1"), bad, sub("s2")}}, 200)
	if len(r["results"].([]any)) != 2 {
		t.Fatalf("sequence should stop after the first failure: %v", r)
	}
	many := make([]obj, 21)
	for i := range many {
		many[i] = obj{"method": "info", "params": obj{}}
	}
	tn.expectText(n, "batch", obj{"requests": many}, 400, "invalid request: Invalid batch request: subrequest limit exceeded")
	// A nested batch is parsed first (recorded: an empty one fails on its own "requests"), then
	// refused as a meta-request.
	tn.expectText(n, "batch", obj{"requests": []obj{{"method": "batch", "params": obj{"requests": []obj{}}}}}, 400, `invalid request: Invalid batch request: no valid "requests" field`)
	tn.expectText(n, "batch", obj{"requests": []obj{{"method": "sequence", "params": obj{"requests": []obj{sub("n")}}}}}, 400, "invalid request: Invalid batch subrequest: subrequests may not contain meta-requests")
	tn.expectText(n, "batch", obj{"requests": []obj{{"method": "frobnicate", "params": obj{}}}}, 400, `invalid request: Invalid batch subrequest: invalid method "frobnicate"`)
	tn.expectText(n, "batch", obj{"requests": []obj{{"method": "info"}}}, 400, "invalid request: Invalid batch request: subrequests must have method/params keys")
	// A sub-request parse error fails the whole batch.
	st, _ := tn.rpc(n, "batch", obj{"requests": []obj{sub("ok"), {"method": "store", "params": obj{"pubkey": "zz"}}}})
	if st != 400 {
		t.Fatalf("batch with a bad sub-request: %d", st)
	}
	// ifelse
	r = tn.rpcJSON(n, "ifelse", obj{"if": obj{"hf_at_least": []int{2000000}}, "then": obj{"method": "info", "params": obj{}},
		"else": obj{"method": "get_swarm", "params": obj{"pubkey": g.hex()}}}, 200)
	if r["condition"] != false || r["result"].(map[string]any)["body"].(map[string]any)["snodes"] == nil {
		t.Fatalf("ifelse false: %v", r)
	}
	r = tn.rpcJSON(n, "ifelse", obj{"if": obj{"hf_at_least": []int{19, 4}, "v_at_least": []int{2, 8}, "height_at_least": 1},
		"then": obj{"method": "batch", "params": obj{"requests": []obj{{"method": "info", "params": obj{}}}}}}, 200)
	if r["condition"] != true {
		t.Fatalf("ifelse true: %v", r)
	}
	if b, _ := json.Marshal(r["v"]); string(b) != "[2,8,0]" {
		t.Fatalf("v %s", b)
	}
	r = tn.rpcJSON(n, "ifelse", obj{"if": obj{"hf_before": []int{19, 4}}, "then": obj{"method": "info", "params": obj{}}}, 200)
	if _, has := r["result"]; has || r["condition"] != false {
		t.Fatalf("ifelse without else: %v", r)
	}
}
