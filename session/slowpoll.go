package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNoAnswerYet is the Err of the PollError that Run delivers when its first poll has had no
// answer for a few seconds (unreachable seeds or nodes, a
// network that drops packets): the poll goes on, and its outcome follows as usual (Connected, or
// a PollError with a Backoff).
var ErrNoAnswerYet = errors.New("session: no answer from the network yet")

// slowPollReport is how long a poll may run before the client is connected without a word.
const slowPollReport = 3 * time.Second

// fetchWatched is fetch; when watch is set (no news yet: neither connected nor failed), a poll that takes longer than
// slowPollReport is reported at once as a PollError (ErrNoAnswerYet, Backoff 0) instead of
// leaving the application without news until the network layer's own timeouts expire.
func (c *Client) fetchWatched(ctx context.Context, watch bool) error {
	if !watch {
		return c.fetch(ctx)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	start := time.Now()
	go func() {
		defer wg.Done()
		t := time.NewTimer(slowPollReport)
		defer t.Stop()
		select {
		case <-t.C:
			c.dispatch(ctx, &PollError{Err: fmt.Errorf("%w after %v; still trying", ErrNoAnswerYet, time.Since(start).Round(time.Second))})
		case <-done:
		case <-ctx.Done():
		}
	}()
	err := c.fetch(ctx)
	close(done)
	wg.Wait()
	return err
}
