package session_test

import (
	"context"
	"crypto/x509"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
)

// A store saved on one network and used with the seeds of another (a new devnet under the same
// database): the saved pool belongs to the old seeds and is ignored, so nothing is sent to the
// old network, which is still running.
func TestStalePoolFromOtherSeedsIgnored(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	old := devnettest.Start(t)
	st := store.NewMemory()
	first, _ := session.NewTestClient(t, session.WithStore(st), session.WithNetworkConfig(session.NetConfig(old, false)))
	peer, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(old, false)))
	if _, err := first.SendText(ctx, peer.AccountID(), "on the old network"); err != nil {
		t.Fatal(err)
	}
	first.Close()
	before := session.StoredMessages(old)

	replacement := devnettest.Start(t, devnet.WithNodes(6))
	bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(replacement, false)))
	again, _ := session.NewTestClient(t, session.WithStore(st), session.WithNetworkConfig(session.NetConfig(replacement, false)))
	if again.AccountID() != first.AccountID() {
		t.Fatal("the account was not kept")
	}
	res, err := again.SendText(ctx, bob.AccountID(), "on the new network")
	if err != nil {
		t.Fatal(err)
	}
	if _, members := replacement.SwarmFor(bob.AccountID()); res.Stored == 0 || res.Stored > len(members) {
		t.Fatalf("stored by %d nodes; bob's swarm on the new network has %d", res.Stored, len(members))
	}
	if m := session.WaitEvent[*session.Message](t, br, bob.PollOnce, nil); m.Text != "on the new network" {
		t.Fatalf("bob got %q", m.Text)
	}
	if after := session.StoredMessages(old); after != before {
		t.Fatalf("the old network received %d messages after it was replaced", after-before)
	}
}

// seedProxy forwards TCP connections to a seed it can be pointed at, so that one seed URL names
// first one network and then another.
type seedProxy struct {
	ln     net.Listener
	target atomic.Value // "127.0.0.1:port"
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  []net.Conn
}

func startSeedProxy(t *testing.T, target string) *seedProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &seedProxy{ln: ln}
	p.target.Store(target)
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				defer c.Close()
				u, err := net.Dial("tcp", p.target.Load().(string))
				if err != nil {
					return
				}
				defer u.Close()
				p.mu.Lock()
				p.conns = append(p.conns, c, u)
				p.mu.Unlock()
				done := make(chan struct{}, 2)
				go func() { io.Copy(u, c); done <- struct{}{} }()
				go func() { io.Copy(c, u); done <- struct{}{} }()
				<-done
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func hostPort(t *testing.T, seedURL string) string {
	t.Helper()
	u, err := onion.ParseURL(seedURL)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(int(u.Port)))
}

// The restart-with-stale-pool scenario: a bot's network is replaced while it is stopped, under
// the same seed URL. On restart its saved pool names nodes that are gone; the client goes back
// to its seeds, finds the new network, and receives within two poll intervals.
func TestRestartWithStalePool(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	old := devnettest.Start(t)
	replacement := devnettest.Start(t, devnet.WithNodes(14))
	proxy := startSeedProxy(t, hostPort(t, old.SeedURL()))
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(old.CACertPEM())
	roots.AppendCertsFromPEM(replacement.CACertPEM())
	cfg := session.NetworkConfig{Seeds: []string{"https://" + proxy.ln.Addr().String()}, SeedRootCAs: roots,
		PathDiversity: onion.DistinctNodes}

	st := store.NewMemory()
	bot, _ := session.NewTestClient(t, session.WithStore(st), session.WithNetworkConfig(cfg))
	if err := bot.PollOnce(ctx); err != nil { // fetches and saves the old network's pool
		t.Fatal(err)
	}
	bot.Close()
	old.Close()
	proxy.target.Store(hostPort(t, replacement.SeedURL()))

	const interval = time.Second
	restarted, rr := session.NewTestClient(t, session.WithStore(st), session.WithNetworkConfig(cfg), session.WithPollInterval(interval))
	user, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(replacement, false)))
	if _, err := user.SendText(ctx, restarted.AccountID(), "welcome to the new network"); err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- restarted.Run(runCtx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	for {
		for _, e := range rr.Events() {
			if m, ok := e.(*session.Message); ok && m.Text == "welcome to the new network" {
				took := time.Since(start)
				t.Logf("received %v after Run started", took)
				if took > 2*interval {
					t.Fatalf("received after %v, more than two poll intervals (%v)", took, 2*interval)
				}
				return
			}
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("nothing received from the new network; events: %v", rr.Events())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
