package onion

import (
	"bytes"
	"testing"
)

// ParseNodeReply's fast way (a string body, read with jsonscan) gives what the general way
// (encoding/json) gives.
func FuzzNodeReplyFastPath(f *testing.F) {
	for _, s := range []string{
		`{"status":200,"body":"{\"t\":1,\"swarm\":{}}"}`,
		`{"status_code":421,"status":200,"body":"x\u00e9\ud83d\ude00\/"}`,
		`{"status":200,"body":null}`,
		`{"status":200}`,
		`{"body":"x"}`,
		`{"status":200,"body":{"a":1}}`,
		`{"status":200,"body":"a","body":"b"}`,
		`{"status":200,"body":"\xff"}`,
		`{"status":200,"body":"\u00e9\"\\\ud83d\ude00\ud83d"}`,
		`{"Status":200,"body":"x"}`,
		`{"status":2.0e2,"body":"x"}`,
		` {"status" : 200 , "hf":[1,{"a":"}"}], "body":"x"} `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := ParseNodeReply(b)
		want, werr := parseNodeReplyGeneral(b)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%q: error %v, general way %v", b, err, werr)
		}
		if err == nil && (got.Status != want.Status || !bytes.Equal(got.Body, want.Body) || (got.Body == nil) != (want.Body == nil)) {
			t.Fatalf("%q: %d %q, general way %d %q", b, got.Status, got.Body, want.Status, want.Body)
		}
		// The in-place way (DecodeNodeResponse's) gives the same.
		if got, ok := parseNodeReplyFast(bytes.Clone(b), true); ok && (werr != nil || got.Status != want.Status ||
			!bytes.Equal(got.Body, want.Body) || (got.Body == nil) != (want.Body == nil)) {
			t.Fatalf("%q in place: %d %q, general way %d %q (%v)", b, got.Status, got.Body, want.Status, want.Body, werr)
		}
	})
}

// The usual replies take the fast way, in place or not.
func TestNodeReplyFastPathTaken(t *testing.T) {
	for _, s := range []string{
		`{"status":200,"body":"{\"t\":1,\"swarm\":{}}"}`,
		`{"body":"{\"hf\":[19,4]}","status":421}`,
		`{"status":200,"body":"plain"}`,
	} {
		for _, inPlace := range []bool{false, true} {
			if _, ok := parseNodeReplyFast([]byte(s), inPlace); !ok {
				t.Errorf("%s (in place %v): fast way not taken", s, inPlace)
			}
		}
	}
}
