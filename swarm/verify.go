package swarm

import (
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// badSignature is the Reason of a member marked Failed by CheckSignatures.
const badSignature = "bad node signature"

// CheckSignatures verifies every member's Ed25519 signature over its part of the reply to req,
// a recursive request for account sent at now (ms, the time it was signed with), as the storage
// server signs them (storage-server spec section 3):
//
//   - store: the message hash (its base64 text);
//   - delete: account ‖ requested hashes ‖ deleted hashes;
//   - delete_all: account ‖ timestamp ‖ deleted hashes, sorted;
//   - delete_before: account ‖ before ‖ deleted hashes, sorted;
//   - expire_all: account ‖ expiry ‖ updated hashes, sorted;
//   - expire: account ‖ applied expiry (or the applied expiries in order) ‖ requested hashes ‖
//     updated hashes ‖ each unchanged hash and its expiry, sorted by hash;
//   - revoke_subaccount, unrevoke_subaccount: account ‖ timestamp ‖ the raw tokens,
//
// where account is the 66-hex Account ID and numbers are decimal. A member whose key is not an
// Ed25519 key or whose signature does not verify is marked Failed with Reason "bad node
// signature"; their keys are returned, sorted. Members that failed already are skipped; other
// request types have nothing to check.
func (r *SwarmResult) CheckSignatures(account crypto.AccountID, req Request, now int64) []string {
	var bad []string
	for k, m := range r.Swarm {
		if m.Failed {
			continue
		}
		msg, ok := signedResult(account, req, now, m)
		if !ok {
			continue
		}
		if !verifyMember(k, msg, m.Signature) {
			m.Failed, m.Reason = true, badSignature
			r.Swarm[k] = m
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	return bad
}

// verifyMember checks the signature sig of msg by the member with Ed25519 key k (hex).
func verifyMember(k string, msg, sig []byte) bool {
	var pk [ed25519.PublicKeySize]byte
	if len(k) != hex.EncodedLen(len(pk)) || len(sig) != ed25519.SignatureSize {
		return false
	}
	if _, err := hex.Decode(pk[:], []byte(k)); err != nil {
		return false
	}
	return ed25519.Verify(pk[:], msg, sig)
}

// signedResult is the text a member signs for its result of req.
func signedResult(account crypto.AccountID, req Request, now int64, m NodeResult) ([]byte, bool) {
	if _, ok := req.(StoreRequest); ok {
		return []byte(m.Hash), true
	}
	acct := account.String()
	switch q := req.(type) {
	case DeleteRequest:
		b := appendStrings([]byte(acct), q.Hashes)
		return appendStrings(b, m.Deleted), true
	case DeleteAllRequest:
		b := strconv.AppendInt([]byte(acct), now, 10)
		return appendStrings(b, sortedHashes(m.Deleted, m.DeletedByNamespace)), true
	case DeleteBeforeRequest:
		b := strconv.AppendInt([]byte(acct), ms(q.Before), 10)
		return appendStrings(b, sortedHashes(m.Deleted, m.DeletedByNamespace)), true
	case ExpireAllRequest:
		b := strconv.AppendInt([]byte(acct), ms(q.Expiry), 10)
		return appendStrings(b, sortedHashes(m.Updated, m.UpdatedByNamespace)), true
	case ExpireRequest:
		b := []byte(acct)
		if len(m.Expiries) > 0 {
			for _, e := range m.Expiries {
				b = strconv.AppendInt(b, e, 10)
			}
		} else {
			b = strconv.AppendInt(b, m.Expiry, 10)
		}
		b = appendStrings(b, q.Hashes)
		b = appendStrings(b, m.Updated)
		hs := make([]string, 0, len(m.Unchanged))
		for h := range m.Unchanged {
			hs = append(hs, h)
		}
		sort.Strings(hs)
		for _, h := range hs {
			b = strconv.AppendInt(append(b, h...), m.Unchanged[h], 10)
		}
		return b, true
	case RevokeSubaccountRequest:
		return tokenMessage(acct, now, q.Tokens), true
	case UnrevokeSubaccountRequest:
		return tokenMessage(acct, now, q.Tokens), true
	}
	return nil, false
}

// sortedHashes is the hashes of a one-namespace list or of a per-namespace dict, sorted.
func sortedHashes(list []string, byNS map[string][]string) []string {
	out := append([]string(nil), list...)
	for _, l := range byNS {
		out = append(out, l...)
	}
	sort.Strings(out)
	return out
}

// Why Verify drops a retrieved message (DroppedMessage.Reason matches one with errors.Is).
var (
	// ErrHashMismatch: the hash is not MessageHash of the data (in any namespace). Nodes cannot
	// get this wrong by accident; a node repeating messages under fresh hashes does.
	ErrHashMismatch = errors.New("swarm: message hash does not match its data")
	// ErrOtherNamespace: the hash is that of the data in another namespace. Storage servers
	// push a new swarm member the messages it lacks without their namespace, so they land in
	// namespace 0 there (an upstream quirk): the message belongs elsewhere, the node is honest.
	ErrOtherNamespace = errors.New("swarm: message belongs to another namespace")
	// ErrImpossibleExpiry: the expiry is further ahead than the longest TTL (MaxTTL) allows.
	ErrImpossibleExpiry = errors.New("swarm: message expiry beyond the maximum TTL")
	// ErrExpired: the message expired (by network time, give or take the tolerance) before the
	// node returned it.
	ErrExpired = errors.New("swarm: message already expired")
	// ErrBadTimestamp: the message's timestamp is in the future or is not in milliseconds.
	ErrBadTimestamp = errors.New("swarm: message timestamp impossible")
	// ErrMessageTooLarge: the data exceeds MaxMessageSize.
	ErrMessageTooLarge = errors.New("swarm: message data over the size limit")
	// ErrDuplicate: the same hash appears twice in one reply (the second copy is dropped).
	ErrDuplicate = errors.New("swarm: message repeated in one reply")
)

// DroppedMessage is a retrieved message Verify left out, and why.
type DroppedMessage struct {
	Hash   string // the hash the node gave it
	Reason error  // one of ErrHashMismatch, ErrOtherNamespace, ErrImpossibleExpiry, ...
}

// ClockTolerance is how far a message's timestamp may be ahead of network time, and its expiry
// behind it, before Verify calls them impossible: node clocks differ from the agreed time by a
// few seconds, and the storage server itself allows 10 s to 70 s.
const ClockTolerance = 2 * time.Minute

// otherNamespaces are the namespaces a message pushed into namespace 0 may come from.
var otherNamespaces = []Namespace{2, 3, 4, 5, 11, 12, 13, 14, -10, -11, -21, -1, 1}

// Verify checks every message of a reply to a retrieve of namespace ns of account, at network
// time now, against what the node can prove or the protocol allows: the hash is recomputed from
// the data (MessageHash), the data is at most MaxMessageSize, the expiry is at most MaxTTL
// (plus ClockTolerance) ahead and not past, the timestamp is in milliseconds and not ahead. A
// message repeated in the reply is kept once. Messages that fail are moved from Messages to
// Dropped, and LastHash is set to the last genuine hash. It returns the worst offense the reply
// shows (0 if none): OffenseBadMessage for forged hashes, impossible expiries and oversized
// data, OffenseBadReply for repeats, OffenseClock for expired or future messages.
func (r *RetrieveResult) Verify(account crypto.AccountID, ns Namespace, now time.Time) Offense {
	var worst Offense
	offend := func(o Offense) {
		if o.weight() > worst.weight() {
			worst = o
		}
	}
	nowMS := now.UnixMilli()
	tol := ClockTolerance.Milliseconds()
	seen := make(map[string]bool, len(r.Messages))
	kept := r.Messages[:0:0]
	r.Dropped = nil
	r.LastHash = ""
	for _, m := range r.Messages {
		var reason error
		genuine := true
		switch {
		case len(m.Data) > MaxMessageSize:
			reason, genuine = ErrMessageTooLarge, false
			offend(OffenseBadMessage)
		case MessageHash(account, ns, m.Data) != m.Hash:
			genuine = false
			reason = ErrHashMismatch
			if ns == 0 {
				for _, other := range otherNamespaces {
					if MessageHash(account, other, m.Data) == m.Hash {
						reason, genuine = ErrOtherNamespace, true
						break
					}
				}
			}
			if !genuine {
				offend(OffenseBadMessage)
			}
		case seen[m.Hash]:
			reason = ErrDuplicate
			offend(OffenseBadReply)
		case m.Expiration.UnixMilli() > nowMS+MaxTTL.Milliseconds()+tol:
			reason = ErrImpossibleExpiry
			offend(OffenseBadMessage)
		case m.Timestamp.UnixMilli() < clockMinT || m.Timestamp.UnixMilli() > nowMS+tol:
			reason = ErrBadTimestamp
			offend(OffenseClock)
		case m.Expiration.UnixMilli() < nowMS-tol:
			reason = ErrExpired
			offend(OffenseClock)
		}
		if genuine {
			r.LastHash = m.Hash
		}
		if reason != nil {
			r.Dropped = append(r.Dropped, DroppedMessage{Hash: m.Hash, Reason: reason})
			continue
		}
		seen[m.Hash] = true
		kept = append(kept, m)
	}
	r.Messages = kept
	return worst
}
