package onion

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these (or a typed error below)
// with context, so callers branch with errors.Is / errors.As.
var (
	// ErrUnknownEncType: an enc_type the package does not know.
	ErrUnknownEncType = errors.New("onion: unknown enc_type")
	// ErrInvalidKey: an X25519 public key that gives an all-zero shared secret (low order).
	ErrInvalidKey = errors.New("onion: invalid X25519 key")
	// ErrDecrypt: a layer or reply that does not authenticate or is too short to hold one.
	ErrDecrypt = errors.New("onion: decryption failed")
	// ErrMalformed: a frame, layer JSON, reply or v4 response that does not parse.
	ErrMalformed = errors.New("onion: malformed message")
	// ErrURLNotAllowed: a server URL, protocol or target that storage nodes refuse to relay to.
	ErrURLNotAllowed = errors.New("onion: url not allowed")
)
