// Package httperr is the one status error of the SDK: a server's answer outside 2xx, as the
// packages that talk HTTP to servers and nodes report it (community, fileserver, the server
// answers of onion's transports; swarm's NodeError embeds it). Each package keeps its
// own sentinel errors, as Sentinel values that a StatusError of that package's Domain matches
// with errors.Is, the way mautrix's RespError sentinels match by error code. Retry-After is
// read wherever an answer has headers.
package httperr

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

// MaxBody is how much of an error answer's body a StatusError keeps.
const MaxBody = 512

// maxRetryAfter bounds a Retry-After: a server cannot park a client for more than a day.
const maxRetryAfter = 24 * time.Hour

// StatusError is a non-2xx answer from a server or node: for a whole request, or for one
// subrequest of a batch.
type StatusError struct {
	// Domain is the package that reports the error ("community", "fileserver", …): its
	// message prefix, and the package whose sentinels it matches.
	Domain   string
	Method   string // of the request, e.g. "GET"
	Endpoint string // path and query of the request, e.g. "/room/lobby"
	Status   int
	// Body is the start of the answer's body (at most MaxBody bytes), as sent.
	Body []byte
	// ContentType is the answer's Content-Type, "" when it had none.
	ContentType string
	// RetryAfter is the server's Retry-After (seconds or an HTTP date, at most a day), 0 when
	// absent.
	RetryAfter time.Duration
}

// New makes the StatusError of an answer: headers are looked up without regard to case (v4
// replies have lower-case names), and the Retry-After is taken relative to now (the zero time
// for answers that cannot carry a date, such as batch subresponses).
func New(domain, method, endpoint string, status int, headers map[string]string, body []byte, now time.Time) *StatusError {
	e := &StatusError{Domain: domain, Method: method, Endpoint: endpoint, Status: status,
		ContentType: Header(headers, "content-type")}
	e.Body = append([]byte(nil), body[:min(len(body), MaxBody)]...)
	e.RetryAfter = ParseRetryAfter(Header(headers, "retry-after"), now)
	return e
}

// Check returns nil for a 2xx status, else the StatusError of the answer (see New).
func Check(domain, method, endpoint string, status int, headers map[string]string, body []byte, now time.Time) error {
	if status >= 200 && status <= 299 {
		return nil
	}
	return New(domain, method, endpoint, status, headers, body, now)
}

func (e *StatusError) Error() string {
	var b strings.Builder
	b.WriteString(e.Domain)
	b.WriteString(": ")
	if e.Method != "" || e.Endpoint != "" {
		b.WriteString(strings.TrimSpace(e.Method + " " + e.Endpoint))
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if t := BodyText(e.Body); t != "" {
		b.WriteString(": " + strconv.Quote(t))
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Is matches the sentinels of the error's domain whose condition holds, and a *StatusError
// target with the same Status (and Domain, when the target names one), so that
// errors.Is(err, &community.HTTPError{Status: 404}) works.
func (e *StatusError) Is(target error) bool {
	switch t := target.(type) {
	case *Sentinel:
		return t.domain == e.Domain && t.match(e)
	case *StatusError:
		return t.Status == e.Status && (t.Domain == "" || t.Domain == e.Domain)
	}
	return false
}

// BodyMentions reports whether the body contains s, without regard to case (servers tell some
// refusals of one status apart only by their text).
func (e *StatusError) BodyMentions(s string) bool {
	return strings.Contains(strings.ToLower(string(e.Body)), strings.ToLower(s))
}

// Sentinel is a sentinel error of one package, matched by that package's StatusErrors whose
// status (and, for some, body) meet its condition.
type Sentinel struct {
	domain, msg string
	match       func(*StatusError) bool
}

// NewSentinel returns a sentinel of domain with the message msg, matched by the StatusErrors
// of domain for which match is true.
func NewSentinel(domain, msg string, match func(*StatusError) bool) *Sentinel {
	return &Sentinel{domain: domain, msg: msg, match: match}
}

// Domain is a package that reports status errors, by the name they carry.
type Domain string

// Sentinel returns a sentinel error of d (see NewSentinel), typed error for the package's
// exported variables.
func (d Domain) Sentinel(msg string, match func(*StatusError) bool) error {
	return NewSentinel(string(d), msg, match)
}

func (s *Sentinel) Error() string { return s.msg }

// Status is the condition "the status is one of codes".
func Status(codes ...int) func(*StatusError) bool {
	return func(e *StatusError) bool {
		for _, c := range codes {
			if e.Status == c {
				return true
			}
		}
		return false
	}
}

// Range is the condition "lo ≤ status ≤ hi, and not one of except".
func Range(lo, hi int, except ...int) func(*StatusError) bool {
	other := Status(except...)
	return func(e *StatusError) bool { return e.Status >= lo && e.Status <= hi && !other(e) }
}

// ParseRetryAfter reads a Retry-After value: delay seconds or an HTTP date after now. Anything
// else, or a date in the past, is 0; more than a day is a day.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return min(time.Duration(min(n, int64(maxRetryAfter/time.Second)))*time.Second, maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil && !now.IsZero() && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}

// Header looks a header up without regard to case.
func Header(h map[string]string, name string) string {
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

// BodyText is what an error body says, for messages: plain text as it is, the text of an HTML
// page (pysogs answers 404 and 500 with Flask's error pages: their paragraph), at most 200
// characters; "" for a body that is not text.
func BodyText(body []byte) string {
	s := strings.TrimSpace(string(body))
	if strings.HasPrefix(s, "<") {
		if _, p, ok := strings.Cut(s, "<p>"); ok {
			s, _, _ = strings.Cut(p, "</p>")
		}
		s = strings.Join(strings.Fields(html.UnescapeString(stripTags(s))), " ")
	}
	if !utf8.ValidString(s) {
		return ""
	}
	if r := []rune(s); len(r) > 200 {
		s = string(r[:200]) + "…"
	}
	return s
}

// stripTags replaces every <…> of s by a space.
func stripTags(s string) string {
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
	return b.String()
}

// As returns the StatusError in err's chain, if any.
func As(err error) (*StatusError, bool) {
	var e *StatusError
	ok := errors.As(err, &e)
	return e, ok
}
