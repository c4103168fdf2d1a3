package devnet

import (
	"context"
	"encoding/hex"
	"testing"
)

// FuzzRPC feeds arbitrary bodies to a node's /storage_rpc/v1 handler: it must answer every one
// with a status and never panic.
func FuzzRPC(f *testing.F) {
	for _, s := range []string{
		`{"method":"info","params":{}}`,
		`{"method":"store","params":{"pubkey":"05` + hex.EncodeToString(make([]byte, 32)) + `","timestamp":1700000000000,"ttl":"86400000","data":"YWJj"}}`,
		`{"method":"retrieve","params":{"pubkey":"05` + hex.EncodeToString(make([]byte, 32)) + `","namespace":-21,"last_hash":""}}`,
		`{"method":"batch","params":{"requests":[{"method":"info","params":{}},{"method":"get_swarm","params":{"pubKey":"x"}}]}}`,
		`{"method":"ifelse","params":{"if":{"hf_at_least":[19]},"then":{"method":"info","params":{}}}}`,
		`{"method":"expire","params":{"pubkey":"03","messages":"abc","expiry":[1,2]}}`,
		`{"method":"delete_all","params":{"namespace":"all","timestamp":"1e99"}}`,
		`{"method":"oxend_request","params":{"endpoint":"get_service_nodes","params":"{\"limit\":-1,\"fields\":[\"-swarm\"]}"}}`,
		`{"method":"revoke_subaccount","params":{"revoke":["` + hex.EncodeToString(make([]byte, 36)) + `"],"timestamp":1}}`,
		`[]`, `null`, `{"method":7}`, `{"method":"store","params":{"namespace":1e300}}`,
	} {
		f.Add([]byte(s))
	}
	nw, err := Start(context.Background(), WithNodes(1), WithSeed(1))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { nw.Close() })
	n := nw.Nodes()[0]
	f.Fuzz(func(t *testing.T, body []byte) {
		r := n.rpcBody(context.Background(), body)
		if r.code < 200 || r.code > 599 {
			t.Fatalf("status %d", r.code)
		}
		_ = r.bytes()
	})
}

// FuzzOnion feeds arbitrary bodies to a node's /onion_req/v2 handler, and arbitrary plaintexts to
// a correctly encrypted layer (so that the layer parser and router are reached too).
func FuzzOnion(f *testing.F) {
	f.Add([]byte{}, []byte(`{"headers":""}`))
	f.Add([]byte{4, 0, 0, 0, 'a', 'b', 'c', 'd', '{', '}'}, []byte(`{"destination":"00","ephemeral_key":"11"}`))
	f.Add(frame([]byte(`{"method":"info","params":{}}`), obj{"ephemeral_key": "00"}), frame([]byte(`{"method":"info","params":{}}`), obj{"headers": "", "json": true}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, frame([]byte("x"), obj{"host": "localhost", "target": "/oxen/v4/lsrpc", "port": "x"}))
	nw, err := Start(context.Background(), WithNodes(1), WithSeed(2))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { nw.Close() })
	n := nw.Nodes()[0]
	f.Fuzz(func(t *testing.T, outer, layer []byte) {
		if st, _ := n.onionEntry(context.Background(), outer); st < 200 || st > 599 {
			t.Fatalf("status %d", st)
		}
		ct, eph, _ := seal(t, encXChaCha, n.xPub, layer)
		body := frame(ct, obj{"ephemeral_key": hex.EncodeToString(eph[:]), "enc_type": "xchacha20"})
		if st, _ := n.onionEntry(context.Background(), body); st < 200 || st > 599 {
			t.Fatalf("status %d", st)
		}
	})
}
