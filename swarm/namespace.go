package swarm

import (
	"encoding/base64"
	"hash"
	"strconv"
	"sync"

	"golang.org/x/crypto/blake2b"

	"github.com/sessiongo/sdk/crypto"
)

// Namespace is a storage namespace (a signed 16-bit integer). Messages of different kinds of
// an account live in different namespaces.
type Namespace int16

// Known namespaces.
const (
	NamespaceDefault           Namespace = 0   // 1:1 messages
	NamespaceUserProfile       Namespace = 2   // user profile config
	NamespaceContacts          Namespace = 3   // contacts config
	NamespaceConvoInfoVolatile Namespace = 4   // conversation info config
	NamespaceUserGroups        Namespace = 5   // user groups config
	NamespaceGroupMessages     Namespace = 11  // closed group (v2) messages
	NamespaceGroupKeys         Namespace = 12  // closed group keys
	NamespaceGroupInfo         Namespace = 13  // closed group info config
	NamespaceGroupMembers      Namespace = 14  // closed group members config
	NamespaceLegacyClosed      Namespace = -10 // legacy closed groups
)

// IsPublicInbox reports whether anyone may store to n without a signature (n % 10 == 0).
func (n Namespace) IsPublicInbox() bool { return n%10 == 0 }

// IsPublicOutbox reports whether n is a public outbox (n < 0 and -n % 20 == 1): readable
// without auth, one message kept.
func (n Namespace) IsPublicOutbox() bool { return n < 0 && (-int32(n))%20 == 1 }

// RetrieveNeedsAuth reports whether retrieving from n needs a signature (everything except -10
// and public outboxes).
func (n Namespace) RetrieveNeedsAuth() bool { return n != NamespaceLegacyClosed && !n.IsPublicOutbox() }

// sigString is the namespace as it appears in signed strings and in the message hash: empty
// for 0, the decimal value otherwise.
func (n Namespace) sigString() string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(int(n))
}

// MessageHash returns the storage server's hash of a message: unpadded standard base64 of
// BLAKE2b-256(prefix ‖ key32 ‖ namespace ‖ data), where namespace is "" for 0 and the decimal
// value otherwise. It is always 43 characters.
func MessageHash(account crypto.AccountID, ns Namespace, data []byte) string {
	h := hashers.Get().(hash.Hash)
	h.Reset()
	h.Write(account[:])
	h.Write([]byte(ns.sigString()))
	h.Write(data)
	var sum [blake2b.Size256]byte
	h.Sum(sum[:0])
	hashers.Put(h)
	return base64.RawStdEncoding.EncodeToString(sum[:])
}

// hashers holds BLAKE2b-256 states for MessageHash, which runs for every message stored and
// retrieved (a poll that changes swarm member reads a member's backlog again).
var hashers = sync.Pool{New: func() any {
	h, _ := blake2b.New256(nil) // cannot fail without a key
	return h
}}
