// Package devnet runs a faithful Session storage network on 127.0.0.1, for tests and examples, the
// way net/http/httptest runs an HTTP server.
//
// Start launches N storage nodes (default 20), each with its own Ed25519/X25519 identity, TLS
// certificate (signed by a per-network CA) and port, grouped into swarms by oxend's assignment
// rules, plus a seed node answering oxend JSON-RPC get_n_service_nodes at SeedURL()+"/json_rpc".
//
// Every node serves, over HTTPS:
//
//   - POST /storage_rpc/v1: store, retrieve, delete, delete_all, delete_before, expire,
//     expire_all, get_expiries, revoke_subaccount, unrevoke_subaccount, get_swarm (alias
//     get_snodes_for_pubkey), info, oxend_request (get_service_nodes, ons_resolve), batch,
//     sequence and ifelse, with the storage server's parameters, limits, defaults, signature
//     strings, clock windows, subaccount tokens and error replies (421 with the correct swarm,
//     406 for clock skew, 401/403 for bad signatures and TTLs, 400 for bad parameters);
//   - POST /onion_req/v2: the node peels its layer with its X25519 key (aes-gcm, xchacha20 and
//     legacy aes-cbc) and forwards to the next node, relays to a server destination, or executes
//     the request as the final node and encrypts the reply;
//   - POST /ping_test/v1 and GET /get_stats/v1.
//
// Writes to recursive endpoints are replicated to every member of the swarm, each member
// re-validating them with its own clock; messages expire with their TTL (WithClock injects a
// clock). Nodes can be added and removed at run time (AddNodes, RemoveNode): the assignment runs
// again and data moves as the storage servers move it. Faults (Node.SetFaults, Node.Stop,
// Node.Restart) simulate drops, delays, corrupt replies, clock skew, 421/503 answers, a real
// server bug (delete_before over all namespaces) and hostile nodes (messages repeated under
// fresh hashes, junk, lying expiries and times, replays, everything served again from the
// start, corrupted data, dropped stores),
// deterministically under WithSeed; StopSeed and RestartSeed take the seed offline.
//
// The server-side checks are written here from the storage-server specification and do not call
// the SDK's client packages, so that a bug on one side cannot hide itself. The network speaks
// HTTPS only: it serves no OxenMQ or QUIC, so the port_omq/port_quic/storage_lmq_port values it
// reports are its HTTPS port.
package devnet
