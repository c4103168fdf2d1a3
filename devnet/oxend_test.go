package devnet

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"strings"
	"testing"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
)

func TestSeedServiceNodes(t *testing.T) {
	tn := startNet(t, WithNodes(16), WithSeed(3))
	// The request body that Session Desktop sends to its seeds.
	body := `{"jsonrpc":"2.0","method":"get_n_service_nodes","params":{"active_only":true,"fields":{"public_ip":true,"storage_port":true,"pubkey_x25519":true,"pubkey_ed25519":true,"requested_unlock_height":true,"height":true}}}`
	resp, err := tn.hc.Post(tn.nw.SeedURL()+"/json_rpc", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err) // the seed's certificate verifies against the devnet CA
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("seed: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var out struct {
		Result struct {
			States []map[string]any `json:"service_node_states"`
			Height uint64           `json:"height"`
		} `json:"result"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Result.States) != 16 || out.Result.Height == 0 {
		t.Fatalf("seed reply %s", b)
	}
	nodes := map[string]*Node{}
	for _, n := range tn.nw.Nodes() {
		nodes[n.edHex()] = n
	}
	for _, s := range out.Result.States {
		n := nodes[s["pubkey_ed25519"].(string)]
		if n == nil || s["public_ip"] != "127.0.0.1" || int(s["storage_port"].(float64)) != n.Port() ||
			s["pubkey_x25519"] != hex.EncodeToString(n.xPub[:]) {
			t.Fatalf("state %v", s)
		}
		if _, extra := s["swarm_id"]; extra {
			t.Fatal("fields filter not applied")
		}
	}
	// Through a node: oxend_request get_service_nodes with libsession's fields; swarm_id must
	// keep full uint64 precision.
	n := tn.nw.Nodes()[0]
	st, raw := tn.rpc(n, "oxend_request", obj{"endpoint": "get_service_nodes", "params": obj{"active_only": true,
		"fields": obj{"public_ip": true, "pubkey_ed25519": true, "storage_lmq_port": true, "storage_server_version": true, "swarm_id": true}}})
	if st != 200 {
		t.Fatalf("%d %s", st, raw)
	}
	var viaNode struct {
		Result struct {
			States []struct {
				SwarmID uint64 `json:"swarm_id"`
				Ed      string `json:"pubkey_ed25519"`
				Version []int  `json:"storage_server_version"`
			} `json:"service_node_states"`
		} `json:"result"`
		T int64 `json:"t"`
	}
	if err := json.Unmarshal(raw, &viaNode); err != nil {
		t.Fatal(err)
	}
	for _, s := range viaNode.Result.States {
		if nodes[s.Ed].SwarmID() != s.SwarmID || len(s.Version) != 3 {
			t.Fatalf("swarm id %d for %s", s.SwarmID, s.Ed)
		}
	}
	// limit gives a random subset; list-form fields; unknown method is a JSON-RPC error.
	r := tn.rpcJSON(n, "oxend_request", obj{"endpoint": "get_service_nodes", "params": obj{"limit": 5, "fields": []string{"pubkey_ed25519"}}}, 200)
	if l := r["result"].(map[string]any)["service_node_states"].([]any); len(l) != 5 || len(l[0].(map[string]any)) != 1 {
		t.Fatalf("limit/fields: %v", l)
	}
	resp2, err := tn.hc.Post(tn.nw.SeedURL()+"/json_rpc", "application/json", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"nope","params":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp2.Body)
	resp2.Body.Close()
	if !strings.Contains(string(b), `"error"`) {
		t.Fatalf("unknown seed method: %s", b)
	}
	// poll_block_hash
	r = tn.rpcJSON(n, "oxend_request", obj{"endpoint": "get_service_nodes", "params": obj{"fields": []string{"block_hash"}}}, 200)
	bh := r["result"].(map[string]any)["block_hash"].(string)
	r = tn.rpcJSON(n, "oxend_request", obj{"endpoint": "get_service_nodes", "params": obj{"poll_block_hash": bh}}, 200)
	if r["result"].(map[string]any)["unchanged"] != true {
		t.Fatalf("poll: %v", r)
	}
}

// onsDecrypt is the client recipe (identity spec section 6), to check what the devnet serves.
func onsDecrypt(t *testing.T, name string, ct, nonce []byte) []byte {
	t.Helper()
	h := blake2b.Sum256([]byte(name))
	k, _ := blake2b.New256(h[:])
	k.Write([]byte(name))
	a, _ := chacha20poly1305.NewX(k.Sum(nil))
	pt, err := a.Open(nil, nonce, ct, nil)
	if err != nil {
		t.Fatalf("ons decrypt: %v", err)
	}
	return pt
}

func TestONSResolve(t *testing.T) {
	id := "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72"
	tn := startNet(t, WithNodes(3), WithName("Alice", id))
	n := tn.nw.Nodes()[1]
	h := blake2b.Sum256([]byte("alice"))
	for _, nh := range []string{base64.StdEncoding.EncodeToString(h[:]), base64.RawStdEncoding.EncodeToString(h[:]), hex.EncodeToString(h[:])} {
		r := tn.rpcJSON(n, "oxend_request", obj{"endpoint": "ons_resolve", "params": obj{"type": 0, "name_hash": nh}}, 200)
		res := r["result"].(map[string]any)
		ct, _ := hex.DecodeString(res["encrypted_value"].(string))
		nonce, _ := hex.DecodeString(res["nonce"].(string))
		if got := hex.EncodeToString(onsDecrypt(t, "alice", ct, nonce)); got != id {
			t.Fatalf("resolved %s", got)
		}
	}
	// Unknown name: no fields. Bad type: 400.
	other := blake2b.Sum256([]byte("bob"))
	r := tn.rpcJSON(n, "oxend_request", obj{"endpoint": "ons_resolve", "params": obj{"type": 0, "name_hash": hex.EncodeToString(other[:])}}, 200)
	if len(r["result"].(map[string]any)) != 0 {
		t.Fatalf("unknown name: %v", r)
	}
	if st, _ := tn.rpc(n, "oxend_request", obj{"endpoint": "ons_resolve", "params": obj{"type": 7, "name_hash": hex.EncodeToString(h[:])}}); st != 400 {
		t.Fatalf("bad type: %d", st)
	}
	// Run-time registration, and bad input.
	if err := tn.nw.RegisterName("bob", id); err != nil {
		t.Fatal(err)
	}
	r = tn.rpcJSON(n, "oxend_request", obj{"endpoint": "ons_resolve", "params": `{"type":0,"name_hash":"` + hex.EncodeToString(other[:]) + `"}`}, 200)
	if _, ok := r["result"].(map[string]any)["nonce"]; !ok {
		t.Fatal("registered name (params as a JSON string) not found")
	}
	for _, bad := range [][2]string{{"-bad", id}, {"ok", "05ab"}, {"ok", "15" + id[2:]}} {
		if err := tn.nw.RegisterName(bad[0], bad[1]); err == nil {
			t.Fatalf("RegisterName(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// TestONSVectors checks the record encryption against the upstream ons_decrypt vectors: with the
// vector's nonce, sealing its Session ID must give its ciphertext.
func TestONSVectors(t *testing.T) {
	for _, c := range loadVectors(t, "identity.json", "ons_decrypt") {
		nonceHex, _ := c["nonce_hex"].(string)
		if nonceHex == "" {
			continue // legacy Argon2 records are not produced by current oxend
		}
		name := c["name"].(string)
		id, _ := hex.DecodeString(c["session_id"].(string))
		nonce, _ := hex.DecodeString(nonceHex)
		var n24 [24]byte
		copy(n24[:], nonce)
		ct, err := onsSeal(name, id, n24)
		if err != nil {
			t.Fatal(err)
		}
		if got := hex.EncodeToString(ct); got != c["ciphertext_hex"] {
			t.Fatalf("%s: ciphertext %s, want %s", name, got, c["ciphertext_hex"])
		}
	}
	for _, c := range loadVectors(t, "identity.json", "ons_name_hash") {
		h := blake2b.Sum256([]byte(c["name"].(string)))
		if base64.StdEncoding.EncodeToString(h[:]) != c["hash_b64"] {
			t.Fatalf("name hash %v", c)
		}
	}
}

func TestSeedStopRestart(t *testing.T) {
	tn := startNet(t, WithNodes(3))
	url := tn.nw.SeedURL()
	post := func() error {
		resp, err := tn.hc.Post(url+"/json_rpc", "application/json", strings.NewReader(`{"method":"get_n_service_nodes","params":{}}`))
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	if err := post(); err != nil {
		t.Fatal(err)
	}
	tn.nw.StopSeed()
	tn.hc.CloseIdleConnections()
	if err := post(); err == nil {
		t.Fatal("stopped seed answered")
	}
	if err := tn.nw.RestartSeed(); err != nil {
		t.Fatal(err)
	}
	if tn.nw.SeedURL() != url {
		t.Fatal("seed URL changed")
	}
	if err := post(); err != nil {
		t.Fatalf("restarted seed: %v", err)
	}
	if err := tn.nw.RestartSeed(); err != nil {
		t.Fatal("restarting a running seed:", err)
	}
}
