// Package jsonscan reads JSON objects in place: the raw values of a few named fields, in one
// pass, without reflection and without copying. The SDK's hot reply parsers (a storage node's
// onion reply, its RPC result, every swarm member's part of it) use it as a fast path in front
// of encoding/json.
//
// It is strict where encoding/json is strict (the syntax of RFC 8259, as json.Valid checks it)
// and it gives up where it cannot be sure to read a value exactly as encoding/json would read it
// into a struct: a key that is escaped or not ASCII, a key that differs from a field's name only
// in case (encoding/json matches names case-insensitively), a field given twice (encoding/json
// keeps the last), nesting deeper than MaxDepth. Its callers then parse with encoding/json,
// which decides; each caller's fuzz target checks that both ways agree.
//
// It is hand-written because what it must do is narrow and exact: agree with encoding/json
// byte for byte on what it accepts (string unescaping included), validate what it skips, and
// hand back sub-slices of the input. The general fast JSON libraries answer other needs (gjson
// does not validate what it skips, fastjson builds a tree of copied values), and this is small
// enough to test against encoding/json itself.
package jsonscan

import (
	"encoding/binary"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of arrays and objects the scanner follows; deeper input
// makes it fail (encoding/json, which the callers fall back to, allows 10,000).
const MaxDepth = 128

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first byte at or after i that is not JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// Fields reads the JSON object that b holds (whitespace around it allowed, nothing else) and
// sets vals[k] to the raw value of the member named names[k] (a sub-slice of b, without
// surrounding whitespace; nil when absent). Other members are skipped, their syntax checked.
// It reports false, leaving vals in an unspecified state, when b is not valid JSON, not an
// object, or when encoding/json might read it differently into a struct with these field
// names: a key that is escaped or not ASCII, a key equal to a name except for case, a name
// given twice, or nesting deeper than MaxDepth. len(vals) must be len(names).
func Fields(b []byte, names []string, vals [][]byte) bool {
	i := skipSpace(b, 0)
	end := fields(b, i, names, vals, 0)
	return end >= 0 && skipSpace(b, end) == len(b)
}

// ObjectFields is Fields for an object that is a raw value taken from a larger document (as
// Fields, Members and Elements hand out): it must be exactly one object.
func ObjectFields(raw []byte, names []string, vals [][]byte) bool {
	return len(raw) > 0 && raw[0] == '{' && fields(raw, 0, names, vals, 0) == len(raw)
}

func fields(b []byte, i int, names []string, vals [][]byte, depth int) int {
	clear(vals)
	return object(b, i, depth, func(key []byte, plain bool, v int) int {
		if !plain {
			return -1 // an escaped or non-ASCII key: encoding/json unescapes and folds it
		}
		end := value(b, v, depth+1)
		if end < 0 {
			return -1
		}
		for k, n := range names {
			if string(key) == n {
				if vals[k] != nil {
					return -1 // given twice: encoding/json keeps the last one
				}
				vals[k] = b[v:end]
				return end
			}
			if equalFoldASCII(key, n) {
				return -1 // encoding/json would take it for n
			}
		}
		return end
	})
}

// Members calls fn with each member of the JSON object raw (a raw value, exactly one object):
// its key, unescaped only if plain (fn never sees an escaped or non-ASCII key: Members then
// reports false) and its raw value. fn returns false to stop, and Members then reports false.
func Members(raw []byte, fn func(key, val []byte) bool) bool {
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	end := object(raw, 0, 0, func(key []byte, plain bool, v int) int {
		if !plain {
			return -1
		}
		e := value(raw, v, 1)
		if e < 0 || !fn(key, raw[v:e]) {
			return -1
		}
		return e
	})
	return end == len(raw)
}

// Elements calls fn with each raw element of the JSON array raw (a raw value, exactly one
// array). fn returns false to stop, and Elements then reports false.
func Elements(raw []byte, fn func(val []byte) bool) bool {
	if len(raw) == 0 || raw[0] != '[' {
		return false
	}
	end := array(raw, 0, 0, func(v int) int {
		e := value(raw, v, 1)
		if e < 0 || !fn(raw[v:e]) {
			return -1
		}
		return e
	})
	return end == len(raw)
}

// array reads the array starting at b[i] ('['), calling elem with the index of each element;
// elem returns the index after it, or -1. It returns the index after the closing bracket, or
// -1.
func array(b []byte, i, depth int, elem func(v int) int) int {
	if depth > MaxDepth || i >= len(b) || b[i] != '[' {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for more := true; more; {
		if i = elem(i); i < 0 {
			return -1
		}
		if i, more = after(b, i, ']'); i < 0 {
			return -1
		}
	}
	return i
}

// after reads what follows a member or an element that ends at b[i]: a comma (it returns the
// index of the next one and true) or close (the index after it and false); -1 otherwise.
func after(b []byte, i int, close byte) (int, bool) {
	i = skipSpace(b, i)
	if i < len(b) {
		switch b[i] {
		case ',':
			return skipSpace(b, i+1), true
		case close:
			return i + 1, false
		}
	}
	return -1, false
}

// object reads the object starting at b[i] ('{'), calling member for each key (raw, and
// whether it is plain: neither escaped nor with non-ASCII bytes) with the index of its value;
// member returns the index after the value, or -1. It returns the index after the closing
// brace, or -1.
func object(b []byte, i, depth int, member func(key []byte, plain bool, v int) int) int {
	if depth > MaxDepth || i >= len(b) || b[i] != '{' {
		return -1
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		end, flags := str(b, i)
		if end < 0 {
			return -1
		}
		key := b[i+1 : end-1]
		i = skipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		i = skipSpace(b, i+1)
		if i = member(key, flags == 0, i); i < 0 {
			return -1
		}
		more := false
		if i, more = after(b, i, '}'); i < 0 || !more {
			return i
		}
	}
}

// Valid reports whether b is one valid JSON value (whitespace around it allowed) nested no
// deeper than MaxDepth.
func Valid(b []byte) bool {
	i := skipSpace(b, 0)
	end := value(b, i, 0)
	return end >= 0 && skipSpace(b, end) == len(b)
}

// value returns the index after the JSON value starting at b[i], or -1 if there is none.
func value(b []byte, i, depth int) int {
	if i < 0 || i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		end, _ := str(b, i)
		return end
	case c == '{':
		return object(b, i, depth, func(_ []byte, _ bool, v int) int { return value(b, v, depth+1) })
	case c == '[':
		return array(b, i, depth, func(v int) int { return value(b, v, depth+1) })
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || isDigit(c):
		return number(b, i)
	}
	return -1
}

func literal(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// number returns the index after the JSON number at b[i], or -1:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func number(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && isDigit(b[i]):
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i
}

// Flags of a string token.
const (
	escaped  = 1 << iota // has a backslash escape
	nonASCII             // has a byte of 0x80 or more
)

// str returns the index after the string token starting at b[i] ('"') and what it holds
// (escaped, nonASCII), or -1 when it is not a valid JSON string.
func str(b []byte, i int) (int, int) {
	flags := 0
	j := i + 1
	for {
		// Plain text (no quote, backslash, control or non-ASCII byte) eight bytes at a time:
		// most of a node reply is base64 and hex in strings.
		for j+8 <= len(b) && plain8(binary.LittleEndian.Uint64(b[j:])) {
			j += 8
		}
		for stop := j + 8; j < stop; j++ {
			if j >= len(b) {
				return -1, 0
			}
			switch c := b[j]; {
			case c == '"':
				return j + 1, flags
			case c == '\\':
				flags |= escaped
				j++
				if j >= len(b) {
					return -1, 0
				}
				switch b[j] {
				case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				case 'u':
					if len(b)-j < 5 || hex4(b[j+1:j+5]) < 0 {
						return -1, 0
					}
					j += 4
				default:
					return -1, 0
				}
			case c < ' ':
				return -1, 0
			case c >= utf8.RuneSelf:
				flags |= nonASCII
			}
		}
	}
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain8 reports whether none of the eight bytes of w is a quote, a backslash, a control
// character or a non-ASCII byte (the classic "has a zero byte" and "has a byte less than n"
// tests, exact as booleans).
func plain8(w uint64) bool {
	q := w ^ (ones * '"')
	bs := w ^ (ones * '\\')
	special := (q - ones) &^ q
	special |= (bs - ones) &^ bs
	special |= (w - ones*' ') &^ w
	special |= w
	return special&highs == 0
}

func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// Text returns the string a raw JSON string value holds, as encoding/json decodes it into a Go
// string (escapes resolved, invalid UTF-8 and lone surrogates replaced by U+FFFD), and false
// when raw is not exactly one JSON string. Plain strings are returned as sub-slices of raw;
// others are unescaped into a new slice.
func Text(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' {
		return nil, false
	}
	end, flags := str(raw, 0)
	if end != len(raw) {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	if flags == 0 || (flags == nonASCII && utf8.Valid(s)) {
		return s, true
	}
	return unescape(make([]byte, 0, len(s)+utf8.UTFMax), s, false)
}

// unescape appends the unescaped form of s (the inside of a JSON string token) to dst, as
// encoding/json decodes it. With inPlace, dst lies over s, behind it (dst = raw[:0] for s =
// raw[1:len(raw)-1]): an escape never writes more than it reads, and the only thing that
// would (invalid UTF-8, replaced by the 3 bytes of U+FFFD) moves the rest to a new buffer. It
// reports false for an escape cut short or unknown (never in a token the scanner accepted).
func unescape(dst, s []byte, inPlace bool) ([]byte, bool) {
	for r := 0; r < len(s); {
		// Copy the run of plain ASCII up to the next escape or non-ASCII byte at once
		// (memmove: in place, dst lies behind the reader).
		k := r
		for k < len(s) && s[k] != '\\' && s[k] < utf8.RuneSelf {
			k++
		}
		dst = append(dst, s[r:k]...)
		if r = k; r == len(s) {
			break
		}
		if s[r] != '\\' { // non-ASCII
			rr, size := utf8.DecodeRune(s[r:])
			if inPlace && size < utf8.RuneLen(rr) { // invalid UTF-8: U+FFFD is longer
				dst = append(make([]byte, 0, len(dst)+2*(len(s)-r)+utf8.UTFMax), dst...)
				inPlace = false
			}
			dst = utf8.AppendRune(dst, rr)
			r += size
			continue
		}
		if r+1 >= len(s) {
			return dst, false
		}
		switch c := s[r+1]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case '"', '\\', '/':
			dst = append(dst, c)
		case 'u':
			rr := u4(s[r:])
			if rr < 0 {
				return dst, false
			}
			r += 6
			if utf16.IsSurrogate(rr) {
				if dec := utf16.DecodeRune(rr, u4(s[r:])); dec != unicode.ReplacementChar {
					dst = utf8.AppendRune(dst, dec)
					r += 6
					continue
				}
				rr = unicode.ReplacementChar
			}
			dst = utf8.AppendRune(dst, rr)
			continue
		default:
			return dst, false
		}
		r += 2
	}
	return dst, true
}

// u4 reads the \uXXXX escape at the start of s; -1 if there is none.
func u4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	return hex4(s[2:6])
}

// UnescapeInPlace is Text for a string value that Fields, ObjectFields, Members or Elements
// handed out (their scan checked it; it is not checked again) and whose bytes the caller owns
// and will not read again: the string is unescaped over raw itself, so it costs no
// allocation unless it holds invalid UTF-8. It reports false when raw is not a string.
func UnescapeInPlace(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	return unescape(raw[:0], raw[1:len(raw)-1], true)
}

// equalFoldASCII reports whether key and name (ASCII) are equal ignoring ASCII case.
func equalFoldASCII(key []byte, name string) bool {
	if len(key) != len(name) {
		return false
	}
	for i := range len(key) {
		a, b := key[i], name[i]
		if a == b {
			continue
		}
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// Int reads a raw JSON number that is an integer without fraction or exponent and fits in an
// int64, as encoding/json decodes it into an integer field.
func Int(raw []byte) (int64, bool) {
	if len(raw) == 0 || number(raw, 0) != len(raw) {
		return 0, false
	}
	neg := raw[0] == '-'
	digits := raw
	if neg {
		digits = raw[1:]
	}
	var v uint64
	for _, c := range digits {
		if !isDigit(c) {
			return 0, false // a fraction or an exponent
		}
		d := uint64(c - '0')
		if v > (1<<63-d)/10 {
			return 0, false // beyond 2^63
		}
		v = v*10 + d
	}
	switch {
	case neg && v <= 1<<63:
		return -int64(v), true
	case !neg && v < 1<<63:
		return int64(v), true
	}
	return 0, false
}
