// Package community is a client for Session communities: Session Open Group Servers (SOGS).
//
// A Client talks to one community server as one account. It signs every request with the
// X-SOGS-* headers of our 15-blinded key on that server (package blinding) and sends it through
// an onion.ServerTransport: an *onion.Transport (onion request v4 to the server's X25519 key,
// the default and what the official clients do) or an *onion.DirectServerTransport (plain
// HTTP(S); the server sees the caller's IP address).
//
// It covers the client-facing API of the reference server (pysogs): capabilities, rooms, room
// info and pollInfo, messages (recent, since a seqno, before an id, one by id), posting (padded
// Content signed with the blinded key), editing and deleting, reactions, pins, room files,
// moderation (bans, moderators, permissions, delete-all), /batch and /sequence, the recommended
// one-request poll (Poll) and blinded direct messages through the server's inbox.
//
// Join URLs ("https://server/room?public_key=<64 hex>") are parsed by ParseURL.
//
// Servers do not check post signatures; this package does. Rows that do not parse or whose
// signature does not verify are left out of results and reported as Skipped, with the reason.
// Non-2xx answers are *HTTPError values that match the sentinels (ErrNotFound, ErrForbidden,
// ErrRateLimited with HTTPError.RetryAfter, ErrClockSkew, ErrNonceReused, …) with errors.Is.
//
// The package has no global state and a Client holds no goroutines (large pages' signatures are
// checked on short-lived goroutines that end before the call returns); a Client is safe for
// concurrent use.
package community
