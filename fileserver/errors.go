package fileserver

import (
	"errors"
	"net/http"

	"github.com/sessiongo/sdk/internal/httperr"
)

// domain names this package in its status errors (their message prefix), whose sentinels
// they match.
const domain httperr.Domain = "fileserver"

// Sentinel errors. An *HTTPError matches the one for its status with errors.Is.
var (
	// ErrNotFound: the file does not exist or has expired (404).
	ErrNotFound = domain.Sentinel("fileserver: file not found", httperr.Status(http.StatusNotFound))
	// ErrTooLarge: the upload is over the size limit, checked locally before sending or
	// answered by the server (413).
	ErrTooLarge = domain.Sentinel("fileserver: file too large", httperr.Status(http.StatusRequestEntityTooLarge))
	// ErrBadRequest: the server refused the request as malformed (400), for example an
	// empty upload or a bad TTL.
	ErrBadRequest = domain.Sentinel("fileserver: bad request", httperr.Status(http.StatusBadRequest))
	// ErrForbidden: the server refused access (401, 403).
	ErrForbidden = domain.Sentinel("fileserver: forbidden", httperr.Status(http.StatusUnauthorized, http.StatusForbidden))
	// ErrRateLimited: too many requests (429); see HTTPError.RetryAfter.
	ErrRateLimited = domain.Sentinel("fileserver: rate limited", httperr.Status(http.StatusTooManyRequests))
	// ErrServer: the server failed (5xx).
	ErrServer = domain.Sentinel("fileserver: server error", httperr.Range(500, 599))
	// ErrMalformedReply: a 2xx reply whose body does not parse.
	ErrMalformedReply = errors.New("fileserver: malformed reply")
	// ErrBadURL: a file URL or ID that this package cannot use.
	ErrBadURL = errors.New("fileserver: bad file URL")
)

// HTTPError is a non-2xx answer from the file server: method, endpoint, status, the start of
// the body (512 bytes; its message shows the text), the content type and Retry-After (seconds
// or an HTTP date). It matches the sentinel for its status with errors.Is, and any *HTTPError
// target with the same Status (errors.Is(err, &HTTPError{Status: 404})). It is the SDK's one
// status error (onion.StatusError, community.HTTPError), with Domain "fileserver".
type HTTPError = httperr.StatusError
