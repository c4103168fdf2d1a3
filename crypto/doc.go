// Package crypto holds the identity layer of Session: key pairs derived from a seed, typed
// Account IDs, the 13-word Recovery Password, Ed25519/X25519 conversion, the BLAKE2b variants the
// protocol uses, and the byte-level Session Protocol primitives (encrypt for a recipient, decrypt
// an incoming message).
//
// An account is an Ed25519 key pair. Its Account ID is 0x05 followed by the X25519 form of the
// public key. New accounts come from 16 random bytes (the Session seed), zero-padded to the
// 32-byte Ed25519 seed; those 16 bytes are what the Recovery Password encodes.
//
// Functions follow golang.org/x/crypto's habits: keys are fixed-size arrays, misuse and bad input
// return errors (never panics), and secrets are never printed.
package crypto
