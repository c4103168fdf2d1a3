package session

import (
	"fmt"

	"github.com/sessiongo/sdk/crypto"
)

// Seal pads plaintext (a serialized Content) with Pad and encrypts it from sender to recipient
// with the Session Protocol (crypto.EncryptForRecipient, fresh random ephemeral key). recipient
// must be a 05 Account ID. The result is what an Envelope's content carries.
func Seal(sender *crypto.Keys, recipient crypto.AccountID, plaintext []byte) ([]byte, error) {
	if recipient.Prefix() != crypto.PrefixStandard {
		return nil, fmt.Errorf("%w: prefix %s", ErrInvalidRecipient, recipient.Prefix())
	}
	ct, err := crypto.EncryptForRecipient(sender, recipient.Key(), Pad(plaintext), nil)
	if err != nil {
		return nil, fmt.Errorf("session: seal: %w", err)
	}
	return ct, nil
}

// Open decrypts a message sealed to keys, checks the sender's signature, removes the padding and
// returns the plaintext with the sender's Account ID. Errors match the crypto package's
// decryption errors (crypto.ErrCiphertextTooShort, crypto.ErrDecrypt, crypto.ErrBadSignature,
// crypto.ErrBadSenderKey) or ErrInvalidPadding.
func Open(keys *crypto.Keys, sealed []byte) (plaintext []byte, sender crypto.AccountID, err error) {
	padded, _, sender, err := crypto.DecryptIncoming(keys, sealed)
	if err != nil {
		return nil, crypto.AccountID{}, fmt.Errorf("session: open: %w", err)
	}
	plaintext, err = Unpad(padded)
	if err != nil {
		return nil, crypto.AccountID{}, fmt.Errorf("session: open: %w", err)
	}
	return plaintext, sender, nil
}
