package devnet

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/chacha20poly1305"
)

// This file is the fake oxend behind every node (oxend_request) and the seed node: the service
// node list with oxend's field names, and ONS records registered through WithName/RegisterName.

type onsRecord struct {
	value []byte // XChaCha20-Poly1305 ciphertext of the 33-byte Session ID
	nonce [24]byte
}

var onsNameRE = regexp.MustCompile(`^\w([\w-]*\w)?$`)

// RegisterName registers (or replaces) an ONS name for a Session ID (66 hex, 05 prefix). The
// record is encrypted as oxend stores it: XChaCha20-Poly1305 under BLAKE2b-256(name, key =
// BLAKE2b-256(name)) with a random nonce, name lower-cased.
func (nw *Network) RegisterName(name, sessionID string) error {
	name = strings.ToLower(name)
	if !onsNameRE.MatchString(name) || len(name) > 64 {
		return fmt.Errorf("%w: name %q", ErrInvalidName, name)
	}
	id, err := hex.DecodeString(sessionID)
	if err != nil || len(id) != 33 || id[0] != 0x05 {
		return fmt.Errorf("%w: session ID must be 66 hex digits starting with 05", ErrInvalidName)
	}
	var rec onsRecord
	for i := 0; i < 3; i++ {
		v := nw.randUint64()
		for j := 0; j < 8; j++ {
			rec.nonce[i*8+j] = byte(v >> (8 * j))
		}
	}
	if rec.value, err = onsSeal(name, id, rec.nonce); err != nil {
		return err
	}
	nameHash := blake2b.Sum256([]byte(name))
	nw.mu.Lock()
	nw.names[nameHash] = rec
	nw.mu.Unlock()
	return nil
}

// onsSeal encrypts an ONS value: XChaCha20-Poly1305 under BLAKE2b-256(name, key=BLAKE2b-256(name)).
func onsSeal(name string, value []byte, nonce [24]byte) ([]byte, error) {
	nameHash := blake2b.Sum256([]byte(name))
	key, err := blake2b.New256(nameHash[:])
	if err != nil {
		return nil, fmt.Errorf("devnet: ons key: %w", err)
	}
	key.Write([]byte(name))
	aead, err := chacha20poly1305.NewX(key.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("devnet: ons cipher: %w", err)
	}
	return aead.Seal(nil, nonce[:], value, nil), nil
}

// oxendError is an RPC error from the fake oxend (400 with its message through oxend_request).
type oxendError string

func (e oxendError) Error() string { return string(e) }

// oxend runs one oxend RPC endpoint.
func (nw *Network) oxend(endpoint string, p params) (any, error) {
	switch endpoint {
	case "get_service_nodes", "get_n_service_nodes", "get_all_service_nodes":
		return nw.getServiceNodes(p)
	case "ons_resolve", "lns_resolve":
		return nw.onsResolve(p)
	}
	return nil, oxendError("Method not found: " + endpoint)
}

func (nw *Network) onsResolve(p params) (any, error) {
	typ, ok, err := p.int64Of("type", false)
	if err != nil || !ok || typ < 0 || typ > 2 {
		return nil, oxendError("Invalid ONS type")
	}
	s, _, err := p.str("name_hash")
	if err != nil {
		return nil, oxendError("Invalid name_hash")
	}
	var h []byte
	switch len(s) {
	case 64:
		h, err = hex.DecodeString(s)
	case 43, 44:
		h, err = decodeB64(s)
	default:
		err = fmt.Errorf("bad length")
	}
	if err != nil || len(h) != 32 {
		return nil, oxendError("Invalid name_hash: expected 32 bytes as base64 or hex")
	}
	var key [32]byte
	copy(key[:], h)
	nw.mu.RLock()
	rec, found := nw.names[key]
	nw.mu.RUnlock()
	if !found || typ != 0 {
		return obj{}, nil
	}
	return obj{"encrypted_value": hex.EncodeToString(rec.value), "nonce": hex.EncodeToString(rec.nonce[:])}, nil
}

// fieldFilter decodes oxend's `fields`: a list (entries "-name" remove), a legacy {name: true}
// dict, or absent/"all" for every field.
type fieldFilter struct {
	all     bool
	include map[string]bool
	exclude map[string]bool
}

func (f fieldFilter) want(name string) bool {
	if f.exclude[name] {
		return false
	}
	return f.all || f.include[name]
}

func parseFields(p params) (fieldFilter, error) {
	f := fieldFilter{include: map[string]bool{}, exclude: map[string]bool{}}
	raw, ok := p["fields"]
	if !ok || isNull(raw) {
		f.all = true
		return f, nil
	}
	var list []string
	var dict map[string]bool
	var one string
	switch {
	case json.Unmarshal(raw, &list) == nil:
	case json.Unmarshal(raw, &dict) == nil:
		for k, v := range dict {
			if v {
				list = append(list, k)
			}
		}
	case json.Unmarshal(raw, &one) == nil:
		list = []string{one}
	default:
		return f, oxendError("Invalid fields")
	}
	onlyExcludes := true
	for _, name := range list {
		switch {
		case name == "all":
			f.all = true
			onlyExcludes = false
		case strings.HasPrefix(name, "-"):
			f.exclude[name[1:]] = true
		default:
			f.include[name] = true
			onlyExcludes = false
		}
	}
	if onlyExcludes {
		f.all = true
	}
	return f, nil
}

func (nw *Network) getServiceNodes(p params) (any, error) {
	f, err := parseFields(p)
	if err != nil {
		return nil, err
	}
	nw.mu.RLock()
	height := nw.height
	blockHash := hex.EncodeToString(nw.blockHash[:])
	nodes := append([]*Node(nil), nw.nodes...)
	assign := make(map[[32]byte]uint64, len(nw.assign))
	for k, v := range nw.assign {
		assign[k] = v
	}
	nw.mu.RUnlock()
	top := obj{"status": "OK", "height": height}
	for k, v := range map[string]any{"target_height": height, "block_hash": blockHash, "hardfork": hfMajor, "snode_revision": hfMinor} {
		if f.want(k) {
			top[k] = v
		}
	}
	if poll, ok, _ := p.str("poll_block_hash"); ok && poll == blockHash {
		top["unchanged"] = true
		top["block_hash"] = blockHash
		return top, nil
	}
	var filter map[string]bool
	if raw, ok := p["service_node_pubkeys"]; ok && !isNull(raw) {
		var keys []string
		if json.Unmarshal(raw, &keys) != nil {
			return nil, oxendError("Invalid service_node_pubkeys")
		}
		filter = map[string]bool{}
		for _, k := range keys {
			filter[strings.ToLower(k)] = true
		}
	}
	states := []obj{}
	for _, n := range nodes {
		if filter != nil && !filter[n.edHex()] {
			continue
		}
		sid, ok := assign[n.edPub]
		if !ok {
			sid = InvalidSwarmID
		}
		port := n.Port()
		all := obj{
			"service_node_pubkey":     n.edHex(),
			"registration_height":     1,
			"requested_unlock_height": 0,
			"active":                  true,
			"funded":                  true,
			"swarm_id":                sid,
			"swarm":                   strconv.FormatUint(sid, 16),
			"public_ip":               "127.0.0.1",
			"storage_port":            port,
			"storage_lmq_port":        port,
			"quorumnet_port":          port,
			"pubkey_ed25519":          n.edHex(),
			"pubkey_x25519":           hex.EncodeToString(n.xPub[:]),
			"storage_server_version":  storageServerVersion,
			"last_uptime_proof":       nw.clock().Unix(),
		}
		st := obj{}
		for k, v := range all {
			if f.want(k) {
				st[k] = v
			}
		}
		states = append(states, st)
	}
	if limit, ok, _ := p.int64Of("limit", false); ok && limit != 0 {
		// A random subset (negative: shuffle only), from the network's seeded RNG.
		for i := len(states) - 1; i > 0; i-- {
			j := int(nw.randUint64() % uint64(i+1))
			states[i], states[j] = states[j], states[i]
		}
		if limit > 0 && int(limit) < len(states) {
			states = states[:limit]
		}
	}
	top["service_node_states"] = states
	return top, nil
}

func parseOxendRequest(p params) (handler, error) {
	endpoint, err := p.reqStr("endpoint")
	if err != nil {
		return nil, err
	}
	switch endpoint {
	case "get_service_nodes", "ons_resolve":
	default:
		return nil, perr("Invalid oxend endpoint '%s'", endpoint)
	}
	sub := params{}
	if raw, ok := p["params"]; ok && !isNull(raw) {
		var s string
		if json.Unmarshal(raw, &s) == nil { // bt form: a string holding JSON
			raw = json.RawMessage(s)
		}
		var ok bool
		if sub, ok = decodeParams(raw); !ok {
			return nil, perr("Invalid value given for 'params': expected a JSON object")
		}
	}
	return func(_ context.Context, n *Node) reply {
		res, err := n.nw.oxend(endpoint, sub)
		if err != nil {
			return textR(http.StatusBadRequest, err.Error())
		}
		return jsonR(http.StatusOK, obj{"result": res, "t": n.tMS(), "hf": hf()})
	}, nil
}

// ---- seed node ----

func (nw *Network) startSeed() error {
	cert, err := nw.issueCert()
	if err != nil {
		return err
	}
	nw.seedCert = cert
	return nw.listenSeed("127.0.0.1:0")
}

func (nw *Network) listenSeed(addr string) error {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return fmt.Errorf("devnet: seed listen: %w", err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(nw.serveSeed),
		TLSConfig:         serverTLS(nw.seedCert),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          discardLogger(),
	}
	if err := nw.serve(srv, ln); err != nil {
		return err
	}
	nw.seedMu.Lock()
	nw.seedSrv = srv
	nw.seedURL = "https://" + ln.Addr().String()
	nw.seedMu.Unlock()
	return nil
}

// StopSeed takes the seed offline (connections refused), for tests of bootstrap failures and of
// clients that fall back to a cached pool. RestartSeed brings it back at the same URL.
func (nw *Network) StopSeed() {
	nw.seedMu.Lock()
	srv := nw.seedSrv
	nw.seedSrv = nil
	nw.seedMu.Unlock()
	if srv != nil {
		nw.unserve(srv)
	}
}

// RestartSeed restarts a stopped seed on its port.
func (nw *Network) RestartSeed() error {
	nw.seedMu.Lock()
	running := nw.seedSrv != nil
	url := nw.seedURL
	nw.seedMu.Unlock()
	if running {
		return nil
	}
	return nw.listenSeed(strings.TrimPrefix(url, "https://"))
}

// serveSeed answers oxend JSON-RPC on POST /json_rpc, the way the public seeds do.
func (nw *Network) serveSeed(w http.ResponseWriter, r *http.Request) {
	if !nw.enter() {
		http.Error(w, "devnet closing", http.StatusServiceUnavailable)
		return
	}
	defer nw.leave()
	if r.Method != http.MethodPost || r.URL.Path != "/json_rpc" {
		http.Error(w, r.Method+" "+r.URL.String()+" Not Found", http.StatusNotFound)
		return
	}
	body, rep, ok := readBody(r)
	if !ok {
		http.Error(w, string(rep.body), rep.status)
		return
	}
	var req struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params json.RawMessage `json:"params"`
	}
	resp := obj{"jsonrpc": "2.0"}
	if err := json.Unmarshal(body, &req); err != nil {
		resp["error"] = obj{"code": -32700, "message": "Parse error"}
	} else {
		if req.ID != nil {
			resp["id"] = req.ID
		}
		p := params{}
		if len(req.Params) > 0 && !isNull(req.Params) {
			var ok bool
			if p, ok = decodeParams(req.Params); !ok {
				p = nil
			}
		}
		if p == nil {
			resp["error"] = obj{"code": -32602, "message": "Invalid params"}
		} else if res, err := nw.oxend(req.Method, p); err != nil {
			resp["error"] = obj{"code": -32601, "message": err.Error()}
		} else {
			resp["result"] = res
		}
	}
	b, _ := json.Marshal(resp)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}
