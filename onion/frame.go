package onion

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
)

// The framing primitive of every layer: u32_le(len(blob)) ‖ blob ‖ json. The JSON runs to the
// end of the buffer; it has no length and no terminator.

// appendFrame appends u32_le(len(blob)) ‖ blob ‖ tail to dst.
func appendFrame(dst, blob, tail []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(blob)))
	dst = append(dst, blob...)
	return append(dst, tail...)
}

// SplitFrame splits u32_le(N) ‖ blob[N] ‖ tail into blob and tail (both alias data). It fails
// with ErrMalformed when data is shorter than its stated length.
func SplitFrame(data []byte) (blob, tail []byte, err error) {
	if len(data) < 4 {
		return nil, nil, fmt.Errorf("%w: frame of %d bytes has no length prefix", ErrMalformed, len(data))
	}
	n := binary.LittleEndian.Uint32(data)
	if uint64(n) > uint64(len(data)-4) {
		return nil, nil, fmt.Errorf("%w: frame says %d bytes, has %d", ErrMalformed, n, len(data)-4)
	}
	return data[4 : 4+n], data[4+n:], nil
}

// routingJSON builds the compact, sorted-key JSON objects the builder puts after each layer.
// They are written by hand, not with encoding/json, because their keys and value types are
// fixed and this runs several times per request (see BenchmarkBuildOnion).
type routingJSON struct{ b []byte }

func (r *routingJSON) open() { r.b = append(r.b, '{') }

func (r *routingJSON) key(k string) {
	if len(r.b) > 1 {
		r.b = append(r.b, ',')
	}
	r.b = append(r.b, '"')
	r.b = append(r.b, k...)
	r.b = append(r.b, '"', ':')
}

func (r *routingJSON) str(k, v string) {
	r.key(k)
	r.b = appendJSONString(r.b, v)
}

func (r *routingJSON) hex(k string, v []byte) {
	r.key(k)
	r.b = append(r.b, '"')
	r.b = hex.AppendEncode(r.b, v)
	r.b = append(r.b, '"')
}

func (r *routingJSON) int(k string, v int) {
	r.key(k)
	r.b = strconv.AppendInt(r.b, int64(v), 10)
}

func (r *routingJSON) close() []byte { return append(r.b, '}') }

// appendJSONString appends s as a JSON string without HTML escaping (as nlohmann::json and
// Python do), so the bytes match other implementations for any printable input.
func appendJSONString(dst []byte, s string) []byte {
	if plainJSON(s) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a Go string always encodes
	return append(dst, bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})...)
}

// marshalCompact encodes v as compact JSON with sorted map keys and no HTML escaping.
func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

// plainJSON reports whether s is printable ASCII without a quote or a backslash, which a JSON
// encoder (without HTML escaping) writes as it is: enc_type names, usual hosts and targets.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
