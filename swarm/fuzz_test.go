package swarm

import (
	"encoding/json"
	"testing"
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
