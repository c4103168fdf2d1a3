package sdk_test

import (
	"bytes"
	"encoding/hex"
	"strconv"
	"testing"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
)

// Groups ops of groups.json and libsession_generated.json.

func gvKeys(t *testing.T, seed []byte) *crypto.Keys {
	t.Helper()
	k, err := crypto.KeysFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func gvEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s:\n got  %x\n want %x", what, got, want)
	}
}

func gvSeed32(t *testing.T, b []byte) [32]byte {
	t.Helper()
	if len(b) != 32 && len(b) != 64 {
		t.Fatalf("seed: want 32 or 64 bytes, got %d", len(b))
	}
	return [32]byte(b[:32])
}

func gvID(t *testing.T, s string) crypto.AccountID {
	t.Helper()
	id, err := crypto.ParseAccountID(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func init() {
	registerVectors("ed25519_seed_to_session_id", gvEd25519SeedToSessionID)
	registerVectors("group_id_from_seed", gvGroupIDFromSeed)
	registerVectors("multi_encrypt", gvMultiEncrypt)
	registerVectors("config_padded_size", gvConfigPaddedSize)
	registerVectors("config_encrypt", gvConfigEncrypt)
	registerVectors("config_message_hash", gvConfigMessageHash)
	registerVectors("config_push_user", gvConfigPushUser)
	registerVectors("group_message", gvGroupMessage)
	registerVectors("group_message_size", gvGroupMessageSize)
	registerVectors("group_message_decrypt", gvGroupMessageDecrypt)
	registerVectors("group_keys_rekey", gvGroupKeysRekey)
	registerVectors("group_keys_flow", gvGroupKeysFlow)
	registerVectors("group_config_decrypt", gvGroupConfigDecrypt)
	registerVectors("config_push_user_wrapped", gvConfigPushUserWrapped)
	registerVectors("config_user_profile_decode", gvUserConfigDecode(groups.DomainUserProfile))
	registerVectors("config_contacts_decode", gvUserConfigDecode(groups.DomainContacts))
	registerVectors("subaccount", gvSubaccount)
	registerVectors("subaccount_token", gvSubaccount)
	registerVectors("group_subaccount", gvSubaccount)
}

// gvEd25519SeedToSessionID checks the ed25519_seed_to_session_id cases.
func gvEd25519SeedToSessionID(t *testing.T, c vcase) {
	k := gvKeys(t, c.hex("seed"))
	if c.has("session_id") {
		if got := k.AccountID().String(); got != c.str("session_id") {
			t.Fatalf("session ID %s, want %s", got, c.str("session_id"))
		}
	}
	if c.has("ed25519_pk") {
		pk := k.Ed25519PublicKey()
		gvEqual(t, "ed25519 pk", pk[:], c.hex("ed25519_pk"))
	}
	if c.has("x25519_pk") {
		x := k.X25519PublicKey()
		gvEqual(t, "x25519 pk", x[:], c.hex("x25519_pk"))
	}
}

// gvGroupIDFromSeed checks the group_id_from_seed cases.
func gvGroupIDFromSeed(t *testing.T, c vcase) {
	a := groups.NewAdminKey(gvSeed32(t, c.hex("group_seed")))
	pk := a.PublicKey()
	gvEqual(t, "group pk", pk[:], c.hex("group_ed25519_pk"))
	if a.ID().String() != c.str("group_id") || groups.IDFromPublicKey(pk) != a.ID() {
		t.Fatalf("group ID %s, want %s", a.ID(), c.str("group_id"))
	}
	id, parsedPK, err := groups.ParseID(c.str("group_id"))
	if err != nil || id != a.ID() || parsedPK != pk {
		t.Fatalf("ParseID: %v %v", id, err)
	}
}

// gvMultiEncrypt checks the multi_encrypt cases.
func gvMultiEncrypt(t *testing.T, c vcase) {
	var seedsHex []string
	c.decode(&seedsHex, "seeds")
	keys := make([]*crypto.Keys, len(seedsHex))
	for i, s := range seedsHex {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = gvKeys(t, b)
	}
	var recipients []int
	c.decode(&recipients, "recipients")
	var msgStrs []string
	c.decode(&msgStrs, "messages")
	msgs := make([][]byte, len(msgStrs))
	for i, m := range msgStrs {
		msgs[i] = []byte(m)
	}
	sender := keys[c.int("sender")]
	rx := make([][32]byte, len(recipients))
	for i, r := range recipients {
		rx[i] = keys[r].X25519PublicKey()
	}
	nonce := [24]byte(c.hex("nonce"))
	domain := c.str("domain")
	cts, err := groups.MultiEncrypt(msgs, rx, nonce, sender.X25519PrivateKey(), sender.X25519PublicKey(), domain)
	if err != nil {
		t.Fatal(err)
	}
	var wantCts []string
	c.decode(&wantCts, "ciphertexts")
	if len(cts) != len(wantCts) {
		t.Fatalf("%d ciphertexts, want %d", len(cts), len(wantCts))
	}
	for i := range cts {
		gvEqual(t, "ciphertext "+strconv.Itoa(i), cts[i], gvHex(t, wantCts[i]))
	}
	if c.has("simple_encoded") {
		enc := c.hex("simple_encoded")
		for _, r := range recipients {
			pt, err := groups.MultiDecryptSimple(enc, keys[r].X25519PrivateKey(), keys[r].X25519PublicKey(), sender.X25519PublicKey(), domain)
			if err != nil {
				t.Fatalf("simple decrypt for %d: %v", r, err)
			}
			_ = pt
		}
	}
	decDomain := domain
	if c.has("decrypt_domain") {
		decDomain = c.str("decrypt_domain")
	}
	var expect map[string]*string
	c.decode(&expect, "decrypt_expect")
	for idx, want := range expect {
		i, err := strconv.Atoi(idx)
		if err != nil {
			t.Fatal(err)
		}
		k := keys[i]
		pt, ok := groups.MultiDecrypt(cts, nonce, k.X25519PrivateKey(), k.X25519PublicKey(), sender.X25519PublicKey(), decDomain)
		if want == nil {
			if ok {
				t.Fatalf("recipient %d decrypted %q, want failure", i, pt)
			}
			continue
		}
		if !ok || string(pt) != *want {
			t.Fatalf("recipient %d: %q %v, want %q", i, pt, ok, *want)
		}
		if c.has("simple_encoded") && decDomain == domain {
			pt, err := groups.MultiDecryptSimple(c.hex("simple_encoded"), k.X25519PrivateKey(), k.X25519PublicKey(), sender.X25519PublicKey(), domain)
			if err != nil || string(pt) != *want {
				t.Fatalf("simple: recipient %d: %q %v, want %q", i, pt, err, *want)
			}
		}
	}
}

// gvSubaccount checks the subaccount, subaccount_token and group_subaccount cases.
func gvSubaccount(t *testing.T, c vcase) {
	admin := groups.NewAdminKey(gvSeed32(t, c.hex("group_seed")))
	if c.has("group_id") && admin.ID().String() != c.str("group_id") {
		t.Fatalf("group ID %s", admin.ID())
	}
	member := gvKeys(t, c.hex("member_seed"))
	if member.AccountID().String() != c.str("member_session_id") {
		t.Fatalf("member ID %s", member.AccountID())
	}
	flags := groups.SubaccountFlags(c.boolean("write"), c.boolean("delete"))
	auth, err := admin.SubaccountAuth(member.AccountID(), flags)
	if err != nil {
		t.Fatal(err)
	}
	if gvHas(c, "auth_data", "signing_value") {
		gvEqual(t, "auth data", auth[:], c.hex("auth_data", "signing_value"))
	}
	tok, err := admin.SubaccountToken(member.AccountID(), flags)
	if err != nil {
		t.Fatal(err)
	}
	if gvHas(c, "token", "subaccount") {
		gvEqual(t, "token", tok[:], c.hex("token", "subaccount"))
	}
	if c.has("subaccount_b64") {
		gvEqual(t, "token (b64)", tok[:], c.b64("subaccount_b64"))
	}
	var msg []byte
	if c.provenance == "upstream" && c.has("signing_value") {
		msg = c.hex("msg") // libsession_generated: hex
	} else {
		msg = []byte(c.str("msg"))
	}
	sig, err := groups.SignSubaccount(member, auth, msg)
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "signed token", sig.Token[:], tok[:])
	if gvHas(c, "subaccount_sig", "subaccount_sig_b64") {
		want := []byte(nil)
		if c.has("subaccount_sig") {
			want = c.hex("subaccount_sig")
		} else {
			want = c.b64("subaccount_sig_b64")
		}
		gvEqual(t, "subaccount sig", sig.TokenSig[:], want)
	}
	if c.has("signature") {
		gvEqual(t, "signature", sig.Signature[:], c.hex("signature"))
	}
	if c.has("signature_b64") {
		gvEqual(t, "signature (b64)", sig.Signature[:], c.b64("signature_b64"))
	}
	if err := groups.VerifySubaccountRequest(admin.PublicKey(), sig, msg, flags); err != nil {
		t.Fatalf("node-side verification: %v", err)
	}
	if err := groups.VerifySubaccountRequest(admin.PublicKey(), sig, append(msg, '!'), flags); err == nil {
		t.Fatal("verification of a changed message succeeded")
	}
	if c.has("verify_as_member") {
		err := groups.VerifyAuthData(admin.PublicKey(), member.Ed25519PublicKey(), auth)
		if (err == nil) != c.boolean("verify_as_member") {
			t.Fatalf("VerifyAuthData as member: %v", err)
		}
	}
	if c.has("verify_as_other_member") {
		other := gvKeys(t, bytes.Repeat([]byte{0x44}, 32))
		err := groups.VerifyAuthData(admin.PublicKey(), other.Ed25519PublicKey(), auth)
		if (err == nil) != c.boolean("verify_as_other_member") {
			t.Fatalf("VerifyAuthData as another member: %v", err)
		}
	}
}

// gvConfigPaddedSize checks the config_padded_size cases.
func gvConfigPaddedSize(t *testing.T, c vcase) {
	if got := groups.ConfigPaddedSize(int(c.int("size")), int(c.int("overhead"))); got != int(c.int("expected")) {
		t.Fatalf("padded size %d, want %d", got, c.int("expected"))
	}
}

// gvConfigEncrypt checks the config_encrypt cases.
func gvConfigEncrypt(t *testing.T, c vcase) {
	var msg []byte
	if c.has("message") {
		msg = []byte(c.str("message"))
	} else {
		msg = c.hex("message_hex")
	}
	key := gvSeed32(t, c.hex("key"))
	domain := c.str("domain")
	ct, err := groups.EncryptConfig(msg, key, domain)
	if err != nil {
		t.Fatal(err)
	}
	if c.has("ciphertext") {
		gvEqual(t, "ciphertext", ct, c.hex("ciphertext"))
	}
	if c.has("nonce") {
		gvEqual(t, "nonce", ct[len(ct)-24:], c.hex("nonce"))
	}
	pt, err := groups.DecryptConfig(ct, key, domain)
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "decrypted", pt, msg)
	if _, err := groups.DecryptConfig(ct, key, domain+"x"); err == nil {
		t.Fatal("decrypted under another domain")
	}
}

// gvConfigMessageHash checks the config_message_hash cases.
func gvConfigMessageHash(t *testing.T, c vcase) {
	h := groups.ConfigMessageHash(c.hex("serialized"))
	gvEqual(t, "hash", h[:], c.hex("hash"))
}

// gvConfigPushUser checks the config_push_user cases.
func gvConfigPushUser(t *testing.T, c vcase) {
	seed := gvKeys(t, c.hex("seed")).Seed()
	ser := c.hex("serialized")
	out, err := groups.EncodeConfigPayload(ser, seed, c.str("domain"), false)
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "encrypted", out, c.hex("encrypted"))
	back, err := groups.DecodeConfigPayload(c.hex("encrypted"), seed, c.str("domain"))
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "decoded", back, ser)
	m, err := groups.ParseConfigMessage(ser, nil)
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "re-serialized", m.Raw, ser)
	// Rebuild the same message through the Config state machine: from the empty seqno-0
	// config, set the profile data and push.
	cfg := groups.NewUserConfig()
	if err := cfg.Update(func(d groups.Dict) {
		for k, v := range m.Data {
			d[k] = v
		}
	}); err != nil {
		t.Fatal(err)
	}
	pushed, seqno, err := cfg.Push()
	if err != nil {
		t.Fatal(err)
	}
	if seqno != m.Seqno {
		t.Fatalf("seqno %d, want %d", seqno, m.Seqno)
	}
	gvEqual(t, "pushed serialization", pushed, ser)
	// Compressed pushes decode to the same bytes.
	z, err := groups.EncodeConfigPayload(ser, seed, c.str("domain"), true)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := groups.DecodeConfigPayload(z, seed, c.str("domain")); err != nil || !bytes.Equal(back, ser) {
		t.Fatalf("compressed round trip: %v", err)
	}
}

// gvGroupMessage checks the group_message cases.
func gvGroupMessage(t *testing.T, c vcase) {
	sender := gvKeys(t, c.hex("sender_sk")[:32])
	if c.has("sender_session_id") && sender.AccountID().String() != c.str("sender_session_id") {
		t.Fatalf("sender %s", sender.AccountID())
	}
	key := gvSeed32(t, c.hex("group_key"))
	pt := c.hex("plaintext")
	ct, err := groups.EncryptMessageWith(sender, key, pt, groups.MessageOptions{
		Padding: int(c.int("padding")),
		Rand:    bytes.NewReader(c.hex("nonce")),
	})
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "ciphertext", ct, c.hex("ciphertext"))
	m, err := groups.DecryptMessage([][32]byte{key}, ct)
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "plaintext", m.Plaintext, pt)
	if m.Sender != sender.AccountID() {
		t.Fatalf("sender %s", m.Sender)
	}
}

// gvGroupMessageSize checks the group_message_size cases.
func gvGroupMessageSize(t *testing.T, c vcase) {
	sender := gvKeys(t, c.hex("sender_seed"))
	pt := bytes.Repeat([]byte(c.str("plaintext")), int(c.int("repeat")))
	ct, err := groups.EncryptMessageWith(sender, [32]byte{1}, pt, groups.MessageOptions{NoCompress: !c.boolean("compress")})
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != int(c.int("ciphertext_size")) {
		t.Fatalf("size %d, want %d", len(ct), c.int("ciphertext_size"))
	}
	m, err := groups.DecryptMessage([][32]byte{{2}, {1}}, ct)
	if err != nil || !bytes.Equal(m.Plaintext, pt) || m.KeyIndex != 1 {
		t.Fatalf("round trip: %v", err)
	}
}

// gvGroupMessageDecrypt checks the group_message_decrypt cases.
func gvGroupMessageDecrypt(t *testing.T, c vcase) {
	var keysHex []string
	c.decode(&keysHex, "group_keys")
	keys := make([][32]byte, len(keysHex))
	for i, k := range keysHex {
		keys[i] = gvSeed32(t, gvHex(t, k))
	}
	m, err := groups.DecryptMessage(keys, c.hex("ciphertext"))
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "plaintext", m.Plaintext, c.hex("plaintext"))
	if m.Sender.String() != c.str("sender_session_id") {
		t.Fatalf("sender %s, want %s", m.Sender, c.str("sender_session_id"))
	}
	if c.has("encrypted_with_key") {
		gvEqual(t, "decrypting key", keys[m.KeyIndex][:], c.hex("encrypted_with_key"))
	}
	if c.has("sender_seed") {
		pk := gvKeys(t, c.hex("sender_seed")).Ed25519PublicKey()
		gvEqual(t, "sender ed25519", m.SenderEd25519[:], pk[:])
	}
	// Without the right key it does not decrypt.
	var others [][32]byte
	for _, k := range keys {
		if hex.EncodeToString(k[:]) != c.str("encrypted_with_key") {
			others = append(others, k)
		}
	}
	if _, err := groups.DecryptMessage(others, c.hex("ciphertext")); err == nil {
		t.Fatal("decrypted without the key")
	}
}

// gvGroupKeysRekey checks the group_keys_rekey cases.
func gvGroupKeysRekey(t *testing.T, c vcase) {
	admin := groups.NewAdminKey(gvSeed32(t, c.hex("group_seed")))
	var seeds []string
	c.decode(&seeds, "member_seeds")
	var members []crypto.AccountID
	var memberKeys []*crypto.Keys
	for _, s := range seeds {
		k := gvKeys(t, gvHex(t, s))
		memberKeys = append(memberKeys, k)
		members = append(members, k.AccountID())
	}
	msg, key, err := groups.BuildRekeyMessage(admin, members, c.int("gen"))
	if err != nil {
		t.Fatal(err)
	}
	gvEqual(t, "enc key", key[:], c.hex("enc_key"))
	gvEqual(t, "keys message", msg, c.hex("keys_message"))
	for i, mk := range memberKeys {
		keys, err := groups.NewKeys(mk, admin.PublicKey(), nil)
		if err != nil {
			t.Fatal(err)
		}
		found, err := keys.LoadKeyMessage("h", msg, 1700000000000)
		if err != nil || !found {
			t.Fatalf("member %d: found %v, %v", i, found, err)
		}
		if k, _ := keys.EncryptionKey(); k != key {
			t.Fatalf("member %d got another key", i)
		}
	}
}

// gvGroupKeysFlow checks the group_keys_flow cases.
func gvGroupKeysFlow(t *testing.T, c vcase) {
	admin := groups.NewAdminKey(gvSeed32(t, c.hex("group_seed")))
	pk := admin.PublicKey()
	gvEqual(t, "group pk", pk[:], c.hex("group_ed25519_pk"))
	if admin.ID().String() != c.str("group_id") {
		t.Fatalf("group ID %s", admin.ID())
	}
	type step struct {
		After []string `json:"after"`
		Found bool     `json:"found"`
	}
	type result struct {
		Who       string `json:"who"`
		Seed      string `json:"seed"`
		SessionID string `json:"session_id"`
		Steps     []step `json:"steps"`
	}
	type message struct {
		Data        string `json:"data"`
		EncKey      string `json:"enc_key"`
		Generation  int64  `json:"generation"`
		Hash        string `json:"hash"`
		Kind        string `json:"kind"`
		TimestampMS int64  `json:"timestamp_ms"`
	}
	var results []result
	c.decode(&results, "member_results")
	var msgs []message
	c.decode(&msgs, "messages")
	for _, r := range results {
		mk := gvKeys(t, gvHex(t, r.Seed))
		if mk.AccountID().String() != r.SessionID {
			t.Fatalf("%s: session ID %s", r.Who, mk.AccountID())
		}
		keys, err := groups.NewKeys(mk, pk, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Steps) != len(msgs) {
			t.Fatalf("%s: %d steps for %d messages", r.Who, len(r.Steps), len(msgs))
		}
		for i, m := range msgs {
			found, err := keys.LoadKeyMessage(m.Hash, gvHex(t, m.Data), m.TimestampMS)
			if err != nil {
				t.Fatalf("%s: message %d: %v", r.Who, i, err)
			}
			if found != r.Steps[i].Found {
				t.Fatalf("%s: message %d: found %v, want %v", r.Who, i, found, r.Steps[i].Found)
			}
			got := keys.GroupKeys()
			if len(got) != len(r.Steps[i].After) {
				t.Fatalf("%s: message %d: %d keys, want %d", r.Who, i, len(got), len(r.Steps[i].After))
			}
			for j := range got {
				gvEqual(t, r.Who+" key", got[j][:], gvHex(t, r.Steps[i].After[j]))
			}
		}
	}
	// Produce the same messages as the admin: rekey (admin + m1..m3), rekey without m3,
	// then a supplement for m4.
	adminKeys := gvKeys(t, c.hex("admin_seed"))
	var ids []crypto.AccountID
	var sids []string
	c.decode(&sids, "member_session_ids")
	for _, s := range sids {
		ids = append(ids, gvID(t, s))
	}
	keys, err := groups.NewKeys(adminKeys, pk, admin)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		var out []byte
		switch {
		case m.Kind == "rekey" && i == 0:
			out, err = keys.Rekey(append([]crypto.AccountID{adminKeys.AccountID()}, ids[:3]...))
		case m.Kind == "rekey":
			out, err = keys.Rekey(append([]crypto.AccountID{adminKeys.AccountID()}, ids[:2]...))
		default:
			out, err = keys.KeySupplement(ids[3:])
		}
		if err != nil {
			t.Fatal(err)
		}
		gvEqual(t, "message "+m.Hash, out, gvHex(t, m.Data))
		if m.EncKey != "" {
			k, _ := keys.EncryptionKey()
			gvEqual(t, "pending key", k[:], gvHex(t, m.EncKey))
		}
		if _, err := keys.LoadKeyMessage(m.Hash, out, m.TimestampMS); err != nil {
			t.Fatal(err)
		}
		if _, pending := keys.PendingMessage(); pending {
			t.Fatalf("message %d: pending key not confirmed by loading it", i)
		}
	}
}

// gvGroupConfigDecrypt checks the group_config_decrypt cases.
func gvGroupConfigDecrypt(t *testing.T, c vcase) {
	groupID, pk, err := groups.ParseID(c.str("group_id"))
	if err != nil {
		t.Fatal(err)
	}
	if c.has("group_seed") && groups.NewAdminKey(gvSeed32(t, c.hex("group_seed"))).ID() != groupID {
		t.Fatal("group seed does not match the group ID")
	}
	var keysHex []string
	c.decode(&keysHex, "group_keys")
	keys := make([][32]byte, len(keysHex))
	for i, k := range keysHex {
		keys[i] = gvSeed32(t, gvHex(t, k))
	}
	domain := c.str("config")
	ser, err := groups.DecryptGroupConfig(c.hex("pushed"), keys, domain)
	if err != nil {
		t.Fatal(err)
	}
	if c.has("encrypted_with_key") {
		if _, err := groups.DecodeConfigPayload(c.hex("pushed"), gvSeed32(t, c.hex("encrypted_with_key")), domain); err != nil {
			t.Fatalf("not encrypted with the stated key: %v", err)
		}
	}
	msg, err := groups.ParseConfigMessage(ser, &pk)
	if err != nil {
		t.Fatal(err)
	}
	if !msg.Signed || msg.Seqno != c.int("seqno") {
		t.Fatalf("signed %v, seqno %d", msg.Signed, msg.Seqno)
	}
	if _, err := groups.ParseConfigMessage(ser, &[32]byte{1}); err == nil {
		t.Fatal("verified under another key")
	}
	cfg, err := groups.NewGroupConfig(pk, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := cfg.Merge(ser); n != 1 || err != nil || cfg.Seqno() != msg.Seqno {
		t.Fatalf("merge: %d %v", n, err)
	}
	switch domain {
	case groups.DomainGroupInfo:
		info := groups.InfoFromData(cfg.Data())
		if info.Name != c.str("expect_name") || info.Description != c.str("expect_description") || info.Created != c.int("expect_created") {
			t.Fatalf("info %+v", info)
		}
	case groups.DomainGroupMembers:
		type member struct {
			Admin      bool   `json:"admin"`
			Name       string `json:"name"`
			SessionID  string `json:"session_id"`
			Supplement bool   `json:"supplement"`
		}
		gvList(t, c, "expect_members", groups.MembersFromData(cfg.Data()), func(g groups.Member, w member) bool {
			return g.ID.String() == w.SessionID && g.Name == w.Name && g.Admin == w.Admin && g.Supplement == w.Supplement
		})
	default:
		t.Fatalf("unknown config %q", domain)
	}
}

// gvConfigPushUserWrapped checks the config_push_user_wrapped cases.
func gvConfigPushUserWrapped(t *testing.T, c vcase) {
	keys := gvKeys(t, c.hex("seed"))
	cfg := groups.NewUserConfig()
	for cfg.Seqno() < c.int("seqno") {
		_ = cfg.Update(func(d groups.Dict) { d["x"] = cfg.Seqno() + 1 })
		if _, _, err := cfg.Push(); err != nil {
			t.Fatal(err)
		}
	}
	out, seq, err := groups.PushUserConfig(keys, cfg, groups.DomainUserProfile)
	if err != nil {
		t.Fatal(err)
	}
	if seq != c.int("seqno") {
		t.Fatalf("seqno %d", seq)
	}
	gvEqual(t, "pushed", out, c.hex("pushed"))
	ser, err := groups.ReadUserConfig(keys, groups.DomainUserProfile, out)
	if err != nil {
		t.Fatal(err)
	}
	raw, _, _ := cfg.Push()
	gvEqual(t, "read back", ser, raw)
}

// gvUserConfigDecode returns the handler of config_user_profile_decode or
// config_contacts_decode, whichever decodes configs of domain.
func gvUserConfigDecode(domain string) vectorHandler {
	return func(t *testing.T, c vcase) {
		keys := gvKeys(t, c.hex("seed"))
		if c.has("session_id") && keys.AccountID().String() != c.str("session_id") {
			t.Fatalf("session ID %s", keys.AccountID())
		}
		ser, err := groups.ReadUserConfig(keys, domain, c.hex("pushed"))
		if err != nil {
			t.Fatal(err)
		}
		cfg := groups.NewUserConfig()
		n, err := cfg.Merge(ser)
		if err != nil || int64(n) != c.int("merge_accepted") {
			t.Fatalf("merge accepted %d (%v), want %d", n, err, c.int("merge_accepted"))
		}
		if cfg.Seqno() != c.int("seqno") {
			t.Fatalf("seqno %d", cfg.Seqno())
		}
		if _, err := groups.ReadUserConfig(gvKeys(t, bytes.Repeat([]byte{9}, 32)), domain, c.hex("pushed")); err == nil {
			t.Fatal("read with another user's keys")
		}
		switch domain {
		case groups.DomainUserProfile:
			p := groups.UserProfileFromData(cfg.Data())
			if p.Name != c.str("expect_name") || p.PicURL != c.str("expect_profile_pic_url") {
				t.Fatalf("profile %+v", p)
			}
			gvEqual(t, "pic key", p.PicKey, c.hex("expect_profile_pic_key"))
		case groups.DomainContacts:
			type contact struct {
				Approved   bool   `json:"approved"`
				ApprovedMe bool   `json:"approved_me"`
				Blocked    bool   `json:"blocked"`
				Created    int64  `json:"created"`
				Name       string `json:"name"`
				Nickname   string `json:"nickname"`
				Priority   int64  `json:"priority"`
				PicKey     string `json:"profile_pic_key"`
				PicURL     string `json:"profile_pic_url"`
				SessionID  string `json:"session_id"`
			}
			gvList(t, c, "expect_contacts", groups.ContactsFromData(cfg.Data()), func(g groups.Contact, w contact) bool {
				return g.ID.String() == w.SessionID && g.Name == w.Name && g.Nickname == w.Nickname && g.Approved == w.Approved &&
					g.ApprovedMe == w.ApprovedMe && g.Blocked == w.Blocked && g.Created == w.Created && g.Priority == w.Priority &&
					g.PicURL == w.PicURL && hex.EncodeToString(g.PicKey) == w.PicKey
			})
		}
	}
}

// gvList checks got against the list in c's field, entry by entry with same.
func gvList[G, W any](t *testing.T, c vcase, field string, got []G, same func(G, W) bool) {
	t.Helper()
	var want []W
	c.decode(&want, field)
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries, want %d", field, len(got), len(want))
	}
	for i, w := range want {
		if !same(got[i], w) {
			t.Fatalf("%s %d: %+v, want %+v", field, i, got[i], w)
		}
	}
}

func gvHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gvHas(c vcase, keys ...string) bool {
	for _, k := range keys {
		if c.has(k) {
			return true
		}
	}
	return false
}
