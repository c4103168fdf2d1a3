package attachment

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps one of them, so callers branch
// with errors.Is.
var (
	// ErrWrongKey: the blob does not authenticate under the key (the legacy HMAC, the
	// profile picture's GCM tag, or the first chunk of a deterministic stream). With a
	// matching digest, that means the key is wrong.
	ErrWrongKey = errors.New("attachment: wrong key or altered data")
	// ErrDigestMismatch: the SHA-256 of the blob is not the pointer's digest (or a legacy
	// pointer has no digest): the downloaded bytes are not the ones the sender uploaded.
	ErrDigestMismatch = errors.New("attachment: digest mismatch")
	// ErrTruncated: the blob is shorter than the pointer's size implies, or its stream ends
	// before the final chunk.
	ErrTruncated = errors.New("attachment: truncated")
	// ErrTooLarge: the blob (or input) is larger than the pointer's size allows, or larger
	// than MaxBlobSize.
	ErrTooLarge = errors.New("attachment: too large")
	// ErrMalformed: anything else that is not a valid blob or pointer: a bad key length,
	// bad padding, a wrong scheme byte, a size that disagrees with the content.
	ErrMalformed = errors.New("attachment: malformed")
)

// SizeError reports a blob or input whose length is outside what is allowed. It wraps
// ErrTruncated (Got < Want) or ErrTooLarge (Got > Want).
type SizeError struct {
	Got  int64 // bytes seen (for an oversized stream: at least this many)
	Want int64 // the expected length, or the limit
	// Exact is true when Want is the exact length the blob must have, false when it is a
	// bound.
	Exact bool
}

func (e *SizeError) Error() string {
	rel := "at most"
	if e.Exact {
		rel = "exactly"
	} else if e.Got < e.Want {
		rel = "at least"
	}
	return fmt.Sprintf("%v: %d bytes, want %s %d", e.Unwrap(), e.Got, rel, e.Want)
}

// Unwrap returns ErrTruncated or ErrTooLarge.
func (e *SizeError) Unwrap() error {
	if e.Got < e.Want {
		return ErrTruncated
	}
	return ErrTooLarge
}
