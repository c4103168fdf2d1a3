package crypto

import "errors"

var (
	// ErrInvalidSeed reports a seed that is neither 16 nor 32 bytes long.
	ErrInvalidSeed = errors.New("crypto: seed must be 16 or 32 bytes")
	// ErrInvalidAccountID reports a malformed Account ID. Parse errors are *AccountIDError values
	// that match it with errors.Is.
	ErrInvalidAccountID = errors.New("crypto: invalid Account ID")
	// ErrInvalidPublicKey reports a public key that is not a valid point of the expected kind
	// (not on the curve, non-canonical, of small order or outside the prime-order subgroup).
	ErrInvalidPublicKey = errors.New("crypto: invalid public key")
	// ErrNoRecoveryPassword reports keys made from a full 32-byte seed, which the 13-word
	// Recovery Password cannot encode.
	ErrNoRecoveryPassword = errors.New("crypto: keys come from a 32-byte seed and have no Recovery Password")
	// ErrInvalidHashSize reports a BLAKE2b output size or key size outside what BLAKE2b allows.
	ErrInvalidHashSize = errors.New("crypto: invalid BLAKE2b size")
)
