package swarm

import (
	"testing"
	"time"
)

// The documented thresholds hold despite the decay: two "not found" or bad replies within two
// minutes ban, two further apart do not; one bad message or signature bans at once; clock
// disagreements alone take five close together.
func TestReputationThresholds(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	newRep := func() *reputation { return &reputation{now: func() time.Time { return now }} }
	key := [32]byte{1}
	for _, o := range []Offense{OffenseNotFound, OffenseBadReply} {
		r := newRep()
		if b, _ := r.report(key, o); b {
			t.Fatalf("%v: one offense banned", o)
		}
		now = now.Add(110 * time.Second)
		if b, newly := r.report(key, o); !b || !newly {
			t.Fatalf("%v: two within two minutes did not ban", o)
		}
		r = newRep()
		r.report(key, o)
		now = now.Add(7 * time.Minute)
		if b, _ := r.report(key, o); b {
			t.Fatalf("%v: two seven minutes apart banned", o)
		}
	}
	for _, o := range []Offense{OffenseBadMessage, OffenseBadSignature} {
		if b, _ := newRep().report(key, o); !b {
			t.Fatalf("%v: did not ban at once", o)
		}
	}
	r := newRep()
	for i := 1; i <= 5; i++ {
		b, _ := r.report(key, OffenseClock)
		if b != (i == 5) {
			t.Fatalf("clock offense %d: banned=%v", i, b)
		}
	}
	if !r.banned(key) {
		t.Fatal("not banned after five clock offenses")
	}
	now = now.Add(BanTime + time.Second)
	if r.banned(key) {
		t.Fatal("still banned after BanTime")
	}
}
