package groups

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"fmt"
	"slices"
	"sort"
	"strconv"

	"github.com/sessiongo/sdk/internal/bencode"
)

// Dict is the data of a config message (its "&" dict) or a nested dict in it. Values are
// int64, string (a byte string), Set or Dict. Empty sets and dicts are pruned when serialized.
type Dict map[string]any

// Set is a config set: sorted, unique int64 and string elements (all ints before all
// strings), serialized as a bencoded list.
type Set []any

// configLags is how many seqnos of lagged diffs a config message keeps (libsession config_lags).
const configLags = 5

// maxConfigValue is the size limit of a string value in config data.
const maxConfigValue = 4096

// compareSetElem orders set elements as libsession does: integers before strings. Elements of
// other types (which NewSet refuses) sort last and compare equal, so nothing panics on them.
func compareSetElem(a, b any) int {
	rank := func(x any) int {
		switch x.(type) {
		case int64:
			return 0
		case string:
			return 1
		}
		return 2
	}
	ra, rb := rank(a), rank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch ra {
	case 0:
		return cmp.Compare(a.(int64), b.(int64))
	case 1:
		return cmp.Compare(a.(string), b.(string))
	}
	return 0
}

// NewSet returns the set of the given int64/string elements, sorted and deduplicated. Other
// element types are an error.
func NewSet(elems ...any) (Set, error) {
	s := make(Set, 0, len(elems))
	for _, e := range elems {
		switch v := e.(type) {
		case int64:
			s = append(s, v)
		case int:
			s = append(s, int64(v))
		case string:
			s = append(s, v)
		case []byte:
			s = append(s, string(v))
		default:
			return nil, fmt.Errorf("%w: set element of type %T", ErrInvalidInput, e)
		}
	}
	slices.SortFunc(s, compareSetElem)
	return slices.CompactFunc(s, func(a, b any) bool { return compareSetElem(a, b) == 0 }), nil
}

// Contains reports whether the set holds e (an int64 or string).
func (s Set) Contains(e any) bool {
	for _, x := range s {
		if compareSetElem(x, e) == 0 {
			return true
		}
	}
	return false
}

// normalizeDict converts the Go values callers naturally put into a Dict (other integer
// types, []byte, []string, []int64, map[string]any, bool) to the canonical int64, string,
// Set and Dict; values of other types are dropped.
func normalizeDict(d Dict, depth int) {
	for k, v := range d {
		if n, ok := normalizeValue(v, depth); ok {
			d[k] = n
		} else {
			delete(d, k)
		}
	}
}

func normalizeValue(v any, depth int) (any, bool) {
	switch x := v.(type) {
	case int64, string:
		return x, true
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint32:
		return int64(x), true
	case bool:
		return int64(1), x // false removes the key
	case []byte:
		return string(x), true
	case Set:
		s, err := NewSet(x...)
		return s, err == nil
	case []string:
		elems := make([]any, len(x))
		for i, e := range x {
			elems[i] = e
		}
		s, _ := NewSet(elems...)
		return s, true
	case []int64:
		elems := make([]any, len(x))
		for i, e := range x {
			elems[i] = e
		}
		s, _ := NewSet(elems...)
		return s, true
	case Dict:
		if depth > 32 {
			return nil, false
		}
		normalizeDict(x, depth+1)
		return x, true
	case map[string]any:
		return normalizeValue(Dict(x), depth)
	}
	return nil, false
}

// Clone returns a deep copy of d.
func (d Dict) Clone() Dict {
	if d == nil {
		return nil
	}
	out := make(Dict, len(d))
	for k, v := range d {
		switch x := v.(type) {
		case Dict:
			out[k] = x.Clone()
		case Set:
			out[k] = slices.Clone(x)
		default:
			out[k] = v
		}
	}
	return out
}

// Int returns d[key] as an integer, 0 if absent or not an integer.
func (d Dict) Int(key string) int64 { v, _ := d[key].(int64); return v }

// String returns d[key] as a byte string, "" if absent or not a string.
func (d Dict) String(key string) string { v, _ := d[key].(string); return v }

// Dict returns d[key] as a dict, nil if absent or not a dict.
func (d Dict) Dict(key string) Dict { v, _ := d[key].(Dict); return v }

// Set returns d[key] as a set, nil if absent or not a set.
func (d Dict) Set(key string) Set { v, _ := d[key].(Set); return v }

// setOrDelete stores v under key, or deletes key when v is a zero value (0, "", empty
// set/dict), which libsession treats as absent.
func (d Dict) setOrDelete(key string, v any) {
	switch x := v.(type) {
	case int64:
		if x == 0 {
			delete(d, key)
			return
		}
	case string:
		if x == "" {
			delete(d, key)
			return
		}
	case Dict:
		if len(x) == 0 {
			delete(d, key)
			return
		}
	case Set:
		if len(x) == 0 {
			delete(d, key)
			return
		}
	}
	d[key] = v
}

// appendDict appends the bencoding of d with sorted keys, pruning empty sets and dicts.
func appendDict(dst []byte, d Dict) []byte {
	keys := make([]string, 0, len(d))
	for k, v := range d {
		if isEmptyValue(v) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, 'd')
	for _, k := range keys {
		dst = bencode.AppendString(dst, k)
		dst = appendConfigValue(dst, d[k])
	}
	return append(dst, 'e')
}

func isEmptyValue(v any) bool {
	switch x := v.(type) {
	case Dict:
		return prunedEmpty(x)
	case Set:
		return len(x) == 0
	case int64, string:
		return false
	}
	return true // unsupported types are dropped
}

func prunedEmpty(d Dict) bool {
	for _, v := range d {
		if !isEmptyValue(v) {
			return false
		}
	}
	return true
}

func appendConfigValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case int64:
		return bencode.AppendInt(dst, x)
	case string:
		return bencode.AppendString(dst, x)
	case Set:
		s, _ := NewSet(x...) // keep the invariant even if a caller built the slice by hand
		dst = append(dst, 'l')
		for _, e := range s {
			dst = appendConfigValue(dst, e)
		}
		return append(dst, 'e')
	case Dict:
		return appendDict(dst, x)
	}
	return dst
}

// parseDict converts a bencoded dict of config data.
func parseDict(v bencode.Value, depth int) (Dict, error) {
	if v.Kind != bencode.KindDict {
		return nil, malformed("config", "", "data is not a dict", nil)
	}
	if depth > 32 {
		return nil, malformed("config", "", "data nested too deep", nil)
	}
	d := make(Dict, len(v.Dict))
	for _, e := range v.Dict {
		switch e.Value.Kind {
		case bencode.KindInt:
			n, err := e.Value.Int64()
			if err != nil {
				return nil, malformed("config", string(e.Key), "integer out of range", err)
			}
			d[string(e.Key)] = n
		case bencode.KindString:
			if len(e.Value.Str) > maxConfigValue {
				return nil, malformed("config", string(e.Key), "string value too long", nil)
			}
			d[string(e.Key)] = string(e.Value.Str)
		case bencode.KindList:
			s := make(Set, 0, len(e.Value.List))
			for _, x := range e.Value.List {
				switch x.Kind {
				case bencode.KindInt:
					n, err := x.Int64()
					if err != nil {
						return nil, malformed("config", string(e.Key), "set integer out of range", err)
					}
					s = append(s, n)
				case bencode.KindString:
					s = append(s, string(x.Str))
				default:
					return nil, malformed("config", string(e.Key), "set element is not a scalar", nil)
				}
			}
			for i := 1; i < len(s); i++ {
				if compareSetElem(s[i-1], s[i]) >= 0 {
					return nil, malformed("config", string(e.Key), "set not sorted", nil)
				}
			}
			d[string(e.Key)] = s
		case bencode.KindDict:
			sub, err := parseDict(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			d[string(e.Key)] = sub
		}
	}
	return d, nil
}

// diffDicts computes libsession's diff from old to cur: "" for an assigned value, "-" for a
// removed one, a nested dict for a changed dict, and [added, removed] for a changed set.
func diffDicts(old, cur Dict) Dict {
	out := Dict{}
	for k, v := range cur {
		if isEmptyValue(v) {
			continue
		}
		o, had := old[k]
		if had && isEmptyValue(o) {
			had = false
		}
		switch x := v.(type) {
		case Dict:
			od, _ := o.(Dict)
			if sub := diffDicts(od, x); len(sub) > 0 {
				out[k] = sub
			}
		case Set:
			os, _ := o.(Set)
			var added, removed []any
			for _, e := range x {
				if !os.Contains(e) {
					added = append(added, e)
				}
			}
			for _, e := range os {
				if !x.Contains(e) {
					removed = append(removed, e)
				}
			}
			if len(added)+len(removed) > 0 {
				out[k] = setDiff{added, removed}
			}
		default:
			if !had || !scalarEqual(o, v) {
				out[k] = ""
			}
		}
	}
	for k, o := range old {
		if isEmptyValue(o) {
			continue
		}
		if v, ok := cur[k]; !ok || isEmptyValue(v) {
			out[k] = "-"
		}
	}
	return out
}

// setDiff is the [added, removed] pair of a set's diff.
type setDiff [2][]any

func scalarEqual(a, b any) bool {
	switch x := a.(type) {
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	}
	return false
}

func appendDiff(dst []byte, d Dict) []byte {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	dst = append(dst, 'd')
	for _, k := range keys {
		dst = bencode.AppendString(dst, k)
		switch x := d[k].(type) {
		case string:
			dst = bencode.AppendString(dst, x)
		case Dict:
			dst = appendDiff(dst, x)
		case setDiff:
			dst = append(dst, 'l')
			for _, part := range x {
				s, _ := NewSet(part...)
				dst = appendConfigValue(dst, s) // "le" when empty
			}
			dst = append(dst, 'e')
		}
	}
	return append(dst, 'e')
}

// LaggedDiff is one entry of a config message's "<" list: an earlier message's seqno, hash
// and diff, used to tell which messages another one already includes.
type LaggedDiff struct {
	Seqno int64
	Hash  [32]byte
	Diff  []byte // bencoded diff dict
}

// ConfigMessage is a parsed config message.
type ConfigMessage struct {
	Seqno  int64
	Data   Dict
	Diff   []byte // the bencoded "=" diff of this seqno
	Lagged []LaggedDiff
	// Signed reports a "~" signature that verified under the key given to ParseConfigMessage.
	Signed bool
	// Hash is ConfigMessageHash of Raw.
	Hash [32]byte
	// Raw is the serialized message.
	Raw []byte

	unknown []bencode.Entry // top-level keys we do not know, passed on unchanged
	merged  bool            // made locally by Merge and not pushed yet
}

// ParseConfigMessage parses a serialized config message. When verifyKey is not nil (group
// Info and Members), the message must end with a "~" signature by that Ed25519 key over the
// bytes before "1:~"; otherwise a "~" entry is ignored.
func ParseConfigMessage(serialized []byte, verifyKey *[32]byte) (*ConfigMessage, error) {
	serialized = bytes.Clone(serialized) // the message keeps slices of it
	v, err := bencode.Options{MaxDepth: 40}.Decode(serialized)
	if err != nil {
		return nil, malformed("config message", "", "not bencoded", err)
	}
	if v.Kind != bencode.KindDict || len(v.Dict) == 0 {
		return nil, malformed("config message", "", "not a non-empty dict", nil)
	}
	if string(v.Dict[0].Key) != "#" {
		if bytes.Compare(v.Dict[0].Key, []byte("#")) < 0 {
			return nil, fmt.Errorf("%w: config message from a newer major version", ErrUnsupported)
		}
		return nil, malformed("config message", "#", "missing seqno", nil)
	}
	m := &ConfigMessage{Raw: serialized, Hash: ConfigMessageHash(serialized)}
	seq, err := v.Dict[0].Value.Int64()
	if err != nil || seq < 0 {
		return nil, malformed("config message", "#", "bad seqno", err)
	}
	m.Seqno = seq
	for i, e := range v.Dict[1:] {
		switch string(e.Key) {
		case "&":
			if m.Data, err = parseDict(e.Value, 0); err != nil {
				return nil, err
			}
		case "=":
			if e.Value.Kind != bencode.KindDict {
				return nil, malformed("config message", "=", "diff is not a dict", nil)
			}
			m.Diff = e.Value.Raw
		case "<":
			if e.Value.Kind != bencode.KindList {
				return nil, malformed("config message", "<", "not a list", nil)
			}
			for _, l := range e.Value.List {
				if l.Kind != bencode.KindList || len(l.List) != 3 {
					return nil, malformed("config message", "<", "entry is not [seqno, hash, diff]", nil)
				}
				s, err := l.List[0].Int64()
				if err != nil || s < 0 || l.List[1].Kind != bencode.KindString || len(l.List[1].Str) != 32 || l.List[2].Kind != bencode.KindDict {
					return nil, malformed("config message", "<", "entry is not [seqno, hash32, diff]", err)
				}
				m.Lagged = append(m.Lagged, LaggedDiff{Seqno: s, Hash: [32]byte(l.List[1].Str), Diff: l.List[2].Raw})
			}
		case "~":
			if i+2 != len(v.Dict) {
				return nil, malformed("config message", "~", "signature is not the last key", nil)
			}
			if verifyKey != nil {
				if e.Value.Kind != bencode.KindString || len(e.Value.Str) != 64 {
					return nil, malformed("config message", "~", "signature is not 64 bytes", nil)
				}
				if !ed25519.Verify(verifyKey[:], v.Raw[:e.Offset], e.Value.Str) {
					return nil, fmt.Errorf("%w: config message signature", ErrBadSignature)
				}
				m.Signed = true
			}
		default:
			m.unknown = append(m.unknown, e)
		}
	}
	if m.Data == nil {
		m.Data = Dict{}
	}
	if m.Diff == nil {
		m.Diff = []byte("de")
	}
	if verifyKey != nil && !m.Signed {
		return nil, fmt.Errorf("%w: config message is not signed", ErrBadSignature)
	}
	return m, nil
}

// serializeConfig builds a config message; sign, if not nil, signs it (group configs).
func serializeConfig(seqno int64, data Dict, lagged []LaggedDiff, diff []byte, unknown []bencode.Entry, sign func([]byte) [64]byte) []byte {
	type kv struct {
		k string
		v []byte
	}
	entries := []kv{
		{"#", bencode.AppendInt(nil, seqno)},
		{"&", appendDict(nil, data)},
		{"=", diff},
	}
	l := []byte{'l'}
	for _, x := range lagged {
		l = append(l, 'l')
		l = bencode.AppendInt(l, x.Seqno)
		l = bencode.AppendBytes(l, x.Hash[:])
		l = append(l, x.Diff...)
		l = append(l, 'e')
	}
	entries = append(entries, kv{"<", append(l, 'e')})
	for _, u := range unknown {
		entries = append(entries, kv{string(u.Key), u.Value.Raw})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].k < entries[j].k })
	out := []byte{'d'}
	for _, e := range entries {
		out = bencode.AppendString(out, e.k)
		out = append(out, e.v...)
	}
	if sign != nil {
		sig := sign(out)
		out = bencode.AppendString(out, "~")
		out = bencode.AppendBytes(out, sig[:])
	}
	return append(out, 'e')
}

func sortLagged(l []LaggedDiff) {
	slices.SortFunc(l, func(a, b LaggedDiff) int {
		if c := cmp.Compare(a.Seqno, b.Seqno); c != 0 {
			return c
		}
		return bytes.Compare(a.Hash[:], b.Hash[:])
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
