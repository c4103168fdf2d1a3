package groups

import (
	"cmp"
	"fmt"
	"slices"
	"sort"

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

// appendDict appends the bencoding of d with sorted keys, leaving out empty sets and dicts
// (libsession prunes them before serializing).
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

// maxDataDepth bounds the nesting of config data. libsession's configs nest at most four
// levels ("o" → server → "R" → room); the bound only keeps recursion finite.
const maxDataDepth = 32

// parseData converts a bencoded dict of config data with libsession's rules: values are ints,
// strings, dicts or sets; nested dicts and sets are never empty (an unpruned empty value
// means the message was not made by a conforming writer); sets hold unique scalars in order
// (ints before strings).
func parseData(v bencode.Value, depth int) (Dict, error) {
	if v.Kind != bencode.KindDict {
		return nil, malformed("config", "&", "data is not a dict", nil)
	}
	if depth > maxDataDepth {
		return nil, malformed("config", "&", "data nested too deep", nil)
	}
	if depth > 0 && len(v.Dict) == 0 {
		return nil, malformed("config", "&", "data contains an unpruned empty dict", nil)
	}
	d := make(Dict, len(v.Dict))
	for _, e := range v.Dict {
		k := string(e.Key)
		switch e.Value.Kind {
		case bencode.KindInt:
			n, err := e.Value.Int64()
			if err != nil {
				return nil, malformed("config", k, "integer out of range", err)
			}
			d[k] = n
		case bencode.KindString:
			d[k] = string(e.Value.Str)
		case bencode.KindList:
			s, err := parseSet(e.Value.List, k)
			if err != nil {
				return nil, err
			}
			if len(s) == 0 {
				return nil, malformed("config", k, "data contains an unpruned empty set", nil)
			}
			d[k] = s
		case bencode.KindDict:
			sub, err := parseData(e.Value, depth+1)
			if err != nil {
				return nil, err
			}
			d[k] = sub
		}
	}
	return d, nil
}

// parseSet reads a list of unique, ordered scalars (a set or one half of a set diff).
func parseSet(l []bencode.Value, key string) (Set, error) {
	s := make(Set, 0, len(l))
	for _, x := range l {
		el, ok := scalarOf(x)
		if !ok {
			return nil, malformed("config", key, "set element is not an int or string", nil)
		}
		if len(s) > 0 && compareSetElem(s[len(s)-1], el) >= 0 {
			return nil, malformed("config", key, "set elements unsorted or duplicated", nil)
		}
		s = append(s, el)
	}
	return s, nil
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

// valueClass is libsession's fundamental type of a config value: dict, set or scalar.
func valueClass(v any) int {
	switch v.(type) {
	case Dict:
		return 0
	case Set:
		return 1
	case int64, string:
		return 2
	}
	return -1
}

// equalValues reports whether two config values are equal (deeply).
func equalValues(a, b any) bool {
	switch x := a.(type) {
	case int64, string:
		return scalarEqual(a, b)
	case Set:
		y, ok := b.(Set)
		return ok && slices.EqualFunc(x, y, func(p, q any) bool { return compareSetElem(p, q) == 0 && scalarEqual(p, q) })
	case Dict:
		y, ok := b.(Dict)
		return ok && equalDicts(x, y)
	}
	return false
}

// equalDicts compares two dicts as libsession would after pruning.
func equalDicts(a, b Dict) bool {
	n := 0
	for k, v := range a {
		if isEmptyValue(v) {
			continue
		}
		n++
		w, ok := b[k]
		if !ok || !equalValues(v, w) {
			return false
		}
	}
	m := 0
	for _, v := range b {
		if !isEmptyValue(v) {
			m++
		}
	}
	return n == m
}

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

// pruneEmpty removes empty sets and dicts (recursively) and values of unsupported types.
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
}

// ParseConfigMessage parses a serialized config message with libsession's rules. When
// verifyKey is not nil (group Info and Members), the message must end with a "~" signature by
// that Ed25519 key over the bytes before "1:~". Lagged diffs too old to matter (5 or more
// seqnos behind) are dropped, as libsession does.
func ParseConfigMessage(serialized []byte, verifyKey *[32]byte) (*ConfigMessage, error) {
	m, err := parseMessage(serialized, verifyKey, false)
	if err != nil {
		return nil, err
	}
	out := &ConfigMessage{
		Seqno:  m.id.seqno,
		Data:   m.data,
		Diff:   m.diff.Raw,
		Signed: verifyKey != nil,
		Hash:   m.id.hash,
		Raw:    m.raw,
	}
	for _, l := range m.lags {
		out.Lagged = append(out.Lagged, LaggedDiff{Seqno: l.id.seqno, Hash: l.id.hash, Diff: l.diff.Raw})
	}
	return out, nil
}
