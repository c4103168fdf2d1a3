package sogsd

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/internal/v4srv/v4srvtest"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Unix(1_750_000_000, 0)} }

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func startServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// startRoom starts a server on a fake clock, with opts, holding the room "r".
func startRoom(t testing.TB, opts ...Option) (*Server, *clock) {
	t.Helper()
	clk := newClock()
	s := startServer(t, append([]Option{WithClock(clk.now)}, opts...)...)
	mustOK(t, s.CreateRoom(RoomConfig{Token: "r"}))
	return s, clk
}

// tclient sends hand-built, hand-signed requests over HTTP.
type tclient struct {
	t      testing.TB
	s      *Server
	hc     *http.Client
	keys   *crypto.Keys
	signer *blinding.RequestSigner // nil: anonymous
	id     crypto.AccountID
	// tweak, when set, may change the headers after signing.
	tweak func(h *blinding.Headers)
}

func newUser(t testing.TB, s *Server, clk *clock) *tclient {
	t.Helper()
	keys, err := crypto.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	sg, err := s.Signer(keys)
	if err != nil {
		t.Fatal(err)
	}
	if clk != nil {
		sg.Now = clk.now
	}
	return &tclient{t: t, s: s, hc: &http.Client{}, keys: keys, signer: sg, id: sg.Pubkey()}
}

// newModerator is a new user who moderates the room "r" (an admin when admin).
func newModerator(t testing.TB, s *Server, clk *clock, admin bool) *tclient {
	t.Helper()
	u := newUser(t, s, clk)
	mustOK(t, s.AddModerator("r", u.id, admin, false))
	return u
}

func anon(t testing.TB, s *Server) *tclient { return &tclient{t: t, s: s, hc: &http.Client{}} }

// do sends method path (decoded path plus raw query) with body: nil, []byte (octet-stream) or
// a value sent as JSON. It returns the status and body.
func (c *tclient) do(method, path string, body any, hdr ...string) (int, []byte) {
	c.t.Helper()
	var raw []byte
	ct := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		raw, ct = b, "application/octet-stream"
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			c.t.Fatal(err)
		}
		ct = "application/json"
	}
	p, q, _ := strings.Cut(path, "?")
	u := &url.URL{Path: p, RawQuery: q}
	req, err := http.NewRequest(method, c.s.URL()+u.String(), bytes.NewReader(raw))
	if err != nil {
		c.t.Fatal(err)
	}
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if c.signer != nil {
		h, err := c.signer.Sign(method, path, raw)
		if err != nil {
			c.t.Fatal(err)
		}
		if c.tweak != nil {
			c.tweak(&h)
		}
		h.Set(req.Header)
	}
	st, _, out := v4srvtest.RoundTrip(c.t, c.hc, req)
	return st, out
}

// ok sends and requires the status, decoding a JSON reply into v (when not nil).
func (c *tclient) ok(want int, method, path string, body any, v any) []byte {
	c.t.Helper()
	st, out := c.do(method, path, body)
	if st != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, st, want, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
	return out
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// postBodyFor builds the JSON of a post signed by c.
func (c *tclient) postBody(data []byte) map[string]any {
	kp, err := blinding.Blind15KeyPair(c.keys, c.s.PublicKey())
	if err != nil {
		c.t.Fatal(err)
	}
	sig := kp.Sign(data)
	return map[string]any{"data": b64(data), "signature": b64(sig[:])}
}

type msgRow struct {
	ID        int64                      `json:"id"`
	SessionID string                     `json:"session_id"`
	Seqno     int64                      `json:"seqno"`
	Data      *string                    `json:"data"`
	Signature string                     `json:"signature"`
	Deleted   bool                       `json:"deleted"`
	Edited    float64                    `json:"edited"`
	Posted    float64                    `json:"posted"`
	Reactions map[string]json.RawMessage `json:"reactions"`
	Whisper   bool                       `json:"whisper"`
}

func ed25519Verify(pub [32]byte, msg, sig []byte) bool { return ed25519.Verify(pub[:], msg, sig) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
