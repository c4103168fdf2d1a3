package v4srv

import (
	"context"
	"net/http"
	"testing"

	"github.com/sessiongo/sdk/onion"
)

func TestNewRequest(t *testing.T) {
	for _, c := range []struct{ endpoint, path, query, signed string }{
		{"/room/r/messages/recent?limit=25", "/room/r/messages/recent", "limit=25", "/room/r/messages/recent?limit=25"},
		{"/room/r/reaction/5/%F0%9F%8D%86", "/room/r/reaction/5/🍆", "", "/room/r/reaction/5/🍆"},
		{"/room/r/reaction/5/🍆", "/room/r/reaction/5/🍆", "", "/room/r/reaction/5/🍆"},
		{"/capabilities?", "/capabilities", "", "/capabilities"},
		{"/a?b=%20c", "/a", "b=%20c", "/a?b=%20c"},
	} {
		r, err := NewRequest("get", c.endpoint, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Method != "GET" || r.Path != c.path || r.RawQuery != c.query || r.SignedPath() != c.signed {
			t.Fatalf("%s: %+v signed %q", c.endpoint, r, r.SignedPath())
		}
	}
	for _, bad := range []string{"", "room", "/bad%zz"} {
		if _, err := NewRequest("GET", bad, nil, nil); err == nil {
			t.Fatalf("NewRequest(%q) succeeded", bad)
		}
	}
}

func TestPanicGuard(t *testing.T) {
	s := New(Config{}, func(context.Context, *Request) *Response { panic("boom") })
	r, _ := NewRequest("GET", "/", nil, nil)
	if resp := s.Dispatch(context.Background(), r); resp.Status != http.StatusInternalServerError {
		t.Fatalf("status %d", resp.Status)
	}
	s = New(Config{}, func(context.Context, *Request) *Response { return nil })
	if resp := s.Dispatch(context.Background(), r); resp.Status != http.StatusInternalServerError {
		t.Fatalf("status %d", resp.Status)
	}
}

func TestLowerHeaders(t *testing.T) {
	h := LowerHeaders(http.Header{"Content-Type": {"a", "b"}, "Content-Length": {"3"}, "X-Empty": nil})
	if len(h) != 1 || h["content-type"] != "a" {
		t.Fatalf("%v", h)
	}
}

func FuzzHandleOnion(f *testing.F) {
	key, _ := onion.NewKeyPair([32]byte{1})
	s := New(Config{Key: key}, func(_ context.Context, r *Request) *Response { return Bytes(200, "text/plain", r.Body) })
	eph, _ := onion.NewKeyPair([32]byte{2})
	ch, _ := onion.NewClientChannel(onion.XChaCha20, eph, key.Public)
	payload, _ := onion.EncodeV4Request(&onion.ServerRequest{Method: "POST", Endpoint: "/x", Body: []byte("hi")})
	sealed, _ := ch.SealWithNonce(make([]byte, 24), payload)
	js := `{"ephemeral_key":"` + hexOf(eph.Public[:]) + `","enc_type":"xchacha20"}`
	n := len(sealed)
	f.Add(append(append([]byte{byte(n), byte(n >> 8), 0, 0}, sealed...), js...))
	f.Add([]byte("\x00\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, body []byte) {
		st, _ := s.HandleOnion(context.Background(), body)
		if st != 200 && st != 400 {
			t.Fatalf("status %d", st)
		}
	})
}

func hexOf(b []byte) string {
	const d = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, d[c>>4], d[c&15])
	}
	return string(out)
}
