// Package blinding implements Session's community blinding: the 15- and 25-blinded key pairs,
// Account IDs and signatures that a community (SOGS) server sees instead of a user's real
// Account ID, matching a blinded ID back to a 05 Account ID, the 07 version-blinded key used by
// the file server, blinded direct messages through a community inbox, and the X-SOGS-*
// request-signing headers with their server-side verification.
//
// Everything here is pure computation: no network, no global state. Keys come from
// [crypto.Keys]; IDs are [crypto.AccountID] values with prefix 15, 25, 07 or 00.
//
// # Blinding in one paragraph
//
// A community server with X25519 public key S never learns a user's Ed25519 key A. It sees
// k·A instead, where k is a scalar derived from S (15-blinding: k = H(S), the same for every
// user) or from S and the user's X25519 key X (25-blinding: k = H(05 || X || S)). Anyone who
// knows a 05 Account ID can compute its blinded ID on a given server and so recognise the user,
// but the server cannot link IDs across servers. Because a 05 ID only fixes A up to its sign,
// a 15 ID derived from a 05 ID has two candidates; [Blind15IDs] returns both and
// [MatchesSessionID] accepts either.
//
// # Costs
//
// Deriving or matching a blinded ID from a 05 Account ID costs two variable-time scalar
// multiplications (one to check that the key is in the prime-order subgroup, as libsodium does,
// one for the blinding itself) and one field inversion; no secret is involved. Key pairs,
// signatures and direct messages use constant-time arithmetic.
package blinding
