package swarm

import (
	"crypto/ed25519"
	"encoding/hex"
	"sort"
	"strconv"

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
		pk, err := hex.DecodeString(k)
		if err != nil || len(pk) != ed25519.PublicKeySize || len(m.Signature) != ed25519.SignatureSize ||
			!ed25519.Verify(pk, msg, m.Signature) {
			m.Failed, m.Reason = true, badSignature
			r.Swarm[k] = m
			bad = append(bad, k)
		}
	}
	sort.Strings(bad)
	return bad
}

// signedResult is the text a member signs for its result of req.
func signedResult(account crypto.AccountID, req Request, now int64, m NodeResult) ([]byte, bool) {
	acct := account.String()
	switch q := req.(type) {
	case StoreRequest:
		return []byte(m.Hash), true
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
