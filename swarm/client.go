package swarm

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// ClientConfig configures a Client.
type ClientConfig struct {
	// Transport carries the requests (required): NewHTTPSTransport, or an onion transport.
	Transport Transport
	// Pool gives the swarms (required).
	Pool *Pool
	// MaxAttempts is how many swarm members one request may try when nodes fail or cannot be
	// reached (default 3). Wrong-swarm and clock retries follow their own rules on top.
	MaxAttempts int
	// VerifyNodeSignatures makes Store check each swarm member's Ed25519 signature over the
	// message hash, marking members whose signature fails as failed. It costs one verification
	// per member (five to ten per store) and the official clients do not do it, so it is off by
	// default; the hash each member reports is always checked.
	VerifyNodeSignatures bool
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
}

// Client sends signed storage RPCs to accounts' swarms. It is safe for concurrent use and
// starts no goroutines.
//
// Node choice and retries follow the client network policy: a request goes to a random member
// of the account's swarm. On a wrong-swarm answer (421) it retries once on another member,
// using the swarm the node named in its reply when it named one; on a second 421 it refreshes
// the pool, recomputes the swarm and retries once more; a third 421 is returned. On a clock
// error (406/425) it learns the node's time from info and retries once. 400, 401, 403 and 404
// are returned at once. Other failures try another member, up to MaxAttempts.
//
// Every reply's "t" updates the clock offset; timestamps in requests use network time (Now).
type Client struct {
	tr         Transport
	pool       *Pool
	attempts   int
	verifySigs bool
	log        *slog.Logger
	offset     atomic.Int64 // network time minus local time, ms
}

// NewClient returns a Client. It does no I/O.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.Transport == nil || cfg.Pool == nil {
		return nil, fmt.Errorf("swarm: NewClient needs a Transport and a Pool")
	}
	c := &Client{tr: cfg.Transport, pool: cfg.Pool, attempts: cfg.MaxAttempts, log: cfg.Logger, verifySigs: cfg.VerifyNodeSignatures}
	if c.attempts <= 0 {
		c.attempts = 3
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Pool returns the client's pool.
func (c *Client) Pool() *Pool { return c.pool }

// Now returns network time: local time corrected by the offset learned from the nodes.
func (c *Client) Now() time.Time { return time.Now().Add(c.ClockOffset()) }

// ClockOffset returns network time minus local time as last learned from a node's "t".
func (c *Client) ClockOffset() time.Duration {
	return time.Duration(c.offset.Load()) * time.Millisecond
}

// learnTime sets the offset from a node time t (ms) seen between sent and received.
func (c *Client) learnTime(t int64, sent, received time.Time) {
	if t <= 0 {
		return
	}
	mid := sent.Add(received.Sub(sent) / 2)
	c.offset.Store(t - mid.UnixMilli())
}

// inspectReply reads a reply once for what send needs from it: the node's clock ("t", or the
// first batch result's that has one) and, for a batch, batchFailure's verdict.
func inspectReply(body []byte) (t int64, fail *NodeError) {
	if len(body) == 0 || body[0] != '{' {
		return 0, nil
	}
	var j struct {
		T       json.RawMessage `json:"t"`
		Results []struct {
			Code json.RawMessage `json:"code"` // a number; anything else is no failure
			Body json.RawMessage `json:"body"`
		} `json:"results"`
	}
	if json.Unmarshal(body, &j) != nil {
		return 0, nil
	}
	t = parseT(j.T)
	for i := 0; t == 0 && i < len(j.Results); i++ {
		var sub struct {
			T json.RawMessage `json:"t"`
		}
		if json.Unmarshal(j.Results[i].Body, &sub) == nil {
			t = parseT(sub.T)
		}
	}
	if len(j.Results) == 0 {
		return t, nil
	}
	results := make([]SubResult, len(j.Results))
	for i, r := range j.Results {
		code, err := strconv.Atoi(string(r.Code))
		if err != nil {
			return t, nil
		}
		results[i] = SubResult{Code: code, Body: r.Body}
	}
	return t, batchFailureOf(results)
}

// Do sends one request to the swarm of s's account and returns the raw result JSON.
func (c *Client) Do(ctx context.Context, s Signer, req Request) ([]byte, error) {
	if s == nil || req == nil {
		return nil, fmt.Errorf("%w: nil signer or request", ErrInvalidRequest)
	}
	r, err := c.doFrom(ctx, s, req, Node{}, false)
	return r.body, err
}

// doFrom is Do with a preferred node; the result names the node that answered. With parsed set,
// the caller parses the reply and learns the clock from it (see send).
func (c *Client) doFrom(ctx context.Context, s Signer, req Request, prefer Node, parsed bool) (sendResult, error) {
	if s == nil || req == nil {
		return sendResult{}, fmt.Errorf("%w: nil signer or request", ErrInvalidRequest)
	}
	r := c.send(ctx, s.AccountID(), prefer, false, parsed, func(now int64) ([]byte, error) {
		return EncodeRequest(req, s, now)
	})
	if r.err != nil {
		return r, fmt.Errorf("swarm: %s: %w", req.Method(), r.err)
	}
	return r, nil
}

// sendResult is the outcome of send.
type sendResult struct {
	body []byte
	node Node  // the node that answered (or the last one tried)
	err  error // the final error
	// sent and received frame the answered attempt, for learnTime.
	sent, received time.Time
	// uncertain is the first failed attempt that may have been carried out anyway (only
	// tracked for requests that change data).
	uncertain     error
	uncertainNode Node
}

// send runs the node-choice and retry policy for one request to account's swarm, starting with
// prefer when it is a member of the swarm. build encodes the request at a network time (ms); it
// is called again for every attempt.
//
// When mutating is set (a request that changes stored data), the first failed attempt that the
// node may have carried out anyway is kept in the result (see UncertainError).
//
// When parsed is set (a single request whose caller parses the reply: retrieve, store and the
// other recursive requests), the caller learns the clock from the reply's "t" with the result's
// sent and received times, and the reply is not read here a second time; otherwise send reads
// the clock, and a batch's verdict (batchFailure), from it.
func (c *Client) send(ctx context.Context, account crypto.AccountID, prefer Node, mutating, parsed bool, build func(now int64) ([]byte, error)) (r sendResult) {
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
	pick := func() (Node, bool) {
		var cands []Node
		for _, n := range members {
			if !tried[n.Ed25519] {
				cands = append(cands, n)
			}
		}
		if len(cands) == 0 {
			return Node{}, false
		}
		return cands[rand.IntN(len(cands))], true
	}
	node, ok := pick()
	if !ok {
		return sendResult{err: ErrNoNodes}
	}
	if prefer.Ed25519 != ([32]byte{}) {
		for _, n := range members {
			if n.Ed25519 == prefer.Ed25519 {
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
		body, err := build(c.Now().UnixMilli())
		if err != nil {
			r.node, r.err = node, err
			return r
		}
		sent := time.Now()
		resp, err := c.tr.Send(ctx, node, body)
		received := time.Now()
		var nodeT int64
		if err == nil && !parsed {
			var ne *NodeError
			if nodeT, ne = inspectReply(resp); ne != nil {
				ne.Node = node
				err = ne
			}
		}
		r.node = node
		if err == nil {
			c.pool.nodeAnswered()
			if !parsed {
				c.learnTime(nodeT, sent, received)
			}
			r.body, r.sent, r.received, r.err = resp, sent, received, nil
			return r
		}
		r.err = err
		if mutating && r.uncertain == nil && mayHaveApplied(err) {
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
		case errors.As(err, &ne) && ne.Status == 421:
			wrongSwarm++
			c.log.Debug("swarm: wrong swarm", "node", node, "account", account, "count", wrongSwarm)
			switch wrongSwarm {
			case 1:
				// Use the swarm the node named, if it named one; else drop the node from ours.
				if info, perr := ParseSwarm(ne.Body); perr == nil && len(info.Nodes) > 0 {
					c.learnTime(info.T, sent, received)
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
		case errors.As(err, &ne) && (ne.Status == 406 || ne.Status == 425):
			if skewRetried {
				return r
			}
			skewRetried = true
			if _, ierr := c.Info(ctx, node); ierr != nil {
				return r
			}
			c.log.Debug("swarm: clock offset updated after a clock error", "offset", c.ClockOffset())
			continue // same node, new timestamp
		case errors.As(err, &ne) && (ne.Status == 400 || ne.Status == 401 || ne.Status == 403 || ne.Status == 404 || ne.Status == 413):
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
// error as that error, so the retry rules apply to it.
func batchFailure(resp []byte) *NodeError {
	_, ne := inspectReply(resp)
	return ne
}

func batchFailureOf(results []SubResult) *NodeError {
	if len(results) == 0 {
		return nil
	}
	code := results[0].Code
	if code != 421 && code != 406 {
		return nil
	}
	for _, r := range results {
		if r.Code != code {
			return nil
		}
	}
	ne := results[0].Err().(*NodeError)
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

// Store stores a message in the account's swarm. The hash each member returns is checked
// against the locally computed MessageHash, and each member's Ed25519 signature over it is
// verified (a member whose signature fails is marked Failed); the reply's Hash is the local
// one. It fails when no member confirmed the store.
func (c *Client) Store(ctx context.Context, s Signer, req StoreRequest) (*SwarmResult, error) {
	r, err := c.doFrom(ctx, s, req, Node{}, true)
	if err != nil {
		return nil, err
	}
	res, err := ParseSwarmResult(r.body)
	if err != nil {
		return nil, fmt.Errorf("swarm: store: %w", err)
	}
	c.learnTime(res.T, r.sent, r.received)
	if err := checkStore(res, MessageHash(s.AccountID(), req.Namespace, req.Data), c.verifySigs); err != nil {
		return nil, fmt.Errorf("swarm: store: %w", err)
	}
	return res, nil
}

// checkStore checks a store reply against the locally computed hash: every member that did not
// fail must report that hash and, when verifySigs is set, sign it (the hash text) with its Ed25519
// key; members whose signature fails are marked Failed. It sets res.Hash to want.
func checkStore(res *SwarmResult, want string, verifySigs bool) error {
	if res.Hash != "" && res.Hash != want {
		return fmt.Errorf("%w: node hash %q, computed %q", ErrInvalidResponse, res.Hash, want)
	}
	for k, m := range res.Swarm {
		if m.Failed {
			continue
		}
		if m.Hash != want {
			return fmt.Errorf("%w: member %s hash %q, computed %q", ErrInvalidResponse, shorten(k), m.Hash, want)
		}
		if !verifySigs {
			continue
		}
		pk, err := hex.DecodeString(k)
		if err != nil || len(pk) != ed25519.PublicKeySize || !ed25519.Verify(pk, []byte(want), m.Signature) {
			m.Failed, m.Reason = true, "bad node signature"
			res.Swarm[k] = m
		}
	}
	if len(res.Swarm) > 0 && res.Succeeded() == 0 {
		return fmt.Errorf("%w: no member confirmed the store", ErrInvalidResponse)
	}
	res.Hash = want
	return nil
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
func (c *Client) RetrieveFrom(ctx context.Context, s Signer, req RetrieveRequest, prefer Node) (*RetrieveResult, Node, error) {
	r, err := c.doFrom(ctx, s, req, prefer, true)
	if err != nil {
		return nil, r.node, err
	}
	res, err := ParseRetrieve(r.body)
	if err != nil {
		return nil, r.node, fmt.Errorf("swarm: retrieve: %w", err)
	}
	c.learnTime(res.T, r.sent, r.received)
	return res, r.node, nil
}

// swarmOp sends a recursive request that changes stored data. When a member failed after it may
// have applied it, the result is an *UncertainError, even if a later member answered: that
// member's lists leave out what the failed attempt already changed.
func (c *Client) swarmOp(ctx context.Context, s Signer, req Request) (*SwarmResult, error) {
	if s == nil || req == nil {
		return nil, fmt.Errorf("%w: nil signer or request", ErrInvalidRequest)
	}
	r := c.send(ctx, s.AccountID(), Node{}, true, true, func(now int64) ([]byte, error) {
		return EncodeRequest(req, s, now)
	})
	var res *SwarmResult
	if r.err == nil {
		var err error
		if res, err = ParseSwarmResult(r.body); err != nil {
			r.err = err
		} else {
			c.learnTime(res.T, r.sent, r.received)
		}
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
	body, err := c.Do(ctx, s, req)
	if err != nil {
		return nil, err
	}
	res, err := ParseExpiries(body)
	if err != nil {
		return nil, fmt.Errorf("swarm: get_expiries: %w", err)
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
	if method != "batch" && method != "sequence" {
		return nil, fmt.Errorf("%w: %q is not batch or sequence", ErrInvalidRequest, method)
	}
	if len(reqs) == 0 || len(reqs) > MaxBatchRequests {
		return nil, fmt.Errorf("%w: %s of %d requests (1..%d)", ErrInvalidRequest, method, len(reqs), MaxBatchRequests)
	}
	subs := make([]rpcBody, len(reqs))
	for i, r := range reqs {
		if r == nil {
			return nil, fmt.Errorf("%w: nil request", ErrInvalidRequest)
		}
		p, err := signedParams(r, s, now)
		if err != nil {
			return nil, err
		}
		subs[i] = rpcBody{Method: r.Method(), Params: p}
	}
	return json.Marshal(rpcBody{Method: method, Params: map[string]any{"requests": subs}})
}

func (c *Client) batch(ctx context.Context, method string, s Signer, reqs []Request) ([]SubResult, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrInvalidRequest)
	}
	if _, err := EncodeBatch(method, s, 0, reqs...); err != nil {
		return nil, err
	}
	r := c.send(ctx, s.AccountID(), Node{}, false, false, func(now int64) ([]byte, error) {
		return EncodeBatch(method, s, now, reqs...)
	})
	if r.err != nil {
		return nil, fmt.Errorf("swarm: %s: %w", method, r.err)
	}
	res, err := ParseBatch(r.body)
	if err != nil {
		return nil, fmt.Errorf("swarm: %s: %w", method, err)
	}
	if len(res) > len(reqs) || (method == "batch" && len(res) != len(reqs)) {
		return nil, fmt.Errorf("swarm: %s: %w: %d results for %d requests", method, ErrInvalidResponse, len(res), len(reqs))
	}
	return res, nil
}

// Info asks one node for its version and time, and updates the clock offset.
func (c *Client) Info(ctx context.Context, node Node) (*Info, error) {
	sent := time.Now()
	body, err := c.tr.Send(ctx, node, []byte(`{"method":"info","params":{}}`))
	received := time.Now()
	if err != nil {
		return nil, fmt.Errorf("swarm: info: %w", err)
	}
	info, err := ParseInfo(body)
	if err != nil {
		return nil, fmt.Errorf("swarm: info from %s: %w", node, err)
	}
	c.learnTime(info.T, sent, received)
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
		sent := time.Now()
		resp, err := c.tr.Send(ctx, n, body)
		received := time.Now()
		if err == nil {
			info, perr := ParseSwarm(resp)
			if perr == nil {
				c.learnTime(info.T, sent, received)
				return info, nil
			}
			err = perr
		}
		last = err
		if ctx.Err() != nil {
			break
		}
	}
	return SwarmInfo{}, fmt.Errorf("swarm: get_swarm: %w", last)
}
