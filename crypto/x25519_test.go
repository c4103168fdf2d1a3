package crypto_test

import (
	"crypto/ecdh"
	"encoding/hex"
	mrand "math/rand/v2"
	"testing"

	"github.com/sessiongo/sdk/crypto"
)

// X25519 and X25519Base agree with crypto/ecdh on random inputs, including non-canonical and
// high-bit-set points.
func TestX25519MatchesECDH(t *testing.T) {
	r := mrand.NewChaCha8([32]byte{7})
	for i := 0; i < 300; i++ {
		var priv, point, got, want [32]byte
		_, _ = r.Read(priv[:])
		_, _ = r.Read(point[:])
		if i%3 == 0 {
			point[31] |= 0x80 // the top bit is ignored
		}
		sk, err := ecdh.X25519().NewPrivateKey(priv[:])
		if err != nil {
			t.Fatal(err)
		}
		got = crypto.X25519Base(&priv)
		if hex.EncodeToString(got[:]) != hex.EncodeToString(sk.PublicKey().Bytes()) {
			t.Fatalf("base %x: got %x want %x", priv, got, sk.PublicKey().Bytes())
		}
		pk, err := ecdh.X25519().NewPublicKey(point[:])
		if err != nil {
			t.Fatal(err)
		}
		s, err := sk.ECDH(pk)
		got, ok := crypto.X25519(&priv, &point)
		if (err == nil) != ok {
			t.Fatalf("low-order verdicts differ: %v %v", err, ok)
		}
		if err == nil {
			copy(want[:], s)
			if got != want {
				t.Fatalf("x25519(%x, %x) = %x, want %x", priv, point, got, want)
			}
		}
	}
}

func TestX25519RFC7748(t *testing.T) {
	for _, v := range []struct{ k, u, out string }{
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
	} {
		k, u := [32]byte(mustHex(t, v.k)), [32]byte(mustHex(t, v.u))
		out, ok := crypto.X25519(&k, &u)
		if !ok || hex.EncodeToString(out[:]) != v.out {
			t.Fatalf("got %x want %s", out, v.out)
		}
	}
	// Small-order points give zero, reported as not ok.
	for _, u := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	} {
		k, p := [32]byte{1, 2, 3}, [32]byte(mustHex(t, u))
		if _, ok := crypto.X25519(&k, &p); ok {
			t.Fatalf("small-order point %s accepted", u)
		}
	}
}

func TestX25519BaseBatch(t *testing.T) {
	r := mrand.NewChaCha8([32]byte{8})
	for _, n := range []int{1, 2, 4, 15} {
		privs := make([][32]byte, n)
		for i := range privs {
			_, _ = r.Read(privs[i][:])
		}
		pubs := make([][32]byte, n)
		crypto.X25519BaseBatch(pubs, privs)
		for i := range privs {
			want := crypto.X25519Base(&privs[i])
			if pubs[i] != want {
				t.Fatalf("n=%d key %d: %x, want %x", n, i, pubs[i], want)
			}
		}
	}
	crypto.X25519BaseBatch(nil, nil)
}
