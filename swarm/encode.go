package swarm

import (
	"encoding/json"
	"slices"
	"strconv"
)

// Request bodies are written by hand for the value types requests hold (strings of base64,
// hex and names, integers, booleans, and lists of them), with encoding/json's bytes: map keys
// sorted, struct fields in order, no spaces. A body holding anything else, or a string that
// encoding/json would escape, is marshalled by encoding/json instead. This spares every
// request the reflection and the copies of json.Marshal (a poll signs and encodes a batch of
// five retrieves; TestEncodeMatchesJSON and FuzzEncodeMatchesJSON compare both ways).

// marshalRPC returns the body {"method":…,"params":…}.
func marshalRPC(method string, params any, sizeHint int) ([]byte, error) {
	body := rpcBody{Method: method, Params: params}
	if b, ok := appendJSON(make([]byte, 0, sizeHint), body); ok {
		return b, nil
	}
	return json.Marshal(body)
}

// appendJSON appends v as json.Marshal writes it, and reports false when v holds a type or a
// string it does not write by hand.
func appendJSON(dst []byte, v any) ([]byte, bool) {
	ok := true
	switch x := v.(type) {
	case string:
		dst, ok = appendJSONString(dst, x)
	case bool:
		dst = strconv.AppendBool(dst, x)
	case int:
		dst = strconv.AppendInt(dst, int64(x), 10)
	case int64:
		dst = strconv.AppendInt(dst, x, 10)
	case []string:
		return appendList(dst, x, appendJSONString)
	case []int64:
		return appendList(dst, x, func(dst []byte, n int64) ([]byte, bool) { return strconv.AppendInt(dst, n, 10), true })
	case map[string]any:
		if x == nil {
			return append(dst, "null"...), true
		}
		var buf [16]string
		keys := buf[:0]
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, ok = appendJSONString(dst, k); !ok {
				return dst, false
			}
			dst = append(dst, ':')
			if dst, ok = appendJSON(dst, x[k]); !ok {
				return dst, false
			}
		}
		dst = append(dst, '}')
	case rpcBody:
		dst = append(dst, `{"method":`...)
		if dst, ok = appendJSONString(dst, x.Method); !ok {
			return dst, false
		}
		dst = append(dst, `,"params":`...)
		if dst, ok = appendJSON(dst, x.Params); !ok {
			return dst, false
		}
		dst = append(dst, '}')
	case []rpcBody:
		return appendList(dst, x, func(dst []byte, r rpcBody) ([]byte, bool) { return appendJSON(dst, r) })
	default:
		return dst, false
	}
	return dst, ok
}

// appendList appends the JSON array of xs (null for nil), each element by appendElem.
func appendList[T any](dst []byte, xs []T, appendElem func([]byte, T) ([]byte, bool)) ([]byte, bool) {
	if xs == nil {
		return append(dst, "null"...), true
	}
	dst = append(dst, '[')
	for i, x := range xs {
		if i > 0 {
			dst = append(dst, ',')
		}
		var ok bool
		if dst, ok = appendElem(dst, x); !ok {
			return dst, false
		}
	}
	return append(dst, ']'), true
}

// appendJSONString appends s quoted, for strings encoding/json writes unchanged: printable
// ASCII other than the quote, the backslash and the HTML characters it escapes.
func appendJSONString(dst []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return dst, false
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), true
}
