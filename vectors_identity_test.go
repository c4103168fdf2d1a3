package sdk_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"

	"github.com/sessiongo/sdk/crypto"
)

// Identity ops of identity.json: keys, Account IDs, Recovery Password, conversions, BLAKE2b.
func init() {
	registerVectors("ed25519_keypair_from_seed", vEd25519KeypairFromSeed)
	registerVectors("ed25519_sign", vEd25519Sign)
	registerVectors("ed_to_x25519_pubkey", vEdToX25519Pubkey)
	registerVectors("ed_to_x25519_seckey", vEdToX25519Seckey)
	registerVectors("account_id_from_seed", vAccountIDFromSeed)
	registerVectors("mnemonic", vMnemonic)
	registerVectors("blake2b_hash", vBlake2bHash)
	registerVectors("xed25519_pubkey", vXed25519Pubkey)
}

// vEd25519KeypairFromSeed checks the ed25519_keypair_from_seed cases.
func vEd25519KeypairFromSeed(t *testing.T, c vcase) {
	k := mustKeys(t, c.hex("seed_hex"))
	pk := k.Ed25519PublicKey()
	expectHex(t, "ed pk", pk[:], c.str("ed_pk_hex"))
	if c.has("ed_sk_hex") {
		expectHex(t, "ed sk", k.Ed25519PrivateKey(), c.str("ed_sk_hex"))
	}
}

// vEd25519Sign checks the ed25519_sign cases.
func vEd25519Sign(t *testing.T, c vcase) {
	k := mustKeys(t, c.hex("seed_hex"))
	pk := k.Ed25519PublicKey()
	expectHex(t, "ed pk", pk[:], c.str("ed_pk_hex"))
	sig := k.Sign(c.hex("msg_hex"))
	expectHex(t, "signature", sig[:], c.str("sig_hex"))
	if !ed25519.Verify(pk[:], c.hex("msg_hex"), sig[:]) {
		t.Fatal("signature does not verify")
	}
}

// vEdToX25519Pubkey checks the ed_to_x25519_pubkey cases.
func vEdToX25519Pubkey(t *testing.T, c vcase) {
	x, err := crypto.Ed25519PublicToX25519(fixed32(t, c.hex("ed_pk_hex")))
	if err != nil {
		t.Fatal(err)
	}
	expectHex(t, "x pk", x[:], c.str("x_pk_hex"))
}

// vEdToX25519Seckey checks the ed_to_x25519_seckey cases.
func vEdToX25519Seckey(t *testing.T, c vcase) {
	sk := c.hex("ed_sk_hex")
	x := crypto.Ed25519PrivateToX25519([32]byte(sk[:32]))
	expectHex(t, "x sk", x[:], c.str("x_sk_hex"))
}

// vAccountIDFromSeed checks the account_id_from_seed cases.
func vAccountIDFromSeed(t *testing.T, c vcase) {
	k := mustKeys(t, c.hex("seed_hex"))
	pk := k.Ed25519PublicKey()
	xsk := k.X25519PrivateKey()
	expectHex(t, "ed pk", pk[:], c.str("ed_pk_hex"))
	if c.has("x_sk_hex") {
		expectHex(t, "x sk", xsk[:], c.str("x_sk_hex"))
	}
	if got := k.AccountID().String(); got != c.str("account_id") {
		t.Fatalf("Account ID %s, want %s", got, c.str("account_id"))
	}
	id, err := crypto.AccountIDFromEd25519(pk)
	if err != nil || id != k.AccountID() {
		t.Fatalf("AccountIDFromEd25519: %s %v", id, err)
	}
	parsed, err := crypto.ParseAccountID(c.str("account_id"))
	if err != nil || parsed != id {
		t.Fatalf("ParseAccountID: %v", err)
	}
}

// vMnemonic checks the mnemonic cases.
func vMnemonic(t *testing.T, c vcase) {
	seed, err := crypto.DecodeMnemonic(c.str("phrase"))
	if err != nil {
		t.Fatal(err)
	}
	if c.has("seed_hex") {
		expectHex(t, "seed", seed[:], c.str("seed_hex"))
		if got := crypto.EncodeMnemonic(seed); got != c.str("phrase") {
			t.Fatalf("EncodeMnemonic = %q", got)
		}
	}
	k := mustKeys(t, seed[:])
	if got := k.AccountID().String(); got != c.str("account_id") {
		t.Fatalf("Account ID %s, want %s", got, c.str("account_id"))
	}
}

// vBlake2bHash checks the blake2b_hash cases.
func vBlake2bHash(t *testing.T, c vcase) {
	var key []byte
	if c.has("key_hex") {
		key = c.hex("key_hex")
	}
	h, err := crypto.Blake2b(int(c.int("size")), key, c.hex("msg_hex"))
	if err != nil {
		t.Fatal(err)
	}
	expectHex(t, "hash", h, c.str("hash_hex"))
	p, err := crypto.Blake2bSaltPersonal(int(c.int("size")), key, nil, nil, c.hex("msg_hex"))
	if err != nil || !bytes.Equal(p, h) {
		t.Fatalf("Blake2bSaltPersonal with no parameters: %x %v", p, err)
	}
}

// vXed25519Pubkey checks the xed25519_pubkey cases.
func vXed25519Pubkey(t *testing.T, c vcase) {
	ed, err := crypto.XEd25519PublicKey(fixed32(t, c.hex("x_pk_hex")))
	if err != nil {
		t.Fatal(err)
	}
	expectHex(t, "xed pk", ed[:], c.str("ed_pk_hex"))
	real := fixed32(t, c.hex("real_ed_pk_hex"))
	real[31] &= 0x7f
	if real != ed {
		t.Fatal("|real Ed key| differs from XEd25519 key")
	}
}

func mustKeys(t *testing.T, seed []byte) *crypto.Keys {
	t.Helper()
	k, err := crypto.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func expectHex(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if g := hex.EncodeToString(got); g != want {
		t.Fatalf("%s = %s, want %s", what, g, want)
	}
}
