package jsonscan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var validCases = []string{
	`{}`, `[]`, `""`, `0`, `-0`, `1.5e3`, `-12.0E-2`, `true`, `false`, `null`,
	` {"a" : [1, 2, {"b":null}] , "c":"\u00e9\n\"x\""} `,
	`{"hash":"h","swarm":{"ab":{"hash":"h","signature":"AAAA"}},"t":1}`,
	`"\ud83d\ude00"`, `"\ud83d"`, `"\udc00\ud83d"`, "\"caf\xc3\xa9\"", "\"\xff\xfe\"", `"\/\b\f\r\t"`,
	"[[[[[[[[[[1]]]]]]]]]]",
}

var invalidCases = []string{
	``, ` `, `{`, `}`, `[1,]`, `{"a":1,}`, `{"a"}`, `{"a":}`, `{a:1}`, `01`, `1.`, `.5`, `1e`, `-`,
	`+1`, `tru`, `nul`, `"abc`, "\"a\x01\"", `"\x"`, `"\u12"`, `"\u12G4"`, `{"a":1}x`, `[1 2]`,
	`{"a":1 "b":2}`, `1 2`, `'a'`, `"\'"`,
}

func TestValid(t *testing.T) {
	for _, c := range validCases {
		if !Valid([]byte(c)) || !json.Valid([]byte(c)) {
			t.Errorf("Valid(%q) = %v, json.Valid %v", c, Valid([]byte(c)), json.Valid([]byte(c)))
		}
	}
	for _, c := range invalidCases {
		if Valid([]byte(c)) || json.Valid([]byte(c)) {
			t.Errorf("Valid(%q) = %v, json.Valid %v", c, Valid([]byte(c)), json.Valid([]byte(c)))
		}
	}
	deep := strings.Repeat("[", MaxDepth+2) + strings.Repeat("]", MaxDepth+2)
	if Valid([]byte(deep)) {
		t.Error("nesting beyond MaxDepth accepted")
	}
	ok := strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth)
	if !Valid([]byte(ok)) {
		t.Error("nesting of MaxDepth refused")
	}
}

// depth is the deepest nesting of a valid JSON text.
func depth(b []byte) int {
	d, most, in, esc := 0, 0, false, false
	for _, c := range b {
		switch {
		case in && esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			in = !in
		case !in && (c == '[' || c == '{'):
			d++
			most = max(most, d)
		case !in && (c == ']' || c == '}'):
			d--
		}
	}
	return most
}

func FuzzValid(f *testing.F) {
	for _, c := range append(validCases, invalidCases...) {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, want := Valid(b), json.Valid(b)
		if got && !want {
			t.Fatalf("Valid(%q) accepts what encoding/json refuses", b)
		}
		if want && !got && depth(b) <= MaxDepth {
			t.Fatalf("Valid(%q) refuses valid JSON", b)
		}
	})
}

func checkText(t *testing.T, raw []byte) {
	var want string
	werr := json.Unmarshal(raw, &want)
	isString := werr == nil && len(raw) > 0 && raw[0] == '"' && raw[len(raw)-1] == '"' && bytes.Count(raw, []byte{'"'}) >= 2
	got, ok := Text(raw)
	if ok && (werr != nil || string(got) != want) {
		t.Fatalf("Text(%q) = %q, encoding/json %q (%v)", raw, got, want, werr)
	}
	if !ok && isString && json.Valid(raw) && bytes.TrimSpace(raw) != nil && len(bytes.TrimSpace(raw)) == len(raw) {
		t.Fatalf("Text(%q) refused a string encoding/json reads as %q", raw, want)
	}
	// UnescapeInPlace, given the strings the scanner accepts, unescapes them alike; given
	// anything else it does not panic.
	in := bytes.Clone(raw)
	got2, ok2 := UnescapeInPlace(in)
	if ok && (!ok2 || string(got2) != string(got)) {
		t.Fatalf("UnescapeInPlace(%q) = %q %v, Text %q", raw, got2, ok2, got)
	}
}

func TestText(t *testing.T) {
	for _, c := range []string{`""`, `"abc"`, `"a\"b\\c\/d"`, `"\u00e9\u0041"`, `"\ud83d\ude00x"`, `"\ud83dx"`,
		`"\ud83d\u0041"`, `"\udc00"`, "\"\xff\"", "\"caf\xc3\xa9\"", "\"\xed\xa0\x80\"", `"\b\f\n\r\t"`,
		"\"\\n\xff\xfe\xfd\xfc\\u00e9\xff\\\"x\"", "\"\xff\xff\xff\xff\xff\xff\xff\xff\xff\\n\""} {
		checkText(t, []byte(c))
		if _, ok := Text([]byte(c)); !ok {
			t.Errorf("Text(%q) refused", c)
		}
	}
	for _, c := range []string{``, `"`, `"a`, `a"`, `"a" `, ` "a"`, `"\q"`, `1`, `null`} {
		if _, ok := Text([]byte(c)); ok {
			t.Errorf("Text(%q) accepted", c)
		}
	}
	for _, c := range []string{`"\"`, `"\u12"`, `"\uZZZZ"`, `"\q"`, `"a\`, `x`} {
		if _, ok := UnescapeInPlace([]byte(c)); ok {
			t.Errorf("UnescapeInPlace(%q) accepted", c)
		}
	}
}

func FuzzText(f *testing.F) {
	f.Add([]byte(`"a\"b\u00e9\ud83d\ude00"`))
	f.Add([]byte("\"\xff\\n\""))
	f.Fuzz(func(t *testing.T, b []byte) { checkText(t, b) })
}

var names = []string{"status", "status_code", "body"}

type fieldsStruct struct {
	Status     json.RawMessage `json:"status"`
	StatusCode json.RawMessage `json:"status_code"`
	Body       json.RawMessage `json:"body"`
}

func checkFields(t *testing.T, b []byte) bool {
	vals := make([][]byte, len(names))
	if !Fields(b, names, vals) {
		return false
	}
	var want fieldsStruct
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("Fields(%q) accepted what encoding/json refuses: %v", b, err)
	}
	for k, w := range [][]byte{want.Status, want.StatusCode, want.Body} {
		if !bytes.Equal(vals[k], w) || (vals[k] == nil) != (w == nil) {
			t.Fatalf("Fields(%q): %s = %q, encoding/json %q", b, names[k], vals[k], w)
		}
	}
	return true
}

func TestFields(t *testing.T) {
	for _, c := range []string{
		`{"status":200,"body":"{\"a\":1}"}`, ` { "body" : [1,{"x":2}] , "other":{"status":1}, "status_code":404 } `,
		`{}`, `{"x":null,"status":null}`,
	} {
		if !checkFields(t, []byte(c)) {
			t.Errorf("Fields(%q) refused", c)
		}
	}
	for _, c := range []string{
		`{"status":1,"status":2}`, `{"Status":1}`, `{"BODY":""}`, `{"st\u0061tus":1}`, "{\"\xc5\xbftatus\":1}",
		`[]`, `"x"`, `{"status":1}}`, `{"status":1,}`, `{"a":[}`, ``,
	} {
		if checkFields(t, []byte(c)) {
			t.Errorf("Fields(%q) accepted", c)
		}
	}
}

func FuzzFields(f *testing.F) {
	f.Add([]byte(`{"status":200,"body":"{\"a\":1}","t":[1,2]}`))
	f.Add([]byte(`{"Status":1,"status_code":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) { checkFields(t, b) })
}

func TestMembersElements(t *testing.T) {
	var keys []string
	var vals []string
	if !Members([]byte(`{"a":1, "b" :[2,3],"a":{"c":"d"}}`), func(k, v []byte) bool {
		keys, vals = append(keys, string(k)), append(vals, string(v))
		return true
	}) {
		t.Fatal("Members refused")
	}
	if strings.Join(keys, ",") != "a,b,a" || strings.Join(vals, " ") != `1 [2,3] {"c":"d"}` {
		t.Fatalf("Members: %q %q", keys, vals)
	}
	for _, c := range []string{`{"a":1} `, `{"\u0061":1}`, `[1]`, `{"a":1`} {
		if Members([]byte(c), func(k, v []byte) bool { return true }) {
			t.Errorf("Members(%q) accepted", c)
		}
	}
	if Members([]byte(`{"a":1,"b":2}`), func(k, v []byte) bool { return string(k) != "b" }) {
		t.Error("Members ignored a stop")
	}
	var els []string
	if !Elements([]byte(`[ 1 , "x", {"a":[]} ]`), func(v []byte) bool { els = append(els, string(v)); return true }) ||
		strings.Join(els, " ") != `1 "x" {"a":[]}` {
		t.Fatalf("Elements: %q", els)
	}
	if !Elements([]byte(`[ ]`), func([]byte) bool { return false }) {
		t.Error("Elements refused an empty array")
	}
	for _, c := range []string{`[1,]`, `[1 2]`, `[1] `, `{}`, `[`} {
		if Elements([]byte(c), func([]byte) bool { return true }) {
			t.Errorf("Elements(%q) accepted", c)
		}
	}
}

func TestInt(t *testing.T) {
	for c, want := range map[string]int64{`0`: 0, `-0`: 0, `42`: 42, `-17`: -17,
		`9223372036854775807`: 1<<63 - 1, `-9223372036854775808`: -1 << 63} {
		if v, ok := Int([]byte(c)); !ok || v != want {
			t.Errorf("Int(%q) = %d %v, want %d", c, v, ok, want)
		}
	}
	for _, c := range []string{``, `1.0`, `1e3`, `9223372036854775808`, `-9223372036854775809`,
		`99999999999999999999`, `01`, `"1"`, `-`, ` 1`, `1 `} {
		if v, ok := Int([]byte(c)); ok {
			t.Errorf("Int(%q) = %d, want refusal", c, v)
		}
	}
}

func FuzzInt(f *testing.F) {
	f.Add([]byte(`9223372036854775807`))
	f.Add([]byte(`-12`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := Int(b)
		var want int64
		err := json.Unmarshal(b, &want)
		if ok && (err != nil || got != want) {
			t.Fatalf("Int(%q) = %d, encoding/json %d %v", b, got, want, err)
		}
		if !ok && err == nil && len(bytes.TrimSpace(b)) == len(b) && !bytes.ContainsAny(b, ".eE") && b[0] != 'n' {
			t.Fatalf("Int(%q) refused what encoding/json reads as %d", b, want)
		}
	})
}

func TestPlain8(t *testing.T) {
	for c := range 256 {
		for pos := range 8 {
			w := []byte("abcdefgh")
			w[pos] = byte(c)
			want := c >= ' ' && c < 0x80 && c != '"' && c != '\\'
			if got := plain8(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56); got != want {
				t.Fatalf("plain8 with %#x at %d = %v", c, pos, got)
			}
		}
	}
}

// nodeReply is a node's onion reply to a store in a swarm of ten: a JSON string body holding
// the store's result, escaped.
func nodeReply() []byte {
	inner := `{"hash":"QmKdweYo75tE5rUzlDwpUjYrFQkzabusn/Bq34P5sDw","hf":[19,4],"swarm":{` +
		strings.Repeat(`"1e7f810af95500dbc918684343525833a4864b4e9541b9c938ae276f318cd3a0":{"expiry":1797510592829,"hash":"QmKdweYo75tE5rUzlDwpUjYrFQkzabusn/Bq34P5sDw","signature":"saUUQAGDu/mAFPZfp7f9qtYG0h3UT/X31Bveeac5OrmwssQ6e5WoyH/N7NL1KEqK157cQLyizgCd7O6q1nrYCg=="},`, 9) +
		`"x":{}},"t":1796300992831}`
	quoted, _ := json.Marshal(inner)
	return []byte(`{"status":200,"body":` + string(quoted) + `}`)
}

func BenchmarkFieldsNodeReply(b *testing.B) {
	reply := nodeReply()
	vals := make([][]byte, len(names))
	b.SetBytes(int64(len(reply)))
	for b.Loop() {
		if !Fields(reply, names, vals) {
			b.Fatal("refused")
		}
		body, ok := Text(vals[2])
		if !ok || !Valid(body) {
			b.Fatal("body")
		}
	}
}

// BenchmarkJSONNodeReply is BenchmarkFieldsNodeReply's work done by encoding/json.
func BenchmarkJSONNodeReply(b *testing.B) {
	reply := nodeReply()
	b.SetBytes(int64(len(reply)))
	for b.Loop() {
		var v struct {
			Status int    `json:"status"`
			Body   string `json:"body"`
		}
		if json.Unmarshal(reply, &v) != nil || !json.Valid([]byte(v.Body)) {
			b.Fatal("refused")
		}
	}
}
