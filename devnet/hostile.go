package devnet

import (
	"encoding/base64"
	"net/http"
	"time"

	"google.golang.org/protobuf/proto"

	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// Hostile behaviours of a node (Faults fields below DeleteBeforeAll): what a malicious node could
// send, written from the storage-server spec's formats. See Faults.

// junkExpiry is how far ahead lying expiries are (years, beyond any TTL).
const junkExpiry = 5 * 365 * 24 * time.Hour

// lieInRetrieve rewrites the messages of a retrieve reply as f asks.
func (n *Node) lieInRetrieve(f Faults, acct account, ns int16, now int64, out []obj) []obj {
	n.mu.Lock()
	defer n.mu.Unlock()
	randHash := func() string {
		var b [32]byte
		for i := range b {
			b[i] = byte(n.faultRng.IntN(256))
		}
		return base64.RawStdEncoding.EncodeToString(b[:])
	}
	if f.ReplayOld {
		live := map[string]bool{}
		for _, m := range out {
			live[m["hash"].(string)] = true
		}
		for _, m := range n.store.history(acct, ns) {
			if !live[m.hash] && !n.store.has(m.hash, now) {
				out = append(out, obj{"hash": m.hash, "timestamp": m.timestamp, "expiration": now + int64(24*time.Hour/time.Millisecond),
					"data": base64.StdEncoding.EncodeToString(m.data)})
			}
		}
	}
	var res []obj
	for _, m := range out {
		if f.CorruptData {
			data, _ := base64.StdEncoding.DecodeString(m["data"].(string))
			data = append([]byte(nil), data...)
			if len(data) == 0 {
				data = []byte{0}
			}
			data[n.faultRng.IntN(len(data))] ^= byte(1 + n.faultRng.IntN(255))
			m["data"] = base64.StdEncoding.EncodeToString(data)
		}
		if f.JunkExpiry {
			m["expiration"] = now + junkExpiry.Milliseconds()
		}
		if f.ExpiryNow {
			m["expiration"] = now
		}
		res = append(res, m)
		if f.ReencodeMessages && ns == 0 {
			if data, ok := n.reencode(m["data"].(string)); ok {
				dup := obj{}
				for k, v := range m {
					dup[k] = v
				}
				dup["hash"] = messageHash(acct, ns, data)
				dup["data"] = base64.StdEncoding.EncodeToString(data)
				res = append(res, dup)
			}
		}
		for range f.DuplicateMessages {
			dup := obj{}
			for k, v := range m {
				dup[k] = v
			}
			dup["hash"] = randHash()
			res = append(res, dup)
		}
	}
	for range f.JunkMessages {
		data := make([]byte, 16+n.faultRng.IntN(100))
		for i := range data {
			data[i] = byte(n.faultRng.IntN(256))
		}
		res = append(res, obj{"hash": randHash(), "timestamp": now, "expiration": now + junkExpiry.Milliseconds(),
			"data": base64.StdEncoding.EncodeToString(data)})
	}
	if res == nil {
		res = []obj{}
	}
	return res
}

// reencode returns a stored 1:1 message (base64 of a WebSocketMessage wrapping an Envelope)
// re-encoded with a new random 64-byte proSig, as a malicious node can: nothing but the
// Envelope's sealed content is authenticated. It reports false for data that is not such a
// message. n.mu is held.
func (n *Node) reencode(b64data string) ([]byte, bool) {
	wire, err := base64.StdEncoding.DecodeString(b64data)
	if err != nil {
		return nil, false
	}
	var ws pb.WebSocketMessage
	if proto.Unmarshal(wire, &ws) != nil || len(ws.GetRequest().GetBody()) == 0 {
		return nil, false
	}
	var env pb.Envelope
	if proto.Unmarshal(ws.GetRequest().GetBody(), &env) != nil || len(env.GetContent()) == 0 {
		return nil, false
	}
	env.ProSig = make([]byte, 64)
	for i := range env.ProSig {
		env.ProSig[i] = byte(n.faultRng.IntN(256))
	}
	body, err := proto.Marshal(&env)
	if err != nil {
		return nil, false
	}
	ws.Request.Body = body
	data, err := proto.Marshal(&ws)
	if err != nil {
		return nil, false
	}
	return data, true
}

// dropStore answers a store it does not carry out: its own signed result, and results for the
// other members that it signs itself (they do not verify under the members' keys).
func (n *Node) dropStore(r *storeReq) reply {
	now := n.nowMS()
	if msDiff(r.ts, now) > storeTolerance || msDiff(now, r.exp) > storeTolerance {
		return textR(http.StatusNotAcceptable, "Timestamp error: check your clock")
	}
	hash := messageHash(r.acct, r.ns, r.data)
	mine := obj{"hash": hash, "signature": n.sign([]byte(hash)), "expiry": r.exp, "t": n.tMS()}
	swarm := obj{n.edHex(): mine}
	for _, p := range n.peers() {
		swarm[p.edHex()] = obj{"hash": hash, "signature": n.sign([]byte(hash)), "expiry": r.exp}
	}
	return jsonR(http.StatusOK, obj{"swarm": swarm, "hash": hash, "t": n.tMS(), "hf": hf()})
}
