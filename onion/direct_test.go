package onion

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
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
