package devnet

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// loadVectors reads the cases of one op from the project's vector corpus (or from
// SESSIONGO_VECTORS_DIR). devnet's server-side code is checked against the same upstream vectors
// as the client packages, without sharing their code.
func loadVectors(t *testing.T, file, op string) []map[string]any {
	t.Helper()
	dir := os.Getenv("SESSIONGO_VECTORS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "testdata", "vectors")
	}
	raw, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	var groups []struct {
		Op    string           `json:"op"`
		Cases []map[string]any `json:"cases"`
	}
	if err := json.Unmarshal(raw, &groups); err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, g := range groups {
		if g.Op == op {
			out = append(out, g.Cases...)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s cases in %s", op, file)
	}
	return out
}

func mustHex(t *testing.T, v any) []byte {
	t.Helper()
	b, err := hex.DecodeString(v.(string))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func key32(t *testing.T, v any) (k [32]byte) {
	copy(k[:], mustHex(t, v))
	return k
}

func u64(t *testing.T, v any) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(v.(string), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestVectorSwarmSpace(t *testing.T) {
	for _, c := range loadVectors(t, "onion_swarm.json", "swarm_space") {
		if got := swarmSpace(key32(t, c["pubkey"])); got != u64(t, c["swarm_space"]) {
			t.Fatalf("swarm space of %v = %d", c["pubkey"], got)
		}
	}
}

func TestVectorClosestSwarm(t *testing.T) {
	for _, c := range loadVectors(t, "onion_swarm.json", "closest_swarm") {
		var ids []uint64
		for _, s := range c["swarm_ids"].([]any) {
			ids = append(ids, u64(t, s))
		}
		sm := swarmMap{}
		for _, id := range ids {
			sm[id] = nil
		}
		pk := mustHex(t, c["pubkey"])
		var k [32]byte
		copy(k[:], pk[1:])
		if got := closestSwarm(sm.sortedIDs(), swarmSpace(k)); got != u64(t, c["expected_swarm_id"]) {
			t.Fatalf("%v: got %d", c, got)
		}
	}
}

func TestVectorMessageHash(t *testing.T) {
	check := func(pubHex string, ns float64, data []byte, want string) {
		var a account
		copy(a[:], mustHex(t, pubHex))
		if got := messageHash(a, int16(ns), data); got != want {
			t.Fatalf("hash %s, want %s", got, want)
		}
	}
	for _, c := range loadVectors(t, "storage.json", "message_hash") {
		check(c["pubkey_hex"].(string), c["namespace"].(float64), []byte(c["data_utf8"].(string)), c["hash"].(string))
	}
	for _, c := range loadVectors(t, "onion_swarm.json", "message_hash") {
		check(c["pubkey"].(string), c["namespace"].(float64), mustHex(t, c["data"]), c["hash"].(string))
	}
}

func TestVectorHopDecryptServer(t *testing.T) {
	for _, c := range loadVectors(t, "onion_swarm.json", "hop_decrypt_server") {
		et, ok := parseEncType(c["enc_type"].(string))
		if !ok {
			t.Fatal("enc type")
		}
		key, err := hopKey(et, key32(t, c["server_x25519_sec"]), key32(t, c["server_x25519_pub"]), key32(t, c["client_x25519_pub"]))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := hopDecrypt(et, key, mustHex(t, c["ciphertext"]))
		if c["expect_fail"] == true {
			if err == nil {
				t.Fatalf("%s: decrypted a broken ciphertext", c["name"])
			}
			continue
		}
		if err != nil || string(pt) != c["plaintext"] {
			t.Fatalf("%s: %q %v", c["name"], pt, err)
		}
	}
}

// TestVectorOnionParseAndReply runs the upstream parser vectors through a node's own onion
// handling: the request is the outer frame, the payload its decrypted blob; the reply encrypted
// by the node must decrypt on the client side.
func TestVectorOnionParseAndReply(t *testing.T) {
	for _, c := range loadVectors(t, "onion_swarm.json", "onion_parse_and_reply") {
		req := mustHex(t, c["request"])
		blob, js, ok := splitFrame(req)
		if !ok {
			t.Fatal("frame")
		}
		var meta struct {
			Eph string `json:"ephemeral_key"`
			Enc string `json:"enc_type"`
		}
		if err := json.Unmarshal(js, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Eph != c["remote_pubkey"] {
			t.Fatal("remote pubkey")
		}
		et, _ := parseEncType(meta.Enc)
		key, err := hopKey(et, key32(t, c["server_x25519_sec"]), key32(t, c["server_x25519_pub"]), key32(t, meta.Eph))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := hopDecrypt(et, key, blob)
		if err != nil || string(pt) != c["payload"] {
			t.Fatalf("%s: payload %q %v", c["name"], pt, err)
		}
		ct, err := hopEncrypt(et, key, []byte(c["reply"].(string)))
		if err != nil || len(ct) != int(c["reply_len"].(float64)) {
			t.Fatalf("%s: reply length %d", c["name"], len(ct))
		}
		back, err := hopDecrypt(et, clientKey(t, et, key32(t, c["client_x25519_sec"]), key32(t, c["server_x25519_pub"])), ct)
		if err != nil || string(back) != c["reply"] {
			t.Fatalf("%s: client cannot read the reply: %v", c["name"], err)
		}
	}
}

func TestVectorOnionInnerParse(t *testing.T) {
	for _, c := range loadVectors(t, "onion_swarm.json", "onion_inner_parse") {
		blob, js, ok := splitFrame(mustHex(t, c["data"]))
		if !ok || string(blob) != c["blob"] {
			t.Fatalf("%v: blob %q", c["kind"], blob)
		}
		var route map[string]json.RawMessage
		if err := json.Unmarshal(js, &route); err != nil {
			t.Fatal(err)
		}
		p := params(route)
		_, final := route["headers"]
		_, server := route["host"]
		switch c["kind"] {
		case "final":
			if !final {
				t.Fatal("final not recognised")
			}
		case "relay_to_server":
			port, has, _ := p.int64Of("port", true)
			if !has {
				port = 443
			}
			proto, hasP, _ := p.str("protocol")
			if !hasP {
				proto = "https"
			}
			if !server || port != int64(c["port"].(float64)) || proto != c["protocol"] {
				t.Fatalf("server route %v", c)
			}
		case "relay_to_node":
			d, _, _ := p.str("destination")
			e, _, _ := p.str("ephemeral_key")
			es, _, _ := p.str("enc_type")
			et, ok := parseEncType(es)
			want, _ := parseEncType(c["enc_type"].(string))
			if final || server || !ok || d != c["destination"] || e != c["ephemeral_key"] || et != want {
				t.Fatalf("node route %v", c)
			}
		}
	}
}

func TestVectorURLTarget(t *testing.T) {
	for _, c := range loadVectors(t, "onion_swarm.json", "onion_url_target_allowed") {
		if targetAllowed(c["target"].(string)) != c["allowed"].(bool) {
			t.Fatalf("%v", c)
		}
	}
}

// TestVectorSigMessage sends every sig_message vector's signed request to a one-node network whose
// clock is the vector's timestamp: a node that builds the signature string differently answers 401.
func TestVectorSigMessage(t *testing.T) {
	const ts = 1700000000123
	clock := newFakeClock(msTime(ts))
	tn := startNet(t, WithNodes(1), WithClock(clock.Now))
	n := tn.nw.Nodes()[0]
	for i, c := range loadVectors(t, "onion_swarm.json", "sig_message") {
		p := obj{}
		for k, v := range c["params"].(map[string]any) {
			p[k] = v
		}
		p["pubkey"] = "03" + c["pubkey_ed25519"].(string)
		sig := mustHex(t, c["signature"])
		p["signature"] = base64.StdEncoding.EncodeToString(sig)
		method := c["method"].(string)
		switch method {
		case "store":
			p["timestamp"] = ts
			p["ttl"] = 60000
			p["data"] = "eA=="
		case "revoke_subaccount", "unrevoke_subaccount":
			field := "revoke"
			if method == "unrevoke_subaccount" {
				field = "unrevoke"
			}
			p[field] = p["tokens"]
			delete(p, "tokens")
		}
		st, b := tn.rpc(n, method, p)
		if st != 200 {
			t.Fatalf("case %d (%s %q): %d %s", i, method, c["message_ascii"], st, b)
		}
	}
}
