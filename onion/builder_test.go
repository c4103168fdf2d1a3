package onion

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// buildReference is Build as it was written before the layers were built in place: every
// layer framed into a new buffer and sealed into another. Build must give the same bytes.
func buildReference(t *testing.T, path []Hop, dest Destination, payload []byte, enc EncType, seed uint64) []byte {
	t.Helper()
	b, err := newBuilder(enc, testRand(seed), len(path)+1)
	if err != nil {
		t.Fatal(err)
	}
	seal := func(i int, plain []byte, to [32]byte) []byte {
		kp := b.keys[i]
		key, err := deriveKey(enc, RoleClient, &kp.Private, &kp.Public, &to)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := NewChannel(enc, key)
		if err != nil {
			t.Fatal(err)
		}
		out, err := ch.SealWithNonce(b.nonces[i], plain)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var route routingJSON
	route.open()
	var sealed []byte
	switch d := dest.(type) {
	case NodeDestination:
		sealed = seal(0, appendFrame(nil, payload, finalHeaders), d.X25519)
		route.hex("destination", d.Ed25519[:])
		route.str("enc_type", enc.String())
		route.hex("ephemeral_key", b.keys[0].Public[:])
	case ServerDestination:
		d, _ = d.normalized()
		sealed = seal(0, payload, d.X25519)
		route.str("enc_type", enc.String())
		route.hex("ephemeral_key", b.keys[0].Public[:])
		route.str("host", d.Host)
		route.str("method", "POST")
		route.int("port", int(d.Port))
		route.str("protocol", d.Scheme)
		route.str("target", d.Target)
	}
	for i := len(path) - 1; i >= 0; i-- {
		sealed = seal(len(path)-i, appendFrame(nil, sealed, route.close()), path[i].X25519)
		route.b = route.b[:0]
		route.open()
		if i > 0 {
			route.hex("destination", path[i].Ed25519[:])
		}
		route.str("enc_type", enc.String())
		route.hex("ephemeral_key", b.keys[len(path)-i].Public[:])
	}
	return appendFrame(nil, sealed, route.close())
}

func TestBuildInPlaceMatchesReference(t *testing.T) {
	var hops []Hop
	for i := range MaxHops - 1 {
		kp := testKeyPair(t, byte(i))
		hops = append(hops, Hop{Ed25519: [32]byte{byte(i), 7}, X25519: kp.Public})
	}
	destKP := testKeyPair(t, 99)
	dests := []Destination{
		NodeDestination{Ed25519: [32]byte{9}, X25519: destKP.Public},
		ServerDestination{Host: "example.org", X25519: destKP.Public},
		// A routing JSON longer than the room kept for it: the buffer grows.
		ServerDestination{Host: strings.Repeat("h", 700) + ".example", Scheme: "http", Port: 8080, X25519: destKP.Public},
	}
	seed := uint64(1)
	for _, enc := range []EncType{XChaCha20, AESGCM} {
		for _, n := range []int{1, 2, 3, MaxHops - 1} {
			for di, dest := range dests {
				for _, size := range []int{0, 1, 160, 4000, 70000} {
					t.Run(fmt.Sprintf("%v/%dhops/dest%d/%dB", enc, n, di, size), func(t *testing.T) {
						seed++
						payload := bytes.Repeat([]byte{byte(size)}, size)
						o, err := Build(hops[:n], dest, payload, &BuildOptions{EncType: enc, Rand: testRand(seed)})
						if err != nil {
							t.Fatal(err)
						}
						want := buildReference(t, hops[:n], dest, payload, enc, seed)
						if !bytes.Equal(o.Body, want) {
							t.Fatalf("Build gives %d bytes, the reference %d, not the same", len(o.Body), len(want))
						}
						if cap(o.Body) != len(o.Body) {
							t.Fatalf("Body has room behind it (cap %d, len %d)", cap(o.Body), len(o.Body))
						}
					})
				}
			}
		}
	}
}

// Routing JSON strings written directly are what the JSON encoder writes.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"xchacha20", "example.org", `a"b`, "a\\b", "\x7f", "<&>", "\u2028", "é", "\xff", "\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		if got, want := appendJSONString(nil, s), bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}); !bytes.Equal(got, want) {
			t.Fatalf("%q: %s, encoder %s", s, got, want)
		}
	})
}
