package fileserver

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. An *HTTPError matches the one for its status with errors.Is.
var (
	// ErrNotFound: the file does not exist or has expired (404).
	ErrNotFound = errors.New("fileserver: file not found")
	// ErrTooLarge: the upload is over the size limit, checked locally before sending or
	// answered by the server (413).
	ErrTooLarge = errors.New("fileserver: file too large")
	// ErrBadRequest: the server refused the request as malformed (400), for example an
	// empty upload or a bad TTL.
	ErrBadRequest = errors.New("fileserver: bad request")
	// ErrForbidden: the server refused access (401, 403).
	ErrForbidden = errors.New("fileserver: forbidden")
	// ErrRateLimited: too many requests (429).
	ErrRateLimited = errors.New("fileserver: rate limited")
	// ErrServer: the server failed (5xx).
	ErrServer = errors.New("fileserver: server error")
	// ErrMalformedReply: a 2xx reply whose body does not parse.
	ErrMalformedReply = errors.New("fileserver: malformed reply")
	// ErrBadURL: a file URL or ID that this package cannot use.
	ErrBadURL = errors.New("fileserver: bad file URL")
)

// maxErrorBody is how much of an error reply's body an HTTPError keeps.
const maxErrorBody = 512

// HTTPError is a non-2xx answer from the file server.
type HTTPError struct {
	Method   string
	Endpoint string // path of the request, e.g. "/file/abc"
	Status   int
	Body     []byte // the start of the reply body (at most 512 bytes)
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("fileserver: %s %s: %d %s", e.Method, e.Endpoint, e.Status, http.StatusText(e.Status))
}

// Is matches the sentinel for the status (ErrNotFound for 404, …) and any *HTTPError target
// with the same Status, so errors.Is(err, &HTTPError{Status: 404}) works too.
func (e *HTTPError) Is(target error) bool {
	if t, ok := target.(*HTTPError); ok {
		return t.Status == e.Status
	}
	switch target {
	case ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrTooLarge:
		return e.Status == http.StatusRequestEntityTooLarge
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrForbidden:
		return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrServer:
		return e.Status >= 500 && e.Status <= 599
	}
	return false
}
