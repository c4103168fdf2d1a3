package blinding

import (
	"testing"

	"github.com/sessiongo/sdk/crypto"
)

func BenchmarkBlind15ID(b *testing.B) {
	sid := mustID(b, "05fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Blind15IDs(sid, testServerPK); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatchesSessionID(b *testing.B) {
	sid := mustID(b, "05fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f")
	ids, _ := Blind15IDs(sid, testServerPK)
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := MatchesSessionID(sid, ids[1], testServerPK); !ok || err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlind25Sign(b *testing.B) {
	kp, err := Blind25KeyPair(mustKeys(b, "0123456789abcdef0123456789abcdef"), testServerPK)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, 256)
	b.ReportAllocs()
	for b.Loop() {
		kp.Sign(msg)
	}
}

func benchDM(b *testing.B) (dmParty, dmParty, []byte, []byte) {
	a, c := newParty(b, "0123456789abcdef0123456789abcdef"), newParty(b, "fedcba9876543210fedcba9876543210")
	msg := make([]byte, 319) // a padded short text message
	data, err := EncryptDM(a.keys, testServerPK, c.id15, msg, nil)
	if err != nil {
		b.Fatal(err)
	}
	return a, c, msg, data
}

func BenchmarkBlindedDMEncrypt(b *testing.B) {
	a, c, msg, _ := benchDM(b)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncryptDM(a.keys, testServerPK, c.id15, msg, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlindedDMDecrypt(b *testing.B) {
	a, c, msg, data := benchDM(b)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	var from crypto.AccountID
	for b.Loop() {
		var err error
		if _, from, err = DecryptDM(c.keys, testServerPK, a.id15, c.id15, data); err != nil {
			b.Fatal(err)
		}
	}
	_ = from
}
