package groups

import (
	"bytes"
	"fmt"
	"slices"
	"sync"

	"github.com/sessiongo/sdk/internal/bencode"
)

// Config domains (the encryption domain of each config type).
const (
	DomainUserProfile       = "UserProfile"
	DomainContacts          = "Contacts"
	DomainConvoInfoVolatile = "ConvoInfoVolatile"
	DomainUserGroups        = "UserGroups"
	DomainGroupInfo         = "groups::Info"
	DomainGroupMembers      = "groups::Members"
)

// Config is the state of one config object (a user config, or a group's Info or Members): the
// newest message known and local changes not yet pushed. It implements libsession's seqno and
// merge rules. A Config is safe for concurrent use.
type Config struct {
	mu     sync.Mutex
	verify *[32]byte // group configs: the group key every message must be signed by
	signer *AdminKey // group configs: nil for non-admins (read-only)
	cur    *ConfigMessage
	data   Dict // cur.Data plus local changes
	dirty  bool // data differs from cur, or cur is an unpushed merge
}

var emptyConfig = []byte("d1:#i0e1:&de1:<le1:=dee")

func newConfig(verify *[32]byte, signer *AdminKey) *Config {
	m, err := ParseConfigMessage(emptyConfig, nil)
	if err != nil {
		panic(err) // unreachable: constant
	}
	return &Config{verify: verify, signer: signer, cur: m, data: Dict{}}
}

// NewUserConfig returns an empty, unsigned config (the user configs).
func NewUserConfig() *Config { return newConfig(nil, nil) }

// NewGroupConfig returns an empty group config (Info or Members) of the group with Ed25519 key
// groupPK. Every message merged into it must be signed by the group key. admin, if not nil,
// is the group's secret key, used to sign pushes; without it the config is read-only and, as
// in libsession, merging just keeps the highest (seqno, hash).
func NewGroupConfig(groupPK [32]byte, admin *AdminKey) (*Config, error) {
	if admin != nil && admin.PublicKey() != groupPK {
		return nil, fmt.Errorf("%w: admin key is not the group's key", ErrInvalidInput)
	}
	pk := groupPK
	return newConfig(&pk, admin), nil
}

// Seqno returns the seqno of the current message.
func (c *Config) Seqno() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur.Seqno
}

// Hash returns the hash of the current message.
func (c *Config) Hash() [32]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur.Hash
}

// Data returns a copy of the config's data, including local changes.
func (c *Config) Data() Dict {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data.Clone()
}

// Update changes the config's data: f gets a copy and its changes are kept. It fails on a
// read-only group config.
func (c *Config) Update(f func(d Dict)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.verify != nil && c.signer == nil {
		return ErrNotAdmin
	}
	d := c.data.Clone()
	f(d)
	normalizeDict(d, 0)
	c.data = d
	if !c.dirty {
		c.dirty = len(diffDicts(c.cur.Data, d)) > 0
	}
	return nil
}

// NeedsPush reports whether there are local changes or a merge result to push.
func (c *Config) NeedsPush() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.dirty
}

// Push returns the serialized message to push (encrypt it with EncodeConfigPayload) and its
// seqno. If there are changes, it first makes the next message: seqno + 1, the current
// message's diff moved into the lagged diffs, and the diff of the changes; that message
// becomes the current one. Without changes it returns the current message.
func (c *Config) Push() ([]byte, int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.verify != nil && c.signer == nil {
		return nil, 0, ErrNotAdmin
	}
	if !c.dirty {
		return slices.Clone(c.cur.Raw), c.cur.Seqno, nil
	}
	if bytes.Equal(c.cur.Raw, c.pendingMergeRaw()) {
		c.dirty = false
		return slices.Clone(c.cur.Raw), c.cur.Seqno, nil
	}
	seq := c.cur.Seqno + 1
	lagged := append(slices.Clone(c.cur.Lagged), LaggedDiff{Seqno: c.cur.Seqno, Hash: c.cur.Hash, Diff: c.cur.Diff})
	diff := appendDiff(nil, diffDicts(c.cur.Data, c.data))
	m, err := c.build(seq, c.data, lagged, diff, c.cur.unknown)
	if err != nil {
		return nil, 0, err
	}
	c.cur = m
	c.data = m.Data.Clone()
	c.dirty = false
	return slices.Clone(m.Raw), m.Seqno, nil
}

// pendingMergeRaw is the current message when it is itself an unpushed merge result (nil
// otherwise); Push then sends it as is.
func (c *Config) pendingMergeRaw() []byte {
	if c.cur != nil && c.cur.merged && len(diffDicts(c.cur.Data, c.data)) == 0 {
		return c.cur.Raw
	}
	return nil
}

func (c *Config) build(seq int64, data Dict, lagged []LaggedDiff, diff []byte, unknown []bencode.Entry) (*ConfigMessage, error) {
	kept := lagged[:0:0]
	for _, l := range lagged {
		if l.Seqno+configLags > seq && l.Seqno < seq {
			kept = append(kept, l)
		}
	}
	sortLagged(kept)
	kept = slices.CompactFunc(kept, func(a, b LaggedDiff) bool { return a.Seqno == b.Seqno && a.Hash == b.Hash })
	var sign func([]byte) [64]byte
	if c.signer != nil {
		sign = c.signer.Sign
	}
	raw := serializeConfig(seq, data, kept, diff, unknown, sign)
	return ParseConfigMessage(raw, c.verify)
}

// Merge merges received serialized config messages (already decrypted with
// DecodeConfigPayload) into the config and returns how many of them were valid. Invalid ones
// (bad structure or signature) are skipped. Rules (libsession): messages already included in
// another's lagged diffs, duplicates and those 5 or more seqnos behind the newest are dropped;
// if one message is left it is adopted; otherwise the result is a merge at seqno max+1 that
// replays every diff in (seqno, hash) order and must be pushed. Read-only group configs never
// merge: they keep the highest (seqno, hash).
func (c *Config) Merge(messages ...[]byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A fresh, untouched config (seqno 0, no data) is not a rival of what we receive.
	fresh := c.cur.Seqno == 0 && len(c.cur.Data) == 0 && !c.dirty
	cands := []*ConfigMessage{c.cur}
	if fresh {
		cands = cands[:0]
	}
	accepted := 0
	var firstErr error
	for _, raw := range messages {
		m, err := ParseConfigMessage(raw, c.verify)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		accepted++
		cands = append(cands, m)
	}
	if accepted == 0 && firstErr != nil {
		return 0, firstErr
	}
	if len(cands) == 0 {
		return 0, nil
	}
	// Deduplicate by hash.
	slices.SortFunc(cands, compareMsgs)
	cands = slices.CompactFunc(cands, func(a, b *ConfigMessage) bool { return a.Hash == b.Hash })
	maxSeq := cands[len(cands)-1].Seqno
	contained := map[[32]byte]bool{}
	for _, m := range cands {
		for _, l := range m.Lagged {
			contained[l.Hash] = true
		}
	}
	live := cands[:0:0]
	for _, m := range cands {
		if m.Seqno+configLags <= maxSeq || contained[m.Hash] {
			continue
		}
		live = append(live, m)
	}
	if len(live) == 0 { // cannot happen (the top message is never contained), but be safe
		live = cands[len(cands)-1:]
	}
	top := live[len(live)-1]
	if len(live) == 1 || (c.verify != nil && c.signer == nil) {
		if top != c.cur {
			// Adopting a newer message replaces unpushed local changes; callers push before
			// merging, as with libsession.
			c.cur = top
			c.data = top.Data.Clone()
			c.dirty = false
		}
		return accepted, nil
	}
	// A real merge.
	data := top.Data.Clone()
	var lagged []LaggedDiff
	for _, m := range live {
		diff, err := bencode.Decode(m.Diff)
		if err == nil {
			applyDiff(data, diff, m.Data, 0)
		}
		lagged = append(lagged, m.Lagged...)
		lagged = append(lagged, LaggedDiff{Seqno: m.Seqno, Hash: m.Hash, Diff: m.Diff})
	}
	pruneEmpty(data)
	m, err := c.build(maxSeq+1, data, lagged, appendDiff(nil, diffDicts(top.Data, data)), top.unknown)
	if err != nil {
		return accepted, err
	}
	m.merged = true
	c.cur = m
	c.data = m.Data.Clone()
	c.dirty = true
	return accepted, nil
}

func compareMsgs(a, b *ConfigMessage) int {
	if a.Seqno != b.Seqno {
		if a.Seqno < b.Seqno {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.Hash[:], b.Hash[:])
}

// applyDiff replays diff onto data, taking assigned values from src (the data of the message
// the diff belongs to).
func applyDiff(data Dict, diff bencode.Value, src Dict, depth int) {
	if diff.Kind != bencode.KindDict || depth > 32 {
		return
	}
	for _, e := range diff.Dict {
		k := string(e.Key)
		switch e.Value.Kind {
		case bencode.KindString:
			switch string(e.Value.Str) {
			case "":
				if v, ok := src[k]; ok {
					data[k] = cloneValue(v)
				} else {
					delete(data, k)
				}
			case "-":
				delete(data, k)
			}
		case bencode.KindDict:
			sub := data.Dict(k)
			if sub == nil {
				sub = Dict{}
			}
			applyDiff(sub, e.Value, src.Dict(k), depth+1)
			data.setOrDelete(k, sub)
		case bencode.KindList:
			if len(e.Value.List) != 2 {
				continue
			}
			cur := slices.Clone(data.Set(k))
			for _, x := range e.Value.List[0].List { // added
				if el, ok := scalarOf(x); ok && !cur.Contains(el) {
					cur = append(cur, el)
				}
			}
			var out Set
			for _, el := range cur {
				removed := false
				for _, x := range e.Value.List[1].List {
					if r, ok := scalarOf(x); ok && compareSetElem(r, el) == 0 {
						removed = true
					}
				}
				if !removed {
					out = append(out, el)
				}
			}
			s, _ := NewSet(out...)
			data.setOrDelete(k, s)
		}
	}
}

func scalarOf(v bencode.Value) (any, bool) {
	switch v.Kind {
	case bencode.KindInt:
		n, err := v.Int64()
		return n, err == nil
	case bencode.KindString:
		return string(v.Str), true
	}
	return nil, false
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case Dict:
		return x.Clone()
	case Set:
		return slices.Clone(x)
	}
	return v
}

func pruneEmpty(d Dict) {
	for k, v := range d {
		if sub, ok := v.(Dict); ok {
			pruneEmpty(sub)
		}
		if isEmptyValue(v) {
			delete(d, k)
		}
	}
}
