package blinding

import "errors"

var (
	// ErrCannotBlind reports a key that cannot be blinded or multiplied: not a valid point,
	// non-canonical, of small order, outside the prime-order subgroup, or a degenerate
	// (zero) result. It is what libsodium's *_noclamp scalar multiplications refuse.
	ErrCannotBlind = errors.New("blinding: cannot blind key")
	// ErrNotBlindedID reports an Account ID whose prefix is not the blinded kind expected
	// (15 or 25, or 15 only where communities accept nothing else).
	ErrNotBlindedID = errors.New("blinding: not a blinded Account ID")
	// ErrDecrypt reports a blinded direct message that cannot be decrypted: too short, an
	// unknown version byte, or a failed authentication (tampered, or not for us).
	ErrDecrypt = errors.New("blinding: cannot decrypt message")
	// ErrSenderMismatch reports a blinded direct message whose embedded sender key does not
	// blind to the sender ID the server reported.
	ErrSenderMismatch = errors.New("blinding: sender key does not match the blinded sender ID")
	// ErrInvalidPlatform reports a platform that the file server's version endpoint does not
	// know (see [Platform]).
	ErrInvalidPlatform = errors.New("blinding: unknown platform")
	// ErrNoAuth is returned by Verifier.Verify for a request that carries none of the four
	// X-SOGS-* headers. It is not a failure: the request is anonymous and routes that need no
	// user may serve it.
	ErrNoAuth = errors.New("blinding: request has no X-SOGS-* authentication headers")
)
