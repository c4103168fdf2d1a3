package community

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Sentinel errors. An *HTTPError matches the one for its status with errors.Is.
var (
	// ErrBadURL: a join URL that cannot be used (no scheme or host, no room, a bad room token,
	// a missing or malformed public_key).
	ErrBadURL = errors.New("community: bad community URL")
	// ErrBadRequest: the server refused the request as malformed (400).
	ErrBadRequest = errors.New("community: bad request")
	// ErrUnauthorized: the request's signature was refused or the route needs a user (401).
	ErrUnauthorized = errors.New("community: unauthorized")
	// ErrForbidden: we lack the permission (no read, no write, not a moderator) or are banned
	// (403).
	ErrForbidden = errors.New("community: forbidden")
	// ErrNotFound: no such room, message, file or DM recipient, or a room we cannot access
	// (404).
	ErrNotFound = errors.New("community: not found")
	// ErrNotModified: nothing new (304, from inbox/outbox since). Poll and Inbox treat it as an
	// empty answer.
	ErrNotModified = errors.New("community: not modified")
	// ErrMissingCapability: the server lacks a capability the request required (412).
	ErrMissingCapability = errors.New("community: missing capability")
	// ErrTooEarly: the server refused the request's timestamp or nonce (425). It is
	// ErrClockSkew or ErrNonceReused, which it also matches.
	ErrTooEarly = errors.New("community: request timestamp or nonce refused")
	// ErrClockSkew: the request's timestamp is outside the server's ±24 h window (425).
	ErrClockSkew = errors.New("community: clock outside the server's window")
	// ErrNonceReused: the server has already seen the request's nonce from us (425).
	ErrNonceReused = errors.New("community: request nonce reused")
	// ErrTooLarge: the upload is too large (413).
	ErrTooLarge = errors.New("community: too large")
	// ErrRateLimited: too many posts, or a post the server's filter rejected (429); see
	// HTTPError.RetryAfter.
	ErrRateLimited = errors.New("community: rate limited")
	// ErrServer: the server failed (5xx).
	ErrServer = errors.New("community: server error")
	// ErrMalformedReply: a 2xx answer whose body does not parse.
	ErrMalformedReply = errors.New("community: malformed reply")
	// ErrInvalidSignature: a message whose signature does not verify under its author's key
	// (reported in Skipped; servers do not check post signatures).
	ErrInvalidSignature = errors.New("community: invalid message signature")
	// ErrInvalidArgument: an argument this package refuses before sending anything (an empty
	// message, a bad room token or reaction, a recipient that is not a 15 ID).
	ErrInvalidArgument = errors.New("community: invalid argument")
)

// maxErrorBody is how much of an error reply's body an HTTPError keeps.
const maxErrorBody = 512

var zeroTime time.Time

// HTTPError is a non-2xx answer from a community server (for a whole request, or for one
// subrequest of a batch).
type HTTPError struct {
	Method   string
	Endpoint string // path and query of the request, e.g. "/room/lobby/message"
	Status   int
	Body     []byte // the start of the reply body (at most 512 bytes)
	// RetryAfter is the server's Retry-After (seconds or an HTTP date), 0 when absent.
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("community: %s %s: %d %s", e.Method, e.Endpoint, e.Status, http.StatusText(e.Status))
	if b := bodyText(e.Body); b != "" {
		msg += ": " + strconv.Quote(b)
	}
	if e.RetryAfter > 0 {
		msg += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return msg
}

// Is matches the sentinel for the status (ErrNotFound for 404, …) and any *HTTPError target with
// the same Status, so errors.Is(err, &HTTPError{Status: 404}) works too.
func (e *HTTPError) Is(target error) bool {
	if t, ok := target.(*HTTPError); ok {
		return t.Status == e.Status
	}
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrNotModified:
		return e.Status == http.StatusNotModified
	case ErrMissingCapability:
		return e.Status == http.StatusPreconditionFailed
	case ErrTooEarly:
		return e.Status == http.StatusTooEarly
	case ErrNonceReused:
		return e.Status == http.StatusTooEarly && e.nonceProblem()
	case ErrClockSkew:
		return e.Status == http.StatusTooEarly && !e.nonceProblem()
	case ErrTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrServer:
		return e.Status >= 500 && e.Status <= 599
	}
	return false
}

// bodyText is what an error body says, for messages: plain text as it is, the text of an HTML
// page (pysogs answers 404 and 500 with Flask's error pages: their paragraph), at most 200
// characters.
func bodyText(body []byte) string {
	s := strings.TrimSpace(string(body))
	if strings.HasPrefix(s, "<") {
		if _, p, ok := strings.Cut(s, "<p>"); ok {
			s, _, _ = strings.Cut(p, "</p>")
		}
		var b strings.Builder
		inTag := false
		for _, r := range s {
			switch {
			case r == '<':
				inTag = true
			case r == '>' && inTag:
				inTag = false
				b.WriteByte(' ')
			case !inTag:
				b.WriteRune(r)
			}
		}
		s = strings.Join(strings.Fields(html.UnescapeString(b.String())), " ")
	}
	if !utf8.ValidString(s) {
		return ""
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// nonceProblem tells the two kinds of 425 apart by the server's message ("X-SOGS-Nonce cannot
// be reused"); every other 425 is about the timestamp.
func (e *HTTPError) nonceProblem() bool {
	return strings.Contains(strings.ToLower(string(e.Body)), "nonce")
}

func newHTTPError(method, endpoint string, status int, headers map[string]string, body []byte, now time.Time) *HTTPError {
	e := &HTTPError{Method: method, Endpoint: endpoint, Status: status}
	if len(body) > maxErrorBody {
		body = body[:maxErrorBody]
	}
	e.Body = append([]byte(nil), body...)
	e.RetryAfter = parseRetryAfter(header(headers, "retry-after"), now)
	return e
}

// parseRetryAfter reads a Retry-After value: delay seconds or an HTTP date. Anything else, or a
// date in the past, is 0.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// header looks a header up without regard to case (v4 replies use lowercase names).
func header(h map[string]string, name string) string {
	if v, ok := h[name]; ok {
		return v
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Skipped is an item of a reply that was left out: a row that does not parse or a message whose
// signature does not verify. Err matches ErrMalformedReply or ErrInvalidSignature.
type Skipped struct {
	ID    int64 // the message or DM id, when it could be read
	Seqno int64
	Err   error
}
