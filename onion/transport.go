package onion

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/sdk/swarm"
)

// Errors of the path layer.
var (
	// ErrNoPath: no path could be built (too few usable nodes, or every attempt failed).
	ErrNoPath = errors.New("onion: no usable path")
	// ErrClosed: the Transport was closed.
	ErrClosed = errors.New("onion: transport closed")
)

// PathError is a failure of an onion path rather than an answer from the destination: the
// guard could not be reached, a hop answered with an error (Status and Body hold its plain
// text reply), or the reply did not decrypt. It unwraps to the cause (a net error,
// context.DeadlineExceeded, ErrDecrypt …).
type PathError struct {
	Path   []swarm.Node // the path used, guard first
	Status int          // the guard's HTTP status; 0 when there was no HTTP answer
	Body   []byte       // the hop's error text
	Err    error
	// implausible: the hop said it could not find a node it was not asked to reach (see
	// aheadOf), so its "not found" proves nothing.
	implausible bool
}

func (e *PathError) Error() string {
	var b strings.Builder
	b.WriteString("onion: path")
	for i, n := range e.Path {
		if i > 0 {
			b.WriteString(" →")
		}
		b.WriteString(" " + n.String())
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, ": hop answered %d", e.Status)
		if len(e.Body) > 0 {
			body := e.Body
			if len(body) > 160 {
				body = body[:160]
			}
			fmt.Fprintf(&b, " %q", body)
		}
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *PathError) Unwrap() error { return e.Err }

// NotDelivered reports whether the request certainly never reached its destination: a hop
// answered that it cannot find the next node (one it was asked to reach: a hop naming any other
// node proves nothing), or the guard could not be connected to. Other
// path failures (timeouts, undecryptable replies) leave it unknown whether the destination
// handled the request (see [swarm.UncertainError]).
func (e *PathError) NotDelivered() bool {
	if _, ok := nextNodeNotFound(e.Body); ok && e.Status == http.StatusBadGateway && !e.implausible {
		return true
	}
	var op *net.OpError
	return errors.As(e.Err, &op) && op.Op == "dial"
}

// Config configures a Transport. Only Pool is required.
type Config struct {
	// Pool supplies the nodes paths are built from (required).
	Pool *swarm.Pool
	// EncType is used for every layer (default XChaCha20).
	EncType EncType
	// Hops is the number of nodes in a path, guard included (default 3).
	Hops int
	// Paths is how many paths are kept ready (default 2). Missing paths are built in the
	// background when a request notices them missing.
	Paths int
	// Diversity says which nodes may share a path (default DistinctSubnets).
	Diversity Diversity
	// RequestTimeout bounds a request to a node, path build and retries included (default 15
	// s). The caller's ctx can end it sooner.
	RequestTimeout time.Duration
	// ServerTimeout bounds a request to a server destination (default 30 s; nodes wait 25 s
	// for the server).
	ServerTimeout time.Duration
	// PathTestTimeout bounds the test request sent through every new path (default 10 s).
	PathTestTimeout time.Duration
	// MaxAttempts is how many paths one request may try when paths fail (default 2: one retry
	// on another path). Answers from the destination are never retried here.
	MaxAttempts int
	// Proxy chooses a proxy for the connection to the guard, as http.Transport.Proxy does
	// (for example http.ProxyURL of a "socks5h://127.0.0.1:9050" URL). nil: direct.
	Proxy func(*http.Request) (*url.URL, error)
	// MaxResponseSize bounds replies (default MaxResponseSize).
	MaxResponseSize int64
	// Logger receives debug logs (default: discard). Keys and payloads are never logged.
	Logger *slog.Logger
}

// Transport sends requests through onion paths. It implements swarm.Transport for node
// destinations, and Do sends v4 requests to servers. It is safe for concurrent use; Close
// stops its background path builds and waits for them.
//
// Path policy (libsession's client network policy): a path has Hops distinct nodes (see
// Diversity) drawn from the pool, excluding nodes already used by another path where possible
// and nodes with NodeFailureThreshold failures; every new path is tested with an info request
// before use. Requests use a random path whose nodes do not conflict with the destination
// node (uploads of 64 KiB and more to servers take the least busy one). A failure of the path (unreachable guard, hop error, undecryptable reply, node error
// status other than 400, 401, 403, 404, 406, 421 and 425) counts against the path; at
// PathFailureThreshold every node of the path gets a failure, the guard is marked bad and the
// path is dropped. "Next node not found" marks that node bad and replaces it in the path (the
// guard is never replaced: the path is dropped). Path failures are retried on another path up
// to MaxAttempts; a timeout on a server destination is returned at once.
type Transport struct {
	cfg  Config
	http *http.Client
	tr   *http.Transport
	log  *slog.Logger

	baseCtx context.Context // canceled by Close; parent of background builds
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	build   chan struct{} // one path build at a time

	mu          sync.Mutex
	closed      bool
	paths       []*path
	nodeFail    map[[32]byte]int
	everBuilt   bool      // a path was built at some point
	building    int       // builds in progress (foreground and background)
	topUp       bool      // a background build is running
	topUpFails  int       // consecutive failed background builds
	topUpNotBef time.Time // no background build before this time (retry delay)
}

// New returns a Transport. It does no I/O: paths are built on first use.
func New(cfg Config) (*Transport, error) {
	if cfg.Pool == nil {
		return nil, errors.New("onion: New needs a Pool")
	}
	if cfg.EncType == 0 {
		cfg.EncType = XChaCha20
	}
	if !cfg.EncType.valid() {
		return nil, fmt.Errorf("%w: %v", ErrUnknownEncType, cfg.EncType)
	}
	if cfg.Hops <= 0 {
		cfg.Hops = 3
	}
	if cfg.Hops > MaxHops-1 {
		return nil, fmt.Errorf("onion: %d hops (at most %d)", cfg.Hops, MaxHops-1)
	}
	if cfg.Paths <= 0 {
		cfg.Paths = 2
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	if cfg.ServerTimeout <= 0 {
		cfg.ServerTimeout = 30 * time.Second
	}
	if cfg.PathTestTimeout <= 0 {
		cfg.PathTestTimeout = 10 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 2
	}
	if cfg.MaxResponseSize <= 0 {
		cfg.MaxResponseSize = MaxResponseSize
	}
	t := &Transport{cfg: cfg, log: cfg.Logger, build: make(chan struct{}, 1), nodeFail: map[[32]byte]int{}}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	t.tr = &http.Transport{
		Proxy:       cfg.Proxy,
		DialContext: (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig: &tls.Config{
			// Storage nodes present self-signed certificates (CN=localhost), so they cannot
			// be verified. This is safe here because TLS is not what authenticates a node:
			// every layer is encrypted to the X25519 key of the node named in the pool, and
			// only that node can open it or produce a reply that decrypts. TLS only hides the
			// outer frame from passive observers.
			InsecureSkipVerify: true, //nolint:gosec // see above
			MinVersion:         tls.VersionTLS12,
		},
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     60 * time.Second,
	}
	t.http = &http.Client{Transport: t.tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	t.baseCtx, t.cancel = context.WithCancel(context.Background())
	return t, nil
}

// Close cancels background path builds and requests in flight, waits for the builds, and
// closes idle connections. Canceled and later requests fail with ErrClosed.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.mu.Unlock()
	if t.cancel == nil { // not made by New: nothing to stop
		return nil
	}
	t.cancel()
	t.wg.Wait()
	t.tr.CloseIdleConnections()
	return nil
}

// Paths returns a snapshot of the live paths.
func (t *Transport) Paths() []Path {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Path, 0, len(t.paths))
	for _, p := range t.paths {
		out = append(out, Path{Nodes: append([]swarm.Node(nil), p.nodes...), Failures: p.failures, Pending: p.pending})
	}
	return out
}

// NodeFailures returns the failure count of a node (NodeFailureThreshold and above: not used
// in new paths).
func (t *Transport) NodeFailures(node swarm.Node) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.nodeFail[node.Ed25519]
}

// Status is the state of a Transport's paths.
type Status uint8

const (
	// StatusUnknown: nothing was sent yet.
	StatusUnknown Status = iota
	// StatusConnecting: a path is being built and none is ready.
	StatusConnecting
	// StatusConnected: at least one path is ready.
	StatusConnected
	// StatusDisconnected: paths existed but none is left, and none is being built.
	StatusDisconnected
)

func (s Status) String() string {
	switch s {
	case StatusConnecting:
		return "connecting"
	case StatusConnected:
		return "connected"
	case StatusDisconnected:
		return "disconnected"
	}
	return "unknown"
}

// Status reports whether paths are ready (libsession's path status).
func (t *Transport) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case len(t.livePathsLocked()) > 0:
		return StatusConnected
	case t.building > 0 || t.topUp:
		return StatusConnecting
	case t.everBuilt:
		return StatusDisconnected
	}
	return StatusUnknown
}

// Send sends a storage RPC body to node through an onion path (swarm.Transport). A reply
// with status 200 returns its body; any other status from the node is a *swarm.NodeError.
// Path failures are *PathError (after retries on other paths); ctx ending is returned as an
// error matching ctx.Err().
func (t *Transport) Send(ctx context.Context, node swarm.Node, body []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.RequestTimeout)
	defer cancel()
	dest := NodeDestination{Ed25519: node.Ed25519, X25519: node.X25519}
	nr, err := t.roundTrip(ctx, &node, dest, body, func(o *Onion, resp []byte) (int, any, error) {
		r, err := o.DecodeNodeResponse(resp)
		if err != nil {
			return 0, nil, err
		}
		return r.Status, r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("onion: send to %s: %w", node, err)
	}
	r := nr.(*NodeResponse)
	if r.Status != http.StatusOK {
		return nil, swarm.NewNodeError(node, r.Status, r.Body)
	}
	return r.Body, nil
}

// Server is a server destination: its base URL (only scheme, host and port are used) and the
// X25519 key it decrypts onion requests with.
type Server struct {
	URL    ServerURL
	X25519 [32]byte
}

// NewServer parses a server's base URL ("https://open.getsession.org") and pairs it with its
// X25519 public key.
func NewServer(rawURL string, x25519 [32]byte) (Server, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return Server{}, err
	}
	return Server{URL: u, X25519: x25519}, nil
}

// ServerTransport sends HTTP-like requests to servers (community servers, the file server).
// Transport (through onion paths) and DirectServerTransport (plain HTTPS) implement it.
type ServerTransport interface {
	Do(ctx context.Context, server Server, req *ServerRequest) (*Response, error)
}

var _ swarm.Transport = (*Transport)(nil)
var _ ServerTransport = (*Transport)(nil)

// Do sends a v4 request to server through an onion path and returns its answer, whatever its
// status (check Response.Status). Path failures are *PathError.
func (t *Transport) Do(ctx context.Context, server Server, req *ServerRequest) (*Response, error) {
	payload, err := EncodeV4Request(req)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, t.cfg.ServerTimeout)
	defer cancel()
	dest := ServerDestination{Host: server.URL.Host, Scheme: server.URL.Scheme, Port: server.URL.EffectivePort(), X25519: server.X25519}
	r, err := t.roundTrip(ctx, nil, dest, payload, func(o *Onion, resp []byte) (int, any, error) {
		r, err := o.DecodeServerResponse(resp)
		if err != nil {
			return 0, nil, err
		}
		return r.Status, r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("onion: %s %s%s: %w", req.Method, server.URL.Host, req.Endpoint, err)
	}
	return r.(*Response), nil
}

// uploadSize is the payload size from which a server request counts as an upload and takes
// the least busy path (libsession's upload path type) instead of a random one.
const uploadSize = 64 << 10

// decodeFunc decrypts and parses a 200 body from the guard.
type decodeFunc func(o *Onion, resp []byte) (status int, v any, err error)

// roundTrip runs one request with the path policy. destNode is the destination node (nil for
// a server).
func (t *Transport) roundTrip(ctx context.Context, destNode *swarm.Node, dest Destination, payload []byte, decode decodeFunc) (any, error) {
	if t.cfg.Pool == nil {
		return nil, errors.New("onion: Transport not made by New")
	}
	// Close cancels requests in flight.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(t.baseCtx, cancel)()
	v, err := t.roundTripPolicy(ctx, destNode, dest, payload, decode)
	if err != nil && t.baseCtx.Err() != nil && !errors.Is(err, ErrClosed) {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return v, err
}

func (t *Transport) roundTripPolicy(ctx context.Context, destNode *swarm.Node, dest Destination, payload []byte, decode decodeFunc) (any, error) {
	_, isServer := dest.(ServerDestination)
	tried := map[*path]bool{}
	var lastErr error
	decryptRetried := false
	for attempt := 0; attempt < t.cfg.MaxAttempts; attempt++ {
		p, nodes, err := t.pathFor(ctx, destNode, tried, isServer && len(payload) >= uploadSize)
		if err != nil {
			if lastErr != nil {
				return nil, errors.Join(lastErr, err)
			}
			return nil, err
		}
		tried[p] = true
		o, err := Build(hopsOf(nodes), dest, payload, &BuildOptions{EncType: t.cfg.EncType})
		if err != nil {
			t.done(p)
			return nil, err
		}
		status, resp, err := t.post(ctx, nodes[0], o.Body)
		t.done(p)
		if err != nil {
			pe := &PathError{Path: nodes, Err: err}
			if ctx.Err() != nil {
				// Our own deadline or the caller's cancel: nothing to blame on the path for a
				// cancel; a deadline counts as a path failure, except for servers (§4.5).
				if errors.Is(ctx.Err(), context.DeadlineExceeded) && !isServer {
					t.pathFailed(p)
				}
				return nil, pe
			}
			var op *net.OpError
			if errors.As(err, &op) && op.Op == "dial" {
				t.guardUnreachable(p)
			} else {
				t.pathFailed(p)
			}
			lastErr = pe
			continue
		}
		if status != http.StatusOK {
			pe := &PathError{Path: nodes, Status: status, Body: resp}
			if ed, ok := nextNodeNotFound(resp); ok {
				if aheadOf(nodes, destNode, ed) {
					t.nodeNotFound(ctx, p, ed)
				} else {
					t.pathFailed(p) // a hop naming a node it was not asked to reach: lying or broken
					pe.implausible = true
				}
				lastErr = pe
				continue
			}
			if isServer && status == http.StatusGatewayTimeout {
				return nil, pe // the server timed out: no penalty, no retry
			}
			t.pathFailed(p)
			lastErr = pe
			continue
		}
		st, v, err := decode(o, resp)
		if err != nil {
			pe := &PathError{Path: nodes, Status: status, Err: err}
			t.pathFailed(p)
			lastErr = pe
			if errors.Is(err, ErrDecrypt) && !decryptRetried {
				decryptRetried = true
				attempt = min(attempt, t.cfg.MaxAttempts-2) // a decryption failure is retried once
			}
			continue
		}
		t.destinationAnswered(p, st, isServer)
		return v, nil
	}
	if lastErr == nil {
		lastErr = ErrNoPath
	}
	return nil, lastErr
}

// destinationAnswered applies the status rules of §4.5 to a decrypted answer.
func (t *Transport) destinationAnswered(p *path, status int, isServer bool) {
	switch {
	case status >= 200 && status < 300:
	case status == 400, status == 401, status == 403, status == 404, status == 406, status == 421, status == 425:
	case isServer && (status == 500 || status == 504):
	default:
		t.pathFailed(p)
	}
}

// post sends an onion body to the guard and reads the reply.
func (t *Transport) post(ctx context.Context, guard swarm.Node, body []byte) (int, []byte, error) {
	u := "https://" + guard.AddrPort().String() + "/onion_req/v2"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	res, err := t.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	var data []byte
	if n := res.ContentLength; n >= 0 && n <= t.cfg.MaxResponseSize {
		// One buffer of the announced size, instead of ReadAll's doublings.
		data = make([]byte, n)
		_, err = io.ReadFull(res.Body, data)
	} else {
		data, err = io.ReadAll(io.LimitReader(res.Body, t.cfg.MaxResponseSize+1))
	}
	if err != nil {
		return 0, nil, err
	}
	if int64(len(data)) > t.cfg.MaxResponseSize {
		return 0, nil, fmt.Errorf("%w: reply larger than %d bytes", ErrMalformed, t.cfg.MaxResponseSize)
	}
	return res.StatusCode, data, nil
}

// pathFor returns a path to use (its pending count raised; call done), building one when no
// live path fits. destNode, when set, may not conflict with the path's nodes.
func (t *Transport) pathFor(ctx context.Context, destNode *swarm.Node, tried map[*path]bool, leastBusy bool) (*path, []swarm.Node, error) {
	for {
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			return nil, nil, ErrClosed
		}
		var fits, banned []*path
		for _, p := range t.paths {
			if !p.dropped && t.hasBannedLocked(p) {
				banned = append(banned, p) // a node of it was banned from the pool since it was built
				continue
			}
			if !p.dropped && !tried[p] && (destNode == nil || !p.conflicts(t.cfg.Diversity, *destNode)) {
				fits = append(fits, p)
			}
		}
		for _, p := range banned {
			t.dropLocked(p)
		}
		t.maybeTopUpLocked()
		if len(fits) > 0 {
			p := fits[rand.IntN(len(fits))]
			if leastBusy { // uploads: the path with the fewest requests in flight
				for _, q := range fits {
					if q.pending < p.pending {
						p = q
					}
				}
			}
			p.pending++
			nodes := p.nodes
			t.mu.Unlock()
			return p, nodes, nil
		}
		t.mu.Unlock()

		// Build one in this goroutine, one build at a time. The nodes are fetched first: a
		// pool refresh sends through this transport and may need a build itself.
		nodes, err := t.poolNodes(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrNoPath, err)
		}
		select {
		case t.build <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("%w: waiting for a path build: %w", ErrNoPath, ctx.Err())
		}
		t.mu.Lock()
		again := false
		for _, p := range t.paths { // someone else may have built a fitting path meanwhile
			if !p.dropped && !tried[p] && (destNode == nil || !p.conflicts(t.cfg.Diversity, *destNode)) {
				again = true
				break
			}
		}
		t.mu.Unlock()
		if again {
			<-t.build
			continue
		}
		p, err := t.buildPath(ctx, nodes, destNode, tried)
		if err != nil {
			<-t.build
			return nil, nil, err
		}
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			<-t.build
			return nil, nil, ErrClosed
		}
		p.pending++
		t.addPathLocked(p) // before the next build may pick nodes
		nodes = p.nodes
		t.mu.Unlock()
		<-t.build
		return p, nodes, nil
	}
}

// addPathLocked adds a built path, dropping the least used extra path when more than twice
// the wanted number are live (paths built for a particular destination add up).
func (t *Transport) addPathLocked(p *path) {
	t.everBuilt = true
	t.paths = append(t.paths, p)
	if len(t.paths) <= 2*t.cfg.Paths {
		return
	}
	for i, q := range t.paths {
		if q != p && q.pending == 0 {
			q.dropped = true
			t.paths = append(t.paths[:i], t.paths[i+1:]...)
			return
		}
	}
}

func (t *Transport) done(p *path) {
	t.mu.Lock()
	p.pending--
	t.mu.Unlock()
}

// maybeTopUpLocked starts a background build when fewer than cfg.Paths paths are live.
func (t *Transport) maybeTopUpLocked() {
	if t.closed || t.topUp || len(t.livePathsLocked()) >= t.cfg.Paths || time.Now().Before(t.topUpNotBef) {
		return
	}
	t.topUp = true
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		err := t.topUpPaths()
		t.mu.Lock()
		defer t.mu.Unlock()
		t.topUp = false
		if err != nil {
			t.topUpFails++
			// Retry delay min(5 s, 100 ms·2^failures), as libsession does.
			d := min(5*time.Second, (100*time.Millisecond)<<min(t.topUpFails, 10))
			t.topUpNotBef = time.Now().Add(d)
			t.log.Debug("onion: background path build failed", "err", err, "retry_in", d)
		} else {
			t.topUpFails = 0
		}
	}()
}

// hasBannedLocked reports whether a node of p is banned from the pool (see swarm.Pool.Report).
func (t *Transport) hasBannedLocked(p *path) bool {
	if t.cfg.Pool == nil {
		return false
	}
	for _, n := range p.nodes {
		if t.cfg.Pool.Banned(n) {
			return true
		}
	}
	return false
}

func (t *Transport) livePathsLocked() []*path {
	var out []*path
	for _, p := range t.paths {
		if !p.dropped {
			out = append(out, p)
		}
	}
	return out
}

// topUpPaths builds paths until cfg.Paths are live.
func (t *Transport) topUpPaths() error {
	for {
		t.mu.Lock()
		n := len(t.livePathsLocked())
		closed := t.closed
		t.mu.Unlock()
		if closed {
			return ErrClosed
		}
		if n >= t.cfg.Paths {
			return nil
		}
		ctx, cancel := context.WithTimeout(t.baseCtx, 3*t.cfg.PathTestTimeout)
		nodes, err := t.poolNodes(ctx)
		if err != nil {
			cancel()
			return err
		}
		select {
		case t.build <- struct{}{}:
		case <-t.baseCtx.Done():
			cancel()
			return ErrClosed
		}
		p, err := t.buildPath(ctx, nodes, nil, nil)
		cancel()
		if err != nil {
			<-t.build
			return err
		}
		t.mu.Lock()
		closed = t.closed
		if !closed {
			t.addPathLocked(p) // before the next build may pick nodes
		}
		t.mu.Unlock()
		<-t.build
		if closed {
			return ErrClosed
		}
	}
}

// buildAttempts is how many candidate paths one build tests before giving up.
const buildAttempts = 3

// buildPath picks (from nodes) and tests a new path. avoid (if set) may not conflict with its nodes; the
// nodes of paths in exclude are not reused.
func (t *Transport) buildPath(ctx context.Context, nodes []swarm.Node, avoid *swarm.Node, exclude map[*path]bool) (*path, error) {
	t.mu.Lock()
	t.building++
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		t.building--
		t.mu.Unlock()
	}()
	var lastErr error
	for range buildAttempts {
		p, testDest, err := t.pickPath(nodes, avoid, exclude)
		if err != nil {
			return nil, err
		}
		if err = t.testPath(ctx, p, testDest); err == nil {
			t.log.Debug("onion: path built", "path", p.nodes)
			return p, nil
		}
		lastErr = err
		t.log.Debug("onion: path test failed", "path", p.nodes, "err", err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w: %w", ErrNoPath, lastErr)
}

// pickPath chooses Hops nodes and a test destination. It prefers nodes not used by any live
// path (and not in excluded paths), then falls back to reusing them on small networks.
func (t *Transport) pickPath(nodes []swarm.Node, avoid *swarm.Node, exclude map[*path]bool) (*path, swarm.Node, error) {
	d := t.cfg.Diversity
	t.mu.Lock()
	usedKeys := map[diversityKey]bool{}
	excluded := map[[32]byte]bool{}
	for _, p := range t.paths {
		if p.dropped {
			continue
		}
		for _, n := range p.nodes {
			usedKeys[d.key(n)] = true
		}
	}
	for p := range exclude {
		for _, n := range p.nodes {
			excluded[n.Ed25519] = true
		}
	}
	var good, valid []swarm.Node
	for _, n := range nodes {
		if n.Valid() {
			valid = append(valid, n)
			if t.nodeFail[n.Ed25519] < NodeFailureThreshold {
				good = append(good, n)
			}
		}
	}
	if len(good) <= t.cfg.Hops && len(valid) > t.cfg.Hops {
		// Failures have used up the pool. libsession forgets failure counts whenever its pool
		// is refreshed; here they are forgotten when they leave too few nodes for a path.
		t.log.Debug("onion: too few nodes without failures; forgetting failure counts", "valid", len(valid), "good", len(good))
		clear(t.nodeFail)
		good = valid
	}
	t.mu.Unlock()
	rand.Shuffle(len(good), func(i, j int) { good[i], good[j] = good[j], good[i] })
	var avoidKey diversityKey
	if avoid != nil {
		avoidKey = d.key(*avoid)
	}
	pick := func(fresh bool) []swarm.Node {
		keys := map[diversityKey]bool{}
		var out []swarm.Node
		for _, n := range good {
			k := d.key(n)
			if keys[k] || (avoid != nil && (k == avoidKey || n.Ed25519 == avoid.Ed25519)) {
				continue
			}
			if fresh && (usedKeys[k] || excluded[n.Ed25519]) {
				continue
			}
			keys[k] = true
			out = append(out, n)
			if len(out) == t.cfg.Hops {
				break
			}
		}
		return out
	}
	hops := pick(true)
	if len(hops) < t.cfg.Hops {
		hops = pick(false)
	}
	if len(hops) < t.cfg.Hops {
		return nil, swarm.Node{}, fmt.Errorf("%w: %d usable nodes for a %d-hop path", ErrNoPath, len(hops), t.cfg.Hops)
	}
	p := &path{nodes: hops}
	// The test destination: avoid itself when given (testing the path to it), else any node
	// that does not conflict with the path.
	if avoid != nil {
		return p, *avoid, nil
	}
	for _, n := range good {
		if !p.conflicts(d, n) {
			return p, n, nil
		}
	}
	return nil, swarm.Node{}, fmt.Errorf("%w: no node left to test a path with", ErrNoPath)
}

// testBody is the request sent through every new path.
var testBody = []byte(`{"method":"info","params":{}}`)

// testPath sends an info request through p to dest and blames nodes when it fails.
func (t *Transport) testPath(ctx context.Context, p *path, dest swarm.Node) error {
	ctx, cancel := context.WithTimeout(ctx, t.cfg.PathTestTimeout)
	defer cancel()
	o, err := Build(hopsOf(p.nodes), NodeDestination{Ed25519: dest.Ed25519, X25519: dest.X25519}, testBody, &BuildOptions{EncType: t.cfg.EncType})
	if err != nil {
		t.blame(p.nodes...)
		return err
	}
	status, resp, err := t.post(ctx, p.nodes[0], o.Body)
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			t.setNodeFailure(p.nodes[0], NodeFailureThreshold)
		} else if ctx.Err() == nil || errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.blame(p.nodes...)
		}
		return &PathError{Path: p.nodes, Err: err}
	}
	if status != http.StatusOK {
		if ed, ok := nextNodeNotFound(resp); ok && aheadOf(p.nodes, &dest, ed) {
			t.setNodeFailure(swarm.Node{Ed25519: ed}, NodeFailureThreshold)
			t.cfg.Pool.Report(t.poolNode(ed), swarm.OffenseNotFound)
		} else {
			t.blame(p.nodes...)
		}
		return &PathError{Path: p.nodes, Status: status, Body: resp}
	}
	r, err := o.DecodeNodeResponse(resp)
	if err != nil {
		t.blame(p.nodes...)
		return &PathError{Path: p.nodes, Status: status, Err: err}
	}
	if r.Status != http.StatusOK {
		// The path works; the destination is unhappy. Accept the path.
		t.log.Debug("onion: path test destination answered", "status", r.Status)
	}
	return nil
}

func (t *Transport) blame(nodes ...swarm.Node) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range nodes {
		t.nodeFail[n.Ed25519]++
	}
}

func (t *Transport) setNodeFailure(n swarm.Node, v int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nodeFail[n.Ed25519] = max(t.nodeFail[n.Ed25519], v)
}

// pathFailed counts one failure against p; at the threshold every node of the path gets a
// failure, the guard is marked bad and the path is dropped.
func (t *Transport) pathFailed(p *path) {
	t.mu.Lock()
	defer t.mu.Unlock()
	p.failures++
	if len(p.nodes) < 3 { // short paths: the guard takes the blame at once
		t.nodeFail[p.nodes[0].Ed25519]++
	}
	if p.failures < PathFailureThreshold {
		return
	}
	for _, n := range p.nodes {
		t.nodeFail[n.Ed25519]++
	}
	t.nodeFail[p.nodes[0].Ed25519] = max(t.nodeFail[p.nodes[0].Ed25519], NodeFailureThreshold)
	t.dropLocked(p)
}

// guardUnreachable marks the guard bad and drops the path (a failed connection to the guard
// is what libsession treats as a handshake failure).
func (t *Transport) guardUnreachable(p *path) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.nodeFail[p.nodes[0].Ed25519] = max(t.nodeFail[p.nodes[0].Ed25519], NodeFailureThreshold)
	t.dropLocked(p)
}

func (t *Transport) dropLocked(p *path) {
	if p.dropped {
		return
	}
	p.dropped = true
	for i, q := range t.paths {
		if q == p {
			t.paths = append(t.paths[:i], t.paths[i+1:]...)
			break
		}
	}
	t.log.Debug("onion: path dropped", "path", p.nodes)
}

// aheadOf reports whether ed is a node that a hop of the path nodes may have been asked to
// forward to: a node after the guard, or the destination node (nil for a server). A hop's
// "Next node not found" naming any other node is not believed: a hop can name any key, and
// believing it would let one lying node get any node of the pool banned.
func aheadOf(nodes []swarm.Node, dest *swarm.Node, ed [32]byte) bool {
	if dest != nil && dest.Ed25519 == ed {
		return true
	}
	for i, n := range nodes {
		if i > 0 && n.Ed25519 == ed {
			return true
		}
	}
	return false
}

// nodeNotFound handles a "Next node not found: <ed>" reply: the node is marked bad and reported
// to the pool (which bans it from its answers when hops keep saying so); if it is not the guard
// and an unused node exists, it is replaced in the path, otherwise the path is dropped.
func (t *Transport) nodeNotFound(ctx context.Context, p *path, ed [32]byte) {
	t.setNodeFailure(swarm.Node{Ed25519: ed}, NodeFailureThreshold)
	t.cfg.Pool.Report(t.poolNode(ed), swarm.OffenseNotFound)
	t.mu.Lock()
	idx := -1
	for i, n := range p.nodes {
		if n.Ed25519 == ed {
			idx = i
		}
	}
	if idx == 0 {
		t.dropLocked(p)
	}
	t.mu.Unlock()
	if idx <= 0 { // the guard (dropped), or a node not in the path (the destination)
		return
	}
	nodes, err := t.poolNodes(ctx)
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil && !p.dropped {
		d := t.cfg.Diversity
		used := map[diversityKey]bool{}
		for _, q := range t.paths {
			for _, n := range q.nodes {
				used[d.key(n)] = true
			}
		}
		rand.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
		for _, n := range nodes {
			if n.Valid() && t.nodeFail[n.Ed25519] < NodeFailureThreshold && !used[d.key(n)] {
				nn := append([]swarm.Node(nil), p.nodes...)
				nn[idx] = n
				p.nodes = nn // requests in flight keep their own copy of the old slice
				t.log.Debug("onion: node replaced in path", "old", hexPrefix(ed), "new", n)
				return
			}
		}
	}
	t.dropLocked(p)
}

// poolNodes returns the pool's nodes, loading or refreshing the pool when needed. Inside a
// pool refresh (whose requests this transport carries) the pool answers at once from what it
// has, so this never waits for itself; callers must not hold t.build while calling it, since
// a refresh it starts sends through this transport.
func (t *Transport) poolNodes(ctx context.Context) ([]swarm.Node, error) {
	return t.cfg.Pool.Nodes(ctx)
}

// poolNode returns the pool's node with Ed25519 key ed (for logs), or a node with only that key.
func (t *Transport) poolNode(ed [32]byte) swarm.Node {
	for _, n := range t.cfg.Pool.Snapshot() {
		if n.Ed25519 == ed {
			return n
		}
	}
	return swarm.Node{Ed25519: ed}
}

func hexPrefix(k [32]byte) string { return fmt.Sprintf("%x", k[:4]) }
