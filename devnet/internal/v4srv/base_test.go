package v4srv

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

type ownSettings struct{ limit int }

func TestBaseOptionsAndAccessors(t *testing.T) {
	clock := func() time.Time { return time.Unix(1_700_000_000, 0) }
	key := [32]byte{1, 2, 3}
	b, own, err := NewBase("test", ownSettings{limit: 5}, []Option{WithClock(clock), WithKey(key), WithHost("files.example"), WithDroppedKeepAlive(),
		WithLogger(slog.New(slog.DiscardHandler)), func(s *Settings) { Own[ownSettings](s).limit++ }})
	if err != nil {
		t.Fatal(err)
	}
	if own.limit != 6 || Own[ownSettings](b.Settings()) != own || !b.Now().Equal(clock()) || b.Logger() == nil {
		t.Fatalf("settings %+v", b.Settings())
	}
	again, _, _ := NewBase("test", ownSettings{}, []Option{WithKey(key)})
	if b.PublicKey() != again.PublicKey() || b.KeyPair().Public != b.PublicKey() {
		t.Fatal("WithKey does not fix the key")
	}
	random, _, _ := NewBase("test", ownSettings{}, nil)
	if random.PublicKey() == b.PublicKey() || random.Now().IsZero() {
		t.Fatal("defaults")
	}
	if b.URL() != "" || b.Addr() != "" || b.Close() != nil {
		t.Fatal("not listening yet")
	}
	c := b.Config(100, nil)
	if c.Name != "test" || c.Host != "files.example" || !c.DropKeptAlive || c.MaxBody != 100 || c.Aliases != nil {
		t.Fatalf("config %+v", c)
	}
	hello := func(context.Context, *Request) *Response { return Text(200, "hello") }
	b.Serve(100, hello)
	if _, err := Start(context.Background(), b, nil); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.URL(), "http://files.example:") || !strings.HasPrefix(b.Addr(), "127.0.0.1:") ||
		b.OnionServer().URL.Host != "files.example" || b.OnionServer().X25519 != b.PublicKey() {
		t.Fatalf("url %s addr %s", b.URL(), b.Addr())
	}
	resp, err := http.Get("http://" + b.Addr() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "hello" {
		t.Fatalf("%q", body)
	}
	if err := b.Close(); err != nil || b.Close() != nil {
		t.Fatal("Close twice")
	}

	// The certificate of WithTLSCertificate (or of the network) makes it HTTPS.
	tb, _, _ := NewBase("tls", ownSettings{}, []Option{WithTLSCertificate(tls.Certificate{})})
	if tb.Settings().TLS == nil {
		t.Fatal("WithTLSCertificate")
	}
	var nw fakeNetwork
	nb, _, _ := NewBase("net", ownSettings{}, []Option{WithNetwork(&nw), WithHost("h.example")})
	nb.Serve(10, hello)
	if s, err := Start(context.Background(), nb, nil); err == nil || s != nil {
		nb.Close()
		t.Fatal("a network whose certificate fails was used")
	}
	// A constructor's error is passed through.
	if s, err := Start(context.Background(), nb, io.EOF); err != io.EOF || s != nil {
		t.Fatal("constructor error")
	}
}

type fakeNetwork struct{ aliases map[string]string }

func (f *fakeNetwork) IssueCertificate() (tls.Certificate, error) {
	return tls.Certificate{}, io.ErrUnexpectedEOF
}
func (f *fakeNetwork) SetHostAlias(host, addr string) { f.aliases[host] = addr }

func TestRouter(t *testing.T) {
	rt := NewRouter(func() *Response { return Text(404, "nope") })
	rt.Handle("GET /room/{token}/reaction/{id}/{emoji...}", func(r *Request, req *http.Request) *Response {
		return Text(200, req.PathValue("token")+"|"+req.PathValue("id")+"|"+req.PathValue("emoji")+"|"+r.RawQuery)
	})
	rt.Handle("POST /unpin/all", func(*Request, *http.Request) *Response { return Text(200, "all") })
	rt.Handle("POST /unpin/{id}", func(*Request, *http.Request) *Response { return Text(200, "one") })
	serve := func(method, endpoint string) *Response {
		r, err := NewRequest(method, endpoint, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		return rt.Serve(context.Background(), r)
	}
	if got := serve("GET", "/room/lobby/reaction/5/%F0%9F%91%8D?x=1"); string(got.Body) != "lobby|5|👍|x=1" {
		t.Fatalf("%d %q", got.Status, got.Body)
	}
	if got := serve("GET", "/room/lobby/reaction/5/a/b"); string(got.Body) != "lobby|5|a/b|" {
		t.Fatalf("rest of the path: %q", got.Body)
	}
	if string(serve("POST", "/unpin/all").Body) != "all" || string(serve("POST", "/unpin/7").Body) != "one" {
		t.Fatal("literal segments first")
	}
	for _, ep := range []string{"/room/lobby", "/nothing", "/room/lobby/reaction/5"} {
		if got := serve("GET", ep); got.Status != 404 || string(got.Body) != "nope" {
			t.Fatalf("%s: %d", ep, got.Status)
		}
	}
	// A wrong method is NotFound until MethodNotAllowed is set.
	if got := serve("DELETE", "/unpin/all"); got.Status != 404 {
		t.Fatalf("405 without a handler: %d", got.Status)
	}
	rt.MethodNotAllowed = func(allow string) *Response { return Text(405, allow) }
	if got := serve("DELETE", "/unpin/all"); got.Status != 405 || !strings.Contains(string(got.Body), "POST") {
		t.Fatalf("405: %d %q", got.Status, got.Body)
	}
	// The mux's redirects (an unclean path) are not followed: no route.
	if got := serve("GET", "/room//lobby/reaction/5/x"); got.Status != 404 {
		t.Fatalf("unclean path: %d", got.Status)
	}
}
