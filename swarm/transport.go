package swarm

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/sessiongo/sdk/internal/httperr"
)

// Transport sends one storage RPC body to one node and returns the reply.
//
// body is the RPC JSON {"method": ..., "params": {...}} (see EncodeRequest). On HTTP 200 Send
// returns the reply body (the RPC result JSON). Any other status is returned as a *NodeError
// carrying the status and body (for an onion transport: the inner status and body the
// destination node sent). Failures to reach the node (network errors, timeouts, broken onion
// paths) are returned as other errors, wrapped with context; when ctx ends Send returns an
// error that matches ctx.Err() with errors.Is.
//
// Implementations must be safe for concurrent use. HTTPSTransport sends directly; package
// onion sends through 3-hop onion paths.
type Transport interface {
	Send(ctx context.Context, node Node, body []byte) ([]byte, error)
}

// DefaultMaxResponseSize bounds replies read by HTTPSTransport and the seed client. The
// storage server caps a retrieve at 7.8 MB of messages; base64 and JSON add a third.
const DefaultMaxResponseSize = 16 << 20

// HTTPSOptions configure an HTTPSTransport. The zero value is usable.
type HTTPSOptions struct {
	// Timeout bounds one request, connection included (default 15 s). ctx can end it sooner.
	Timeout time.Duration
	// Proxy chooses a proxy for each request, as http.Transport.Proxy does (nil: no proxy;
	// http.ProxyFromEnvironment reads HTTPS_PROXY; "socks5://" URLs are supported).
	Proxy func(*http.Request) (*url.URL, error)
	// MaxResponseSize bounds the reply size (default DefaultMaxResponseSize).
	MaxResponseSize int64
}

// HTTPSTransport posts storage RPCs straight to a node's https://ip:port/storage_rpc/v1. The
// node sees our IP address; use an onion transport to hide it.
//
// Storage nodes present self-signed certificates (CN=localhost), so this transport does not
// verify them: TLS here only hides the traffic from passive observers. Authenticity of a node
// comes from the onion layer encrypted to its X25519 key, which only that node can open; a
// direct request trusts the network path. Seeds, which are verified, use a separate client
// (see PoolConfig).
type HTTPSTransport struct {
	client  *http.Client
	tr      *http.Transport
	maxSize int64
}

// NewHTTPSTransport returns a direct transport with its own http.Transport (it never touches
// http.DefaultTransport). Close releases its idle connections.
func NewHTTPSTransport(opts HTTPSOptions) *HTTPSTransport {
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.MaxResponseSize <= 0 {
		opts.MaxResponseSize = DefaultMaxResponseSize
	}
	tr := &http.Transport{
		Proxy:       opts.Proxy,
		DialContext: (&net.Dialer{Timeout: opts.Timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig: &tls.Config{
			// Snode certificates are self-signed; see the type's comment for why this is safe
			// for snodes (and only for them).
			InsecureSkipVerify: true, //nolint:gosec
			MinVersion:         tls.VersionTLS12,
		},
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       60 * time.Second,
		ForceAttemptHTTP2:     false,
	}
	return &HTTPSTransport{
		client:  &http.Client{Transport: tr, Timeout: opts.Timeout, CheckRedirect: noRedirects},
		tr:      tr,
		maxSize: opts.MaxResponseSize,
	}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Send posts body to the node's /storage_rpc/v1.
func (t *HTTPSTransport) Send(ctx context.Context, node Node, body []byte) ([]byte, error) {
	if !node.IP.IsValid() || node.Port == 0 {
		return nil, fmt.Errorf("swarm: send to %s: %w", node, ErrInvalidNode)
	}
	u := "https://" + node.AddrPort().String() + "/storage_rpc/v1"
	status, header, resp, err := postJSON(ctx, t.client, u, body, t.maxSize)
	if err != nil {
		return nil, fmt.Errorf("swarm: send to %s: %w", node, err)
	}
	if status != http.StatusOK {
		ne := NewNodeError(node, status, resp)
		ne.ContentType = header.Get("Content-Type")
		ne.RetryAfter = httperr.ParseRetryAfter(header.Get("Retry-After"), time.Now())
		return nil, ne
	}
	return resp, nil
}

// Close closes idle connections. In-flight requests finish or fail on their own contexts.
func (t *HTTPSTransport) Close() error {
	t.tr.CloseIdleConnections()
	return nil
}

// postJSON posts a JSON body and reads at most max bytes of the reply.
func postJSON(ctx context.Context, c *http.Client, url string, body []byte, max int64) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer res.Body.Close()
	data, err := readLimited(res.Body, max)
	if err != nil {
		return 0, nil, nil, err
	}
	return res.StatusCode, res.Header, data, nil
}

func readLimited(r io.Reader, max int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, ErrResponseTooLarge
	}
	return data, nil
}
