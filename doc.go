// Package sdk is sessiongo, a pure-Go SDK for the Session messenger.
//
// Session accounts are Ed25519 key pairs (no phone numbers); 1:1 messages are end-to-end
// encrypted with the stateless Session Protocol and stored in the recipient's swarm of Session
// Nodes, reached through 3-hop onion requests. Communities see blinded IDs, closed groups share a
// rotating key, and names resolve through the Session Name Service.
//
// The module is split by layer:
//
//   - crypto: keys from a seed, Account IDs, the Recovery Password, Ed25519/X25519 conversion,
//     BLAKE2b, and the byte-level Session Protocol.
//   - session: the Session Protocol at the message level (padding, envelopes, content) and the
//     high-level Client.
//   - blinding: 15/25/07 blinded keys, IDs and signatures, blinded DMs, community request signing.
//   - swarm: nodes, the node pool, swarm mapping and the signed storage RPC.
//   - onion: hop encryption, onion requests and paths.
//   - groups: closed groups v2 (keys, subaccount tokens, group messages, configs).
//   - sns: Session Name Service lookups.
//   - community: a community (SOGS) client.
//   - store: persistence.
//   - devnet: a faithful Session network on loopback for tests and examples.
//
// docs/architecture.md explains how they fit together. The root package holds only this overview
// and the test-vector suite.
package sdk
