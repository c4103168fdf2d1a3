package swarm

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/sessiongo/sdk/crypto"
)

// InvalidSwarmID is the swarm ID of a node that is in no swarm (for example a decommissioned
// node). Such nodes are never chosen as an account's swarm.
const InvalidSwarmID = ^uint64(0)

// Node is one storage node: where to reach it over HTTPS and its keys. Node is comparable.
type Node struct {
	IP      netip.Addr // public IPv4 address
	Port    uint16     // HTTPS storage port (storage_port, port_https)
	Ed25519 [32]byte   // the node's Ed25519 public key (its identity, used in onion routing)
	X25519  [32]byte   // the node's X25519 public key (onion layers are encrypted to it)
	SwarmID uint64     // the swarm it belongs to, or InvalidSwarmID
}

// AddrPort returns the node's HTTPS address.
func (n Node) AddrPort() netip.AddrPort { return netip.AddrPortFrom(n.IP, n.Port) }

// String returns "ip:port/ed25519-prefix", enough to tell nodes apart in logs.
func (n Node) String() string {
	return n.AddrPort().String() + "/" + hex.EncodeToString(n.Ed25519[:4])
}

// Valid reports whether the node has a usable address, port and Ed25519 key.
func (n Node) Valid() bool {
	return n.IP.Is4() && !n.IP.IsUnspecified() && n.Port != 0 && n.Ed25519 != [32]byte{} && n.X25519 != [32]byte{}
}

// nodeJSON accepts every spelling the seed, get_service_nodes and get_swarm replies use.
type nodeJSON struct {
	IP            string          `json:"ip"`
	PublicIP      string          `json:"public_ip"`
	PortHTTPS     json.RawMessage `json:"port_https"`
	StoragePort   json.RawMessage `json:"storage_port"`
	Port          json.RawMessage `json:"port"`
	Ed25519       string          `json:"pubkey_ed25519"`
	X25519        string          `json:"pubkey_x25519"`
	SwarmID       json.RawMessage `json:"swarm_id"`
	Swarm         json.RawMessage `json:"swarm"`
	ServiceNodePK string          `json:"service_node_pubkey"`
}

// MarshalJSON writes the node in the get_service_nodes field names (swarm_id as a decimal
// integer), which UnmarshalJSON reads back.
func (n Node) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"public_ip":`)
	b.WriteString(strconv.Quote(n.IP.String()))
	b.WriteString(`,"storage_port":`)
	b.WriteString(strconv.FormatUint(uint64(n.Port), 10))
	b.WriteString(`,"pubkey_ed25519":"`)
	b.WriteString(hex.EncodeToString(n.Ed25519[:]))
	b.WriteString(`","pubkey_x25519":"`)
	b.WriteString(hex.EncodeToString(n.X25519[:]))
	b.WriteString(`","swarm_id":`)
	b.WriteString(strconv.FormatUint(n.SwarmID, 10))
	b.WriteString("}")
	return b.Bytes(), nil
}

// UnmarshalJSON reads a node from a get_service_nodes entry (public_ip, storage_port,
// swarm_id as an integer), a get_swarm/421 entry (ip, port_https or port as a string), or
// MarshalJSON's output. A missing X25519 key is derived from the Ed25519 key; a missing swarm
// ID is InvalidSwarmID (get_swarm entries get theirs from the enclosing reply).
func (n *Node) UnmarshalJSON(data []byte) error {
	var j nodeJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidNode, err)
	}
	var out Node
	ip := j.PublicIP
	if ip == "" {
		ip = j.IP
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("%w: address %q", ErrInvalidNode, shorten(ip))
	}
	out.IP = addr.Unmap()
	port, ok := uint16Field(j.PortHTTPS, j.StoragePort, j.Port)
	if !ok {
		return fmt.Errorf("%w: no valid port", ErrInvalidNode)
	}
	out.Port = port
	if out.Ed25519, err = hexKey(j.Ed25519); err != nil {
		return fmt.Errorf("%w: pubkey_ed25519: %w", ErrInvalidNode, err)
	}
	if j.X25519 != "" {
		if out.X25519, err = hexKey(j.X25519); err != nil {
			return fmt.Errorf("%w: pubkey_x25519: %w", ErrInvalidNode, err)
		}
	} else if out.X25519, err = crypto.Ed25519PublicToX25519(out.Ed25519); err != nil {
		return fmt.Errorf("%w: pubkey_ed25519: %w", ErrInvalidNode, err)
	}
	out.SwarmID = InvalidSwarmID
	if len(j.SwarmID) > 0 && string(j.SwarmID) != "null" {
		id, err := parseSwarmIDInt(j.SwarmID)
		if err != nil {
			return fmt.Errorf("%w: swarm_id: %w", ErrInvalidNode, err)
		}
		out.SwarmID = id
	} else if len(j.Swarm) > 0 && string(j.Swarm) != "null" {
		id, err := parseSwarmIDHex(j.Swarm)
		if err != nil {
			return fmt.Errorf("%w: swarm: %w", ErrInvalidNode, err)
		}
		out.SwarmID = id
	}
	*n = out
	return nil
}

// uint16Field returns the first present field that holds a port (an integer or a decimal
// string) in 1..65535.
func uint16Field(fields ...json.RawMessage) (uint16, bool) {
	for _, f := range fields {
		if len(f) == 0 || string(f) == "null" {
			continue
		}
		s := strings.Trim(string(f), `"`)
		v, err := strconv.ParseUint(s, 10, 16)
		if err != nil || v == 0 {
			return 0, false
		}
		return uint16(v), true
	}
	return 0, false
}

func hexKey(s string) ([32]byte, error) {
	var k [32]byte
	if len(s) != 64 {
		return k, fmt.Errorf("want 64 hex digits, got %d characters", len(s))
	}
	if _, err := hex.Decode(k[:], []byte(s)); err != nil {
		return k, fmt.Errorf("not hex")
	}
	return k, nil
}

// parseSwarmIDInt reads oxend's swarm_id: a JSON integer (which may exceed float64 precision,
// so it is read from the raw text) or a decimal string.
func parseSwarmIDInt(raw json.RawMessage) (uint64, error) {
	s := strings.TrimSpace(string(raw))
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, err
		}
		s = str
	}
	return strconv.ParseUint(s, 10, 64)
}

// parseSwarmIDHex reads the storage server's "swarm" field: lowercase hex without 0x.
func parseSwarmIDHex(raw json.RawMessage) (uint64, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, err
	}
	if s == "" || len(s) > 16 {
		return 0, fmt.Errorf("bad swarm id %q", shorten(s))
	}
	return strconv.ParseUint(s, 16, 64)
}

func shorten(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ParseServiceNodes reads the nodes of an oxend get_service_nodes (or get_n_service_nodes)
// reply, in either of the shapes a seed or a storage node's oxend_request returns:
// {"result":{"service_node_states":[...]}} (JSON-RPC envelope included or not) or
// {"service_node_states":[...]}. Entries that are unusable (unspecified IP 0.0.0.0, missing
// keys or port) are skipped; the count of skipped entries is returned alongside.
func ParseServiceNodes(body []byte) (nodes []Node, skipped int, err error) {
	var env struct {
		Result *struct {
			States []json.RawMessage `json:"service_node_states"`
		} `json:"result"`
		States []json.RawMessage `json:"service_node_states"`
		Error  json.RawMessage   `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, 0, fmt.Errorf("%w: service nodes: %w", ErrInvalidResponse, err)
	}
	states := env.States
	if env.Result != nil {
		states = env.Result.States
	} else if states == nil {
		if len(env.Error) > 0 && string(env.Error) != "null" {
			return nil, 0, fmt.Errorf("%w: service nodes: error %s", ErrInvalidResponse, shorten(string(env.Error)))
		}
		return nil, 0, fmt.Errorf("%w: service nodes: no service_node_states", ErrInvalidResponse)
	}
	seen := make(map[[32]byte]bool, len(states))
	for _, raw := range states {
		var n Node
		if err := n.UnmarshalJSON(raw); err != nil || !n.Valid() || seen[n.Ed25519] {
			skipped++
			continue
		}
		seen[n.Ed25519] = true
		nodes = append(nodes, n)
	}
	return nodes, skipped, nil
}

// SwarmInfo is a swarm as a node describes it: the get_swarm reply, or the body of a 421.
type SwarmInfo struct {
	ID    uint64 // InvalidSwarmID when the node knows no swarm
	Nodes []Node // members with a usable address (entries at 0.0.0.0 are dropped)
	T     int64  // the node's clock (ms since the epoch), 0 if absent
}

// ParseSwarm reads a get_swarm reply or a 421 body:
// {"snodes":[{ip, port_https, pubkey_ed25519, pubkey_x25519, ...}], "swarm":"<hex>", "t":ms}.
// Every node gets the reply's swarm ID.
func ParseSwarm(body []byte) (SwarmInfo, error) {
	var j struct {
		Snodes []json.RawMessage `json:"snodes"`
		Swarm  json.RawMessage   `json:"swarm"`
		T      json.RawMessage   `json:"t"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return SwarmInfo{}, fmt.Errorf("%w: swarm: %w", ErrInvalidResponse, err)
	}
	if j.Snodes == nil {
		return SwarmInfo{}, fmt.Errorf("%w: swarm: no snodes", ErrInvalidResponse)
	}
	info := SwarmInfo{ID: InvalidSwarmID}
	if len(j.Swarm) > 0 && string(j.Swarm) != "null" {
		id, err := parseSwarmIDHex(j.Swarm)
		if err != nil {
			return SwarmInfo{}, fmt.Errorf("%w: swarm: %w", ErrInvalidResponse, err)
		}
		info.ID = id
	}
	info.T = parseT(j.T)
	for _, raw := range j.Snodes {
		var n Node
		if err := n.UnmarshalJSON(raw); err != nil || !n.Valid() {
			continue
		}
		n.SwarmID = info.ID
		info.Nodes = append(info.Nodes, n)
	}
	return info, nil
}

// parseT reads a "t" field (integer ms); anything else gives 0.
func parseT(raw json.RawMessage) int64 {
	if len(raw) == 0 {
		return 0
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}
