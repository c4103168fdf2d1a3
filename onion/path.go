package onion

import (
	"net/netip"
	"strings"

	"github.com/sessiongo/sdk/swarm"
)

// Policy thresholds of the client network policy (libsession).
const (
	// PathFailureThreshold is how many failures drop a path.
	PathFailureThreshold = 3
	// NodeFailureThreshold is the failure count from which a node is not used in new paths.
	NodeFailureThreshold = 3
)

// Diversity says which nodes may not share a path. The destination node of a request is held
// to the same rule against the path's nodes.
type Diversity uint8

const (
	// DistinctSubnets (the default): no two nodes in one /24 (IPv4) or /48 (IPv6). It is
	// stricter than libsession, which only compares IPs, so that one hosting network cannot
	// see two hops of a path.
	DistinctSubnets Diversity = iota
	// DistinctIPs: no two nodes with the same IP, as libsession does.
	DistinctIPs
	// DistinctNodes: only distinct nodes. For test networks whose nodes share one host (the
	// loopback devnet); never for the real network.
	DistinctNodes
)

// diversityKey is what must differ between nodes of one path: the node's Ed25519 key
// (DistinctNodes), its address (DistinctIPs, as a full-length prefix) or its /24 or /48
// (DistinctSubnets). It is comparable, so that the path checks of every request allocate
// nothing.
type diversityKey struct {
	ed     [32]byte
	prefix netip.Prefix
}

// key returns what must differ between nodes of one path under d.
func (d Diversity) key(n swarm.Node) diversityKey {
	switch d {
	case DistinctNodes:
		return diversityKey{ed: n.Ed25519}
	case DistinctIPs:
		return diversityKey{prefix: netip.PrefixFrom(n.IP, n.IP.BitLen())}
	}
	bits := 24
	if n.IP.Is6() && !n.IP.Is4In6() {
		bits = 48
	}
	p, err := n.IP.Unmap().Prefix(bits)
	if err != nil { // no valid address: compared as an address
		return diversityKey{prefix: netip.PrefixFrom(n.IP, n.IP.BitLen())}
	}
	return diversityKey{prefix: p}
}

// Path is a snapshot of one onion path, for status displays and tests.
type Path struct {
	Nodes    []swarm.Node // guard first
	Failures int          // failures counted against the path (it is dropped at PathFailureThreshold)
	Pending  int          // requests in flight on it
}

// path is a live path. Its fields are guarded by Transport.mu.
type path struct {
	nodes    []swarm.Node
	failures int
	pending  int
	dropped  bool
}

func hopsOf(nodes []swarm.Node) []Hop {
	h := make([]Hop, len(nodes))
	for i, n := range nodes {
		h[i] = Hop{Ed25519: n.Ed25519, X25519: n.X25519}
	}
	return h
}

// conflicts reports whether node may not be used with the path (as its destination).
func (p *path) conflicts(d Diversity, node swarm.Node) bool {
	k := d.key(node)
	for _, n := range p.nodes {
		if n.Ed25519 == node.Ed25519 || d.key(n) == k {
			return true
		}
	}
	return false
}

// nextNodeNotFound extracts the Ed25519 key from a hop's "Next node not found: <hex>" reply
// (optionally after "502 Bad Gateway\n\n").
func nextNodeNotFound(body []byte) ([32]byte, bool) {
	const marker = "Next node not found: "
	s := string(body)
	i := strings.Index(s, marker)
	if i < 0 {
		return [32]byte{}, false
	}
	s = strings.TrimSpace(s[i+len(marker):])
	if len(s) < 64 {
		return [32]byte{}, false
	}
	k, err := parseKeyHex(s[:64])
	return k, err == nil
}
