package session

import (
	"bytes"
	"testing"

	"github.com/sessiongo/sdk/crypto"
)

// The benchmarks seal and open a 300-byte Content, which pads to 320 bytes: the size of a typical
// padded text message. session/testdata/libsodium_bench.c does the same work with libsodium for
// comparison (see its header for how to build and run it).
const benchContentSize = 300

func benchKeys(b *testing.B) (alice, bob *crypto.Keys, content []byte) {
	b.Helper()
	alice, err := crypto.KeysFromSeed(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	bob, err = crypto.KeysFromSeed(bytes.Repeat([]byte{2}, 32))
	if err != nil {
		b.Fatal(err)
	}
	content = bytes.Repeat([]byte{'x'}, benchContentSize)
	if n := len(Pad(content)); n != 320 {
		b.Fatalf("padded size %d", n)
	}
	return alice, bob, content
}

// BenchmarkSeal: pad, Ed25519 sign, sealed box (ephemeral key, X25519, XSalsa20-Poly1305).
func BenchmarkSeal(b *testing.B) {
	alice, bob, content := benchKeys(b)
	to := bob.AccountID()
	b.ReportAllocs()
	b.SetBytes(320)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Seal(alice, to, content); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen: sealed-box open, Ed25519 verify, sender key conversion (with libsodium's
// validity checks), unpad.
func BenchmarkOpen(b *testing.B) {
	alice, bob, content := benchKeys(b)
	ct, err := Seal(alice, bob.AccountID(), content)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(320)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := Open(bob, ct); err != nil {
			b.Fatal(err)
		}
	}
}
