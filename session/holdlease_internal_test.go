package session

import (
	"context"
	"testing"
)

// holdLease takes c's account lease for a test that drives a poll's internals directly: events
// are delivered only while it is held, as during Run, PollOnce and PollCommunities.
func holdLease(t testing.TB, c *Client) {
	t.Helper()
	if _, err := c.startLease(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.finishLease(nil) })
}
