package community

import (
	"errors"
	"net/http"

	"github.com/sessiongo/sdk/internal/httperr"
)

// domain names this package in its status errors (their message prefix), whose sentinels
// they match.
const domain httperr.Domain = "community"

// Sentinel errors. An *HTTPError matches the one for its status with errors.Is.
var (
	// ErrBadURL: a join URL that cannot be used (no scheme or host, no room, a bad room token,
	// a missing or malformed public_key).
	ErrBadURL = errors.New("community: bad community URL")
	// ErrBadRequest: the server refused the request as malformed (400).
	ErrBadRequest = domain.Sentinel("community: bad request", httperr.Status(http.StatusBadRequest))
	// ErrUnauthorized: the request's signature was refused or the route needs a user (401).
	ErrUnauthorized = domain.Sentinel("community: unauthorized", httperr.Status(http.StatusUnauthorized))
	// ErrForbidden: we lack the permission (no read, no write, not a moderator) or are banned
	// (403).
	ErrForbidden = domain.Sentinel("community: forbidden", httperr.Status(http.StatusForbidden))
	// ErrNotFound: no such room, message, file or DM recipient, or a room we cannot access
	// (404).
	ErrNotFound = domain.Sentinel("community: not found", httperr.Status(http.StatusNotFound))
	// ErrNotModified: nothing new (304, from inbox/outbox since). Poll and Inbox treat it as an
	// empty answer.
	ErrNotModified = domain.Sentinel("community: not modified", httperr.Status(http.StatusNotModified))
	// ErrMissingCapability: the server lacks a capability the request required (412).
	ErrMissingCapability = domain.Sentinel("community: missing capability", httperr.Status(http.StatusPreconditionFailed))
	// ErrTooEarly: the server refused the request's timestamp or nonce (425). It is
	// ErrClockSkew or ErrNonceReused, which it also matches.
	ErrTooEarly = domain.Sentinel("community: request timestamp or nonce refused", httperr.Status(http.StatusTooEarly))
	// ErrClockSkew: the request's timestamp is outside the server's ±24 h window (425).
	ErrClockSkew = domain.Sentinel("community: clock outside the server's window", func(e *httperr.StatusError) bool {
		return e.Status == http.StatusTooEarly && !e.BodyMentions("nonce")
	})
	// ErrNonceReused: the server has already seen the request's nonce from us (425; the server
	// says which of the two in the body: "X-SOGS-Nonce cannot be reused").
	ErrNonceReused = domain.Sentinel("community: request nonce reused", func(e *httperr.StatusError) bool {
		return e.Status == http.StatusTooEarly && e.BodyMentions("nonce")
	})
	// ErrTooLarge: the upload is too large (413).
	ErrTooLarge = domain.Sentinel("community: too large", httperr.Status(http.StatusRequestEntityTooLarge))
	// ErrRateLimited: too many posts, or a post the server's filter rejected (429); see
	// HTTPError.RetryAfter.
	ErrRateLimited = domain.Sentinel("community: rate limited", httperr.Status(http.StatusTooManyRequests))
	// ErrServer: the server failed (5xx).
	ErrServer = domain.Sentinel("community: server error", httperr.Range(500, 599))
	// ErrMalformedReply: a 2xx answer whose body does not parse.
	ErrMalformedReply = errors.New("community: malformed reply")
	// ErrInvalidSignature: a message whose signature does not verify under its author's key
	// (reported in Skipped; servers do not check post signatures).
	ErrInvalidSignature = errors.New("community: invalid message signature")
	// ErrInvalidArgument: an argument this package refuses before sending anything (an empty
	// message, a bad room token or reaction, a recipient that is not a 15 ID).
	ErrInvalidArgument = errors.New("community: invalid argument")
)

// HTTPError is a non-2xx answer from a community server (for a whole request, or for one
// subrequest of a batch): method, endpoint, status, the start of the body (512 bytes, as
// sent: pysogs answers with Flask's HTML pages, plain text or an empty body), the content
// type and Retry-After. It matches the sentinel for its status with errors.Is, and any
// *HTTPError target with the same Status (errors.Is(err, &HTTPError{Status: 404})). Its
// message shows the body's text (an HTML page's paragraph). It is the SDK's one status error
// (onion.StatusError, fileserver.HTTPError), with Domain "community".
type HTTPError = httperr.StatusError

// Skipped is an item of a reply that was left out: a row that does not parse or a message whose
// signature does not verify. Err matches ErrMalformedReply or ErrInvalidSignature.
type Skipped struct {
	ID    int64 // the message or DM id, when it could be read
	Seqno int64
	Err   error
}
