package groups

import (
	"bytes"
	"slices"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/bencode"
)

// Dump serializes the config's state for storage, in libsession's dump format (so a dump
// made by libsession restores here too): {"!": state, "$": the current message (signed when
// we hold the admin key, unlike libsession, so that it restores byte for byte), "(": the swarm
// hash of the current message, ")": hashes it supersedes, "+": {}}. Group configs dump only their messages; the group key and admin
// key are given again on restore.
func (c *Config) Dump() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []byte("d1:!")
	out = bencode.AppendInt(out, int64(c.state))
	out = append(out, "1:$"...)
	out = bencode.AppendBytes(out, c.msg.serialize(c.sign()))
	out = append(out, "1:("...)
	out = bencode.AppendString(out, c.currHash)
	out = append(out, "1:)l"...)
	old := make([]string, 0, len(c.oldHashes))
	for h := range c.oldHashes {
		old = append(old, h)
	}
	slices.Sort(old)
	for _, h := range old {
		out = bencode.AppendString(out, h)
	}
	return append(out, "e1:+dee"...)
}

// RestoreConfig rebuilds a config from Dump (or from a libsession dump of the same config
// type). groupPK and admin are as for NewGroupConfig (both nil for user configs). A dump
// taken with unpushed changes restores them at the next seqno, as libsession does.
func RestoreConfig(dump []byte, groupPK *[32]byte, admin *AdminKey) (*Config, error) {
	v, err := bencode.Options{MaxDepth: 8}.Decode(dump)
	if err != nil || v.Kind != bencode.KindDict {
		return nil, malformed("config dump", "", "not a bencoded dict", err)
	}
	var c *Config
	if groupPK != nil {
		if c, err = NewGroupConfig(*groupPK, admin); err != nil {
			return nil, err
		}
	} else {
		c = NewUserConfig()
	}
	if _, ok := v.Get("$"); !ok {
		if err := c.restoreV1(v); err != nil {
			return nil, err
		}
		return c, nil
	}
	sv, _ := v.Get("!")
	state, err := sv.Int64()
	if err != nil || state < int64(stateClean) || state > int64(stateWaiting) {
		return nil, malformed("config dump", "!", "bad state", err)
	}
	mv, _ := v.Get("$")
	if mv.Kind != bencode.KindString {
		return nil, malformed("config dump", "$", "missing message", nil)
	}
	m, err := parseMessage(mv.Str, nil, true)
	if err != nil {
		return nil, err
	}
	if err := c.checkDumpedSignature(m); err != nil {
		return nil, err
	}
	c.state = configState(state)
	c.msg = m
	if c.state == stateDirty {
		if c.readOnly() {
			return nil, malformed("config dump", "!", "unpushed changes in a read-only config", nil)
		}
		c.msg = m.increment(c.sign())
	}
	if h, ok := v.Get("("); ok {
		if h.Kind != bencode.KindString {
			return nil, malformed("config dump", "(", "not a string", nil)
		}
		c.currHash = string(h.Str)
	}
	if l, ok := v.Get(")"); ok {
		if l.Kind != bencode.KindList {
			return nil, malformed("config dump", ")", "not a list", nil)
		}
		for _, h := range l.List {
			if h.Kind != bencode.KindString {
				return nil, malformed("config dump", ")", "hash is not a string", nil)
			}
			c.oldHashes[string(h.Str)] = struct{}{}
		}
	}
	return c, nil
}

// checkDumpedSignature makes sure a group config restored from a dump belongs to the group:
// a signed message must verify under the group key (an unsigned one is our own unpushed
// state, signed again when pushed).
func (c *Config) checkDumpedSignature(m *message) error {
	if c.verify == nil || m.sig == nil {
		return nil
	}
	if _, err := parseMessage(m.raw, c.verify, false); err != nil {
		return err
	}
	return nil
}

// restoreV1 reads the dump format of earlier releases: {"d": data with local changes, "g":
// the message is an unpushed merge, "m": the current message, "x": there are unpushed
// changes}.
func (c *Config) restoreV1(v bencode.Value) error {
	mv, ok := v.Get("m")
	if !ok || mv.Kind != bencode.KindString {
		return malformed("config dump", "m", "missing message", nil)
	}
	verify := c.verify
	if bytes.Equal(mv.Str, c.msg.raw) {
		verify = nil // the unsigned initial message every config starts from
	}
	m, err := parseMessage(mv.Str, verify, true)
	if err != nil {
		return err
	}
	data := m.data.Clone()
	if dv, ok := v.Get("d"); ok {
		if data, err = parseData(dv, 0); err != nil {
			return err
		}
	}
	g, _ := v.Get("g")
	x, _ := v.Get("x")
	c.msg = m
	switch {
	case c.readOnly():
	case g.Int == 1:
		c.msg = &message{id: m.id, data: data, orig: Dict{}, lags: m.lags, unknown: m.unknown, mutable: true, merged: true}
		c.state = stateDirty
	case x.Int == 1 && !equalDicts(data, m.data):
		c.msg = m.increment(c.sign())
		c.msg.data = data
		c.state = stateDirty
	}
	return nil
}

// Dump serializes the key state for storage: it contains the group encryption keys (and the
// pending key), so store it as a secret. The member's and admin's own keys are not included;
// give them again to RestoreKeys.
func (k *Keys) Dump() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := []byte("d1:al")
	gens := make([]int64, 0, len(k.active))
	for g := range k.active {
		gens = append(gens, g)
	}
	slices.Sort(gens)
	for _, g := range gens {
		out = append(out, 'l')
		out = bencode.AppendInt(out, g)
		for _, h := range k.active[g] {
			out = bencode.AppendString(out, h)
		}
		out = append(out, 'e')
	}
	out = append(out, "e1:kl"...)
	for _, ki := range k.keys {
		out = append(out, 'l')
		out = bencode.AppendInt(out, ki.Generation)
		out = bencode.AppendBytes(out, ki.Key[:])
		out = bencode.AppendInt(out, ki.Timestamp.UnixMilli())
		out = append(out, 'e')
	}
	out = append(out, 'e')
	if k.pending != nil {
		out = append(out, "1:pl"...)
		out = bencode.AppendInt(out, k.pending.gen)
		out = bencode.AppendBytes(out, k.pending.key[:])
		out = bencode.AppendBytes(out, k.pending.msg)
		out = append(out, 'e')
	}
	return append(out, 'e')
}

// RestoreKeys rebuilds a key state from Dump (see NewKeys for the arguments).
func RestoreKeys(dump []byte, me *crypto.Keys, groupPK [32]byte, admin *AdminKey) (*Keys, error) {
	k, err := NewKeys(me, groupPK, admin)
	if err != nil {
		return nil, err
	}
	const what = "keys dump"
	v, err := bencode.Options{MaxDepth: 3}.Decode(dump)
	if err != nil || v.Kind != bencode.KindDict {
		return nil, malformed(what, "", "not a bencoded dict", err)
	}
	if a, ok := v.Get("a"); ok {
		for _, e := range a.List {
			if e.Kind != bencode.KindList || len(e.List) == 0 {
				return nil, malformed(what, "a", "bad entry", nil)
			}
			g, err := e.List[0].Int64()
			if err != nil {
				return nil, malformed(what, "a", "bad generation", err)
			}
			for _, h := range e.List[1:] {
				k.active[g] = appendUnique(k.active[g], string(h.Str))
			}
		}
	}
	kl, _ := v.Get("k")
	for _, e := range kl.List {
		if e.Kind != bencode.KindList || len(e.List) != 3 || len(e.List[1].Str) != 32 {
			return nil, malformed(what, "k", "bad key entry", nil)
		}
		g, err1 := e.List[0].Int64()
		ts, err2 := e.List[2].Int64()
		if err1 != nil || err2 != nil {
			return nil, malformed(what, "k", "bad key entry", nil)
		}
		k.insertKey(KeyInfo{Generation: g, Key: [32]byte(e.List[1].Str), Timestamp: time.UnixMilli(ts)})
	}
	if p, ok := v.Get("p"); ok {
		if p.Kind != bencode.KindList || len(p.List) != 3 || len(p.List[1].Str) != 32 {
			return nil, malformed(what, "p", "bad pending key", nil)
		}
		g, err := p.List[0].Int64()
		if err != nil {
			return nil, malformed(what, "p", "bad pending generation", err)
		}
		k.pending = &pendingKey{gen: g, key: [32]byte(p.List[1].Str), msg: slices.Clone(p.List[2].Str)}
	}
	k.updateNeedsRekey()
	return k, nil
}
