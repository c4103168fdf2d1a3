package groups

import (
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap one of them, so callers can branch
// with errors.Is.
var (
	// ErrInvalidInput: an argument is malformed (wrong length, wrong prefix, too large).
	ErrInvalidInput = errors.New("groups: invalid input")
	// ErrDecrypt: no key could decrypt a ciphertext.
	ErrDecrypt = errors.New("groups: unable to decrypt")
	// ErrBadSignature: a signature does not verify.
	ErrBadSignature = errors.New("groups: bad signature")
	// ErrMalformed: decrypted or received data does not have the required structure.
	ErrMalformed = errors.New("groups: malformed message")
	// ErrNotAdmin: the operation needs the group's secret key.
	ErrNotAdmin = errors.New("groups: group secret key required")
	// ErrNoKeys: no group encryption key is known yet.
	ErrNoKeys = errors.New("groups: no group keys")
	// ErrTooLarge: a message or config exceeds its size limit.
	ErrTooLarge = errors.New("groups: too large")
	// ErrUnsupported: a valid but unsupported format (e.g. multipart configs, a newer config
	// version).
	ErrUnsupported = errors.New("groups: unsupported format")
	// ErrForeign: a config message was sealed by another account (a forgery, or a message
	// meant for someone else).
	ErrForeign = errors.New("groups: config message from another account")
)

// FormatError describes why received data was rejected. It matches ErrMalformed (or the
// sentinel in Kind) with errors.Is and carries the underlying cause, if any.
type FormatError struct {
	What  string // which structure, e.g. "key message"
	Field string // the offending field, if known
	Msg   string // what is wrong
	Kind  error  // sentinel: ErrMalformed unless set
	Err   error  // underlying cause (e.g. a bencode error), may be nil
}

func (e *FormatError) Error() string {
	s := "groups: " + e.What
	if e.Field != "" {
		s += fmt.Sprintf(" field %q", e.Field)
	}
	s += ": " + e.Msg
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *FormatError) Unwrap() []error {
	k := e.Kind
	if k == nil {
		k = ErrMalformed
	}
	if e.Err != nil {
		return []error{k, e.Err}
	}
	return []error{k}
}

func malformed(what, field, msg string, err error) error {
	return &FormatError{What: what, Field: field, Msg: msg, Err: err}
}
