package swarm

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sessiongo/sdk/internal/jsonscan"
)

// Message is one stored message as retrieve returns it.
type Message struct {
	Hash       string    // the storage server's hash (see MessageHash)
	Timestamp  time.Time // the store timestamp
	Expiration time.Time // when the swarm drops it
	Data       []byte
}

// RetrieveResult is a retrieve reply.
type RetrieveResult struct {
	Messages []Message
	More     bool  // more messages are waiting after the last one
	T        int64 // the node's clock, ms
	// Dropped are the messages Verify left out of Messages, and why (the Client verifies every
	// retrieve). Nil before Verify.
	Dropped []DroppedMessage
	// LastHash is where the next page starts: the hash of the last message of this reply whose
	// hash is genuine (it matches its data, whether or not it was dropped for another reason,
	// such as having expired), "" when there is none. Set by ParseRetrieve to the last
	// message's hash and by Verify to the last genuine one: a forged hash is never a resume
	// point.
	LastHash string
}

// ParseRetrieve reads a retrieve reply:
// {"messages":[{"hash","timestamp","expiration","data"(b64)}],"more":bool,"t":ms}.
func ParseRetrieve(body []byte) (*RetrieveResult, error) {
	msgs, more, t, ok := scanRetrieve(body)
	if !ok {
		var err error
		if msgs, more, t, err = readRetrieveJSON(body); err != nil {
			return nil, err
		}
	}
	res := &RetrieveResult{More: more, T: parseT(t), Messages: make([]Message, 0, len(msgs))}
	for i, m := range msgs {
		data := make([]byte, base64.StdEncoding.DecodedLen(len(m.data)))
		n, err := base64.StdEncoding.Decode(data, m.data)
		if err != nil {
			return nil, fmt.Errorf("%w: retrieve: message %d: data is not base64", ErrInvalidResponse, i)
		}
		if len(m.hash) != messageHashLen {
			return nil, fmt.Errorf("%w: retrieve: message %d: bad hash %q", ErrInvalidResponse, i, shorten(string(m.hash)))
		}
		ts, err1 := parseMs(m.timestamp)
		exp, err2 := parseMs(m.expiration)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: retrieve: message %d: bad timestamp or expiration", ErrInvalidResponse, i)
		}
		res.Messages = append(res.Messages, Message{Hash: string(m.hash), Timestamp: ts, Expiration: exp, Data: data[:n:n]})
	}
	if n := len(res.Messages); n > 0 {
		res.LastHash = res.Messages[n-1].Hash
	}
	return res, nil
}

// readRetrieveJSON reads a retrieve reply with encoding/json: what scanRetrieve does not take.
func readRetrieveJSON(body []byte) ([]retrievedJSON, bool, json.RawMessage, error) {
	var j struct {
		Messages []struct {
			Hash       string          `json:"hash"`
			Timestamp  json.RawMessage `json:"timestamp"`
			Expiration json.RawMessage `json:"expiration"`
			Data       string          `json:"data"`
		} `json:"messages"`
		More nodeBool        `json:"more"`
		T    json.RawMessage `json:"t"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, false, nil, fmt.Errorf("%w: retrieve: %w", ErrInvalidResponse, err)
	}
	if j.Messages == nil && !strings.Contains(string(body), `"messages"`) {
		return nil, false, nil, fmt.Errorf("%w: retrieve: no messages field", ErrInvalidResponse)
	}
	msgs := make([]retrievedJSON, len(j.Messages))
	for i, m := range j.Messages {
		msgs[i] = retrievedJSON{hash: []byte(m.Hash), timestamp: m.Timestamp, expiration: m.Expiration, data: []byte(m.Data)}
	}
	return msgs, bool(j.More), j.T, nil
}

// retrievedJSON is one message of a retrieve reply as read from the JSON: the hash and the
// base64 data unescaped, the timestamps raw.
type retrievedJSON struct {
	hash, data            []byte
	timestamp, expiration json.RawMessage
}

var (
	retrieveFields = []string{"messages", "more", "t"}
	messageFields  = []string{"hash", "timestamp", "expiration", "data"}
)

// scanRetrieve reads a retrieve reply in one pass (jsonscan), for what encoding/json would read
// from it into ParseRetrieve's struct; ok is false for anything it is not sure of (then
// encoding/json decides).
func scanRetrieve(body []byte) (msgs []retrievedJSON, more bool, t json.RawMessage, ok bool) {
	var top [3][]byte
	if !jsonscan.Fields(body, retrieveFields, top[:]) || top[0] == nil || !readNodeBool(top[1], &more) {
		return nil, false, nil, false
	}
	ok = jsonscan.Elements(top[0], func(raw []byte) bool {
		var f [4][]byte
		if !jsonscan.ObjectFields(raw, messageFields, f[:]) {
			return false
		}
		hash, ok1 := text(f[0])
		data, ok2 := text(f[3])
		msgs = append(msgs, retrievedJSON{hash: hash, data: data, timestamp: f[1], expiration: f[2]})
		return ok1 && ok2
	})
	return msgs, more, top[2], ok
}

// text reads a raw string value that encoding/json would decode into a string field; nil
// (absent) is the empty string, null and any other type are not for the fast way.
func text(raw []byte) ([]byte, bool) {
	if raw == nil {
		return nil, true
	}
	return jsonscan.Text(raw)
}

// readNodeBool reads a raw nodeBool value into b (absent: false); false when nodeBool would
// refuse it.
func readNodeBool(raw []byte, b *bool) bool {
	if raw == nil {
		*b = false
		return true
	}
	var v nodeBool
	if v.UnmarshalJSON(raw) != nil {
		return false
	}
	*b = bool(v)
	return true
}

// nodeBool reads a boolean a storage node sent: JSON true/false, or 1/0. Results that crossed
// between nodes in bencode (the other swarm members' parts of a recursive reply) have no
// booleans and say 1 and 0; the entry node's own part says true. null reads as false.
type nodeBool bool

func (b *nodeBool) UnmarshalJSON(raw []byte) error {
	switch string(bytes.TrimSpace(raw)) {
	case "true", "1":
		*b = true
	case "false", "0", "null":
		*b = false
	default:
		return fmt.Errorf("not a boolean: %s", shorten(string(raw)))
	}
	return nil
}

func parseMs(raw json.RawMessage) (time.Time, error) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(v), nil
}

// NodeResult is one swarm member's part of a recursive reply (store, delete, delete_all,
// delete_before, expire, expire_all, revoke_subaccount, unrevoke_subaccount). Fields a method
// does not return stay zero. A member that failed has Failed set and, when it said why,
// Code/Reason or Timeout.
type NodeResult struct {
	Failed  bool
	Timeout bool
	Code    int
	Reason  string

	Hash      string // store: the message hash
	Already   bool   // store: the member already had the message
	Signature []byte // the member's Ed25519 signature over its result

	Expiry   int64   // store, expire: the applied expiry (ms)
	Expiries []int64 // expire with several expiries: the applied ones

	Deleted            []string            // delete, delete_all, delete_before (one namespace)
	DeletedByNamespace map[string][]string // delete_all, delete_before with all namespaces
	Updated            []string            // expire, expire_all (one namespace)
	UpdatedByNamespace map[string][]string // expire_all with all namespaces
	Unchanged          map[string]int64    // expire with shorten/extend: hash → current expiry
	Count              int                 // unrevoke_subaccount

	Raw json.RawMessage // the member's entry as sent
}

// SwarmResult is a recursive reply: every member's result, keyed by its Ed25519 key (hex).
type SwarmResult struct {
	Swarm map[string]NodeResult
	Hash  string // store: the top-level copy of the hash
	T     int64  // the entry node's clock, ms
	// Unlisted is set when the members may have changed messages that their lists leave out.
	// Storage servers v2.6.2 to v2.8.0 delete the messages matched by a delete_before over
	// all namespaces without listing them (they answer 500, or 200 with every list empty), so
	// a DeleteBefore with AllNamespaces whose lists are all empty is Unlisted: the messages
	// before Before are gone, but which ones were deleted is unknown.
	Unlisted bool
}

// Succeeded returns the number of members that did not fail.
func (r *SwarmResult) Succeeded() int {
	n := 0
	for _, m := range r.Swarm {
		if !m.Failed {
			n++
		}
	}
	return n
}

// Members returns the members' keys in sorted order.
func (r *SwarmResult) Members() []string {
	keys := make([]string, 0, len(r.Swarm))
	for k := range r.Swarm {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ParseSwarmResult reads a recursive reply {"swarm":{<ed25519 hex>:{...}},"hash"?,"t"}.
func ParseSwarmResult(body []byte) (*SwarmResult, error) {
	if res, ok := scanSwarmResult(body); ok {
		return res, nil
	}
	return readSwarmResultJSON(body)
}

// readSwarmResultJSON reads a recursive reply with encoding/json: what scanSwarmResult does not
// take.
func readSwarmResultJSON(body []byte) (*SwarmResult, error) {
	var j struct {
		Swarm map[string]json.RawMessage `json:"swarm"`
		Hash  string                     `json:"hash"`
		T     json.RawMessage            `json:"t"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("%w: swarm result: %w", ErrInvalidResponse, err)
	}
	if j.Swarm == nil {
		return nil, fmt.Errorf("%w: swarm result: no swarm field", ErrInvalidResponse)
	}
	res := &SwarmResult{Swarm: make(map[string]NodeResult, len(j.Swarm)), Hash: j.Hash, T: parseT(j.T)}
	for k, raw := range j.Swarm {
		nr, err := parseNodeResult(raw)
		if err != nil {
			return nil, memberError(k, err)
		}
		res.Swarm[k] = nr
	}
	return res, nil
}

func memberError(k string, err error) error {
	return fmt.Errorf("%w: swarm result: member %s: %w", ErrInvalidResponse, shorten(k), err)
}

var swarmResultFields = []string{"swarm", "hash", "t"}

// scanSwarmResult is ParseSwarmResult in one pass over the reply (jsonscan) for what
// encoding/json would read the same way; ok is false for anything else, which encoding/json
// then decides. A member's part that the fast way is not sure of is read by parseNodeResult.
func scanSwarmResult(body []byte) (*SwarmResult, bool) {
	var top [3][]byte
	if !jsonscan.Fields(body, swarmResultFields, top[:]) || top[0] == nil {
		return nil, false
	}
	hash, ok := text(top[1])
	if !ok {
		return nil, false
	}
	res := &SwarmResult{Swarm: make(map[string]NodeResult, 16), Hash: string(hash), T: parseT(top[2])}
	ok = jsonscan.Members(top[0], func(key, raw []byte) bool {
		k := string(key)
		if _, dup := res.Swarm[k]; dup {
			return false // encoding/json keeps the last one
		}
		nr, fast := scanNodeResult(raw)
		if !fast {
			var err error
			if nr, err = parseNodeResult(raw); err != nil {
				return false // encoding/json says why
			}
		}
		res.Swarm[k] = nr
		return true
	})
	return res, ok
}

var nodeResultFields = []string{"failed", "timeout", "code", "reason", "hash", "already", "signature", "expiry", "count",
	"deleted", "updated", "unchanged"}

// scanNodeResult is parseNodeResult for a member's part that holds only what a store reply
// holds (jsonscan); false for anything else.
func scanNodeResult(raw []byte) (NodeResult, bool) {
	var f [12][]byte
	if !jsonscan.ObjectFields(raw, nodeResultFields, f[:]) || f[9] != nil || f[10] != nil || f[11] != nil {
		return NodeResult{}, false
	}
	nr := NodeResult{Raw: json.RawMessage(raw[:len(raw):len(raw)])}
	if !readNodeBool(f[0], &nr.Failed) || !readNodeBool(f[1], &nr.Timeout) || !readNodeBool(f[5], &nr.Already) {
		return NodeResult{}, false
	}
	nr.Code = nodeCode(f[2])
	reason, ok1 := text(f[3])
	hash, ok2 := text(f[4])
	sig, ok3 := text(f[6])
	if !ok1 || !ok2 || !ok3 {
		return NodeResult{}, false
	}
	nr.Reason, nr.Hash = string(reason), string(hash)
	if len(sig) > 0 {
		nr.Signature = make([]byte, base64.StdEncoding.DecodedLen(len(sig)))
		n, err := base64.StdEncoding.Decode(nr.Signature, sig)
		if err != nil {
			return NodeResult{}, false
		}
		nr.Signature = nr.Signature[:n:n]
	}
	if f[7] != nil && string(f[7]) != "null" {
		v, ok := jsonscan.Int(f[7])
		if !ok {
			return NodeResult{}, false
		}
		nr.Expiry = v
	}
	if f[8] != nil {
		v, ok := jsonscan.Int(f[8])
		if !ok || int64(int(v)) != v {
			return NodeResult{}, false
		}
		nr.Count = int(v)
	}
	return nr, true
}

// nodeCode reads a member's code, a number or a string (0 when it is neither).
func nodeCode(raw []byte) int {
	if len(raw) == 0 {
		return 0
	}
	c, err := strconv.Atoi(strings.Trim(string(raw), `"`))
	if err != nil {
		return 0
	}
	return c
}

func parseNodeResult(raw json.RawMessage) (NodeResult, error) {
	var j struct {
		Failed    nodeBool         `json:"failed"`
		Timeout   nodeBool         `json:"timeout"`
		Code      json.RawMessage  `json:"code"`
		Reason    string           `json:"reason"`
		Hash      string           `json:"hash"`
		Already   nodeBool         `json:"already"`
		Signature string           `json:"signature"`
		Expiry    json.RawMessage  `json:"expiry"`
		Deleted   json.RawMessage  `json:"deleted"`
		Updated   json.RawMessage  `json:"updated"`
		Unchanged map[string]int64 `json:"unchanged"`
		Count     int              `json:"count"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return NodeResult{}, err
	}
	nr := NodeResult{Failed: bool(j.Failed), Timeout: bool(j.Timeout), Reason: j.Reason, Hash: j.Hash,
		Already: bool(j.Already), Unchanged: j.Unchanged, Count: j.Count, Raw: append(json.RawMessage(nil), raw...)}
	nr.Code = nodeCode(j.Code)
	if j.Signature != "" {
		sig, err := base64.StdEncoding.DecodeString(j.Signature)
		if err != nil {
			return NodeResult{}, fmt.Errorf("signature is not base64")
		}
		nr.Signature = sig
	}
	if len(j.Expiry) > 0 && string(j.Expiry) != "null" {
		if j.Expiry[0] == '[' {
			if err := json.Unmarshal(j.Expiry, &nr.Expiries); err != nil {
				return NodeResult{}, fmt.Errorf("expiry: %w", err)
			}
		} else if err := json.Unmarshal(j.Expiry, &nr.Expiry); err != nil {
			return NodeResult{}, fmt.Errorf("expiry: %w", err)
		}
	}
	var err error
	if nr.Deleted, nr.DeletedByNamespace, err = listOrDict(j.Deleted); err != nil {
		return NodeResult{}, fmt.Errorf("deleted: %w", err)
	}
	if nr.Updated, nr.UpdatedByNamespace, err = listOrDict(j.Updated); err != nil {
		return NodeResult{}, fmt.Errorf("updated: %w", err)
	}
	return nr, nil
}

func listOrDict(raw json.RawMessage) ([]string, map[string][]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil, nil
	}
	if raw[0] == '{' {
		var m map[string][]string
		err := json.Unmarshal(raw, &m)
		return nil, m, err
	}
	var l []string
	err := json.Unmarshal(raw, &l)
	return l, nil, err
}

// ParseExpiries reads a get_expiries reply {"expiries":{hash: ms}}.
func ParseExpiries(body []byte) (map[string]time.Time, error) {
	var j struct {
		Expiries map[string]int64 `json:"expiries"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("%w: get_expiries: %w", ErrInvalidResponse, err)
	}
	if j.Expiries == nil {
		return nil, fmt.Errorf("%w: get_expiries: no expiries field", ErrInvalidResponse)
	}
	out := make(map[string]time.Time, len(j.Expiries))
	for h, e := range j.Expiries {
		out[h] = time.UnixMilli(e)
	}
	return out, nil
}

// Info is a node's info reply.
type Info struct {
	Version   []int // storage server version, e.g. [2 8 0]
	Timestamp int64 // ms
	T         int64 // ms
	HF        []int // hardfork [major minor]
}

// ParseInfo reads {"version":[..],"timestamp":ms,"t":ms,"hf":[..]}.
func ParseInfo(body []byte) (*Info, error) {
	var j struct {
		Version   []int           `json:"version"`
		Timestamp json.RawMessage `json:"timestamp"`
		T         json.RawMessage `json:"t"`
		HF        []int           `json:"hf"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("%w: info: %w", ErrInvalidResponse, err)
	}
	info := &Info{Version: j.Version, Timestamp: parseT(j.Timestamp), T: parseT(j.T), HF: j.HF}
	if info.T == 0 {
		info.T = info.Timestamp
	}
	if info.T == 0 {
		return nil, fmt.Errorf("%w: info: no time", ErrInvalidResponse)
	}
	return info, nil
}

// SubResult is one subrequest's answer in a batch or sequence.
type SubResult struct {
	Code int
	Body json.RawMessage // the JSON result, or a JSON string with the error text
}

// OK reports whether the subrequest succeeded (2xx).
func (r SubResult) OK() bool { return r.Code >= 200 && r.Code < 300 }

// Err returns nil for 2xx, otherwise a *NodeError (with Node unset) with the code and the error
// text.
func (r SubResult) Err() error {
	if r.OK() {
		return nil
	}
	body := []byte(r.Body)
	var s string
	if json.Unmarshal(r.Body, &s) == nil {
		body = []byte(s)
	}
	return NewNodeError(Node{}, r.Code, body)
}

// ParseBatch reads a batch or sequence reply {"results":[{"code":int,"body":...}]}.
func ParseBatch(body []byte) ([]SubResult, error) {
	subs, ok := scanBatch(body)
	if !ok {
		var j struct {
			Results []rawSubResult `json:"results"`
		}
		if err := json.Unmarshal(body, &j); err != nil {
			return nil, fmt.Errorf("%w: batch: %w", ErrInvalidResponse, err)
		}
		if j.Results == nil {
			return nil, fmt.Errorf("%w: batch: no results field", ErrInvalidResponse)
		}
		subs = j.Results
	}
	out := make([]SubResult, len(subs))
	for i, r := range subs {
		c, err := strconv.Atoi(strings.TrimSpace(string(r.Code)))
		if err != nil {
			return nil, fmt.Errorf("%w: batch: result %d: bad code", ErrInvalidResponse, i)
		}
		out[i] = SubResult{Code: c, Body: r.Body}
	}
	return out, nil
}

// rawSubResult is one result of a batch reply as sent (t: its body's "t", for inspectReply).
type rawSubResult struct {
	Code json.RawMessage `json:"code"`
	Body json.RawMessage `json:"body"`
	t    json.RawMessage
}

var (
	batchFields     = []string{"results"}
	subResultFields = []string{"code", "body"}
)

// scanBatch reads the results of a batch reply in one pass (jsonscan), as encoding/json would
// read them into []rawSubResult, their raw values aliasing body; ok is false for anything it is
// not sure of (then encoding/json decides).
func scanBatch(body []byte) ([]rawSubResult, bool) {
	var top [1][]byte
	if !jsonscan.Fields(body, batchFields, top[:]) || top[0] == nil {
		return nil, false
	}
	subs := make([]rawSubResult, 0, 8)
	ok := jsonscan.Elements(top[0], func(raw []byte) bool {
		var f [2][]byte
		if !jsonscan.ObjectFields(raw, subResultFields, f[:]) {
			return false
		}
		subs = append(subs, rawSubResult{Code: f[0][:len(f[0]):len(f[0])], Body: f[1][:len(f[1]):len(f[1])]})
		return true
	})
	return subs, ok
}
