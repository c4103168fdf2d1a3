package swarm

import (
	"errors"
	"fmt"
	"math"
	"net"
	"strings"

	"github.com/sessiongo/sdk/internal/httperr"
)

// domain names this package in its status errors (their message prefix), whose sentinels
// they match.
const domain httperr.Domain = "swarm"

// Sentinel errors. A *NodeError matches the sentinel for its status with errors.Is.
var (
	// ErrWrongSwarm: the node is not in the account's swarm (HTTP 421).
	ErrWrongSwarm = domain.Sentinel("swarm: wrong swarm", httperr.Status(421))
	// ErrClockSkew: the node rejected our timestamp (HTTP 406, or 425 from v4 servers).
	ErrClockSkew = domain.Sentinel("swarm: clock out of sync", httperr.Status(406, 425))
	// ErrUnauthorized: the node rejected the request's signature (HTTP 401).
	ErrUnauthorized = domain.Sentinel("swarm: unauthorized", httperr.Status(401))
	// ErrForbidden: the node refused the request (HTTP 403, e.g. an invalid TTL).
	ErrForbidden = domain.Sentinel("swarm: forbidden", httperr.Status(403))
	// ErrBadRequest: the node could not parse the request (HTTP 400).
	ErrBadRequest = domain.Sentinel("swarm: bad request", httperr.Status(400))
	// ErrNotFound: nothing matched (HTTP 404).
	ErrNotFound = domain.Sentinel("swarm: not found", httperr.Status(404))
	// ErrRateLimited: too many requests (HTTP 429); see NodeError.RetryAfter.
	ErrRateLimited = domain.Sentinel("swarm: rate limited", httperr.Status(429))
	// ErrNodeNotReady: the node is syncing or not in a swarm (HTTP 503).
	ErrNodeNotReady = domain.Sentinel("swarm: node not ready", httperr.Status(503))
	// ErrServer: the node failed (HTTP 5xx other than 503, and any status past 599).
	ErrServer = domain.Sentinel("swarm: node error", httperr.Range(500, math.MaxInt, 503))

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
// than 200; make one with NewNodeError. Its status error (the SDK's one, as onion.StatusError,
// community.HTTPError and fileserver.HTTPError, of domain "swarm") holds the Status, the whole
// Body as sent (error text, or the 421 swarm JSON), and the ContentType and RetryAfter of a
// direct answer (onion replies from nodes carry no headers). It matches the sentinel for its status with errors.Is
// (421 ErrWrongSwarm, 406 and 425 ErrClockSkew, 401 ErrUnauthorized, 403 ErrForbidden, 400
// ErrBadRequest, 404 ErrNotFound, 429 ErrRateLimited, 503 ErrNodeNotReady, other 5xx
// ErrServer), and any *onion.StatusError target with the same Status.
type NodeError struct {
	Node Node // the node that answered (unset for a sub-result of a batch)
	httperr.StatusError
}

// NewNodeError returns the error of node's answer with status and body (kept whole; the
// caller must not change it afterwards).
func NewNodeError(node Node, status int, body []byte) *NodeError {
	return &NodeError{Node: node, StatusError: httperr.StatusError{Domain: string(domain), Status: status, Body: body}}
}

// Error is the status error's message with the node named after the package's prefix.
func (e *NodeError) Error() string {
	se := e.StatusError
	se.Domain = string(domain)
	if e.Node != (Node{}) {
		se.Domain += ": node " + e.Node.String()
	}
	return se.Error()
}

// Unwrap returns the status error.
func (e *NodeError) Unwrap() error { return &e.StatusError }

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
		return errors.Is(ne, ErrServer)
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
