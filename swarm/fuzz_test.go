package swarm

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

const fuzzNode = `{"public_ip":"10.0.0.1","storage_port":22100,"pubkey_ed25519":"` + edHex + `","pubkey_x25519":"` + xHex + `","swarm_id":7}`

func FuzzParseServiceNodes(f *testing.F) {
	f.Add([]byte(`{"result":{"service_node_states":[` + fuzzNode + `]}}`))
	f.Add([]byte(`{"service_node_states":[{"public_ip":"0.0.0.0"}]}`))
	f.Add([]byte(`{"error":{"code":-1,"message":"x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		nodes, _, err := ParseServiceNodes(b)
		if err != nil {
			return
		}
		for _, n := range nodes {
			if !n.Valid() {
				t.Fatalf("invalid node returned: %+v", n)
			}
			// Every parsed node survives a JSON round trip unchanged.
			raw, _ := json.Marshal(n)
			var back Node
			if err := json.Unmarshal(raw, &back); err != nil || back != n {
				t.Fatalf("round trip of %+v: %+v %v", n, back, err)
			}
		}
	})
}

// FuzzParseSwarm covers get_swarm replies and 421 bodies.
func FuzzParseSwarm(f *testing.F) {
	f.Add([]byte(`{"snodes":[{"ip":"1.2.3.4","port_https":443,"pubkey_ed25519":"` + edHex + `"}],"swarm":"ab","t":1}`))
	f.Add([]byte(`{"snodes":[],"swarm":"ffffffffffffffff"}`))
	f.Add([]byte(`wrong swarm`))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := ParseSwarm(b)
		if err != nil {
			return
		}
		for _, n := range info.Nodes {
			if !n.Valid() || n.SwarmID != info.ID {
				t.Fatalf("bad node %+v in %+v", n, info)
			}
		}
	})
}

func FuzzParseRetrieve(f *testing.F) {
	f.Add([]byte(`{"messages":[{"hash":"` + hashA + `","timestamp":1,"expiration":2,"data":"YQ=="}],"more":true,"t":3}`))
	f.Add([]byte(`{"messages":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := ParseRetrieve(b)
		if err != nil {
			return
		}
		for _, m := range res.Messages {
			if len(m.Hash) != 43 {
				t.Fatalf("hash %q", m.Hash)
			}
		}
	})
}

// FuzzParseSwarmResult covers store and the other recursive replies.
func FuzzParseSwarmResult(f *testing.F) {
	f.Add([]byte(`{"swarm":{"a":{"hash":"h","signature":"AAAA","expiry":1},"b":{"failed":true,"code":500}},"hash":"h","t":1}`))
	f.Add([]byte(`{"swarm":{"a":{"deleted":{"0":["x"]},"updated":["y"],"expiry":[1,2],"unchanged":{"z":1}}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := ParseSwarmResult(b)
		if err != nil {
			return
		}
		if res.Succeeded() > len(res.Swarm) || len(res.Members()) != len(res.Swarm) {
			t.Fatal("inconsistent counts")
		}
	})
}

func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(`{"results":[{"code":200,"body":{"t":1}},{"code":421,"body":"x"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := ParseBatch(b)
		if err != nil {
			return
		}
		for _, r := range res {
			if (r.Err() == nil) != r.OK() {
				t.Fatalf("Err and OK disagree for %d", r.Code)
			}
		}
		_ = batchFailure(b)
	})
}

func FuzzParseSmall(f *testing.F) {
	f.Add([]byte(`{"expiries":{"h":1}}`))
	f.Add([]byte(`{"version":[2,8,0],"timestamp":1,"t":2,"hf":[19,4]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseExpiries(b)
		_, _ = ParseInfo(b)
		var n Node
		_ = n.UnmarshalJSON(b)
	})
}

// FuzzRetrieveVerify: whatever a node sends, what survives Verify is genuine, unique, in
// bounds, and the resume point is a genuine hash of the reply.
func FuzzRetrieveVerify(f *testing.F) {
	acct := crypto.NewAccountID(crypto.PrefixStandard, [32]byte{1, 2, 3})
	h := MessageHash(acct, 0, []byte("a"))
	f.Add([]byte(`{"messages":[{"hash":"`+h+`","timestamp":1800000000000,"expiration":1800000060000,"data":"YQ=="}],"more":true,"t":3}`), int64(1_800_000_000_000), int16(0))
	f.Add([]byte(`{"messages":[{"hash":"`+h+`","timestamp":1,"expiration":99999999999999,"data":"YQ=="},{"hash":"`+h+`","timestamp":"1800000000000","expiration":1800000060000,"data":"YQ=="}]}`), int64(1_800_000_000_000), int16(0))
	f.Add([]byte(`{"messages":[{"hash":"`+hashA+`","timestamp":1800000000000,"expiration":1800000060000,"data":"YQ=="}],"more":1}`), int64(0), int16(-10))
	f.Fuzz(func(t *testing.T, b []byte, nowMS int64, ns int16) {
		res, err := ParseRetrieve(b)
		if err != nil {
			return
		}
		n := len(res.Messages)
		hashes := map[string]bool{}
		for _, m := range res.Messages {
			hashes[m.Hash] = true
		}
		now := time.UnixMilli(nowMS)
		res.Verify(acct, Namespace(ns), now)
		if len(res.Messages)+len(res.Dropped) != n {
			t.Fatalf("%d kept + %d dropped of %d", len(res.Messages), len(res.Dropped), n)
		}
		seen := map[string]bool{}
		for _, m := range res.Messages {
			if MessageHash(acct, Namespace(ns), m.Data) != m.Hash || seen[m.Hash] || len(m.Data) > MaxMessageSize {
				t.Fatalf("kept %+v", m)
			}
			if m.Expiration.After(now.Add(MaxTTL+ClockTolerance)) || m.Timestamp.After(now.Add(ClockTolerance)) {
				t.Fatalf("kept out-of-bounds times %v %v at %v", m.Timestamp, m.Expiration, now)
			}
			seen[m.Hash] = true
		}
		if res.LastHash != "" && !hashes[res.LastHash] {
			t.Fatalf("resume point %q not in the reply", res.LastHash)
		}
	})
}

// FuzzClock: a liar in the minority never moves the clock that three honest nodes agree on,
// whatever times and round trips it reports.
func FuzzClock(f *testing.F) {
	f.Add(int64(3_600_000), int64(1), int64(0), uint8(3))
	f.Add(int64(-5_000), int64(-1<<62), int64(10_000), uint8(1))
	f.Add(int64(0), int64(1_800_000_000_000), int64(-100), uint8(7))
	f.Fuzz(func(t *testing.T, honest, lie, rtt int64, repeats uint8) {
		if honest > 1<<40 || honest < -(1<<40) {
			return
		}
		base := time.UnixMilli(1_800_000_000_000)
		c := newNetClock(func() time.Time { return base }, func() int { return 100 })
		for i := 0; i < 3; i++ {
			c.observe(nodeKey(i), base.UnixMilli()+honest+int64(i)*100, base, base)
		}
		want := c.offsetDuration()
		if want != time.Duration(honest+100)*time.Millisecond {
			t.Fatalf("honest offset %v, want %dms", want, honest+100)
		}
		sent := base
		received := base.Add(time.Duration(rtt) * time.Millisecond)
		for i := 0; i < int(repeats%8)+1; i++ {
			c.observe(nodeKey(100), lie, sent, received)
			if got := c.offsetDuration(); got-want > clockAgree || want-got > clockAgree {
				t.Fatalf("one liar (t=%d, rtt %d) moved the clock from %v to %v", lie, rtt, want, got)
			}
		}
	})
}
