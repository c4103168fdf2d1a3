package filesd

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet/internal/v4srv"
	"github.com/sessiongo/sdk/devnet/internal/v4srv/v4srvtest"
	"github.com/sessiongo/sdk/onion"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func start(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s, err := Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func do(t *testing.T, hc *http.Client, method, url string, hdr map[string]string, body []byte) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	st, _, b := v4srvtest.RoundTrip(t, hc, req)
	return st, b
}

type uploadReply struct {
	ID      string  `json:"id"`
	Expires float64 `json:"expires"`
}

func TestContentID(t *testing.T) {
	// The reference vector (sogs.json fileserver_content_id), also run by TestVectors.
	if got := ContentID([]byte("hello")); got != "tKO2VVg1JPHwgZuvqK_7bDHJeSr4UJ_8i13ETlwAn0jB" {
		t.Fatalf("ContentID(hello) = %s", got)
	}
	if n := len(ContentID(nil)); n != ContentIDLength {
		t.Fatalf("length %d", n)
	}
}

func TestUploadDownloadInfoExtendExpiry(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := start(t, WithClock(clk.now), WithMaxFileSize(1000), WithContentIDs())
	hc := &http.Client{}
	data := []byte("attachment bytes")

	st, body := do(t, hc, "POST", s.URL()+"/file", map[string]string{HeaderTTL: "3600"}, data)
	if st != 200 {
		t.Fatalf("upload: %d %s", st, body)
	}
	var up uploadReply
	if err := json.Unmarshal(body, &up); err != nil {
		t.Fatal(err)
	}
	if up.ID != ContentID(data) || up.Expires != float64(clk.now().Unix()+3600) {
		t.Fatalf("upload reply %+v", up)
	}

	st, body = do(t, hc, "GET", s.FileURL(up.ID), nil, nil)
	if st != 200 || !bytes.Equal(body, data) {
		t.Fatalf("download: %d %q", st, body)
	}

	st, body = do(t, hc, "GET", s.URL()+"/file/"+up.ID+"/info", nil, nil)
	var info struct {
		Size     int     `json:"size"`
		Uploaded float64 `json:"uploaded"`
		Expires  float64 `json:"expires"`
	}
	if st != 200 || json.Unmarshal(body, &info) != nil || info.Size != len(data) || info.Uploaded != float64(clk.now().Unix()) {
		t.Fatalf("info: %d %s", st, body)
	}

	// Extend with the default TTL (3 weeks) from now.
	clk.add(30 * time.Minute)
	st, body = do(t, hc, "POST", s.URL()+"/file/"+up.ID+"/extend", nil, nil)
	if st != 200 || json.Unmarshal(body, &info) != nil || info.Expires != float64(clk.now().Add(DefaultTTL).Unix()) || info.Size != len(data) {
		t.Fatalf("extend: %d %s", st, body)
	}
	// A body on extend is refused; unknown ids are 404.
	if st, _ := do(t, hc, "POST", s.URL()+"/file/"+up.ID+"/extend", nil, []byte("x")); st != 400 {
		t.Fatalf("extend with body: %d", st)
	}
	if st, body := do(t, hc, "POST", s.URL()+"/file/"+ContentID([]byte("nope"))+"/extend", nil, nil); st != 404 || string(body) != `{"status_code":404}` {
		t.Fatalf("extend unknown: %d %s", st, body)
	}

	// Uploading the same content again refreshes (never shortens) its expiry and keeps the id.
	st, body = do(t, hc, "POST", s.URL()+"/file", map[string]string{HeaderTTL: "60"}, data)
	if st != 200 || json.Unmarshal(body, &up) != nil || up.ID != ContentID(data) || up.Expires != info.Expires {
		t.Fatalf("re-upload: %d %s", st, body)
	}

	// Expiry on the server clock.
	clk.add(DefaultTTL)
	if st, body := do(t, hc, "GET", s.FileURL(up.ID), nil, nil); st != 404 || string(body) != `{"status_code":404}` {
		t.Fatalf("expired download: %d %s", st, body)
	}
	if s.Len() != 0 {
		t.Fatalf("Len after expiry = %d", s.Len())
	}
}

func TestUploadLimitsAndBadInput(t *testing.T) {
	s := start(t, WithMaxFileSize(100))
	hc := &http.Client{}
	if st, body := do(t, hc, "POST", s.URL()+"/file", nil, make([]byte, 101)); st != 413 || string(body) != `{"status_code":413}` {
		t.Fatalf("too big: %d %s", st, body)
	}
	// Far beyond the limit the listener itself refuses the body with 413 too.
	if st, _ := do(t, hc, "POST", s.URL()+"/file", nil, make([]byte, 2<<20)); st != 413 {
		t.Fatalf("way too big: %d", st)
	}
	if st, _ := do(t, hc, "POST", s.URL()+"/file", nil, make([]byte, 100)); st != 200 {
		t.Fatalf("at the limit: %d", st)
	}
	if st, _ := do(t, hc, "POST", s.URL()+"/file", nil, []byte{}); st != 400 {
		t.Fatalf("empty: %d", st)
	}
	for _, ttl := range []string{"0", "-5", "abc", "1.5"} {
		if st, _ := do(t, hc, "POST", s.URL()+"/file", map[string]string{HeaderTTL: ttl}, []byte("x")); st != 400 {
			t.Fatalf("ttl %q: %d", ttl, st)
		}
	}
	for _, p := range []string{"/", "/file", "/file/", "/files/1", "/file/x/y/z"} {
		if st, _ := do(t, hc, "GET", s.URL()+p, nil, nil); st != 404 {
			t.Fatalf("GET %s: %d", p, st)
		}
	}
	// A huge TTL is clamped to the server's longest.
	st, body := do(t, hc, "POST", s.URL()+"/file", map[string]string{HeaderTTL: "99999999999999999"}, []byte("y"))
	var up uploadReply
	if st != 200 || json.Unmarshal(body, &up) != nil || up.Expires > float64(s.Now().Add(DefaultTTL).Unix()+1) {
		t.Fatalf("huge ttl: %d %s", st, body)
	}
}

// Numeric IDs are the default, as on the official server (issue 12 item 6).
func TestNumericIDs(t *testing.T) {
	s := start(t)
	hc := &http.Client{}
	st, body := do(t, hc, "POST", s.URL()+"/file", nil, []byte("old style"))
	var up uploadReply
	if st != 200 || json.Unmarshal(body, &up) != nil || up.ID == "" || strings.Trim(up.ID, "0123456789") != "" {
		t.Fatalf("upload: %d %s", st, body)
	}
	if st, b := do(t, hc, "GET", s.FileURL(up.ID), nil, nil); st != 200 || string(b) != "old style" {
		t.Fatalf("download: %d", st)
	}
	// Only content ids can be extended.
	if st, _ := do(t, hc, "POST", s.URL()+"/file/"+up.ID+"/extend", nil, nil); st != 404 {
		t.Fatalf("extend numeric: %d", st)
	}
	// The same bytes again: another number (no deduplication in this mode).
	_, body = do(t, hc, "POST", s.URL()+"/file", nil, []byte("old style"))
	var again uploadReply
	if json.Unmarshal(body, &again) != nil || again.ID == up.ID || strings.Trim(again.ID, "0123456789") != "" {
		t.Fatalf("second upload: %s", body)
	}
	// WithNumericIDs says the same as the default; WithContentIDs switches.
	for _, tc := range []struct {
		opt     Option
		numeric bool
	}{{WithNumericIDs(), true}, {WithContentIDs(), false}} {
		s := start(t, tc.opt)
		_, body := do(t, hc, "POST", s.URL()+"/file", nil, []byte("mode"))
		var up uploadReply
		if json.Unmarshal(body, &up) != nil || (strings.Trim(up.ID, "0123456789") == "") != tc.numeric || (!tc.numeric && up.ID != ContentID([]byte("mode"))) {
			t.Fatalf("numeric %v: %s", tc.numeric, body)
		}
	}
}

func TestSeedingAPI(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := start(t, WithClock(clk.now))
	id, err := s.Put([]byte("seeded"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := s.File(id); !ok || string(b) != "seeded" {
		t.Fatal("File")
	}
	if info, ok := s.Info(id); !ok || info.Size != 6 || !info.Expires.Equal(clk.now().Add(time.Minute)) {
		t.Fatalf("Info %+v", info)
	}
	if _, err := s.Put(nil, 0); err == nil {
		t.Fatal("Put of an empty file")
	}
	clk.add(time.Minute)
	if _, ok := s.File(id); ok {
		t.Fatal("file outlived its TTL")
	}
	_ = s.Close()
	if _, err := s.Put([]byte("late"), 0); err == nil {
		t.Fatal("Put after Close")
	}
}

// The file server through real onion paths of a devnet: HTTPS with a devnet certificate, both
// enc types, a 1 MB file up and down, and an error status passing through.
func TestOnionRoundTrip(t *testing.T) {
	nw := v4srvtest.Network(t, 8)
	s := start(t, WithNetwork(nw), WithHost("filev2.getsession.org"), WithContentIDs())
	if !strings.HasPrefix(s.URL(), "https://filev2.getsession.org:") {
		t.Fatalf("URL %s", s.URL())
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	for _, enc := range []onion.EncType{onion.XChaCha20, onion.AESGCM} {
		t.Run(enc.String(), func(t *testing.T) {
			tr := v4srvtest.Transport(t, nw, enc)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			resp, err := tr.Do(ctx, s.OnionServer(), &onion.ServerRequest{Method: "POST", Endpoint: "/file",
				Headers: map[string]string{"Content-Type": "application/octet-stream", HeaderTTL: "600"}, Body: data})
			if err != nil {
				t.Fatal(err)
			}
			var up uploadReply
			if resp.Status != 200 || json.Unmarshal(resp.Body, &up) != nil || up.ID != ContentID(data) {
				t.Fatalf("upload: %d %s", resp.Status, resp.Body)
			}
			if resp.Headers["content-type"] != "application/json" || resp.Headers["content-length"] != "" {
				t.Fatalf("reply headers %v", resp.Headers)
			}
			resp, err = tr.Do(ctx, s.OnionServer(), &onion.ServerRequest{Endpoint: "/file/" + up.ID})
			if err != nil || resp.Status != 200 || !bytes.Equal(resp.Body, data) {
				t.Fatalf("download: %v", err)
			}
			resp, err = tr.Do(ctx, s.OnionServer(), &onion.ServerRequest{Endpoint: "/file/nope"})
			if err != nil || resp.Status != 404 || string(resp.Body) != `{"status_code":404}` {
				t.Fatalf("missing file: %v %+v", err, resp)
			}
		})
	}
}

// Onion bodies that are not for us, or that open but hold no v4 request.
func TestOnionBadInput(t *testing.T) {
	s, err := newServer()
	if err != nil {
		t.Fatal(err)
	}
	h := v4srv.New(s.Config(s.maxBody(), nil), s.handle)
	if st, _ := h.HandleOnion(context.Background(), []byte("garbage")); st != 400 {
		t.Fatalf("garbage: %d", st)
	}
	// A layer encrypted to the server holding something that is not a v4 request: an encrypted
	// 400 "Invalid v4 onion request".
	eph, _ := onion.GenerateKeyPair(nil)
	ch, err := onion.NewClientChannel(onion.XChaCha20, eph, s.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := ch.Seal(nil, []byte("not bencode"))
	body := frame(sealed, `{"ephemeral_key":"`+hex.EncodeToString(eph.Public[:])+`","enc_type":"xchacha20","host":"x","target":"/oxen/v4/lsrpc"}`)
	st, reply := h.HandleOnion(context.Background(), body)
	if st != 200 {
		t.Fatalf("status %d", st)
	}
	plain, err := ch.Open(reply)
	if err != nil {
		t.Fatal(err)
	}
	r, err := onion.ParseV4Response(plain)
	if err != nil || r.Status != 400 || string(r.Body) != "Invalid v4 onion request" {
		t.Fatalf("reply %v %+v", err, r)
	}
}

func frame(blob []byte, js string) []byte {
	out := []byte{byte(len(blob)), byte(len(blob) >> 8), byte(len(blob) >> 16), byte(len(blob) >> 24)}
	return append(append(out, blob...), js...)
}

func FuzzHandle(f *testing.F) {
	f.Add("POST", "/file", "", []byte("data"))
	f.Add("GET", "/file/abc", "", []byte(nil))
	f.Add("POST", "/file/"+ContentID([]byte("data"))+"/extend", "5", []byte(nil))
	f.Add("GET", "/file/"+ContentID([]byte("data"))+"/info", "", []byte(nil))
	f.Add("GET", "/session_version?platform=desktop", "", []byte(nil))
	f.Fuzz(func(t *testing.T, method, endpoint, ttl string, body []byte) {
		s, err := newServer(WithMaxFileSize(64))
		if err != nil {
			t.Fatal(err)
		}
		h := v4srv.New(s.Config(s.maxBody(), nil), s.handle)
		req, err := v4srv.NewRequest(method, endpoint, http.Header{HeaderTTL: {ttl}, HeaderFSPubkey: {ttl}, HeaderFSTimestamp: {ttl}, HeaderFSSignature: {ttl}}, body)
		if err != nil {
			return
		}
		for i := 0; i < 2; i++ {
			if r := h.Dispatch(context.Background(), req); r.Status == 500 {
				t.Fatalf("500 for %s %q", method, endpoint)
			}
		}
		_, _ = h.HandleOnion(context.Background(), body)
	})
}
