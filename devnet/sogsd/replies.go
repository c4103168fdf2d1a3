package sogsd

// The shapes of pysogs's replies, as recorded from the real server (testdata/real/sogs) and
// read in its source: Flask's HTML pages for abort(code) and for routes that do not match
// (an unknown room, a message id that is not a number), the text of a model exception as
// text/html ("Permission denied", "Rate limited", "No such user: …"), and plain-text reasons
// for authentication failures. JSON timestamps are Python floats, always written with a
// fraction.

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

const (
	contentHTML  = "text/html; charset=utf-8"
	contentPlain = "text/plain; charset=utf-8"
)

// werkzeugDescriptions are the paragraphs of Werkzeug's error pages.
var werkzeugDescriptions = map[int]string{
	http.StatusBadRequest:            "The browser (or proxy) sent a request that this server could not understand.",
	http.StatusUnauthorized:          "The server could not verify that you are authorized to access the URL requested. You either supplied the wrong credentials (e.g. a bad password), or your browser doesn't understand how to supply the credentials required.",
	http.StatusForbidden:             "You don't have the permission to access the requested resource. It is either read-protected or not readable by the server.",
	http.StatusNotFound:              "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
	http.StatusMethodNotAllowed:      "The method is not allowed for the requested URL.",
	http.StatusNotAcceptable:         "The resource identified by the request is only capable of generating response entities which have content characteristics not acceptable according to the accept headers sent in the request.",
	http.StatusRequestEntityTooLarge: "The data value transmitted exceeds the capacity limit.",
	http.StatusInternalServerError:   "The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application.",
	http.StatusServiceUnavailable:    "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.",
}

// page is Flask's error page for status, as abort(status) and an unmatched route answer.
func page(status int) *v4srv.Response {
	name := http.StatusText(status)
	body := fmt.Sprintf("<!doctype html>\n<html lang=en>\n<title>%d %s</title>\n<h1>%s</h1>\n<p>%s</p>\n",
		status, html.EscapeString(name), html.EscapeString(name), html.EscapeString(werkzeugDescriptions[status]))
	return v4srv.Bytes(status, contentHTML, []byte(body))
}

// htmlText is a Flask view's (text, status) answer, which Flask types text/html: pysogs's
// handlers of model exceptions.
func htmlText(status int, msg string) *v4srv.Response {
	return v4srv.Bytes(status, contentHTML, []byte(msg))
}

// plainText is pysogs's abort_with_reason: a text/plain reason.
func plainText(status int, msg string) *v4srv.Response {
	return v4srv.Bytes(status, contentPlain, []byte(msg))
}

var (
	respNotFound       = func() *v4srv.Response { return page(http.StatusNotFound) }
	respForbiddenPage  = func() *v4srv.Response { return page(http.StatusForbidden) }
	respBadRequestPage = func() *v4srv.Response { return page(http.StatusBadRequest) }
	respServerError    = func() *v4srv.Response { return page(http.StatusInternalServerError) }
	// respPermission is the BadPermission handler's answer.
	respPermission = func() *v4srv.Response { return htmlText(http.StatusForbidden, "Permission denied") }
	// respRateLimited is PostRateLimited's: no Retry-After.
	respRateLimited = func() *v4srv.Response { return htmlText(http.StatusTooManyRequests, "Rate limited") }
	// respInvalidData is InvalidData's: its text is empty.
	respInvalidData = func() *v4srv.Response { return htmlText(http.StatusBadRequest, "") }
	respNoSuchPost  = func(id int64) *v4srv.Response {
		return htmlText(http.StatusNotFound, "No such post: "+strconv.FormatInt(id, 10))
	}
	respNoSuchUser = func(id string) *v4srv.Response { return htmlText(http.StatusNotFound, "No such user: "+id) }
	respAuthNeeded = func() *v4srv.Response {
		return plainText(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	respBlindNeeded = func() *v4srv.Response {
		return plainText(http.StatusUnauthorized, "This endpoint requires blinded pubkeys be used")
	}
	respReadNeeded = func() *v4srv.Response {
		return plainText(http.StatusForbidden, "This endpoint requires room message 'read' permission")
	}
	respModNeeded = func(admin bool) *v4srv.Response {
		role := "moderator"
		if admin {
			role = "admin"
		}
		return plainText(http.StatusForbidden, "This endpoint requires "+role+" room permissions")
	}
	respEmpty = func() *v4srv.Response { return v4srv.JSON(http.StatusOK, map[string]any{}) }
)

// authReasons are pysogs's texts for the refusals of request authentication, after
// "Invalid authentication: " (ReasonBadPubkey has three: see authRefusal).
var authReasons = map[blinding.Reason]string{
	blinding.ReasonBlindingRequired: "this server requires the use of blinded ids",
	blinding.ReasonBadNonce:         "X-SOGS-Nonce must be 16 bytes (encoded as base64 or hex)",
	blinding.ReasonBadSignature:     "X-SOGS-Signature is not base64[88]",
	blinding.ReasonBadTimestamp:     "X-SOGS-Timestamp is not a valid timestamp",
	blinding.ReasonClockSkew:        "X-SOGS-Timestamp is too far from current time",
	blinding.ReasonNonceReused:      "X-SOGS-Nonce cannot be reused",
	blinding.ReasonInvalidSignature: "X-SOGS-Signature verification failed",
}

// authRefusal is pysogs's answer to a request whose X-SOGS-* authentication fails: its status
// and its exact reason, text/plain.
func authRefusal(re *blinding.RequestError, h blinding.Headers) *v4srv.Response {
	msg := "Invalid authentication: " + re.Reason.String()
	if text, ok := authReasons[re.Reason]; ok {
		msg = "Invalid authentication: " + text
	}
	switch re.Reason {
	case blinding.ReasonMissingHeaders:
		msg = re.Detail // "Invalid authentication headers: missing N/4 required X-SOGS-* headers"
	case blinding.ReasonBanned:
		msg = "Banned"
	case blinding.ReasonBadPubkey:
		switch pk, ok := decodeHexOrB64(h.Pubkey, 33); {
		case !ok:
			msg = "Invalid authentication: X-SOGS-Pubkey is not a valid 66-hex digit id"
		case pk[0] != 0x00 && pk[0] != 0x15:
			msg = "Invalid authentication: X-SOGS-Pubkey must be 00- or 15- prefixed"
		default:
			msg = "Invalid authentication: given X-SOGS-Pubkey is not a valid Ed25519 pubkey"
		}
	}
	return plainText(re.Status(), msg)
}

// decodeHexOrB64 reads a value of size bytes written as hex or base64 (padded or not), as
// pysogs's decode_hex_or_b64 does.
func decodeHexOrB64(s string, size int) ([]byte, bool) {
	if len(s) == 2*size {
		if b, err := hex.DecodeString(s); err == nil {
			return b, true
		}
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	return b, err == nil && len(b) == size
}

// pyFloat is a Python float in JSON: always with a fraction ("1750000000.0"), as pysogs writes
// timestamps, so that a whole second is not mistaken for an integer.
type pyFloat float64

func (f pyFloat) MarshalJSON() ([]byte, error) {
	b := strconv.AppendFloat(nil, float64(f), 'f', -1, 64)
	if !strings.ContainsAny(string(b), ".eEn") { // "NaN"/"Inf" cannot reach here
		b = append(b, ".0"...)
	}
	return b, nil
}
