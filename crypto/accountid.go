package crypto

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Prefix is the first byte of an Account ID; it says what kind of key follows.
type Prefix byte

// The prefixes of Account IDs.
const (
	// PrefixUnblinded marks a plain Ed25519 key, used by legacy community (SOGS) requests.
	PrefixUnblinded Prefix = 0x00
	// PrefixGroup marks a closed group (groups v2): the group's Ed25519 public key.
	PrefixGroup Prefix = 0x03
	// PrefixStandard marks a person's Account ID: an X25519 public key.
	PrefixStandard Prefix = 0x05
	// PrefixVersionBlinded marks a version-blinded Ed25519 key (file server version checks).
	PrefixVersionBlinded Prefix = 0x07
	// PrefixBlinded15 marks a community-blinded key (server-wide blinding factor).
	PrefixBlinded15 Prefix = 0x15
	// PrefixBlinded25 marks a community-blinded key (per-user blinding factor).
	PrefixBlinded25 Prefix = 0x25
)

// Valid reports whether p is one of the known prefixes.
func (p Prefix) Valid() bool {
	switch p {
	case PrefixUnblinded, PrefixGroup, PrefixStandard, PrefixVersionBlinded, PrefixBlinded15, PrefixBlinded25:
		return true
	}
	return false
}

// String returns the prefix as two hex digits, e.g. "05".
func (p Prefix) String() string { return hex.EncodeToString([]byte{byte(p)}) }

// AccountIDSize is the size of an Account ID in bytes: a prefix byte and a 32-byte key.
const AccountIDSize = 33

// AccountID is a 33-byte Session ID: a Prefix followed by a 32-byte public key. Its text form is
// 66 lowercase hex digits. The zero value is not a valid ID (see [AccountID.IsZero]).
type AccountID [AccountIDSize]byte

// NewAccountID returns the Account ID with prefix p and key.
func NewAccountID(p Prefix, key [32]byte) AccountID {
	var a AccountID
	a[0] = byte(p)
	copy(a[1:], key[:])
	return a
}

// Errors that an *AccountIDError wraps, to tell what is wrong with an input.
var (
	ErrAccountIDLength = errors.New("wrong length")
	ErrAccountIDHex    = errors.New("not hexadecimal")
	ErrAccountIDPrefix = errors.New("unknown prefix")
)

// AccountIDError reports why a string is not an Account ID. It matches ErrInvalidAccountID and
// its cause (ErrAccountIDLength, ErrAccountIDHex or ErrAccountIDPrefix) with errors.Is.
type AccountIDError struct {
	Input string // the input, shortened if long
	Err   error  // the cause
	// Detail explains the cause, e.g. the position of the first non-hex character.
	Detail string
}

func (e *AccountIDError) Error() string {
	msg := fmt.Sprintf("crypto: invalid Account ID %q: %v", e.Input, e.Err)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	return msg
}

// Unwrap returns the cause.
func (e *AccountIDError) Unwrap() error { return e.Err }

// Is matches ErrInvalidAccountID.
func (e *AccountIDError) Is(target error) bool { return target == ErrInvalidAccountID }

func shorten(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// ParseAccountID parses 66 hex digits (either case) with a known prefix.
func ParseAccountID(s string) (AccountID, error) {
	var a AccountID
	if len(s) != 2*AccountIDSize {
		return a, &AccountIDError{Input: shorten(s), Err: ErrAccountIDLength,
			Detail: fmt.Sprintf("want %d hex digits, got %d characters", 2*AccountIDSize, len(s))}
	}
	for i := 0; i < len(s); i++ {
		if !isHex(s[i]) {
			return a, &AccountIDError{Input: shorten(s), Err: ErrAccountIDHex,
				Detail: fmt.Sprintf("character %d is %q", i+1, s[i])}
		}
	}
	if _, err := hex.Decode(a[:], []byte(s)); err != nil { // unreachable after the scan above
		return AccountID{}, &AccountIDError{Input: shorten(s), Err: ErrAccountIDHex}
	}
	if !Prefix(a[0]).Valid() {
		return AccountID{}, &AccountIDError{Input: shorten(s), Err: ErrAccountIDPrefix,
			Detail: fmt.Sprintf("prefix %q is not 00, 03, 05, 07, 15 or 25", strings.ToLower(s[:2]))}
	}
	return a, nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// Prefix returns the ID's prefix.
func (a AccountID) Prefix() Prefix { return Prefix(a[0]) }

// Key returns the 32-byte key after the prefix.
func (a AccountID) Key() [32]byte { return [32]byte(a[1:]) }

// Bytes returns the 33 bytes of the ID.
func (a AccountID) Bytes() []byte { return append([]byte(nil), a[:]...) }

// IsZero reports whether a is the zero value.
func (a AccountID) IsZero() bool { return a == AccountID{} }

// String returns the 66 lowercase hex digits.
func (a AccountID) String() string { return hex.EncodeToString(a[:]) }

// MarshalText implements encoding.TextMarshaler (JSON strings, among others).
func (a AccountID) MarshalText() ([]byte, error) {
	out := make([]byte, 2*AccountIDSize)
	hex.Encode(out, a[:])
	return out, nil
}

// UnmarshalText implements encoding.TextUnmarshaler with ParseAccountID.
func (a *AccountID) UnmarshalText(text []byte) error {
	id, err := ParseAccountID(string(text))
	if err != nil {
		return err
	}
	*a = id
	return nil
}

// AccountIDFromEd25519 returns the 05 Account ID of an Ed25519 public key: its X25519 form with
// the 05 prefix.
func AccountIDFromEd25519(pk [32]byte) (AccountID, error) {
	x, err := Ed25519PublicToX25519(pk)
	if err != nil {
		return AccountID{}, err
	}
	return NewAccountID(PrefixStandard, x), nil
}
