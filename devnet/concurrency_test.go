package devnet

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestConcurrentClientsAndChurn runs stores and retrieves from many goroutines while nodes join,
// fail and recover (run with -race).
func TestConcurrentClientsAndChurn(t *testing.T) {
	tn := startNet(t, WithNodes(14), WithSeed(31))
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			u := newUser(t, byte(200+w), 0x05)
			// A client re-reads the swarm when every member it knew refused (the swarm may have
			// moved under it).
			try := func(method string, p obj) error {
				var err error
				for attempt := 0; attempt < 3; attempt++ {
					_, members := tn.nw.SwarmFor(u.acct)
					if _, _, err = tn.tryMembers(members, method, p); err == nil {
						return nil
					}
				}
				return err
			}
			for i := 0; i < 10; i++ {
				now := ms(time.Now())
				data := []byte(fmt.Sprintf("w%d i%d", w, i))
				if err := try("store", obj{"pubkey": u.hex(), "timestamp": now, "ttl": 600000, "data": b64(data)}); err != nil {
					errs <- fmt.Errorf("worker %d store %d: %w", w, i, err)
					return
				}
				if err := try("retrieve", u.auth(obj{"timestamp": now}, "retrieve"+itoa(now))); err != nil {
					errs <- fmt.Errorf("worker %d retrieve %d: %w", w, i, err)
					return
				}
			}
		}(w)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		nodes := tn.nw.Nodes()
		for i := 0; i < 3; i++ {
			if _, err := tn.nw.AddNodes(context.Background(), 1); err != nil {
				errs <- err
				return
			}
			nodes[i].SetFaults(Faults{Delay: time.Millisecond})
			nodes[i].Stop()
			time.Sleep(5 * time.Millisecond)
			if err := nodes[i].Restart(); err != nil {
				errs <- err
				return
			}
			nodes[i].SetFaults(Faults{})
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
