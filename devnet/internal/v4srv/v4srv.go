// Package v4srv is the HTTP and onion plumbing shared by the devnet's emulated servers (the
// community server sogsd and the file server filesd): a loopback listener (plain HTTP, or HTTPS
// with a devnet certificate), and the server side of onion requests v4 at /oxen/v4/lsrpc.
//
// A server is one Handler that sees every request the same way, whether it arrived directly or
// through an onion path: method, URL-decoded path, raw query, headers and body. For an onion
// request the last storage node POSTs the whole plaintext of its layer (u32_le(N) ‖ blob ‖
// routing JSON with ephemeral_key and enc_type); the server opens blob with its X25519 key,
// reads the bencoded v4 request, runs the Handler and answers the v4 bencoded reply (lower-case
// headers, no content-length) encrypted with the same key and enc_type.
package v4srv

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiongo/sdk/onion"
)

// DefaultMaxBody bounds request bodies when Config.MaxBody is zero: a 10 MB upload plus the
// onion framing and encryption around it.
const DefaultMaxBody = 12 << 20

// Request is one request as a Handler sees it, direct or through an onion.
type Request struct {
	Method   string      // upper-case
	Path     string      // URL-decoded path, starting with "/"
	RawQuery string      // the query as sent, without "?"
	Header   http.Header // canonical names
	Body     []byte      // nil or empty when there was none
	Onion    bool        // it came as an onion request v4
}

// SignedPath is what request signatures cover: the decoded path, plus "?" and the raw query
// when the query is not empty.
func (r *Request) SignedPath() string {
	if r.RawQuery == "" {
		return r.Path
	}
	return r.Path + "?" + r.RawQuery
}

// Query parses the raw query (malformed pairs are dropped, as net/url does).
func (r *Request) Query() url.Values {
	v, _ := url.ParseQuery(r.RawQuery)
	return v
}

// NewRequest builds a Request from an endpoint as written in a v4 request or a batch
// subrequest ("/path?query", where the path may be percent-encoded or raw UTF-8).
func NewRequest(method, endpoint string, header http.Header, body []byte) (*Request, error) {
	if !strings.HasPrefix(endpoint, "/") {
		return nil, fmt.Errorf("v4srv: endpoint %q does not start with /", endpoint)
	}
	rawPath, rawQuery, _ := strings.Cut(endpoint, "?")
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		return nil, fmt.Errorf("v4srv: endpoint path: %w", err)
	}
	if header == nil {
		header = http.Header{}
	}
	return &Request{Method: strings.ToUpper(method), Path: path, RawQuery: rawQuery, Header: header, Body: body}, nil
}

// Response is a Handler's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON answers status with v encoded as JSON.
func JSON(status int, v any) *Response {
	b, err := json.Marshal(v)
	if err != nil {
		return Text(http.StatusInternalServerError, "cannot encode response")
	}
	return &Response{Status: status, Header: http.Header{"Content-Type": {"application/json"}}, Body: b}
}

// Text answers status with a plain-text body.
func Text(status int, msg string) *Response {
	return &Response{Status: status, Header: http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, Body: []byte(msg)}
}

// Bytes answers status with a raw body of the given content type.
func Bytes(status int, contentType string, b []byte) *Response {
	return &Response{Status: status, Header: http.Header{"Content-Type": {contentType}}, Body: b}
}

// Handler serves one request. It must not keep r.Body after it returns.
type Handler func(ctx context.Context, r *Request) *Response

// Config configures Listen.
type Config struct {
	// Key is the server's X25519 key pair, which onion requests are encrypted to (required).
	Key onion.KeyPair
	// TLS, when set, makes the listener speak HTTPS with this certificate (for example one from
	// devnet's Network.IssueCertificate, which storage nodes relaying to the server trust).
	TLS *tls.Certificate
	// MaxBody bounds request bodies (default DefaultMaxBody); larger ones get 413.
	MaxBody int64
	// Logger receives debug logs (default: discard). Bodies and keys are never logged.
	Logger *slog.Logger
	// Name prefixes log messages ("sogsd", "filesd").
	Name string
	// Host, when set, replaces 127.0.0.1 in URL (the port stays), so that a server can carry a
	// realistic name ("open.getsession.org"). Only onion requests can reach such a name, through
	// Aliases; direct clients must dial Addr.
	Host string
	// Aliases, when set with Host, is told to route Host to the listener while it runs (a
	// *devnet.Network: SetHostAlias).
	Aliases interface{ SetHostAlias(host, addr string) }
	// DropKeptAlive makes the listener behave like pysogs's standard uWSGI front: it answers
	// HTTP/1.1 without "Connection: close" but does not honour keep-alive, so a request that
	// arrives on a connection that already carried one is dropped unseen by the handler, the
	// connection reset. (uWSGI closes the connection after the answer; a client that sends
	// before it notices gets the same EOF or reset. Here it happens every time.)
	DropKeptAlive bool
}

// connRequests counts the requests a connection has carried (DropKeptAlive).
type connRequests struct{}

// Server is a running listener on 127.0.0.1.
type Server struct {
	cfg     Config
	h       Handler
	ln      net.Listener
	srv     *http.Server
	url     string
	done    chan struct{}
	closeMu sync.Once
	err     error
}

// Listen listens on 127.0.0.1 (a free port) and serves h directly and at /oxen/v4/lsrpc. The
// context bounds startup only.
func Listen(ctx context.Context, cfg Config, h Handler) (*Server, error) {
	if h == nil {
		return nil, errors.New("v4srv: nil handler")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("v4srv: listen: %w", err)
	}
	s := New(cfg, h)
	s.ln = ln
	scheme := "http"
	if cfg.TLS != nil {
		scheme = "https"
		ln = tls.NewListener(ln, &tls.Config{
			Certificates: []tls.Certificate{*cfg.TLS},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		})
	}
	s.url = scheme + "://" + s.ln.Addr().String()
	if cfg.Host != "" {
		_, port, _ := net.SplitHostPort(s.ln.Addr().String())
		s.url = scheme + "://" + net.JoinHostPort(cfg.Host, port)
		if cfg.Aliases != nil {
			cfg.Aliases.SetHostAlias(cfg.Host, s.ln.Addr().String())
		}
	}
	s.srv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connRequests{}, new(atomic.Int64))
		},
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.cfg.Logger.Debug(s.cfg.Name+": serve ended", "err", err)
		}
	}()
	return s, nil
}

// New returns a Server that is not listening: an http.Handler (ServeHTTP) and an onion
// endpoint (HandleOnion) for in-process tests and fuzz targets. Listen is New plus a listener.
func New(cfg Config, h Handler) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, h: h, done: make(chan struct{})}
}

// URL is the base URL, "http(s)://127.0.0.1:port".
func (s *Server) URL() string { return s.url }

// Addr is "127.0.0.1:port" ("" when not listening).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops the listener, closes connections and waits for the serving goroutine. Handlers in
// flight see their context cancelled. It is safe to call more than once.
func (s *Server) Close() error {
	if s.srv == nil {
		return nil
	}
	s.closeMu.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.srv.Shutdown(ctx); err != nil {
			s.err = s.srv.Close()
		}
		<-s.done
		if s.cfg.Host != "" && s.cfg.Aliases != nil {
			s.cfg.Aliases.SetHostAlias(s.cfg.Host, "")
		}
	})
	return s.err
}

// ServeHTTP serves one HTTP request: POST /oxen/v4/lsrpc as an onion request, anything else
// directly.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if n, ok := r.Context().Value(connRequests{}).(*atomic.Int64); ok && n.Add(1) > 1 && s.cfg.DropKeptAlive {
		resetConn(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeResponse(w, JSON(http.StatusRequestEntityTooLarge, map[string]int{"status_code": http.StatusRequestEntityTooLarge}))
			return
		}
		writeResponse(w, Text(http.StatusBadRequest, "cannot read body"))
		return
	}
	if r.Method == http.MethodPost && r.URL.Path == onion.V4Target {
		status, reply := s.HandleOnion(r.Context(), body)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(status)
		_, _ = w.Write(reply)
		return
	}
	req := &Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header, Body: body}
	if req.Path == "" {
		req.Path = "/"
	}
	writeResponse(w, s.serve(r.Context(), req))
}

// resetConn drops the connection of w without an answer, with a TCP reset (what closing a
// socket with unread data gives).
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	c, _, err := hj.Hijack()
	if err != nil {
		return
	}
	nc := c
	if tc, ok := c.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	if tcp, ok := nc.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0)
	}
	_ = c.Close()
}

func writeResponse(w http.ResponseWriter, resp *Response) {
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// serve runs the handler, turning a panic into a 500 so that one bad request cannot stop the
// server (the fuzz targets make sure there are none to catch).
func (s *Server) serve(ctx context.Context, r *Request) (resp *Response) {
	defer func() {
		if p := recover(); p != nil {
			s.cfg.Logger.Error(s.cfg.Name+": handler panic", "method", r.Method, "path", r.Path, "panic", fmt.Sprint(p))
			resp = Text(http.StatusInternalServerError, "internal error")
		}
	}()
	resp = s.h(ctx, r)
	if resp == nil {
		resp = Text(http.StatusInternalServerError, "no response")
	}
	return resp
}

// HandleOnion serves the body of a POST /oxen/v4/lsrpc and returns the HTTP status and body to
// answer with. A body that is not a layer encrypted to the server gets a plain 400 (there is
// nothing to encrypt the error to); a layer that opens but holds no valid v4 request gets an
// encrypted v4 reply with code 400 "Invalid v4 onion request", as pysogs answers.
func (s *Server) HandleOnion(ctx context.Context, body []byte) (int, []byte) {
	hop, err := onion.ParseHopRequest(body)
	if err != nil {
		return http.StatusBadRequest, []byte("Invalid onion request")
	}
	payload, ch, err := hop.Open(s.cfg.Key)
	if err != nil {
		return http.StatusBadRequest, []byte("Invalid ciphertext")
	}
	var resp *Response
	if sr, err := onion.ParseV4Request(payload); err != nil {
		resp = Text(http.StatusBadRequest, "Invalid v4 onion request")
	} else {
		h := http.Header{}
		for k, v := range sr.Headers {
			h.Set(k, v)
		}
		if h.Get("Content-Type") == "" {
			// v4 bodies are always bytes: pysogs reads a missing content type as binary.
			h.Set("Content-Type", "application/octet-stream")
		}
		req, err := NewRequest(sr.Method, sr.Endpoint, h, sr.Body)
		if err != nil {
			resp = Text(http.StatusBadRequest, "Invalid v4 onion request")
		} else {
			req.Onion = true
			resp = s.serve(ctx, req)
		}
	}
	plain, err := onion.EncodeV4Response(&onion.Response{Status: resp.Status, Headers: LowerHeaders(resp.Header), Body: resp.Body})
	if err != nil {
		return http.StatusInternalServerError, []byte("cannot encode reply")
	}
	sealed, err := ch.Seal(nil, plain)
	if err != nil {
		return http.StatusInternalServerError, []byte("cannot encrypt reply")
	}
	return http.StatusOK, sealed
}

// LowerHeaders flattens h to lower-case names (first value of each), without Content-Length:
// the header form of v4 replies and batch results.
func LowerHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, vs := range h {
		lk := strings.ToLower(k)
		if lk == "content-length" || len(vs) == 0 {
			continue
		}
		out[lk] = vs[0]
	}
	return out
}

// Dispatch runs the handler on a request, with the panic guard of a live server: for batch
// subrequests and tests.
func (s *Server) Dispatch(ctx context.Context, r *Request) *Response { return s.serve(ctx, r) }
