package onion

import (
	"bytes"
	"encoding/hex"
	"testing"
)

// Every parser of input from the network: no panics, and what parses round-trips where the
// format allows it.

func FuzzParseHopRequest(f *testing.F) {
	f.Add(appendFrame(nil, []byte("ct"), []byte(`{"ephemeral_key":"`+string(bytes.Repeat([]byte("ab"), 32))+`","enc_type":"xchacha20","hop_no":1}`)))
	f.Add([]byte{0, 0, 0, 0})
	node := KeyPair{Private: [32]byte{1}}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseHopRequest(b)
		if err != nil {
			return
		}
		if !r.EncType.valid() {
			t.Fatalf("invalid enc type %v", r.EncType)
		}
		_, _, _ = r.Open(node)
	})
}

func FuzzParseLayer(f *testing.F) {
	f.Add(appendFrame(nil, []byte("x"), []byte(`{"headers":""}`)))
	f.Add(appendFrame(nil, []byte("x"), []byte(`{"host":"h","target":"/oxen/v4/lsrpc","port":80,"protocol":"http"}`)))
	f.Add(appendFrame(nil, []byte("x"), []byte(`{"destination":"`+string(bytes.Repeat([]byte("00"), 32))+`","ephemeral_key":"`+string(bytes.Repeat([]byte("11"), 32))+`"}`)))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLayer(b)
		if err != nil {
			return
		}
		switch l.Kind {
		case LayerFinal, LayerRelayToNode:
		case LayerRelayToServer:
			_, _ = l.URL()
		default:
			t.Fatalf("kind %v", l.Kind)
		}
	})
}

func FuzzDecodeNodeResponse(f *testing.F) {
	dest := KeyPair{Private: [32]byte{2}}
	dest, _ = NewKeyPair(dest.Private)
	guard, _ := NewKeyPair([32]byte{3})
	o, err := Build([]Hop{{X25519: guard.Public}}, NodeDestination{X25519: dest.Public}, []byte("{}"), &BuildOptions{Rand: testRand(5)})
	if err != nil {
		f.Fatal(err)
	}
	ch, _ := NewServerChannel(XChaCha20, dest, o.DestinationKey())
	good, _ := EncodeNodeReply(ch, testRand(6), 200, []byte(`{"t":1}`))
	f.Add(good)
	f.Add([]byte(`{"result":"` + string(good) + `"}`))
	f.Add([]byte("502 Bad Gateway\n\nNext node not found: 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := o.DecodeNodeResponse(b)
		if err == nil && r == nil {
			t.Fatal("nil response without error")
		}
	})
}

func FuzzParseNodeReply(f *testing.F) {
	f.Add([]byte(`{"status":200,"body":"{}"}`))
	f.Add([]byte(`{"status_code":421,"body":{"snodes":[]}}`))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseNodeReply(b) })
}

func FuzzParseV4Response(f *testing.F) {
	f.Add([]byte(`l58:{"code":200,"headers":{"content-type":"application/json"}}11:{"id": 123}e`))
	f.Add([]byte(`l12:{"code":404}e`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseV4Response(b)
		if err != nil {
			return
		}
		enc, err := EncodeV4Response(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseV4Response(enc)
		if err != nil || r2.Status != r.Status || !bytes.Equal(r2.Body, r.Body) || (r2.Body == nil) != (r.Body == nil) {
			t.Fatalf("round trip: %+v %v", r2, err)
		}
	})
}

func FuzzParseV4Request(f *testing.F) {
	f.Add([]byte(`l56:{"endpoint":"/capabilities","headers":{},"method":"GET"}e`))
	f.Add([]byte(`l44:{"endpoint":"/x","headers":{},"method":"POST"}2:{}e`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseV4Request(b)
		if err != nil {
			return
		}
		enc, err := EncodeV4Request(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseV4Request(enc)
		if err != nil || r2.Endpoint != r.Endpoint || r2.Method != r.Method || !bytes.Equal(r2.Body, r.Body) {
			t.Fatalf("round trip: %+v %v", r2, err)
		}
	})
}

func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"HTTPS://example.com/test", "http://example2.com:1234/test/123456", "https://[::1]:1/x?y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURL(s)
		if err != nil {
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
			t.Fatalf("%q parsed as %+v", s, u)
		}
	})
}

func FuzzDecodeServerResponse(f *testing.F) {
	server, _ := NewKeyPair([32]byte{4})
	guard, _ := NewKeyPair([32]byte{5})
	payload, _ := EncodeV4Request(&ServerRequest{Endpoint: "/x"})
	o, err := Build([]Hop{{X25519: guard.Public}}, ServerDestination{Host: "h", X25519: server.Public}, payload, &BuildOptions{Rand: testRand(7)})
	if err != nil {
		f.Fatal(err)
	}
	ch, _ := NewServerChannel(XChaCha20, server, o.DestinationKey())
	resp, _ := EncodeV4Response(&Response{Status: 200, Body: []byte("ok")})
	good, _ := ch.Seal(testRand(8), resp)
	f.Add(good)
	f.Add([]byte("502 Bad Gateway"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := o.DecodeServerResponse(b)
		if err == nil && r == nil {
			t.Fatal("nil response without error")
		}
	})
}

func FuzzNextNodeNotFound(f *testing.F) {
	f.Add([]byte("502 Bad Gateway\n\nNext node not found: " + string(bytes.Repeat([]byte("ab"), 32))))
	f.Add([]byte("Next node not found: zz"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, ok := nextNodeNotFound(b); ok && !bytes.Contains(bytes.ToLower(b), []byte(hex.EncodeToString(k[:]))) {
			t.Fatalf("key %x not in %q", k, b)
		}
	})
}
