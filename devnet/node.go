package devnet

import (
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxBody is the storage server's request body limit.
const maxBody = 10 << 20

// Faults are the failures a node simulates, for client tests. The zero value is a healthy node.
// Random decisions come from the node's own RNG, seeded from WithSeed, so a test run with a fixed
// seed and a fixed request sequence is reproducible.
type Faults struct {
	// DropRate is the fraction (0..1) of incoming HTTP requests whose connection is closed
	// without any reply.
	DropRate float64
	// Delay is added before each incoming request is handled (cut short by Close or by the
	// client going away).
	Delay time.Duration
	// CorruptRate is the fraction (0..1) of replies whose body has bytes flipped.
	CorruptRate float64
	// ClockSkew shifts this node's clock (signature windows, store timestamps, "t").
	ClockSkew time.Duration
	// Status makes the node answer with an error status:
	//   - 421: like a node that believes it is in another swarm (421 with the correct swarm for
	//     every swarm-checked call, also as the final hop of an onion request);
	//   - 503: like a node that is not ready (503 "Service node is not ready: ..." on
	//     /storage_rpc/v1, 503 "Snode not ready: <ed25519>" on onion requests, a failed member
	//     in recursive replies);
	//   - 429: rate limited (429 with an empty body on /storage_rpc/v1);
	//   - any other status from 400 to 599: that status with its standard text on
	//     /storage_rpc/v1.
	// Zero (or anything else) means none.
	Status int
	// DeleteBeforeAll reproduces, when this node is the entry node, a bug of storage servers
	// v2.6.2 to v2.8.0 with delete_before over all namespaces ("namespace": "all"): see
	// DeleteBeforeAllBug. The zero value answers as documented.
	DeleteBeforeAll DeleteBeforeAllBug

	// The fields below make the node lie as a malicious node could (issue 15); no honest node
	// answers so. A client can tell only from what nodes prove (hashes it recomputes,
	// signatures it checks) and from the agreement of other nodes.

	// DuplicateMessages repeats every message of a retrieve reply this many more times, under
	// fresh random hashes (same data and times).
	DuplicateMessages int
	// JunkMessages adds this many junk messages to every retrieve reply: random data under
	// random hashes, with expiries years ahead.
	JunkMessages int
	// JunkExpiry reports the expiration of every retrieved message years ahead.
	JunkExpiry bool
	// ExpiryNow reports the expiration of every retrieved message as the node's current time
	// (as if each were about to expire), whatever it really is.
	ExpiryNow bool
	// IgnoreLastHash answers every retrieve from the start of the namespace, as if no
	// last_hash had been given: the node serves again every message it holds, however often
	// the client has seen them.
	IgnoreLastHash bool
	// FakeTime, when not zero, is the "t" (and the info "timestamp") of every reply of the
	// node, in ms, whatever its clock says: FakeTime 1 sends "t": 1.
	FakeTime int64
	// ReplayOld adds to every retrieve reply the account's messages of that namespace that the
	// node once stored and that have since expired or been deleted, with a fresh expiry.
	ReplayOld bool
	// CorruptData flips bits of every retrieved message's data and leaves its hash.
	CorruptData bool
	// ReencodeMessages serves every retrieved 1:1 message (namespace 0 data that parses as a
	// WebSocketMessage wrapping an Envelope) a second time, re-encoded: the same sealed content
	// under a new random decoy proSig, with its recomputed (valid) hash. Only the content is
	// authenticated, so a client must recognise the copy by it.
	ReencodeMessages bool
	// DropStores makes the node keep nothing it is asked to store while claiming success: as
	// the entry node it neither stores nor forwards the message and answers with its own signed
	// result plus made-up results for the other members, signed with its own key; as another
	// member it returns its signed result without storing.
	DropStores bool
}

// hostile reports whether f makes retrieve replies lie.
func (f Faults) hostileRetrieve() bool {
	return f.DuplicateMessages > 0 || f.JunkMessages > 0 || f.JunkExpiry || f.ExpiryNow || f.ReplayOld || f.CorruptData || f.ReencodeMessages
}

// DeleteBeforeAllBug is how a node answers a delete_before over all namespaces that matches
// messages. Storage servers v2.6.2 to v2.8.0 read the deleted rows back with a query that lacks
// their namespace: the real transcript shows them delete every matching message (on every swarm
// member) and then either fail or report nothing. Which of the two a real node gives for a
// given request was not determined; when nothing matches, both answer 200 with nothing deleted,
// so a retry after a failure also reports an empty deletion.
type DeleteBeforeAllBug uint8

const (
	// DeleteBeforeAllListed is the documented reply: every member lists the hashes it deleted
	// per namespace.
	DeleteBeforeAllListed DeleteBeforeAllBug = iota
	// DeleteBeforeAllFails deletes, then answers 500 "request failed" (recorded three times).
	DeleteBeforeAllFails
	// DeleteBeforeAllUnlisted deletes, then answers 200 with every member's "deleted" empty
	// ({}), signed as if nothing was deleted (recorded once).
	DeleteBeforeAllUnlisted
)

// Node is one storage node of a devnet.
type Node struct {
	nw     *Network
	index  int
	edPriv ed25519.PrivateKey
	edPub  [32]byte
	xPriv  [32]byte
	xPub   [32]byte
	cert   tls.Certificate
	store  *store

	mu       sync.Mutex
	addr     string // 127.0.0.1:port, fixed at the first listen
	srv      *http.Server
	running  bool
	faults   Faults
	faultRng *mrand.Rand
}

// Ed25519PublicKey is the node's identity key (its "pubkey_ed25519", also used as its legacy key).
func (n *Node) Ed25519PublicKey() [32]byte { return n.edPub }

// X25519PublicKey is the node's X25519 key, the one onion layers are encrypted to.
func (n *Node) X25519PublicKey() [32]byte { return n.xPub }

// Addr is the node's "127.0.0.1:port".
func (n *Node) Addr() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.addr
}

// Port is the node's HTTPS port.
func (n *Node) Port() int {
	_, p, _ := net.SplitHostPort(n.Addr())
	v, _ := strconv.Atoi(p)
	return v
}

// URL is the node's base URL, "https://127.0.0.1:port".
func (n *Node) URL() string { return "https://" + n.Addr() }

// SwarmID is the node's current swarm.
func (n *Node) SwarmID() uint64 { return n.nw.swarmOf(n) }

// String describes the node without secrets.
func (n *Node) String() string {
	return fmt.Sprintf("devnet node %s at %s", hex.EncodeToString(n.edPub[:4]), n.Addr())
}

// Running reports whether the node accepts connections.
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.running
}

// SetFaults replaces the node's faults.
func (n *Node) SetFaults(f Faults) {
	n.mu.Lock()
	n.faults = f
	n.mu.Unlock()
	n.nw.log.Debug("devnet: faults set", "node", n.edHex(), "drop", f.DropRate, "delay", f.Delay,
		"corrupt", f.CorruptRate, "skew", f.ClockSkew, "status", f.Status)
}

// Faults returns the node's current faults.
func (n *Node) Faults() Faults {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.faults
}

// MessageCount is the number of live messages this node holds.
func (n *Node) MessageCount() int { return n.store.count(n.nowMS()) }

// HasMessage reports whether this node holds a live message with the given hash.
func (n *Node) HasMessage(hash string) bool {
	n.store.mu.Lock()
	defer n.store.mu.Unlock()
	m, ok := n.store.byHash[hash]
	return ok && m.expiry > n.nowMS()
}

// Stop closes the node's listener and connections, like a node going offline. Its data is kept;
// swarm peers see it time out. Restart brings it back on the same port.
func (n *Node) Stop() {
	n.mu.Lock()
	srv := n.srv
	n.srv = nil
	n.running = false
	n.mu.Unlock()
	if srv != nil {
		n.nw.unserve(srv)
		n.nw.log.Debug("devnet: node stopped", "node", n.edHex())
	}
}

// Restart starts a stopped node again on its port.
func (n *Node) Restart() error {
	if n.nw.isClosed() {
		return ErrClosed
	}
	if n.Running() {
		return nil
	}
	if err := n.listen(n.Addr()); err != nil {
		return err
	}
	n.nw.log.Debug("devnet: node restarted", "node", n.edHex(), "addr", n.Addr())
	return nil
}

func (n *Node) listen(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return fmt.Errorf("devnet: listen: %w", err)
	}
	srv := &http.Server{
		Handler:           http.HandlerFunc(n.serveHTTP),
		TLSConfig:         serverTLS(n.cert),
		TLSNextProto:      map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	srv.ErrorLog = discardLogger()
	if err := n.nw.serve(srv, ln); err != nil {
		return err
	}
	n.mu.Lock()
	n.addr = ln.Addr().String()
	n.srv = srv
	n.running = true
	n.mu.Unlock()
	return nil
}

// now is the node's clock: the network clock plus its skew.
func (n *Node) now() time.Time {
	n.mu.Lock()
	skew := n.faults.ClockSkew
	n.mu.Unlock()
	return n.nw.clock().Add(skew)
}

func (n *Node) nowMS() int64 { return n.now().UnixMilli() }

// tMS is the time the node reports in "t" fields: its clock, or Faults.FakeTime.
func (n *Node) tMS() int64 {
	if t := n.Faults().FakeTime; t != 0 {
		return t
	}
	return n.nowMS()
}

func (n *Node) edHex() string { return hex.EncodeToString(n.edPub[:]) }

// sign is the node's Ed25519 signature, base64 as in recursive responses.
func (n *Node) sign(msg []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(n.edPriv, msg))
}

// roll draws a fault decision with probability p.
func (n *Node) rollLocked(p float64) bool {
	if p <= 0 {
		return false
	}
	return n.faultRng.Float64() < p
}

// httpReply is a reply before it is written (so that faults can corrupt it).
type httpReply struct {
	status int
	ctype  string
	header http.Header
	body   []byte
}

func textHTTP(status int, s string) httpReply {
	return httpReply{status: status, ctype: "text/plain; charset=utf-8", body: []byte(s)}
}

func (n *Node) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !n.nw.enter() {
		http.Error(w, "devnet closing", http.StatusServiceUnavailable)
		return
	}
	defer n.nw.leave()
	n.mu.Lock()
	f := n.faults
	drop := n.rollLocked(f.DropRate)
	corrupt := n.rollLocked(f.CorruptRate)
	n.mu.Unlock()
	if drop {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // closes the connection without a reply
	}
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		case <-n.nw.closing:
			t.Stop()
			return
		}
	}
	rep := n.route(r)
	if corrupt && len(rep.body) > 0 {
		n.mu.Lock()
		for i := 0; i < 1+len(rep.body)/64; i++ {
			j := n.faultRng.IntN(len(rep.body))
			rep.body[j] ^= byte(1 + n.faultRng.IntN(255))
		}
		n.mu.Unlock()
	}
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.ctype != "" {
		w.Header().Set("Content-Type", rep.ctype)
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(rep.body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write(rep.body)
}

func (n *Node) route(r *http.Request) httpReply {
	ctx, cancel := n.nw.requestContext(r.Context())
	defer cancel()
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/storage_rpc/v1":
		if r.Header.Get("X-Loki-Long-Poll") != "" {
			return textHTTP(http.StatusGone, "long polling is no longer supported, client upgrade required")
		}
		body, rep, ok := readBody(r)
		if !ok {
			return rep
		}
		switch st := n.Faults().Status; {
		case st == http.StatusServiceUnavailable:
			return textHTTP(st, "Service node is not ready: devnet fault injected")
		case st == http.StatusTooManyRequests:
			return textHTTP(st, "")
		case st == http.StatusMisdirectedRequest: // answered per call, with the right swarm
		case st >= 400 && st <= 599:
			return textHTTP(st, http.StatusText(st))
		}
		return n.rpcHTTP(ctx, body)
	case r.Method == http.MethodPost && r.URL.Path == "/onion_req/v2":
		body, rep, ok := readBody(r)
		if !ok {
			return rep
		}
		st, b := n.onionEntry(ctx, body)
		return httpReply{status: st, ctype: "text/plain; charset=utf-8", body: b}
	case r.Method == http.MethodPost && r.URL.Path == "/ping_test/v1":
		h := http.Header{}
		h.Set("X-Oxen-Snode-Pubkey", base64.StdEncoding.EncodeToString(n.edPub[:]))
		return httpReply{status: http.StatusOK, header: h}
	case r.Method == http.MethodGet && r.URL.Path == "/get_stats/v1":
		v := storageServerVersion
		return httpReply{status: http.StatusOK, ctype: "application/json",
			body: []byte(fmt.Sprintf(`{"version":"%d.%d.%d"}`, v[0], v[1], v[2]))}
	default:
		return textHTTP(http.StatusNotFound, r.Method+" "+r.URL.String()+" Not Found")
	}
}

func readBody(r *http.Request) ([]byte, httpReply, bool) {
	if r.ContentLength > maxBody {
		return nil, textHTTP(http.StatusRequestEntityTooLarge, "Request body too large"), false
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, textHTTP(http.StatusBadRequest, "Invalid request body"), false
	}
	if len(b) > maxBody {
		return nil, textHTTP(http.StatusRequestEntityTooLarge, "Request body too large"), false
	}
	return b, httpReply{}, true
}

// requestContext is ctx, cancelled also when the network closes.
func (nw *Network) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(nw.closeCtx, cancel)
	return ctx, func() { stop(); cancel() }
}

func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
