package blinding

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"filippo.io/edwards25519"

	"github.com/sessiongo/sdk/crypto"
)

func mustHex32(t testing.TB, s string) [32]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad hex32 %q", s)
	}
	return [32]byte(b)
}

func mustID(t testing.TB, s string) crypto.AccountID {
	t.Helper()
	id, err := crypto.ParseAccountID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func mustKeys(t testing.TB, seedHex string) *crypto.Keys {
	t.Helper()
	b, err := hex.DecodeString(seedHex)
	if err != nil {
		t.Fatal(err)
	}
	k, err := crypto.KeysFromSeed(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var testServerPK = [32]byte{0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89}

// smallOrderKeys are encodings libsodium refuses to multiply: the identity, a point of order 2,
// a point of order 8, a non-canonical encoding of the identity, and a point with torsion.
func smallOrderKeys(t testing.TB) map[string][32]byte {
	id := [32]byte{1}
	order2 := [32]byte{}
	order2[0] = 0xec
	for i := 1; i < 31; i++ {
		order2[i] = 0xff
	}
	order2[31] = 0x7f
	order8 := mustHex32(t, "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
	nonCanonical := [32]byte{}
	nonCanonical[0] = 0xee // y = p + 1 ≡ 1
	for i := 1; i < 31; i++ {
		nonCanonical[i] = 0xff
	}
	nonCanonical[31] = 0x7f
	// A valid key plus a point of order 8: on the curve, not in the prime-order subgroup.
	k := mustKeys(t, "0123456789abcdef0123456789abcdef")
	pk := k.Ed25519PublicKey()
	p, _ := new(edwards25519.Point).SetBytes(pk[:])
	t8, _ := new(edwards25519.Point).SetBytes(order8[:])
	mixed := [32]byte(new(edwards25519.Point).Add(p, t8).Bytes())
	return map[string][32]byte{"identity": id, "order2": order2, "order8": order8, "noncanonical": nonCanonical, "torsion": mixed}
}

func TestBlindedIDsRejectBadPoints(t *testing.T) {
	for name, pk := range smallOrderKeys(t) {
		if _, err := Blind15IDFromEd25519(pk, testServerPK); !errors.Is(err, ErrCannotBlind) {
			t.Errorf("%s: Blind15IDFromEd25519 err = %v, want ErrCannotBlind", name, err)
		}
		if _, err := Blind25IDFromEd25519(pk, testServerPK); !errors.Is(err, ErrCannotBlind) {
			t.Errorf("%s: Blind25IDFromEd25519 err = %v, want ErrCannotBlind", name, err)
		}
	}
	// X25519 keys whose Edwards form is invalid: u = -1 has no Edwards form; u = 0 maps to
	// y = -1, a point of order 2; u = 1 maps to the identity.
	minus1 := [32]byte{0xec}
	for i := 1; i < 31; i++ {
		minus1[i] = 0xff
	}
	minus1[31] = 0x7f
	for name, x := range map[string][32]byte{"u=-1": minus1, "u=0": {}, "u=1": {1}} {
		sid := crypto.NewAccountID(crypto.PrefixStandard, x)
		if _, err := Blind15IDs(sid, testServerPK); !errors.Is(err, ErrCannotBlind) {
			t.Errorf("%s: Blind15IDs err = %v, want ErrCannotBlind", name, err)
		}
		if _, err := Blind25ID(sid, testServerPK); !errors.Is(err, ErrCannotBlind) {
			t.Errorf("%s: Blind25ID err = %v, want ErrCannotBlind", name, err)
		}
		b15 := crypto.NewAccountID(crypto.PrefixBlinded15, x)
		if _, err := MatchesSessionID(sid, b15, testServerPK); !errors.Is(err, ErrCannotBlind) {
			t.Errorf("%s: MatchesSessionID err = %v, want ErrCannotBlind", name, err)
		}
	}
}

func TestMatchesSessionIDPrefixes(t *testing.T) {
	k := mustKeys(t, "0123456789abcdef0123456789abcdef")
	kp, err := Blind15KeyPair(k, testServerPK)
	if err != nil {
		t.Fatal(err)
	}
	sid := k.AccountID()
	if ok, err := MatchesSessionID(sid, kp.ID(), testServerPK); err != nil || !ok {
		t.Fatalf("own 15 ID: %v, %v", ok, err)
	}
	// The key of a 15 ID under other prefixes must not match, and must say why.
	for _, p := range []crypto.Prefix{crypto.PrefixStandard, crypto.PrefixUnblinded, crypto.PrefixVersionBlinded, crypto.PrefixGroup, 0x16, 0x14, 0x24, 0x35, 0x51} {
		other := crypto.NewAccountID(p, kp.ID().Key())
		ok, err := MatchesSessionID(sid, other, testServerPK)
		if ok || !errors.Is(err, ErrNotBlindedID) {
			t.Errorf("prefix %s: %v, %v; want false, ErrNotBlindedID", p, ok, err)
		}
	}
	// The session side must be 05.
	for _, p := range []crypto.Prefix{crypto.PrefixBlinded15, crypto.PrefixUnblinded, 0x04, 0x06, 0x50} {
		bad := crypto.NewAccountID(p, sid.Key())
		ok, err := MatchesSessionID(bad, kp.ID(), testServerPK)
		if ok || !errors.Is(err, crypto.ErrInvalidAccountID) {
			t.Errorf("session prefix %s: %v, %v; want false, ErrInvalidAccountID", p, ok, err)
		}
	}
	// Another server gives another ID.
	other := testServerPK
	other[31] = 1
	if ok, err := MatchesSessionID(sid, kp.ID(), other); err != nil || ok {
		t.Fatalf("other server: %v, %v; want false", ok, err)
	}
}

func TestKeyPairsAgreeWithIDs(t *testing.T) {
	// Seeds whose Ed25519 key is negative and positive: 25 needs the sign adjustment, and the
	// 15 ID from the 05 ID is then the flipped candidate.
	for _, seed := range []string{"0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210", "00112233445566778899aabbccddeeff", "8659efdcbe0949e0f81141e6d397e8be75f45d09262f209d5950e97989eb43c7"} {
		k := mustKeys(t, seed)
		k15, err := Blind15KeyPair(k, testServerPK)
		if err != nil {
			t.Fatal(err)
		}
		ids, err := Blind15IDs(k.AccountID(), testServerPK)
		if err != nil {
			t.Fatal(err)
		}
		neg := k.Ed25519PublicKey()[31]&0x80 != 0
		if want := ids[map[bool]int{false: 0, true: 1}[neg]]; k15.ID() != want {
			t.Errorf("%s: 15 key pair %s, want candidate %s (negative=%v)", seed, k15.ID(), want, neg)
		}
		id15, err := Blind15IDFromEd25519(k.Ed25519PublicKey(), testServerPK)
		if err != nil || id15 != k15.ID() {
			t.Errorf("Blind15IDFromEd25519 = %s, %v; want %s", id15, err, k15.ID())
		}
		k25, err := Blind25KeyPair(k, testServerPK)
		if err != nil {
			t.Fatal(err)
		}
		id25, err := Blind25ID(k.AccountID(), testServerPK)
		if err != nil || id25 != k25.ID() {
			t.Errorf("Blind25ID = %s, %v; want %s", id25, err, k25.ID())
		}
		id25e, err := Blind25IDFromEd25519(k.Ed25519PublicKey(), testServerPK)
		if err != nil || id25e != k25.ID() {
			t.Errorf("Blind25IDFromEd25519 = %s, %v; want %s", id25e, err, k25.ID())
		}
		for _, kp := range []*KeyPair{k15, k25} {
			msg := []byte("message " + seed)
			sig := kp.Sign(msg)
			pub := kp.PublicKey()
			if !ed25519.Verify(pub[:], msg, sig[:]) {
				t.Errorf("%s: signature does not verify", kp)
			}
			priv := kp.PrivateScalar()
			s, err := new(edwards25519.Scalar).SetCanonicalBytes(priv[:])
			if err != nil || [32]byte(new(edwards25519.Point).ScalarBaseMult(s).Bytes()) != pub {
				t.Errorf("%s: private scalar does not give the public key", kp)
			}
			if kp.ServerPK() != testServerPK {
				t.Errorf("ServerPK mismatch")
			}
		}
		// The seed-nonce variant signs differently but just as validly.
		d, err := Blind15KeyPair(k, testServerPK, SeedNonce())
		if err != nil || d.ID() != k15.ID() {
			t.Fatalf("SeedNonce key pair: %v", err)
		}
		s1, s2 := d.Sign([]byte("x")), k15.Sign([]byte("x"))
		pub := d.PublicKey()
		if s1 == s2 || !ed25519.Verify(pub[:], []byte("x"), s1[:]) {
			t.Errorf("SeedNonce signature: equal=%v", s1 == s2)
		}
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	k := mustKeys(t, "0123456789abcdef0123456789abcdef")
	kp, _ := Blind25KeyPair(k, testServerPK)
	v := NewVersionKeyPair(k)
	priv := kp.PrivateScalar()
	vpriv := v.PrivateKey()
	secrets := []string{hex.EncodeToString(priv[:]), hex.EncodeToString(vpriv[:32])}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%d", "%q"} {
		for _, x := range []any{kp, v, *kp, *v, []*KeyPair{kp}} {
			out := strings.ToLower(fmt.Sprintf(verb, x))
			for _, s := range secrets {
				if strings.Contains(out, s) || strings.Contains(out, s[:16]) {
					t.Errorf("%s of %T prints a secret: %s", verb, x, out)
				}
			}
		}
	}
}

func TestSignVersionCheckPlatform(t *testing.T) {
	v := NewVersionKeyPair(mustKeys(t, "0123456789abcdef0123456789abcdef"))
	for _, p := range []Platform{"", "linux", "Desktop", "desktop&x=1"} {
		if _, err := v.SignVersionCheck(p, time.Unix(1, 0)); !errors.Is(err, ErrInvalidPlatform) {
			t.Errorf("platform %q: err = %v, want ErrInvalidPlatform", p, err)
		}
	}
	for _, p := range []Platform{PlatformAndroid, PlatformDesktop, PlatformIOS} {
		sig, err := v.SignVersionCheck(p, time.Unix(1700000000, 0))
		pub := v.PublicKey()
		msg := []byte("1700000000GET/session_version?platform=" + string(p))
		if err != nil || !ed25519.Verify(pub[:], msg, sig[:]) {
			t.Errorf("platform %s: %v", p, err)
		}
	}
}

// FuzzBlindedIDs feeds arbitrary keys and IDs to every ID derivation and the matcher: they
// must never panic, must fail only with the documented errors, and must agree with each other.
func FuzzBlindedIDs(f *testing.F) {
	f.Add(make([]byte, 33), make([]byte, 33), make([]byte, 32))
	sid := mustID(f, "05fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f")
	b15 := mustID(f, "15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844")
	f.Add(sid[:], b15[:], testServerPK[:])
	for _, k := range smallOrderKeys(f) {
		f.Add(append([]byte{5}, k[:]...), b15[:], k[:])
	}
	f.Fuzz(func(t *testing.T, a, b, spk []byte) {
		if len(a) != 33 || len(b) != 33 || len(spk) != 32 {
			return
		}
		sid, bid, server := crypto.AccountID(a), crypto.AccountID(b), [32]byte(spk)
		ok, err := MatchesSessionID(sid, bid, server)
		if err != nil {
			if ok || !(errors.Is(err, ErrCannotBlind) || errors.Is(err, ErrNotBlindedID) || errors.Is(err, crypto.ErrInvalidAccountID)) {
				t.Fatalf("MatchesSessionID: %v, %v", ok, err)
			}
		}
		ids, err15 := Blind15IDs(sid, server)
		id25, err25 := Blind25ID(sid, server)
		if (err15 == nil) != (err25 == nil) {
			t.Fatalf("Blind15IDs err %v but Blind25ID err %v", err15, err25)
		}
		if err15 == nil {
			if ok, err := MatchesSessionID(sid, ids[1], server); !ok || err != nil {
				t.Fatalf("second 15 candidate does not match: %v", err)
			}
			if ok, err := MatchesSessionID(sid, id25, server); !ok || err != nil {
				t.Fatalf("25 ID does not match: %v", err)
			}
		}
		for _, fn := range []func([32]byte, [32]byte) (crypto.AccountID, error){Blind15IDFromEd25519, Blind25IDFromEd25519} {
			if _, err := fn(bid.Key(), server); err != nil && !errors.Is(err, ErrCannotBlind) {
				t.Fatalf("from Ed25519: %v", err)
			}
		}
	})
}
