package onion

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sessiongo/sdk/internal/httperr"
)

// ErrRequestOutcomeUnknown: a direct request reached the server, which then closed the
// connection without answering, and a replay of it was refused because its X-SOGS-Nonce was
// already spent. The server may or may not have carried it out: check (for example read the
// room) before sending it again with a fresh signature.
var ErrRequestOutcomeUnknown = errors.New("onion: the server received the request but closed the connection without answering; its outcome is unknown")

// StatusError is a server's answer outside 2xx as an error (see Response.Err). The community
// and file-server clients return it (as community.HTTPError and fileserver.HTTPError), each
// matching its own package's sentinels.
type StatusError = httperr.StatusError

// Err returns nil when the answer's status is 2xx, and otherwise the answer as a *StatusError
// of domain (the package reporting it, whose sentinels it then matches) for the request's
// method and endpoint, keeping the start of the body and reading Retry-After at now. Answers of
// both server transports (Transport.Do, DirectServerTransport.Do) are checked with it.
func (r *Response) Err(domain, method, endpoint string, now time.Time) error {
	return httperr.Check(domain, method, endpoint, r.Status, r.Headers, r.Body, now)
}

// DirectServerTransport sends server requests as plain HTTP(S), without onion routing: the
// server sees the caller's IP address. It is the "direct mode" for users who choose it; the
// server's TLS certificate is verified as usual (the X25519 key is not used).
//
// Some servers close kept-alive connections without saying so (pysogs behind its standard
// uWSGI front answers HTTP/1.1 without "Connection: close" and then closes): a request sent on
// such a connection fails with EOF or "connection reset", and the client cannot tell whether
// the server ran it. The transport therefore
//   - sends requests that are not safe to send twice (POST without a nonce: uploads) on a new
//     connection that is closed after the answer, so that they never ride a kept-alive
//     connection;
//   - retries once, on a new connection, a request that failed that way on a kept-alive
//     connection when sending it twice is harmless: idempotent methods (GET, HEAD, OPTIONS,
//     TRACE, PUT, DELETE), and requests carrying an X-SOGS-Nonce, which a community server
//     refuses to run twice (it records the nonce before anything else). If such a replay is
//     refused for its nonce (425), the first copy reached the server: the result is an error
//     matching ErrRequestOutcomeUnknown, not the 425;
//   - retries once any request that failed before it was completely written (a server never
//     runs an incomplete HTTP request).
//
// Timeouts and cancellation are never retried.
type DirectServerTransport struct {
	// Client is the HTTP client to use; nil means a client with a 30 s timeout that does not
	// follow redirects. Requests that must not ride a kept-alive connection are sent through a
	// copy of its *http.Transport with keep-alives off (through the client itself, with
	// Request.Close, when its RoundTripper is something else).
	Client *http.Client
	// MaxResponseSize bounds reply bodies (default MaxResponseSize).
	MaxResponseSize int64
	// DisableKeepAlives sends every request on a new connection, closed after the answer.
	DisableKeepAlives bool

	once  sync.Once
	keep  *http.Client // the client for requests that may use kept-alive connections
	fresh *http.Client // the same, with keep-alives off (nil: use keep with Request.Close)
}

var _ ServerTransport = (*DirectServerTransport)(nil)

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// clients sets up the keep-alive and the fresh-connection clients once.
func (d *DirectServerTransport) clients() (keep, fresh *http.Client) {
	d.once.Do(func() {
		d.keep = d.Client
		if d.keep == nil {
			d.keep = &http.Client{Timeout: 30 * time.Second, CheckRedirect: noRedirect,
				Transport: http.DefaultTransport.(*http.Transport).Clone()}
		}
		rt := d.keep.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		if ht, ok := rt.(*http.Transport); ok {
			nt := ht.Clone()
			nt.DisableKeepAlives = true
			c := *d.keep
			c.Transport = nt
			d.fresh = &c
		}
	})
	return d.keep, d.fresh
}

// CloseIdleConnections closes the idle kept-alive connections of the HTTP client the transport
// made for itself (when Client is nil), ending their goroutines; call it when the transport is
// no longer used. A caller's own Client is left alone. It does not stop the transport from
// being used again.
func (d *DirectServerTransport) CloseIdleConnections() {
	keep, fresh := d.clients()
	if d.Client == nil {
		keep.CloseIdleConnections()
	}
	if fresh != nil {
		fresh.CloseIdleConnections() // always the transport's own copy (keep-alives off)
	}
}

// replaySafe reports whether sending req twice is harmless: an idempotent method, or a
// community request whose nonce makes the server refuse a second copy.
func replaySafe(req *ServerRequest, method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return hasNonce(req)
}

func hasNonce(req *ServerRequest) bool {
	for k, v := range req.Headers {
		if strings.EqualFold(k, "X-SOGS-Nonce") && v != "" {
			return true
		}
	}
	return false
}

// attempt is what one try of a request saw of its connection.
type attempt struct {
	reused bool // the connection had carried a request before
	wrote  bool // the whole request was written
}

// dropped reports whether err is the connection closing under the request (EOF, reset,
// broken pipe), as opposed to a timeout, a cancellation or a refused dial.
func dropped(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return false
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) ||
		strings.Contains(err.Error(), "server closed idle connection")
}

// Do sends req to server.URL's scheme, host and port plus req.Endpoint and returns the
// answer, whatever its status. Header names in the Response are lowercase, as in v4 replies.
func (d *DirectServerTransport) Do(ctx context.Context, server Server, req *ServerRequest) (*Response, error) {
	if !strings.HasPrefix(req.Endpoint, "/") {
		return nil, fmt.Errorf("%w: endpoint %q must start with /", ErrURLNotAllowed, req.Endpoint)
	}
	base := ServerURL{Scheme: server.URL.Scheme, Host: server.URL.Host, Port: server.URL.Port}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	keep, fresh := d.clients()
	safe := replaySafe(req, method)
	newConn := d.DisableKeepAlives || !safe
	out, a, err := d.try(ctx, keep, fresh, newConn, base, method, req)
	if err == nil || ctx.Err() != nil || !dropped(err) || (a.wrote && !(a.reused && safe)) {
		return out, err
	}
	// The connection closed under a request that provably did not reach the server (not
	// completely written), or that is safe to send twice: once more, on a new connection.
	first := err
	out, _, err = d.try(ctx, keep, fresh, true, base, method, req)
	if err != nil {
		return nil, err
	}
	if a.wrote && out.Status == http.StatusTooEarly && hasNonce(req) && bytes.Contains(bytes.ToLower(out.Body), []byte("nonce")) {
		// The dropped connection is named, not wrapped: a caller that retries on a drop must
		// not retry a request whose outcome is unknown.
		return nil, fmt.Errorf("%w (%s %s: %v; the replay was refused: %s)", ErrRequestOutcomeUnknown, method, base.Host, first, bytes.TrimSpace(out.Body))
	}
	return out, nil
}

// try sends the request once; newConn sends it on a connection of its own.
func (d *DirectServerTransport) try(ctx context.Context, keep, fresh *http.Client, newConn bool, base ServerURL, method string, req *ServerRequest) (*Response, attempt, error) {
	// The trace callbacks run on the transport's goroutines, WroteRequest possibly after the
	// answer came (a server may answer before it has read the whole request): a is guarded.
	var mu sync.Mutex
	var a attempt
	seen := func() attempt {
		mu.Lock()
		defer mu.Unlock()
		return a
	}
	trace := &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) {
			mu.Lock()
			a.reused, a.wrote = i.Reused, false
			mu.Unlock()
		},
		WroteRequest: func(i httptrace.WroteRequestInfo) {
			mu.Lock()
			a.wrote = i.Err == nil
			mu.Unlock()
		},
	}
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), method, base.String()+req.Endpoint, body)
	if err != nil {
		return nil, attempt{}, fmt.Errorf("%w: %w", ErrURLNotAllowed, err)
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	if req.Body != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	c := keep
	if newConn {
		if fresh != nil {
			c = fresh
		} else {
			// A RoundTripper we cannot copy: close its idle connections so that this request
			// dials, and the connection after it.
			keep.CloseIdleConnections()
			hr.Close = true
		}
	}
	res, err := c.Do(hr)
	if err != nil {
		// On failure the transport has finished writing (and tracing) before Do returns.
		return nil, seen(), fmt.Errorf("onion: direct %s %s: %w", method, base.Host, err)
	}
	defer res.Body.Close()
	max := d.MaxResponseSize
	if max <= 0 {
		max = MaxResponseSize
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, max+1))
	if err != nil {
		// Part of an answer came: the server ran the request. Not retried.
		return nil, attempt{wrote: true}, fmt.Errorf("onion: direct %s %s: reading the answer: %w", method, base.Host, err)
	}
	if int64(len(data)) > max {
		return nil, seen(), fmt.Errorf("%w: reply larger than %d bytes", ErrMalformed, max)
	}
	out := &Response{Status: res.StatusCode, Headers: make(map[string]string, len(res.Header)), Body: data}
	for k := range res.Header {
		out.Headers[strings.ToLower(k)] = res.Header.Get(k)
	}
	return out, seen(), nil
}
