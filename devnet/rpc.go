package devnet

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits and windows of the storage server (spec sections 2.4 and 3).
const (
	sigTolerance          = 60 * time.Second
	sigToleranceForwarded = 70 * time.Second
	storeTolerance        = 10 * time.Second
	minTTL                = 10 * time.Second
	maxTTLPublic          = 14 * 24 * time.Hour
	maxTTL                = 30 * 24 * time.Hour
	maxDataB64            = 102_400
	maxData               = 76_800
	retrieveMaxSize       = 7_800_000
	maxSubrequests        = 20
	maxRevokeTokens       = 50
)

type obj = map[string]any

// reply is the result of one RPC: a JSON value or a plain-text error, with a status code.
type reply struct {
	code int
	json any
	text string
}

func jsonR(code int, v any) reply    { return reply{code: code, json: v} }
func textR(code int, s string) reply { return reply{code: code, text: s} }

func (r reply) isJSON() bool { return r.json != nil }

func (r reply) bytes() []byte {
	if r.json == nil {
		return []byte(r.text)
	}
	b, err := json.Marshal(r.json)
	if err != nil { // cannot happen for the values built here
		return []byte(`{}`)
	}
	return b
}

// bodyValue is the reply as an element of a batch result or onion {"status","body"} wrapper.
func (r reply) bodyValue() any {
	if r.json == nil {
		return r.text
	}
	return r.json
}

func (r reply) http() httpReply {
	if r.json != nil {
		return httpReply{status: r.code, ctype: "application/json", body: r.bytes()}
	}
	return textHTTP(r.code, r.text)
}

// errReply turns a parse failure into its 400.
func errReply(err error) reply {
	var pe parseError
	var pl plainError
	switch {
	case errors.As(err, &pe):
		return textR(http.StatusBadRequest, "invalid request: "+string(pe))
	case errors.As(err, &pl):
		return textR(http.StatusBadRequest, string(pl))
	default:
		return textR(http.StatusInternalServerError, "request failed")
	}
}

func hf() []int { return []int{hfMajor, hfMinor} }

func (n *Node) rpcHTTP(ctx context.Context, body []byte) httpReply {
	return n.rpcBody(ctx, body).http()
}

// rpcBody handles a /storage_rpc/v1 body (also the final layer of an onion request).
func (n *Node) rpcBody(ctx context.Context, body []byte) reply {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil || env == nil {
		return textR(http.StatusBadRequest, "invalid json")
	}
	var method string
	if m, ok := env["method"]; !ok || json.Unmarshal(m, &method) != nil {
		return textR(http.StatusBadRequest, "invalid json: no `method` field")
	}
	raw, ok := env["params"]
	if !ok {
		return textR(http.StatusBadRequest, "invalid json: no `params` field")
	}
	p, ok := decodeParams(raw)
	if !ok {
		return textR(http.StatusBadRequest, "invalid json: no `params` field")
	}
	return n.call(ctx, method, p)
}

type handler func(ctx context.Context, n *Node) reply

func (n *Node) call(ctx context.Context, method string, p params) reply {
	switch method {
	case "batch", "sequence":
		return n.batch(ctx, method == "sequence", p)
	case "ifelse":
		return n.ifelse(ctx, p)
	}
	h, err := parseCall(method, p)
	if err != nil {
		return errReply(err)
	}
	return h(ctx, n)
}

// parseCall parses the params of one of the basic methods; the handler executes it.
func parseCall(method string, p params) (handler, error) {
	switch method {
	case "store":
		return parseStore(p)
	case "retrieve":
		return parseRetrieve(p)
	case "delete":
		return parseDelete(p)
	case "delete_all":
		return parseDeleteAll(p)
	case "delete_before":
		return parseDeleteBefore(p)
	case "expire_all":
		return parseExpireAll(p)
	case "expire":
		return parseExpire(p)
	case "get_expiries":
		return parseGetExpiries(p)
	case "revoke_subaccount":
		return parseRevoke(p, true)
	case "unrevoke_subaccount":
		return parseRevoke(p, false)
	case "get_swarm", "get_snodes_for_pubkey":
		acct, err := p.swarmAccountOf()
		if err != nil {
			return nil, err
		}
		return func(_ context.Context, n *Node) reply { return n.getSwarm(acct) }, nil
	case "info":
		return func(_ context.Context, n *Node) reply {
			now := n.tMS()
			return jsonR(http.StatusOK, obj{"version": storageServerVersion, "timestamp": now, "t": now, "hf": hf()})
		}, nil
	case "oxend_request":
		return parseOxendRequest(p)
	}
	return nil, plainError("no method " + method)
}

// ---- namespaces ----

func isPublicInbox(ns int16) bool    { return int(ns)%10 == 0 }
func isPublicOutbox(ns int16) bool   { return ns < 0 && (-int(ns))%20 == 1 }
func isNoAuthRetrieve(ns int16) bool { return ns == -10 || isPublicOutbox(ns) }
func isUnrevocable(ns int16) bool    { return ns < 0 && (-int(ns))%100 == 11 }

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// msDiff is a-b (milliseconds) as a Duration, saturating instead of overflowing: request values
// are attacker-controlled and a wrapped difference could pass a window check.
func msDiff(a, b int64) time.Duration {
	var d int64
	switch {
	case b > 0 && a < math.MinInt64+b:
		d = math.MinInt64
	case b < 0 && a > math.MaxInt64+b:
		d = math.MaxInt64
	default:
		d = a - b
	}
	const lim = math.MaxInt64 / int64(time.Millisecond)
	switch {
	case d > lim:
		return time.Duration(math.MaxInt64)
	case d < -lim:
		return time.Duration(math.MinInt64)
	}
	return time.Duration(d) * time.Millisecond
}

// ---- swarm ----

func (n *Node) snodeJSON() obj {
	port := n.Port()
	return obj{
		"address":        base32z(n.edPub[:]) + ".snode",
		"pubkey_legacy":  n.edHex(),
		"pubkey_x25519":  hex.EncodeToString(n.xPub[:]),
		"pubkey_ed25519": n.edHex(),
		"port":           strconv.Itoa(port),
		"port_https":     port,
		"port_omq":       port,
		"port_quic":      port,
		"ip":             "127.0.0.1",
	}
}

func (n *Node) swarmBody(acct account) obj {
	nw := n.nw
	nw.mu.RLock()
	id := nw.swarmForLocked(acct)
	members := nw.membersLocked(id)
	nw.mu.RUnlock()
	snodes := make([]obj, 0, len(members))
	for _, m := range members {
		snodes = append(snodes, m.snodeJSON())
	}
	return obj{"snodes": snodes, "swarm": strconv.FormatUint(id, 16), "t": n.tMS(), "hf": hf()}
}

func (n *Node) getSwarm(acct account) reply { return jsonR(http.StatusOK, n.swarmBody(acct)) }

// checkSwarm answers 421 with the correct swarm when acct does not belong to this node's swarm
// (or when the node is made to believe so by a Status 421 fault).
func (n *Node) checkSwarm(acct account) *reply {
	nw := n.nw
	nw.mu.RLock()
	mine, ok := nw.assign[n.edPub]
	correct := nw.swarmForLocked(acct)
	nw.mu.RUnlock()
	if ok && mine == correct && n.Faults().Status != http.StatusMisdirectedRequest {
		return nil
	}
	r := jsonR(http.StatusMisdirectedRequest, n.swarmBody(acct))
	return &r
}

// peers are the other members of this node's swarm.
func (n *Node) peers() []*Node {
	nw := n.nw
	nw.mu.RLock()
	defer nw.mu.RUnlock()
	id, ok := nw.assign[n.edPub]
	if !ok {
		return nil
	}
	var out []*Node
	for _, m := range nw.membersLocked(id) {
		if m != n {
			out = append(out, m)
		}
	}
	return out
}

// recursive is a swarm-wide request: validated and executed by the entry node, then by every other
// member (which re-validates with its own clock, like sn.storage_cc).
type recursive interface {
	owner() account
	local(n *Node, fwd bool) (obj, *reply)
}

func (n *Node) runRecursive(ctx context.Context, req recursive, entryExtra func(mine obj)) (reply, []obj) {
	if r := n.checkSwarm(req.owner()); r != nil {
		return *r, nil
	}
	mine, e := req.local(n, false)
	if e != nil {
		return *e, nil
	}
	if entryExtra != nil {
		entryExtra(mine)
	}
	results := []obj{mine}
	swarm := obj{n.edHex(): mine}
	for _, p := range n.peers() {
		switch {
		case ctx.Err() != nil || !p.Running():
			swarm[p.edHex()] = obj{"failed": true, "timeout": true}
		case p.Faults().Status == http.StatusServiceUnavailable:
			swarm[p.edHex()] = obj{"failed": true, "code": http.StatusServiceUnavailable,
				"reason": "Service node is not ready: devnet fault injected"}
		default:
			r, e := req.local(p, true)
			if e != nil {
				swarm[p.edHex()] = obj{"failed": true, "code": e.code, "reason": e.text}
				continue
			}
			swarm[p.edHex()] = r
			results = append(results, r)
		}
	}
	return jsonR(http.StatusOK, obj{"swarm": swarm, "t": n.tMS(), "hf": hf()}), results
}

func unauthorized(s string) *reply { r := textR(http.StatusUnauthorized, s); return &r }
func notAcceptable(s string) *reply {
	r := textR(http.StatusNotAcceptable, s)
	return &r
}

// ---- store ----

type storeReq struct {
	acct     account
	ns       int16
	ts, exp  int64
	data     []byte
	sigTS    int64
	a        auth
	nsSig    string
	pubOut   bool
	pubInbox bool
}

func (r *storeReq) owner() account { return r.acct }

func parseStore(p params) (handler, error) {
	r := &storeReq{}
	var err error
	if r.acct, err = p.accountOf(true); err != nil {
		return nil, err
	}
	if r.ns, _, err = p.namespace(); err != nil {
		return nil, err
	}
	if r.ts, err = p.reqTimestamp("timestamp"); err != nil {
		return nil, err
	}
	ttl, hasTTL, err := p.int64Of("ttl", true)
	if err != nil {
		return nil, err
	}
	exp, hasExp, err := p.timestampOf("expiry")
	if err != nil {
		return nil, err
	}
	switch {
	case hasTTL && hasExp:
		return nil, perr("Cannot specify both 'expiry' and 'ttl'")
	case hasTTL:
		r.exp = r.ts + ttl
	case hasExp:
		r.exp = exp
	default:
		return nil, perr("Required field 'expiry' or 'ttl' missing")
	}
	data, err := p.reqStr("data")
	if err != nil {
		return nil, err
	}
	// base64 is checked before the size, as the storage server does.
	if r.data, err = decodeB64(data); err != nil {
		return nil, perr("Invalid 'data' value: not base64 encoded")
	}
	if len(data) > maxDataB64 || len(r.data) > maxData {
		return nil, perr("Message body exceeds maximum allowed length of 76800 bytes")
	}
	sigTS, ok, err := p.timestampOf("sig_timestamp")
	if err != nil {
		return nil, err
	}
	r.sigTS = r.ts
	if ok {
		r.sigTS = sigTS
	}
	if r.a, err = p.parseAuth(r.acct, false, true); err != nil {
		return nil, err
	}
	r.nsSig = nsString(r.ns)
	r.pubOut = isPublicOutbox(r.ns)
	r.pubInbox = isPublicInbox(r.ns)
	return func(ctx context.Context, n *Node) reply {
		if n.Faults().DropStores {
			if rep := n.checkSwarm(r.acct); rep != nil {
				return *rep
			}
			return n.dropStore(r)
		}
		var hash string
		rep, _ := n.runRecursive(ctx, r, func(mine obj) {
			mine["t"] = n.tMS()
			hash, _ = mine["hash"].(string)
		})
		if m, ok := rep.json.(obj); ok && rep.code == http.StatusOK {
			m["hash"] = hash
		}
		return rep
	}, nil
}

func (r *storeReq) local(n *Node, fwd bool) (obj, *reply) {
	now := n.nowMS()
	ttl := msDiff(r.exp, r.ts)
	max := maxTTL
	if r.pubInbox {
		max = maxTTLPublic
	}
	if ttl < minTTL || ttl > max {
		rep := textR(http.StatusForbidden, "Provided expiry/TTL is not valid.")
		return nil, &rep
	}
	if msDiff(r.ts, now) > storeTolerance || msDiff(now, r.exp) > storeTolerance {
		return nil, notAcceptable("Timestamp error: check your clock")
	}
	if !r.pubInbox {
		if r.a.sig == nil {
			return nil, unauthorized("store: signature required to store to namespace " + strconv.Itoa(int(r.ns)))
		}
		if absDur(msDiff(r.sigTS, now)) > sigTolerance {
			return nil, notAcceptable("store signature timestamp too far from current time")
		}
		need := subWrite
		if r.pubOut {
			need |= subDelete
		}
		msg := "store" + r.nsSig + strconv.FormatInt(r.sigTS, 10)
		if !n.verify(r.acct, r.a, []byte(msg), need, false) {
			return nil, unauthorized("store signature verification failed")
		}
	}
	hash := messageHash(r.acct, r.ns, r.data)
	if fwd && n.Faults().DropStores {
		return obj{"hash": hash, "signature": n.sign([]byte(hash)), "expiry": r.exp}, nil
	}
	if r.pubOut {
		n.store.deleteWhere(r.acct, now, func(m *message) bool { return m.ns == r.ns && m.hash != hash })
	}
	exp, already := n.store.put(message{owner: r.acct, ns: r.ns, hash: hash, timestamp: r.ts, expiry: r.exp, data: r.data}, now)
	res := obj{"hash": hash, "signature": n.sign([]byte(hash)), "expiry": exp}
	if already {
		// The entry node writes its own result as JSON (true); the other members' results
		// reach it through bencode, which has no booleans, and say 1 (see the real transcript).
		if fwd {
			res["already"] = 1
		} else {
			res["already"] = true
		}
	}
	return res, nil
}

// ---- retrieve ----

func parseRetrieve(p params) (handler, error) {
	acct, err := p.accountOf(true)
	if err != nil {
		return nil, err
	}
	ns, nsGiven, err := p.namespace()
	if err != nil {
		return nil, err
	}
	last, ok, err := p.str("last_hash")
	if err != nil {
		return nil, err
	}
	if !ok {
		if last, _, err = p.str("lastHash"); err != nil {
			return nil, err
		}
	}
	switch {
	case last == "":
	case len(last) != 43:
		return nil, perr("Invalid last_hash: expected base64 (43 chars)")
	case !validHash(last):
		return nil, perr("Invalid last_hash: not base64")
	}
	maxCount, _, err := p.int64Of("max_count", true)
	if err != nil {
		return nil, err
	}
	maxSize, _, err := p.int64Of("max_size", true)
	if err != nil {
		return nil, err
	}
	withAuth := p.has("pubkey_ed25519") || p.has("signature") || p.has("timestamp") || !isNoAuthRetrieve(ns)
	sigRequired := false // 401 "retrieve: request signature required"
	var a auth
	var ts int64
	if withAuth {
		if !p.has("signature") {
			if nsGiven || p.has("timestamp") || p.has("pubkey_ed25519") {
				return nil, perr("Required field 'signature' missing")
			}
			sigRequired = true
		} else {
			if ts, err = p.reqTimestamp("timestamp"); err != nil {
				return nil, err
			}
			if a, err = p.parseAuth(acct, true, true); err != nil {
				return nil, err
			}
		}
	}
	return func(_ context.Context, n *Node) reply {
		if r := n.checkSwarm(acct); r != nil {
			return *r
		}
		if sigRequired {
			return textR(http.StatusUnauthorized, "retrieve: request signature required")
		}
		now := n.nowMS()
		if withAuth {
			if absDur(msDiff(ts, now)) > sigTolerance {
				return textR(http.StatusNotAcceptable, "retrieve timestamp too far from current time")
			}
			msg := "retrieve" + nsString(ns) + strconv.FormatInt(ts, 10)
			if !n.verify(acct, a, []byte(msg), subRead, isUnrevocable(ns)) {
				return textR(http.StatusUnauthorized, "retrieve signature verification failed")
			}
		}
		size := maxSize
		if maxCount == 0 && size == 0 {
			size = -5
		}
		if size < 0 {
			size = retrieveMaxSize / -size
		}
		if size == 0 || size > retrieveMaxSize {
			size = retrieveMaxSize
		}
		count := maxCount
		if count < 0 {
			count = 1
		}
		out := []obj{}
		var used int64
		more := false
		from := last
		if n.Faults().IgnoreLastHash {
			from = ""
		}
		n.store.list(acct, ns, from, now, func(m message) bool {
			if count > 0 && int64(len(out)) >= count {
				more = true
				return false
			}
			used += 100 + int64(len(m.hash)) + int64(len(m.data))*4/3
			if len(out) > 0 && used > size {
				more = true
				return false
			}
			out = append(out, obj{
				"hash":       m.hash,
				"timestamp":  m.timestamp,
				"expiration": m.expiry,
				"data":       base64.StdEncoding.EncodeToString(m.data),
			})
			return true
		})
		if f := n.Faults(); f.hostileRetrieve() {
			out = n.lieInRetrieve(f, acct, ns, now, out)
		}
		return jsonR(http.StatusOK, obj{"messages": out, "more": more, "t": n.tMS(), "hf": hf()})
	}, nil
}

// ---- delete ----

type deleteReq struct {
	acct     account
	hashes   []string
	required bool
	a        auth
}

func (r *deleteReq) owner() account { return r.acct }

func parseDelete(p params) (handler, error) {
	r := &deleteReq{}
	var err error
	if r.acct, err = p.accountOf(false); err != nil {
		return nil, err
	}
	if r.hashes, err = p.messageHashes("messages"); err != nil {
		return nil, err
	}
	if r.required, err = p.boolOf("required"); err != nil {
		return nil, err
	}
	if r.a, err = p.parseAuth(r.acct, true, true); err != nil {
		return nil, err
	}
	return func(ctx context.Context, n *Node) reply {
		rep, results := n.runRecursive(ctx, r, nil)
		if r.required && rep.code == http.StatusOK {
			any := false
			for _, res := range results {
				if d, ok := res["deleted"].([]string); ok && len(d) > 0 {
					any = true
				}
			}
			if !any {
				rep.code = http.StatusNotFound
			}
		}
		return rep
	}, nil
}

func (r *deleteReq) local(n *Node, _ bool) (obj, *reply) {
	msg := "delete" + strings.Join(r.hashes, "")
	if !n.verify(r.acct, r.a, []byte(msg), subDelete, false) {
		return nil, unauthorized("delete_msgs signature verification failed")
	}
	want := map[string]bool{}
	for _, h := range r.hashes {
		want[h] = true
	}
	del := flatten(n.store.deleteWhere(r.acct, n.nowMS(), func(m *message) bool { return want[m.hash] }))
	sig := hex.EncodeToString(r.acct[:]) + strings.Join(r.hashes, "") + strings.Join(del, "")
	return obj{"deleted": del, "signature": n.sign([]byte(sig))}, nil
}

func flatten(m map[int16][]string) []string {
	out := []string{}
	for _, l := range m {
		out = append(out, l...)
	}
	sort.Strings(out)
	return out
}

// perNamespace renders the deleted/updated hashes: a sorted list for one namespace, or a dict of
// sorted lists keyed by namespace for "all".
func perNamespace(m map[int16][]string, all bool) any {
	if !all {
		return flatten(m)
	}
	out := obj{}
	for ns, l := range m {
		l = append([]string(nil), l...)
		sort.Strings(l)
		out[strconv.Itoa(int(ns))] = l
	}
	return out
}

// ---- delete_all / delete_before / expire_all ----

type nsAllReq struct {
	method string // delete_all, delete_before, expire_all
	acct   account
	ns     int16
	all    bool
	value  int64 // timestamp, before or expiry
	a      auth
	// unlisted reproduces DeleteBeforeAllUnlisted: members report nothing deleted.
	unlisted bool
}

func (r *nsAllReq) owner() account { return r.acct }

func (r *nsAllReq) nsSig() string {
	if r.all {
		return "all"
	}
	return nsString(r.ns)
}

func parseNSAll(p params, method, field string) (*nsAllReq, error) {
	r := &nsAllReq{method: method}
	var err error
	if r.acct, err = p.accountOf(false); err != nil {
		return nil, err
	}
	if r.ns, r.all, err = p.namespaceOrAll(); err != nil {
		return nil, err
	}
	if r.value, err = p.reqTimestamp(field); err != nil {
		return nil, err
	}
	if r.a, err = p.parseAuth(r.acct, true, true); err != nil {
		return nil, err
	}
	return r, nil
}

func recursiveHandler(r recursive) handler {
	return func(ctx context.Context, n *Node) reply {
		rep, _ := n.runRecursive(ctx, r, nil)
		return rep
	}
}

func parseDeleteAll(p params) (handler, error) {
	r, err := parseNSAll(p, "delete_all", "timestamp")
	if err != nil {
		return nil, err
	}
	return recursiveHandler(r), nil
}

func parseDeleteBefore(p params) (handler, error) {
	r, err := parseNSAll(p, "delete_before", "before")
	if err != nil {
		return nil, err
	}
	if !r.all {
		return recursiveHandler(r), nil
	}
	return func(ctx context.Context, n *Node) reply {
		bug := n.Faults().DeleteBeforeAll
		req := *r
		req.unlisted = bug == DeleteBeforeAllUnlisted
		rep, results := n.runRecursive(ctx, &req, nil)
		matched := len(results) > 0 && results[0]["matched"] == true
		for _, res := range results {
			delete(res, "matched")
		}
		if rep.code == http.StatusOK && bug == DeleteBeforeAllFails && matched {
			// The rows are deleted (here, and by every member the request was forwarded
			// to), then the entry node fails reading them back.
			return textR(http.StatusInternalServerError, "request failed")
		}
		return rep
	}, nil
}

func parseExpireAll(p params) (handler, error) {
	r, err := parseNSAll(p, "expire_all", "expiry")
	if err != nil {
		return nil, err
	}
	return recursiveHandler(r), nil
}

func (r *nsAllReq) local(n *Node, fwd bool) (obj, *reply) {
	now := n.nowMS()
	tol := sigTolerance
	if fwd {
		tol = sigToleranceForwarded
	}
	switch r.method {
	case "delete_all":
		if absDur(msDiff(r.value, now)) > tol {
			return nil, notAcceptable("delete_all timestamp too far from current time")
		}
	case "delete_before":
		if msDiff(r.value, now) > sigTolerance {
			return nil, unauthorized("delete_before timestamp too far in the future")
		}
	case "expire_all":
		if msDiff(now, r.value) > tol {
			return nil, notAcceptable("expire_all timestamp should be >= current time")
		}
	}
	val := strconv.FormatInt(r.value, 10)
	if !n.verify(r.acct, r.a, []byte(r.method+r.nsSig()+val), subDelete, false) {
		return nil, unauthorized(r.method + " signature verification failed")
	}
	inNS := func(m *message) bool { return r.all || m.ns == r.ns }
	var changed map[int16][]string
	key := "deleted"
	switch r.method {
	case "delete_all":
		changed = n.store.deleteWhere(r.acct, now, inNS)
	case "delete_before":
		changed = n.store.deleteWhere(r.acct, now, func(m *message) bool { return inNS(m) && m.timestamp <= r.value })
	case "expire_all":
		key = "updated"
		changed = map[int16][]string{}
		n.store.update(r.acct, now, func(m *message) {
			if inNS(m) && m.expiry > r.value {
				m.expiry = r.value
				changed[m.ns] = append(changed[m.ns], m.hash)
			}
		})
	}
	matched := len(changed) > 0
	if r.unlisted {
		changed = map[int16][]string{}
	}
	sig := hex.EncodeToString(r.acct[:]) + val + strings.Join(flatten(changed), "")
	res := obj{key: perNamespace(changed, r.all), "signature": n.sign([]byte(sig))}
	if r.method == "delete_before" && r.all && matched {
		res["matched"] = true // internal, for DeleteBeforeAllFails; removed before replying
	}
	return res, nil
}

// ---- expire ----

type expireReq struct {
	acct    account
	hashes  []string
	exps    []int64
	single  bool
	mode    string // "", "shorten", "extend" as signed
	applied string // effective mode
	a       auth
}

func (r *expireReq) owner() account { return r.acct }

func parseExpire(p params) (handler, error) {
	r := &expireReq{}
	var err error
	if r.acct, err = p.accountOf(false); err != nil {
		return nil, err
	}
	if r.hashes, err = p.messageHashes("messages"); err != nil {
		return nil, err
	}
	exps, single, ok, err := p.intList("expiry")
	if err != nil {
		return nil, err
	}
	if !ok || len(exps) == 0 {
		return nil, perr("Required field 'expiry' missing")
	}
	if !single && len(exps) != len(r.hashes) {
		return nil, perr("expiry: the list of expiries must have the same length as messages")
	}
	r.exps, r.single = exps, single
	shorten, err := p.boolOf("shorten")
	if err != nil {
		return nil, err
	}
	extend, err := p.boolOf("extend")
	if err != nil {
		return nil, err
	}
	if shorten && extend {
		return nil, perr("cannot specify both 'shorten' and 'extend'")
	}
	switch {
	case shorten:
		r.mode = "shorten"
	case extend:
		r.mode = "extend"
	}
	r.applied = r.mode
	if r.a, err = p.parseAuth(r.acct, true, true); err != nil {
		return nil, err
	}
	if r.a.subToken != nil && r.a.subToken[1]&subDelete == 0 {
		if shorten {
			return nil, perr("expire: shortening requires a subaccount with delete permission")
		}
		r.applied = "extend"
	}
	return recursiveHandler(r), nil
}

func (r *expireReq) local(n *Node, _ bool) (obj, *reply) {
	now := n.nowMS()
	var expStr strings.Builder
	for _, e := range r.exps {
		if msDiff(now, e) > sigTolerance {
			return nil, unauthorized("expire: timestamp should be >= current time")
		}
		expStr.WriteString(strconv.FormatInt(e, 10))
	}
	msg := "expire" + r.mode + expStr.String() + strings.Join(r.hashes, "")
	if !n.verify(r.acct, r.a, []byte(msg), subWrite, false) {
		return nil, unauthorized("expire: signature verification failed")
	}
	limit := now + maxTTL.Milliseconds()
	applied := make([]int64, len(r.exps))
	for i, e := range r.exps {
		if e > limit {
			e = limit
		}
		applied[i] = e
	}
	target := map[string]int64{}
	for i, h := range r.hashes {
		if r.single {
			target[h] = applied[0]
		} else {
			target[h] = applied[i]
		}
	}
	updated := []string{}
	unchanged := map[string]int64{}
	n.store.update(r.acct, now, func(m *message) {
		e, ok := target[m.hash]
		if !ok {
			return
		}
		switch {
		case r.applied == "shorten" && m.expiry <= e, r.applied == "extend" && m.expiry >= e:
			unchanged[m.hash] = m.expiry
		default:
			m.expiry = e
			updated = append(updated, m.hash)
		}
	})
	sort.Strings(updated)
	var expiryField any
	var sigExp strings.Builder
	if r.single {
		expiryField = applied[0]
		sigExp.WriteString(strconv.FormatInt(applied[0], 10))
	} else {
		expiryField = applied
		for _, e := range applied {
			sigExp.WriteString(strconv.FormatInt(e, 10))
		}
	}
	var sig strings.Builder
	sig.WriteString(hex.EncodeToString(r.acct[:]))
	sig.WriteString(sigExp.String())
	sig.WriteString(strings.Join(r.hashes, ""))
	sig.WriteString(strings.Join(updated, ""))
	res := obj{"expiry": expiryField, "updated": updated}
	if r.applied != "" {
		keys := make([]string, 0, len(unchanged))
		for h := range unchanged {
			keys = append(keys, h)
		}
		sort.Strings(keys)
		for _, h := range keys {
			sig.WriteString(h + strconv.FormatInt(unchanged[h], 10))
		}
		res["unchanged"] = unchanged
	}
	res["signature"] = n.sign([]byte(sig.String()))
	return res, nil
}

// ---- get_expiries ----

func parseGetExpiries(p params) (handler, error) {
	acct, err := p.accountOf(false)
	if err != nil {
		return nil, err
	}
	hashes, err := p.messageHashes("messages")
	if err != nil {
		return nil, err
	}
	ts, err := p.reqTimestamp("timestamp")
	if err != nil {
		return nil, err
	}
	a, err := p.parseAuth(acct, true, true)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, n *Node) reply {
		if r := n.checkSwarm(acct); r != nil {
			return *r
		}
		now := n.nowMS()
		if absDur(msDiff(ts, now)) > sigTolerance {
			return textR(http.StatusNotAcceptable, "get_expiries timestamp too far from current time")
		}
		msg := "get_expiries" + strconv.FormatInt(ts, 10) + strings.Join(hashes, "")
		if !n.verify(acct, a, []byte(msg), subRead, false) {
			return textR(http.StatusUnauthorized, "get_expiries signature verification failed")
		}
		return jsonR(http.StatusOK, obj{"expiries": n.store.expiries(acct, hashes, now)})
	}, nil
}

// ---- revoke_subaccount / unrevoke_subaccount ----

type revokeReq struct {
	revoke bool
	acct   account
	tokens [][36]byte
	ts     int64
	a      auth
}

func (r *revokeReq) owner() account { return r.acct }

func (r *revokeReq) method() string {
	if r.revoke {
		return "revoke_subaccount"
	}
	return "unrevoke_subaccount"
}

func parseRevoke(p params, revoke bool) (handler, error) {
	r := &revokeReq{revoke: revoke}
	field := "unrevoke"
	if revoke {
		field = "revoke"
	}
	var err error
	if r.acct, err = p.accountOf(false); err != nil {
		return nil, err
	}
	toks, ok, err := p.stringList(field)
	if err != nil {
		return nil, err
	}
	if !ok || len(toks) == 0 {
		return nil, perr("Required field '%s' missing", field)
	}
	if len(toks) > maxRevokeTokens {
		return nil, perr("%s: too many subaccount tokens (max %d)", field, maxRevokeTokens)
	}
	for _, s := range toks {
		t, err := parseToken(s)
		if err != nil {
			return nil, err
		}
		r.tokens = append(r.tokens, t)
	}
	if r.ts, err = p.reqTimestamp("timestamp"); err != nil {
		return nil, err
	}
	// Owner only: subaccount fields are not read, so a subaccount signature fails verification.
	if r.a, err = p.parseAuth(r.acct, true, false); err != nil {
		return nil, err
	}
	return recursiveHandler(r), nil
}

func (r *revokeReq) local(n *Node, _ bool) (obj, *reply) {
	now := n.nowMS()
	if absDur(msDiff(r.ts, now)) > sigTolerance {
		return nil, notAcceptable(r.method() + " timestamp too far from current time")
	}
	var toks []byte
	for _, t := range r.tokens {
		toks = append(toks, t[:]...)
	}
	ts := strconv.FormatInt(r.ts, 10)
	msg := append([]byte(r.method()+ts), toks...)
	if !n.verify(r.acct, r.a, msg, 0, false) {
		return nil, unauthorized(r.method() + " signature verification failed")
	}
	sig := append([]byte(hex.EncodeToString(r.acct[:])+ts), toks...)
	if r.revoke {
		n.store.revoke(r.acct, r.tokens)
		return obj{"signature": n.sign(sig)}, nil
	}
	c := n.store.unrevoke(r.acct, r.tokens)
	return obj{"count": c, "signature": n.sign(sig)}, nil
}

// ---- batch / sequence / ifelse ----

func parseSubrequest(raw json.RawMessage, key string) (string, params, error) {
	var sub map[string]json.RawMessage
	if err := json.Unmarshal(raw, &sub); err != nil || sub == nil {
		return "", nil, perr("Invalid ifelse request: branch is not an object")
	}
	var method string
	if m, ok := sub["method"]; !ok || json.Unmarshal(m, &method) != nil {
		return "", nil, perr("Invalid ifelse request: branch has no method")
	}
	pr, ok := sub["params"]
	p, isObj := decodeParams(pr)
	if !ok || !isObj {
		return "", nil, perr("Invalid ifelse request: %s missing params", key)
	}
	return method, p, nil
}

// parseBatch parses the subrequests of a batch or sequence, with the storage server's checks
// and error texts (all parse errors: 400 "invalid request: ...").
func parseBatch(p params) ([]handler, error) {
	var list []json.RawMessage
	if raw, ok := p["requests"]; !ok || json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return nil, perr(`Invalid batch request: no valid "requests" field`)
	}
	if len(list) > maxSubrequests {
		return nil, perr("Invalid batch request: subrequest limit exceeded")
	}
	hs := make([]handler, 0, len(list))
	for _, raw := range list {
		var sub map[string]json.RawMessage
		if json.Unmarshal(raw, &sub) != nil || sub == nil {
			return nil, perr("Invalid batch request: requests must be objects")
		}
		var method string
		mr, okM := sub["method"]
		pr, okP := sub["params"]
		sp, okObj := decodeParams(pr)
		if !okM || !okP || json.Unmarshal(mr, &method) != nil || !okObj {
			return nil, perr("Invalid batch request: subrequests must have method/params keys")
		}
		switch method {
		case "batch", "sequence":
			// The subrequest is parsed (its own errors come first), then refused.
			if _, err := parseBatch(sp); err != nil {
				return nil, err
			}
			return nil, perr("Invalid batch subrequest: subrequests may not contain meta-requests")
		case "ifelse":
			if _, err := parseIfelse(sp); err != nil {
				return nil, err
			}
			return nil, perr("Invalid batch subrequest: subrequests may not contain meta-requests")
		}
		h, err := parseCall(method, sp)
		if err != nil {
			var pl plainError
			if errors.As(err, &pl) && strings.HasPrefix(string(pl), "no method ") {
				return nil, perr(`Invalid batch subrequest: invalid method "%s"`, method)
			}
			return nil, err
		}
		hs = append(hs, h)
	}
	return hs, nil
}

func (n *Node) batch(ctx context.Context, sequence bool, p params) reply {
	hs, err := parseBatch(p)
	if err != nil {
		return errReply(err)
	}
	results := make([]obj, 0, len(hs))
	for _, h := range hs {
		r := h(ctx, n)
		results = append(results, obj{"code": r.code, "body": r.bodyValue()})
		if sequence && (r.code < 200 || r.code > 299) {
			break
		}
	}
	return jsonR(http.StatusOK, obj{"results": results})
}

func versionAtLeast(have []int, want []int) bool {
	for i := 0; i < len(want); i++ {
		h := 0
		if i < len(have) {
			h = have[i]
		}
		if h != want[i] {
			return h > want[i]
		}
	}
	return true
}

func (n *Node) ifelse(ctx context.Context, p params) reply {
	h, err := parseIfelse(p)
	if err != nil {
		return errReply(err)
	}
	return h(ctx, n)
}

// parseIfelse parses an ifelse request; the handler evaluates its condition on the node.
func parseIfelse(p params) (handler, error) {
	var cond map[string]json.RawMessage
	if raw, ok := p["if"]; !ok || json.Unmarshal(raw, &cond) != nil || cond == nil {
		return nil, perr(`Invalid ifelse request: no valid "if" field`)
	}
	if len(cond) == 0 {
		return nil, perr("Invalid ifelse request: at least one condition is required")
	}
	type check struct {
		key  string
		ints []int
		h    int64
	}
	var checks []check
	for k, raw := range cond {
		switch k {
		case "hf_at_least", "hf_before", "v_at_least", "v_before":
			var want []int
			if json.Unmarshal(raw, &want) != nil || len(want) == 0 {
				return nil, perr("Invalid value given for '%s': expected integer list", k)
			}
			checks = append(checks, check{key: k, ints: want})
		case "height_at_least", "height_before":
			h, err := parseJSONInt(raw)
			if err != nil {
				return nil, perr("Invalid value given for '%s': expected integer", k)
			}
			checks = append(checks, check{key: k, h: h})
		default:
			return nil, perr("Invalid ifelse request: unknown condition '%s'", k)
		}
	}
	_, hasThen := p["then"]
	_, hasElse := p["else"]
	if !hasThen && !hasElse {
		return nil, perr(`Invalid ifelse request: at least one of "then"/"else" required`)
	}
	branches := map[string][2]any{}
	for _, k := range []string{"then", "else"} {
		raw, ok := p[k]
		if !ok {
			continue
		}
		method, sp, err := parseSubrequest(raw, k)
		if err != nil {
			return nil, err
		}
		branches[k] = [2]any{method, sp}
	}
	return func(ctx context.Context, n *Node) reply {
		height := int64(n.nw.Height())
		v := storageServerVersion[:]
		result := true
		for _, c := range checks {
			switch c.key {
			case "hf_at_least", "hf_before", "v_at_least", "v_before":
				have := hf()
				if strings.HasPrefix(c.key, "v_") {
					have = v
				}
				ok := versionAtLeast(have, c.ints)
				if strings.HasSuffix(c.key, "_before") {
					ok = !ok
				}
				result = result && ok
			case "height_at_least":
				result = result && height >= c.h
			case "height_before":
				result = result && height < c.h
			}
		}
		out := obj{"hf": hf(), "v": v, "height": height, "condition": result}
		pick := "else"
		if result {
			pick = "then"
		}
		if b, ok := branches[pick]; ok {
			r := n.call(ctx, b[0].(string), b[1].(params))
			out["result"] = obj{"code": r.code, "body": r.bodyValue()}
		}
		return jsonR(http.StatusOK, out)
	}, nil
}

// base32z is the z-base-32 encoding used for .snode addresses.
func base32z(b []byte) string {
	const alphabet = "ybndrfg8ejkmcpqxot1uwisza345h769"
	var out strings.Builder
	var buf uint32
	bits := 0
	for _, c := range b {
		buf = buf<<8 | uint32(c)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out.WriteByte(alphabet[(buf>>uint(bits))&31])
		}
	}
	if bits > 0 {
		out.WriteByte(alphabet[(buf<<uint(5-bits))&31])
	}
	return out.String()
}
