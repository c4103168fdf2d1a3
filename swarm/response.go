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
		return nil, fmt.Errorf("%w: retrieve: %w", ErrInvalidResponse, err)
	}
	if j.Messages == nil && !strings.Contains(string(body), `"messages"`) {
		return nil, fmt.Errorf("%w: retrieve: no messages field", ErrInvalidResponse)
	}
	res := &RetrieveResult{More: bool(j.More), T: parseT(j.T), Messages: make([]Message, 0, len(j.Messages))}
	for i, m := range j.Messages {
		data, err := base64.StdEncoding.DecodeString(m.Data)
		if err != nil {
			return nil, fmt.Errorf("%w: retrieve: message %d: data is not base64", ErrInvalidResponse, i)
		}
		if len(m.Hash) != messageHashLen {
			return nil, fmt.Errorf("%w: retrieve: message %d: bad hash %q", ErrInvalidResponse, i, shorten(m.Hash))
		}
		ts, err1 := parseMs(m.Timestamp)
		exp, err2 := parseMs(m.Expiration)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: retrieve: message %d: bad timestamp or expiration", ErrInvalidResponse, i)
		}
		res.Messages = append(res.Messages, Message{Hash: m.Hash, Timestamp: ts, Expiration: exp, Data: data})
	}
	if n := len(res.Messages); n > 0 {
		res.LastHash = res.Messages[n-1].Hash
	}
	return res, nil
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
			return nil, fmt.Errorf("%w: swarm result: member %s: %w", ErrInvalidResponse, shorten(k), err)
		}
		res.Swarm[k] = nr
	}
	return res, nil
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
	if len(j.Code) > 0 {
		// The code may be a number or a string.
		c, err := strconv.Atoi(strings.Trim(string(j.Code), `"`))
		if err == nil {
			nr.Code = c
		}
	}
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
	var j struct {
		Results []struct {
			Code json.RawMessage `json:"code"`
			Body json.RawMessage `json:"body"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("%w: batch: %w", ErrInvalidResponse, err)
	}
	if j.Results == nil {
		return nil, fmt.Errorf("%w: batch: no results field", ErrInvalidResponse)
	}
	out := make([]SubResult, len(j.Results))
	for i, r := range j.Results {
		c, err := strconv.Atoi(strings.TrimSpace(string(r.Code)))
		if err != nil {
			return nil, fmt.Errorf("%w: batch: result %d: bad code", ErrInvalidResponse, i)
		}
		out[i] = SubResult{Code: c, Body: r.Body}
	}
	return out, nil
}
