package sogsd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/devnet/internal/v4srv/v4srvtest"
	"github.com/sessiongo/sdk/onion"
)

// onionDo sends a request signed by c (or anonymous when c.signer is nil) through tr.
func onionDo(t *testing.T, tr *onion.Transport, c *tclient, method, endpoint string, body any, tweak func(*blinding.Headers)) *onion.Response {
	t.Helper()
	req := &onion.ServerRequest{Method: method, Endpoint: endpoint, Headers: map[string]string{}}
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req.Body = raw
		req.Headers["Content-Type"] = "application/json"
	}
	if c.signer != nil {
		h, err := c.signer.Sign(method, endpoint, req.Body)
		if err != nil {
			t.Fatal(err)
		}
		if tweak != nil {
			tweak(&h)
		}
		for k, v := range h.Map() {
			req.Headers[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := tr.Do(ctx, c.s.OnionServer(), req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, endpoint, err)
	}
	return resp
}

// The community server behind real 3-hop onion paths of a devnet, over HTTPS with a devnet
// certificate: signed requests with their headers in the v4 metadata, both enc types.
func TestOverOnion(t *testing.T) {
	nw := v4srvtest.Network(t, 8)
	s := startServer(t, WithNetwork(nw))
	mustOK(t, s.CreateRoom(RoomConfig{Token: "lobby"}))
	if !strings.HasPrefix(s.URL(), "https://") {
		t.Fatalf("URL %s", s.URL())
	}
	// The devnet's HTTP client trusts the server directly too.
	hc := nw.HTTPClient()
	defer hc.CloseIdleConnections()
	if resp, err := hc.Get(s.URL() + "/capabilities"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("direct HTTPS: %v", err)
	} else {
		resp.Body.Close()
	}

	for _, enc := range []onion.EncType{onion.XChaCha20, onion.AESGCM} {
		t.Run(enc.String(), func(t *testing.T) {
			tr := v4srvtest.Transport(t, nw, enc)
			u := newUser(t, s, nil)
			resp := onionDo(t, tr, anon(t, s), "GET", "/capabilities?required=sogs", nil, nil)
			if resp.Status != 200 || resp.Headers["content-type"] != "application/json" || !strings.Contains(string(resp.Body), "blind") {
				t.Fatalf("capabilities: %+v", resp)
			}
			resp = onionDo(t, tr, u, "POST", "/room/lobby/message", u.postBody(Pad([]byte("via onion"))), nil)
			if resp.Status != 201 {
				t.Fatalf("post: %d %s", resp.Status, resp.Body)
			}
			var m msgRow
			mustOK(t, json.Unmarshal(resp.Body, &m))
			// A raw UTF-8 emoji path, signed as sent.
			resp = onionDo(t, tr, u, "PUT", fmt.Sprintf("/room/lobby/reaction/%d/🍆", m.ID), map[string]any{}, nil)
			if resp.Status != 200 {
				t.Fatalf("reaction: %d %s", resp.Status, resp.Body)
			}
			// The recommended poll: one batch, authenticated once on the outside.
			resp = onionDo(t, tr, u, "POST", "/batch", []map[string]any{
				{"method": "GET", "path": "/capabilities"},
				{"method": "GET", "path": "/room/lobby/pollInfo/0"},
				{"method": "GET", "path": fmt.Sprintf("/room/lobby/messages/since/%d?t=r&reactors=5", m.Seqno-1)},
				{"method": "GET", "path": "/inbox/since/0"},
			}, nil)
			var out []subResp
			if resp.Status != 200 || json.Unmarshal(resp.Body, &out) != nil || len(out) != 4 || out[2].Code != 200 || out[3].Code != 304 {
				t.Fatalf("batch: %d %s", resp.Status, resp.Body)
			}
			if !strings.Contains(string(out[2].Body), "🍆") {
				t.Fatalf("poll rows: %s", out[2].Body)
			}
			// Auth failures keep their status through the onion.
			nonce := [16]byte{byte(enc), 1}
			h := u.signer.SignWith("GET", "/room/lobby", nil, nonce, time.Now())
			same := func(x *blinding.Headers) { *x = h }
			if r := onionDo(t, tr, u, "GET", "/room/lobby", nil, same); r.Status != 200 {
				t.Fatalf("fresh nonce: %d", r.Status)
			}
			if r := onionDo(t, tr, u, "GET", "/room/lobby", nil, same); r.Status != 425 {
				t.Fatalf("reused nonce: %d %s", r.Status, r.Body)
			}
			if r := onionDo(t, tr, u, "GET", "/room/lobby/messages/recent", nil, func(x *blinding.Headers) {
				*x = u.signer.SignWith("GET", "/room/lobby", nil, [16]byte{byte(enc), 2}, time.Now())
			}); r.Status != 401 {
				t.Fatalf("wrong path signed: %d", r.Status)
			}
			// v4 has no default Content-Type: a JSON body without one is 400 (gotcha G5).
			if r := onionDo(t, tr, u, "POST", "/room/lobby/message", u.postBody([]byte("x")), func(x *blinding.Headers) {}); r.Status != 201 {
				t.Fatalf("typed post: %d", r.Status)
			}
			if r := onionDoNoType(t, tr, u, "/room/lobby/message", u.postBody([]byte("y"))); r.Status != 400 {
				t.Fatalf("untyped post: %d %s", r.Status, r.Body)
			}
			if r := onionDo(t, tr, anon(t, s), "GET", "/room/nope", nil, nil); r.Status != 404 {
				t.Fatalf("missing room: %d", r.Status)
			}
		})
	}
}

// onionDoNoType posts a signed JSON body through tr with no Content-Type header at all. The
// onion package's encoder adds application/json by default (as libsession does), so the v4
// payload is built by hand here.
func onionDoNoType(t *testing.T, tr *onion.Transport, c *tclient, endpoint string, body any) *onion.Response {
	t.Helper()
	raw, _ := json.Marshal(body)
	h, err := c.signer.Sign("POST", endpoint, raw)
	if err != nil {
		t.Fatal(err)
	}
	req := &onion.ServerRequest{Method: "POST", Endpoint: endpoint, Headers: h.Map(), Body: raw}
	req.Headers["Content-Type"] = "" // present but empty: the server sees no content type
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := tr.Do(ctx, c.s.OnionServer(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A server under a realistic host name: the devnet relays the name to it while it runs.
func TestOnionHostAlias(t *testing.T) {
	nw := v4srvtest.Network(t, 6)
	s, err := Start(context.Background(), WithNetwork(nw), WithHost("open.getsession.org"))
	mustOK(t, err)
	if !strings.HasPrefix(s.JoinURL("r"), "https://open.getsession.org:") {
		t.Fatalf("JoinURL %s", s.JoinURL("r"))
	}
	tr := v4srvtest.Transport(t, nw, onion.XChaCha20)
	srv := s.OnionServer()
	if r := onionDo(t, tr, anon(t, s), "GET", "/capabilities", nil, nil); r.Status != 200 {
		t.Fatalf("capabilities: %d", r.Status)
	}
	_ = s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if r, err := tr.Do(ctx, srv, &onion.ServerRequest{Endpoint: "/capabilities"}); err == nil && r.Status == 200 {
		t.Fatal("closed server still answers")
	}
}
