package crypto

import (
	"errors"
	"fmt"

	"github.com/tyler-smith/go-bip39"
)

// ErrBIP39 reports a phrase that is not a valid 12-word BIP-39 mnemonic of a Session seed.
var ErrBIP39 = errors.New("crypto: invalid BIP-39 phrase")

// EncodeBIP39 returns the 12-word BIP-39 (English) form of a Session seed. It is an extra backup
// format for tools that speak BIP-39: Session apps do NOT accept it; they take the 13-word
// Recovery Password from EncodeMnemonic.
func EncodeBIP39(seed [SessionSeedSize]byte) string {
	m, err := bip39.NewMnemonic(seed[:])
	if err != nil {
		panic("crypto: BIP-39 rejected 16 bytes of entropy: " + err.Error()) // 128 bits is always valid
	}
	return m
}

// DecodeBIP39 returns the Session seed of a 12-word BIP-39 phrase made by EncodeBIP39.
func DecodeBIP39(phrase string) ([SessionSeedSize]byte, error) {
	var seed [SessionSeedSize]byte
	ent, err := bip39.EntropyFromMnemonic(phrase)
	if err != nil {
		return seed, fmt.Errorf("%w: %w", ErrBIP39, err)
	}
	if len(ent) != SessionSeedSize {
		return seed, fmt.Errorf("%w: encodes %d bytes, a Session seed has %d (use 12 words)", ErrBIP39, len(ent), SessionSeedSize)
	}
	copy(seed[:], ent)
	return seed, nil
}
