package sdk_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/sessiongo/sdk/attachment"
)

// Vector handlers for package attachment (issue 9): sogs.json. fileserver_content_id is
// registered by vectors_filesd_test.go; fileserver.ContentID is checked against the same
// vector in its package tests.

func init() {
	registerVectors("legacy_attachment", vLegacyAttachment)
	registerVectors("legacy_attachment_padded_size", vLegacyAttachmentPaddedSize)
	registerVectors("attachment_v2_encrypted_size", vAttachmentV2EncryptedSize)
	registerVectors("attachment_v2_encrypt", vAttachmentV2Encrypt)
}

// vLegacyAttachmentPaddedSize checks the legacy_attachment_padded_size cases.
func vLegacyAttachmentPaddedSize(t *testing.T, c vcase) {
	if got, want := attachment.PaddedSize(c.int("size", "plaintext_size")), c.int("padded", "padded_size"); got != want {
		t.Fatalf("PaddedSize = %d, want %d", got, want)
	}
}

// vAttachmentV2EncryptedSize checks the attachment_v2_encrypted_size cases.
func vAttachmentV2EncryptedSize(t *testing.T, c vcase) {
	n := c.int("plaintext_size", "size")
	if got, want := attachment.EncryptedSize(attachment.Deterministic, n), c.int("encrypted_size", "encrypted_len"); got != want {
		t.Fatalf("EncryptedSize(%d) = %d, want %d", n, got, want)
	}
}

func vLegacyAttachment(t *testing.T, c vcase) {
	pt := c.hex("plaintext")
	key, iv := c.hex("key"), c.hex("iv")
	if len(key) != 64 || len(iv) != 16 {
		t.Fatalf("key %d bytes, iv %d bytes", len(key), len(iv))
	}
	want := c.hex("encrypted", "ciphertext", "blob")
	pad := true // attachments are padded unless the case says otherwise
	if c.has("pad") || c.has("padded") {
		pad = c.boolean("pad", "padded")
	}
	var blob bytes.Buffer
	p, err := attachment.EncryptLegacy(&blob, bytes.NewReader(pt), &attachment.LegacyOptions{
		NoPadding: !pad,
		Rand:      bytes.NewReader(append(append([]byte(nil), key...), iv...)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(blob.Bytes(), want) {
		t.Fatalf("blob\n got %x\nwant %x", blob.Bytes(), want)
	}
	if d := c.hex("digest"); !bytes.Equal(p.Digest, d) {
		t.Fatalf("digest %x, want %x", p.Digest, d)
	}
	if !bytes.Equal(p.Key.Bytes(), key) || p.Size != int64(len(pt)) {
		t.Fatalf("pointer key/size wrong: size %d", p.Size)
	}
	// And back, from the vector's own bytes.
	k, err := attachment.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := attachment.Decrypt(&out, bytes.NewReader(want), attachment.Pointer{Key: k, Digest: c.hex("digest"), Size: int64(len(pt))}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), pt) {
		t.Fatalf("decrypted %x, want %x", out.Bytes(), pt)
	}
}

func vAttachmentV2Encrypt(t *testing.T, c vcase) {
	var pt []byte
	if c.has("plaintext") {
		pt = c.hex("plaintext")
	} else {
		if rule := c.str("plaintext_rule"); rule != "byte i = (i*7) mod 256" {
			t.Fatalf("unknown plaintext rule %q", rule)
		}
		pt = make([]byte, c.int("plaintext_size"))
		for i := range pt {
			pt[i] = byte(i * 7)
		}
	}
	var d attachment.Domain
	dom := "attachment"
	if c.has("domain") {
		dom = c.str("domain")
	}
	switch dom {
	case "attachment":
		d = attachment.DomainAttachment
	case "profile_pic", "profile_picture":
		d = attachment.DomainProfilePicture
	default:
		t.Fatalf("unknown domain %q", dom)
	}
	var blob bytes.Buffer
	p, err := attachment.EncryptDeterministic(&blob, pt, fixed32(t, c.hex("seed")), d)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.Key.Bytes(), c.hex("key"); !bytes.Equal(got, want) {
		t.Fatalf("key %x, want %x", got, want)
	}
	if c.has("encrypted_len") || c.has("encrypted_size") {
		if got, want := int64(blob.Len()), c.int("encrypted_len", "encrypted_size"); got != want {
			t.Fatalf("blob length %d, want %d", got, want)
		}
	}
	if got, want := attachment.EncryptedSize(attachment.Deterministic, int64(len(pt))), int64(blob.Len()); got != want {
		t.Fatalf("EncryptedSize = %d, blob is %d", got, want)
	}
	if !c.has("sha256_encrypted") && !c.has("encrypted") {
		t.Fatal("case has neither encrypted nor sha256_encrypted")
	}
	if c.has("sha256_encrypted") {
		sum := sha256.Sum256(blob.Bytes())
		if want := c.hex("sha256_encrypted"); !bytes.Equal(sum[:], want) {
			t.Fatalf("sha256 %x, want %x", sum, want)
		}
	}
	if c.has("encrypted") {
		if want := c.hex("encrypted"); !bytes.Equal(blob.Bytes(), want) {
			t.Fatalf("blob\n got %s\nwant %s", hex.EncodeToString(blob.Bytes()), hex.EncodeToString(want))
		}
	}
	var out bytes.Buffer
	if _, err := attachment.Decrypt(&out, &blob, p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), pt) {
		t.Fatal("round trip changed the plaintext")
	}
}
