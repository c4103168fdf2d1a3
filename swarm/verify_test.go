package swarm

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestVerifyMessages(t *testing.T) {
	acct := testKeys(t, 9).AccountID()
	now := time.UnixMilli(1_800_000_000_000)
	msg := func(ns Namespace, data string, ts, exp time.Time) Message {
		return Message{Hash: MessageHash(acct, ns, []byte(data)), Timestamp: ts, Expiration: exp, Data: []byte(data)}
	}
	good := msg(0, "good", now.Add(-time.Minute), now.Add(time.Hour))
	forged := good
	forged.Hash = strings.Repeat("A", 43)
	corrupt := good
	corrupt.Data = []byte("bad!")
	other := msg(NamespaceContacts, "config pushed into 0", now.Add(-time.Minute), now.Add(time.Hour))
	junkExp := msg(0, "junk expiry", now, now.Add(MaxTTL+time.Hour))
	expired := msg(0, "expired", now.Add(-2*time.Hour), now.Add(-time.Hour))
	future := msg(0, "future", now.Add(time.Hour), now.Add(2*time.Hour))
	seconds := msg(0, "seconds", time.UnixMilli(now.Unix()), now.Add(time.Hour))
	big := msg(0, strings.Repeat("x", MaxMessageSize+1), now, now.Add(time.Hour))
	last := msg(0, "last good", now, now.Add(MaxTTL))
	res := &RetrieveResult{Messages: []Message{good, forged, corrupt, other, junkExp, expired, good, future, seconds, big, last, forged}}
	if o := res.Verify(acct, 0, now); o != OffenseBadMessage {
		t.Fatalf("offense %v", o)
	}
	if len(res.Messages) != 2 || res.Messages[0].Hash != good.Hash || res.Messages[1].Hash != last.Hash {
		t.Fatalf("kept %v", res.Messages)
	}
	want := []error{ErrHashMismatch, ErrHashMismatch, ErrOtherNamespace, ErrImpossibleExpiry, ErrExpired, ErrDuplicate,
		ErrBadTimestamp, ErrBadTimestamp, ErrMessageTooLarge, ErrHashMismatch}
	if len(res.Dropped) != len(want) {
		t.Fatalf("dropped %v", res.Dropped)
	}
	for i, d := range res.Dropped {
		if !errors.Is(d.Reason, want[i]) {
			t.Errorf("dropped %d: %v, want %v", i, d.Reason, want[i])
		}
	}
	// The resume point is the last genuine hash, never a forged one.
	if res.LastHash != last.Hash {
		t.Fatalf("last hash %q", res.LastHash)
	}
	// A reply of forged hashes only has no resume point; one whose only genuine message was
	// dropped for its namespace resumes after it.
	r2 := &RetrieveResult{Messages: []Message{forged}}
	if r2.Verify(acct, 0, now); r2.LastHash != "" || len(r2.Messages) != 0 {
		t.Fatalf("%+v", r2)
	}
	r3 := &RetrieveResult{Messages: []Message{good, other}}
	if o := r3.Verify(acct, 0, now); o != 0 || r3.LastHash != other.Hash || len(r3.Messages) != 1 {
		t.Fatalf("%v %+v", o, r3)
	}
	// Clock offenses only: expired messages.
	r4 := &RetrieveResult{Messages: []Message{expired}}
	if o := r4.Verify(acct, 0, now); o != OffenseClock {
		t.Fatalf("offense %v", o)
	}
}
