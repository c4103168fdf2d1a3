package devnet

import (
	"crypto/hmac"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/curve25519"
)

func msTime(v int64) time.Time { return time.UnixMilli(v) }

// clientKey is the client side of the hop key derivation (the client's secret, the node's key).
func clientKey(t testing.TB, et encType, sec, nodePub [32]byte) []byte {
	t.Helper()
	shared, err := curve25519.X25519(sec[:], nodePub[:])
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := curve25519.X25519(sec[:], curve25519.Basepoint)
	switch et {
	case encGCM:
		m := hmac.New(sha256.New, []byte("LOKI"))
		m.Write(shared)
		return m.Sum(nil)
	case encXChaCha:
		h := blake2b.Sum256(append(append(shared, pub...), nodePub[:]...))
		return h[:]
	}
	return shared
}

func frame(blob []byte, js any) []byte {
	j, _ := json.Marshal(js)
	out := make([]byte, 4, 4+len(blob)+len(j))
	binary.LittleEndian.PutUint32(out, uint32(len(blob)))
	return append(append(out, blob...), j...)
}

func encName(et encType) string {
	switch et {
	case encXChaCha:
		return "xchacha20"
	case encCBC:
		return "aes-cbc"
	}
	return "aes-gcm"
}

// seal encrypts pt for a node's X25519 key with a fresh ephemeral key, as a client does.
func seal(t testing.TB, et encType, nodeX [32]byte, pt []byte) (ct []byte, eph [32]byte, key []byte) {
	t.Helper()
	var sec [32]byte
	crand.Read(sec[:])
	pub, _ := curve25519.X25519(sec[:], curve25519.Basepoint)
	copy(eph[:], pub)
	key = clientKey(t, et, sec, nodeX)
	ct, err := hopEncrypt(et, key, pt)
	if err != nil {
		t.Fatal(err)
	}
	return ct, eph, key
}

// buildOnion wraps an inner plaintext (already framed for the last node) for path; the last node of
// path is the one that reads inner. It returns the outer body and the last node's key.
func buildOnion(t testing.TB, et encType, path []*Node, inner []byte) ([]byte, []byte) {
	t.Helper()
	last := path[len(path)-1]
	ct, eph, finalKey := seal(t, et, last.xPub, inner)
	route := obj{"destination": last.edHex(), "ephemeral_key": hex.EncodeToString(eph[:]), "enc_type": encName(et)}
	for i := len(path) - 2; i >= 0; i-- {
		ct, eph, _ = seal(t, et, path[i].xPub, frame(ct, route))
		route = obj{"destination": path[i].edHex(), "ephemeral_key": hex.EncodeToString(eph[:]), "enc_type": encName(et)}
	}
	outer := obj{"ephemeral_key": route["ephemeral_key"]}
	if et != encGCM { // aes-gcm is the default when enc_type is absent (as Session Desktop sends)
		outer["enc_type"] = encName(et)
	}
	return frame(ct, outer), finalKey
}

// onionRPC sends an RPC through path (3 hops then the destination) and decodes the final reply.
func (tn *tnet) onionRPC(et encType, path []*Node, method string, p any, trailer obj) (status int, body any) {
	tn.t.Helper()
	rpc, _ := json.Marshal(obj{"method": method, "params": p})
	if trailer == nil {
		trailer = obj{"headers": ""}
	}
	outer, key := buildOnion(tn.t, et, path, frame(rpc, trailer))
	st, b := tn.post(path[0], "/onion_req/v2", outer)
	if st != 200 {
		tn.t.Fatalf("onion: outer status %d %s", st, b)
	}
	ct := b
	if trailer["base64"] != false {
		var err error
		if ct, err = base64.StdEncoding.DecodeString(string(b)); err != nil {
			tn.t.Fatalf("onion reply not base64: %q", b)
		}
	}
	pt, err := hopDecrypt(et, key, ct)
	if err != nil {
		tn.t.Fatalf("onion reply does not decrypt: %v", err)
	}
	var rep struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(pt, &rep); err != nil {
		tn.t.Fatalf("onion reply %q", pt)
	}
	var v any
	json.Unmarshal(rep.Body, &v)
	return rep.Status, v
}

// pathTo picks three hops outside dest's swarm, then dest.
func (tn *tnet) pathTo(dest *Node) []*Node {
	var hops []*Node
	for _, n := range tn.nw.Nodes() {
		if n != dest && len(hops) < 3 {
			hops = append(hops, n)
		}
	}
	return append(hops, dest)
}

func TestOnionRoundTrip(t *testing.T) {
	tn := startNet(t)
	u := newUser(t, 30, 0x05)
	dest, _ := tn.home(u)
	path := tn.pathTo(dest)
	for _, et := range []encType{encGCM, encXChaCha, encCBC} {
		now := ms(time.Now())
		st, body := tn.onionRPC(et, path, "store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 60000, "data": b64([]byte("onion " + encName(et)))}, nil)
		if st != 200 {
			t.Fatalf("%s: status %d %v", encName(et), st, body)
		}
		// Default: body is the JSON result serialised into a string.
		s, ok := body.(string)
		if !ok {
			t.Fatalf("default reply body must be a string, got %T", body)
		}
		var res map[string]any
		if json.Unmarshal([]byte(s), &res) != nil || res["hash"] != messageHash(u.acct, 0, []byte("onion "+encName(et))) {
			t.Fatalf("store via onion: %s", s)
		}
		// json: true embeds the value; base64: false returns raw bytes.
		ts := ms(time.Now())
		st, body = tn.onionRPC(et, path, "retrieve", u.auth(obj{"timestamp": ts}, "retrieve"+itoa(ts)), obj{"headers": obj{}, "json": true, "base64": false, "body": nil})
		if st != 200 {
			t.Fatalf("retrieve via onion %d %v", st, body)
		}
		if _, ok := body.(map[string]any)["messages"]; !ok {
			t.Fatalf("json:true body %v", body)
		}
	}
	// An inner error comes back inside an outer 200; a text error body is a plain string.
	st, body := tn.onionRPC(encXChaCha, path, "retrieve", obj{"pubkey": u.hex()}, nil)
	if st != 401 || body != "retrieve: request signature required" {
		t.Fatalf("inner error: %d %v", st, body)
	}
	// 421 through an onion, destination in the wrong swarm.
	if wrong := tn.foreign(u); wrong != nil {
		st, body = tn.onionRPC(encXChaCha, tn.pathTo(wrong), "store", obj{"pubkey": u.hex(), "timestamp": ms(time.Now()), "ttl": 60000, "data": "eA=="}, nil)
		if st != 421 || !strings.Contains(body.(string), `"snodes"`) {
			t.Fatalf("421 via onion: %d %v", st, body)
		}
	}
}

func TestOnionErrors(t *testing.T) {
	tn := startNet(t, WithNodes(5))
	nodes := tn.nw.Nodes()
	n := nodes[0]
	expect := func(body []byte, status int, text string) {
		t.Helper()
		st, b := tn.post(n, "/onion_req/v2", body)
		if st != status || (text != "" && string(b) != text) {
			t.Fatalf("got %d %q, want %d %q", st, b, status, text)
		}
	}
	expect([]byte{1, 2}, 400, "")
	expect(frame([]byte("junk that is long enough to be a ciphertext"), obj{"ephemeral_key": hex.EncodeToString(n.xPub[:])}), 400, "Invalid ciphertext")
	expect(frame([]byte("x"), obj{"ephemeral_key": hex.EncodeToString(n.xPub[:]), "hop_no": 16}), 400, "onion request max path length exceeded")
	// Unknown next node.
	var ghost [32]byte
	ghost[0] = 9
	ct, eph, _ := seal(t, encXChaCha, n.xPub, frame([]byte("inner"), obj{"destination": hex.EncodeToString(ghost[:]), "ephemeral_key": hex.EncodeToString(ghost[:]), "enc_type": "xchacha20"}))
	expect(frame(ct, obj{"ephemeral_key": hex.EncodeToString(eph[:]), "enc_type": "xchacha20"}), 502, "Next node not found: "+hex.EncodeToString(ghost[:]))
	// Layer JSON that does not parse: encrypted {"status":400,"body":"Invalid json"} with this hop's key.
	ct, eph, key := seal(t, encGCM, n.xPub, frame([]byte("inner"), nil)[:9])
	st, b := tn.post(n, "/onion_req/v2", frame(ct, obj{"ephemeral_key": hex.EncodeToString(eph[:])}))
	raw, _ := base64.StdEncoding.DecodeString(string(b))
	pt, err := hopDecrypt(encGCM, key, raw)
	if st != 200 || err != nil || string(pt) != `{"body":"Invalid json","status":400}` {
		t.Fatalf("invalid json layer: %d %q %v", st, pt, err)
	}
	// Bad server URL → encrypted "Invalid url".
	ct, eph, key = seal(t, encXChaCha, n.xPub, frame([]byte("v4"), obj{"host": "localhost", "target": "/not/allowed", "ephemeral_key": "00", "enc_type": "xchacha20"}))
	st, b = tn.post(n, "/onion_req/v2", frame(ct, obj{"ephemeral_key": hex.EncodeToString(eph[:]), "enc_type": "xchacha20"}))
	raw, _ = base64.StdEncoding.DecodeString(string(b))
	pt, err = hopDecrypt(encXChaCha, key, raw)
	if st != 200 || err != nil || !strings.Contains(string(pt), "Invalid url") {
		t.Fatalf("invalid url: %d %q %v", st, pt, err)
	}
	// A stopped next hop times out.
	nodes[2].Stop()
	outer, _ := buildOnion(t, encXChaCha, []*Node{nodes[0], nodes[1], nodes[2]}, frame([]byte(`{"method":"info","params":{}}`), obj{"headers": ""}))
	if st, b := tn.post(nodes[0], "/onion_req/v2", outer); st != 504 || string(b) != "Request time out" {
		t.Fatalf("stopped hop: %d %q", st, b)
	}
}

// TestOnionToServer relays a request to a loopback server destination, which receives the whole
// decrypted layer and answers directly (the node does not re-encrypt).
func TestOnionToServer(t *testing.T) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan []byte, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path != "/oxen/v4/lsrpc" || r.Header.Get("Content-Type") != "application/octet-stream" {
			http.Error(w, "bad request "+r.URL.Path, 400)
			return
		}
		got <- b
		w.WriteHeader(200)
		w.Write([]byte("server reply"))
	})}
	tn := startNet(t, WithNodes(4), WithHostAlias("other.example.org", "127.0.0.1:1"))
	tn.nw.SetHostAlias("open.example.org", ln.Addr().String())
	cert, err := tn.nw.IssueCertificate()
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}}))
	t.Cleanup(func() { srv.Close() })
	nodes := tn.nw.Nodes()
	route := obj{"host": "open.example.org", "target": "/oxen/v4/lsrpc", "method": "POST", "protocol": "https", "port": 443,
		"ephemeral_key": strings.Repeat("ab", 32), "enc_type": "xchacha20"}
	inner := frame([]byte("v4 payload"), route)
	outer, _ := buildOnion(t, encXChaCha, nodes[:3], inner)
	st, b := tn.post(nodes[0], "/onion_req/v2", outer)
	if st != 200 || string(b) != "server reply" {
		t.Fatalf("server relay: %d %q", st, b)
	}
	select {
	case blob := <-got:
		if string(blob) != string(inner) {
			t.Fatalf("server got %q, want the whole decrypted layer", blob)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("server not reached")
	}
	// Plain HTTP to a loopback address with an explicit port.
	pln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	psrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("plain")) })}
	go psrv.Serve(pln)
	t.Cleanup(func() { psrv.Close() })
	_, pport, _ := net.SplitHostPort(pln.Addr().String())
	proute := obj{"host": "127.0.0.1", "target": "/loki/v3/lsrpc", "protocol": "http", "port": pport}
	outer, _ = buildOnion(t, encGCM, nodes[:3], frame([]byte("x"), proute))
	if st, b := tn.post(nodes[0], "/onion_req/v2", outer); st != 200 || string(b) != "plain" {
		t.Fatalf("plain http relay: %d %q", st, b)
	}
	// An aliased host that refuses connections: 502.
	route["host"] = "other.example.org"
	outer, _ = buildOnion(t, encXChaCha, nodes[:3], frame([]byte("x"), route))
	if st, _ := tn.post(nodes[0], "/onion_req/v2", outer); st != 502 {
		t.Fatalf("refused connection: %d", st)
	}
	// A host that is neither aliased nor loopback is refused (nothing leaves the machine).
	route["host"] = "example.com"
	outer, _ = buildOnion(t, encXChaCha, nodes[:3], frame([]byte("x"), route))
	if st, _ := tn.post(nodes[0], "/onion_req/v2", outer); st != 502 {
		t.Fatalf("non-loopback host: %d", st)
	}
}
