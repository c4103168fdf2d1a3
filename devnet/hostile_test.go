package devnet

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// Hostile nodes (Faults fields from DuplicateMessages on): each behaviour checked from the wire,
// with hashes recomputed here from the spec's formula.

func (tn *tnet) storeUnsigned(t *testing.T, n *Node, u *user, data string) string {
	t.Helper()
	r := tn.rpcJSON(n, "store", obj{"pubkey": u.hex(), "timestamp": ms(tn.nw.Now()), "ttl": 3_600_000, "data": b64([]byte(data))}, 200)
	return r["hash"].(string)
}

func (tn *tnet) retrieveSigned(t *testing.T, n *Node, u *user) (msgs []map[string]any, tField int64) {
	t.Helper()
	now := ms(tn.nw.Now())
	r := tn.rpcJSON(n, "retrieve", u.auth(obj{"timestamp": now}, "retrieve"+itoa(now)), 200)
	for _, m := range r["messages"].([]any) {
		msgs = append(msgs, m.(map[string]any))
	}
	return msgs, int64(r["t"].(float64))
}

func TestHostileRetrieveLies(t *testing.T) {
	tn := startNet(t, WithNodes(5), WithSeed(7))
	u := newUser(t, 71, 0x05)
	honest, members := tn.home(u)
	liar := members[1]
	want := map[string]string{}
	for _, d := range []string{"one", "two", "three"} {
		want[tn.storeUnsigned(t, honest, u, d)] = d
	}
	real := func(m map[string]any) bool {
		data, _ := base64.StdEncoding.DecodeString(m["data"].(string))
		return messageHash(u.acct, 0, data) == m["hash"]
	}

	liar.SetFaults(Faults{DuplicateMessages: 4, JunkMessages: 7})
	msgs, _ := tn.retrieveSigned(t, liar, u)
	genuine := 0
	for _, m := range msgs {
		if real(m) {
			genuine++
		}
	}
	if len(msgs) != 3*5+7 || genuine != 3 {
		t.Fatalf("duplicates and junk: %d messages, %d genuine", len(msgs), genuine)
	}

	liar.SetFaults(Faults{JunkExpiry: true, CorruptData: true})
	msgs, _ = tn.retrieveSigned(t, liar, u)
	for _, m := range msgs {
		if real(m) {
			t.Fatal("corrupted data still matches its hash")
		}
		if exp := int64(m["expiration"].(float64)); exp < ms(tn.nw.Now().Add(365*24*time.Hour)) {
			t.Fatalf("junk expiry %d", exp)
		}
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages", len(msgs))
	}

	// Replays: a deleted message comes back from the liar only.
	var h0 string
	for h := range want {
		h0 = h
		break
	}
	tn.rpcJSON(honest, "delete", u.auth(obj{"messages": []string{h0}}, "delete"+h0), 200)
	liar.SetFaults(Faults{ReplayOld: true})
	msgs, _ = tn.retrieveSigned(t, liar, u)
	found := false
	for _, m := range msgs {
		found = found || m["hash"] == h0 && real(m)
	}
	if !found || len(msgs) != 3 {
		t.Fatalf("replay: %d messages, deleted one back: %v", len(msgs), found)
	}
	if msgs, _ := tn.retrieveSigned(t, honest, u); len(msgs) != 2 {
		t.Fatalf("honest node: %d messages", len(msgs))
	}
}

// A node that serves everything again from the start, whatever last_hash says, and claims
// every message expires now (what a node replaying messages after the client forgot them
// sends); an honest member answers after the last hash with the real expiries.
func TestHostileIgnoreLastHashExpiryNow(t *testing.T) {
	tn := startNet(t, WithNodes(5), WithSeed(8))
	u := newUser(t, 74, 0x05)
	honest, members := tn.home(u)
	liar := members[1]
	var hashes []string
	for _, d := range []string{"one", "two", "three"} {
		hashes = append(hashes, tn.storeUnsigned(t, honest, u, d))
	}
	after := func(n *Node, last string) []map[string]any {
		t.Helper()
		now := ms(tn.nw.Now())
		r := tn.rpcJSON(n, "retrieve", u.auth(obj{"timestamp": now, "last_hash": last}, "retrieve"+itoa(now)), 200)
		var msgs []map[string]any
		for _, m := range r["messages"].([]any) {
			msgs = append(msgs, m.(map[string]any))
		}
		return msgs
	}
	real := ms(tn.nw.Now().Add(time.Hour)) - 60_000 // the stores' TTL is an hour
	for _, n := range []*Node{honest, liar} {
		if msgs := after(n, hashes[2]); len(msgs) != 0 {
			t.Fatalf("%v after the last hash before any fault: %d messages", n, len(msgs))
		}
	}
	liar.SetFaults(Faults{IgnoreLastHash: true, ExpiryNow: true})
	before := ms(tn.nw.Now())
	msgs := after(liar, hashes[2])
	afterT := ms(tn.nw.Now())
	if len(msgs) != 3 {
		t.Fatalf("liar after the last hash: %d messages, want all 3", len(msgs))
	}
	for i, m := range msgs {
		if m["hash"] != hashes[i] {
			t.Fatalf("message %d is %v, want %s", i, m["hash"], hashes[i])
		}
		if exp := int64(m["expiration"].(float64)); exp < before || exp > afterT {
			t.Fatalf("claimed expiry %d, want the node's now (%d..%d)", exp, before, afterT)
		}
	}
	msgs = after(honest, hashes[0])
	if len(msgs) != 2 || msgs[0]["hash"] != hashes[1] {
		t.Fatalf("honest member after the first hash: %v", msgs)
	}
	for _, m := range msgs {
		if exp := int64(m["expiration"].(float64)); exp < real {
			t.Fatalf("honest member's expiry %d, want about an hour ahead", exp)
		}
	}
}

func TestHostileFakeTime(t *testing.T) {
	tn := startNet(t, WithNodes(3))
	u := newUser(t, 72, 0x05)
	n, _ := tn.home(u)
	n.SetFaults(Faults{FakeTime: 1})
	if r := tn.rpcJSON(n, "info", obj{}, 200); r["t"].(float64) != 1 || r["timestamp"].(float64) != 1 {
		t.Fatalf("info %v", r)
	}
	if _, tf := tn.retrieveSigned(t, n, u); tf != 1 {
		t.Fatalf("retrieve t %d", tf)
	}
	// It still checks requests against its real clock.
	old := ms(tn.nw.Now().Add(-time.Hour))
	tn.expectText(n, "retrieve", u.auth(obj{"timestamp": old}, "retrieve"+itoa(old)), 406, "retrieve timestamp too far from current time")
}

func TestHostileDropStores(t *testing.T) {
	tn := startNet(t, WithNodes(4))
	u := newUser(t, 73, 0x05)
	_, members := tn.home(u)
	liar := members[0]
	liar.SetFaults(Faults{DropStores: true})
	r := tn.rpcJSON(liar, "store", obj{"pubkey": u.hex(), "timestamp": ms(tn.nw.Now()), "ttl": 60_000, "data": b64([]byte("lost"))}, 200)
	hash := r["hash"].(string)
	sw := r["swarm"].(map[string]any)
	if len(sw) != len(members) {
		t.Fatalf("claims %d members", len(sw))
	}
	for _, m := range members {
		if m.HasMessage(hash) {
			t.Fatalf("%v stored a message the liar dropped", m)
		}
		e := sw[m.edHex()].(map[string]any)
		sig, _ := base64.StdEncoding.DecodeString(e["signature"].(string))
		if ok := edVerify(m.edPub, []byte(hash), sig); ok != (m == liar) {
			t.Fatalf("%v: signature verifies %v", m, ok)
		}
	}
	// As a forwarded member it claims success and keeps nothing.
	r = tn.rpcJSON(members[1], "store", obj{"pubkey": u.hex(), "timestamp": ms(tn.nw.Now()), "ttl": 60_000, "data": b64([]byte("kept"))}, 200)
	hash = r["hash"].(string)
	raw, _ := json.Marshal(r["swarm"].(map[string]any)[liar.edHex()])
	if liar.HasMessage(hash) || !members[1].HasMessage(hash) || len(raw) < 10 {
		t.Fatalf("forwarded store: liar has it %v, entry has it %v, liar says %s", liar.HasMessage(hash), members[1].HasMessage(hash), raw)
	}
}

// A node that re-encodes every 1:1 message: each is served as stored and once more with a new
// proSig under its recomputed, valid hash; the sealed content is the same. Other data (not a
// WebSocketMessage) is served once.
func TestHostileReencodeMessages(t *testing.T) {
	tn := startNet(t, WithNodes(4), WithSeed(9))
	u := newUser(t, 75, 0x05)
	honest, members := tn.home(u)
	liar := members[1]
	if liar == honest {
		liar = members[0]
	}
	sealed := []byte("sealed box: authenticated, unchanged")
	env, err := proto.Marshal(&pb.Envelope{Type: pb.Envelope_SESSION_MESSAGE.Enum(), Timestamp: proto.Uint64(1234),
		SourceDevice: proto.Uint32(1), Content: sealed, ProSig: make([]byte, 64)})
	if err != nil {
		t.Fatal(err)
	}
	wire, err := proto.Marshal(&pb.WebSocketMessage{Type: pb.WebSocketMessage_REQUEST.Enum(),
		Request: &pb.WebSocketRequestMessage{Verb: proto.String(""), Path: proto.String(""), Body: env, RequestId: proto.Uint64(0)}})
	if err != nil {
		t.Fatal(err)
	}
	h := tn.storeUnsigned(t, honest, u, string(wire))
	tn.storeUnsigned(t, honest, u, "not a message")

	if msgs, _ := tn.retrieveSigned(t, liar, u); len(msgs) != 2 {
		t.Fatalf("before the fault: %d messages", len(msgs))
	}
	liar.SetFaults(Faults{ReencodeMessages: true})
	msgs, _ := tn.retrieveSigned(t, liar, u)
	if len(msgs) != 3 || msgs[0]["hash"] != h {
		t.Fatalf("re-encoding: %d messages, first %v", len(msgs), msgs[0]["hash"])
	}
	copyData, _ := base64.StdEncoding.DecodeString(msgs[1]["data"].(string))
	if msgs[1]["hash"] == h || msgs[1]["hash"] != messageHash(u.acct, 0, copyData) {
		t.Fatalf("copy's hash %v: not new or not valid", msgs[1]["hash"])
	}
	if msgs[1]["timestamp"] != msgs[0]["timestamp"] || msgs[1]["expiration"] != msgs[0]["expiration"] {
		t.Fatalf("copy's times differ: %v, %v", msgs[1], msgs[0])
	}
	var ws pb.WebSocketMessage
	var got pb.Envelope
	if err := proto.Unmarshal(copyData, &ws); err != nil {
		t.Fatal(err)
	}
	if err := proto.Unmarshal(ws.GetRequest().GetBody(), &got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.GetContent(), sealed) || got.GetTimestamp() != 1234 || len(got.GetProSig()) != 64 || bytes.Equal(got.GetProSig(), make([]byte, 64)) {
		t.Fatalf("copy's envelope: content %q, timestamp %d, proSig %x", got.GetContent(), got.GetTimestamp(), got.GetProSig())
	}
	if d, _ := base64.StdEncoding.DecodeString(msgs[2]["data"].(string)); string(d) != "not a message" {
		t.Fatalf("third message %q", d)
	}
	if msgs, _ := tn.retrieveSigned(t, honest, u); len(msgs) != 2 {
		t.Fatalf("honest node: %d messages", len(msgs))
	}
}
