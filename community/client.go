package community

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/onion"
)

// Config configures a Client.
type Config struct {
	// Keys is the account that signs requests and posts. Required.
	Keys *crypto.Keys
	// Server is the community server: base URL and X25519 key (see [ParseURL]). Required.
	Server onion.Server
	// Transport carries the requests: an *onion.Transport (onion routed, the default way) or an
	// *onion.DirectServerTransport (the server sees your IP address). Required.
	Transport onion.ServerTransport
	// Unblinded signs with our plain Ed25519 key (00) instead of the 15-blinded key, for the
	// rare servers that do not require blinding. Servers that do (the default) refuse it.
	Unblinded bool
	// Now is the clock of request timestamps (nil: time.Now). Servers refuse timestamps more
	// than 24 hours away from theirs.
	Now func() time.Time
	// Rand is the source of request nonces and DM nonces (nil: crypto/rand).
	Rand io.Reader
	// Logger receives debug logs (default: discard). Keys and message contents are never
	// logged.
	Logger *slog.Logger
}

// Client talks to one community server as one account. It is safe for concurrent use and holds
// no goroutines.
type Client struct {
	keys   *crypto.Keys
	server onion.Server
	tr     onion.ServerTransport
	signer *blinding.RequestSigner
	kp     *blinding.KeyPair // nil when unblinded
	id     crypto.AccountID
	now    func() time.Time
	rand   io.Reader
	log    *slog.Logger
}

// New makes a Client. It does no I/O.
func New(cfg Config) (*Client, error) {
	if cfg.Keys == nil {
		return nil, fmt.Errorf("%w: no keys", ErrInvalidArgument)
	}
	if cfg.Transport == nil {
		return nil, fmt.Errorf("%w: no transport", ErrInvalidArgument)
	}
	if cfg.Server.URL.Host == "" {
		return nil, fmt.Errorf("%w: no server", ErrInvalidArgument)
	}
	c := &Client{keys: cfg.Keys, server: cfg.Server, tr: cfg.Transport, now: cfg.Now, rand: cfg.Rand, log: cfg.Logger}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if cfg.Unblinded {
		c.signer = blinding.NewUnblindedRequestSigner(cfg.Keys, cfg.Server.X25519)
		c.id = cfg.Keys.AccountID()
	} else {
		kp, err := blinding.Blind15KeyPair(cfg.Keys, cfg.Server.X25519)
		if err != nil {
			return nil, fmt.Errorf("community: blinding our key for the server: %w", err)
		}
		if c.signer, err = blinding.NewRequestSigner(kp); err != nil {
			return nil, fmt.Errorf("community: %w", err)
		}
		c.kp, c.id = kp, kp.ID()
	}
	c.signer.Now, c.signer.Rand = c.now, cfg.Rand
	return c, nil
}

// Server returns the server the client talks to.
func (c *Client) Server() onion.Server { return c.server }

// ID returns our ID on this server: the 15-blinded ID (or our 05 Account ID when unblinded),
// as message authors and DM senders show it.
func (c *Client) ID() crypto.AccountID { return c.id }

// sign signs data as we post it: the blinded signature, or Ed25519 when unblinded.
func (c *Client) sign(data []byte) [64]byte {
	if c.kp != nil {
		return c.kp.Sign(data)
	}
	return c.keys.Sign(data)
}

// request is one HTTP-like request; endpoint is the decoded path plus "?" and the raw query.
type request struct {
	method      string
	endpoint    string
	body        []byte // nil: none
	contentType string
	headers     map[string]string
	// readOnly marks a POST that only reads (a batch of GETs), which may be sent again.
	readOnly bool
}

// resendable reports whether r only reads, so that it can be signed and sent again when its
// first copy's fate is unknown.
func (r *request) resendable() bool { return r.method == "GET" || r.readOnly }

func jsonRequest(method, endpoint string, v any) (request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return request{}, fmt.Errorf("community: encoding %s %s: %w", method, endpoint, err)
	}
	return request{method: method, endpoint: endpoint, body: b, contentType: "application/json"}, nil
}

// do signs and sends r, and returns the reply when its status is 2xx; other statuses are
// *HTTPError. A read whose first copy reached the server without an answer
// (onion.ErrRequestOutcomeUnknown: a direct connection closed under it, and the transport's
// replay was refused for its spent nonce) is signed again with a fresh nonce and sent once
// more; anything that changes state is not, since it may have taken effect.
func (c *Client) do(ctx context.Context, r request) (*onion.Response, error) {
	resp, err := c.send(ctx, r)
	if err != nil && r.resendable() && errors.Is(err, onion.ErrRequestOutcomeUnknown) && ctx.Err() == nil {
		c.log.Debug("community request resent", "method", r.method, "endpoint", r.endpoint, "err", err)
		return c.send(ctx, r)
	}
	return resp, err
}

func (c *Client) send(ctx context.Context, r request) (*onion.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h, err := c.signer.Sign(r.method, r.endpoint, r.body)
	if err != nil {
		return nil, fmt.Errorf("community: signing %s %s: %w", r.method, r.endpoint, err)
	}
	req := &onion.ServerRequest{Method: r.method, Endpoint: r.endpoint, Headers: h.Map()}
	for k, v := range r.headers {
		req.Headers[k] = v
	}
	if r.body != nil {
		req.Body = r.body
		ct := r.contentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		req.Headers["Content-Type"] = ct
	}
	resp, err := c.tr.Do(ctx, c.server, req)
	if err != nil {
		return nil, fmt.Errorf("community: %s %s: %w", r.method, r.endpoint, err)
	}
	if err := resp.Err(string(domain), r.method, r.endpoint, c.now()); err != nil {
		c.log.Debug("community request refused", "method", r.method, "endpoint", r.endpoint, "status", resp.Status)
		return resp, err
	}
	return resp, nil
}

// call sends r and decodes a JSON reply into out (when out is not nil).
func (c *Client) call(ctx context.Context, r request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("%w: %s %s: %w", ErrMalformedReply, r.method, r.endpoint, err)
	}
	return nil
}

func checkToken(token string) error {
	if !ValidRoomToken(token) {
		return fmt.Errorf("%w: room token %q", ErrInvalidArgument, token)
	}
	return nil
}

// Capabilities returns the server's capabilities ("sogs", "reactions", "blind", …). With
// required, a server that lacks one of them answers 412 (ErrMissingCapability).
func (c *Client) Capabilities(ctx context.Context, required ...string) ([]string, error) {
	ep := "/capabilities"
	if len(required) > 0 {
		ep += "?required=" + url.QueryEscape(strings.Join(required, ","))
	}
	var out struct {
		Capabilities []string `json:"capabilities"`
	}
	if err := c.call(ctx, request{method: "GET", endpoint: ep}, &out); err != nil {
		return nil, err
	}
	return out.Capabilities, nil
}
