package session

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

func fuzzKeys(f *testing.F) (alice, bob *crypto.Keys) {
	f.Helper()
	alice, err := crypto.KeysFromSeed(bytes.Repeat([]byte{1}, 16))
	if err != nil {
		f.Fatal(err)
	}
	bob, err = crypto.KeysFromSeed(bytes.Repeat([]byte{2}, 16))
	if err != nil {
		f.Fatal(err)
	}
	return alice, bob
}

// isDecryptError reports whether err is one of the documented failures of Open.
func isDecryptError(err error) bool {
	for _, e := range []error{crypto.ErrCiphertextTooShort, crypto.ErrDecrypt, crypto.ErrBadSignature, crypto.ErrBadSenderKey, ErrInvalidPadding} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// FuzzOpen: Open never panics and fails only with its documented errors.
func FuzzOpen(f *testing.F) {
	alice, bob := fuzzKeys(f)
	for _, m := range [][]byte{nil, []byte("hi"), bytes.Repeat([]byte{0}, 200)} {
		ct, err := crypto.EncryptForRecipientDeterministic(alice, bob.X25519PublicKey(), Pad(m))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(ct)
	}
	zeros, err := crypto.EncryptForRecipientDeterministic(alice, bob.X25519PublicKey(), make([]byte, 16))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(zeros)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, ct []byte) {
		msg, from, err := Open(bob, ct)
		if err != nil {
			if !isDecryptError(err) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if from.Prefix() != crypto.PrefixStandard || len(msg) > len(ct)-crypto.SealOverhead {
			t.Fatalf("accepted %d bytes from %s", len(msg), from)
		}
	})
}

// FuzzUnpad: Unpad never panics, returns a prefix of its input, and undoes both paddings.
func FuzzUnpad(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x80})
	f.Add([]byte("abc\x80\x00\x00"))
	f.Add([]byte("abc"))
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := Unpad(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidPadding) || bytes.ContainsFunc(in, func(r rune) bool { return r != 0 }) && len(in) > 0 {
				t.Fatalf("Unpad(%x): %v", in, err)
			}
		} else if !bytes.HasPrefix(in, out) {
			t.Fatalf("Unpad(%x) = %x, not a prefix", in, out)
		}
		for _, pad := range []func([]byte) []byte{Pad, PadDesktop} {
			back, err := Unpad(pad(in))
			if err != nil || !bytes.Equal(back, in) {
				t.Fatalf("Unpad(pad(%x)) = %x, %v", in, back, err)
			}
		}
	})
}

// FuzzDecodeEnvelope: DecodeEnvelope never panics, and errors are ErrInvalidEnvelope.
func FuzzDecodeEnvelope(f *testing.F) {
	alice, bob := fuzzKeys(f)
	ct, err := Seal(alice, bob.AccountID(), []byte("x"))
	if err != nil {
		f.Fatal(err)
	}
	wire, err := EncodeEnvelope(ct, 1700000000000, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(wire)
	f.Add([]byte{})
	f.Add([]byte{0x08, 0x01, 0x12, 0x02, 0x1a, 0x00})
	f.Fuzz(func(t *testing.T, wire []byte) {
		env, err := DecodeEnvelope(wire)
		if err != nil {
			if !errors.Is(err, ErrInvalidEnvelope) || env != nil {
				t.Fatalf("%v, %v", env, err)
			}
			return
		}
		if env.Type == nil || env.Timestamp == nil {
			t.Fatal("envelope without its required fields accepted")
		}
	})
}

// FuzzDecodeMessage: the whole receive path on arbitrary stored data.
func FuzzDecodeMessage(f *testing.F) {
	alice, bob := fuzzKeys(f)
	data, err := EncodeMessage(alice, bob.AccountID(), textContent("seed"), time.UnixMilli(1700000000000))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add("")
	f.Add("CAESAA==")
	f.Fuzz(func(t *testing.T, data string) {
		in, err := DecodeMessage(bob, data)
		if err != nil {
			if in != nil {
				t.Fatal("result with an error")
			}
			for _, e := range []error{ErrInvalidEncoding, ErrInvalidEnvelope, ErrUnsupportedEnvelope, ErrInvalidContent, ErrTimestampMismatch} {
				if errors.Is(err, e) {
					return
				}
			}
			if !isDecryptError(err) {
				t.Fatalf("undocumented error %v", err)
			}
			return
		}
		if in.Content == nil || in.Sender.Prefix() != crypto.PrefixStandard {
			t.Fatalf("accepted %+v", in)
		}
		if _, err := base64.StdEncoding.DecodeString(data); err != nil {
			if _, err := base64.RawStdEncoding.DecodeString(data); err != nil {
				t.Fatal("accepted data that is not base64")
			}
		}
	})
}
