// Package attachment encrypts and decrypts Session attachments and profile pictures.
//
// Two schemes exist, and a receiver must read both:
//
//   - Legacy (what current clients send for 1:1 and group attachments): a random 64-byte key
//     (AES-256 key ‖ HMAC-SHA256 key) and IV; the file is zero-padded to a size bucket
//     (PaddedSize), encrypted with AES-256-CBC/PKCS#7, and the blob is IV ‖ ciphertext ‖ HMAC.
//     The AttachmentPointer carries the key, the SHA-256 digest of the blob and the unpadded size.
//   - Deterministic ("S" blobs, newer libsession): the key and header come from a keyed,
//     personalised BLAKE2b of the file, so the same file from the same account always gives
//     the same blob. The file is padded in front and encrypted as a libsodium secretstream
//     (XChaCha20-Poly1305) in 32 KiB chunks. The pointer carries a 32-byte key and no digest.
//
// Encryption streams from an io.Reader (legacy) or a byte slice (deterministic: the key depends
// on the whole file) to an io.Writer in small chunks. Decryption (Decrypt, DecryptInPlace)
// holds the blob once, authenticates all of it (HMAC in constant time, digest, every stream
// chunk) and only then writes the plaintext to the caller's destination: when it returns an
// error, nothing has been written.
//
// Profile pictures use AES-256-GCM with a 32-byte profile key (EncryptProfilePicture,
// DecryptProfilePicture), or the deterministic scheme with DomainProfilePicture.
//
// Errors wrap ErrWrongKey, ErrDigestMismatch, ErrTruncated, ErrTooLarge or ErrMalformed;
// size problems are also a *SizeError.
package attachment
