package blinding_test

import (
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
)

// A community server's X25519 public key, from its join URL (?public_key=...).
var serverPK = func() [32]byte {
	b, _ := hex.DecodeString("abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789")
	return [32]byte(b)
}()

func exampleKeys() *crypto.Keys {
	seed, _ := hex.DecodeString("fecd9a6034bc9aba273925dee7062b123334587c3c6257341afae2d7fe85e122")
	keys, _ := crypto.KeysFromSeed(seed)
	return keys
}

func ExampleBlind15IDs() {
	sid, _ := crypto.ParseAccountID("05fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f")
	ids, err := blinding.Blind15IDs(sid, serverPK)
	if err != nil {
		panic(err)
	}
	fmt.Println(ids[0])
	fmt.Println(ids[1])
	// Output:
	// 15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844
	// 15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c078c4
}

func ExampleBlind25ID() {
	sid, _ := crypto.ParseAccountID("05fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f")
	id, err := blinding.Blind25ID(sid, serverPK)
	if err != nil {
		panic(err)
	}
	fmt.Println(id)
	// Output: 253b991dcbba44cfdb45d5b38880d95cff723309e3ece6fd01415ad5fa1dccc7ac
}

func ExampleBlind15IDFromEd25519() {
	keys := exampleKeys()
	id, err := blinding.Blind15IDFromEd25519(keys.Ed25519PublicKey(), serverPK)
	if err != nil {
		panic(err)
	}
	kp, _ := blinding.Blind15KeyPair(keys, serverPK)
	fmt.Println(id == kp.ID())
	// Output: true
}

func ExampleBlind25IDFromEd25519() {
	keys := exampleKeys()
	id, err := blinding.Blind25IDFromEd25519(keys.Ed25519PublicKey(), serverPK)
	if err != nil {
		panic(err)
	}
	fmt.Println(id)
	// Output: 253b991dcbba44cfdb45d5b38880d95cff723309e3ece6fd01415ad5fa1dccc7ac
}

// A community bot recognises a known user behind a blinded ID.
func ExampleMatchesSessionID() {
	user, _ := crypto.ParseAccountID("05fe94b7ad4b7f1cc1bb92671f1f0d243f226e115b33770465e82b503fc3e96e1f")
	seen, _ := crypto.ParseAccountID("15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844")
	ok, err := blinding.MatchesSessionID(user, seen, serverPK)
	fmt.Println(ok, err)
	// Output: true <nil>
}

func ExampleBlind15KeyPair() {
	kp, err := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	if err != nil {
		panic(err)
	}
	fmt.Println(kp.ID())
	fmt.Println(kp) // printing never shows the private scalar
	// Output:
	// 15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844
	// blinding.KeyPair{15b74ed205f1f931e1bb1291183778a9456b835937d923b0f2e248aa3a44c07844}
}

func ExampleBlind25KeyPair() {
	kp, err := blinding.Blind25KeyPair(exampleKeys(), serverPK)
	if err != nil {
		panic(err)
	}
	fmt.Println(kp.ID())
	// Output: 253b991dcbba44cfdb45d5b38880d95cff723309e3ece6fd01415ad5fa1dccc7ac
}

func ExampleKeyPair_Sign() {
	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK)
	sig := kp.Sign([]byte("hello"))
	pub := kp.PublicKey()
	fmt.Println(hex.EncodeToString(sig[:]))
	fmt.Println(ed25519.Verify(pub[:], []byte("hello"), sig[:]))
	// Output:
	// 1a5ade20b43af0e16b3e591d6f86303938d7557c0ac54469dd4f5aea759f82d22cafa42587251756e133acdddd8cbec2f707a9ce09a49f2193f46a91502c5006
	// true
}

func ExampleSeedNonce() {
	// session-desktop and pysogs derive the 15 signing nonce from the seed alone; the
	// signature differs from libsession's but verifies the same way.
	kp, _ := blinding.Blind15KeyPair(exampleKeys(), serverPK, blinding.SeedNonce())
	sig := kp.Sign([]byte("hello"))
	pub := kp.PublicKey()
	fmt.Println(ed25519.Verify(pub[:], []byte("hello"), sig[:]))
	// Output: true
}

func ExampleNewVersionKeyPair() {
	v := blinding.NewVersionKeyPair(exampleKeys())
	fmt.Println(v.ID())
	// Output: 0788e8adb27e7b8ce776fcc25bc1501fb2888fcac0308e52fb10044f789ae1a8fa
}

func ExampleVersionKeyPair_SignVersionCheck() {
	v := blinding.NewVersionKeyPair(exampleKeys())
	sig, err := v.SignVersionCheck(blinding.PlatformDesktop, time.Unix(1234567890, 0))
	if err != nil {
		panic(err)
	}
	// Send as X-FS-Pubkey: v.ID(), X-FS-Timestamp: 1234567890, X-FS-Signature: base64(sig).
	fmt.Println(hex.EncodeToString(sig[:]))
	// Output: 143c2c9828f7680ee81e6247bc7aa4777c4991add87cd724149b00452bed4e920fa57daf4627c68f43fcbddb2d465d5ea11def523f3befb2bbee39c769676305
}

func ExampleVersionKeyPair_SignRequest() {
	v := blinding.NewVersionKeyPair(exampleKeys())
	sig := v.SignRequest(time.Unix(1234567890, 0), "POST", "/file", []byte("data"))
	pub := v.PublicKey()
	fmt.Println(ed25519.Verify(pub[:], []byte("1234567890POST/filedata"), sig[:]))
	// Output: true
}
