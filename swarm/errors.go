package swarm

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Sentinel errors. A *NodeError matches the sentinel for its status with errors.Is.
var (
	// ErrWrongSwarm: the node is not in the account's swarm (HTTP 421).
	ErrWrongSwarm = errors.New("swarm: wrong swarm")
	// ErrClockSkew: the node rejected our timestamp (HTTP 406, or 425 from v4 servers).
	ErrClockSkew = errors.New("swarm: clock out of sync")
	// ErrUnauthorized: the node rejected the request's signature (HTTP 401).
	ErrUnauthorized = errors.New("swarm: unauthorized")
	// ErrForbidden: the node refused the request (HTTP 403, e.g. an invalid TTL).
	ErrForbidden = errors.New("swarm: forbidden")
	// ErrBadRequest: the node could not parse the request (HTTP 400).
	ErrBadRequest = errors.New("swarm: bad request")
	// ErrNotFound: nothing matched (HTTP 404).
	ErrNotFound = errors.New("swarm: not found")
	// ErrRateLimited: too many requests (HTTP 429).
	ErrRateLimited = errors.New("swarm: rate limited")
	// ErrNodeNotReady: the node is syncing or not in a swarm (HTTP 503).
	ErrNodeNotReady = errors.New("swarm: node not ready")
	// ErrServer: the node failed (HTTP 5xx other than 503).
	ErrServer = errors.New("swarm: node error")

	// ErrNoNodes: the pool or a swarm has no usable node.
	ErrNoNodes = errors.New("swarm: no usable nodes")
	// ErrNoSeeds: no seed node answered with a usable list.
	ErrNoSeeds = errors.New("swarm: no seed node answered")
	// ErrDisagreement: the nodes asked for a pool refresh did not agree on enough nodes.
	ErrDisagreement = errors.New("swarm: nodes disagree")
	// ErrInvalidResponse: a node's reply could not be parsed.
	ErrInvalidResponse = errors.New("swarm: invalid response")
	// ErrResponseTooLarge: a reply exceeded the size limit.
	ErrResponseTooLarge = errors.New("swarm: response too large")
	// ErrInvalidNode: a node entry is malformed (bad key, address or port).
	ErrInvalidNode = errors.New("swarm: invalid node")
	// ErrInvalidRequest: the request cannot be built (missing signer, too many hashes, ...).
	ErrInvalidRequest = errors.New("swarm: invalid request")
	// ErrClosed: the client or pool was closed.
	ErrClosed = errors.New("swarm: closed")
)

// NodeError is a non-200 answer from a storage node: the HTTP status of a direct request, or
// the inner status of an onion request to a node. Transports return it for every status other
// than 200. It matches the sentinel for its status with errors.Is (421 ErrWrongSwarm, 406 and
// 425 ErrClockSkew, 401 ErrUnauthorized, 403 ErrForbidden, 400 ErrBadRequest, 404
// ErrNotFound, 429 ErrRateLimited, 503 ErrNodeNotReady, other 5xx ErrServer).
type NodeError struct {
	Node   Node   // the node that answered
	Status int    // HTTP status (or the inner status of an onion reply)
	Body   []byte // the reply body, as sent (error text, or the 421 swarm JSON)
}

func (e *NodeError) Error() string {
	body := e.Body
	if len(body) > 200 {
		body = body[:200]
	}
	text := string(body)
	if !utf8.ValidString(text) {
		text = fmt.Sprintf("%d bytes", len(e.Body))
	}
	st := http.StatusText(e.Status)
	if st == "" {
		st = "status"
	}
	if e.Node == (Node{}) {
		return fmt.Sprintf("swarm: %d %s: %q", e.Status, st, text)
	}
	return fmt.Sprintf("swarm: node %s: %d %s: %q", e.Node, e.Status, st, text)
}

// Is maps the status to the package's sentinels.
func (e *NodeError) Is(target error) bool {
	switch target {
	case ErrWrongSwarm:
		return e.Status == 421
	case ErrClockSkew:
		return e.Status == 406 || e.Status == 425
	case ErrUnauthorized:
		return e.Status == 401
	case ErrForbidden:
		return e.Status == 403
	case ErrBadRequest:
		return e.Status == 400
	case ErrNotFound:
		return e.Status == 404
	case ErrRateLimited:
		return e.Status == 429
	case ErrNodeNotReady:
		return e.Status == 503
	case ErrServer:
		return e.Status >= 500 && e.Status != 503
	}
	return false
}

// ErrOutcomeUnknown: a node failed while handling a request that changes stored messages
// (delete, delete_all, delete_before, expire, expire_all) after it may already have carried it
// out. Storage servers v2.6.2 to v2.8.0 do this to every delete_before over all namespaces that
// matches something: they delete, then answer 500. Matched by *UncertainError.
var ErrOutcomeUnknown = errors.New("swarm: outcome unknown")

// UncertainError reports a change request whose outcome is only partly known: Node failed
// (Err: a 5xx answer, or a transport failure after the request may have reached it) and may
// have applied the request first, replicating it to its swarm. Later holds the reply of a later
// attempt on another member when one succeeded: its lists (deleted, updated) leave out
// whatever the failed attempt already changed, so an empty list there means "nothing was
// left to change", not "nothing was changed". LaterErr is the last failure when no later
// attempt succeeded.
//
// It matches ErrOutcomeUnknown and unwraps to Err (a *NodeError for a 5xx answer).
type UncertainError struct {
	Method   string
	Node     Node
	Err      error
	Later    *SwarmResult
	LaterErr error
}

func (e *UncertainError) Error() string {
	what := "changed expiries"
	if strings.HasPrefix(e.Method, "delete") {
		what = "deleted messages"
	}
	s := fmt.Sprintf("swarm: %s: node %s failed after it may have %s (which ones is unknown): %v", e.Method, e.Node, what, e.Err)
	switch {
	case e.Later != nil:
		s += fmt.Sprintf("; a later attempt succeeded on %d member(s), whose lists leave out what was already done", e.Later.Succeeded())
	case e.LaterErr != nil:
		s += "; later attempts failed too: " + e.LaterErr.Error()
	}
	return s
}

// Is matches ErrOutcomeUnknown.
func (e *UncertainError) Is(target error) bool { return target == ErrOutcomeUnknown }

// Unwrap returns the failure after which the outcome is unknown.
func (e *UncertainError) Unwrap() error { return e.Err }

// mayHaveApplied reports whether a failed attempt may still have been carried out: a 5xx
// answer other than 503 (which nodes send before handling anything), or a transport failure,
// unless the transport says the request never reached the node (a refused connection, or a
// transport error with NotDelivered() true, such as an onion hop that could not find the next
// node).
func mayHaveApplied(err error) bool {
	var ne *NodeError
	if errors.As(err, &ne) {
		return ne.Status >= 500 && ne.Status != 503
	}
	var nd interface{ NotDelivered() bool }
	if errors.As(err, &nd) && nd.NotDelivered() {
		return false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false
	}
	return true
}
