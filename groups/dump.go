package groups

import (
	"bytes"
	"slices"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/bencode"
)

// Dump serializes the config's state (current message and unpushed changes) for storage; see
// RestoreConfig. Group configs dump only their messages; the group key and admin key are
// given again on restore.
func (c *Config) Dump() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []byte("d1:d")
	out = appendDict(out, c.data)
	out = append(out, "1:g"...)
	out = bencode.AppendInt(out, boolInt(c.cur.merged))
	out = append(out, "1:m"...)
	out = bencode.AppendBytes(out, c.cur.Raw)
	out = append(out, "1:x"...)
	out = bencode.AppendInt(out, boolInt(c.dirty))
	return append(out, 'e')
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// RestoreConfig rebuilds a config from Dump. verify and admin are as for NewGroupConfig
// (both nil for user configs).
func RestoreConfig(dump []byte, groupPK *[32]byte, admin *AdminKey) (*Config, error) {
	v, err := bencode.Options{MaxDepth: 40}.Decode(dump)
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
	mv, ok := v.Get("m")
	if !ok || mv.Kind != bencode.KindString {
		return nil, malformed("config dump", "m", "missing message", nil)
	}
	verify := c.verify
	if bytes.Equal(mv.Str, emptyConfig) {
		verify = nil // the unsigned initial message every config starts from
	}
	m, err := ParseConfigMessage(mv.Str, verify)
	if err != nil {
		return nil, err
	}
	dv, _ := v.Get("d")
	data := Dict{}
	if dv.Kind == bencode.KindDict {
		if data, err = parseDict(dv, 0); err != nil {
			return nil, err
		}
	}
	g, _ := v.Get("g")
	x, _ := v.Get("x")
	m.merged = g.Int == 1
	c.cur, c.data, c.dirty = m, data, x.Int == 1
	return c, nil
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
