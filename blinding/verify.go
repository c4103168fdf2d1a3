package blinding

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// DefaultWindow is how far a request's timestamp may be from the server's clock: 24 hours.
const DefaultWindow = 24 * time.Hour

// ErrRequestAuth matches every *RequestError with errors.Is.
var ErrRequestAuth = errors.New("blinding: request authentication failed")

// Reason says why a community server refuses a request's authentication.
type Reason int

// The reasons, in the order a server checks them.
const (
	ReasonMissingHeaders   Reason = iota + 1 // some but not all of the four headers (400)
	ReasonBadPubkey                          // X-SOGS-Pubkey not 00/15 + a valid point (400)
	ReasonBlindingRequired                   // an unblinded 00 key where blinding is required (400)
	ReasonBadNonce                           // X-SOGS-Nonce is not 16 bytes of base64 or hex (400)
	ReasonBadSignature                       // X-SOGS-Signature is not 64 bytes of base64 or hex (400)
	ReasonBadTimestamp                       // X-SOGS-Timestamp is not an integer (400)
	ReasonClockSkew                          // the timestamp is outside the window (425)
	ReasonBanned                             // the user is banned (403)
	ReasonNonceReused                        // the user already sent this nonce (425)
	ReasonInvalidSignature                   // the signature does not verify (401)
)

var reasonText = map[Reason]string{
	ReasonMissingHeaders:   "missing X-SOGS-* headers",
	ReasonBadPubkey:        "invalid X-SOGS-Pubkey",
	ReasonBlindingRequired: "this server requires the use of blinded ids",
	ReasonBadNonce:         "invalid X-SOGS-Nonce",
	ReasonBadSignature:     "invalid X-SOGS-Signature encoding",
	ReasonBadTimestamp:     "invalid X-SOGS-Timestamp",
	ReasonClockSkew:        "X-SOGS-Timestamp is too far from the server's clock",
	ReasonBanned:           "banned",
	ReasonNonceReused:      "X-SOGS-Nonce cannot be reused",
	ReasonInvalidSignature: "X-SOGS-Signature verification failed",
}

func (r Reason) String() string {
	if s, ok := reasonText[r]; ok {
		return s
	}
	return "Reason(" + strconv.Itoa(int(r)) + ")"
}

// Status returns the HTTP status a community server (pysogs) answers with.
func (r Reason) Status() int {
	switch r {
	case ReasonClockSkew, ReasonNonceReused:
		return http.StatusTooEarly
	case ReasonBanned:
		return http.StatusForbidden
	case ReasonInvalidSignature:
		return http.StatusUnauthorized
	}
	return http.StatusBadRequest
}

// RequestError reports why a request's X-SOGS-* authentication was refused. It matches
// ErrRequestAuth with errors.Is; Status gives the HTTP status to answer with.
type RequestError struct {
	Reason Reason
	Detail string // what exactly was wrong, for logs and error bodies; no secrets
}

func (e *RequestError) Error() string {
	if e.Detail == "" {
		return "blinding: request authentication: " + e.Reason.String()
	}
	return "blinding: request authentication: " + e.Reason.String() + ": " + e.Detail
}

// Is matches ErrRequestAuth.
func (e *RequestError) Is(target error) bool { return target == ErrRequestAuth }

// Status returns the HTTP status for the refusal.
func (e *RequestError) Status() int { return e.Reason.Status() }

func reqErr(r Reason, format string, args ...any) error {
	return &RequestError{Reason: r, Detail: fmt.Sprintf(format, args...)}
}

// Verifier checks the X-SOGS-* authentication of requests to a community server, in the
// order and with the rules of the reference server (pysogs): header presence, key prefix
// (00 or 15) and validity, the blinding requirement, nonce and signature encodings, the clock
// window, bans, nonce reuse per user (recorded before the signature check, as pysogs does),
// then the Ed25519 signature. It is safe for concurrent use once its fields are set.
type Verifier struct {
	// ServerPK is the server's X25519 public key, which every signature covers.
	ServerPK [32]byte
	// RequireBlinded refuses unblinded (00) keys, as servers do by default.
	RequireBlinded bool
	// Window is the largest accepted |now − timestamp|; 0 means DefaultWindow.
	Window time.Duration
	// Nonces remembers the nonces each user has sent. NewVerifier sets one; nil disables the
	// reuse check.
	Nonces *NonceCache
	// Now is the server's clock; nil means time.Now.
	Now func() time.Time
	// Banned, when set, reports users banned from the whole server; they are refused with
	// ReasonBanned before the nonce and signature checks.
	Banned func(user crypto.AccountID) bool
}

// NewVerifier returns a Verifier for the server serverPK that requires blinded keys, with the
// default window and a nonce cache that keeps nonces for twice the window.
func NewVerifier(serverPK [32]byte) *Verifier {
	return &Verifier{ServerPK: serverPK, RequireBlinded: true, Nonces: NewNonceCache(2 * DefaultWindow)}
}

// Verify checks the authentication of a request with the given headers, method, path (the
// URL-decoded path plus "?" and the raw query when there is one, see [SignedPath]) and body.
// It returns the user as the server records it: the 15 ID for blinded keys, the 05 Account
// ID for unblinded ones. A request with none of the four headers gets ErrNoAuth (serve it
// anonymously or refuse it); any other failure is a *RequestError.
func (v *Verifier) Verify(h Headers, method, path string, body []byte) (crypto.AccountID, error) {
	var none crypto.AccountID
	present := 0
	for _, s := range []string{h.Pubkey, h.Nonce, h.Timestamp, h.Signature} {
		if s != "" {
			present++
		}
	}
	if present == 0 {
		return none, ErrNoAuth
	}
	if present < 4 {
		return none, reqErr(ReasonMissingHeaders, "Invalid authentication headers: missing %d/4 required X-SOGS-* headers", 4-present)
	}

	pk, err := decodeFixed(h.Pubkey, crypto.AccountIDSize)
	if err != nil {
		return none, reqErr(ReasonBadPubkey, "%v", err)
	}
	id := crypto.AccountID(pk)
	var user crypto.AccountID
	switch id.Prefix() {
	case crypto.PrefixBlinded15:
		if _, err := crypto.ParseEd25519Point(id.Key()); err != nil {
			return none, reqErr(ReasonBadPubkey, "%v", err)
		}
		user = id
	case crypto.PrefixUnblinded:
		if user, err = crypto.AccountIDFromEd25519(id.Key()); err != nil {
			return none, reqErr(ReasonBadPubkey, "%v", err)
		}
		if v.RequireBlinded {
			return none, reqErr(ReasonBlindingRequired, "got an unblinded 00 key")
		}
	default:
		return none, reqErr(ReasonBadPubkey, "prefix %s is not 00 or 15", id.Prefix())
	}

	nonce, err := decodeFixed(h.Nonce, NonceSize)
	if err != nil {
		return none, reqErr(ReasonBadNonce, "%v", err)
	}
	sig, err := decodeFixed(h.Signature, 64)
	if err != nil {
		return none, reqErr(ReasonBadSignature, "%v", err)
	}
	ts, err := strconv.ParseInt(strings.TrimSpace(h.Timestamp), 10, 64)
	if err != nil {
		return none, reqErr(ReasonBadTimestamp, "%q is not an integer", shorten(h.Timestamp))
	}

	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	t := now()
	window := v.Window
	if window <= 0 {
		window = DefaultWindow
	}
	w, nowS := int64(window/time.Second), t.Unix()
	if ts < nowS-w || ts > nowS+w {
		return none, reqErr(ReasonClockSkew, "timestamp %d is more than %d s from the server's clock (%d)", ts, w, nowS)
	}
	if v.Banned != nil && v.Banned(user) {
		return none, reqErr(ReasonBanned, "%s", user)
	}
	if v.Nonces != nil && !v.Nonces.Use(user, [NonceSize]byte(nonce), t) {
		return none, reqErr(ReasonNonceReused, "")
	}
	msg := requestMessage(v.ServerPK, nonce, h.Timestamp, method, path, body)
	if !verifyEd25519(id.Key(), msg, sig) {
		return none, reqErr(ReasonInvalidSignature, "")
	}
	return user, nil
}

// decodeFixed decodes a header value of n bytes given as hex (2n digits) or base64 (padded,
// unpadded or with its padding partly stripped; at most two '=').
func decodeFixed(s string, n int) ([]byte, error) {
	if len(s) == 2*n {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	if len(s) <= base64.StdEncoding.EncodedLen(n) {
		t := strings.TrimRight(s, "=")
		if len(s)-len(t) <= 2 {
			if b, err := base64.RawStdEncoding.Strict().DecodeString(t); err == nil && len(b) == n {
				return b, nil
			}
		}
	}
	return nil, fmt.Errorf("%q is not %d bytes of hex or base64", shorten(s), n)
}

func shorten(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}

// NonceCache remembers which request nonces each user has sent, for as long as a request
// with that nonce could still pass the clock check. It is safe for concurrent use and
// forgets entries older than its retention time as new ones arrive, so its size is bounded
// by the request rate times the retention.
type NonceCache struct {
	retain time.Duration

	mu    sync.Mutex
	seen  map[nonceKey]struct{}
	queue []nonceEntry // in order of first use
	head  int
}

type nonceKey struct {
	user  crypto.AccountID
	nonce [NonceSize]byte
}

type nonceEntry struct {
	key nonceKey
	at  time.Time
}

// NewNonceCache returns a cache that keeps each nonce for retain (at least twice the
// verifier's window, so that no replay within the window is forgotten; 0 means twice
// DefaultWindow).
func NewNonceCache(retain time.Duration) *NonceCache {
	if retain <= 0 {
		retain = 2 * DefaultWindow
	}
	return &NonceCache{retain: retain, seen: make(map[nonceKey]struct{})}
}

// Use records that user sent nonce at time now and reports whether it is new. It returns false
// (and records nothing) for a nonce the user already sent within the retention time.
func (c *NonceCache) Use(user crypto.AccountID, nonce [NonceSize]byte, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prune(now)
	k := nonceKey{user, nonce}
	if _, dup := c.seen[k]; dup {
		return false
	}
	c.seen[k] = struct{}{}
	c.queue = append(c.queue, nonceEntry{k, now})
	return true
}

// Len returns the number of remembered nonces.
func (c *NonceCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

func (c *NonceCache) prune(now time.Time) {
	cutoff := now.Add(-c.retain)
	for c.head < len(c.queue) && c.queue[c.head].at.Before(cutoff) {
		delete(c.seen, c.queue[c.head].key)
		c.queue[c.head] = nonceEntry{}
		c.head++
	}
	if c.head > 1024 && c.head > len(c.queue)/2 {
		c.queue = append(c.queue[:0], c.queue[c.head:]...)
		c.head = 0
	}
}
