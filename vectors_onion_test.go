package sdk_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/onion"
)

// Onion ops of onion_swarm.json: hop key derivation and encryption, layer parsing, the onion
// builder, v4 payloads and replies, URL checks.
func init() {
	registerVectors("hop_key_derivation", ovHopKeyDerivation)
	registerVectors("hop_encrypt_fixed_nonce", ovHopEncryptFixedNonce)
	registerVectors("hop_decrypt_server", ovHopDecryptServer)
	registerVectors("onion_parse_and_reply", ovOnionParseAndReply)
	registerVectors("hop_roundtrip_sizes", ovHopRoundtripSizes)
	registerVectors("onion_inner_parse", ovOnionInnerParse)
	registerVectors("onion_url_target_allowed", ovOnionURLTargetAllowed)
	registerVectors("parse_url", ovParseURL)
	registerVectors("v4_response_bencode", ovV4ResponseBencode)
	registerVectors("v4_request_payload", ovV4RequestPayload)
	registerVectors("build_onion", ovBuildOnion)
}

// ovHopKeyDerivation checks the hop_key_derivation cases.
func ovHopKeyDerivation(t *testing.T, c vcase) {
	client := onionKeyPair(t, c, "client_sec", "client_pub")
	server := onionKeyPair(t, c, "server_sec", "server_pub")
	for _, x := range []struct {
		enc   onion.EncType
		field string
	}{{onion.AESGCM, "aes_gcm_key"}, {onion.XChaCha20, "xchacha20_key"}} {
		ck, err := onion.DeriveKey(x.enc, onion.RoleClient, client, server.Public)
		if err != nil {
			t.Fatal(err)
		}
		sk, err := onion.DeriveKey(x.enc, onion.RoleServer, server, client.Public)
		if err != nil {
			t.Fatal(err)
		}
		onionExpectHex(t, x.field+" (client)", ck[:], c.str(x.field))
		onionExpectHex(t, x.field+" (server)", sk[:], c.str(x.field))
	}
}

// ovHopEncryptFixedNonce checks the hop_encrypt_fixed_nonce cases.
func ovHopEncryptFixedNonce(t *testing.T, c vcase) {
	enc := onionEnc(t, c)
	client := onionKeyPair(t, c, "client_sec", "client_pub")
	ch, err := onion.NewClientChannel(enc, client, fixed32(t, c.hex("server_pub")))
	if err != nil {
		t.Fatal(err)
	}
	ct, err := ch.SealWithNonce(c.hex("nonce"), c.hex("plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	onionExpectHex(t, "ciphertext", ct, c.str("ciphertext"))
	pt, err := ch.Open(ct)
	if err != nil || !bytes.Equal(pt, c.hex("plaintext")) {
		t.Fatalf("open: %x %v", pt, err)
	}
}

// ovHopDecryptServer checks the hop_decrypt_server cases.
func ovHopDecryptServer(t *testing.T, c vcase) {
	enc := onionEnc(t, c)
	server := onionKeyPair(t, c, "server_x25519_sec", "server_x25519_pub")
	client := onionKeyPair(t, c, "client_x25519_sec", "client_x25519_pub")
	ch, err := onion.NewServerChannel(enc, server, client.Public)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := ch.Open(c.hex("ciphertext"))
	if c.has("expect_fail") && c.boolean("expect_fail") {
		if !errors.Is(err, onion.ErrDecrypt) {
			t.Fatalf("want ErrDecrypt, got %q, %v", pt, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	want := []byte(nil)
	if c.has("plaintext_hex") {
		want = c.hex("plaintext_hex")
	} else {
		want = []byte(c.str("plaintext"))
	}
	if !bytes.Equal(pt, want) {
		t.Fatalf("plaintext %q, want %q", pt, want)
	}
}

// ovOnionParseAndReply checks the onion_parse_and_reply cases.
func ovOnionParseAndReply(t *testing.T, c vcase) {
	enc := onionEnc(t, c)
	server := onionKeyPair(t, c, "server_x25519_sec", "server_x25519_pub")
	client := onionKeyPair(t, c, "client_x25519_sec", "client_x25519_pub")
	req, err := onion.ParseHopRequest(c.hex("request"))
	if err != nil {
		t.Fatal(err)
	}
	if req.EncType != enc {
		t.Fatalf("enc_type %v, want %v", req.EncType, enc)
	}
	onionExpectHex(t, "ephemeral key", req.EphemeralKey[:], c.str("remote_pubkey"))
	pt, reply, err := req.Open(server)
	if err != nil {
		t.Fatal(err)
	}
	if string(pt) != c.str("payload") {
		t.Fatalf("payload %q, want %q", pt, c.str("payload"))
	}
	sealed, err := reply.Seal(nil, []byte(c.str("reply")))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(sealed)) != c.int("reply_len") {
		t.Fatalf("reply of %d bytes, want %d", len(sealed), c.int("reply_len"))
	}
	cch, err := onion.NewClientChannel(enc, client, server.Public)
	if err != nil {
		t.Fatal(err)
	}
	back, err := cch.Open(sealed)
	if err != nil || string(back) != c.str("reply") {
		t.Fatalf("client open: %q %v", back, err)
	}
}

// ovHopRoundtripSizes checks the hop_roundtrip_sizes cases.
func ovHopRoundtripSizes(t *testing.T, c vcase) {
	alice := onionKeyPair(t, c, "alice_sec", "alice_pub")
	bob := onionKeyPair(t, c, "bob_sec", "bob_pub")
	pt := []byte(c.str("plaintext"))
	var overhead map[string]int
	c.decode(&overhead, "overhead")
	for name, over := range overhead {
		enc, err := onion.ParseEncType(name)
		if name == "aes-cbc" {
			// Legacy, server-only; clients never send it and this package does not offer it.
			if !errors.Is(err, onion.ErrUnknownEncType) {
				t.Fatalf("aes-cbc: want ErrUnknownEncType, got %v %v", enc, err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if enc.Overhead() != over {
			t.Fatalf("%s: Overhead %d, want %d", name, enc.Overhead(), over)
		}
		a, err := onion.NewClientChannel(enc, alice, bob.Public)
		if err != nil {
			t.Fatal(err)
		}
		b, err := onion.NewServerChannel(enc, bob, alice.Public)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := a.Seal(nil, pt)
		if err != nil || len(ct) != len(pt)+over {
			t.Fatalf("%s: sealed %d bytes (%v), want %d", name, len(ct), err, len(pt)+over)
		}
		got, err := b.Open(ct)
		if err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s: server open %q %v", name, got, err)
		}
		rep, err := b.Seal(nil, pt)
		if err != nil || len(rep) != len(pt)+over {
			t.Fatalf("%s: reply %d bytes (%v)", name, len(rep), err)
		}
		if got, err := a.Open(rep); err != nil || !bytes.Equal(got, pt) {
			t.Fatalf("%s: client open %q %v", name, got, err)
		}
	}
}

// ovOnionInnerParse checks the onion_inner_parse cases.
func ovOnionInnerParse(t *testing.T, c vcase) {
	l, err := onion.ParseLayer(c.hex("data"))
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind.String() != c.str("kind") {
		t.Fatalf("kind %v, want %s", l.Kind, c.str("kind"))
	}
	if string(l.Blob) != c.str("blob") {
		t.Fatalf("blob %q, want %q", l.Blob, c.str("blob"))
	}
	switch l.Kind {
	case onion.LayerRelayToServer:
		if int64(l.Port) != c.int("port") || l.Protocol != c.str("protocol") {
			t.Fatalf("port %d protocol %q, want %d %q", l.Port, l.Protocol, c.int("port"), c.str("protocol"))
		}
	case onion.LayerRelayToNode:
		onionExpectHex(t, "destination", l.Destination[:], c.str("destination"))
		onionExpectHex(t, "ephemeral_key", l.EphemeralKey[:], c.str("ephemeral_key"))
		if l.EncType.String() != c.str("enc_type") {
			t.Fatalf("enc_type %v, want %s", l.EncType, c.str("enc_type"))
		}
	}
}

// ovOnionURLTargetAllowed checks the onion_url_target_allowed cases.
func ovOnionURLTargetAllowed(t *testing.T, c vcase) {
	if got := onion.TargetAllowed(c.str("target")); got != c.boolean("allowed") {
		t.Fatalf("TargetAllowed(%q) = %v", c.str("target"), got)
	}
}

// ovParseURL checks the parse_url cases.
func ovParseURL(t *testing.T, c vcase) {
	u, err := onion.ParseURL(c.str("url"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://" != c.str("proto") || u.Host != c.str("host") {
		t.Fatalf("got %+v", u)
	}
	wantPort := int64(0)
	if c.has("port") {
		wantPort = c.int("port")
	}
	wantPath := ""
	if c.has("path") {
		wantPath = c.str("path")
	}
	if int64(u.Port) != wantPort || u.Path != wantPath {
		t.Fatalf("port %d path %q, want %d %q", u.Port, u.Path, wantPort, wantPath)
	}
}

// ovV4ResponseBencode checks the v4_response_bencode cases.
func ovV4ResponseBencode(t *testing.T, c vcase) {
	enc := []byte(c.str("encoded"))
	r, err := onion.ParseV4Response(enc)
	if err != nil {
		t.Fatal(err)
	}
	var headers map[string]string
	c.decode(&headers, "headers")
	if int64(r.Status) != c.int("code") || string(r.Body) != c.str("body") || len(r.Headers) != len(headers) {
		t.Fatalf("got %+v", r)
	}
	for k, v := range headers {
		if r.Headers[k] != v {
			t.Fatalf("header %s = %q, want %q", k, r.Headers[k], v)
		}
	}
	back, err := onion.EncodeV4Response(r)
	if err != nil || !bytes.Equal(back, enc) {
		t.Fatalf("re-encoded %q %v", back, err)
	}
}

// ovV4RequestPayload checks the v4_request_payload cases.
func ovV4RequestPayload(t *testing.T, c vcase) {
	req := &onion.ServerRequest{Method: c.str("method"), Endpoint: c.str("endpoint"), Headers: map[string]string{}}
	if c.has("headers") {
		var pairs [][2]string
		if err := json.Unmarshal(c.raw("headers"), &pairs); err == nil {
			for _, p := range pairs {
				req.Headers[p[0]] = p[1]
			}
		} else {
			c.decode(&req.Headers, "headers")
		}
	}
	switch {
	case c.has("body"):
		req.Body = []byte(c.str("body"))
	case c.has("body_hex"):
		req.Body = c.hex("body_hex")
	}
	got, err := onion.EncodeV4Request(req)
	if err != nil {
		t.Fatal(err)
	}
	if c.has("encoded_hex") {
		onionExpectHex(t, "payload", got, c.str("encoded_hex"))
	} else if string(got) != c.str("encoded_ascii") {
		t.Fatalf("payload %q, want %q", got, c.str("encoded_ascii"))
	}
	back, err := onion.ParseV4Request(got)
	if err != nil || back.Method != req.Method || back.Endpoint != req.Endpoint || !bytes.Equal(back.Body, req.Body) {
		t.Fatalf("parse back: %+v %v", back, err)
	}
}

// ovBuildOnion checks the build_onion cases.
func ovBuildOnion(t *testing.T, c vcase) {
	enc := onionEnc(t, c)
	var hops [][2]string
	c.decode(&hops, "hops")
	path := make([]onion.Hop, len(hops))
	for i, h := range hops {
		path[i] = onion.Hop{Ed25519: onionKey(t, h[0]), X25519: onionKey(t, h[1])}
	}
	var dj struct {
		Type     string `json:"type"`
		Ed25519  string `json:"ed25519"`
		X25519   string `json:"x25519"`
		Host     string `json:"host"`
		Target   string `json:"target"`
		Protocol string `json:"protocol"`
		Port     uint16 `json:"port"`
	}
	c.decode(&dj, "dest", "destination")
	var dest onion.Destination
	switch dj.Type {
	case "snode", "node":
		dest = onion.NodeDestination{Ed25519: onionKey(t, dj.Ed25519), X25519: onionKey(t, dj.X25519)}
	case "server":
		dest = onion.ServerDestination{Host: dj.Host, Target: dj.Target, Scheme: strings.TrimSuffix(dj.Protocol, "://"), Port: dj.Port, X25519: onionKey(t, dj.X25519)}
	default:
		t.Fatalf("unknown destination type %q", dj.Type)
	}
	var secs, nonces []string
	c.decode(&secs, "eph_secs")
	c.decode(&nonces, "nonces")
	if len(secs) != len(nonces) {
		t.Fatal("eph_secs and nonces differ in length")
	}
	// Build reads, innermost layer first, a private key and then a nonce per layer.
	var rnd bytes.Buffer
	for i := range secs {
		rnd.Write(onionHexBytes(t, secs[i]))
		rnd.Write(onionHexBytes(t, nonces[i]))
	}
	o, err := onion.Build(path, dest, c.hex("payload"), &onion.BuildOptions{EncType: enc, Rand: &rnd})
	if err != nil {
		t.Fatal(err)
	}
	if rnd.Len() != 0 {
		t.Fatalf("%d random bytes left unread", rnd.Len())
	}
	onionExpectHex(t, "onion", o.Body, c.str("onion"))
	if c.has("final_eph_pub") {
		k := o.DestinationKey()
		onionExpectHex(t, "final_eph_pub", k[:], c.str("final_eph_pub"))
	}
}

func onionEnc(t *testing.T, c vcase) onion.EncType {
	t.Helper()
	e, err := onion.ParseEncType(c.str("enc_type"))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func onionKeyPair(t *testing.T, c vcase, sec, pub string) onion.KeyPair {
	t.Helper()
	kp, err := onion.NewKeyPair(fixed32(t, c.hex(sec)))
	if err != nil {
		t.Fatal(err)
	}
	if c.has(pub) {
		onionExpectHex(t, pub, kp.Public[:], c.str(pub))
	}
	return kp
}

func onionKey(t *testing.T, s string) [32]byte {
	t.Helper()
	return fixed32(t, onionHexBytes(t, s))
}

func onionHexBytes(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func onionExpectHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if hex.EncodeToString(got) != want {
		t.Fatalf("%s:\n got  %x\n want %s", what, got, want)
	}
}
