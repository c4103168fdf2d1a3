package attachment_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/sessiongo/sdk/attachment"
)

// A sender encrypts a file as current clients do (legacy scheme, padded) and puts the
// pointer's key, digest and size in the AttachmentPointer; the receiver decrypts with them.
func ExampleEncryptLegacy() {
	var blob bytes.Buffer // in real use: the upload body, or a temporary file
	p, err := attachment.EncryptLegacy(&blob, strings.NewReader("hello, attachment"), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Key.Scheme(), len(p.Key.Bytes()), len(p.Digest), p.Size)
	fmt.Println("blob size:", blob.Len(), attachment.EncryptedSize(attachment.Legacy, p.Size))

	var plain bytes.Buffer
	if _, err := attachment.Decrypt(&plain, &blob, p); err != nil {
		panic(err)
	}
	fmt.Println(plain.String())
	// Output:
	// legacy 64 32 17
	// blob size: 592 592
	// hello, attachment
}

// The deterministic scheme derives the key from the file and the account's seed: the same
// file gives the same blob, so a re-upload can be deduplicated by the server.
func ExampleEncryptDeterministic() {
	var seed [32]byte // crypto.Keys.Seed() in real use
	var blob bytes.Buffer
	p, err := attachment.EncryptDeterministic(&blob, []byte("hello"), seed, attachment.DomainAttachment)
	if err != nil {
		panic(err)
	}
	fmt.Println(p.Key.Scheme(), len(p.Key.Bytes()), blob.Len(), string(blob.Bytes()[:1]))

	var plain bytes.Buffer
	if _, err := attachment.Decrypt(&plain, &blob, p); err != nil {
		panic(err)
	}
	fmt.Println(plain.String())
	// Output:
	// deterministic 32 4096 S
	// hello
}

// A damaged download is refused with a typed error, and nothing reaches the destination.
func ExampleDecrypt_damaged() {
	var blob bytes.Buffer
	p, _ := attachment.EncryptLegacy(&blob, strings.NewReader("secret plans"), nil)
	damaged := blob.Bytes()
	damaged[100] ^= 1

	var plain bytes.Buffer
	_, err := attachment.Decrypt(&plain, bytes.NewReader(damaged), p)
	fmt.Println(errors.Is(err, attachment.ErrDigestMismatch), plain.Len())
	// Output: true 0
}

func ExampleEncryptProfilePicture() {
	profileKey := [32]byte{1, 2, 3} // random in real use; sent in the profile fields
	blob, err := attachment.EncryptProfilePicture(profileKey, []byte("png bytes"), nil)
	if err != nil {
		panic(err)
	}
	pic, err := attachment.DecryptProfilePicture(profileKey, blob)
	fmt.Println(string(pic), err)
	// Output: png bytes <nil>
}
