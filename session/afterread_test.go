package session

import (
	"context"
	"errors"
	"fmt"
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
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c := clockedClient(t, st, &now)
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

// indexWrites counts the bytes written to the index of after-read records.
type indexWrites struct {
	*store.Memory
	n int
}

func (s *indexWrites) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	if bucket == afterReadDaysBucket {
		s.n += len(value)
	}
	return s.Memory.PutValue(ctx, bucket, key, value)
}

// Recording an after-read message costs the same however many were recorded that day: the
// day's index is not one list rewritten whole at every record (a bot receiving thousands of
// after-read messages a day wrote gigabytes), and every record is still pruned with its day.
func TestAfterReadIndexWritesLinear(t *testing.T) {
	ctx := context.Background()
	st := &indexWrites{Memory: store.NewMemory()}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	c := clockedClient(t, st, &now)
	const n = 2000
	var keys []string
	for i := range n {
		peer := crypto.AccountID{0x05, byte(i), byte(i >> 8)}
		sent := now.Add(time.Duration(i) * time.Millisecond)
		m := &Message{Hash: fmt.Sprint("h", i), From: peer, Timestamp: sent, Expiry: &Expiry{Mode: ExpiryAfterRead, Timer: time.Hour}}
		c.noteAfterRead(ctx, m, now.Add(14*24*time.Hour))
		keys = append(keys, c.afterReadKey(peer, sent.UnixMilli()))
	}
	if per := st.n / n; per > 8<<10 {
		t.Fatalf("%d bytes of index written per record over %d records", per, n)
	}
	// Past their expiry, every one goes.
	now = now.Add(15*24*time.Hour + store.PruneMargin)
	c.noteAfterRead(ctx, &Message{Hash: "last", From: crypto.AccountID{0x05, 0xff, 0xff}, Timestamp: now, Expiry: &Expiry{Mode: ExpiryAfterRead, Timer: time.Hour}}, now.Add(time.Hour))
	for _, k := range keys {
		if _, err := st.GetValue(ctx, afterReadBucket, k); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("record %s kept after its message expired: %v", k, err)
		}
	}
}

// clockedClient is a Client on st (never polling: its network is unreachable) whose clock reads
// *now, which the test moves.
func clockedClient(t *testing.T, st store.Store, now *time.Time) *Client {
	t.Helper()
	c, err := NewClient(WithStore(st), WithNetworkConfig(NetworkConfig{Seeds: []string{"https://127.0.0.1:1"}}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.clock = func() time.Time { return *now }
	return c
}

// An after-read record is kept until the swarm copy's expiry bounded to [now, now+MaxMessageTTL],
// plus the margin (the rule the store's seen records followed before they ignored expiries).
func TestAfterReadUntil(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name   string
		expiry time.Time
		want   time.Time
	}{
		{"normal", now.Add(time.Hour), now.Add(time.Hour + store.PruneMargin)},
		{"zero", time.Time{}, now.Add(store.MaxMessageTTL + store.PruneMargin)},
		{"junk", now.Add(1000 * 24 * time.Hour), now.Add(store.MaxMessageTTL + store.PruneMargin)},
		{"past", now.Add(-time.Hour), now.Add(store.PruneMargin)},
	} {
		if got := afterReadUntil(c.expiry, now); !got.Equal(c.want) {
			t.Errorf("%s: afterReadUntil = %v, want %v", c.name, got, c.want)
		}
	}
}
