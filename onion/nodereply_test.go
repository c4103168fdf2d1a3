package onion

import (
	"bytes"
	"testing"
)

// ParseNodeReply's fast way (a string body) gives what the general way gives.
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
	})
}
