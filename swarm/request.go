package swarm

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Limits the storage server enforces; checking them here gives a clear local error.
const (
	MaxBatchRequests = 20                  // subrequests in one batch or sequence
	MaxMessageSize   = 76800               // bytes of data in one store
	MinTTL           = 10 * time.Second    // shortest TTL a store may have
	MaxTTL           = 30 * 24 * time.Hour // longest TTL (and expiry from now) of any message
	MaxPublicTTL     = 14 * 24 * time.Hour // longest TTL of a store to a public inbox (namespace % 10 == 0)
	MaxRevokeTokens  = 50                  // tokens in one revoke_subaccount
	messageHashLen   = 43                  // base64 characters of a message hash
)

// Request is one typed storage RPC for an account's swarm: StoreRequest, RetrieveRequest,
// DeleteRequest, DeleteAllRequest, DeleteBeforeRequest, ExpireRequest, ExpireAllRequest,
// GetExpiriesRequest, RevokeSubaccountRequest, UnrevokeSubaccountRequest. The set is closed.
type Request interface {
	// Method is the RPC method name.
	Method() string
	// SignatureMessage returns the exact bytes the request's signature covers when it is sent
	// at now (ms since the epoch, network time).
	SignatureMessage(now int64) []byte
	// params returns the parameters without pubkey and auth, and whether auth is required.
	params(now int64) (map[string]any, bool, error)
}

// EncodeRequest returns the RPC body {"method": ..., "params": {...}} of req for the account
// of s, signed at now (ms since the epoch, network time). The body is what a Transport sends.
func EncodeRequest(req Request, s Signer, now int64) ([]byte, error) {
	p, err := signedParams(req, s, now)
	if err != nil {
		return nil, err
	}
	size := 512
	if st, ok := req.(StoreRequest); ok {
		size += len(st.Data) * 4 / 3
	}
	return marshalRPC(req.Method(), p, size)
}

type rpcBody struct {
	Method string `json:"method"`
	Params any    `json:"params"`
}

func signedParams(req Request, s Signer, now int64) (map[string]any, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: %s: no signer", ErrInvalidRequest, req.Method())
	}
	p, needAuth, err := req.params(now)
	if err != nil {
		return nil, err
	}
	id := s.AccountID()
	p["pubkey"] = id.String()
	auth, err := s.SignRequest(req.SignatureMessage(now))
	if err != nil {
		if needAuth || !errors.Is(err, ErrCannotSign) {
			return nil, fmt.Errorf("%s for %s: %w", req.Method(), id, err)
		}
		// Unsigned store to a public inbox or read of a namespace that needs no auth: the
		// request carries none of the auth fields. The storage server checks a signature as
		// soon as any of pubkey_ed25519, signature or timestamp is present, so an unsigned
		// retrieve with a timestamp is refused (400 "Required field 'signature' missing").
		// A store keeps its timestamp, which is the message's, not the signature's.
		delete(p, "sig_timestamp")
		if a, ok := req.(authTimestamped); ok {
			delete(p, a.authTimestampField())
		}
		return p, nil
	}
	p["signature"] = base64.StdEncoding.EncodeToString(auth.Signature[:])
	if auth.PubkeyEd25519 != nil {
		p["pubkey_ed25519"] = hex.EncodeToString(auth.PubkeyEd25519[:])
	}
	if auth.Subaccount != nil {
		if auth.SubaccountSig == nil {
			return nil, fmt.Errorf("%w: %s: subaccount token without its signature", ErrInvalidRequest, req.Method())
		}
		p["subaccount"] = base64.StdEncoding.EncodeToString(auth.Subaccount[:])
		p["subaccount_sig"] = base64.StdEncoding.EncodeToString(auth.SubaccountSig[:])
	}
	return p, nil
}

// authTimestamped is a request whose timestamp only serves its signature (retrieve): it is
// left out when the request goes unsigned.
type authTimestamped interface {
	authTimestampField() string
}

func (RetrieveRequest) authTimestampField() string { return "timestamp" }

func ms(t time.Time) int64 { return t.UnixMilli() }

func nsParam(p map[string]any, ns Namespace) {
	if ns != 0 {
		p["namespace"] = int(ns)
	}
}

// nsOrAll is the namespace part of a signed string for the ops that accept "all".
func nsOrAll(ns Namespace, all bool) string {
	if all {
		return "all"
	}
	return ns.sigString()
}

func setNsOrAll(p map[string]any, ns Namespace, all bool) {
	if all {
		p["namespace"] = "all"
	} else {
		nsParam(p, ns)
	}
}

func checkHashes(method string, hashes []string) error {
	if len(hashes) == 0 {
		return fmt.Errorf("%w: %s: no message hashes", ErrInvalidRequest, method)
	}
	for _, h := range hashes {
		if len(h) != messageHashLen {
			return fmt.Errorf("%w: %s: message hash %q is not %d characters", ErrInvalidRequest, method, shorten(h), messageHashLen)
		}
	}
	return nil
}

func appendStrings(b []byte, ss []string) []byte {
	for _, s := range ss {
		b = append(b, s...)
	}
	return b
}

// StoreRequest stores one message in the account's swarm.
type StoreRequest struct {
	Namespace Namespace
	Data      []byte        // at most MaxMessageSize bytes
	TTL       time.Duration // at least MinTTL; at most MaxPublicTTL for public inboxes, MaxTTL otherwise
	// Timestamp is the message timestamp; zero means the send time. The signature always
	// covers the send time (sig_timestamp).
	Timestamp time.Time
}

// Method returns "store", the RPC method of a StoreRequest.
func (StoreRequest) Method() string { return "store" }

// SignatureMessage is "store" ‖ namespace ‖ now.
func (r StoreRequest) SignatureMessage(now int64) []byte {
	return []byte("store" + r.Namespace.sigString() + strconv.FormatInt(now, 10))
}

func (r StoreRequest) params(now int64) (map[string]any, bool, error) {
	if len(r.Data) > MaxMessageSize {
		return nil, false, fmt.Errorf("%w: store: %d bytes of data exceed %d", ErrInvalidRequest, len(r.Data), MaxMessageSize)
	}
	if r.TTL < MinTTL {
		return nil, false, fmt.Errorf("%w: store: TTL %v is below %v", ErrInvalidRequest, r.TTL, MinTTL)
	}
	maxTTL := MaxTTL
	if r.Namespace.IsPublicInbox() {
		maxTTL = MaxPublicTTL
	}
	if r.TTL > maxTTL {
		// The node would answer 403 "Provided expiry/TTL is not valid."
		return nil, false, fmt.Errorf("%w: store: TTL %v is above %v, the longest namespace %d allows", ErrInvalidRequest, r.TTL, maxTTL, r.Namespace)
	}
	ts := now
	if !r.Timestamp.IsZero() {
		ts = ms(r.Timestamp)
	}
	p := map[string]any{
		"timestamp":     ts,
		"sig_timestamp": now,
		"ttl":           r.TTL.Milliseconds(),
		"data":          base64.StdEncoding.EncodeToString(r.Data),
	}
	nsParam(p, r.Namespace)
	return p, !r.Namespace.IsPublicInbox(), nil
}

// RetrieveRequest reads messages newer than LastHash from one namespace.
type RetrieveRequest struct {
	Namespace Namespace
	LastHash  string // hash of the last message seen in this namespace; "" for all
	MaxCount  int    // 0: no limit
	MaxSize   int    // bytes; negative -N means 1/N of the node's limit; 0: the node's default
}

// Method returns "retrieve", the RPC method of a RetrieveRequest.
func (RetrieveRequest) Method() string { return "retrieve" }

// SignatureMessage is "retrieve" ‖ namespace ‖ now.
func (r RetrieveRequest) SignatureMessage(now int64) []byte {
	return []byte("retrieve" + r.Namespace.sigString() + strconv.FormatInt(now, 10))
}

func (r RetrieveRequest) params(now int64) (map[string]any, bool, error) {
	if r.LastHash != "" && len(r.LastHash) != messageHashLen {
		return nil, false, fmt.Errorf("%w: retrieve: last hash %q is not %d characters", ErrInvalidRequest, shorten(r.LastHash), messageHashLen)
	}
	p := map[string]any{"timestamp": now}
	nsParam(p, r.Namespace)
	if r.LastHash != "" {
		p["last_hash"] = r.LastHash
	}
	if r.MaxCount > 0 {
		p["max_count"] = r.MaxCount
	}
	if r.MaxSize != 0 {
		p["max_size"] = r.MaxSize
	}
	needAuth := r.Namespace.RetrieveNeedsAuth()
	return p, needAuth, nil
}

// DeleteRequest deletes messages by hash (in any namespace of the account).
type DeleteRequest struct {
	Hashes   []string
	Required bool // answer 404 when no member deleted anything
}

// Method returns "delete", the RPC method of a DeleteRequest.
func (DeleteRequest) Method() string { return "delete" }

// SignatureMessage is "delete" ‖ hash0 ‖ hash1 ‖ …; it has no timestamp.
func (r DeleteRequest) SignatureMessage(int64) []byte {
	return appendStrings([]byte("delete"), r.Hashes)
}

func (r DeleteRequest) params(int64) (map[string]any, bool, error) {
	if err := checkHashes("delete", r.Hashes); err != nil {
		return nil, false, err
	}
	p := map[string]any{"messages": r.Hashes}
	if r.Required {
		p["required"] = true
	}
	return p, true, nil
}

// DeleteAllRequest deletes every message of one namespace, or of all namespaces.
type DeleteAllRequest struct {
	Namespace     Namespace
	AllNamespaces bool
}

// Method returns "delete_all", the RPC method of a DeleteAllRequest.
func (DeleteAllRequest) Method() string { return "delete_all" }

// SignatureMessage is "delete_all" ‖ namespace-or-"all" ‖ now.
func (r DeleteAllRequest) SignatureMessage(now int64) []byte {
	return []byte("delete_all" + nsOrAll(r.Namespace, r.AllNamespaces) + strconv.FormatInt(now, 10))
}

func (r DeleteAllRequest) params(now int64) (map[string]any, bool, error) {
	p := map[string]any{"timestamp": now}
	setNsOrAll(p, r.Namespace, r.AllNamespaces)
	return p, true, nil
}

// DeleteBeforeRequest deletes the messages stored at or before Before.
type DeleteBeforeRequest struct {
	Namespace     Namespace
	AllNamespaces bool
	Before        time.Time
}

// Method returns "delete_before", the RPC method of a DeleteBeforeRequest.
func (DeleteBeforeRequest) Method() string { return "delete_before" }

// SignatureMessage is "delete_before" ‖ namespace-or-"all" ‖ before.
func (r DeleteBeforeRequest) SignatureMessage(int64) []byte {
	return []byte("delete_before" + nsOrAll(r.Namespace, r.AllNamespaces) + strconv.FormatInt(ms(r.Before), 10))
}

func (r DeleteBeforeRequest) params(int64) (map[string]any, bool, error) {
	p := map[string]any{"before": ms(r.Before)}
	setNsOrAll(p, r.Namespace, r.AllNamespaces)
	return p, true, nil
}

// ExpireAllRequest shortens the expiry of every message of a namespace (or all) to Expiry.
type ExpireAllRequest struct {
	Namespace     Namespace
	AllNamespaces bool
	Expiry        time.Time
}

// Method returns "expire_all", the RPC method of a ExpireAllRequest.
func (ExpireAllRequest) Method() string { return "expire_all" }

// SignatureMessage is "expire_all" ‖ namespace-or-"all" ‖ expiry.
func (r ExpireAllRequest) SignatureMessage(int64) []byte {
	return []byte("expire_all" + nsOrAll(r.Namespace, r.AllNamespaces) + strconv.FormatInt(ms(r.Expiry), 10))
}

func (r ExpireAllRequest) params(int64) (map[string]any, bool, error) {
	p := map[string]any{"expiry": ms(r.Expiry)}
	setNsOrAll(p, r.Namespace, r.AllNamespaces)
	return p, true, nil
}

// ExpireRequest sets the expiry of messages. Set Expiry for one expiry for all hashes, or
// Expiries (one per hash, in order) for several. Shorten or Extend (not both) restrict the
// change to one direction.
type ExpireRequest struct {
	Hashes   []string
	Expiry   time.Time
	Expiries []time.Time
	Shorten  bool
	Extend   bool
}

// Method returns "expire", the RPC method of a ExpireRequest.
func (ExpireRequest) Method() string { return "expire" }

// SignatureMessage is "expire" ‖ ("shorten"|"extend"|"") ‖ expiry (or each expiry in order) ‖
// hash0 ‖ hash1 ‖ ….
func (r ExpireRequest) SignatureMessage(int64) []byte {
	b := []byte("expire")
	switch {
	case r.Shorten:
		b = append(b, "shorten"...)
	case r.Extend:
		b = append(b, "extend"...)
	}
	if len(r.Expiries) > 0 {
		for _, e := range r.Expiries {
			b = strconv.AppendInt(b, ms(e), 10)
		}
	} else {
		b = strconv.AppendInt(b, ms(r.Expiry), 10)
	}
	return appendStrings(b, r.Hashes)
}

func (r ExpireRequest) params(int64) (map[string]any, bool, error) {
	if err := checkHashes("expire", r.Hashes); err != nil {
		return nil, false, err
	}
	if r.Shorten && r.Extend {
		return nil, false, fmt.Errorf("%w: expire: shorten and extend together", ErrInvalidRequest)
	}
	p := map[string]any{"messages": r.Hashes}
	if len(r.Expiries) > 0 {
		if len(r.Expiries) != len(r.Hashes) {
			return nil, false, fmt.Errorf("%w: expire: %d expiries for %d hashes", ErrInvalidRequest, len(r.Expiries), len(r.Hashes))
		}
		es := make([]int64, len(r.Expiries))
		for i, e := range r.Expiries {
			es[i] = ms(e)
		}
		p["expiry"] = es
	} else {
		p["expiry"] = ms(r.Expiry)
	}
	if r.Shorten {
		p["shorten"] = true
	}
	if r.Extend {
		p["extend"] = true
	}
	return p, true, nil
}

// GetExpiriesRequest asks for the current expiry of messages.
type GetExpiriesRequest struct {
	Hashes []string
}

// Method returns "get_expiries", the RPC method of a GetExpiriesRequest.
func (GetExpiriesRequest) Method() string { return "get_expiries" }

// SignatureMessage is "get_expiries" ‖ now ‖ hash0 ‖ hash1 ‖ ….
func (r GetExpiriesRequest) SignatureMessage(now int64) []byte {
	return appendStrings(strconv.AppendInt([]byte("get_expiries"), now, 10), r.Hashes)
}

func (r GetExpiriesRequest) params(now int64) (map[string]any, bool, error) {
	if err := checkHashes("get_expiries", r.Hashes); err != nil {
		return nil, false, err
	}
	return map[string]any{"messages": r.Hashes, "timestamp": now}, true, nil
}

// RevokeSubaccountRequest revokes group subaccount tokens (owner or admin only).
type RevokeSubaccountRequest struct {
	Tokens [][SubaccountTokenSize]byte
}

// Method returns "revoke_subaccount", the RPC method of a RevokeSubaccountRequest.
func (RevokeSubaccountRequest) Method() string { return "revoke_subaccount" }

// SignatureMessage is "revoke_subaccount" ‖ now ‖ token0 ‖ token1 ‖ … (raw 36-byte tokens).
func (r RevokeSubaccountRequest) SignatureMessage(now int64) []byte {
	return tokenMessage("revoke_subaccount", now, r.Tokens)
}

func (r RevokeSubaccountRequest) params(now int64) (map[string]any, bool, error) {
	if len(r.Tokens) > MaxRevokeTokens {
		return nil, false, fmt.Errorf("%w: revoke_subaccount: %d tokens exceed %d", ErrInvalidRequest, len(r.Tokens), MaxRevokeTokens)
	}
	return tokenParams("revoke", now, r.Tokens)
}

// UnrevokeSubaccountRequest lifts the revocation of group subaccount tokens.
type UnrevokeSubaccountRequest struct {
	Tokens [][SubaccountTokenSize]byte
}

// Method returns "unrevoke_subaccount", the RPC method of a UnrevokeSubaccountRequest.
func (UnrevokeSubaccountRequest) Method() string { return "unrevoke_subaccount" }

// SignatureMessage is "unrevoke_subaccount" ‖ now ‖ token0 ‖ token1 ‖ ….
func (r UnrevokeSubaccountRequest) SignatureMessage(now int64) []byte {
	return tokenMessage("unrevoke_subaccount", now, r.Tokens)
}

func (r UnrevokeSubaccountRequest) params(now int64) (map[string]any, bool, error) {
	return tokenParams("unrevoke", now, r.Tokens)
}

func tokenMessage(method string, now int64, tokens [][SubaccountTokenSize]byte) []byte {
	b := strconv.AppendInt([]byte(method), now, 10)
	for _, t := range tokens {
		b = append(b, t[:]...)
	}
	return b
}

func tokenParams(key string, now int64, tokens [][SubaccountTokenSize]byte) (map[string]any, bool, error) {
	if len(tokens) == 0 {
		return nil, false, fmt.Errorf("%w: %s_subaccount: no tokens", ErrInvalidRequest, key)
	}
	ts := make([]string, len(tokens))
	for i, t := range tokens {
		ts[i] = base64.StdEncoding.EncodeToString(t[:])
	}
	return map[string]any{key: ts, "timestamp": now}, true, nil
}
