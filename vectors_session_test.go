package sdk_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/session"
)

// Session Protocol ops of identity.json and libsession_generated.json: 1:1 encryption and
// decryption, padding, the stored wire form, push notifications.
func init() {
	registerVectors("session_encrypt_deterministic", vSessionEncryptDeterministic)
	registerVectors("session_decrypt", vDecryptIncoming)
	registerVectors("decrypt_incoming", vDecryptIncoming)
	registerVectors("message_padding", vMessagePadding)
	registerVectors("wire_1o1", vWire1o1)
	registerVectors("push_notification_decrypt", vPushNotificationDecrypt)
}

// vSessionEncryptDeterministic checks the session_encrypt_deterministic cases.
func vSessionEncryptDeterministic(t *testing.T, c vcase) {
	sender := mustKeys(t, c.hex("sender_seed_hex", "sender_seed"))
	ct, err := crypto.EncryptForRecipientDeterministic(sender, vRecipientKey(t, c), c.hex("msg_hex", "plaintext_hex", "plaintext"))
	if err != nil {
		t.Fatal(err)
	}
	expectHex(t, "ciphertext", ct, c.str("ciphertext_hex", "ciphertext"))
}

// vMessagePadding checks the message_padding cases.
func vMessagePadding(t *testing.T, c vcase) {
	content := c.hex("content_hex")
	for _, p := range []struct {
		field string
		pad   func([]byte) []byte
	}{{"padded_desktop_hex", session.PadDesktop}, {"padded_libsession_hex", session.Pad}} {
		if !c.has(p.field) {
			continue
		}
		expectHex(t, p.field, p.pad(content), c.str(p.field))
		back, err := session.Unpad(c.hex(p.field))
		if err != nil {
			t.Fatalf("unpad %s: %v", p.field, err)
		}
		expectHex(t, "unpadded "+p.field, back, c.str("content_hex"))
	}
}

// vWire1o1 checks the wire_1o1 cases.
func vWire1o1(t *testing.T, c vcase) {
	sender := mustKeys(t, c.hex("sender_seed_hex", "sender_seed"))
	ts := c.uint("timestamp", "timestamp_ms")
	plain := c.hex("content_hex")
	if c.has("body") || c.has("body_utf8") {
		content := &pb.Content{
			DataMessage:  &pb.DataMessage{Body: proto.String(c.str("body", "body_utf8"))},
			SigTimestamp: proto.Uint64(ts),
		}
		b, err := proto.Marshal(content)
		if err != nil {
			t.Fatal(err)
		}
		expectHex(t, "content", b, c.str("content_hex"))
	}
	ct := c.hex("ciphertext_hex", "ciphertext")
	if c.has("recipient_seed_hex") || c.has("recipient_seed") {
		// With the recipient's key the sealed content is checked by opening it.
		recipient := mustKeys(t, c.hex("recipient_seed_hex", "recipient_seed"))
		got, from, err := session.Open(recipient, ct)
		if err != nil {
			t.Fatal(err)
		}
		expectHex(t, "opened content", got, c.str("content_hex"))
		if from != sender.AccountID() {
			t.Fatalf("sender %s, want %s", from, sender.AccountID())
		}
	} else {
		// Without it, the reference sealed deterministically, so the whole chain is
		// byte-exact.
		det, err := crypto.EncryptForRecipientDeterministic(sender, vRecipientKey(t, c), session.Pad(plain))
		if err != nil {
			t.Fatal(err)
		}
		expectHex(t, "ciphertext", det, c.str("ciphertext_hex", "ciphertext"))
	}
	wire, err := session.EncodeEnvelope(ct, ts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := base64.StdEncoding.EncodeToString(wire), c.str("stored_b64"); got != want {
		t.Fatalf("stored = %s, want %s", got, want)
	}
	// And back: the stored form parses to the same Envelope.
	env, err := session.DecodeEnvelope(c.b64("stored_b64"))
	if err != nil {
		t.Fatal(err)
	}
	if env.GetType() != pb.Envelope_SESSION_MESSAGE || env.GetTimestamp() != ts || !bytes.Equal(env.GetContent(), ct) {
		t.Fatalf("decoded envelope %v", env)
	}
}

// vPushNotificationDecrypt checks the push_notification_decrypt cases.
func vPushNotificationDecrypt(t *testing.T, c vcase) {
	got, err := crypto.DecryptPushNotification(fixed32(t, c.hex("enc_key_hex", "key_hex")), c.hex("payload_hex"))
	if c.has("expect_error") && c.boolean("expect_error") {
		if err == nil {
			t.Fatal("decrypted a payload that must fail")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	expectHex(t, "plaintext", got, c.str("plaintext_hex"))
}

// vRecipientKey reads the recipient as a 05 Account ID or a bare 32-byte X25519 key, both of
// which libsession accepts.
func vRecipientKey(t *testing.T, c vcase) [32]byte {
	t.Helper()
	s := c.str("recipient_session_id", "recipient_x25519_pk_hex", "recipient")
	if len(s) == 64 {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return [32]byte(b)
	}
	id, err := crypto.ParseAccountID(s)
	if err != nil {
		t.Fatal(err)
	}
	if id.Prefix() != crypto.PrefixStandard {
		t.Fatalf("recipient %s is not a 05 Account ID", s)
	}
	return id.Key()
}

// vDecryptIncoming serves session_decrypt (identity.json) and decrypt_incoming
// (libsession_generated.json).
func vDecryptIncoming(t *testing.T, c vcase) {
	recipient := mustKeys(t, c.hex("recipient_seed_hex", "recipient_seed"))
	if c.has("recipient_session_id") {
		if got := recipient.AccountID().String(); got != c.str("recipient_session_id") {
			t.Fatalf("recipient Account ID %s, want %s", got, c.str("recipient_session_id"))
		}
	}
	msg, edpk, sender, err := crypto.DecryptIncoming(recipient, c.hex("ciphertext_hex", "ciphertext"))
	wantFail := (c.has("expect_error") && c.boolean("expect_error")) || (c.has("decrypt_ok") && !c.boolean("decrypt_ok"))
	if wantFail {
		if err == nil {
			t.Fatal("decrypted a ciphertext that must fail")
		}
		for _, e := range []error{crypto.ErrCiphertextTooShort, crypto.ErrDecrypt, crypto.ErrBadSignature, crypto.ErrBadSenderKey} {
			if errors.Is(err, e) {
				return
			}
		}
		t.Fatalf("failure with an undocumented error: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	expectHex(t, "plaintext", msg, c.str("plaintext_hex", "plaintext"))
	expectHex(t, "sender ed pk", edpk[:], c.str("sender_ed_pk_hex", "decrypted_sender_ed_pk", "sender_ed_pk"))
	if got, want := sender.String(), c.str("sender_session_id", "decrypted_sender_session_id"); got != want {
		t.Fatalf("sender = %s, want %s", got, want)
	}
	if c.has("sender_seed") || c.has("sender_seed_hex") {
		if got := mustKeys(t, c.hex("sender_seed", "sender_seed_hex")).AccountID(); got != sender {
			t.Fatalf("sender seed gives %s, decrypted sender is %s", got, sender)
		}
	}
}
