package swarm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"testing"
)

const (
	edHex = "cbd569f56fb13ea95a3f0c05c331cc24139c0090feb412069dc49fab34406ece"
	xHex  = "1111111111111111111111111111111111111111111111111111111111111111"
)

func TestParseServiceNodes(t *testing.T) {
	body := `{"jsonrpc":"2.0","id":0,"result":{"height":5,"service_node_states":[
	 {"public_ip":"10.0.0.1","storage_port":22100,"pubkey_ed25519":"` + edHex + `","pubkey_x25519":"` + xHex + `","swarm_id":18446744073709551614},
	 {"public_ip":"0.0.0.0","storage_port":22100,"pubkey_ed25519":"` + edHex + `","swarm_id":1},
	 {"public_ip":"10.0.0.2","storage_port":"22101","pubkey_ed25519":"` + edHex[:62] + `"},
	 {"public_ip":"10.0.0.3","storage_port":0,"pubkey_ed25519":"` + edHex + `"},
	 {"public_ip":"10.0.0.4","storage_port":443,"pubkey_ed25519":"` + edHex + `","swarm":"abc"}
	]}}`
	nodes, skipped, err := ParseServiceNodes([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	// The last entry repeats the first node's key: skipped as a duplicate.
	if len(nodes) != 1 || skipped != 4 {
		t.Fatalf("nodes %v skipped %d", nodes, skipped)
	}
	n := nodes[0]
	if n.IP != netip.MustParseAddr("10.0.0.1") || n.Port != 22100 || n.SwarmID != 18446744073709551614 {
		t.Fatalf("node %+v", n)
	}
	if fmt.Sprintf("%x", n.X25519) != xHex {
		t.Fatalf("x25519 %x", n.X25519)
	}
	// Round trip through MarshalJSON.
	b, _ := json.Marshal(n)
	var back Node
	if err := json.Unmarshal(b, &back); err != nil || back != n {
		t.Fatalf("round trip %s: %+v %v", b, back, err)
	}
	for _, bad := range []string{`[]`, `{}`, `{"error":{"code":-1}}`, `nope`} {
		if _, _, err := ParseServiceNodes([]byte(bad)); !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestNodeDerivesX25519(t *testing.T) {
	var n Node
	if err := json.Unmarshal([]byte(`{"ip":"1.2.3.4","port":"443","pubkey_ed25519":"`+edHex+`"}`), &n); err != nil {
		t.Fatal(err)
	}
	if n.X25519 == [32]byte{} || n.SwarmID != InvalidSwarmID || n.Port != 443 {
		t.Fatalf("%+v", n)
	}
}

func TestParseSwarm(t *testing.T) {
	body := `{"snodes":[{"address":"x.snode","pubkey_legacy":"00","pubkey_x25519":"` + xHex + `","pubkey_ed25519":"` + edHex + `","port":"22100","port_https":22100,"port_omq":22200,"port_quic":22200,"ip":"10.1.2.3"},
	{"ip":"0.0.0.0","port_https":1,"pubkey_ed25519":"` + edHex + `"}],"swarm":"7fffffffffffffff","t":1700000000123,"hf":[19,4]}`
	info, err := ParseSwarm([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != 0x7fffffffffffffff || len(info.Nodes) != 1 || info.T != 1700000000123 || info.Nodes[0].SwarmID != info.ID {
		t.Fatalf("%+v", info)
	}
	empty, err := ParseSwarm([]byte(`{"snodes":[],"swarm":"ffffffffffffffff"}`))
	if err != nil || empty.ID != InvalidSwarmID || len(empty.Nodes) != 0 {
		t.Fatalf("%+v %v", empty, err)
	}
	for _, bad := range []string{`{}`, `{"snodes":[],"swarm":"zz"}`, `{"snodes":[],"swarm":"11111111111111111"}`, `[1]`, ``} {
		if _, err := ParseSwarm([]byte(bad)); !errors.Is(err, ErrInvalidResponse) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestNodeErrorIs(t *testing.T) {
	cases := map[int]error{421: ErrWrongSwarm, 406: ErrClockSkew, 425: ErrClockSkew, 401: ErrUnauthorized,
		403: ErrForbidden, 400: ErrBadRequest, 404: ErrNotFound, 429: ErrRateLimited, 503: ErrNodeNotReady, 500: ErrServer, 502: ErrServer}
	for status, want := range cases {
		err := fmt.Errorf("wrapped: %w", NewNodeError(Node{}, status, []byte("x")))
		if !errors.Is(err, want) {
			t.Errorf("%d is not %v", status, want)
		}
		var ne *NodeError
		if !errors.As(err, &ne) || ne.Status != status {
			t.Errorf("%d: As failed", status)
		}
		if status != 421 && errors.Is(err, ErrWrongSwarm) {
			t.Errorf("%d matches ErrWrongSwarm", status)
		}
	}
	if errors.Is(NewNodeError(Node{}, 503, nil), ErrServer) {
		t.Error("503 matches ErrServer")
	}
	if got := NewNodeError(Node{}, 999, []byte{0xff, 0xfe}).Error(); got != `swarm: 999` {
		t.Errorf("%s", got)
	}
	n := Node{IP: netip.MustParseAddr("1.2.3.4"), Port: 5, Ed25519: [32]byte{0xab}}
	if got := NewNodeError(n, 421, []byte("x")).Error(); got != `swarm: node 1.2.3.4:5/ab000000: 421 Misdirected Request: "x"` {
		t.Errorf("%s", got)
	}
}

func TestClosestSwarmEdges(t *testing.T) {
	if _, ok := ClosestSwarm(nil, 5); ok {
		t.Fatal("empty list chose a swarm")
	}
	if _, ok := ClosestSwarm([]uint64{InvalidSwarmID}, 5); ok {
		t.Fatal("invalid-only list chose a swarm")
	}
	if id, ok := ClosestSwarm([]uint64{7}, 1<<63); !ok || id != 7 {
		t.Fatal("single swarm")
	}
	// The invalid ID is ignored even when it would be nearest.
	if id, _ := ClosestSwarm([]uint64{0, 1 << 62, InvalidSwarmID}, InvalidSwarmID-1); id != 0 {
		t.Fatalf("got %d", id)
	}
	// A swarm at 0 is distance 1 from 2^64-1.
	if id, _ := ClosestSwarm([]uint64{0, 1 << 63}, ^uint64(0)); id != 0 {
		t.Fatalf("got %d", id)
	}
}
