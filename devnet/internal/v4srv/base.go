package v4srv

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

	"github.com/sessiongo/sdk/onion"
)

// Network is the devnet a server runs in (a *devnet.Network): it issues certificates its nodes
// trust and relays a host name to a listener.
type Network interface {
	IssueCertificate() (tls.Certificate, error)
	SetHostAlias(host, addr string)
}

// Settings configure a devnet server: what every one of them takes (the options below), and the
// server's own settings (Own).
type Settings struct {
	TLS           *tls.Certificate // nil: plain HTTP, unless Network
	Network       Network
	Host          string
	Now           func() time.Time
	Logger        *slog.Logger
	Key           *[32]byte // nil: a random key
	DropKeptAlive bool
	own           any
}

// Option configures a devnet server (sogsd.Option and filesd.Option are this type).
type Option func(*Settings)

// Own returns the server package's own settings in s, of type T, made (zero) on first use. A
// server package keeps all its settings in one T.
func Own[T any](s *Settings) *T {
	if t, ok := s.own.(*T); ok {
		return t
	}
	t := new(T)
	s.own = t
	return t
}

// WithNetwork serves HTTPS with a certificate from the devnet's CA, so that the network's nodes
// (and nw.HTTPClient) trust it.
func WithNetwork(nw Network) Option { return func(s *Settings) { s.Network = nw } }

// WithHost names the server host (for example "open.getsession.org") in URL and OnionServer
// instead of 127.0.0.1. With WithNetwork the devnet's nodes are told to relay that name to the
// server (Network.SetHostAlias) until Close; only onion requests can use it, so direct clients
// dial Addr instead.
func WithHost(host string) Option { return func(s *Settings) { s.Host = host } }

// WithTLSCertificate serves HTTPS with cert (default: plain HTTP, unless WithNetwork).
func WithTLSCertificate(cert tls.Certificate) Option {
	return func(s *Settings) { s.TLS = &cert }
}

// WithClock sets the server's clock (default time.Now): everything the server times (expiries,
// timestamps, signature windows, rate limits) reads it.
func WithClock(now func() time.Time) Option { return func(s *Settings) { s.Now = now } }

// WithLogger sets the logger (default: discard). Keys and contents are never logged.
func WithLogger(l *slog.Logger) Option { return func(s *Settings) { s.Logger = l } }

// WithKey fixes the server's X25519 private key (default: random), for stable join URLs.
func WithKey(priv [32]byte) Option { return func(s *Settings) { s.Key = &priv } }

// WithDroppedKeepAlive makes the server drop every request that arrives on a kept-alive
// connection (the connection is reset, the request never served), as pysogs behind its standard
// uWSGI front does to clients that reuse a connection it has closed: for tests of direct
// clients (Config.DropKeptAlive).
func WithDroppedKeepAlive() Option { return func(s *Settings) { s.DropKeptAlive = true } }

// Base is what every devnet server has, whatever it serves: its settings, its X25519 key and
// its listener. Servers embed it: NewBase applies the options, Serve says what to serve, and
// Start starts the listener.
type Base struct {
	name     string
	settings Settings
	key      onion.KeyPair
	srv      *Server
	maxBody  int64
	handler  Handler
}

// NewBase makes the base of a server named name ("sogsd", "filesd": the prefix of its errors
// and logs) whose own settings are a T (see Own), starting from own: it applies opts, then
// makes the key (random unless WithKey). It returns the base and the server's own settings.
func NewBase[T any](name string, own T, opts []Option) (*Base, *T, error) {
	b := &Base{name: name}
	*Own[T](&b.settings) = own
	for _, o := range opts {
		o(&b.settings)
	}
	if b.settings.Now == nil {
		b.settings.Now = time.Now
	}
	if b.settings.Logger == nil {
		b.settings.Logger = slog.New(slog.DiscardHandler)
	}
	var err error
	if b.settings.Key != nil {
		b.key, err = onion.NewKeyPair(*b.settings.Key)
	} else {
		b.key, err = onion.GenerateKeyPair(nil)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("%s: server key: %w", name, err)
	}
	return b, Own[T](&b.settings), nil
}

// Serve sets what the server answers (h) and the largest request body it reads (bodies above
// maxBody get 413), for the listener Start starts.
func (b *Base) Serve(maxBody int64, h Handler) { b.maxBody, b.handler = maxBody, h }

// listener is a server built on Base.
type listener interface {
	listen(ctx context.Context) error
}

// Start starts the listener of s (made with err by its package's constructor) on 127.0.0.1 and
// returns it; ctx bounds startup only. It is the whole of a server package's Start.
func Start[S listener](ctx context.Context, s S, err error) (S, error) {
	if err == nil {
		err = s.listen(ctx)
	}
	if err != nil {
		var none S
		return none, err
	}
	return s, nil
}

// Settings returns the settings (for Own).
func (b *Base) Settings() *Settings { return &b.settings }

// KeyPair is the server's X25519 key pair.
func (b *Base) KeyPair() onion.KeyPair { return b.key }

// Logger is the server's logger.
func (b *Base) Logger() *slog.Logger { return b.settings.Logger }

// Config is the listener configuration of the settings, with maxBody and the certificate: the
// one of WithTLSCertificate, or one from the Network (nil: plain HTTP).
func (b *Base) Config(maxBody int64, cert *tls.Certificate) Config {
	c := Config{Key: b.key, TLS: cert, MaxBody: maxBody, Logger: b.settings.Logger, Name: b.name,
		Host: b.settings.Host, DropKeptAlive: b.settings.DropKeptAlive}
	if b.settings.Network != nil {
		c.Aliases = b.settings.Network
	}
	return c
}

// listen starts serving (see Serve) on 127.0.0.1.
func (b *Base) listen(ctx context.Context) error {
	cert := b.settings.TLS
	if cert == nil && b.settings.Network != nil {
		c, err := b.settings.Network.IssueCertificate()
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		cert = &c
	}
	srv, err := Listen(ctx, b.Config(b.maxBody, cert), b.handler)
	if err != nil {
		return fmt.Errorf("%s: %w", b.name, err)
	}
	b.srv = srv
	return nil
}

// URL is the server's base URL ("http://127.0.0.1:port", or https, or the WithHost name).
func (b *Base) URL() string {
	if b.srv == nil {
		return ""
	}
	return b.srv.URL()
}

// Addr is the server's "127.0.0.1:port" ("" when not listening).
func (b *Base) Addr() string {
	if b.srv == nil {
		return ""
	}
	return b.srv.Addr()
}

// PublicKey is the server's X25519 public key, which onion requests are encrypted to.
func (b *Base) PublicKey() [32]byte { return b.key.Public }

// OnionServer is the server as an onion destination, for onion.Transport.Do.
func (b *Base) OnionServer() onion.Server {
	srv, _ := onion.NewServer(b.URL(), b.key.Public) // the URL is always valid
	return srv
}

// Now is the server's clock.
func (b *Base) Now() time.Time { return b.settings.Now() }

// Close stops the listener and waits for its goroutine. It is safe to call more than once, and
// on a server that never listened.
func (b *Base) Close() error {
	if b.srv == nil {
		return nil
	}
	return b.srv.Close()
}
