package onion

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDirectServerTransport(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Seen", r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Content-Type")+" "+r.Header.Get("X-SOGS-Pubkey"))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(b)
	}))
	defer hs.Close()
	srv, err := NewServer(hs.URL, [32]byte{})
	if err != nil {
		t.Fatal(err)
	}
	var d DirectServerTransport
	r, err := d.Do(context.Background(), srv, &ServerRequest{Method: "POST", Endpoint: "/room/x?y=1", Headers: map[string]string{"X-SOGS-Pubkey": "00ab"}, Body: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 201 || string(r.Body) != "{}" || r.Headers["x-seen"] != "POST /room/x?y=1 application/json 00ab" {
		t.Fatalf("%+v", r)
	}
	if _, err := d.Do(context.Background(), srv, &ServerRequest{Endpoint: "x"}); !errors.Is(err, ErrURLNotAllowed) {
		t.Fatal(err)
	}
	small := DirectServerTransport{MaxResponseSize: 1}
	if _, err := small.Do(context.Background(), srv, &ServerRequest{Method: "POST", Endpoint: "/", Body: []byte("abc")}); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
	hs.Close()
	if _, err := d.Do(context.Background(), srv, &ServerRequest{Endpoint: "/"}); err == nil {
		t.Fatal("closed server answered")
	}
}

// connectProxy is a minimal HTTP CONNECT proxy that counts tunnels.
type connectProxy struct{ tunnels atomic.Int64 }

func (p *connectProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	up, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	p.tunnels.Add(1)
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		up.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, rw.Reader); done <- struct{}{} }()
	go func() { _, _ = io.Copy(conn, up); done <- struct{}{} }()
	<-done
	conn.Close()
	up.Close()
	<-done
}

// The guard is reached through the configured proxy.
func TestTransportProxy(t *testing.T) {
	proxy := &connectProxy{}
	ps := httptest.NewServer(proxy)
	defer ps.Close()
	pu, _ := url.Parse(ps.URL)
	tn := startTestNet(t, 8, Config{Proxy: http.ProxyURL(pu)})
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0])); err != nil {
		t.Fatal(err)
	}
	if proxy.tunnels.Load() == 0 {
		t.Fatal("no connection went through the proxy")
	}
	tn.tr.Close()
	ps.CloseClientConnections()
}

// socks5Proxy is a minimal SOCKS5 server (no authentication, CONNECT only) counting tunnels.
type socks5Proxy struct {
	ln      net.Listener
	tunnels atomic.Int64
	wg      sync.WaitGroup
}

func startSOCKS5(t *testing.T) *socks5Proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &socks5Proxy{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() { defer p.wg.Done(); p.serve(c) }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *socks5Proxy) serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 262)
	// Greeting: VER NMETHODS METHODS…; answer "no authentication".
	if _, err := io.ReadFull(c, buf[:2]); err != nil || buf[0] != 5 {
		return
	}
	if _, err := io.ReadFull(c, buf[:buf[1]]); err != nil {
		return
	}
	if _, err := c.Write([]byte{5, 0}); err != nil {
		return
	}
	// Request: VER CMD RSV ATYP ADDR PORT.
	if _, err := io.ReadFull(c, buf[:4]); err != nil || buf[1] != 1 {
		return
	}
	var host string
	switch buf[3] {
	case 1:
		if _, err := io.ReadFull(c, buf[:4]); err != nil {
			return
		}
		host = net.IP(buf[:4]).String()
	case 3:
		if _, err := io.ReadFull(c, buf[:1]); err != nil {
			return
		}
		n := int(buf[0])
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return
		}
		host = string(buf[:n])
	default:
		return
	}
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		return
	}
	port := int(buf[0])<<8 | int(buf[1])
	up, err := net.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		_, _ = c.Write([]byte{5, 5, 0, 1, 0, 0, 0, 0, 0, 0})
		return
	}
	defer up.Close()
	p.tunnels.Add(1)
	if _, err := c.Write([]byte{5, 0, 0, 1, 0, 0, 0, 0, 0, 0}); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, c); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

// The guard is reached through a SOCKS5 proxy (socks5h: the proxy resolves names).
func TestTransportSOCKS5(t *testing.T) {
	proxy := startSOCKS5(t)
	pu, _ := url.Parse("socks5h://" + proxy.ln.Addr().String())
	tn := startTestNet(t, 8, Config{Proxy: http.ProxyURL(pu)})
	if err := sendInfo(t, tn.tr, tn.swarmNode(t, tn.nw.Nodes()[0])); err != nil {
		t.Fatal(err)
	}
	if proxy.tunnels.Load() == 0 {
		t.Fatal("no connection went through the SOCKS5 proxy")
	}
	tn.tr.Close()
}

// keepAliveDropper is a loopback HTTP/1.1 server that behaves like pysogs's uWSGI front: it
// answers without "Connection: close" and then does not honour the kept-alive connection. A
// request that arrives on a connection that has already carried one is, depending on mode,
// dropped unread by the application (reset), or processed and then dropped before the answer.
type keepAliveDropper struct {
	srv       *httptest.Server
	mode      string // "drop" (the app never sees it) or "process-then-drop"
	mu        sync.Mutex
	processed map[string]int // method+path → times the application ran it
	nonces    map[string]bool
	conns     atomic.Int64
}

type connKey struct{}

func newKeepAliveDropper(t *testing.T, mode string) *keepAliveDropper {
	k := &keepAliveDropper{mode: mode, processed: map[string]int{}, nonces: map[string]bool{}}
	k.srv = httptest.NewUnstartedServer(http.HandlerFunc(k.serve))
	k.srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		k.conns.Add(1)
		return context.WithValue(ctx, connKey{}, new(atomic.Int64))
	}
	k.srv.Start()
	t.Cleanup(k.srv.Close)
	return k
}

func (k *keepAliveDropper) serve(w http.ResponseWriter, r *http.Request) {
	n := r.Context().Value(connKey{}).(*atomic.Int64).Add(1)
	body, _ := io.ReadAll(r.Body)
	reused := n > 1
	if reused && k.mode == "drop" {
		k.reset(w)
		return
	}
	k.mu.Lock()
	key := r.Method + " " + r.URL.Path
	if nonce := r.Header.Get("X-SOGS-Nonce"); nonce != "" {
		if k.nonces[nonce] {
			k.mu.Unlock()
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusTooEarly)
			_, _ = io.WriteString(w, "Invalid authentication: X-SOGS-Nonce cannot be reused")
			return
		}
		k.nonces[nonce] = true
	}
	k.processed[key]++
	k.mu.Unlock()
	if reused && k.mode == "process-then-drop" {
		k.reset(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append([]byte(`{"echo":`), append(strconv.AppendQuote(nil, string(body)), '}')...))
}

// reset closes the connection without an answer, with a TCP reset as uWSGI's close of a
// connection with unread data gives.
func (k *keepAliveDropper) reset(w http.ResponseWriter) {
	c, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}

func (k *keepAliveDropper) count(method, path string) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.processed[method+" "+path]
}

// Issue 12 item 11: a server that closes kept-alive connections without saying so. Requests
// that are safe to send twice (idempotent methods, and requests with a SOGS nonce, which the
// server refuses to run twice) are retried once on a new connection; others never ride a
// kept-alive connection in the first place.
func TestDirectKeepAliveDropped(t *testing.T) {
	k := newKeepAliveDropper(t, "drop")
	srv, err := NewServer(k.srv.URL, [32]byte{})
	if err != nil {
		t.Fatal(err)
	}
	d := &DirectServerTransport{}
	ctx := context.Background()
	signed := func(nonce string) map[string]string {
		return map[string]string{"X-SOGS-Nonce": nonce, "Content-Type": "application/json"}
	}
	steps := []struct {
		req  *ServerRequest
		path string
	}{
		{&ServerRequest{Method: "GET", Endpoint: "/capabilities"}, "/capabilities"},
		{&ServerRequest{Method: "POST", Endpoint: "/room/lobby/message", Headers: signed("n1"), Body: []byte(`{"a":1}`)}, "/room/lobby/message"},
		{&ServerRequest{Method: "PUT", Endpoint: "/room/lobby/message/1", Headers: signed("n2"), Body: []byte(`{"b":2}`)}, "/room/lobby/message/1"},
		{&ServerRequest{Method: "GET", Endpoint: "/room/lobby"}, "/room/lobby"},
		{&ServerRequest{Method: "DELETE", Endpoint: "/room/lobby/message/1", Headers: signed("n3")}, "/room/lobby/message/1"},
		// An upload without a nonce cannot be sent twice safely: it goes on a new connection.
		{&ServerRequest{Method: "POST", Endpoint: "/file", Body: []byte("blob")}, "/file"},
		{&ServerRequest{Method: "POST", Endpoint: "/file", Body: []byte("blob2")}, "/file"},
	}
	for i, st := range steps {
		before := k.count(st.req.Method, st.path)
		r, err := d.Do(ctx, srv, st.req)
		if err != nil || r.Status != 200 {
			t.Fatalf("step %d %s %s: %+v %v", i, st.req.Method, st.req.Endpoint, r, err)
		}
		if got := k.count(st.req.Method, st.path) - before; got != 1 {
			t.Fatalf("step %d: the server ran %s %s %d times", i, st.req.Method, st.path, got)
		}
	}

	// Keep-alive off: every request on its own connection, nothing to retry.
	k2 := newKeepAliveDropper(t, "drop")
	srv2, _ := NewServer(k2.srv.URL, [32]byte{})
	off := &DirectServerTransport{DisableKeepAlives: true}
	for i := 0; i < 3; i++ {
		if r, err := off.Do(ctx, srv2, &ServerRequest{Method: "POST", Endpoint: "/x", Body: []byte("b")}); err != nil || r.Status != 200 {
			t.Fatalf("keep-alive off: %+v %v", r, err)
		}
	}
	if n := k2.conns.Load(); n != 3 {
		t.Fatalf("keep-alive off used %d connections for 3 requests", n)
	}

	// A caller's own client is used (here one that refuses to dial).
	var dialed atomic.Int64
	own := &DirectServerTransport{Client: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed.Add(1)
			return nil, errors.New("no dialing here")
		},
	}}}
	if _, err := own.Do(ctx, srv, &ServerRequest{Method: "POST", Endpoint: "/file", Body: []byte("x")}); err == nil || dialed.Load() == 0 {
		t.Fatalf("own client not used: %v", err)
	}
}

// A signed request that the server ran before dropping the connection: the replay is refused
// (its nonce is spent), and the caller learns that the outcome is unknown rather than a nonce
// error. An unsigned idempotent request is simply replayed.
func TestDirectKeepAliveProcessedThenDropped(t *testing.T) {
	k := newKeepAliveDropper(t, "process-then-drop")
	srv, _ := NewServer(k.srv.URL, [32]byte{})
	d := &DirectServerTransport{}
	ctx := context.Background()
	if _, err := d.Do(ctx, srv, &ServerRequest{Method: "GET", Endpoint: "/first"}); err != nil {
		t.Fatal(err)
	}
	_, err := d.Do(ctx, srv, &ServerRequest{Method: "POST", Endpoint: "/room/lobby/message",
		Headers: map[string]string{"X-SOGS-Nonce": "n1"}, Body: []byte(`{}`)})
	if !errors.Is(err, ErrRequestOutcomeUnknown) || k.count("POST", "/room/lobby/message") != 1 {
		t.Fatalf("signed post: %v (ran %d times)", err, k.count("POST", "/room/lobby/message"))
	}
	// GET without a nonce: replayed, answered.
	if _, err := d.Do(ctx, srv, &ServerRequest{Method: "GET", Endpoint: "/warm"}); err != nil {
		t.Fatal(err)
	}
	r, err := d.Do(ctx, srv, &ServerRequest{Method: "GET", Endpoint: "/again"})
	if err != nil || r.Status != 200 || k.count("GET", "/again") != 2 {
		t.Fatalf("idempotent get: %+v %v", r, err)
	}
}

// A server that answers before it has read the whole request (a 413 for an upload that is too
// large) makes the client's write finish, and the trace's WroteRequest fire, after Do has its
// answer: what the trace records must not race with Do (go test -race).
func TestDirectEarlyAnswerNoRace(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		_, _ = io.WriteString(w, "too large")
	}))
	defer hs.Close()
	srv, err := NewServer(hs.URL, [32]byte{})
	if err != nil {
		t.Fatal(err)
	}
	d := &DirectServerTransport{}
	big := make([]byte, 8<<20)
	for i := 0; i < 5; i++ {
		r, err := d.Do(context.Background(), srv, &ServerRequest{Method: "POST", Endpoint: "/file", Body: big})
		if err != nil {
			continue // the server may reset the connection before its answer is read
		}
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d", r.Status)
		}
	}
	// Let the writes still in flight end (and fire their trace callbacks) before the test does.
	keep, fresh := d.clients()
	keep.CloseIdleConnections()
	fresh.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond)
}
