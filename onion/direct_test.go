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
