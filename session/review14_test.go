package session

import (
	"context"
	"testing"
	"time"
)

// Regression tests from the second review of the message vocabulary (issue 14).

// Our sync copy of a message that disappears after reading expires when its timer has run from
// the send: we read our own message when we wrote it, so desktop stores the synced copy with the
// timer as its TTL, and our other devices see when it disappears.
func TestSyncCopyOfAfterReadMessageExpires(t *testing.T) {
	cfg := gDevnet(t)
	ctx := context.Background()
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	alice2 := gNewPeer(t, cfg, "Alice", WithKeys(alice.Keys()))
	dar := Expiry{Mode: ExpiryAfterRead, Timer: 2 * time.Minute}
	if err := alice.SetDisappearing(ctx, bob.AccountID(), dar); err != nil {
		t.Fatal(err)
	}
	sent, err := alice.SendText(ctx, bob.AccountID(), "read me")
	if err != nil {
		t.Fatal(err)
	}
	if sent.SyncHash == "" || sent.SyncErr != nil {
		t.Fatalf("no sync copy: %v", sent.SyncErr)
	}
	if exp := swarmExpiry(t, alice.Client, sent.SyncHash); !near(exp, sent.Timestamp.Add(dar.Timer), 5*time.Second) {
		t.Fatalf("our sync copy expires %v, sent %v with a %v after-read timer", exp, sent.Timestamp, dar.Timer)
	}
	m := gWait(t, alice2, func(m *Message) bool { return m.Sync && m.Text == "read me" })
	if !near(m.ExpiresAt, sent.Timestamp.Add(dar.Timer), 5*time.Second) {
		t.Fatalf("the other device sees it expire at %v, sent %v", m.ExpiresAt, sent.Timestamp)
	}
	// The recipient's copy waits for the read.
	rm := gWait(t, bob, func(m *Message) bool { return m.Text == "read me" })
	if exp := swarmExpiry(t, bob.Client, rm.Hash); exp.Before(time.Now().Add(time.Hour)) {
		t.Fatalf("unread copy already expires at %v", exp)
	}
}
