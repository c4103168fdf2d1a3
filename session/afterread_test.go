package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
)

// Records of after-read messages that are never read go when their swarm copies have expired:
// nothing is left to start a timer on.
func TestAfterReadRecordsArePruned(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	c, err := NewClient(WithStore(st), WithNetworkConfig(NetworkConfig{Seeds: []string{"https://127.0.0.1:1"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c.clock = func() time.Time { return now }
	peer := crypto.AccountID{0x05, 1}
	note := func(sent time.Time, ttl time.Duration) string {
		m := &Message{Hash: "h" + sent.String(), From: peer, Timestamp: sent, Expiry: &Expiry{Mode: ExpiryAfterRead, Timer: time.Hour}}
		c.noteAfterRead(ctx, m, sent.Add(ttl))
		return c.afterReadKey(peer, sent.UnixMilli())
	}
	kept := func(key string) bool {
		_, err := st.GetValue(ctx, afterReadBucket, key)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		return err == nil
	}

	short := note(now, 2*24*time.Hour)
	long := note(now.Add(time.Minute), 14*24*time.Hour)
	now = now.Add(24 * time.Hour)
	note(now, time.Hour)
	if !kept(short) || !kept(long) {
		t.Fatal("records pruned before their messages expired")
	}
	// Past the short message's expiry (and the prune margin): its record goes, the other stays.
	now = now.Add(2*24*time.Hour + store.PruneMargin)
	third := note(now, 14*24*time.Hour)
	if kept(short) || !kept(long) || !kept(third) {
		t.Fatalf("after 3 days: short %v long %v third %v", kept(short), kept(long), kept(third))
	}
	// A client off for a year prunes everything on its first record.
	now = now.Add(365 * 24 * time.Hour)
	c.afterReadPruned.Store(0)
	last := note(now, 14*24*time.Hour)
	if kept(long) || kept(third) || !kept(last) {
		t.Fatal("records of expired messages kept after a year")
	}
	// MarkRead of a pruned message does nothing, without error.
	if err := c.MarkRead(ctx, peer, MessageRef{Author: peer, Timestamp: time.Date(2026, 12, 3, 12, 1, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
}
