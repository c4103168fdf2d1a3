// Package onion sends requests through Session's 3-hop onion paths.
//
// A request is wrapped in one encrypted layer per hop (Build): each hop can only read the
// routing JSON that names the next hop, and only the destination can read the payload. The
// destination is either a storage node (NodeDestination, running a storage RPC) or an HTTP
// server behind the last hop (ServerDestination, a v4 request such as a community server or
// the file server). Replies come back encrypted to the destination layer's ephemeral key
// (Onion.DecodeNodeResponse, Onion.DecodeServerResponse).
//
// Hop crypto (DeriveKey, Channel) covers both enc types, xchacha20 and aes-gcm, from both
// sides: the client side used by Build and the node side (ParseHopRequest, ParseLayer,
// EncodeNodeReply, ParseV4Request, EncodeV4Response) used by test servers such as devnet.
package onion
