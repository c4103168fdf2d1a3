package devnet

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

func TestStartCloseNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	nw, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := len(nw.Nodes()); got != defaultNodes {
		t.Fatalf("nodes = %d, want %d", got, defaultNodes)
	}
	swarms := nw.Swarms()
	if len(swarms) != 2 {
		t.Fatalf("20 nodes should form 2 swarms under oxend's rules, got %d", len(swarms))
	}
	for id, m := range swarms {
		if len(m) < minSwarmSize {
			t.Fatalf("swarm %x has %d members", id, len(m))
		}
	}
	// Exercise a few connections, then close.
	hc := nw.HTTPClient()
	u := newUser(t, 1, 0x05)
	_, members := nw.SwarmFor(u.acct)
	resp, err := hc.Post(members[0].URL()+"/storage_rpc/v1", "application/json",
		strings.NewReader(`{"method":"info","params":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hc.CloseIdleConnections()
	if err := nw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := nw.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("goroutines: %d before, %d after Close\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
}

func TestSmallNetworkSingleSwarm(t *testing.T) {
	tn := startNet(t, WithNodes(13), WithSeed(7))
	if len(tn.nw.Swarms()) != 1 {
		t.Fatalf("13 nodes should form one swarm, got %d", len(tn.nw.Swarms()))
	}
	tn2 := startNet(t, WithNodes(14), WithSeed(7))
	s := tn2.nw.Swarms()
	if len(s) != 2 {
		t.Fatalf("14 nodes should form two swarms, got %d", len(s))
	}
	for _, m := range s {
		if len(m) != 7 {
			t.Fatalf("14 nodes should split 7+7, got %d", len(m))
		}
	}
}

func TestDeterministicUnderSeed(t *testing.T) {
	a := startNet(t, WithSeed(42), WithNodes(16))
	b := startNet(t, WithSeed(42), WithNodes(16))
	na, nb := a.nw.Nodes(), b.nw.Nodes()
	for i := range na {
		if na[i].Ed25519PublicKey() != nb[i].Ed25519PublicKey() || na[i].SwarmID() != nb[i].SwarmID() {
			t.Fatalf("node %d differs between two networks with the same seed", i)
		}
	}
}

func TestStoreRetrieve(t *testing.T) {
	tn := startNet(t)
	u := newUser(t, 2, 0x05)
	entry, members := tn.home(u)
	now := ms(time.Now())
	data := []byte("abc 123")
	res := tn.rpcJSON(entry, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 86400000, "data": b64(data)}, 200)
	wantHash := messageHash(u.acct, 0, data)
	if res["hash"] != wantHash {
		t.Fatalf("hash %v, want %s", res["hash"], wantHash)
	}
	if _, ok := res["t"].(float64); !ok {
		t.Fatal("no t")
	}
	if hfv, _ := json.Marshal(res["hf"]); string(hfv) != "[19,4]" {
		t.Fatalf("hf = %s", hfv)
	}
	sw := res["swarm"].(map[string]any)
	if len(sw) != len(members) {
		t.Fatalf("swarm has %d entries, want %d", len(sw), len(members))
	}
	for _, m := range members {
		e, ok := sw[m.edHex()].(map[string]any)
		if !ok {
			t.Fatalf("no entry for member %s", m)
		}
		if e["hash"] != wantHash || e["expiry"].(float64) != float64(now+86400000) {
			t.Fatalf("member entry %v", e)
		}
		sig, _ := base64.StdEncoding.DecodeString(e["signature"].(string))
		pk := m.Ed25519PublicKey()
		if !ed25519.Verify(pk[:], []byte(wantHash), sig) {
			t.Fatal("member signature does not verify over the hash string")
		}
		_, hasT := e["t"]
		if hasT != (m == entry) {
			t.Fatalf("t present=%v on member (entry=%v)", hasT, m == entry)
		}
		if !m.HasMessage(wantHash) {
			t.Fatal("message not replicated")
		}
	}
	// Retrieve from another member, authenticated with pubkey_ed25519.
	other := members[len(members)-1]
	ts := ms(time.Now())
	r := tn.rpcJSON(other, "retrieve", u.auth(obj{"timestamp": ts, "last_hash": ""}, "retrieve"+itoa(ts)), 200)
	msgs := r["messages"].([]any)
	if len(msgs) != 1 || r["more"] != false {
		t.Fatalf("retrieve: %v", r)
	}
	m := msgs[0].(map[string]any)
	if m["hash"] != wantHash || m["data"] != b64(data) || m["timestamp"].(float64) != float64(now) ||
		m["expiration"].(float64) != float64(now+86400000) {
		t.Fatalf("message %v", m)
	}
	if _, bad := m["expiry"]; bad {
		t.Fatal("retrieve must say expiration, not expiry")
	}
	// Duplicate store: already, and a later expiry extends.
	res = tn.rpcJSON(entry, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 2 * 86400000, "data": b64(data)}, 200)
	e := res["swarm"].(map[string]any)[entry.edHex()].(map[string]any)
	if e["already"] != true || e["expiry"].(float64) != float64(now+2*86400000) {
		t.Fatalf("duplicate store entry %v", e)
	}
	// Stringified timestamp and ttl, and pubKey alias, are accepted.
	tn.rpcJSON(entry, "store", obj{"pubKey": u.hex(), "timestamp": itoa(now), "ttl": "60000", "data": b64([]byte("x"))}, 200)
}

func TestRetrievePaging(t *testing.T) {
	tn := startNet(t, WithNodes(5))
	u := newUser(t, 3, 0x05)
	n, _ := tn.home(u)
	now := ms(time.Now())
	var hashes []string
	for i := 0; i < 5; i++ {
		d := []byte(fmt.Sprintf("message %d", i))
		tn.rpcJSON(n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 600000, "data": b64(d)}, 200)
		hashes = append(hashes, messageHash(u.acct, 0, d))
	}
	get := func(p obj) map[string]any {
		ts := ms(time.Now())
		p["timestamp"] = ts
		return tn.rpcJSON(n, "retrieve", u.auth(p, "retrieve"+itoa(ts)), 200)
	}
	r := get(obj{"max_count": 2})
	if l := r["messages"].([]any); len(l) != 2 || r["more"] != true || l[0].(map[string]any)["hash"] != hashes[0] {
		t.Fatalf("page 1: %v", r)
	}
	r = get(obj{"last_hash": hashes[1], "max_count": 10})
	if l := r["messages"].([]any); len(l) != 3 || r["more"] != false || l[0].(map[string]any)["hash"] != hashes[2] {
		t.Fatalf("after last_hash: %v", r)
	}
	// lastHash alias; unknown last_hash starts from the beginning.
	r = get(obj{"lastHash": strings.Repeat("A", 43)})
	if l := r["messages"].([]any); len(l) != 5 {
		t.Fatalf("unknown last hash: %v", r)
	}
	// A tiny max_size still returns one message.
	r = get(obj{"max_size": 1})
	if l := r["messages"].([]any); len(l) != 1 || r["more"] != true {
		t.Fatalf("max_size 1: %v", r)
	}
	// Another namespace is empty.
	ts := ms(time.Now())
	r = tn.rpcJSON(n, "retrieve", u.auth(obj{"namespace": 42, "timestamp": ts}, "retrieve42"+itoa(ts)), 200)
	if l := r["messages"].([]any); len(l) != 0 {
		t.Fatalf("ns 42: %v", r)
	}
	tn.expectText(n, "retrieve", u.auth(obj{"timestamp": ts, "last_hash": "short"}, "retrieve"+itoa(ts)),
		400, "invalid request: Invalid last_hash: expected base64 (43 chars)")
}

func TestBigRetrieve(t *testing.T) {
	tn := startNet(t, WithNodes(5))
	u := newUser(t, 4, 0x05)
	n, _ := tn.home(u)
	now := ms(time.Now())
	big := make([]byte, maxData)
	for i := 0; i < 120; i++ { // ~9.2 MB of data: more than one default page
		big[0], big[1] = byte(i), byte(i>>8)
		tn.rpcJSON(n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 600000, "data": b64(big)}, 200)
	}
	total := 0
	last := ""
	for page := 0; page < 100; page++ {
		ts := ms(time.Now())
		r := tn.rpcJSON(n, "retrieve", u.auth(obj{"timestamp": ts, "last_hash": last}, "retrieve"+itoa(ts)), 200)
		l := r["messages"].([]any)
		// default max_size -5: 7.8 MB / 5 per page, counted as base64 size plus overhead
		if want := retrieveMaxSize / 5 / (100 + 43 + maxData*4/3); len(l) > want+1 {
			t.Fatalf("page of %d messages exceeds the default size limit (%d)", len(l), want)
		}
		total += len(l)
		if len(l) > 0 {
			last = l[len(l)-1].(map[string]any)["hash"].(string)
		}
		if r["more"] != true {
			break
		}
	}
	if total != 120 {
		t.Fatalf("retrieved %d of 120", total)
	}
}

func TestWrongSwarm421(t *testing.T) {
	tn := startNet(t)
	u := newUser(t, 5, 0x05)
	wrong := tn.foreign(u)
	if wrong == nil {
		t.Fatal("need two swarms")
	}
	id, members := tn.nw.SwarmFor(u.acct)
	st, b := tn.rpc(wrong, "store", obj{"pubkey": u.hex(), "timestamp": ms(time.Now()), "ttl": 60000, "data": "eA=="})
	if st != http.StatusMisdirectedRequest {
		t.Fatalf("status %d %s", st, b)
	}
	var body struct {
		Snodes []map[string]any `json:"snodes"`
		Swarm  string           `json:"swarm"`
		T      int64            `json:"t"`
		HF     []int            `json:"hf"`
	}
	if err := json.Unmarshal(b, &body); err != nil {
		t.Fatal(err)
	}
	if body.Swarm != fmt.Sprintf("%x", id) || len(body.Snodes) != len(members) || body.T == 0 || len(body.HF) != 2 {
		t.Fatalf("421 body %s", b)
	}
	var got []string
	for _, s := range body.Snodes {
		if _, ok := s["port"].(string); !ok {
			t.Fatal("port must be a string")
		}
		if s["port_https"].(float64) == 0 || s["ip"] != "127.0.0.1" || !strings.HasSuffix(s["address"].(string), ".snode") {
			t.Fatalf("snode %v", s)
		}
		got = append(got, s["pubkey_ed25519"].(string))
	}
	var want []string
	for _, m := range members {
		want = append(want, m.edHex())
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatal("421 lists the wrong swarm")
	}
	// get_swarm answers from any node, never 421; get_snodes_for_pubkey is an alias; the jsonrpc
	// key that desktop sends is ignored.
	gs := tn.rpcJSON(wrong, "get_snodes_for_pubkey", obj{"pubkey": u.hex()}, 200)
	if gs["swarm"] != body.Swarm {
		t.Fatal("get_swarm disagrees with 421")
	}
	st, b = tn.post(wrong, "/storage_rpc/v1", []byte(`{"jsonrpc":"2.0","method":"get_swarm","params":{"pubkey":"`+u.hex()+`"}}`))
	if st != 200 || !strings.Contains(string(b), body.Swarm) {
		t.Fatalf("get_swarm with jsonrpc: %d %s", st, b)
	}
}

func TestInfoAndMisc(t *testing.T) {
	tn := startNet(t, WithNodes(3))
	n := tn.nw.Nodes()[0]
	r := tn.rpcJSON(n, "info", obj{}, 200)
	if v, _ := json.Marshal(r["version"]); string(v) != "[2,8,0]" {
		t.Fatalf("info %v", r)
	}
	if st, b := tn.post(n, "/nope", nil); st != 404 || string(b) != "POST /nope Not Found" {
		t.Fatalf("404: %d %q", st, b)
	}
	st, _ := tn.post(n, "/ping_test/v1", nil)
	if st != 200 {
		t.Fatal("ping_test")
	}
	req, _ := http.NewRequest(http.MethodPost, n.URL()+"/storage_rpc/v1", strings.NewReader(`{"method":"info","params":{}}`))
	req.Header.Set("X-Loki-Long-Poll", "true")
	resp, err := tn.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("long poll: %d", resp.StatusCode)
	}
}

// TestExactErrors asserts the error replies listed in storage-examples.json and the spec.
func TestExactErrors(t *testing.T) {
	clock := newFakeClock(time.Now())
	tn := startNet(t, WithClock(clock.Now), WithNodes(5))
	u := newUser(t, 6, 0x05)
	g := newUser(t, 7, 0x03)
	n, _ := tn.home(u)
	ng, _ := tn.home(g)
	now := ms(clock.Now())
	d := b64([]byte("abc 123"))
	cases := []struct {
		name   string
		node   *Node
		method string
		p      obj
		status int
		text   string
	}{
		{"retrieve_unauthenticated_ns0", n, "retrieve", obj{"pubkey": u.hex()}, 401, "retrieve: request signature required"},
		{"retrieve_ns_given_no_sig", n, "retrieve", obj{"pubkey": u.hex(), "namespace": 42}, 400, "invalid request: Required field 'signature' missing"},
		{"retrieve_ns0_explicit_no_sig", n, "retrieve", obj{"pubkey": u.hex(), "namespace": 0}, 400, "invalid request: Required field 'signature' missing"},
		{"store_ns42_without_sig", ng, "store", obj{"pubkey": g.hex(), "namespace": 42, "timestamp": now, "ttl": 60000, "data": d}, 401, "store: signature required to store to namespace 42"},
		{"store_ns_minus1_without_sig", ng, "store", obj{"pubkey": g.hex(), "namespace": -1, "timestamp": now, "ttl": 60000, "data": d}, 401, "store: signature required to store to namespace -1"},
		{"store_bad_sig", ng, "store", g.auth(obj{"namespace": 42, "timestamp": now, "ttl": 60000, "data": d}, "store42"+itoa(now+1)), 401, "store signature verification failed"},
		{"store_sig_timestamp_skew", ng, "store", g.auth(obj{"namespace": 42, "timestamp": now, "sig_timestamp": now - 61000, "ttl": 60000, "data": d}, "store42"+itoa(now-61000)), 406, "store signature timestamp too far from current time"},
		{"store_bad_ttl_short", n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 9999, "data": d}, 403, "Provided expiry/TTL is not valid."},
		{"store_bad_ttl_public_long", n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 15 * 86400000, "data": d}, 403, "Provided expiry/TTL is not valid."},
		{"store_ttl_overflow", n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": int64(math.MaxInt64), "data": d}, 403, "Provided expiry/TTL is not valid."},
		{"store_ttl_negative_overflow", n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": int64(math.MinInt64), "data": d}, 403, "Provided expiry/TTL is not valid."},
		{"store_expiry_huge", n, "store", obj{"pubkey": u.hex(), "timestamp": now, "expiry": int64(9e18), "data": d}, 403, "Provided expiry/TTL is not valid."},
		{"expire_expiry_min", n, "expire", u.auth(obj{"messages": []string{strings.Repeat("A", 43)}, "expiry": []int64{math.MinInt64}}, "x"), 401, "expire: timestamp should be >= current time"},
		{"store_clock_future", n, "store", obj{"pubkey": u.hex(), "timestamp": now + 11000, "ttl": 60000, "data": d}, 406, "Timestamp error: check your clock"},
		{"store_clock_expired", n, "store", obj{"pubkey": u.hex(), "timestamp": now - 100000, "ttl": 60000, "data": d}, 406, "Timestamp error: check your clock"},
		{"store_data_not_b64", n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 60000, "data": "!!!"}, 400, "invalid request: Invalid 'data' value: not base64 encoded"},
		{"store_data_too_big", n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 60000, "data": b64(make([]byte, maxData+1))}, 400, "invalid request: Message body exceeds maximum allowed length of 76800 bytes"},
		{"store_bad_pubkey", n, "store", obj{"pubkey": "05abcd", "timestamp": now, "ttl": 60000, "data": d}, 400, "invalid request: Pubkey must be 66 hex digits (33 bytes) long"},
		{"store_seconds_timestamp", n, "store", obj{"pubkey": u.hex(), "timestamp": 999_999_999, "ttl": 60000, "data": d}, 400, "invalid request: Invalid timestamp for 'timestamp': timestamp must be in milliseconds"},
		{"store_ns_out_of_range", n, "store", obj{"pubkey": u.hex(), "namespace": 40000, "timestamp": now, "ttl": 60000, "data": d}, 400, "value out of range"},
		{"store_bad_sig_encoding", ng, "store", obj{"pubkey": g.hex(), "namespace": 42, "timestamp": now, "ttl": 60000, "data": d, "signature": "abc"}, 400, "invalid request: invalid signature: expected base64 encoded Ed25519 signature"},
		{"ed25519_with_03", ng, "retrieve", obj{"pubkey": g.hex(), "pubkey_ed25519": hex.EncodeToString(g.pub[:]), "timestamp": now, "signature": g.sign("retrieve" + itoa(now))}, 400, "invalid request: pubkey_ed25519 is only permitted for 05[...] pubkeys"},
		{"delete_all_session_id_without_ed25519", n, "delete_all", obj{"pubkey": u.hex(), "timestamp": now, "signature": u.sign("delete_all" + itoa(now))}, 401, "delete_all signature verification failed"},
		{"delete_all_skew", n, "delete_all", u.auth(obj{"timestamp": now - 61000}, "delete_all"+itoa(now-61000)), 406, "delete_all timestamp too far from current time"},
		{"expire_all_past", n, "expire_all", u.auth(obj{"expiry": now - 61000}, "expire_all"+itoa(now-61000)), 406, "expire_all timestamp should be >= current time"},
		{"retrieve_bad_sig", n, "retrieve", u.auth(obj{"timestamp": now}, "retrieve"+itoa(now-1)), 401, "retrieve signature verification failed"},
		{"retrieve_skew", n, "retrieve", u.auth(obj{"timestamp": now - 61000}, "retrieve"+itoa(now-61000)), 406, "retrieve timestamp too far from current time"},
		{"delete_bad_sig", n, "delete", u.auth(obj{"messages": []string{strings.Repeat("A", 43)}}, "delete"), 401, "delete_msgs signature verification failed"},
		{"delete_before_future", n, "delete_before", u.auth(obj{"before": now + 61000}, "delete_before"+itoa(now+61000)), 401, "delete_before timestamp too far in the future"},
		{"expire_past", n, "expire", u.auth(obj{"messages": []string{strings.Repeat("A", 43)}, "expiry": now - 61000}, "expire"+itoa(now-61000)+strings.Repeat("A", 43)), 401, "expire: timestamp should be >= current time"},
		{"expire_bad_sig", n, "expire", u.auth(obj{"messages": []string{strings.Repeat("A", 43)}, "expiry": now + 60000}, "expire"), 401, "expire: signature verification failed"},
		{"get_expiries_skew", n, "get_expiries", u.auth(obj{"messages": []string{strings.Repeat("A", 43)}, "timestamp": now + 61000}, "get_expiries"), 406, "get_expiries timestamp too far from current time"},
		{"get_expiries_bad_sig", n, "get_expiries", u.auth(obj{"messages": []string{strings.Repeat("A", 43)}, "timestamp": now}, "get_expiries"), 401, "get_expiries signature verification failed"},
		{"unknown_method", n, "frobnicate", obj{}, 400, "no method frobnicate"},
		{"oxend_bad_endpoint", n, "oxend_request", obj{"endpoint": "get_info"}, 400, "invalid request: Invalid oxend endpoint 'get_info'"},
		{"expire_shorten_and_extend", n, "expire", u.auth(obj{"messages": []string{strings.Repeat("A", 43)}, "expiry": now, "shorten": true, "extend": true}, "x"), 400, "invalid request: cannot specify both 'shorten' and 'extend'"},
		{"delete_empty", n, "delete", u.auth(obj{"messages": []string{}}, "delete"), 400, "invalid request: messages does not contain any message hashes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, b := tn.rpc(c.node, c.method, c.p)
			if st != c.status || string(b) != c.text {
				t.Fatalf("got %d %q, want %d %q", st, b, c.status, c.text)
			}
		})
	}
	for _, raw := range []struct{ body, text string }{
		{`not json`, "invalid json"},
		{`{"params":{}}`, "invalid json: no `method` field"},
		{`{"method":"info"}`, "invalid json: no `params` field"},
		{`{"method":"info","params":[1]}`, "invalid json: no `params` field"},
	} {
		if st, b := tn.post(n, "/storage_rpc/v1", []byte(raw.body)); st != 400 || string(b) != raw.text {
			t.Fatalf("%s: %d %q", raw.body, st, b)
		}
	}
}
