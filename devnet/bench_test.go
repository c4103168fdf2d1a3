package devnet

import (
	"encoding/json"
	"testing"
	"time"
)

// BenchmarkDevnetStoreRetrieve is a direct HTTPS store (replicated to the swarm) followed by a
// signed retrieve of the new message, through one keep-alive connection.
func BenchmarkDevnetStoreRetrieve(b *testing.B) {
	tn := startNet(b)
	u := newUser(b, 50, 0x05)
	n, _ := tn.home(u)
	data := make([]byte, 1024)
	last := ""
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data[0], data[1], data[2] = byte(i), byte(i>>8), byte(i>>16)
		now := ms(time.Now())
		tn.rpcJSON(n, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 600000, "data": b64(data)}, 200)
		r := tn.rpcJSON(n, "retrieve", u.auth(obj{"timestamp": now, "last_hash": last}, "retrieve"+itoa(now)), 200)
		msgs := r["messages"].([]any)
		if len(msgs) == 0 {
			b.Fatal("nothing retrieved")
		}
		last = msgs[len(msgs)-1].(map[string]any)["hash"].(string)
	}
}

// BenchmarkDevnetOnionRoundTrip is a retrieve sent through a 3-hop onion path to a fourth node of
// the account's swarm (as clients build it), with the reply decrypted by the client.
func BenchmarkDevnetOnionRoundTrip(b *testing.B) {
	tn := startNet(b)
	u := newUser(b, 51, 0x05)
	dest, _ := tn.home(u)
	path := tn.pathTo(dest)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := ms(time.Now())
		st, body := tn.onionRPC(encXChaCha, path, "retrieve", u.auth(obj{"timestamp": now}, "retrieve"+itoa(now)), nil)
		if st != 200 {
			b.Fatalf("status %d %v", st, body)
		}
		var r map[string]any
		if json.Unmarshal([]byte(body.(string)), &r) != nil {
			b.Fatal("bad body")
		}
	}
}

// BenchmarkNodeStoreCPU is the node-side CPU of one store (parse, checks, hash, replication to
// the swarm with each member's signature), without HTTP or TLS.
func BenchmarkNodeStoreCPU(b *testing.B) {
	tn := startNet(b)
	u := newUser(b, 52, 0x05)
	n, members := tn.home(u)
	b.ReportMetric(float64(len(members)), "members")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		body, _ := json.Marshal(obj{"method": "store", "params": obj{"pubkey": u.hex(), "timestamp": ms(time.Now()), "ttl": 600000, "data": b64([]byte(itoa(int64(i))))}})
		if r := n.rpcBody(b.Context(), body); r.code != 200 {
			b.Fatal(r.code, r.text)
		}
	}
}
