package crypto

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"

	"filippo.io/edwards25519"
	"filippo.io/edwards25519/field"
	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/nacl/box"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustKeys(t testing.TB, seedHex string) *Keys {
	t.Helper()
	k, err := KeysFromSeed(mustHex(t, seedHex))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func randomKeys(t testing.TB) *Keys {
	t.Helper()
	k, err := GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The upstream libsession vector (tests/test_session_encrypt.cpp).
func TestEncryptForRecipientDeterministicVector(t *testing.T) {
	sender := mustKeys(t, "0123456789abcdef0123456789abcdef00000000000000000000000000000000")
	recipient := [32]byte(mustHex(t, "aa654f00fc39fc69fd0db829410ca38177d7732a8d2f0934ab3872ac56d5aa74"))
	want := mustHex(t, "208f96785db92319bc7a14afecc01e17bde912d17bbb32834c03ea63b1862c2a1b730e0725ef75b2f1a276db584c59a0ed9b5497bcb9f4effa893b5cb8b04dbe7a6ab457ebf972f03b006dd4572980a725399616d40184b86aa3b7b218bdc6dd7c1adccda8ef4897f0f458492240b39079c27a6c791067ab26a03067a7602b50f0434639906f93e548f909d5286edde365ebddc146")
	got, err := EncryptForRecipientDeterministic(sender, recipient, []byte("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got  %x\nwant %x", got, want)
	}

	rk := mustKeys(t, "00112233445566778899aabbccddeeff00000000000000000000000000000000")
	msg, edpk, id, err := DecryptIncoming(rk, got)
	if err != nil {
		t.Fatal(err)
	}
	if string(msg) != "hello" || hex.EncodeToString(edpk[:]) != "4cb76fdc6d32278e3f83dbf608360ecc6b65727934b85d2fb86862ff98c46ab7" ||
		id.String() != "05d2ad010eeb72d72e561d9de7bd7b6989af77dcabffa03a5111a6c859ae5c3a72" {
		t.Fatalf("got %q %x %s", msg, edpk, id)
	}
	// Same bytes for the same inputs; different bytes for another message.
	again, _ := EncryptForRecipientDeterministic(sender, recipient, []byte("hello"))
	other, _ := EncryptForRecipientDeterministic(sender, recipient, []byte("hellp"))
	if !bytes.Equal(again, got) || bytes.Equal(other[:32], got[:32]) {
		t.Fatal("deterministic variant is not a function of its inputs")
	}
	// The wrong recipient cannot open it.
	if _, _, _, err := DecryptIncoming(sender, got); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("wrong recipient: %v", err)
	}
}

func TestSealRoundTrip(t *testing.T) {
	alice, bob := randomKeys(t), randomKeys(t)
	for _, n := range []int{0, 1, 31, 32, 33, 159, 320, 4096} {
		msg := make([]byte, n)
		_, _ = rand.Read(msg)
		ct, err := EncryptForRecipient(alice, bob.X25519PublicKey(), msg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != n+SealOverhead {
			t.Fatalf("len %d: ciphertext of %d bytes", n, len(ct))
		}
		got, edpk, id, err := DecryptIncoming(bob, ct)
		if err != nil {
			t.Fatalf("len %d: %v", n, err)
		}
		if !bytes.Equal(got, msg) || edpk != alice.Ed25519PublicKey() || id != alice.AccountID() {
			t.Fatalf("len %d: wrong result", n)
		}
		if cap(got) != len(got) {
			t.Fatalf("len %d: returned message exposes the rest of the buffer", n)
		}
		// Random ephemeral keys: two encryptions differ.
		ct2, _ := EncryptForRecipient(alice, bob.X25519PublicKey(), msg, nil)
		if bytes.Equal(ct, ct2) {
			t.Fatal("two encryptions are equal")
		}
	}
}

// TestSealInteropXCrypto checks the sealed box against golang.org/x/crypto/nacl/box, an
// independent implementation of libsodium's crypto_box_seal, in both directions.
func TestSealInteropXCrypto(t *testing.T) {
	alice, bob := randomKeys(t), randomKeys(t)
	bobPub, bobPriv := bob.X25519PublicKey(), bob.X25519PrivateKey()
	msg := []byte("interop")

	ct, err := EncryptForRecipient(alice, bobPub, msg, nil)
	if err != nil {
		t.Fatal(err)
	}
	inner, ok := box.OpenAnonymous(nil, ct, &bobPub, &bobPriv)
	if !ok {
		t.Fatal("x/crypto cannot open our sealed box")
	}
	alicePK := alice.Ed25519PublicKey()
	if !bytes.Equal(inner[:len(msg)], msg) || !bytes.Equal(inner[len(msg):len(msg)+32], alicePK[:]) {
		t.Fatal("inner layout differs from M || A || SIG")
	}
	signed := append(append(append([]byte{}, msg...), alicePK[:]...), bobPub[:]...)
	if !ed25519.Verify(alicePK[:], signed, inner[len(msg)+32:]) {
		t.Fatal("signature is not over M || A || Y")
	}

	// And the other way: a box sealed by x/crypto opens here.
	ct2, err := box.SealAnonymous(nil, inner, &bobPub, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	got, _, id, err := DecryptIncoming(bob, ct2)
	if err != nil || !bytes.Equal(got, msg) || id != alice.AccountID() {
		t.Fatalf("x/crypto-sealed message: %q %s %v", got, id, err)
	}
}

// sealInner seals an arbitrary inner message to bob with x/crypto, for building bad inputs.
func sealInner(t *testing.T, bob *Keys, inner []byte) []byte {
	t.Helper()
	pub := bob.X25519PublicKey()
	ct, err := box.SealAnonymous(nil, inner, &pub, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

func TestDecryptIncomingErrors(t *testing.T) {
	alice, bob, carol := randomKeys(t), randomKeys(t), randomKeys(t)
	msg := []byte("attack at dawn")
	ct, err := EncryptForRecipient(alice, bob.X25519PublicKey(), msg, nil)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("too short", func(t *testing.T) {
		for _, n := range []int{0, 1, 48, SealOverhead - 1} {
			if _, _, _, err := DecryptIncoming(bob, make([]byte, n)); !errors.Is(err, ErrCiphertextTooShort) {
				t.Fatalf("%d bytes: %v", n, err)
			}
		}
	})
	t.Run("tampered", func(t *testing.T) {
		for i := 0; i < len(ct); i++ {
			bad := bytes.Clone(ct)
			bad[i] ^= 0x01
			if _, _, _, err := DecryptIncoming(bob, bad); !errors.Is(err, ErrDecrypt) {
				t.Fatalf("flipped byte %d: %v", i, err)
			}
		}
		if _, _, _, err := DecryptIncoming(bob, ct[:len(ct)-1]); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("truncated: %v", err)
		}
	})
	t.Run("wrong recipient", func(t *testing.T) {
		if _, _, _, err := DecryptIncoming(carol, ct); !errors.Is(err, ErrDecrypt) {
			t.Fatal(err)
		}
	})
	t.Run("small-order ephemeral key", func(t *testing.T) {
		bad := bytes.Clone(ct)
		copy(bad, make([]byte, 32)) // u = 0
		if _, _, _, err := DecryptIncoming(bob, bad); !errors.Is(err, ErrDecrypt) {
			t.Fatal(err)
		}
	})
	t.Run("signature for another recipient", func(t *testing.T) {
		// What alice sent carol, re-sealed to bob: the signature binds carol's key.
		toCarol, _ := EncryptForRecipient(alice, carol.X25519PublicKey(), msg, nil)
		inner, _, _, err := openRaw(carol, toCarol)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := DecryptIncoming(bob, sealInner(t, bob, inner)); !errors.Is(err, ErrBadSignature) {
			t.Fatal(err)
		}
	})
	t.Run("corrupt signature", func(t *testing.T) {
		inner, _, _, _ := openRaw(bob, ct)
		inner[len(inner)-1] ^= 0x80
		if _, _, _, err := DecryptIncoming(bob, sealInner(t, bob, inner)); !errors.Is(err, ErrBadSignature) {
			t.Fatal(err)
		}
	})
	t.Run("small-order sender key", func(t *testing.T) {
		// A = identity; then R = [S]B makes a signature that plain Ed25519 verification accepts.
		s, err := new(edwards25519.Scalar).SetUniformBytes(bytes.Repeat([]byte{3}, 64))
		if err != nil {
			t.Fatal(err)
		}
		r := new(edwards25519.Point).ScalarBaseMult(s)
		identity := edwards25519.NewIdentityPoint().Bytes()
		inner := append(append(append([]byte{}, msg...), identity...), r.Bytes()...)
		inner = append(inner, s.Bytes()...)
		signed := append(append(append([]byte{}, msg...), identity...), bob.xPub[:]...)
		if !ed25519.Verify(identity, signed, inner[len(msg)+32:]) {
			t.Fatal("test setup: crafted signature does not verify")
		}
		_, _, _, err = DecryptIncoming(bob, sealInner(t, bob, inner))
		if !errors.Is(err, ErrBadSenderKey) || !errors.Is(err, ErrInvalidPublicKey) {
			t.Fatal(err)
		}
	})
	t.Run("small-order R", func(t *testing.T) {
		// R = identity and S = k·a verifies under Go's cofactorless check, but libsodium
		// rejects small-order R, and so do we.
		a, err := new(edwards25519.Scalar).SetBytesWithClamping(alice.xPriv[:])
		if err != nil {
			t.Fatal(err)
		}
		A := alice.Ed25519PublicKey()
		R := edwards25519.NewIdentityPoint().Bytes()
		signed := append(append(append([]byte{}, msg...), A[:]...), bob.xPub[:]...)
		h := sha512.New()
		h.Write(R)
		h.Write(A[:])
		h.Write(signed)
		k, err := new(edwards25519.Scalar).SetUniformBytes(h.Sum(nil))
		if err != nil {
			t.Fatal(err)
		}
		S := new(edwards25519.Scalar).Multiply(k, a)
		sig := append(append([]byte{}, R...), S.Bytes()...)
		if !ed25519.Verify(A[:], signed, sig) {
			t.Fatal("test setup: crafted signature does not verify")
		}
		inner := append(append(append([]byte{}, msg...), A[:]...), sig...)
		if _, _, _, err := DecryptIncoming(bob, sealInner(t, bob, inner)); !errors.Is(err, ErrBadSignature) {
			t.Fatal(err)
		}
	})
	t.Run("nil keys", func(t *testing.T) {
		if _, _, _, err := DecryptIncoming(nil, ct); !errors.Is(err, ErrNilKeys) {
			t.Fatal(err)
		}
		if _, err := EncryptForRecipient(nil, bob.xPub, msg, nil); !errors.Is(err, ErrNilKeys) {
			t.Fatal(err)
		}
		if _, err := EncryptForRecipientDeterministic(nil, bob.xPub, msg); !errors.Is(err, ErrNilKeys) {
			t.Fatal(err)
		}
	})
}

// openRaw opens a sealed box without checking the signature, for building test inputs.
func openRaw(k *Keys, ct []byte) ([]byte, [32]byte, AccountID, error) {
	pub, priv := k.X25519PublicKey(), k.X25519PrivateKey()
	inner, ok := box.OpenAnonymous(nil, ct, &pub, &priv)
	if !ok {
		return nil, [32]byte{}, AccountID{}, ErrDecrypt
	}
	return inner, [32]byte{}, AccountID{}, nil
}

func TestEncryptForRecipientErrors(t *testing.T) {
	alice := randomKeys(t)
	// Small-order recipient keys give a zero shared secret; libsodium's crypto_box refuses them.
	for _, u := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
	} {
		r := [32]byte(mustHex(t, u))
		if _, err := EncryptForRecipient(alice, r, []byte("x"), nil); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("recipient %s: %v", u, err)
		}
		if _, err := EncryptForRecipientDeterministic(alice, r, []byte("x")); !errors.Is(err, ErrInvalidPublicKey) {
			t.Errorf("recipient %s (deterministic): %v", u, err)
		}
	}
	// A failing random source is reported.
	if _, err := EncryptForRecipient(alice, alice.xPub, []byte("x"), bytes.NewReader(make([]byte, 31))); err == nil {
		t.Error("short random source accepted")
	}
	// The random source is used: the same bytes give the same ciphertext.
	seed := bytes.Repeat([]byte{7}, 32)
	c1, err1 := EncryptForRecipient(alice, alice.xPub, []byte("x"), bytes.NewReader(seed))
	c2, err2 := EncryptForRecipient(alice, alice.xPub, []byte("x"), bytes.NewReader(seed))
	if err1 != nil || err2 != nil || !bytes.Equal(c1, c2) {
		t.Errorf("injected randomness not used: %v %v", err1, err2)
	}
}

// TestX25519 checks the X25519 wrapper against crypto/ecdh.
func TestX25519(t *testing.T) {
	for i := 0; i < 200; i++ {
		var a, b [32]byte
		_, _ = rand.Read(a[:])
		_, _ = rand.Read(b[:])
		if i == 0 {
			a = [32]byte{} // clamping makes even zero a valid scalar
		}
		ka, err := ecdh.X25519().NewPrivateKey(a[:])
		if err != nil {
			t.Fatal(err)
		}
		// b as an arbitrary u-coordinate, including ones with the top bit set.
		pb, err := ecdh.X25519().NewPublicKey(b[:])
		if err != nil {
			t.Fatal(err)
		}
		want, err := ka.ECDH(pb)
		got, ok := X25519(&a, &b)
		if err != nil || !ok {
			t.Fatalf("X25519(%x, %x): ok=%v, ecdh: %v", a, b, ok, err)
		}
		if !bytes.Equal(got[:], want) {
			t.Fatalf("X25519(%x, %x) = %x, want %x", a, b, got, want)
		}
	}
	// Small-order points, including non-canonical encodings, fail as in crypto/ecdh.
	for _, u := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"0100000000000000000000000000000000000000000000000000000000000000",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
		"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
		"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
	} {
		p := [32]byte(mustHex(t, u))
		var a [32]byte
		_, _ = rand.Read(a[:])
		if _, ok := X25519(&a, &p); ok {
			t.Errorf("small-order point %s accepted", u)
		}
		ka, _ := ecdh.X25519().NewPrivateKey(a[:])
		pb, _ := ecdh.X25519().NewPublicKey(p[:])
		if _, err := ka.ECDH(pb); err == nil {
			t.Errorf("test setup: crypto/ecdh accepts %s", u)
		}
	}
}

// TestParseSenderKey checks the receive path's key checks against ParseEd25519Point on valid
// keys, keys with a torsion component, small-order and non-canonical encodings and random bytes.
func TestParseSenderKey(t *testing.T) {
	t8, err := new(edwards25519.Point).SetBytes(smallOrderEncodings[2][:]) // order 8
	if err != nil {
		t.Fatal(err)
	}
	var inputs [][32]byte
	for i := 0; i < 50; i++ {
		k := randomKeys(t)
		inputs = append(inputs, k.Ed25519PublicKey())
		// The key plus each of the seven non-zero points of the order-8 torsion group.
		p, _ := new(edwards25519.Point).SetBytes(k.edPub[:])
		q := new(edwards25519.Point).Set(p)
		for j := 1; j < 8; j++ {
			q.Add(q, t8)
			inputs = append(inputs, [32]byte(q.Bytes()))
		}
		var r [32]byte
		_, _ = rand.Read(r[:])
		inputs = append(inputs, r)
	}
	for _, e := range smallOrderEncodings {
		inputs = append(inputs, e)
		e[31] |= 0x80
		inputs = append(inputs, e)
	}
	// Non-canonical encodings of valid points: y + p for small y.
	for y := byte(0); y < 19; y++ {
		e := [32]byte(mustHex(t, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
		e[0] += y
		inputs = append(inputs, e)
	}
	accepted, torsion := 0, 0
	for _, in := range inputs {
		want := referenceParse(in)
		if _, err := ParseEd25519Point(in); (err == nil) != (want == nil) {
			t.Fatalf("%x: ParseEd25519Point %v, reference %v", in, err, want)
		}
		p, got := parseSenderKey(&in)
		if got != nil && !errors.Is(got, ErrInvalidPublicKey) {
			t.Fatalf("%x: %v", in, got)
		}
		if got == nil {
			u, err := new(field.Element).SetBytes(p.BytesMontgomery())
			if err != nil {
				t.Fatal(err)
			}
			if !inPrimeOrderSubgroup(u) {
				got = ErrInvalidPublicKey
				torsion++
			}
		}
		if (want == nil) != (got == nil) {
			t.Fatalf("%x: reference %v, parseSenderKey+inPrimeOrderSubgroup %v", in, want, got)
		}
		if got == nil {
			accepted++
		}
	}
	if accepted < 50 || torsion < 350 {
		t.Fatalf("only %d keys accepted, %d rejected by the subgroup check", accepted, torsion)
	}
}

// referenceParse is the plain-definition check the fast one must match: canonical (the bytes
// re-encode to themselves), not of small order ([8]P ≠ O), and in the prime-order subgroup
// ([ℓ−1]P + P = O).
func referenceParse(pk [32]byte) error {
	p, err := new(edwards25519.Point).SetBytes(pk[:])
	if err != nil || [32]byte(p.Bytes()) != pk {
		return ErrInvalidPublicKey
	}
	id := edwards25519.NewIdentityPoint()
	if new(edwards25519.Point).MultByCofactor(p).Equal(id) == 1 {
		return ErrInvalidPublicKey
	}
	lMinus1 := [32]byte{
		0xec, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
	}
	s, err := new(edwards25519.Scalar).SetCanonicalBytes(lMinus1[:])
	if err != nil {
		panic(err)
	}
	q := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(s, p, edwards25519.NewScalar())
	if q.Add(q, p).Equal(id) != 1 {
		return ErrInvalidPublicKey
	}
	return nil
}

// TestVerifyAndConvert checks the receive path's verification against crypto/ed25519 and its
// conversion against Ed25519PublicToX25519.
func TestVerifyAndConvert(t *testing.T) {
	for i := 0; i < 100; i++ {
		k := randomKeys(t)
		pk := k.Ed25519PublicKey()
		A, err := parseSenderKey(&pk)
		if err != nil {
			t.Fatal(err)
		}
		msg := make([]byte, i*7)
		_, _ = rand.Read(msg)
		sig := k.Sign(msg)
		if i%3 == 1 {
			sig[i%64] ^= byte(1 << (i % 8))
		}
		if i%3 == 2 && len(msg) > 0 {
			msg[0] ^= 1
		}
		want := ed25519.Verify(pk[:], msg, sig[:])
		u, got := verifyAndConvert(A, &pk, msg, &sig)
		x := [32]byte(u.Bytes())
		if got != want {
			t.Fatalf("case %d: verifyAndConvert = %v, crypto/ed25519 = %v", i, got, want)
		}
		if i%3 == 0 && !want {
			t.Fatal("valid signature rejected")
		}
		if got && x != k.X25519PublicKey() {
			t.Fatalf("case %d: X25519 form %x, want %x", i, x, k.X25519PublicKey())
		}
	}
	// S ≥ ℓ is rejected.
	k := randomKeys(t)
	pk := k.Ed25519PublicKey()
	A, _ := parseSenderKey(&pk)
	msg := []byte("m")
	sig := k.Sign(msg)
	copy(sig[32:], mustHex(t, "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"))
	if _, ok := verifyAndConvert(A, &pk, msg, &sig); ok {
		t.Fatal("non-canonical S accepted")
	}
}

// TestSignWithEphemeral checks the batched signing against Keys.Sign (crypto/ed25519) and the
// ephemeral key against crypto/ecdh.
func TestSignWithEphemeral(t *testing.T) {
	for i := 0; i < 100; i++ {
		k := randomKeys(t)
		msg := make([]byte, i*5)
		_, _ = rand.Read(msg)
		var eph [32]byte
		_, _ = rand.Read(eph[:])
		sig, epk := signWithEphemeral(k, msg, &eph)
		if want := k.Sign(msg); sig != want {
			t.Fatalf("case %d: signature %x, want %x", i, sig, want)
		}
		ke, err := ecdh.X25519().NewPrivateKey(eph[:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(epk[:], ke.PublicKey().Bytes()) {
			t.Fatalf("case %d: ephemeral key %x, want %x", i, epk, ke.PublicKey().Bytes())
		}
	}
}

// TestSmallOrderEncodings derives the small-order encodings from the curve: every multiple of an
// order-8 point, with the sign bit cleared, plus the non-canonical encodings p and p+1 of y = 0
// and y = 1 (p−1 is canonical: y = −1).
func TestSmallOrderEncodings(t *testing.T) {
	p8, err := new(edwards25519.Point).SetBytes(smallOrderEncodings[2][:])
	if err != nil {
		t.Fatal(err)
	}
	var q edwards25519.Point
	q.Set(p8)
	id := edwards25519.NewIdentityPoint()
	want := map[[32]byte]bool{}
	for i := 0; i < 8; i++ {
		e := [32]byte(q.Bytes())
		e[31] &= 0x7f
		want[e] = true
		if i < 7 && q.Equal(id) == 1 {
			t.Fatalf("point %x has order %d, not 8", smallOrderEncodings[2], i+1)
		}
		q.Add(&q, p8)
	}
	if q.Equal(p8) != 1 {
		t.Fatal("not of order 8")
	}
	p := [32]byte(mustHex(t, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"))
	p1 := p
	p1[0]++
	want[p], want[p1] = true, true
	if len(want) != len(smallOrderEncodings) {
		t.Fatalf("derived %d encodings, table has %d", len(want), len(smallOrderEncodings))
	}
	for _, e := range smallOrderEncodings {
		if !want[e] {
			t.Errorf("table entry %x is not a small-order encoding", e)
		}
		if !hasSmallOrderEncoding(e[:]) {
			t.Errorf("%x not detected", e)
		}
		e[31] |= 0x80
		if !hasSmallOrderEncoding(e[:]) {
			t.Errorf("%x with sign bit not detected", e)
		}
	}
	b := edwards25519.NewGeneratorPoint().Bytes()
	if hasSmallOrderEncoding(b) {
		t.Error("base point reported as small order")
	}
}

// The upstream libsession vector (tests/test_session_encrypt.cpp).
func TestDecryptPushNotification(t *testing.T) {
	key := [32]byte(mustHex(t, "0123456789abcdef0123456789abcdeffedcba9876543210fedcba9876543210"))
	payload := mustHex(t, "00112233445566778899aabbccddeeff00ffeeddccbbaa991bcba42892762dbeecbfb1a375fab4aca5f0991e99eb0344ceeafa")
	got, err := DecryptPushNotification(key, payload)
	if err != nil || string(got) != "TestMessage" {
		t.Fatalf("%q %v", got, err)
	}
	// Trailing zero padding is stripped, inner zeros are kept.
	aead, _ := chacha20poly1305.NewX(key[:])
	nonce := make([]byte, 24)
	padded := aead.Seal(append([]byte{}, nonce...), nonce, []byte("a\x00b\x00\x00\x00"), nil)
	if got, err := DecryptPushNotification(key, padded); err != nil || string(got) != "a\x00b" {
		t.Fatalf("%q %v", got, err)
	}
	bad := bytes.Clone(payload)
	bad[len(bad)-1] ^= 1
	if _, err := DecryptPushNotification(key, bad); !errors.Is(err, ErrDecrypt) {
		t.Fatal(err)
	}
	if _, err := DecryptPushNotification(key, payload[:39]); !errors.Is(err, ErrCiphertextTooShort) {
		t.Fatal(err)
	}
}

// TestInPrimeOrderSubgroup compares the halving test with [ℓ]P = 0 on random points in every
// coset of the prime-order subgroup.
func TestInPrimeOrderSubgroup(t *testing.T) {
	t8, err := new(edwards25519.Point).SetBytes(smallOrderEncodings[2][:])
	if err != nil {
		t.Fatal(err)
	}
	id := edwards25519.NewIdentityPoint()
	var lMinus1 [32]byte
	copy(lMinus1[:], mustHex(t, "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"))
	l1, err := new(edwards25519.Scalar).SetCanonicalBytes(lMinus1[:])
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200; i++ {
		var wide [64]byte
		_, _ = rand.Read(wide[:])
		s, _ := new(edwards25519.Scalar).SetUniformBytes(wide[:])
		p := new(edwards25519.Point).ScalarBaseMult(s)
		for j := 0; j < 8; j++ {
			if p.Equal(id) == 1 || new(edwards25519.Point).MultByCofactor(p).Equal(id) == 1 {
				p.Add(p, t8)
				continue
			}
			lp := new(edwards25519.Point).VarTimeDoubleScalarBaseMult(l1, p, edwards25519.NewScalar())
			want := lp.Add(lp, p).Equal(id) == 1
			if want != (j == 0) {
				t.Fatalf("test setup: coset %d, [ℓ]P = 0 is %v", j, want)
			}
			u, _ := new(field.Element).SetBytes(p.BytesMontgomery())
			if got := inPrimeOrderSubgroup(u); got != want {
				t.Fatalf("point %x (coset %d): inPrimeOrderSubgroup = %v, want %v", p.Bytes(), j, got, want)
			}
			p.Add(p, t8)
		}
	}
}

func ExampleEncryptForRecipient() {
	alice, _ := KeysFromSeed([]byte("alice's 16 bytes"))
	bob, _ := KeysFromSeed([]byte("bob's 16 bytes!!"))

	// msg is normally a padded, serialized Content (package session does that).
	ct, err := EncryptForRecipient(alice, bob.X25519PublicKey(), []byte("hello bob"), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(ct) - SealOverhead)
	// Output: 9
}

func ExampleDecryptIncoming() {
	alice, _ := KeysFromSeed([]byte("alice's 16 bytes"))
	bob, _ := KeysFromSeed([]byte("bob's 16 bytes!!"))
	ct, _ := EncryptForRecipient(alice, bob.X25519PublicKey(), []byte("hello bob"), nil)

	msg, _, sender, err := DecryptIncoming(bob, ct)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%s from alice: %v\n", msg, sender == alice.AccountID())

	// Anyone else gets an error that says why.
	_, _, _, err = DecryptIncoming(alice, ct)
	fmt.Println(errors.Is(err, ErrDecrypt))
	// Output:
	// hello bob from alice: true
	// true
}
