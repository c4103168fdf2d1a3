// Package swarm talks to Session's storage network: the service nodes ("snodes") that keep
// messages for an account in the account's swarm.
//
// It holds the pieces every request needs, whatever carries it:
//
//   - [Node]: one storage node (address, HTTPS port, Ed25519 and X25519 keys, swarm ID), parsed
//     from the seed, get_service_nodes and get_swarm JSON.
//   - [SwarmSpace] and [ClosestSwarm]: which swarm stores an account, computed locally the way
//     the storage servers compute it.
//   - [Pool]: the node pool, bootstrapped from seed nodes over verified HTTPS, refreshed from
//     several random nodes (accepted only when they agree), persisted through a [PoolStore], and
//     a cache of account swarms that follows the wrong-swarm (421) rules.
//   - [Client]: the signed storage RPC (store, retrieve, delete, expire, batch, ...), with
//     typed requests and responses. It trusts no node beyond what it proves: message hashes
//     are recomputed ([MessageHash], [RetrieveResult.Verify]), member signatures checked
//     ([SwarmResult.CheckSignatures]), network time learned from the agreement of several
//     nodes, and liars reported to the [Pool], which stops choosing them ([Offense]).
//   - [Transport]: the seam underneath. [HTTPSTransport] posts straight to a node's
//     /storage_rpc/v1; package onion implements the same interface through 3-hop onion paths.
//   - [Signer]: who signs a storage request (an 05 account, a group admin key, or a group
//     member's subaccount token, which package groups provides).
package swarm
