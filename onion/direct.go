package onion

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// DirectServerTransport sends server requests as plain HTTP(S), without onion routing: the
// server sees the caller's IP address. It is the "direct mode" for users who choose it; the
// server's TLS certificate is verified as usual (the X25519 key is not used).
type DirectServerTransport struct {
	// Client is the HTTP client to use; nil means a client with a 30 s timeout that does not
	// follow redirects.
	Client *http.Client
	// MaxResponseSize bounds reply bodies (default MaxResponseSize).
	MaxResponseSize int64
}

var _ ServerTransport = (*DirectServerTransport)(nil)

var defaultDirectClient = &http.Client{
	Timeout:       30 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
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
	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	hr, err := http.NewRequestWithContext(ctx, method, base.String()+req.Endpoint, body)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrURLNotAllowed, err)
	}
	for k, v := range req.Headers {
		hr.Header.Set(k, v)
	}
	if req.Body != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	c := d.Client
	if c == nil {
		c = defaultDirectClient
	}
	res, err := c.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("onion: direct %s %s: %w", method, base.Host, err)
	}
	defer res.Body.Close()
	max := d.MaxResponseSize
	if max <= 0 {
		max = MaxResponseSize
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("onion: direct %s %s: %w", method, base.Host, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w: reply larger than %d bytes", ErrMalformed, max)
	}
	out := &Response{Status: res.StatusCode, Headers: make(map[string]string, len(res.Header)), Body: data}
	for k := range res.Header {
		out.Headers[strings.ToLower(k)] = res.Header.Get(k)
	}
	return out, nil
}
