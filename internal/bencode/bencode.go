// Package bencode encodes and decodes bencode ("bt") with exact bytes.
//
// Session signs and hashes bencoded data byte for byte (config messages, group key
// messages, group message bodies) and frames onion v4 responses as bencoded lists, so this
// package never normalises anything: decoded values keep their exact source bytes (Raw), the
// decoder can parse one value from the front of a buffer and hand back the rest, and the
// encoder always writes dict keys in sorted byte order.
//
// It is hand-written rather than taken from a library because the available Go bencode
// libraries are reflection-based: they re-encode values, may reorder fields or normalise
// integers, and do not expose the offsets needed to check a signature over "the encoding up to
// key ~". The format is small enough (four types) that a strict, fuzzed decoder is simpler to
// trust than an adapter around one of them.
//
// The decoder is strict: integers must be canonical (no leading zeros, no "-0", no empty
// digits), string lengths must be canonical, nesting depth and input size are bounded, and by
// default dict keys must be strictly ascending (sorted and unique). Nothing panics on any input.
package bencode

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
)

// Sentinel errors. Decoding errors are returned as *Error, which wraps one of these, so
// callers can use errors.Is(err, bencode.ErrSyntax) and errors.As(err, &*bencode.Error).
var (
	// ErrSyntax: the input is not valid bencode.
	ErrSyntax = errors.New("bencode: syntax error")
	// ErrUnexpectedEOF: the input ends in the middle of a value.
	ErrUnexpectedEOF = errors.New("bencode: unexpected end of input")
	// ErrTrailingData: a complete value is followed by more bytes (Decode only).
	ErrTrailingData = errors.New("bencode: trailing data after value")
	// ErrKeyOrder: dict keys are not in strictly ascending byte order.
	ErrKeyOrder = errors.New("bencode: dict keys not sorted")
	// ErrDuplicateKey: a dict key appears twice.
	ErrDuplicateKey = errors.New("bencode: duplicate dict key")
	// ErrTooDeep: lists and dicts are nested deeper than the limit.
	ErrTooDeep = errors.New("bencode: nesting too deep")
	// ErrTooLarge: the input is larger than the limit.
	ErrTooLarge = errors.New("bencode: input too large")
	// ErrIntRange: an integer does not fit in the requested Go type.
	ErrIntRange = errors.New("bencode: integer out of range")
	// ErrType: a value is not of the kind the caller asked for.
	ErrType = errors.New("bencode: wrong value type")
	// ErrUnsupportedType: Marshal was given a Go value it cannot encode.
	ErrUnsupportedType = errors.New("bencode: unsupported Go type")
)

// Error is a decoding error at a byte offset of the input.
type Error struct {
	Offset int    // byte offset in the input where the problem was found
	Err    error  // one of the sentinel errors above
	Detail string // optional human-readable detail
}

func (e *Error) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%v at offset %d: %s", e.Err, e.Offset, e.Detail)
	}
	return fmt.Sprintf("%v at offset %d", e.Err, e.Offset)
}

func (e *Error) Unwrap() error { return e.Err }

// Kind is the type of a bencoded value.
type Kind uint8

const (
	KindInvalid Kind = iota
	KindInt          // i<digits>e
	KindString       // <len>:<bytes>
	KindList         // l...e
	KindDict         // d...e
)

func (k Kind) String() string {
	switch k {
	case KindInt:
		return "int"
	case KindString:
		return "string"
	case KindList:
		return "list"
	case KindDict:
		return "dict"
	}
	return "invalid"
}

// Value is one decoded value. Str, List and Raw alias the decoded input; copy them if the
// input buffer is reused.
type Value struct {
	Kind Kind
	// Int holds the value of a KindInt that fits in int64. Integers up to math.MaxUint64 are
	// accepted too; use Uint64 for those.
	Int  int64
	Str  []byte  // KindString: the string's bytes
	List []Value // KindList: the elements in order
	Dict []Entry // KindDict: the entries in source order
	// Raw is the exact source bytes of the whole value, including its type markers.
	Raw []byte

	bigUint bool // a KindInt above math.MaxInt64 (Int is then meaningless)
}

// Entry is one key/value pair of a dict.
type Entry struct {
	Key   []byte
	Value Value
	// Offset is the position of the key's encoding (its length prefix) within the Raw bytes of
	// the dict that holds this entry. Raw[:Offset] is the encoding of the dict up to, but not
	// including, this key: the bytes a Session "~" signature covers.
	Offset int
}

// Int64 returns the value of an integer that fits in int64.
func (v Value) Int64() (int64, error) {
	if v.Kind != KindInt {
		return 0, fmt.Errorf("%w: want int, have %v", ErrType, v.Kind)
	}
	if v.bigUint {
		return 0, ErrIntRange
	}
	return v.Int, nil
}

// Uint64 returns the value of a non-negative integer that fits in uint64.
func (v Value) Uint64() (uint64, error) {
	if v.Kind != KindInt {
		return 0, fmt.Errorf("%w: want int, have %v", ErrType, v.Kind)
	}
	if v.bigUint {
		// Raw is i<digits>e and was validated as <= MaxUint64.
		return strconv.ParseUint(string(v.Raw[1:len(v.Raw)-1]), 10, 64)
	}
	if v.Int < 0 {
		return 0, ErrIntRange
	}
	return uint64(v.Int), nil
}

// Bytes returns the bytes of a string value.
func (v Value) Bytes() ([]byte, error) {
	if v.Kind != KindString {
		return nil, fmt.Errorf("%w: want string, have %v", ErrType, v.Kind)
	}
	return v.Str, nil
}

// Get returns the value of a dict's entry with the given key.
func (v Value) Get(key string) (Value, bool) {
	if v.Kind != KindDict {
		return Value{}, false
	}
	for _, e := range v.Dict {
		if string(e.Key) == key {
			return e.Value, true
		}
	}
	return Value{}, false
}

// Lookup returns the entry with the given key of a dict, and its index.
func (v Value) Lookup(key string) (Entry, int, bool) {
	if v.Kind != KindDict {
		return Entry{}, -1, false
	}
	for i, e := range v.Dict {
		if string(e.Key) == key {
			return e, i, true
		}
	}
	return Entry{}, -1, false
}

// Default limits.
const (
	DefaultMaxDepth = 64
	DefaultMaxSize  = 64 << 20
)

// Options tunes decoding. The zero value means: default limits, sorted unique keys required.
type Options struct {
	// MaxDepth bounds the nesting of lists and dicts (0 means DefaultMaxDepth). A top-level
	// list is depth 1.
	MaxDepth int
	// MaxSize bounds the input length in bytes (0 means DefaultMaxSize).
	MaxSize int
	// AllowUnsortedKeys accepts dict keys in any order and duplicated (the first occurrence wins
	// for Get). By default keys must be strictly ascending.
	AllowUnsortedKeys bool
}

// Decode parses exactly one value that must span all of data.
func Decode(data []byte) (Value, error) { return Options{}.Decode(data) }

// DecodePrefix parses one value from the front of data and returns it with the bytes after it.
func DecodePrefix(data []byte) (Value, []byte, error) { return Options{}.DecodePrefix(data) }

// Decode parses exactly one value that must span all of data.
func (o Options) Decode(data []byte) (Value, error) {
	v, rest, err := o.DecodePrefix(data)
	if err != nil {
		return Value{}, err
	}
	if len(rest) != 0 {
		return Value{}, &Error{Offset: len(data) - len(rest), Err: ErrTrailingData}
	}
	return v, nil
}

// DecodePrefix parses one value from the front of data and returns it with the bytes after it.
func (o Options) DecodePrefix(data []byte) (Value, []byte, error) {
	maxSize := o.MaxSize
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if len(data) > maxSize {
		return Value{}, nil, &Error{Offset: maxSize, Err: ErrTooLarge}
	}
	d := decoder{data: data, opts: o}
	if d.opts.MaxDepth <= 0 {
		d.opts.MaxDepth = DefaultMaxDepth
	}
	v, err := d.value(0)
	if err != nil {
		return Value{}, nil, err
	}
	return v, data[d.pos:], nil
}

type decoder struct {
	data []byte
	pos  int
	opts Options
}

func (d *decoder) fail(err error, detail string) error {
	return &Error{Offset: d.pos, Err: err, Detail: detail}
}

func (d *decoder) value(depth int) (Value, error) {
	if d.pos >= len(d.data) {
		return Value{}, d.fail(ErrUnexpectedEOF, "")
	}
	start := d.pos
	switch c := d.data[d.pos]; {
	case c == 'i':
		return d.integer()
	case c >= '0' && c <= '9':
		s, err := d.str()
		if err != nil {
			return Value{}, err
		}
		return Value{Kind: KindString, Str: s, Raw: d.data[start:d.pos]}, nil
	case c == 'l':
		if depth+1 > d.opts.MaxDepth {
			return Value{}, d.fail(ErrTooDeep, "")
		}
		d.pos++
		var list []Value
		for {
			if d.pos >= len(d.data) {
				return Value{}, d.fail(ErrUnexpectedEOF, "unterminated list")
			}
			if d.data[d.pos] == 'e' {
				d.pos++
				break
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return Value{}, err
			}
			list = append(list, v)
		}
		return Value{Kind: KindList, List: list, Raw: d.data[start:d.pos]}, nil
	case c == 'd':
		if depth+1 > d.opts.MaxDepth {
			return Value{}, d.fail(ErrTooDeep, "")
		}
		d.pos++
		var dict []Entry
		for {
			if d.pos >= len(d.data) {
				return Value{}, d.fail(ErrUnexpectedEOF, "unterminated dict")
			}
			if d.data[d.pos] == 'e' {
				d.pos++
				break
			}
			keyPos := d.pos
			if c := d.data[d.pos]; c < '0' || c > '9' {
				return Value{}, d.fail(ErrSyntax, "dict key is not a string")
			}
			k, err := d.str()
			if err != nil {
				return Value{}, err
			}
			if n := len(dict); n > 0 && !d.opts.AllowUnsortedKeys {
				switch cmp := compareBytes(dict[n-1].Key, k); {
				case cmp == 0:
					return Value{}, &Error{Offset: keyPos, Err: ErrDuplicateKey, Detail: strconv.Quote(string(k))}
				case cmp > 0:
					return Value{}, &Error{Offset: keyPos, Err: ErrKeyOrder, Detail: strconv.Quote(string(k))}
				}
			}
			v, err := d.value(depth + 1)
			if err != nil {
				return Value{}, err
			}
			dict = append(dict, Entry{Key: k, Value: v, Offset: keyPos - start})
		}
		return Value{Kind: KindDict, Dict: dict, Raw: d.data[start:d.pos]}, nil
	default:
		return Value{}, d.fail(ErrSyntax, fmt.Sprintf("unexpected byte 0x%02x", c))
	}
}

func compareBytes(a, b []byte) int {
	return slices.Compare(a, b)
}

// integer parses i<digits>e.
func (d *decoder) integer() (Value, error) {
	start := d.pos
	d.pos++ // 'i'
	neg := false
	if d.pos < len(d.data) && d.data[d.pos] == '-' {
		neg = true
		d.pos++
	}
	digStart := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
	}
	digits := d.data[digStart:d.pos]
	if d.pos >= len(d.data) {
		return Value{}, d.fail(ErrUnexpectedEOF, "unterminated integer")
	}
	if d.data[d.pos] != 'e' {
		return Value{}, d.fail(ErrSyntax, "bad byte in integer")
	}
	if len(digits) == 0 {
		return Value{}, d.fail(ErrSyntax, "integer without digits")
	}
	if len(digits) > 1 && digits[0] == '0' {
		return Value{}, &Error{Offset: digStart, Err: ErrSyntax, Detail: "integer with leading zero"}
	}
	if neg && digits[0] == '0' {
		return Value{}, &Error{Offset: digStart, Err: ErrSyntax, Detail: "negative zero"}
	}
	d.pos++ // 'e'
	v := Value{Kind: KindInt, Raw: d.data[start:d.pos]}
	if neg {
		n, err := strconv.ParseInt("-"+string(digits), 10, 64)
		if err != nil {
			return Value{}, &Error{Offset: start, Err: ErrIntRange}
		}
		v.Int = n
		return v, nil
	}
	u, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil {
		return Value{}, &Error{Offset: start, Err: ErrIntRange}
	}
	if u > math.MaxInt64 {
		v.bigUint = true
	} else {
		v.Int = int64(u)
	}
	return v, nil
}

// str parses <len>:<bytes> and returns the bytes.
func (d *decoder) str() ([]byte, error) {
	lenStart := d.pos
	for d.pos < len(d.data) && d.data[d.pos] >= '0' && d.data[d.pos] <= '9' {
		d.pos++
		if d.pos-lenStart > 19 {
			return nil, &Error{Offset: lenStart, Err: ErrSyntax, Detail: "string length too long"}
		}
	}
	digits := d.data[lenStart:d.pos]
	if d.pos >= len(d.data) {
		return nil, d.fail(ErrUnexpectedEOF, "unterminated string length")
	}
	if d.data[d.pos] != ':' {
		return nil, d.fail(ErrSyntax, "bad byte in string length")
	}
	if len(digits) > 1 && digits[0] == '0' {
		return nil, &Error{Offset: lenStart, Err: ErrSyntax, Detail: "string length with leading zero"}
	}
	n, err := strconv.ParseUint(string(digits), 10, 64)
	if err != nil {
		return nil, &Error{Offset: lenStart, Err: ErrSyntax, Detail: "bad string length"}
	}
	d.pos++ // ':'
	if n > uint64(len(d.data)-d.pos) {
		return nil, d.fail(ErrUnexpectedEOF, "string longer than input")
	}
	s := d.data[d.pos : d.pos+int(n) : d.pos+int(n)]
	d.pos += int(n)
	return s, nil
}

// ---- encoding ----

// Raw is an already-encoded value; Marshal copies it verbatim (it is not validated).
type Raw []byte

// AppendInt appends the encoding of n.
func AppendInt(dst []byte, n int64) []byte {
	dst = append(dst, 'i')
	dst = strconv.AppendInt(dst, n, 10)
	return append(dst, 'e')
}

// AppendUint appends the encoding of n.
func AppendUint(dst []byte, n uint64) []byte {
	dst = append(dst, 'i')
	dst = strconv.AppendUint(dst, n, 10)
	return append(dst, 'e')
}

// AppendBytes appends the encoding of the byte string s.
func AppendBytes(dst, s []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	return append(dst, s...)
}

// AppendString appends the encoding of the byte string s.
func AppendString(dst []byte, s string) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	return append(dst, s...)
}

// Dict is an ordered list of key/value pairs for Marshal. Keys are sorted by Marshal; duplicate
// keys are an error. Use it (or a map with string keys) to build dicts.
type Dict []KV

// KV is one Dict entry.
type KV struct {
	Key   string
	Value any
}

// Marshal encodes v. Supported: all Go integer types, string and []byte (byte strings), Raw
// (verbatim), Value (its Raw bytes), Dict, maps with string or []byte-like keys (keys sorted),
// and slices/arrays of supported types (lists; [N]byte arrays are byte strings). Pointers and
// interfaces are followed; nil is an error.
func Marshal(v any) ([]byte, error) {
	return AppendValue(nil, v)
}

// AppendValue appends the encoding of v (see Marshal).
func AppendValue(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, reflect.ValueOf(v), 0)
}

var (
	rawType   = reflect.TypeOf(Raw(nil))
	valueType = reflect.TypeOf(Value{})
	dictType  = reflect.TypeOf(Dict(nil))
)

func appendValue(dst []byte, v reflect.Value, depth int) ([]byte, error) {
	if depth > DefaultMaxDepth {
		return nil, ErrTooDeep
	}
	if !v.IsValid() {
		return nil, fmt.Errorf("%w: nil", ErrUnsupportedType)
	}
	switch v.Type() {
	case rawType:
		return append(dst, v.Bytes()...), nil
	case valueType:
		raw := v.Interface().(Value).Raw
		if len(raw) == 0 {
			return nil, fmt.Errorf("%w: Value without Raw bytes", ErrUnsupportedType)
		}
		return append(dst, raw...), nil
	case dictType:
		d := v.Interface().(Dict)
		idx := make([]int, len(d))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return d[idx[a]].Key < d[idx[b]].Key })
		dst = append(dst, 'd')
		for i, j := range idx {
			if i > 0 && d[idx[i-1]].Key == d[j].Key {
				return nil, fmt.Errorf("%w: %q", ErrDuplicateKey, d[j].Key)
			}
			dst = AppendString(dst, d[j].Key)
			var err error
			if dst, err = appendValue(dst, reflect.ValueOf(d[j].Value), depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, 'e'), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, fmt.Errorf("%w: nil", ErrUnsupportedType)
		}
		return appendValue(dst, v.Elem(), depth)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return AppendInt(dst, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return AppendUint(dst, v.Uint()), nil
	case reflect.String:
		return AppendString(dst, v.String()), nil
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			if v.Kind() == reflect.Slice {
				return AppendBytes(dst, v.Bytes()), nil
			}
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			return AppendBytes(dst, b), nil
		}
		dst = append(dst, 'l')
		for i := 0; i < v.Len(); i++ {
			var err error
			if dst, err = appendValue(dst, v.Index(i), depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, 'e'), nil
	case reflect.Map:
		kt := v.Type().Key()
		if kt.Kind() != reflect.String {
			return nil, fmt.Errorf("%w: map key %v", ErrUnsupportedType, kt)
		}
		keys := make([]string, 0, v.Len())
		vals := make(map[string]reflect.Value, v.Len())
		iter := v.MapRange()
		for iter.Next() {
			k := iter.Key().String()
			keys = append(keys, k)
			vals[k] = iter.Value()
		}
		sort.Strings(keys)
		dst = append(dst, 'd')
		for _, k := range keys {
			dst = AppendString(dst, k)
			var err error
			if dst, err = appendValue(dst, vals[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(dst, 'e'), nil
	}
	return nil, fmt.Errorf("%w: %v", ErrUnsupportedType, v.Type())
}
