package swarm

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/jsonscan"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Transport carries the requests (required): NewHTTPSTransport, or an onion transport.
	Transport Transport
	// Pool gives the swarms (required). The Client reports nodes that lie to it (Pool.Report).
	Pool *Pool
	// MaxAttempts is how many swarm members one request may try when nodes fail, cannot be
	// reached or answer what does not hold up (default 3). Wrong-swarm and clock retries follow
	// their own rules on top.
	MaxAttempts int
	// Clock is the local clock (default time.Now); network time (Now) is learned on top of it.
	Clock func() time.Time
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
}

// Client sends signed storage RPCs to accounts' swarms. It is safe for concurrent use; the
// goroutines it starts (asking several nodes their time at once) end before its calls return.
//
// Node choice and retries follow the client network policy: a request goes to a random member
// of the account's swarm. On a wrong-swarm answer (421) it retries once on another member,
// using the swarm the node named in its reply when it named one; on a second 421 it refreshes
// the pool, recomputes the swarm and retries once more; a third 421 is returned. On a clock
// refusal (406, 425, or a 400/401 about a timestamp) it learns the network time again from
// several nodes and retries once: on the same node when the time moved, else (for 406/425) on
// another member, the refusing node being the one that is off. 400, 401, 403 and 404 are
// returned at once. Other failures, and 200 replies that do not hold up (unparsable, or
// disproved by their own hashes and signatures), try another member, up to MaxAttempts.
//
// Nothing a node says is taken on trust: store results must carry the member signatures and
// the locally computed hash (and, in a swarm of several, a member other than the one asked),
// retrieved messages are verified (RetrieveResult.Verify), and network time comes from the
// agreement of several nodes, not from one reply. Nodes caught lying are reported to the pool,
// which stops choosing them (see Offense).
type Client struct {
	tr       Transport
	pool     *Pool
	attempts int
	log      *slog.Logger
	local    func() time.Time
	clock    *netClock

	relearnMu sync.Mutex
	relearned time.Time // when several nodes were last asked for the time (monotonic clock)
}

// NewClient returns a Client. It does no I/O.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Transport == nil || cfg.Pool == nil {
		return nil, fmt.Errorf("swarm: NewClient needs a Transport and a Pool")
	}
	c := &Client{tr: cfg.Transport, pool: cfg.Pool, attempts: cfg.MaxAttempts, log: cfg.Logger, local: cfg.Clock}
	if c.attempts <= 0 {
		c.attempts = 3
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.local == nil {
		c.local = time.Now
	}
	c.clock = newNetClock(c.local, func() int { return c.pool.Len() })
	return c, nil
}

// Pool returns the client's pool.
func (c *Client) Pool() *Pool { return c.pool }

// Now returns network time: the local clock corrected by the offset that several nodes agree
// on (see ClockOffset).
func (c *Client) Now() time.Time { return c.clock.now() }

// ClockOffset returns network time minus local time: the median offset of the nodes' clocks
// that agree with one another (within 10 s), once at least three distinct nodes (or every node
// of a smaller network) agree. A node whose time disagrees is reported (OffenseClock) and does
// not move it.
func (c *Client) ClockOffset() time.Duration { return c.clock.offsetDuration() }

// observe learns from a time t (ms) that node reported in a reply sent at sent and received at
// received (local clock).
func (c *Client) observe(node Node, t int64, sent, received time.Time) {
	if t == 0 {
		return
	}
	outlier, moved := c.clock.observe(node.Ed25519, t, sent, received)
	if outlier {
		c.log.Debug("swarm: node time disagrees with the network", "node", node, "t", t)
		c.pool.Report(node, OffenseClock)
	}
	if moved {
		c.log.Debug("swarm: network time offset moved", "offset", c.ClockOffset())
	}
}

// observeBody learns from the "t" of a reply (or of the first batch result that has one).
func (c *Client) observeBody(node Node, body []byte, sent, received time.Time) {
	t, _ := inspectReply(body)
	c.observe(node, t, sent, received)
}

// inspectReply reads a reply once for what send needs from it: the time for the clock (the
// reply's "t", or the first batch result's that has one; see rawT) and batchFailure's verdict.
func inspectReply(body []byte) (t int64, fail *NodeError) {
	top, results, ok := scanReply(body)
	if !ok {
		if top, results, ok = readReplyJSON(body); !ok {
			return 0, nil
		}
	}
	t = rawT(top)
	for i := 0; t == 0 && i < len(results); i++ {
		t = rawT(results[i].t)
	}
	if len(results) == 0 || body[0] != '{' {
		return t, nil
	}
	subs := make([]SubResult, len(results))
	for i, r := range results {
		code, err := strconv.Atoi(string(r.Code))
		if err != nil {
			return t, nil
		}
		subs[i] = SubResult{Code: code, Body: r.Body}
	}
	return t, batchFailureOf(subs)
}

// readReplyJSON is scanReply with encoding/json, for what scanReply does not take; false when
// the reply is not JSON.
func readReplyJSON(body []byte) (json.RawMessage, []rawSubResult, bool) {
	var j struct {
		T       json.RawMessage `json:"t"`
		Results []rawSubResult  `json:"results"`
	}
	if json.Unmarshal(body, &j) != nil {
		return nil, nil, false
	}
	for i := range j.Results {
		var sub struct {
			T json.RawMessage `json:"t"`
		}
		if json.Unmarshal(j.Results[i].Body, &sub) == nil {
			j.Results[i].t = sub.T
		}
	}
	return j.T, j.Results, true
}

var (
	replyFields = []string{"t", "results"}
	tField      = []string{"t"}
)

// scanReply is inspectReply's reading of a reply in one pass (jsonscan): the raw "t" and the
// batch results with their bodies' raw "t", as encoding/json would read them; ok is false for
// anything it is not sure of (then encoding/json decides).
func scanReply(body []byte) (t json.RawMessage, results []rawSubResult, ok bool) {
	var top [2][]byte
	if !jsonscan.Fields(body, replyFields, top[:]) {
		return nil, nil, false
	}
	if top[1] == nil {
		return top[0], nil, true
	}
	ok = jsonscan.Elements(top[1], func(raw []byte) bool {
		var f [2][]byte
		if !jsonscan.ObjectFields(raw, subResultFields, f[:]) {
			return false
		}
		r := rawSubResult{Code: f[0], Body: f[1]}
		// encoding/json reads a "t" only from an object body; any other body has none.
		if len(r.Body) > 0 && r.Body[0] == '{' {
			var bt [1][]byte
			if !jsonscan.ObjectFields(r.Body, tField, bt[:]) {
				return false
			}
			r.t = bt[0]
		}
		results = append(results, r)
		return true
	})
	return top[0], results, ok
}

// rawT reads a "t" for the clock: an integer (negative values and garbage read as 1, which the
// clock rejects as no time in milliseconds); absent is 0.
func rawT(raw json.RawMessage) int64 {
	if len(raw) == 0 || string(raw) == "null" {
		return 0
	}
	if t := parseT(raw); t > 0 {
		return t
	}
	return 1
}

// relearnClock asks several nodes (members first, then random pool nodes) for their time at
// once, unless that was done since builtAt (a request refused meanwhile did it: one round
// serves every request refused at the same time). A node refusing everything costs a round per
// refusal until its OffenseClock reports ban it.
func (c *Client) relearnClock(ctx context.Context, members []Node, builtAt time.Time) {
	c.relearnMu.Lock()
	defer c.relearnMu.Unlock()
	if c.relearned.After(builtAt) {
		return
	}
	defer func() { c.relearned = time.Now() }()
	const ask = 5
	seen := map[[32]byte]bool{}
	var nodes []Node
	for _, i := range rand.Perm(len(members)) {
		if len(nodes) < clockQuorum && !seen[members[i].Ed25519] {
			seen[members[i].Ed25519] = true
			nodes = append(nodes, members[i])
		}
	}
	if more, err := c.pool.RandomNodes(ctx, ask+len(nodes), func(n Node) bool { return seen[n.Ed25519] }); err == nil {
		for _, n := range more {
			if len(nodes) < ask {
				nodes = append(nodes, n)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Info(ctx, n); err != nil {
				c.log.Debug("swarm: asking a node its time failed", "node", n, "err", err)
			}
		}()
	}
	wg.Wait()
}

// isClockRefusal reports whether a node refused a request over its time: ErrClockSkew (406,
// 425), or a 400 or 401 whose text is about a timestamp.
func isClockRefusal(ne *NodeError) bool {
	return errors.Is(ne, ErrClockSkew) ||
		(errors.Is(ne, ErrBadRequest) || errors.Is(ne, ErrUnauthorized)) && ne.BodyMentions("timestamp")
}

// isRefusal reports whether a node refused the request itself (400, 401, 403, 404, 413), which
// another member would refuse too.
func isRefusal(ne *NodeError) bool {
	return errors.Is(ne, ErrBadRequest) || errors.Is(ne, ErrUnauthorized) || errors.Is(ne, ErrForbidden) ||
		errors.Is(ne, ErrNotFound) || ne.Status == http.StatusRequestEntityTooLarge
}

// Do sends one request to the swarm of s's account and returns the raw result JSON.
func (c *Client) Do(ctx context.Context, s Signer, req Request) ([]byte, error) {
	if s == nil || req == nil {
		return nil, fmt.Errorf("%w: nil signer or request", ErrInvalidRequest)
	}
	body, _, err := c.doFrom(ctx, s, req, Node{})
	return body, err
}

// doFrom is Do with a preferred node, returning the node that answered.
func (c *Client) doFrom(ctx context.Context, s Signer, req Request, prefer Node) ([]byte, Node, error) {
	if s == nil || req == nil {
		return nil, Node{}, fmt.Errorf("%w: nil signer or request", ErrInvalidRequest)
	}
	r := c.send(ctx, s.AccountID(), sendOpts{prefer: prefer}, func(now int64) ([]byte, error) {
		return EncodeRequest(req, s, now)
	})
	if r.err != nil {
		return nil, r.node, fmt.Errorf("swarm: %s: %w", req.Method(), r.err)
	}
	return r.body, r.node, nil
}

// sendOpts are the options of one send.
type sendOpts struct {
	prefer   Node // asked first when it is a member
	mutating bool // the request changes stored data: track failures that may have applied it
	// check, when set, validates a 200 reply from node to the request built at now (ms), in a
	// swarm of members members. An error makes the reply count as that node's failure, and
	// another member is tried. check reports the node's offenses itself.
	check func(body []byte, node Node, now int64, members []Node) error
}

// sendResult is the outcome of send.
type sendResult struct {
	body []byte
	node Node  // the node that answered (or the last one tried)
	now  int64 // the network time (ms) the answered request was built at
	err  error // the final error
	// uncertain is the first failed attempt that may have been carried out anyway (only
	// tracked for requests that change data).
	uncertain     error
	uncertainNode Node
}

// replyError is a 200 reply that did not hold up (check failed).
type replyError struct {
	node Node
	err  error
}

func (e *replyError) Error() string { return fmt.Sprintf("swarm: node %s: %v", e.node, e.err) }
func (e *replyError) Unwrap() error { return e.err }

// send runs the node-choice and retry policy for one request to account's swarm. build encodes
// the request at a network time (ms); it is called again for every attempt.
func (c *Client) send(ctx context.Context, account crypto.AccountID, o sendOpts, build func(now int64) ([]byte, error)) (r sendResult) {
	defer func() {
		if r.err != nil {
			r.body = nil
		}
	}()
	_, members, err := c.pool.Swarm(ctx, account)
	if err != nil {
		return sendResult{err: err}
	}
	tried := map[[32]byte]bool{}
	pick := func() (Node, bool) { // a random member not tried yet
		n := 0
		for _, m := range members {
			if !tried[m.Ed25519] {
				n++
			}
		}
		if n == 0 {
			return Node{}, false
		}
		k := rand.IntN(n)
		for _, m := range members {
			if !tried[m.Ed25519] {
				if k == 0 {
					return m, true
				}
				k--
			}
		}
		return Node{}, false
	}
	node, ok := pick()
	if !ok {
		return sendResult{err: ErrNoNodes}
	}
	if o.prefer.Ed25519 != ([32]byte{}) {
		for _, n := range members {
			if n.Ed25519 == o.prefer.Ed25519 {
				node = n
				break
			}
		}
	}
	wrongSwarm, failures, skewRetried, failedOver := 0, 0, false, false
	// failover is called when every try failed with no answer: when the pool went back to its
	// seeds for new nodes, the request starts again (once) on the new swarm.
	failover := func() bool {
		if failedOver || !c.pool.nodesFailing(ctx) {
			return false
		}
		failedOver = true
		_, m, err := c.pool.Swarm(ctx, account)
		if err != nil || len(m) == 0 {
			return false
		}
		members, failures = m, 0
		clear(tried)
		node, _ = pick()
		return true
	}
	for {
		builtOffset, builtAt := c.ClockOffset(), time.Now()
		now := c.Now().UnixMilli()
		body, err := build(now)
		if err != nil {
			r.node, r.err = node, err
			return r
		}
		sent := c.local()
		resp, err := c.tr.Send(ctx, node, body)
		received := c.local()
		var nodeT int64
		if err == nil {
			// One reading of the reply for the clock and a batch's verdict.
			var ne *NodeError
			if nodeT, ne = inspectReply(resp); ne != nil {
				ne.Node = node
				err = ne
			}
		}
		r.node = node
		if err == nil {
			c.pool.nodeAnswered()
			c.observe(node, nodeT, sent, received)
			if o.check != nil {
				if cerr := o.check(resp, node, now, members); cerr != nil {
					err = &replyError{node: node, err: cerr}
				}
			}
		}
		if err == nil {
			r.body, r.now, r.err = resp, now, nil
			return r
		}
		r.err = err
		if o.mutating && r.uncertain == nil && mayHaveApplied(err) {
			r.uncertain, r.uncertainNode = err, node
		}
		if ctx.Err() != nil {
			return r
		}
		tried[node.Ed25519] = true
		var ne *NodeError
		if errors.As(err, &ne) && ne.Status != 0 {
			c.pool.nodeAnswered()
		}
		switch {
		case errors.Is(err, ErrWrongSwarm) && errors.As(err, &ne):
			wrongSwarm++
			c.log.Debug("swarm: wrong swarm", "node", node, "account", account, "count", wrongSwarm)
			switch wrongSwarm {
			case 1:
				// Use the swarm the node named, if it named one; else drop the node from ours.
				if info, perr := ParseSwarm(ne.Body); perr == nil && len(info.Nodes) > 0 {
					c.observe(node, info.T, sent, received)
					c.pool.setSwarm(account, info)
					members = info.Nodes
				} else {
					c.pool.dropFromSwarm(account, node)
				}
			case 2:
				if rerr := c.pool.Refresh(ctx); rerr != nil {
					c.log.Debug("swarm: pool refresh after 421 failed", "err", rerr)
				}
				if _, members, err = c.pool.Swarm(ctx, account); err != nil {
					r.err = err
					return r
				}
			default:
				return r
			}
		case errors.As(err, &ne) && isClockRefusal(ne):
			if skewRetried {
				return r
			}
			skewRetried = true
			c.relearnClock(ctx, members, builtAt)
			if d := c.ClockOffset() - builtOffset; d > time.Second || d < -time.Second {
				c.log.Debug("swarm: network time learned again after a clock refusal", "offset", c.ClockOffset())
				continue // same node, new timestamp
			}
			if !errors.Is(ne, ErrClockSkew) {
				return r // a timestamp the network agrees with: the request's own value
			}
			// The nodes agree with the time we sent: this node's clock is off, or it lies.
			c.log.Debug("swarm: node refuses network time", "node", node)
			c.pool.Report(node, OffenseClock)
		case errors.As(err, &ne) && isRefusal(ne):
			return r
		default:
			failures++
			c.log.Debug("swarm: node failed", "node", node, "err", err)
			if failures >= c.attempts {
				if failover() {
					continue
				}
				return r
			}
		}
		next, ok := pick()
		if !ok {
			if failures > 0 && failover() {
				continue
			}
			return r
		}
		node = next
	}
}

// batchFailure treats a batch reply whose every result has the same wrong-swarm or clock
// error (ErrWrongSwarm, ErrClockSkew) as that error, so the retry rules apply to it.
func batchFailure(resp []byte) *NodeError {
	_, ne := inspectReply(resp)
	return ne
}

func batchFailureOf(results []SubResult) *NodeError {
	ne, _ := results[0].Err().(*NodeError)
	if ne == nil || !errors.Is(ne, ErrWrongSwarm) && !errors.Is(ne, ErrClockSkew) {
		return nil
	}
	for _, r := range results {
		if r.Code != ne.Status {
			return nil
		}
	}
	return ne
}

// UnmarshalJSON lets SubResult decode {"code":..,"body":..}.
func (r *SubResult) UnmarshalJSON(b []byte) error {
	var j struct {
		Code int             `json:"code"`
		Body json.RawMessage `json:"body"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	r.Code, r.Body = j.Code, j.Body
	return nil
}

// ErrUnconfirmed: no swarm member proved that it stored the message (with its signature over
// the message hash), or, in a swarm of several, only the member asked did.
var ErrUnconfirmed = errors.New("swarm: store not confirmed by the swarm")

// Store stores a message in the account's swarm and returns every member's result. Each member
// must report the locally computed MessageHash and sign it with its Ed25519 key; a member that
// does not is marked Failed (and reported). In a swarm of several members the result must come
// with the signed confirmation of a member other than the one asked (a node that drops the store
// while claiming success can only speak for itself); otherwise another member is asked, and
// after MaxAttempts the best result is returned. The result's Hash is the local one.
func (c *Client) Store(ctx context.Context, s Signer, req StoreRequest) (*SwarmResult, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidRequest)
	}
	account := s.AccountID()
	want := MessageHash(account, req.Namespace, req.Data)
	var res, fallback *SwarmResult
	r := c.send(ctx, account, sendOpts{check: func(body []byte, node Node, now int64, members []Node) error {
		got, err := ParseSwarmResult(body)
		if err != nil {
			c.pool.Report(node, OffenseBadReply)
			return err
		}
		c.checkStore(got, account, req, want, node, now)
		confirmed := got.Succeeded()
		if confirmed == 0 {
			return fmt.Errorf("%w: no member confirmed it", ErrUnconfirmed)
		}
		entry := hex.EncodeToString(node.Ed25519[:])
		if m, ok := got.Swarm[entry]; len(members) > 1 && confirmed == 1 && ok && !m.Failed {
			fallback = got
			return fmt.Errorf("%w: only %s, the member asked, confirmed it", ErrUnconfirmed, node)
		}
		res = got
		return nil
	}}, func(now int64) ([]byte, error) {
		return EncodeRequest(req, s, now)
	})
	switch {
	case r.err == nil:
	case fallback != nil && ctx.Err() == nil:
		// No other member could confirm it: what the one member proved is all there is.
		c.log.Debug("swarm: store confirmed by the entry node only", "account", account, "err", r.err)
		res = fallback
	default:
		return nil, fmt.Errorf("swarm: store: %w", r.err)
	}
	res.Hash = want
	return res, nil
}

// checkStore checks a store reply against the locally computed hash: every member that did not
// fail must report that hash and sign it (the hash text) with its Ed25519 key; members that do
// not are marked Failed. The entry node's own result and top-level hash are its word alone: a
// wrong one is reported. The other members' results pass through the entry node, so one bad
// result cannot be blamed on either (reporting the member would let an entry node frame honest
// ones, reporting the entry would let a member frame it); several bad ones are the entry's doing
// (see blameEntry).
func (c *Client) checkStore(res *SwarmResult, account crypto.AccountID, req StoreRequest, want string, entry Node, now int64) {
	entryKey := hex.EncodeToString(entry.Ed25519[:])
	lied := res.Hash != "" && res.Hash != want
	for k, m := range res.Swarm {
		if !m.Failed && m.Hash != want {
			m.Failed, m.Reason = true, "wrong hash"
			res.Swarm[k] = m
			lied = lied || k == entryKey
		}
	}
	if lied {
		c.pool.Report(entry, OffenseBadReply)
	}
	if blameEntry(res.CheckSignatures(account, req, now), entryKey) {
		c.pool.Report(entry, OffenseBadSignature)
	}
}

// blameEntry reports whether the members' results whose signatures failed (bad) show that the
// entry node lied: its own result is among them, or the results of two members or more (one
// lying member can spoil only its own result).
func blameEntry(bad []string, entryKey string) bool {
	for _, k := range bad {
		if k == entryKey {
			return true
		}
	}
	return len(bad) >= 2
}

// Retrieve reads messages from one namespace of the account.
func (c *Client) Retrieve(ctx context.Context, s Signer, req RetrieveRequest) (*RetrieveResult, error) {
	res, _, err := c.RetrieveFrom(ctx, s, req, Node{})
	return res, err
}

// RetrieveFrom is Retrieve that asks prefer first when it is a member of the account's swarm
// (matched by its Ed25519 key, the only field needed; the zero Node: a random member), and
// returns the node that answered.
//
// A last hash is only meaningful on the node that returned it: members receive replicated
// messages in different orders, so "after this hash" on another member can skip messages. A
// poller should therefore keep asking the same member, and when it must change member, retrieve
// without a last hash and drop the messages it has already seen.
//
// Every message is verified (see RetrieveResult.Verify) at network time: messages whose hash
// does not match their data, whose expiry or timestamp is impossible or whose data is too large
// are left out of Messages and listed in Dropped, and the node is reported (Offense). A reply
// that does not parse is tried on another member.
func (c *Client) RetrieveFrom(ctx context.Context, s Signer, req RetrieveRequest, prefer Node) (*RetrieveResult, Node, error) {
	if s == nil {
		return nil, Node{}, fmt.Errorf("%w: nil signer", ErrInvalidRequest)
	}
	account := s.AccountID()
	var res *RetrieveResult
	r := c.send(ctx, account, sendOpts{prefer: prefer, check: func(body []byte, node Node, _ int64, _ []Node) error {
		got, err := ParseRetrieve(body)
		if err != nil {
			c.pool.Report(node, OffenseBadReply)
			return err
		}
		if o := got.Verify(account, req.Namespace, c.Now()); o != 0 {
			c.log.Debug("swarm: retrieved messages dropped", "node", node, "dropped", len(got.Dropped), "offense", o.String())
			c.pool.Report(node, o)
		}
		res = got
		return nil
	}}, func(now int64) ([]byte, error) {
		return EncodeRequest(req, s, now)
	})
	if r.err != nil {
		return nil, r.node, fmt.Errorf("swarm: retrieve: %w", r.err)
	}
	return res, r.node, nil
}

// swarmOp sends a recursive request that changes stored data. When a member failed after it may
// have applied it, the result is an *UncertainError, even if a later member answered: that
// member's lists leave out what the failed attempt already changed.
func (c *Client) swarmOp(ctx context.Context, s Signer, req Request) (*SwarmResult, error) {
	if s == nil || req == nil {
		return nil, fmt.Errorf("%w: nil signer or request", ErrInvalidRequest)
	}
	account := s.AccountID()
	var res *SwarmResult
	r := c.send(ctx, account, sendOpts{mutating: true, check: func(body []byte, node Node, now int64, members []Node) error {
		got, err := ParseSwarmResult(body)
		if err != nil {
			c.pool.Report(node, OffenseBadReply)
			return err
		}
		if blameEntry(got.CheckSignatures(account, req, now), hex.EncodeToString(node.Ed25519[:])) {
			c.pool.Report(node, OffenseBadSignature) // see checkStore
		}
		if got.Succeeded() == 0 && len(got.Swarm) > 0 {
			return fmt.Errorf("%w: no member's result holds up", ErrInvalidResponse)
		}
		res = got
		return nil
	}}, func(now int64) ([]byte, error) {
		return EncodeRequest(req, s, now)
	})
	if r.err != nil {
		res = nil
	}
	if r.uncertain != nil {
		ue := &UncertainError{Method: req.Method(), Node: r.uncertainNode, Err: r.uncertain, Later: res}
		if r.err != nil {
			ue.Later, ue.LaterErr = nil, r.err
		}
		c.log.Warn("swarm: a node failed after it may have applied a change", "method", req.Method(), "node", r.uncertainNode, "err", r.uncertain)
		return nil, ue
	}
	if r.err != nil {
		return nil, fmt.Errorf("swarm: %s: %w", req.Method(), r.err)
	}
	return res, nil
}

// Delete deletes messages by hash.
func (c *Client) Delete(ctx context.Context, s Signer, req DeleteRequest) (*SwarmResult, error) {
	return c.swarmOp(ctx, s, req)
}

// DeleteAll deletes every message of a namespace (or of all namespaces).
func (c *Client) DeleteAll(ctx context.Context, s Signer, req DeleteAllRequest) (*SwarmResult, error) {
	return c.swarmOp(ctx, s, req)
}

// DeleteBefore deletes the messages stored at or before req.Before.
//
// With AllNamespaces, storage servers v2.6.2 to v2.8.0 delete without reporting what: a node
// answers 500 after deleting (an *UncertainError matching ErrOutcomeUnknown, whose Later result
// is the retry on another member), or 200 with every list empty; either way the result's
// Unlisted is set when no member listed anything.
func (c *Client) DeleteBefore(ctx context.Context, s Signer, req DeleteBeforeRequest) (*SwarmResult, error) {
	res, err := c.swarmOp(ctx, s, req)
	if !req.AllNamespaces {
		return res, err
	}
	var ue *UncertainError
	switch {
	case err == nil:
		markUnlisted(res)
	case errors.As(err, &ue) && ue.Later != nil:
		markUnlisted(ue.Later)
	}
	return res, err
}

// markUnlisted sets Unlisted when no member that answered listed a deletion.
func markUnlisted(res *SwarmResult) {
	for _, m := range res.Swarm {
		if !m.Failed && (len(m.Deleted) > 0 || len(m.DeletedByNamespace) > 0) {
			return
		}
	}
	res.Unlisted = true
}

// Expire changes the expiry of messages.
func (c *Client) Expire(ctx context.Context, s Signer, req ExpireRequest) (*SwarmResult, error) {
	return c.swarmOp(ctx, s, req)
}

// ExpireAll shortens the expiry of every message of a namespace (or of all namespaces).
func (c *Client) ExpireAll(ctx context.Context, s Signer, req ExpireAllRequest) (*SwarmResult, error) {
	return c.swarmOp(ctx, s, req)
}

// RevokeSubaccount revokes group subaccount tokens.
func (c *Client) RevokeSubaccount(ctx context.Context, s Signer, req RevokeSubaccountRequest) (*SwarmResult, error) {
	return c.swarmOp(ctx, s, req)
}

// UnrevokeSubaccount lifts revocations of group subaccount tokens.
func (c *Client) UnrevokeSubaccount(ctx context.Context, s Signer, req UnrevokeSubaccountRequest) (*SwarmResult, error) {
	return c.swarmOp(ctx, s, req)
}

// GetExpiries returns the current expiry of each message that exists.
func (c *Client) GetExpiries(ctx context.Context, s Signer, req GetExpiriesRequest) (map[string]time.Time, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidRequest)
	}
	var res map[string]time.Time
	r := c.send(ctx, s.AccountID(), sendOpts{check: func(body []byte, node Node, _ int64, _ []Node) error {
		got, err := ParseExpiries(body)
		if err != nil {
			c.pool.Report(node, OffenseBadReply)
			return err
		}
		res = got
		return nil
	}}, func(now int64) ([]byte, error) {
		return EncodeRequest(req, s, now)
	})
	if r.err != nil {
		return nil, fmt.Errorf("swarm: get_expiries: %w", r.err)
	}
	return res, nil
}

// Batch sends up to MaxBatchRequests requests for s's account in one round trip; the node
// runs them all. Results are in request order; check each one's Err.
func (c *Client) Batch(ctx context.Context, s Signer, reqs ...Request) ([]SubResult, error) {
	return c.batch(ctx, "batch", s, reqs)
}

// Sequence is Batch, but the node stops at the first request that fails, so there may be
// fewer results than requests.
func (c *Client) Sequence(ctx context.Context, s Signer, reqs ...Request) ([]SubResult, error) {
	return c.batch(ctx, "sequence", s, reqs)
}

// EncodeBatch returns the body of a batch or sequence ("method") of reqs for s's account,
// signed at now (ms).
func EncodeBatch(method string, s Signer, now int64, reqs ...Request) ([]byte, error) {
	if err := checkBatchShape(method, reqs); err != nil {
		return nil, err
	}
	subs := make([]rpcBody, len(reqs))
	for i, r := range reqs {
		p, err := signedParams(r, s, now)
		if err != nil {
			return nil, err
		}
		subs[i] = rpcBody{Method: r.Method(), Params: p}
	}
	return marshalRPC(method, map[string]any{"requests": subs}, 64+len(reqs)*400)
}

// checkBatch refuses what EncodeBatch would refuse before signing: a method other than batch or
// sequence, a number of requests outside 1..MaxBatchRequests, a nil request or one whose
// parameters are invalid. Requests are checked with it before any I/O, without spending a
// signature per subrequest on a body that is never sent.
func checkBatch(method string, reqs []Request) error {
	if err := checkBatchShape(method, reqs); err != nil {
		return err
	}
	for _, r := range reqs {
		if _, _, err := r.params(0); err != nil {
			return err
		}
	}
	return nil
}

// checkBatchShape refuses a method other than batch or sequence, a number of requests outside
// 1..MaxBatchRequests and nil requests.
func checkBatchShape(method string, reqs []Request) error {
	if method != "batch" && method != "sequence" {
		return fmt.Errorf("%w: %q is not batch or sequence", ErrInvalidRequest, method)
	}
	if len(reqs) == 0 || len(reqs) > MaxBatchRequests {
		return fmt.Errorf("%w: %s of %d requests (1..%d)", ErrInvalidRequest, method, len(reqs), MaxBatchRequests)
	}
	for _, r := range reqs {
		if r == nil {
			return fmt.Errorf("%w: nil request", ErrInvalidRequest)
		}
	}
	return nil
}

func (c *Client) batch(ctx context.Context, method string, s Signer, reqs []Request) ([]SubResult, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidRequest)
	}
	if err := checkBatch(method, reqs); err != nil {
		return nil, err
	}
	var res []SubResult
	r := c.send(ctx, s.AccountID(), sendOpts{check: func(body []byte, node Node, _ int64, _ []Node) error {
		got, err := ParseBatch(body)
		if err == nil && (len(got) > len(reqs) || (method == "batch" && len(got) != len(reqs))) {
			err = fmt.Errorf("%w: %d results for %d requests", ErrInvalidResponse, len(got), len(reqs))
		}
		if err != nil {
			c.pool.Report(node, OffenseBadReply)
			return err
		}
		res = got
		return nil
	}}, func(now int64) ([]byte, error) {
		return EncodeBatch(method, s, now, reqs...)
	})
	if r.err != nil {
		return nil, fmt.Errorf("swarm: %s: %w", method, r.err)
	}
	return res, nil
}

// Info asks one node for its version and time, and updates the clock offset.
func (c *Client) Info(ctx context.Context, node Node) (*Info, error) {
	sent := c.local()
	body, err := c.tr.Send(ctx, node, []byte(`{"method":"info","params":{}}`))
	received := c.local()
	if err != nil {
		return nil, fmt.Errorf("swarm: info: %w", err)
	}
	info, err := ParseInfo(body)
	if err != nil {
		c.pool.Report(node, OffenseBadReply)
		return nil, fmt.Errorf("swarm: info from %s: %w", node, err)
	}
	c.observeBody(node, body, sent, received)
	return info, nil
}

// GetSwarm asks a random pool node which swarm stores account (the get_swarm RPC). The pool
// computes swarms locally; this is for checking, and for accounts on networks whose swarm IDs
// are not published.
func (c *Client) GetSwarm(ctx context.Context, account crypto.AccountID) (SwarmInfo, error) {
	nodes, err := c.pool.RandomNodes(ctx, c.attempts, nil)
	if err != nil {
		return SwarmInfo{}, err
	}
	body, err := json.Marshal(rpcBody{Method: "get_swarm", Params: map[string]string{"pubkey": account.String()}})
	if err != nil {
		return SwarmInfo{}, err
	}
	var last error
	for _, n := range nodes {
		sent := c.local()
		resp, err := c.tr.Send(ctx, n, body)
		received := c.local()
		if err == nil {
			info, perr := ParseSwarm(resp)
			if perr == nil {
				c.observe(n, info.T, sent, received)
				return info, nil
			}
			c.pool.Report(n, OffenseBadReply)
			err = perr
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return SwarmInfo{}, fmt.Errorf("swarm: get_swarm: %w", last)
}
