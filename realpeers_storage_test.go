package sdk_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
	"github.com/sessiongo/sdk/internal/realpeers"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/swarm"
)

// runStorageTranscript replays one recording of testdata/real/storage (a transcript of the real
// storage server; see its README), one leaf subtest per line:
//
//   - the recorded reply parses with the SDK's own parsers to what it says: its status as a
//     *swarm.NodeError matching the right sentinel, stored results whose hashes the SDK
//     recomputes and whose node signatures verify (swarm.SwarmResult.CheckSignatures) from the
//     node keys in keys.json, swarms whose members are the recorded network's, messages whose
//     hashes the SDK recomputes; onion lines' decrypted reply as well;
//   - the SDK, given the same inputs (keys from keys.json, the recorded timestamps), builds a
//     request with the same parameters and the same signature, or refuses it locally where the
//     server refused it too. The known differences (hand-built probes testing the server with
//     malformed or deliberately wrong requests, and the SDK bugs fixed since the recording) are
//     listed in stExpected with what each one must look like.
func runStorageTranscript(t *testing.T, path string) {
	keys := loadStorageKeys(t, filepath.Join(filepath.Dir(path), "keys.json"))
	lines, err := realpeers.ReadLines[realpeers.StorageLine](path)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for i, l := range lines {
		t.Run(realCaseName(i+1, l.Case), func(t *testing.T) {
			exp, ok := stExpected[l.Case]
			if ok {
				used[l.Case] = true
			}
			stReply(t, keys, l)
			stRequest(t, keys, l, exp)
		})
	}
	for c := range stExpected {
		if !used[c] {
			t.Errorf("stExpected names a case the transcript does not have: %q", c)
		}
	}
}

// ---- keys.json ----

type stKeys struct {
	accounts map[crypto.AccountID]*crypto.Keys
	groups   map[crypto.AccountID]*groups.AdminKey
	nodes    []swarm.Node // with their swarm IDs of the 6-node run
	byKey    map[string]swarm.Node
}

func loadStorageKeys(t *testing.T, path string) *stKeys {
	t.Helper()
	j, err := realpeers.ReadStorageKeys(path)
	if err != nil {
		t.Fatal(err)
	}
	k := &stKeys{accounts: map[crypto.AccountID]*crypto.Keys{}, groups: map[crypto.AccountID]*groups.AdminKey{}, byKey: map[string]swarm.Node{}}
	for name, a := range j.Accounts {
		keys, err := crypto.KeysFromSeed(stHex(t, a.Seed))
		if err != nil {
			t.Fatal(err)
		}
		if keys.AccountID().String() != a.ID {
			t.Fatalf("keys.json: %s: seed gives %s, listed %s", name, keys.AccountID(), a.ID)
		}
		k.accounts[keys.AccountID()] = keys
	}
	for name, g := range j.Groups {
		admin := groups.NewAdminKey([32]byte(stHex(t, g.Seed)))
		if admin.ID().String() != g.ID {
			t.Fatalf("keys.json: group %s: seed gives %s, listed %s", name, admin.ID(), g.ID)
		}
		k.groups[admin.ID()] = admin
	}
	for _, n := range j.Nodes {
		ap, err := netip.ParseAddrPort(n.HTTPS)
		if err != nil {
			t.Fatal(err)
		}
		node := swarm.Node{IP: ap.Addr(), Port: ap.Port(), Ed25519: [32]byte(stHex(t, n.Ed)), X25519: [32]byte(stHex(t, n.X)), SwarmID: n.SwarmID}
		k.nodes = append(k.nodes, node)
		k.byKey[n.Ed] = node
	}
	if len(k.accounts) == 0 || len(k.groups) == 0 || len(k.nodes) == 0 {
		t.Fatal("keys.json: missing accounts, groups or nodes")
	}
	return k
}

func stHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("hex %q: %v", s, err)
	}
	return b
}

// swarmOf is the recorded network's swarm of account, as the SDK computes it.
func (k *stKeys) swarmOf(t *testing.T, account crypto.AccountID) (uint64, []swarm.Node) {
	t.Helper()
	var ids []uint64
	seen := map[uint64]bool{}
	for _, n := range k.nodes {
		if !seen[n.SwarmID] {
			seen[n.SwarmID] = true
			ids = append(ids, n.SwarmID)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	id, ok := swarm.ClosestSwarm(ids, swarm.AccountSwarmSpace(account))
	if !ok {
		t.Fatal("no swarms in keys.json")
	}
	var members []swarm.Node
	for _, n := range k.nodes {
		if n.SwarmID == id {
			members = append(members, n)
		}
	}
	return id, members
}

// ---- replies ----

// stReply checks that the recorded reply means what it says to the SDK's parsers.
func stReply(t *testing.T, k *stKeys, l realpeers.StorageLine) {
	if l.OnionReply != "" {
		// The destination's decrypted reply: {"body":"<string>","status":N}.
		r, err := onion.ParseNodeReply([]byte(l.OnionReply))
		if err != nil {
			t.Fatalf("onion reply: %v", err)
		}
		if r.Status != l.Status || !stSameBody(r.Body, l.ReplyBytes()) {
			t.Fatalf("onion reply says %d %.200q, recorded %d %.200q", r.Status, r.Body, l.Status, l.ReplyBytes())
		}
		if l.OnionOuter != http.StatusOK {
			t.Fatalf("onion outer status %d", l.OnionOuter)
		}
	}
	method := ""
	if l.Method != nil {
		method = *l.Method
	}
	if method == "onion_req/v2" {
		// A hop's plain-text answer: the path never reached its destination.
		pe := &onion.PathError{Status: l.Status, Body: l.ReplyBytes()}
		if l.Status != http.StatusBadGateway || !pe.NotDelivered() {
			t.Fatalf("hop answer %d %q not read as an undelivered request", l.Status, l.ReplyBytes())
		}
		if _, known := k.byKey[strings.TrimPrefix(string(l.ReplyBytes()), "Next node not found: ")]; known {
			t.Fatal("a node of the network reported missing")
		}
		return
	}
	if l.Status != http.StatusOK {
		stErrorReply(t, k, l, method)
		return
	}
	stOKReply(t, k, l, method, l.ReplyBytes(), l.Req)
}

// stSentinels maps recorded statuses to the sentinel a *swarm.NodeError must match.
var stSentinels = map[int]error{
	400: swarm.ErrBadRequest, 401: swarm.ErrUnauthorized, 403: swarm.ErrForbidden, 404: swarm.ErrNotFound,
	406: swarm.ErrClockSkew, 421: swarm.ErrWrongSwarm, 500: swarm.ErrServer,
}

func stErrorReply(t *testing.T, k *stKeys, l realpeers.StorageLine, method string) {
	ne := swarm.NewNodeError(swarm.Node{}, l.Status, l.ReplyBytes())
	want, ok := stSentinels[l.Status]
	if !ok {
		t.Fatalf("no sentinel for status %d", l.Status)
	}
	if !errors.Is(ne, want) {
		t.Fatalf("%v does not match %v", ne, want)
	}
	for s, e := range stSentinels {
		if s != l.Status && errors.Is(ne, e) {
			t.Fatalf("%v also matches %v", ne, e)
		}
	}
	if l.ClientError != "" && !strings.Contains(l.ClientError, fmt.Sprint(l.Status)) {
		t.Fatalf("recorded client error %q does not name status %d", l.ClientError, l.Status)
	}
	switch l.Status {
	case 421:
		// The body names the right swarm: the account's, with the recorded network's members.
		info, err := swarm.ParseSwarm(ne.Body)
		if err != nil {
			t.Fatal(err)
		}
		account := stAccount(t, l)
		id, members := k.swarmOf(t, account)
		stSameNodes(t, info, id, members)
		if info.T <= 0 {
			t.Fatal("421 without t")
		}
	case 404:
		// delete with required: every member deleted nothing; the body is still the result.
		res, err := swarm.ParseSwarmResult(ne.Body)
		if err != nil {
			t.Fatal(err)
		}
		stCheckSwarmResult(t, k, l, method, res, l.Req)
		for _, m := range res.Swarm {
			if len(m.Deleted) != 0 {
				t.Fatalf("404 with deletions: %+v", m)
			}
		}
	default:
		if _, ok := l.Text(); !ok {
			t.Fatalf("error reply %d is JSON: %s", l.Status, l.Body)
		}
	}
}

// stSameBody compares two bodies as JSON when both are JSON, else byte for byte.
func stSameBody(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil {
		return reflect.DeepEqual(x, y)
	}
	return bytes.Equal(a, b)
}

// stOKReply checks a 200 reply to method (req is its request, for recursion into batches).
func stOKReply(t *testing.T, k *stKeys, l realpeers.StorageLine, method string, body []byte, req json.RawMessage) {
	t.Helper()
	var top struct {
		T json.RawMessage `json:"t"`
	}
	_ = json.Unmarshal(body, &top)
	switch method {
	case "info":
		info, err := swarm.ParseInfo(body)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(info.Version, []int{2, 6, 2}) || len(info.HF) != 2 || info.T <= 0 {
			t.Fatalf("info %+v", info)
		}
	case "get_swarm", "get_snodes_for_pubkey":
		info, err := swarm.ParseSwarm(body)
		if err != nil {
			t.Fatal(err)
		}
		id, members := k.swarmOf(t, stAccountOf(t, req))
		stSameNodes(t, info, id, members)
	case "oxend_request":
		nodes, skipped, err := swarm.ParseServiceNodes(body)
		if err != nil {
			t.Fatal(err)
		}
		if skipped != 0 || len(nodes) != len(k.nodes) {
			t.Fatalf("%d nodes (%d skipped), keys.json has %d", len(nodes), skipped, len(k.nodes))
		}
		withSwarm := bytes.Contains(body, []byte(`"swarm_id"`))
		for _, n := range nodes {
			want, ok := k.byKey[hex.EncodeToString(n.Ed25519[:])]
			if !withSwarm {
				want.SwarmID = swarm.InvalidSwarmID
			}
			if !ok || n != want {
				t.Fatalf("node %+v, keys.json %+v", n, want)
			}
		}
	case "retrieve":
		res, err := swarm.ParseRetrieve(body)
		if err != nil {
			t.Fatal(err)
		}
		stCheckRetrieve(t, l, res, body, req)
	case "get_expiries":
		got, err := swarm.ParseExpiries(body)
		if err != nil {
			t.Fatal(err)
		}
		var want struct {
			Expiries map[string]int64 `json:"expiries"`
		}
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want.Expiries) || len(got) == 0 {
			t.Fatalf("expiries %v, recorded %v", got, want.Expiries)
		}
		for h, e := range want.Expiries {
			if got[h].UnixMilli() != e {
				t.Fatalf("expiry of %s: %v, recorded %d", h, got[h], e)
			}
		}
	case "store", "delete", "delete_all", "delete_before", "expire", "expire_all", "revoke_subaccount", "unrevoke_subaccount":
		res, err := swarm.ParseSwarmResult(body)
		if err != nil {
			t.Fatal(err)
		}
		stCheckSwarmResult(t, k, l, method, res, req)
	case "batch", "sequence":
		subs, err := swarm.ParseBatch(body)
		if err != nil {
			t.Fatal(err)
		}
		var r struct {
			Params struct {
				Requests []json.RawMessage `json:"requests"`
			} `json:"params"`
		}
		if err := json.Unmarshal(req, &r); err != nil {
			t.Fatal(err)
		}
		if len(subs) == 0 || len(subs) > len(r.Params.Requests) || (method == "batch" && len(subs) != len(r.Params.Requests)) {
			t.Fatalf("%d results for %d requests", len(subs), len(r.Params.Requests))
		}
		for i, sr := range subs {
			var m struct {
				Method string `json:"method"`
			}
			_ = json.Unmarshal(r.Params.Requests[i], &m)
			if !sr.OK() {
				ne := sr.Err().(*swarm.NodeError)
				if want := stSentinels[sr.Code]; want == nil || !errors.Is(ne, want) {
					t.Fatalf("result %d: %v", i, ne)
				}
				if method == "sequence" && i != len(subs)-1 {
					t.Fatal("a sequence went on after a failure")
				}
				continue
			}
			stOKReply(t, k, l, m.Method, sr.Body, r.Params.Requests[i])
		}
	case "ifelse":
		var r struct {
			Condition bool `json:"condition"`
			Result    struct {
				Code int             `json:"code"`
				Body json.RawMessage `json:"body"`
			} `json:"result"`
		}
		if err := json.Unmarshal(body, &r); err != nil || !r.Condition || r.Result.Code != 200 {
			t.Fatalf("ifelse %s", body)
		}
		stOKReply(t, k, l, "info", r.Result.Body, json.RawMessage(`{"method":"info","params":{}}`))
	default:
		t.Fatalf("no check for a 200 reply to %q", method)
	}
}

func stSameNodes(t *testing.T, info swarm.SwarmInfo, id uint64, members []swarm.Node) {
	t.Helper()
	if info.ID != id || len(info.Nodes) != len(members) {
		t.Fatalf("swarm %x with %d nodes, keys.json: %x with %d", info.ID, len(info.Nodes), id, len(members))
	}
	for _, n := range info.Nodes {
		found := false
		for _, m := range members {
			found = found || n == m
		}
		if !found {
			t.Fatalf("swarm member %+v is not in keys.json's swarm %x", n, id)
		}
	}
}

// stAccount is the Account ID a line's request is about.
func stAccount(t *testing.T, l realpeers.StorageLine) crypto.AccountID {
	t.Helper()
	return stAccountOf(t, l.Req)
}

func stAccountOf(t *testing.T, req json.RawMessage) crypto.AccountID {
	t.Helper()
	var r struct {
		Params struct {
			Pubkey string `json:"pubkey"`
			PubKey string `json:"pubKey"`
		} `json:"params"`
	}
	s := string(req)
	if json.Unmarshal(req, &r) == nil {
		s = r.Params.Pubkey + r.Params.PubKey
	} else {
		var raw string
		if json.Unmarshal(req, &raw) == nil {
			if i := strings.Index(raw, `"pubkey":"`); i >= 0 && len(raw) >= i+10+66 {
				s = raw[i+10 : i+10+66]
			}
		}
	}
	id, err := crypto.ParseAccountID(s)
	if err != nil {
		t.Fatalf("request account %.70q: %v", s, err)
	}
	return id
}

// stParams decodes a request's params.
func stParams(t *testing.T, req json.RawMessage) (string, map[string]json.RawMessage) {
	t.Helper()
	var r struct {
		Method string                     `json:"method"`
		Params map[string]json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(req, &r); err != nil {
		t.Fatalf("request %.100s: %v", req, err)
	}
	return r.Method, r.Params
}

func stInt(raw json.RawMessage) (int64, bool) {
	s := strings.Trim(string(raw), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && len(raw) > 0
}

// stCheckRetrieve recomputes every message's hash from the account, namespace and data.
func stCheckRetrieve(t *testing.T, l realpeers.StorageLine, res *swarm.RetrieveResult, body []byte, req json.RawMessage) {
	t.Helper()
	var raw struct {
		Messages []json.RawMessage `json:"messages"`
		More     bool              `json:"more"`
		T        int64             `json:"t"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != len(raw.Messages) || res.More != raw.More || res.T != raw.T {
		t.Fatalf("%d messages more=%v t=%d, recorded %d more=%v t=%d", len(res.Messages), res.More, res.T, len(raw.Messages), raw.More, raw.T)
	}
	if len(res.Messages) == 0 {
		return
	}
	_, p := stParams(t, req)
	account := stAccountOf(t, req)
	var ns swarm.Namespace
	if v, ok := stInt(p["namespace"]); ok {
		ns = swarm.Namespace(v)
	}
	for i, m := range res.Messages {
		if got := swarm.MessageHash(account, ns, m.Data); got != m.Hash {
			t.Fatalf("message %d: hash %s, recomputed %s", i, m.Hash, got)
		}
		if !m.Expiration.After(m.Timestamp) {
			t.Fatalf("message %d expires before it was stored", i)
		}
	}
	// At the node's time, every message holds up: nothing is dropped, the resume point is the
	// last message.
	n := len(res.Messages)
	last := res.Messages[n-1].Hash
	if o := res.Verify(account, ns, time.UnixMilli(raw.T)); o != 0 || len(res.Messages) != n || len(res.Dropped) != 0 || res.LastHash != last {
		t.Fatalf("verification at the recorded time: offense %v, dropped %v, last %s", o, res.Dropped, res.LastHash)
	}
}

// stCheckSwarmResult checks a recursive reply: members are the recorded swarm's, every member's
// signature verifies, stored hashes are the recomputed ones.
func stCheckSwarmResult(t *testing.T, k *stKeys, l realpeers.StorageLine, method string, res *swarm.SwarmResult, req json.RawMessage) {
	t.Helper()
	if len(res.Swarm) == 0 || res.T <= 0 {
		t.Fatalf("swarm result %+v", res)
	}
	var account crypto.AccountID
	if len(req) > 0 && string(req) != "null" {
		account = stAccountOf(t, req)
		_, members := k.swarmOf(t, account)
		if len(res.Swarm) != len(members) {
			t.Fatalf("%d members answered, the swarm has %d", len(res.Swarm), len(members))
		}
		for key := range res.Swarm {
			n, ok := k.byKey[key]
			if !ok || n.SwarmID != members[0].SwarmID {
				t.Fatalf("member %s is not in the account's swarm", key[:8])
			}
		}
	}
	if res.Succeeded() != len(res.Swarm) {
		t.Fatalf("%d of %d members succeeded", res.Succeeded(), len(res.Swarm))
	}
	if method == "store" {
		var data []byte
		var ns swarm.Namespace
		if len(req) > 0 && string(req) != "null" {
			_, p := stParams(t, req)
			var s string
			_ = json.Unmarshal(p["data"], &s)
			d, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			data = d
			if v, ok := stInt(p["namespace"]); ok {
				ns = swarm.Namespace(v)
			}
		}
		want := res.Hash
		if data != nil {
			want = swarm.MessageHash(account, ns, data)
		}
		if res.Hash != want {
			t.Fatalf("hash %s, recomputed %s", res.Hash, want)
		}
		for key, m := range res.Swarm {
			if m.Hash != want || m.Expiry <= 0 {
				t.Fatalf("member %s: hash %s expiry %d", key[:8], m.Hash, m.Expiry)
			}
		}
	}
	// Signatures: rebuild the request as the SDK would, at the recorded time.
	r, now, ok := stBuildRequest(t, method, req)
	if !ok {
		if method != "store" {
			t.Fatalf("cannot rebuild the %s request to check signatures", method)
		}
		r = swarm.StoreRequest{} // the request was not recorded: only the store signature (over the hash) is checkable
	}
	if bad := res.CheckSignatures(account, r, now); len(bad) > 0 {
		t.Fatalf("signatures of %v do not verify", bad)
	}
}

// stBuildRequest rebuilds a typed request from recorded params, with the time it was signed at.
// ok is false for methods the SDK has no request type for, and for unrecorded requests.
func stBuildRequest(t *testing.T, method string, req json.RawMessage) (r swarm.Request, now int64, ok bool) {
	t.Helper()
	if len(req) == 0 || req[0] != '{' {
		return nil, 0, false
	}
	_, p := stParams(t, req)
	i64 := func(k string) int64 {
		v, _ := stInt(p[k])
		return v
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(p[k], &s)
		return s
	}
	strs := func(k string) []string {
		var l []string
		if json.Unmarshal(p[k], &l) != nil {
			if s := str(k); s != "" {
				l = []string{s}
			}
		}
		return l
	}
	b := func(k string) bool {
		var v bool
		_ = json.Unmarshal(p[k], &v)
		return v
	}
	ns, all := swarm.Namespace(0), false
	if raw, ok := p["namespace"]; ok {
		if string(raw) == `"all"` {
			all = true
		} else {
			v, _ := stInt(raw)
			ns = swarm.Namespace(v)
		}
	}
	ms := time.UnixMilli
	switch method {
	case "store":
		var data []byte
		if d, err := base64.StdEncoding.DecodeString(str("data")); err == nil {
			data = d
		}
		ts := i64("timestamp")
		ttl := i64("ttl")
		if _, ok := p["expiry"]; ok && ttl == 0 {
			ttl = i64("expiry") - ts
		}
		now = ts
		if _, ok := p["sig_timestamp"]; ok {
			now = i64("sig_timestamp")
		}
		return swarm.StoreRequest{Namespace: ns, Data: data, TTL: time.Duration(ttl) * time.Millisecond, Timestamp: ms(ts)}, now, true
	case "retrieve":
		last := str("last_hash")
		if last == "" {
			last = str("lastHash")
		}
		return swarm.RetrieveRequest{Namespace: ns, LastHash: last, MaxCount: int(i64("max_count")), MaxSize: int(i64("max_size"))}, i64("timestamp"), true
	case "get_expiries":
		return swarm.GetExpiriesRequest{Hashes: strs("messages")}, i64("timestamp"), true
	case "delete":
		return swarm.DeleteRequest{Hashes: strs("messages"), Required: b("required")}, 0, true
	case "delete_all":
		return swarm.DeleteAllRequest{Namespace: ns, AllNamespaces: all}, i64("timestamp"), true
	case "delete_before":
		return swarm.DeleteBeforeRequest{Namespace: ns, AllNamespaces: all, Before: ms(i64("before"))}, 0, true
	case "expire_all":
		return swarm.ExpireAllRequest{Namespace: ns, AllNamespaces: all, Expiry: ms(i64("expiry"))}, 0, true
	case "expire":
		er := swarm.ExpireRequest{Hashes: strs("messages"), Shorten: b("shorten"), Extend: b("extend")}
		var list []int64
		if json.Unmarshal(p["expiry"], &list) == nil {
			for _, e := range list {
				er.Expiries = append(er.Expiries, ms(e))
			}
		} else {
			er.Expiry = ms(i64("expiry"))
		}
		return er, 0, true
	case "revoke_subaccount", "unrevoke_subaccount":
		key := strings.TrimSuffix(method, "_subaccount")
		var toks [][swarm.SubaccountTokenSize]byte
		for _, s := range strs(key) {
			tb, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				tb, err = hex.DecodeString(s)
			}
			if err != nil || len(tb) != swarm.SubaccountTokenSize {
				t.Fatalf("token %q", s)
			}
			toks = append(toks, [swarm.SubaccountTokenSize]byte(tb))
		}
		if key == "revoke" {
			return swarm.RevokeSubaccountRequest{Tokens: toks}, i64("timestamp"), true
		}
		return swarm.UnrevokeSubaccountRequest{Tokens: toks}, i64("timestamp"), true
	}
	return nil, 0, false
}

// ---- requests ----

// stExpectation says how the SDK's request differs from a recorded one, and why. Cases not
// listed must come out identical (same parameters, values and signature).
type stExpectation struct {
	why string
	// noRequest: the SDK has no request for this (unknown methods, malformed JSON, requests it
	// has no API for, or that were not recorded).
	noRequest bool
	// refused: the SDK refuses to build the request (the error matches refused); the server
	// refused it too unless serverAccepted.
	refused        error
	serverAccepted bool
	// extra are keys only the recorded request has, missing keys only the SDK's has, values
	// keys present in both whose values differ.
	extra, missing, values []string
	// otherSig: the recorded signature is deliberately not the SDK's; it must not verify over
	// the message the SDK signs.
	otherSig bool
}

const stProbe = "a hand-built probe of the server"

var stExpected = map[string]stExpectation{
	// SDK bugs found by the recording, fixed since (issue 12).
	"retrieve ns-21 unsigned (public outbox)":          {why: "the SDK sent a timestamp with unsigned retrieves (issue 12 item 2); it no longer does", extra: []string{"timestamp"}},
	"retrieve ns-10 unsigned (legacy closed: no auth)": {why: "the SDK sent a timestamp with unsigned retrieves (issue 12 item 2); it no longer does", extra: []string{"timestamp"}},
	// Requests the server refuses that the SDK now refuses before sending.
	"store ns0 unsigned, TTL 15 days (negative control)": {why: "a TTL over 14 days in a public inbox is refused locally", refused: swarm.ErrInvalidRequest},
	"store ns0 unsigned ttl 14d+1ms (too long)":          {why: stProbe + ": a TTL over 14 days in a public inbox is refused locally", refused: swarm.ErrInvalidRequest},
	"store ns0 unsigned ttl 30d (too long)":              {why: stProbe + ": a TTL over 14 days in a public inbox is refused locally", refused: swarm.ErrInvalidRequest},
	"store ns0 unsigned expiry 15d (too long, expiry form)": {why: stProbe + ": the SDK sends a TTL, which is over 14 days",
		refused: swarm.ErrInvalidRequest},
	"store ns2 unsigned (signature required)":          {why: stProbe + ": an unsigned store to a namespace that needs auth", refused: swarm.ErrCannotSign},
	"store ns0 unsigned, data 76801 bytes (oversize)":  {why: stProbe + ": data over 76800 bytes is refused locally", refused: swarm.ErrInvalidRequest},
	"store ns0 unsigned, data 100000 bytes (oversize)": {why: stProbe + ": data over 76800 bytes is refused locally", refused: swarm.ErrInvalidRequest},
	"retrieve ns0 signed, last_hash not a hash":        {why: stProbe + ": a last hash that is not 43 characters is refused locally", refused: swarm.ErrInvalidRequest},
	"retrieve ns0 unsigned":                            {why: stProbe + ": namespace 0 needs auth", refused: swarm.ErrCannotSign},
	"retrieve ns0 unsigned with timestamp":             {why: stProbe + ": namespace 0 needs auth", refused: swarm.ErrCannotSign},
	"delete empty messages list":                       {why: stProbe + ": a delete without hashes is refused locally", refused: swarm.ErrInvalidRequest},
	"expire shorten and extend both set":               {why: stProbe + ": shorten with extend is refused locally", refused: swarm.ErrInvalidRequest},
	"pubkey too short":                                 {why: stProbe + ": not an Account ID", refused: crypto.ErrInvalidAccountID},
	"pubkey with bad prefix (09)": {why: stProbe + ": 09 is no Account ID prefix; the SDK refuses it although the server answered (an empty list)",
		refused: crypto.ErrInvalidAccountID, serverAccepted: true},
	// Probes with deliberately different requests.
	"retrieve ns-10 unsigned with timestamp":                               {why: stProbe + ": an unsigned retrieve with a timestamp (refused by the server); the SDK sends none", extra: []string{"timestamp"}},
	"retrieve ns-21 unsigned with timestamp":                               {why: stProbe + ": an unsigned retrieve with a timestamp (refused by the server); the SDK sends none", extra: []string{"timestamp"}},
	"retrieve ns0, signature over wrong namespace string ('retrieve0'+ts)": {why: stProbe + ": signed over the wrong text", otherSig: true},
	"retrieve ns0, signature by another key":                               {why: stProbe + ": signed with another key", otherSig: true},
	"retrieve with a signature that is not base64":                         {why: stProbe + ": a signature that is not base64", otherSig: true},
	"retrieve ns0 signed, without pubkey_ed25519 (05 account)":             {why: stProbe + ": an 05 account must send pubkey_ed25519; the SDK does", missing: []string{"pubkey_ed25519"}},
	"retrieve with pubkey_ed25519 of a different account": {why: stProbe + ": another account's key and signature",
		values: []string{"pubkey_ed25519"}, otherSig: true},
	"retrieve 03 pubkey with pubkey_ed25519 (not permitted)": {why: stProbe + ": pubkey_ed25519 with an 03 account; the SDK sends it only for 05",
		extra: []string{"pubkey_ed25519"}},
	"store ns0 with a bogus signature (public ns: not verified)": {why: stProbe + ": a bogus signature on a public-inbox store; the SDK signs it for real (with sig_timestamp)",
		missing: []string{"sig_timestamp"}, otherSig: true},
	"store ns0 with both ttl and expiry":                       {why: stProbe + ": both ttl and expiry; the SDK sends ttl", extra: []string{"expiry"}},
	"oxend_request get_service_nodes (fields as desktop asks)": {why: stProbe + ": Session Desktop's fields, not the SDK's", values: []string{"params"}},
	// Requests the SDK has no API for.
	"unknown method":                     {why: stProbe + ": a method that does not exist", noRequest: true},
	"malformed JSON body":                {why: stProbe + ": not JSON", noRequest: true},
	"batch with nested batch":            {why: stProbe + ": batches of typed requests cannot nest", noRequest: true},
	"batch info + get_swarm":             {why: stProbe + ": the SDK batches only signed account requests", noRequest: true},
	"sequence stops after first failure": {why: stProbe + ": the SDK batches only signed account requests", noRequest: true},
	"ifelse hf_at_least [19,0]":          {why: stProbe + ": the SDK does not send ifelse", noRequest: true},
	"oxend_request unsupported endpoint": {why: stProbe + ": an endpoint the server refuses", noRequest: true},
	"oxend_request ons_resolve (fake oxend answers UNKNOWNCOMMAND)": {why: stProbe + " with a zero name hash; package sns builds ons_resolve requests (tested with its vectors)",
		noRequest: true},
	"get_snodes_for_pubkey alias": {why: stProbe + ": the SDK asks get_swarm", noRequest: true},
	"onion request whose 3rd hop is not a known service node": {why: "an onion blob built by a probe with a random hop; onion building is pinned by the onion vectors",
		noRequest: true},
	"store ns0, repeat of an identical store (earlier run; request not logged)": {why: "the request was not recorded", noRequest: true},
}

// stRestoredReq returns the request, with data that the recording abbreviated rebuilt from its
// note ("data = base64 of N x 'A'") or placeholder.
func stRestoredReq(t *testing.T, l realpeers.StorageLine) json.RawMessage {
	t.Helper()
	var raw string
	if json.Unmarshal(l.Req, &raw) == nil {
		var n int
		if _, err := fmt.Sscanf(l.Note, "data = base64 of %d x 'A'", &n); err != nil {
			return nil
		}
		i := strings.Index(raw, `"data":"`)
		if i < 0 {
			t.Fatalf("cannot restore %.80q", raw)
		}
		return json.RawMessage(raw[:i] + `"data":"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("A"), n)) + `"}}`)
	}
	var r struct {
		Method string                     `json:"method"`
		Params map[string]json.RawMessage `json:"params"`
	}
	if len(l.Req) == 0 || l.Req[0] != '{' || json.Unmarshal(l.Req, &r) != nil {
		return nil
	}
	var n int
	if d, ok := r.Params["data"]; ok {
		if _, err := fmt.Sscanf(string(d), `"<base64 of %d x 'A'`, &n); err == nil {
			r.Params["data"], _ = json.Marshal(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("A"), n)))
			b, _ := json.Marshal(r)
			return b
		}
	}
	return l.Req
}

func stRequest(t *testing.T, k *stKeys, l realpeers.StorageLine, exp stExpectation) {
	if exp.noRequest {
		if exp.why == "" {
			t.Fatal("no reason given")
		}
		return
	}
	req := stRestoredReq(t, l)
	if req == nil {
		t.Fatalf("cannot read the recorded request %.80s (add it to stExpected?)", l.Req)
	}
	method, params := stParams(t, req)
	switch method {
	case "info", "get_swarm", "oxend_request":
		stUnsignedRPC(t, k, l, method, req, exp)
		return
	case "batch", "sequence":
		stBatch(t, k, l, method, params, exp)
		return
	}
	r, now, ok := stBuildRequest(t, method, req)
	if !ok {
		t.Fatalf("the SDK has no %q request (add it to stExpected?)", method)
	}
	signer, err := stSigner(t, k, params)
	var body []byte
	if err == nil {
		body, err = swarm.EncodeRequest(r, signer, now)
	}
	if stRefused(t, l, exp, err) {
		return
	}
	_, sdk := stParams(t, body)
	stCompare(t, params, sdk, exp, r.SignatureMessage(now))
	stClientReplay(t, k, l, signer, r, now)
}

// stRefused handles an SDK refusal to build a request; it reports whether there was one.
func stRefused(t *testing.T, l realpeers.StorageLine, exp stExpectation, err error) bool {
	t.Helper()
	switch {
	case err != nil && exp.refused == nil:
		t.Fatalf("the SDK refuses the request: %v", err)
	case err == nil && exp.refused != nil:
		t.Fatalf("the SDK builds a request it should refuse (%v): %s", exp.refused, exp.why)
	case err != nil && !errors.Is(err, exp.refused):
		t.Fatalf("the SDK refuses with %v, want %v", err, exp.refused)
	case err != nil && !exp.serverAccepted && l.Status < 400:
		t.Fatalf("the SDK refuses what the server accepted (%d)", l.Status)
	}
	return err != nil
}

// stSigner is the signer that makes the recorded request: by its account and auth fields.
func stSigner(t *testing.T, k *stKeys, p map[string]json.RawMessage) (swarm.Signer, error) {
	t.Helper()
	var pk string
	if json.Unmarshal(p["pubkey"], &pk) != nil {
		_ = json.Unmarshal(p["pubKey"], &pk)
	}
	account, err := crypto.ParseAccountID(pk)
	if err != nil {
		return nil, err
	}
	if _, signed := p["signature"]; !signed {
		return swarm.Unsigned(account), nil
	}
	if raw, ok := p["subaccount"]; ok {
		var s string
		_ = json.Unmarshal(raw, &s)
		tok, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(tok) != groups.TokenSize {
			t.Fatalf("subaccount token %q", s)
		}
		admin := k.groups[account]
		if admin == nil {
			t.Fatalf("no admin key for group %s", account)
		}
		for _, member := range k.accounts {
			mt, err := admin.SubaccountToken(member.AccountID(), tok[1])
			if err != nil || !bytes.Equal(mt[:], tok) {
				continue
			}
			auth, err := admin.SubaccountAuth(member.AccountID(), tok[1])
			if err != nil {
				t.Fatal(err)
			}
			return groups.NewSubaccountSigner(member, account, auth)
		}
		t.Fatalf("no account of keys.json holds token %s", s)
	}
	if keys := k.accounts[account]; keys != nil {
		return swarm.NewKeysSigner(keys), nil
	}
	if admin := k.groups[account]; admin != nil {
		return swarm.NewGroupAdminSigner(admin.PrivateKey())
	}
	for _, keys := range k.accounts { // an 03 account made of a test account's Ed25519 key
		if account.Key() == keys.Ed25519PublicKey() {
			return swarm.NewGroupAdminSigner(keys.Ed25519PrivateKey())
		}
	}
	t.Fatalf("no key for %s in keys.json", account)
	return nil, nil
}

// stNormalized is the recorded params with the spellings the server treats alike made one:
// pubKey/lastHash aliases, an explicit namespace 0, an empty last hash, stringified numbers.
func stNormalized(p map[string]json.RawMessage) map[string]any {
	out := map[string]any{}
	for k, raw := range p {
		switch k {
		case "pubKey":
			k = "pubkey"
		case "lastHash":
			k = "last_hash"
		}
		var v any
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		_ = d.Decode(&v)
		if s, ok := v.(string); ok && (k == "timestamp" || k == "ttl") {
			if _, err := strconv.ParseInt(s, 10, 64); err == nil {
				v = json.Number(s)
			}
		}
		if (k == "namespace" && v == json.Number("0")) || (k == "last_hash" && v == "") {
			continue
		}
		out[k] = v
	}
	return out
}

// stCompare compares the SDK's params with the recorded ones: keys, values and signature, with
// the differences exp allows.
func stCompare(t *testing.T, rec map[string]json.RawMessage, sdkRaw map[string]json.RawMessage, exp stExpectation, sigMsg []byte) {
	t.Helper()
	want, got := stNormalized(rec), stNormalized(sdkRaw)
	var extra, missing, differ []string
	for k := range want {
		if _, ok := got[k]; !ok {
			extra = append(extra, k)
		}
	}
	for k, v := range got {
		w, ok := want[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case k == "signature":
		case !reflect.DeepEqual(v, w):
			differ = append(differ, k)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	sort.Strings(differ)
	if !stSameSet(extra, exp.extra) || !stSameSet(missing, exp.missing) || !stSameSet(differ, exp.values) {
		t.Fatalf("only recorded %v (want %v), only the SDK's %v (want %v), different values %v (want %v)\nrecorded %v\nSDK      %v",
			extra, exp.extra, missing, exp.missing, differ, exp.values, want, got)
	}
	gotSig, _ := got["signature"].(string)
	wantSig, _ := want["signature"].(string)
	if gotSig == "" {
		if wantSig != "" && !exp.otherSig {
			t.Fatal("recorded request is signed, the SDK's is not")
		}
		return
	}
	// Which key the SDK signs with: the one its own signature verifies under.
	sig, err := base64.StdEncoding.DecodeString(gotSig)
	if err != nil {
		t.Fatal(err)
	}
	key := stSigningKey(sdkRaw)
	if !ed25519.Verify(key, sigMsg, sig) {
		t.Fatal("the SDK's signature does not verify over its own signature message")
	}
	if !exp.otherSig {
		if gotSig != wantSig {
			t.Fatalf("signature %s, recorded %s", gotSig, wantSig)
		}
		return
	}
	if gotSig == wantSig {
		t.Fatal("the recorded signature was expected to differ")
	}
	if rs, err := base64.StdEncoding.DecodeString(wantSig); err == nil && len(rs) == ed25519.SignatureSize && ed25519.Verify(key, sigMsg, rs) {
		t.Fatal("the deliberately different signature verifies over the SDK's message")
	}
}

func stSameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	b = append([]string(nil), b...)
	sort.Strings(b)
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// stSigningKey is the Ed25519 key a request's signature verifies under: the subaccount token's
// key, else pubkey_ed25519, else the account key itself (03 groups).
func stSigningKey(p map[string]json.RawMessage) ed25519.PublicKey {
	var s string
	if json.Unmarshal(p["subaccount"], &s) == nil {
		if tok, err := base64.StdEncoding.DecodeString(s); err == nil && len(tok) == groups.TokenSize {
			return ed25519.PublicKey(tok[4:])
		}
	}
	if json.Unmarshal(p["pubkey_ed25519"], &s) == nil {
		if k, err := hex.DecodeString(s); err == nil {
			return k
		}
	}
	_ = json.Unmarshal(p["pubkey"], &s)
	k, _ := hex.DecodeString(s)
	if len(k) == 33 {
		return k[1:]
	}
	return nil
}

// stBatch rebuilds a batch or sequence: every subrequest is signed at one time by one signer.
func stBatch(t *testing.T, k *stKeys, l realpeers.StorageLine, method string, params map[string]json.RawMessage, exp stExpectation) {
	t.Helper()
	var subs []json.RawMessage
	if err := json.Unmarshal(params["requests"], &subs); err != nil {
		t.Fatal(err)
	}
	var reqs []swarm.Request
	var signer swarm.Signer
	var now int64
	for i, sub := range subs {
		m, p := stParams(t, sub)
		r, at, ok := stBuildRequest(t, m, sub)
		if !ok {
			t.Fatalf("subrequest %d: the SDK has no %q request", i, m)
		}
		if i > 0 && at != now {
			t.Fatalf("subrequest %d signed at %d, the first at %d", i, at, now)
		}
		now = at
		s, err := stSigner(t, k, p)
		if err != nil {
			t.Fatal(err)
		}
		if signer != nil && s.AccountID() != signer.AccountID() {
			t.Fatal("subrequests for different accounts")
		}
		signer = s
		reqs = append(reqs, r)
	}
	body, err := swarm.EncodeBatch(method, signer, now, reqs...)
	if stRefused(t, l, exp, err) {
		return
	}
	_, sdk := stParams(t, body)
	var sdkSubs []json.RawMessage
	if err := json.Unmarshal(sdk["requests"], &sdkSubs); err != nil || len(sdkSubs) != len(subs) {
		t.Fatalf("SDK batch %s", body)
	}
	for i := range subs {
		_, rp := stParams(t, subs[i])
		_, sp := stParams(t, sdkSubs[i])
		stCompare(t, rp, sp, exp, reqs[i].SignatureMessage(now))
	}
}

// stCapture is a swarm.Transport that records what the SDK sends and answers with a recorded
// reply.
type stCapture struct {
	mu     sync.Mutex
	status int
	reply  []byte
	sent   [][]byte
}

func (c *stCapture) Send(_ context.Context, node swarm.Node, body []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, append([]byte(nil), body...))
	if c.status != http.StatusOK {
		return nil, swarm.NewNodeError(node, c.status, c.reply)
	}
	return c.reply, nil
}

// stPool is a pool holding the recorded network's nodes.
func stPool(t *testing.T, k *stKeys, tr swarm.Transport) *swarm.Pool {
	t.Helper()
	p, err := swarm.NewPool(swarm.PoolConfig{Seeds: []string{"https://127.0.0.1:1"}, MinSize: 1, RefreshNodes: 3, Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Set(context.Background(), k.nodes); err != nil {
		t.Fatal(err)
	}
	return p
}

// stUnsignedRPC runs the SDK's own info, get_swarm and pool refresh against the recorded reply
// and compares what it sent.
func stUnsignedRPC(t *testing.T, k *stKeys, l realpeers.StorageLine, method string, req json.RawMessage, exp stExpectation) {
	t.Helper()
	tr := &stCapture{status: l.Status, reply: l.ReplyBytes()}
	pool := stPool(t, k, tr)
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: tr, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	switch method {
	case "info":
		_, err = c.Info(ctx, k.nodes[0])
	case "get_swarm":
		account, perr := crypto.ParseAccountID(stPubkey(req))
		if perr != nil {
			if stRefused(t, l, exp, perr) {
				return
			}
		}
		_, err = c.GetSwarm(ctx, account)
	case "oxend_request":
		err = pool.Refresh(ctx) // a refresh asks RefreshNodes (3) nodes
	}
	if (err == nil) != (l.Status == http.StatusOK) {
		t.Fatalf("SDK %s with the recorded reply (%d): %v", method, l.Status, err)
	}
	if len(tr.sent) == 0 {
		t.Fatal("nothing sent")
	}
	if method == "oxend_request" && l.Status == http.StatusOK {
		if got := pool.Snapshot(); len(got) != len(k.nodes) {
			t.Fatalf("refreshed pool has %d nodes, want %d", len(got), len(k.nodes))
		}
	}
	var want any
	if err := json.Unmarshal(req, &want); err != nil {
		t.Fatal(err)
	}
	for _, sent := range tr.sent {
		var got any
		if err := json.Unmarshal(sent, &got); err != nil {
			t.Fatal(err)
		}
		_, rp := stParams(t, req)
		_, sp := stParams(t, sent)
		stCompare(t, rp, sp, exp, nil)
	}
}

func stPubkey(req json.RawMessage) string {
	var r struct {
		Params struct {
			Pubkey string `json:"pubkey"`
		} `json:"params"`
	}
	_ = json.Unmarshal(req, &r)
	return r.Params.Pubkey
}

// stClientReplay sends a store or retrieve the recorded reply answered through the SDK's Client
// (a transport that answers with that reply, a local clock at the recorded time): a 200 must come
// out as a result that holds up, anything else as a *swarm.NodeError with the recorded status.
func stClientReplay(t *testing.T, k *stKeys, l realpeers.StorageLine, signer swarm.Signer, r swarm.Request, now int64) {
	t.Helper()
	tr := &stCapture{status: l.Status, reply: l.ReplyBytes()}
	clock := func() time.Time { return time.UnixMilli(now) }
	c, err := swarm.NewClient(swarm.ClientConfig{Transport: tr, Pool: stPool(t, k, tr), MaxAttempts: 1, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	var ne *swarm.NodeError
	if rr, ok := r.(swarm.RetrieveRequest); ok {
		res, err := c.Retrieve(context.Background(), signer, rr)
		switch {
		case l.Status != http.StatusOK:
			if !errors.As(err, &ne) || ne.Status != l.Status {
				t.Fatalf("Client.Retrieve with the recorded %d: %v", l.Status, err)
			}
		case err != nil:
			t.Fatalf("Client.Retrieve with the recorded reply: %v", err)
		case len(res.Dropped) != 0:
			t.Fatalf("Client.Retrieve dropped recorded messages: %v", res.Dropped)
		}
		return
	}
	sr, ok := r.(swarm.StoreRequest)
	if !ok {
		return
	}
	res, err := c.Store(context.Background(), signer, sr)
	if l.Status == http.StatusOK {
		if err != nil {
			t.Fatalf("Client.Store with the recorded reply: %v", err)
		}
		if res.Succeeded() != len(res.Swarm) || res.Hash != swarm.MessageHash(signer.AccountID(), sr.Namespace, sr.Data) {
			t.Fatalf("Client.Store result %+v", res)
		}
		return
	}
	if !errors.As(err, &ne) || ne.Status != l.Status {
		t.Fatalf("Client.Store with the recorded %d: %v", l.Status, err)
	}
}
