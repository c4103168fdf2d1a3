package swarm

import (
	"errors"
	"fmt"
	"testing"
)

// nodeErr is the *NodeError a transport returns for status and body.
func nodeErr(status int, body string) *NodeError {
	return &NodeError{Status: status, Body: []byte(body)}
}

// TestStatusSentinels pins which sentinels a *NodeError of every status matches, directly and
// wrapped: the mapping callers branch on with errors.Is.
func TestStatusSentinels(t *testing.T) {
	sentinels := []struct {
		name string
		err  error
		is   func(status int) bool
	}{
		{"ErrWrongSwarm", ErrWrongSwarm, func(s int) bool { return s == 421 }},
		{"ErrClockSkew", ErrClockSkew, func(s int) bool { return s == 406 || s == 425 }},
		{"ErrUnauthorized", ErrUnauthorized, func(s int) bool { return s == 401 }},
		{"ErrForbidden", ErrForbidden, func(s int) bool { return s == 403 }},
		{"ErrBadRequest", ErrBadRequest, func(s int) bool { return s == 400 }},
		{"ErrNotFound", ErrNotFound, func(s int) bool { return s == 404 }},
		{"ErrRateLimited", ErrRateLimited, func(s int) bool { return s == 429 }},
		{"ErrNodeNotReady", ErrNodeNotReady, func(s int) bool { return s == 503 }},
		{"ErrServer", ErrServer, func(s int) bool { return s >= 500 && s != 503 }},
		// Sentinels that no status matches.
		{"ErrNoNodes", ErrNoNodes, func(int) bool { return false }},
		{"ErrNoSeeds", ErrNoSeeds, func(int) bool { return false }},
		{"ErrDisagreement", ErrDisagreement, func(int) bool { return false }},
		{"ErrInvalidResponse", ErrInvalidResponse, func(int) bool { return false }},
		{"ErrResponseTooLarge", ErrResponseTooLarge, func(int) bool { return false }},
		{"ErrInvalidNode", ErrInvalidNode, func(int) bool { return false }},
		{"ErrInvalidRequest", ErrInvalidRequest, func(int) bool { return false }},
		{"ErrClosed", ErrClosed, func(int) bool { return false }},
		{"ErrOutcomeUnknown", ErrOutcomeUnknown, func(int) bool { return false }},
		{"ErrUnconfirmed", ErrUnconfirmed, func(int) bool { return false }},
	}
	statuses := []int{-1, 0, 1, 100, 200, 204, 299, 300, 304, 399, 600, 700, 999, 1000, 1 << 20}
	for s := 400; s <= 599; s++ {
		statuses = append(statuses, s)
	}
	for _, status := range statuses {
		for _, body := range []string{"", "x", "timestamp out of range"} {
			ne := nodeErr(status, body)
			for _, s := range sentinels {
				want := s.is(status)
				if got := errors.Is(ne, s.err); got != want {
					t.Errorf("status %d body %q: errors.Is(%s) = %v, want %v", status, body, s.name, got, want)
				}
				if got := errors.Is(fmt.Errorf("swarm: store: %w", ne), s.err); got != want {
					t.Errorf("status %d body %q wrapped: errors.Is(%s) = %v, want %v", status, body, s.name, got, want)
				}
			}
			var as *NodeError
			if !errors.As(fmt.Errorf("wrapped: %w", ne), &as) || as != ne {
				t.Errorf("status %d: errors.As lost the *NodeError", status)
			}
		}
	}
	// A sub-result of a batch is the same error.
	for _, status := range []int{400, 404, 406, 421, 429, 500, 503} {
		err := SubResult{Code: status, Body: []byte(`"refused"`)}.Err()
		for _, s := range sentinels {
			if got, want := errors.Is(err, s.err), s.is(status); got != want {
				t.Errorf("sub-result %d: errors.Is(%s) = %v, want %v", status, s.name, got, want)
			}
		}
	}
}
