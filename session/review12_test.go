package session

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/swarm"
)

// dropAfterApply is a swarm transport whose first request of one method is carried out by the
// node and then lost on the way back (as an onion path that times out after the destination
// answered, or a connection reset after the node ran it): applied, but reported as a failure.
type dropAfterApply struct {
	inner   swarm.Transport
	method  string
	dropped atomic.Int64
}

func (d *dropAfterApply) Send(ctx context.Context, n swarm.Node, body []byte) ([]byte, error) {
	resp, err := d.inner.Send(ctx, n, body)
	if err == nil && bytes.Contains(body, []byte(`"method":"`+d.method+`"`)) && d.dropped.Add(1) == 1 {
		return nil, errors.New("connection lost after the request was sent")
	}
	return resp, err
}

// withDropAfterApply makes c's storage requests go through a dropAfterApply for method.
func withDropAfterApply(t *testing.T, c *Client, method string) *dropAfterApply {
	t.Helper()
	d := &dropAfterApply{inner: c.net.transport, method: method}
	rpc, err := swarm.NewClient(swarm.ClientConfig{Transport: d, Pool: c.net.pool})
	if err != nil {
		t.Fatal(err)
	}
	c.net.rpc = rpc
	return d
}

// A delete or expire whose first attempt may have been applied before it failed, and whose
// retry on another member succeeded, did what was asked: the swarm client says so with a
// *swarm.UncertainError (its lists of what changed are incomplete), which the Client's
// operations must not report as a failure (issue 12 item 3 review).
func TestChangeDoneAfterUncertainFirstAttempt(t *testing.T) {
	cfg := gDevnet(t)
	cfg.Direct = true
	ctx := context.Background()
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")

	sent, err := alice.SendText(ctx, bob.AccountID(), "to be unsent")
	if err != nil {
		t.Fatal(err)
	}
	copyHash, err := alice.store.GetValue(ctx, sentBucket, alice.sentKey(bob.AccountID(), sent.Ref.Timestamp))
	if err != nil {
		t.Fatal(err)
	}
	d := withDropAfterApply(t, alice.Client, "delete")
	if err := alice.Unsend(ctx, bob.AccountID(), sent.Ref); err != nil {
		t.Fatalf("unsend whose delete was applied, then retried: %v", err)
	}
	if d.dropped.Load() == 0 {
		t.Fatal("the delete was never sent")
	}
	res, err := alice.net.rpc.Retrieve(ctx, alice.signer, swarm.RetrieveRequest{Namespace: swarm.NamespaceDefault})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Messages {
		if m.Hash == string(copyHash) {
			t.Fatal("our sync copy is still stored")
		}
	}

	d = withDropAfterApply(t, alice.Client, "delete_all")
	if err := alice.DeleteAccount(ctx, alice.AccountID().String()); err != nil {
		t.Fatalf("account deletion whose delete_all was applied, then retried: %v", err)
	}
	if d.dropped.Load() == 0 {
		t.Fatal("the delete_all was never sent")
	}
}

// In direct mode without a client of the caller's (NetworkConfig.HTTPClient) or one built for
// SeedRootCAs/Proxy, server requests go through the direct transport's own HTTP client: its
// kept-alive connections (and their goroutines) must not outlive Close.
func TestDirectServerConnectionsClosedOnClose(t *testing.T) {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open[c] = true
		case http.StateClosed, http.StateHijacked:
			delete(open, c)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := NewClient(WithNetworkConfig(NetworkConfig{Seeds: []string{"https://127.0.0.1:1"}, Direct: true}))
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL + "/lobby?public_key=" + strings.Repeat("ab", 32)
	if _, err := c.JoinCommunity(context.Background(), url); !errors.Is(err, community.ErrNotFound) {
		t.Fatalf("join: %v", err)
	}
	mu.Lock()
	n := len(open)
	mu.Unlock()
	if n == 0 {
		t.Fatal("no connection was kept alive")
	}
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n = len(open)
		mu.Unlock()
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d server connection(s) still open after Close", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
