package swarm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/internal/httperr"
)

// nodeErr is the *NodeError a transport returns for status and body.
func nodeErr(status int, body string) *NodeError {
	return NewNodeError(Node{}, status, []byte(body))
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

// TestHTTPSTransportNodeError checks what a direct answer's NodeError keeps: the whole body,
// the content type and the node's Retry-After. (Storage nodes send no Retry-After, nor does
// devnet: this server stands for a node behind a front that does.)
func TestHTTPSTransportNodeError(t *testing.T) {
	long := `{"snodes":[` + strings.Repeat(`{"ip":"10.0.0.1"},`, 100) + `{}]}`
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Content-Type") != "application/json" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if strings.Contains(r.URL.Path, "storage_rpc") && r.ContentLength == 1 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMisdirectedRequest)
			_, _ = w.Write([]byte(long))
			return
		}
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	ap := netip.MustParseAddrPort(strings.TrimPrefix(srv.URL, "https://"))
	node := Node{IP: ap.Addr(), Port: ap.Port(), Ed25519: [32]byte{1}}
	tr := NewHTTPSTransport(HTTPSOptions{Timeout: 5 * time.Second})
	defer tr.Close()

	_, err := tr.Send(context.Background(), node, []byte("{}"))
	var ne *NodeError
	if !errors.As(err, &ne) || !errors.Is(err, ErrRateLimited) || ne.RetryAfter != 30*time.Second || ne.Node != node {
		t.Fatalf("429: %v", err)
	}
	if !strings.Contains(err.Error(), "retry after 30s") || !strings.Contains(err.Error(), node.String()) {
		t.Fatalf("429 message: %q", err)
	}
	_, err = tr.Send(context.Background(), node, []byte("1"))
	if !errors.As(err, &ne) || !errors.Is(err, ErrWrongSwarm) || string(ne.Body) != long || len(ne.Body) <= httperr.MaxBody ||
		ne.ContentType != "application/json" || ne.RetryAfter != 0 {
		t.Fatalf("421: %v (%d bytes)", err, len(ne.Body))
	}
	// The status error is in the chain, as for the other packages' answers.
	if se, ok := httperr.As(err); !ok || se.Status != http.StatusMisdirectedRequest || se.Domain != "swarm" {
		t.Fatalf("httperr.As: %v", se)
	}
	if !errors.Is(err, &httperr.StatusError{Status: 421}) || errors.Is(err, &httperr.StatusError{Domain: "community", Status: 421}) {
		t.Fatal("StatusError targets")
	}
}

// TestSentinelsStayInTheirPackage checks that another package's status errors do not match
// this package's sentinels, nor its NodeErrors theirs.
func TestSentinelsStayInTheirPackage(t *testing.T) {
	other := httperr.NewSentinel("community", "community: not found", httperr.Status(404))
	if errors.Is(&httperr.StatusError{Domain: "community", Status: 404}, ErrNotFound) ||
		errors.Is(nodeErr(404, ""), other) {
		t.Fatal("sentinels crossed packages")
	}
}
