package sdk_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"testing"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
)

// Vector handlers for package blinding (issue 3): identity.json, sogs.json and
// libsession_generated.json spell some fields differently; each handler accepts every spelling.

func init() {
	registerVectors("blind15_id", vBlind15ID)
	registerVectors("blind15_id_from_session_id", vBlind15ID)
	registerVectors("blind15_id_from_seed", vBlind15IDFromSeed)
	registerVectors("blind25_id", vBlind25ID)
	registerVectors("blind15_sign", func(t *testing.T, c vcase) { vBlindSign(t, c, 15) })
	registerVectors("blind25_sign", func(t *testing.T, c vcase) { vBlindSign(t, c, 25) })
	registerVectors("session_id_matches_blinded_id", vMatches)
	registerVectors("blind_version_key_pair", vVersionKeyPair)
	registerVectors("blind_version_sign", vVersionSign)
	registerVectors("blind_version_sign_request", vVersionSignRequest)
	registerVectors("blinded_encrypt", vBlindedDM)
	registerVectors("blinded_dm", vBlindedDM)
	registerVectors("decrypt_from_blinded_recipient", vDecryptFromBlinded)
	registerVectors("sogs_request_headers", vSOGSHeaders)
}

func vAccountID(t *testing.T, c vcase, keys ...string) crypto.AccountID {
	t.Helper()
	id, err := crypto.ParseAccountID(c.str(keys...))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// vKeysFromSK makes keys from a 64-byte Ed25519 secret key (seed || pk) and checks its pk half.
func vKeysFromSK(t *testing.T, sk []byte) *crypto.Keys {
	t.Helper()
	if len(sk) != 64 {
		t.Fatalf("secret key: want 64 bytes, got %d", len(sk))
	}
	keys, err := crypto.KeysFromSeed(sk[:32])
	if err != nil {
		t.Fatal(err)
	}
	if pk := keys.Ed25519PublicKey(); !bytes.Equal(pk[:], sk[32:]) {
		t.Fatalf("secret key's public half %x does not match its seed (%x)", sk[32:], pk)
	}
	return keys
}

func vKeysFromSeed(t *testing.T, seed []byte) *crypto.Keys {
	t.Helper()
	keys, err := crypto.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func vBlind15ID(t *testing.T, c vcase) {
	sid := vAccountID(t, c, "session_id")
	spk := fixed32(t, c.hex("server_pk"))
	want := vAccountID(t, c, "blinded_id", "blinded_id_pos")
	ids, err := blinding.Blind15IDs(sid, spk)
	if err != nil {
		t.Fatal(err)
	}
	if ids[0] != want {
		t.Fatalf("Blind15IDs[0] = %s, want %s", ids[0], want)
	}
	if ids[1].Key()[31] != want.Key()[31]^0x80 || ids[1].Prefix() != crypto.PrefixBlinded15 {
		t.Fatalf("Blind15IDs[1] = %s is not the sign-flipped candidate", ids[1])
	}
	for _, id := range ids {
		ok, err := blinding.MatchesSessionID(sid, id, spk)
		if err != nil || !ok {
			t.Fatalf("MatchesSessionID(%s) = %v, %v", id, ok, err)
		}
	}
}

func vBlind15IDFromSeed(t *testing.T, c vcase) {
	keys := vKeysFromSeed(t, c.hex("seed"))
	spk := fixed32(t, c.hex("server_pk"))
	want := vAccountID(t, c, "blinded_id")
	kp, err := blinding.Blind15KeyPair(keys, spk)
	if err != nil {
		t.Fatal(err)
	}
	if kp.ID() != want {
		t.Fatalf("Blind15KeyPair ID = %s, want %s", kp.ID(), want)
	}
	id, err := blinding.Blind15IDFromEd25519(keys.Ed25519PublicKey(), spk)
	if err != nil || id != want {
		t.Fatalf("Blind15IDFromEd25519 = %s, %v; want %s", id, err, want)
	}
	ok, err := blinding.MatchesSessionID(keys.AccountID(), want, spk)
	if err != nil || !ok {
		t.Fatalf("MatchesSessionID = %v, %v", ok, err)
	}
}

func vBlind25ID(t *testing.T, c vcase) {
	sid := vAccountID(t, c, "session_id")
	spk := fixed32(t, c.hex("server_pk"))
	want := vAccountID(t, c, "blinded_id")
	id, err := blinding.Blind25ID(sid, spk)
	if err != nil {
		t.Fatal(err)
	}
	if id != want {
		t.Fatalf("Blind25ID = %s, want %s", id, want)
	}
	ok, err := blinding.MatchesSessionID(sid, want, spk)
	if err != nil || !ok {
		t.Fatalf("MatchesSessionID = %v, %v", ok, err)
	}
}

func vMessage(c vcase) []byte {
	if c.has("msg_hex") {
		return c.hex("msg_hex")
	}
	return []byte(c.str("message", "msg"))
}

func vBlindSign(t *testing.T, c vcase, kind int) {
	keys := vKeysFromSK(t, c.hex("ed_sk_hex", "ed25519_sk"))
	spk := fixed32(t, c.hex("server_pk"))
	msg := vMessage(c)
	want := c.hex("sig_hex", "signature")
	var kp *blinding.KeyPair
	var err error
	if kind == 15 {
		var opts []blinding.KeyOption
		if c.has("nonce_from") && c.str("nonce_from") == "seed32" {
			opts = append(opts, blinding.SeedNonce())
		}
		kp, err = blinding.Blind15KeyPair(keys, spk, opts...)
	} else {
		kp, err = blinding.Blind25KeyPair(keys, spk)
	}
	if err != nil {
		t.Fatal(err)
	}
	sig := kp.Sign(msg)
	if !bytes.Equal(sig[:], want) {
		t.Fatalf("signature\n got %x\nwant %x", sig, want)
	}
	pub := kp.PublicKey()
	if !ed25519.Verify(pub[:], msg, sig[:]) {
		t.Fatal("signature does not verify under the blinded key")
	}
	// The signer's blinded ID must be one its 05 ID matches.
	if ok, err := blinding.MatchesSessionID(keys.AccountID(), kp.ID(), spk); err != nil || !ok {
		t.Fatalf("MatchesSessionID(own key pair) = %v, %v", ok, err)
	}
}

func vMatches(t *testing.T, c vcase) {
	sid := vAccountID(t, c, "session_id")
	bid := vAccountID(t, c, "blinded_id")
	spk := fixed32(t, c.hex("server_pk"))
	got, err := blinding.MatchesSessionID(sid, bid, spk)
	if err != nil {
		t.Fatal(err)
	}
	if want := c.boolean("expect", "expected", "matches"); got != want {
		t.Fatalf("MatchesSessionID = %v, want %v", got, want)
	}
}

func vVersionKeyPair(t *testing.T, c vcase) {
	keys := vKeysFromSK(t, c.hex("ed_sk_hex", "ed25519_sk"))
	v := blinding.NewVersionKeyPair(keys)
	pk := v.PublicKey()
	if want := c.hex("pk_hex", "pk"); !bytes.Equal(pk[:], want) {
		t.Fatalf("public key %x, want %x", pk, want)
	}
	if want := c.hex("sk_hex", "sk"); !bytes.Equal(v.PrivateKey(), want) {
		t.Fatalf("private key mismatch")
	}
	if v.ID().Prefix() != crypto.PrefixVersionBlinded || v.ID().Key() != pk {
		t.Fatalf("ID %s is not 07 || pk", v.ID())
	}
}

func vVersionSign(t *testing.T, c vcase) {
	keys := vKeysFromSK(t, c.hex("ed_sk_hex", "ed25519_sk"))
	v := blinding.NewVersionKeyPair(keys)
	sig, err := v.SignVersionCheck(blinding.Platform(c.str("platform")), time.Unix(c.int("timestamp"), 0))
	if err != nil {
		t.Fatal(err)
	}
	if want := c.hex("sig_hex", "signature"); !bytes.Equal(sig[:], want) {
		t.Fatalf("signature\n got %x\nwant %x", sig, want)
	}
}

func vVersionSignRequest(t *testing.T, c vcase) {
	keys := vKeysFromSK(t, c.hex("ed_sk_hex", "ed25519_sk"))
	v := blinding.NewVersionKeyPair(keys)
	var body []byte
	if c.has("body_hex") {
		body = c.hex("body_hex")
	} else if c.has("body") {
		body = []byte(c.str("body"))
	}
	sig := v.SignRequest(time.Unix(c.int("timestamp"), 0), c.str("method"), c.str("path"), body)
	if want := c.hex("sig_hex", "signature"); !bytes.Equal(sig[:], want) {
		t.Fatalf("signature\n got %x\nwant %x", sig, want)
	}
	pk := v.PublicKey()
	_ = hex.EncodeToString(pk[:])
}

// vBlindedDM encrypts with the case's fixed nonce, compares the bytes, and decrypts as the
// recipient and as the sender (outbox copy).
func vBlindedDM(t *testing.T, c vcase) {
	sender := vKeysFromSeed(t, c.hex("sender_seed_hex", "sender_seed"))
	recipient := vKeysFromSeed(t, c.hex("recipient_seed_hex", "recipient_seed"))
	spk := fixed32(t, c.hex("server_pk"))
	sid := vAccountID(t, c, "sender_blinded_id", "sender_blinded")
	rid := vAccountID(t, c, "recipient_blinded_id", "recipient_blinded")
	msg := c.hex("msg_hex", "plaintext")
	nonce := c.hex("nonce_hex", "nonce")
	want := c.hex("ciphertext_hex", "data")
	wantSender := vAccountID(t, c, "sender_session_id")
	if sender.AccountID() != wantSender {
		t.Fatalf("sender Account ID %s, want %s", sender.AccountID(), wantSender)
	}
	vCheckOwnBlindedID(t, sender, spk, sid)
	vCheckOwnBlindedID(t, recipient, spk, rid)
	got, err := blinding.EncryptDM(sender, spk, rid, msg, bytes.NewReader(nonce))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ciphertext\n got %x\nwant %x", got, want)
	}
	if c.has("data_b64") && !bytes.Equal(c.b64("data_b64"), want) {
		t.Fatal("data_b64 and data differ")
	}
	for who, keys := range map[string]*crypto.Keys{"recipient": recipient, "sender": sender} {
		pt, from, err := blinding.DecryptDM(keys, spk, sid, rid, want)
		if err != nil {
			t.Fatalf("%s: DecryptDM: %v", who, err)
		}
		if !bytes.Equal(pt, msg) || from != wantSender {
			t.Fatalf("%s: DecryptDM = %x from %s; want %x from %s", who, pt, from, msg, wantSender)
		}
	}
}

func vCheckOwnBlindedID(t *testing.T, keys *crypto.Keys, spk [32]byte, want crypto.AccountID) {
	t.Helper()
	var kp *blinding.KeyPair
	var err error
	switch want.Prefix() {
	case crypto.PrefixBlinded15:
		kp, err = blinding.Blind15KeyPair(keys, spk)
	case crypto.PrefixBlinded25:
		kp, err = blinding.Blind25KeyPair(keys, spk)
	default:
		t.Fatalf("blinded ID %s has prefix %s", want, want.Prefix())
	}
	if err != nil {
		t.Fatal(err)
	}
	if kp.ID() != want {
		t.Fatalf("blinded ID %s, want %s", kp.ID(), want)
	}
}

// vDecryptFromBlinded decrypts libsession's own ciphertexts as the recipient and as the sender.
func vDecryptFromBlinded(t *testing.T, c vcase) {
	sender := vKeysFromSeed(t, c.hex("sender_seed"))
	recipient := vKeysFromSeed(t, c.hex("recipient_seed"))
	spk := fixed32(t, c.hex("server_pk"))
	sid := vAccountID(t, c, "sender_blinded_id")
	rid := vAccountID(t, c, "recipient_blinded_id")
	if c.has("blinding") && int64(sid.Prefix()) != 0x10*(c.int("blinding")/10)+c.int("blinding")%10 {
		t.Fatalf("blinding %d but sender ID %s", c.int("blinding"), sid)
	}
	data := c.hex("ciphertext")
	if c.has("sender_session_id") && sender.AccountID() != vAccountID(t, c, "sender_session_id") {
		t.Fatalf("sender Account ID %s, want %s", sender.AccountID(), c.str("sender_session_id"))
	}
	vCheckOwnBlindedID(t, sender, spk, sid)
	vCheckOwnBlindedID(t, recipient, spk, rid)
	check := func(who string, keys *crypto.Keys, okKey, idKey string) {
		pt, from, err := blinding.DecryptDM(keys, spk, sid, rid, data)
		if !c.boolean(okKey) {
			if err == nil {
				t.Fatalf("%s: DecryptDM succeeded, want failure", who)
			}
			return
		}
		if err != nil {
			t.Fatalf("%s: DecryptDM: %v", who, err)
		}
		if want := c.hex("plaintext"); !bytes.Equal(pt, want) {
			t.Fatalf("%s: plaintext %x, want %x", who, pt, want)
		}
		if want := vAccountID(t, c, idKey); from != want {
			t.Fatalf("%s: sender %s, want %s", who, from, want)
		}
	}
	check("recipient", recipient, "decrypt_ok", "decrypted_sender_session_id")
	if c.has("sender_self_decrypt_ok") {
		check("sender", sender, "sender_self_decrypt_ok", "sender_self_decrypt_session_id")
	}
}

// vSOGSHeaders signs with the case's nonce and time, compares the four headers, and checks
// that a server-side Verifier at that time accepts them once.
func vSOGSHeaders(t *testing.T, c vcase) {
	keys := vKeysFromSeed(t, c.hex("seed"))
	if c.has("ed25519_pk") {
		if pk := keys.Ed25519PublicKey(); !bytes.Equal(pk[:], c.hex("ed25519_pk")) {
			t.Fatalf("Ed25519 key %x, want %s", pk, c.str("ed25519_pk"))
		}
	}
	spk := fixed32(t, c.hex("server_pk"))
	nonce := c.b64("nonce_b64", "nonce")
	if len(nonce) != blinding.NonceSize {
		t.Fatalf("nonce is %d bytes", len(nonce))
	}
	ts := time.Unix(c.int("timestamp"), 0)
	var body []byte
	if c.has("body") {
		body = []byte(c.str("body"))
	} else if c.has("body_hex") {
		body = c.hex("body_hex")
	}
	var signer *blinding.RequestSigner
	if c.boolean("blinded") {
		var opts []blinding.KeyOption
		if c.has("nonce_from") && c.str("nonce_from") == "seed32" {
			opts = append(opts, blinding.SeedNonce())
		}
		kp, err := blinding.Blind15KeyPair(keys, spk, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if signer, err = blinding.NewRequestSigner(kp); err != nil {
			t.Fatal(err)
		}
	} else {
		signer = blinding.NewUnblindedRequestSigner(keys, spk)
	}
	method, path := c.str("method"), c.str("path")
	h := signer.SignWith(method, path, body, [16]byte(nonce), ts)
	var want map[string]string
	c.decode(&want, "expected_headers", "headers")
	if got := h.Map(); len(got) != len(want) {
		t.Fatalf("headers %v, want %v", got, want)
	}
	for k, w := range want {
		if g := h.Map()[k]; g != w {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
	v := blinding.NewVerifier(spk)
	v.RequireBlinded = false
	v.Now = func() time.Time { return ts }
	user, err := v.Verify(h, method, path, body)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if wantUser := keys.AccountID(); c.boolean("blinded") {
		if user != signer.Pubkey() {
			t.Fatalf("Verify user %s, want %s", user, signer.Pubkey())
		}
	} else if user != wantUser {
		t.Fatalf("Verify user %s, want %s", user, wantUser)
	}
	if _, err := v.Verify(h, method, path, body); err == nil {
		t.Fatal("Verify accepted a reused nonce")
	}
}
