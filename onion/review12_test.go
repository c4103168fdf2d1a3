package onion

import (
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sessiongo/sdk/swarm"
)

type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A hop's "502 Next node not found: <key>" proves nothing about the node it names. It is
// believed (the node marked bad, reported to the pool, banned on repeat) only for a node the
// hop could have been asked to forward to: a later node of the path, or the destination. A
// lying guard that names any other node of the pool must not get that node banned from swarm
// choices and paths, and its path counts as failing (issue 12 item 4 review).
func TestNextNodeNotFoundOnlyForNodesAhead(t *testing.T) {
	// One attempt per request and three lies (the pool bans a node on the third report in a few
	// minutes): no new path is built before the lies are told (a new path could take the named
	// node in, which would make the claim plausible).
	tn := startTestNet(t, 12, Config{Paths: 2, MaxAttempts: 1})
	var lie atomic.Pointer[[32]byte]
	var lies atomic.Int64
	inner := tn.tr.http.Transport
	liar := *tn.tr.http
	liar.Transport = rtFunc(func(r *http.Request) (*http.Response, error) {
		if v := lie.Load(); v != nil && lies.Add(1) <= 3 {
			body := "Next node not found: " + hex.EncodeToString(v[:])
			return &http.Response{StatusCode: http.StatusBadGateway, Header: http.Header{"Content-Type": {"text/plain"}},
				Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
		}
		return inner.RoundTrip(r)
	})
	tn.tr.http = &liar // before any request: no goroutine reads it yet
	dest := tn.swarmNode(t, tn.nw.Nodes()[0])
	if err := sendInfo(t, tn.tr, dest); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(tn.tr.Paths()) >= 2 })
	victim := dest
	for _, n := range tn.nw.Nodes() {
		sn := tn.swarmNode(t, n)
		free := sn.Ed25519 != dest.Ed25519
		for _, p := range tn.tr.Paths() {
			free = free && !p.conflictsWithAll([]swarm.Node{sn})
		}
		if free {
			victim = sn
			break
		}
	}
	if victim.Ed25519 == dest.Ed25519 {
		t.Fatal("no node outside the paths")
	}
	lie.Store(&victim.Ed25519)
	for i := 0; i < 3; i++ {
		if err := sendInfo(t, tn.tr, dest); err == nil {
			t.Fatal("a request through the lying guard succeeded")
		}
	}
	if tn.pool.Banned(victim) {
		t.Fatal("a node no path led to was banned on a hop's word")
	}
	tn.tr.mu.Lock()
	fails := tn.tr.nodeFail[victim.Ed25519]
	tn.tr.mu.Unlock()
	if fails != 0 {
		t.Fatalf("a node no path led to was marked bad (%d)", fails)
	}
}
