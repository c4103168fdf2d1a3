package onion

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/swarm"
)

// testRand is a deterministic reader for tests.
func testRand(seed uint64) io.Reader {
	return mrand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 1})
}

func testKeyPair(t testing.TB, seed byte) KeyPair {
	t.Helper()
	kp, err := GenerateKeyPair(testRand(uint64(seed) + 1000))
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

// testNode is a node of the simulated path: its Ed25519 name and X25519 key pair.
type testNode struct {
	ed [32]byte
	kp KeyPair
}

func testNodes(t testing.TB, n int, seed byte) []testNode {
	out := make([]testNode, n)
	for i := range out {
		out[i].kp = testKeyPair(t, seed+byte(i))
		out[i].ed[0], out[i].ed[1] = 0xed, seed+byte(i)
	}
	return out
}

func testHops(nodes []testNode) []Hop {
	h := make([]Hop, len(nodes))
	for i, n := range nodes {
		h[i] = Hop{Ed25519: n.ed, X25519: n.kp.Public}
	}
	return h
}

// peel plays the path's nodes: each opens its layer and forwards by the routing JSON, as a
// storage node does, until a final layer (returned with its reply channel) or a relay to a
// server (returned with the whole plaintext the last hop would POST).
func peel(t testing.TB, body []byte, nodes map[[32]byte]testNode, guard testNode) (*Layer, []byte, *Channel) {
	t.Helper()
	node := guard
	for range MaxHops {
		req, err := ParseHopRequest(body)
		if err != nil {
			t.Fatalf("node %x: %v", node.ed[:2], err)
		}
		pt, ch, err := req.Open(node.kp)
		if err != nil {
			t.Fatalf("node %x: %v", node.ed[:2], err)
		}
		l, err := ParseLayer(pt)
		if err != nil {
			t.Fatalf("node %x: %v", node.ed[:2], err)
		}
		switch l.Kind {
		case LayerFinal, LayerRelayToServer:
			return l, pt, ch
		}
		next, ok := nodes[l.Destination]
		if !ok {
			t.Fatalf("next node not found: %x", l.Destination)
		}
		body = appendFrame(nil, l.Blob, []byte(fmt.Sprintf(`{"ephemeral_key":"%x","enc_type":"%v"}`, l.EphemeralKey, l.EncType)))
		node = next
	}
	t.Fatal("too many hops")
	return nil, nil, nil
}

func TestBuildPeelReplyNode(t *testing.T) {
	for _, enc := range []EncType{XChaCha20, AESGCM} {
		for _, nhops := range []int{1, 3} {
			t.Run(fmt.Sprintf("%v/%d", enc, nhops), func(t *testing.T) {
				all := testNodes(t, nhops+1, 10)
				byEd := map[[32]byte]testNode{}
				for _, n := range all {
					byEd[n.ed] = n
				}
				dest := all[nhops]
				payload := []byte(`{"method":"info","params":{}}`)
				o, err := Build(testHops(all[:nhops]), NodeDestination{Ed25519: dest.ed, X25519: dest.kp.Public}, payload, &BuildOptions{EncType: enc, Rand: testRand(1)})
				if err != nil {
					t.Fatal(err)
				}
				if o.EncType() != enc {
					t.Fatalf("EncType %v", o.EncType())
				}
				l, _, ch := peel(t, o.Body, byEd, all[0])
				if l.Kind != LayerFinal || !bytes.Equal(l.Blob, payload) || !l.Base64 || l.JSON {
					t.Fatalf("final layer %+v", l)
				}
				if ch.Key() == ([32]byte{}) {
					t.Fatal("zero key")
				}
				reply, err := EncodeNodeReply(ch, nil, 421, []byte(`{"snodes":[]}`))
				if err != nil {
					t.Fatal(err)
				}
				r, err := o.DecodeNodeResponse(reply)
				if err != nil {
					t.Fatal(err)
				}
				if r.Status != 421 || string(r.Body) != `{"snodes":[]}` {
					t.Fatalf("got %d %q", r.Status, r.Body)
				}
				// The {"result": …} wrapper is accepted too.
				r, err = o.DecodeNodeResponse([]byte(`{"result":"` + string(reply) + `"}`))
				if err != nil || r.Status != 421 {
					t.Fatalf("wrapped: %v %v", r, err)
				}
				// A reply tampered with does not decrypt.
				raw, _ := base64.StdEncoding.DecodeString(string(reply))
				raw[len(raw)-1] ^= 1
				if _, err := o.DecodeNodeResponse([]byte(base64.StdEncoding.EncodeToString(raw))); !errors.Is(err, ErrDecrypt) {
					t.Fatalf("tampered: %v", err)
				}
			})
		}
	}
}

func TestBuildPeelReplyServer(t *testing.T) {
	for _, enc := range []EncType{XChaCha20, AESGCM} {
		t.Run(enc.String(), func(t *testing.T) {
			all := testNodes(t, 3, 30)
			byEd := map[[32]byte]testNode{}
			for _, n := range all {
				byEd[n.ed] = n
			}
			server := testKeyPair(t, 99)
			payload, err := EncodeV4Request(&ServerRequest{Method: "POST", Endpoint: "/room/x/message", Body: []byte(`{}`), Headers: map[string]string{"User-Agent": "x"}})
			if err != nil {
				t.Fatal(err)
			}
			dest := ServerDestination{Host: "sogs.example", Scheme: "http", X25519: server.Public}
			o, err := Build(testHops(all), dest, payload, &BuildOptions{EncType: enc})
			if err != nil {
				t.Fatal(err)
			}
			l, whole, _ := peel(t, o.Body, byEd, all[0])
			if l.Kind != LayerRelayToServer || l.Host != "sogs.example" || l.Port != 80 || l.Protocol != "http" || l.Target != V4Target {
				t.Fatalf("layer %+v", l)
			}
			u, err := l.URL()
			if err != nil || u != "http://sogs.example/oxen/v4/lsrpc" {
				t.Fatalf("URL %q %v", u, err)
			}
			// The server reads the same plaintext the last hop POSTs.
			sl, err := ParseLayer(whole)
			if err != nil || !sl.HasEphemeral || sl.EncType != enc {
				t.Fatalf("server layer %+v %v", sl, err)
			}
			ch, err := NewServerChannel(enc, server, sl.EphemeralKey)
			if err != nil {
				t.Fatal(err)
			}
			pt, err := ch.Open(sl.Blob)
			if err != nil {
				t.Fatal(err)
			}
			req, err := ParseV4Request(pt)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != "POST" || req.Endpoint != "/room/x/message" || string(req.Body) != "{}" ||
				req.Headers["Content-Type"] != "application/json" || req.Headers["User-Agent"] != "" {
				t.Fatalf("request %+v", req)
			}
			resp, err := EncodeV4Response(&Response{Status: 201, Headers: map[string]string{"content-type": "text/plain"}, Body: []byte("hi")})
			if err != nil {
				t.Fatal(err)
			}
			sealed, err := ch.Seal(nil, resp)
			if err != nil {
				t.Fatal(err)
			}
			r, err := o.DecodeServerResponse(sealed)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 201 || string(r.Body) != "hi" || r.Headers["content-type"] != "text/plain" {
				t.Fatalf("response %+v", r)
			}
		})
	}
}

// An xchacha20 request whose reply comes back with aes-gcm (some servers do that for errors)
// still decodes, as in libsession.
func TestReplyAESGCMFallback(t *testing.T) {
	all := testNodes(t, 2, 50)
	server := testKeyPair(t, 77)
	payload, _ := EncodeV4Request(&ServerRequest{Endpoint: "/capabilities"})
	o, err := Build(testHops(all), ServerDestination{Host: "h", X25519: server.Public}, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := NewServerChannel(AESGCM, server, o.DestinationKey())
	if err != nil {
		t.Fatal(err)
	}
	resp, _ := EncodeV4Response(&Response{Status: 500})
	sealed, _ := ch.Seal(nil, resp)
	r, err := o.DecodeServerResponse(sealed)
	if err != nil || r.Status != 500 || r.Body != nil {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := o.DecodeServerResponse(sealed[:len(sealed)-1]); !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "both") {
		t.Fatalf("want both-failed ErrDecrypt, got %v", err)
	}
}

// The same for a node's reply, which DecodeNodeResponse decrypts in place: the AES-GCM attempt
// reads the reply again, not the buffer the failed XChaCha20 attempt wrote over.
func TestNodeReplyAESGCMFallback(t *testing.T) {
	all := testNodes(t, 2, 55)
	o, err := Build(testHops(all[:1]), NodeDestination{Ed25519: all[1].ed, X25519: all[1].kp.Public}, []byte("{}"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []EncType{XChaCha20, AESGCM} {
		ch, err := NewServerChannel(enc, all[1].kp, o.DestinationKey())
		if err != nil {
			t.Fatal(err)
		}
		reply, err := EncodeNodeReply(ch, nil, 200, []byte(`{"t":1}`))
		if err != nil {
			t.Fatal(err)
		}
		r, err := o.DecodeNodeResponse(reply)
		if err != nil || r.Status != 200 || string(r.Body) != `{"t":1}` {
			t.Fatalf("%v reply: %+v %v", enc, r, err)
		}
		raw, _ := base64.StdEncoding.DecodeString(string(reply))
		raw[len(raw)-1] ^= 1 // no longer authentic
		bad := []byte(base64.StdEncoding.EncodeToString(raw))
		if _, err := o.DecodeNodeResponse(bad); !errors.Is(err, ErrDecrypt) || !strings.Contains(err.Error(), "both") {
			t.Fatalf("%v: want both-failed ErrDecrypt, got %v", enc, err)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	all := testNodes(t, 2, 60)
	dest := NodeDestination{Ed25519: all[1].ed, X25519: all[1].kp.Public}
	if _, err := Build(nil, dest, nil, nil); err == nil {
		t.Fatal("empty path accepted")
	}
	if _, err := Build(testHops(all[:1]), dest, nil, &BuildOptions{EncType: 9}); !errors.Is(err, ErrUnknownEncType) {
		t.Fatalf("enc 9: %v", err)
	}
	// A low-order hop key gives an all-zero shared secret.
	bad := testHops(all[:1])
	bad[0].X25519 = [32]byte{}
	if _, err := Build(bad, dest, nil, nil); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("zero key: %v", err)
	}
	for _, d := range []ServerDestination{
		{Host: "h", Scheme: "ftp"},
		{Host: "", Scheme: "https"},
		{Host: "h", Target: "/oxen/v4/lsrpc?x"},
		{Host: "h", Target: "/other/lsrpc"},
	} {
		if _, err := Build(testHops(all[:1]), d, nil, nil); !errors.Is(err, ErrURLNotAllowed) {
			t.Fatalf("%+v: %v", d, err)
		}
	}
	if _, err := Build(testHops(all[:1]), nil, nil, nil); err == nil {
		t.Fatal("nil destination accepted")
	}
	if _, err := Build(testHops(all[:1]), dest, nil, &BuildOptions{Rand: bytes.NewReader(make([]byte, 40))}); err == nil {
		t.Fatal("short random source accepted")
	}
}

func TestRoutingJSONShape(t *testing.T) {
	all := testNodes(t, 2, 70)
	o, err := Build(testHops(all[:1]), ServerDestination{Host: `a"b`, Port: 8443, X25519: all[1].kp.Public}, []byte("x"), &BuildOptions{EncType: AESGCM})
	if err != nil {
		t.Fatal(err)
	}
	_, tail, err := SplitFrame(o.Body)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"enc_type":"aes-gcm","ephemeral_key":"`
	if !strings.HasPrefix(string(tail), want) || !strings.HasSuffix(string(tail), `"}`) || len(tail) != len(want)+64+2 {
		t.Fatalf("outer JSON %s", tail)
	}
	l, _, _ := peel(t, o.Body, nil, all[0])
	if l.Host != `a"b` || l.Port != 8443 || l.Protocol != "https" {
		t.Fatalf("layer %+v", l)
	}
}

func TestKeyPairHidesPrivate(t *testing.T) {
	kp := testKeyPair(t, 1)
	priv := hex.EncodeToString(kp.Private[:])
	for _, f := range []string{"%v", "%+v", "%#v", "%s", "%x", "%q"} {
		if s := fmt.Sprintf(f, kp); strings.Contains(s, priv) || strings.Contains(s, fmt.Sprint(kp.Private[0], " ", kp.Private[1])) {
			t.Fatalf("%s prints the private key: %s", f, s)
		}
	}
	if !strings.Contains(kp.String(), hex.EncodeToString(kp.Public[:])) {
		t.Fatal("String lacks the public key")
	}
}

func TestEncType(t *testing.T) {
	for s, want := range map[string]EncType{"xchacha20": XChaCha20, "xchacha20-poly1305": XChaCha20, "aes-gcm": AESGCM, "gcm": AESGCM} {
		if got, err := ParseEncType(s); err != nil || got != want {
			t.Fatalf("%s: %v %v", s, got, err)
		}
	}
	for _, s := range []string{"", "aes-cbc", "cbc", "XCHACHA20"} {
		if _, err := ParseEncType(s); !errors.Is(err, ErrUnknownEncType) {
			t.Fatalf("%q: %v", s, err)
		}
	}
	if EncType(0).Overhead() != 0 || EncType(7).NonceSize() != 0 || EncType(7).String() != "EncType(7)" {
		t.Fatal("invalid EncType")
	}
	if _, err := NewChannel(EncType(7), [32]byte{}); !errors.Is(err, ErrUnknownEncType) {
		t.Fatal(err)
	}
	if _, err := DeriveKey(EncType(7), RoleClient, testKeyPair(t, 1), testKeyPair(t, 2).Public); !errors.Is(err, ErrUnknownEncType) {
		t.Fatal(err)
	}
}

func TestChannelOpenShort(t *testing.T) {
	for _, enc := range []EncType{XChaCha20, AESGCM} {
		ch, err := NewChannel(enc, [32]byte{1})
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < enc.Overhead(); n++ {
			if _, err := ch.Open(make([]byte, n)); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("%v %d: %v", enc, n, err)
			}
		}
		ct, err := ch.Seal(nil, nil)
		if err != nil || len(ct) != enc.Overhead() {
			t.Fatal(len(ct), err)
		}
		if pt, err := ch.Open(ct); err != nil || len(pt) != 0 {
			t.Fatal(pt, err)
		}
		if _, err := ch.SealWithNonce(make([]byte, 5), nil); err == nil {
			t.Fatal("short nonce accepted")
		}
	}
}

func TestSplitFrame(t *testing.T) {
	f := appendFrame(nil, []byte("abc"), []byte("{}"))
	b, tail, err := SplitFrame(f)
	if err != nil || string(b) != "abc" || string(tail) != "{}" {
		t.Fatal(b, tail, err)
	}
	for _, bad := range [][]byte{nil, {1, 0, 0}, {4, 0, 0, 0, 'a'}, binary.LittleEndian.AppendUint32(nil, 0xffffffff)} {
		if _, _, err := SplitFrame(bad); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%x: %v", bad, err)
		}
	}
}

func TestParseLayerErrors(t *testing.T) {
	for _, tail := range []string{
		`not json`,
		`{"headers":"","json":"yes"}`,
		`{"host":"h"}`,
		`{"host":1,"target":"/oxen/x/lsrpc"}`,
		`{"host":"h","target":"/oxen/x/lsrpc","port":"x"}`,
		`{"destination":"zz","ephemeral_key":"` + strings.Repeat("00", 32) + `"}`,
		`{"destination":"` + strings.Repeat("00", 32) + `"}`,
		`{"ephemeral_key":"00"}`,
		`{"ephemeral_key":5}`,
		`{"enc_type":5,"headers":""}`,
		`{}`,
	} {
		if _, err := ParseLayer(appendFrame(nil, []byte("x"), []byte(tail))); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: %v", tail, err)
		}
	}
	if _, err := ParseLayer(appendFrame(nil, nil, []byte(`{"headers":"","enc_type":"rot13"}`))); !errors.Is(err, ErrUnknownEncType) {
		t.Fatal(err)
	}
	l, err := ParseLayer(appendFrame(nil, nil, []byte(`{"headers":{},"json":true,"base64":false}`)))
	if err != nil || l.Kind != LayerFinal || !l.JSON || l.Base64 {
		t.Fatalf("%+v %v", l, err)
	}
	l, err = ParseLayer(appendFrame(nil, nil, []byte(`{"host":"h","target":"/loki/x","port":70000}`)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.URL(); !errors.Is(err, ErrURLNotAllowed) {
		t.Fatal(err)
	}
	l.Target = "/oxen/v4/lsrpc"
	if _, err := l.URL(); !errors.Is(err, ErrURLNotAllowed) {
		t.Fatal("port 70000 allowed")
	}
	l.Port = 8080
	if u, err := l.URL(); err != nil || u != "https://h:8080/oxen/v4/lsrpc" {
		t.Fatal(u, err)
	}
	l.Protocol = "gopher"
	if _, err := l.URL(); !errors.Is(err, ErrURLNotAllowed) {
		t.Fatal("gopher allowed")
	}
}

func TestParseHopRequestErrors(t *testing.T) {
	key := strings.Repeat("ab", 32)
	for _, tail := range []string{`{}`, `nope`, `{"ephemeral_key":"ab"}`, `{"ephemeral_key":"` + key + `","hop_no":-1}`} {
		if _, err := ParseHopRequest(appendFrame(nil, []byte("x"), []byte(tail))); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: %v", tail, err)
		}
	}
	r, err := ParseHopRequest(appendFrame(nil, []byte("x"), []byte(`{"ephemeral_key":"`+key+`","hop_no":3}`)))
	if err != nil || r.EncType != AESGCM || r.HopNo != 3 {
		t.Fatalf("%+v %v", r, err)
	}
	if _, _, err := r.Open(testKeyPair(t, 1)); !errors.Is(err, ErrDecrypt) {
		t.Fatal(err)
	}
	if _, err := ParseHopRequest(appendFrame(nil, nil, []byte(`{"ephemeral_key":"`+key+`","enc_type":"aes-cbc"}`))); !errors.Is(err, ErrUnknownEncType) {
		t.Fatal(err)
	}
}

func TestNodeReplyShapes(t *testing.T) {
	for in, want := range map[string]NodeResponse{
		`{"status":200,"body":"{\"a\":1}"}`: {200, []byte(`{"a":1}`)},
		`{"status_code":406,"status":1}`:    {406, nil},
		`{"status":200,"body":{"a":1}}`:     {200, []byte(`{"a":1}`)},
		`{"status":200,"body":null}`:        {200, nil},
	} {
		r, err := ParseNodeReply([]byte(in))
		if err != nil || r.Status != want.Status || !bytes.Equal(r.Body, want.Body) {
			t.Fatalf("%s: %+v %v", in, r, err)
		}
	}
	for _, in := range []string{``, `[]`, `{"body":"x"}`, `{"status":"200"}`} {
		if _, err := ParseNodeReply([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: %v", in, err)
		}
	}
	o := &Onion{enc: XChaCha20}
	for _, in := range []string{`{"x":1}`, `{bad`, `!!!not base64!!!`} {
		if _, err := o.DecodeNodeResponse([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: %v", in, err)
		}
	}
	if _, err := o.DecodeNodeResponse(make([]byte, MaxResponseSize+1)); !errors.Is(err, ErrMalformed) {
		t.Fatal(err)
	}
}

func TestV4Errors(t *testing.T) {
	for _, in := range []string{``, `le`, `i1e`, `l2:{}e`, `l4:{"a"e`, `li1ee`, `l8:{"code"}e`, `l10:{"code":1}1:a1:be`, `l10:{"code":1}1:aex`} {
		if _, err := ParseV4Response([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: %v", in, err)
		}
	}
	r, err := ParseV4Response(appendStringList(nil, []byte(`{"code":204,"headers":{"x-n":5,"y":"z"}}`), []byte{}))
	if err != nil || r.Status != 204 || r.Body == nil || len(r.Body) != 0 || r.Headers["x-n"] != "5" || r.Headers["y"] != "z" {
		t.Fatalf("%+v %v", r, err)
	}
	if _, err := EncodeV4Request(&ServerRequest{Endpoint: "capabilities"}); !errors.Is(err, ErrURLNotAllowed) {
		t.Fatal(err)
	}
	p, err := EncodeV4Request(&ServerRequest{Endpoint: "/x", Body: []byte{}, Headers: map[string]string{"content-type": "text/plain"}})
	if err != nil || string(p) != `l72:{"endpoint":"/x","headers":{"content-type":"text/plain"},"method":"GET"}0:e` {
		t.Fatalf("%s %v", p, err)
	}
	for _, in := range []string{`l2:{}e`, `l16:{"endpoint":"x"}e`, `l18:{"endpoint":"/x"}1:a1:be`, `l20:{"headers":{"a":1}}e`} {
		if _, err := ParseV4Request([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("%q: %v", in, err)
		}
	}
	r2, err := ParseV4Request([]byte(`l17:{"endpoint":"/x"}e`))
	if err != nil || r2.Method != "GET" || r2.Body != nil || r2.Headers == nil {
		t.Fatalf("%+v %v", r2, err)
	}
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://[::1]:8443/x": "https://[::1]:8443/x",
		"http://h?":            "http://h/?",
		"HTTP://Host.example":  "http://Host.example",
	} {
		u, err := ParseURL(in)
		if err != nil || u.String() != want {
			t.Fatalf("%s: %v %v", in, u, err)
		}
	}
	for _, in := range []string{"ftp://h", "h", "https://", "https://u@h", "https://h:0", "https://h:99999", "https://h:", "https://h/#f", "%zz", "mailto:x"} {
		if _, err := ParseURL(in); !errors.Is(err, ErrURLNotAllowed) {
			t.Fatalf("%s: %v", in, err)
		}
	}
	if (ServerURL{Scheme: "http"}).EffectivePort() != 80 || (ServerURL{Scheme: "https"}).EffectivePort() != 443 || (ServerURL{Scheme: "http", Port: 5}).EffectivePort() != 5 {
		t.Fatal("EffectivePort")
	}
}

// Zero values made outside the constructors fail with errors, not panics.
func TestZeroValues(t *testing.T) {
	var o Onion
	if _, err := o.DecodeNodeResponse([]byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")); err == nil {
		t.Fatal("zero Onion decoded")
	}
	if _, err := o.DecodeServerResponse(make([]byte, 64)); err == nil {
		t.Fatal("zero Onion decoded")
	}
	var ch Channel
	if _, err := ch.Open(make([]byte, 64)); err == nil {
		t.Fatal("zero Channel opened")
	}
	if _, err := ch.Seal(nil, nil); err == nil {
		t.Fatal("zero Channel sealed")
	}
	if _, err := ch.SealWithNonce(nil, nil); err == nil {
		t.Fatal("zero Channel sealed")
	}
	var tr Transport
	if _, err := tr.Send(context.Background(), swarm.Node{}, nil); err == nil {
		t.Fatal("zero Transport sent")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDiversity(t *testing.T) {
	node := func(ip string, ed byte) swarm.Node {
		return swarm.Node{IP: netip.MustParseAddr(ip), Port: 443, Ed25519: [32]byte{ed}}
	}
	p := &path{nodes: []swarm.Node{node("1.2.3.4", 1), node("5.6.7.8", 2), node("2001:db8:1:2::1", 3)}}
	for _, c := range []struct {
		d    Diversity
		n    swarm.Node
		want bool
	}{
		{DistinctSubnets, node("1.2.3.200", 9), true},
		{DistinctSubnets, node("1.2.4.4", 9), false},
		{DistinctSubnets, node("2001:db8:1:ffff::9", 9), true},
		{DistinctSubnets, node("2001:db8:2::9", 9), false},
		{DistinctIPs, node("1.2.3.200", 9), false},
		{DistinctIPs, node("5.6.7.8", 9), true},
		{DistinctNodes, node("1.2.3.4", 9), false},
		{DistinctNodes, node("9.9.9.9", 2), true},
	} {
		if got := p.conflicts(c.d, c.n); got != c.want {
			t.Errorf("diversity %d, %v: conflicts %v, want %v", c.d, c.n.IP, got, c.want)
		}
	}
	if k, ok := nextNodeNotFound([]byte("502 Bad Gateway\n\nNext node not found: " + strings.Repeat("0a", 32))); !ok || k[0] != 0x0a {
		t.Fatal("Next node not found not parsed")
	}
	for _, b := range []string{"Next node not found: 12", "Snode not ready: " + strings.Repeat("0a", 32), ""} {
		if _, ok := nextNodeNotFound([]byte(b)); ok {
			t.Fatalf("%q parsed", b)
		}
	}
}

// Uploads take the least busy path; other requests a random one.
func TestPathForLeastBusy(t *testing.T) {
	tr := &Transport{cfg: Config{Paths: 1}, nodeFail: map[[32]byte]int{}, build: make(chan struct{}, 1)}
	for i := range 3 {
		tr.paths = append(tr.paths, &path{nodes: []swarm.Node{{Ed25519: [32]byte{byte(i + 1)}}}, pending: 5 - i})
	}
	for range 20 {
		p, _, err := tr.pathFor(context.Background(), nil, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		if p != tr.paths[2] {
			t.Fatalf("picked a path with %d pending", p.pending)
		}
		tr.done(p)
	}
	seen := map[*path]bool{}
	for range 100 {
		p, _, _ := tr.pathFor(context.Background(), nil, nil, false)
		seen[p] = true
		tr.done(p)
	}
	if len(seen) != 3 {
		t.Fatalf("random choice used %d of 3 paths", len(seen))
	}
}
