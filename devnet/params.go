package devnet

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// parseError is a request that could not be parsed: 400 "invalid request: <msg>".
type parseError string

func (e parseError) Error() string { return string(e) }

func perr(format string, args ...any) error { return parseError(fmt.Sprintf(format, args...)) }

// plainError is a 400 whose text the spec gives literally, without the "invalid request: " prefix.
type plainError string

func (e plainError) Error() string { return string(e) }

// params is a decoded JSON params object. Unknown keys are ignored, as the real server does.
type params map[string]json.RawMessage

func decodeParams(raw json.RawMessage) (params, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var p params
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, false
	}
	if p == nil {
		p = params{}
	}
	return p, true
}

func (p params) has(k string) bool {
	v, ok := p[k]
	return ok && !isNull(v)
}

func isNull(v json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(v), []byte("null")) }

func (p params) str(k string) (string, bool, error) {
	v, ok := p[k]
	if !ok || isNull(v) {
		return "", false, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", true, perr("Invalid value given for '%s': expected string", k)
	}
	return s, true, nil
}

func (p params) reqStr(k string) (string, error) {
	s, ok, err := p.str(k)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", perr("Required field '%s' missing", k)
	}
	return s, nil
}

// int64Of reads an integer given as a JSON number (no fraction) or, when allowString, as a
// stringified integer.
func (p params) int64Of(k string, allowString bool) (int64, bool, error) {
	v, ok := p[k]
	if !ok || isNull(v) {
		return 0, false, nil
	}
	v = bytes.TrimSpace(v)
	if allowString && len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return 0, true, perr("Invalid value given for '%s': expected integer", k)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, true, perr("Invalid value given for '%s': expected integer", k)
		}
		return n, true, nil
	}
	n, err := parseJSONInt(v)
	if err != nil {
		return 0, true, perr("Invalid value given for '%s': expected integer", k)
	}
	return n, true, nil
}

func parseJSONInt(v json.RawMessage) (int64, error) {
	var num json.Number
	d := json.NewDecoder(bytes.NewReader(v))
	d.UseNumber()
	if err := d.Decode(&num); err != nil {
		return 0, err
	}
	if n, err := num.Int64(); err == nil {
		return n, nil
	}
	f, err := num.Float64()
	if err != nil || f != math.Trunc(f) || f > math.MaxInt64 || f < math.MinInt64 {
		return 0, fmt.Errorf("not an integer")
	}
	return int64(f), nil
}

// timestampOf reads a millisecond timestamp; values below 1e9 look like seconds and are refused.
func (p params) timestampOf(k string) (int64, bool, error) {
	n, ok, err := p.int64Of(k, true)
	if err != nil || !ok {
		return n, ok, err
	}
	if n < 1_000_000_000 {
		return 0, true, perr("Invalid timestamp for '%s': timestamp must be in milliseconds", k)
	}
	return n, true, nil
}

func (p params) reqTimestamp(k string) (int64, error) {
	n, ok, err := p.timestampOf(k)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, perr("Required field '%s' missing", k)
	}
	return n, nil
}

func (p params) boolOf(k string) (bool, error) {
	v, ok := p[k]
	if !ok || isNull(v) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(v, &b); err != nil {
		return false, perr("Invalid value given for '%s': expected boolean", k)
	}
	return b, nil
}

// boolOr reads an optional bool with a default.
func (p params) boolOr(k string, def bool) (bool, error) {
	if !p.has(k) {
		return def, nil
	}
	return p.boolOf(k)
}

// namespace reads the namespace (default 0), an int16.
func (p params) namespace() (int16, bool, error) {
	n, ok, err := p.int64Of("namespace", false)
	if err != nil || !ok {
		return 0, ok, err
	}
	if n < math.MinInt16 || n > math.MaxInt16 {
		return 0, true, plainError("value out of range")
	}
	return int16(n), true, nil
}

// namespaceOrAll reads a namespace that may also be the string "all".
func (p params) namespaceOrAll() (ns int16, all bool, err error) {
	if v, ok := p["namespace"]; ok && len(bytes.TrimSpace(v)) > 0 && bytes.TrimSpace(v)[0] == '"' {
		var s string
		if json.Unmarshal(v, &s) == nil && s == "all" {
			return 0, true, nil
		}
		return 0, false, perr("Invalid value given for 'namespace': expected integer or \"all\"")
	}
	ns, _, err = p.namespace()
	return ns, false, err
}

// stringList reads a string or a list of strings.
func (p params) stringList(k string) ([]string, bool, error) {
	v, ok := p[k]
	if !ok || isNull(v) {
		return nil, false, nil
	}
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '"' {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, true, perr("Invalid value given for '%s'", k)
		}
		return []string{s}, true, nil
	}
	var l []string
	if err := json.Unmarshal(v, &l); err != nil {
		return nil, true, perr("Invalid value given for '%s': expected string or list of strings", k)
	}
	return l, true, nil
}

// intList reads an integer or a list of integers; single reports which form was used.
func (p params) intList(k string) (vals []int64, single bool, present bool, err error) {
	v, ok := p[k]
	if !ok || isNull(v) {
		return nil, false, false, nil
	}
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '[' {
		var raw []json.RawMessage
		if err := json.Unmarshal(v, &raw); err != nil {
			return nil, false, true, perr("Invalid value given for '%s'", k)
		}
		for _, r := range raw {
			n, err := parseJSONInt(r)
			if err != nil {
				return nil, false, true, perr("Invalid value given for '%s': expected integers", k)
			}
			vals = append(vals, n)
		}
		return vals, false, true, nil
	}
	n, ok, err := p.int64Of(k, true)
	if err != nil || !ok {
		return nil, true, ok, err
	}
	return []int64{n}, true, true, nil
}

// accountOf reads the account pubkey: 66 hex digits, from pubkey (or, where allowed, pubKey).
func (p params) accountOf(allowAlias bool) (account, error) {
	var a account
	s, ok, err := p.str("pubkey")
	if err != nil {
		return a, err
	}
	if allowAlias {
		s2, ok2, err := p.str("pubKey")
		if err != nil {
			return a, err
		}
		if ok && ok2 {
			return a, perr("Cannot specify both 'pubkey' and 'pubKey'")
		}
		if ok2 {
			s, ok = s2, true
		}
	}
	if !ok {
		return a, perr("Required field 'pubkey' missing")
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 33 {
		return a, perr("Pubkey must be 66 hex digits (33 bytes) long")
	}
	copy(a[:], b)
	return a, nil
}

// swarmAccountOf is accountOf for get_swarm, whose length error reads differently (as recorded
// from the real server).
func (p params) swarmAccountOf() (account, error) {
	a, err := p.accountOf(true)
	var pe parseError
	if errors.As(err, &pe) && strings.HasPrefix(string(pe), "Pubkey must be") {
		return a, perr("Pubkey must be 66 hex digits/33 bytes long")
	}
	return a, err
}

// messageHashes reads a non-empty list of 43-character base64 message hashes.
func (p params) messageHashes(k string) ([]string, error) {
	l, ok, err := p.stringList(k)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, perr("Required field '%s' missing", k)
	}
	if len(l) == 0 {
		return nil, perr("%s does not contain any message hashes", k)
	}
	for _, h := range l {
		if !validHash(h) {
			return nil, perr("%s: invalid message hash '%s'", k, truncate(h, 64))
		}
	}
	return l, nil
}

func validHash(h string) bool {
	if len(h) != 43 {
		return false
	}
	_, err := base64.RawStdEncoding.DecodeString(h)
	return err == nil
}

// decodeB64 accepts standard base64 with or without padding.
func decodeB64(s string) ([]byte, error) {
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
