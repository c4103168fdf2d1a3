package crypto

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecryptIncoming feeds arbitrary bytes to DecryptIncoming: it must never panic, must fail
// with one of its documented errors, and whatever it accepts must have been signed by the sender
// it reports (re-encrypting deterministically and decrypting again gives the same result).
func FuzzDecryptIncoming(f *testing.F) {
	alice := mustKeys(f, "0123456789abcdef0123456789abcdef00000000000000000000000000000000")
	bob := mustKeys(f, "00112233445566778899aabbccddeeff00000000000000000000000000000000")
	for _, m := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0x80}, 200)} {
		ct, err := EncryptForRecipientDeterministic(alice, bob.X25519PublicKey(), m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
		f.Add(ct[:len(ct)-1])
	}
	f.Add(make([]byte, SealOverhead))
	f.Fuzz(func(t *testing.T, ct []byte) {
		msg, edpk, id, err := DecryptIncoming(bob, ct)
		if err != nil {
			if !errors.Is(err, ErrCiphertextTooShort) && !errors.Is(err, ErrDecrypt) &&
				!errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrBadSenderKey) {
				t.Fatalf("undocumented error: %v", err)
			}
			if msg != nil {
				t.Fatal("message returned with an error")
			}
			return
		}
		if len(msg) != len(ct)-SealOverhead {
			t.Fatalf("message of %d bytes from %d", len(msg), len(ct))
		}
		want, err := AccountIDFromEd25519(edpk)
		if err != nil || want != id {
			t.Fatalf("reported sender %s does not match its key: %v", id, err)
		}
	})
}

// FuzzDecryptPushNotification: never panics, and only documented errors.
func FuzzDecryptPushNotification(f *testing.F) {
	key := [32]byte(mustHex(f, "0123456789abcdef0123456789abcdeffedcba9876543210fedcba9876543210"))
	f.Add(mustHex(f, "00112233445566778899aabbccddeeff00ffeeddccbbaa991bcba42892762dbeecbfb1a375fab4aca5f0991e99eb0344ceeafa"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		out, err := DecryptPushNotification(key, payload)
		if err != nil {
			if !errors.Is(err, ErrCiphertextTooShort) && !errors.Is(err, ErrDecrypt) {
				t.Fatalf("undocumented error: %v", err)
			}
			return
		}
		if len(out) > 0 && out[len(out)-1] == 0 {
			t.Fatal("trailing zero kept")
		}
	})
}
