package session

import (
	"strings"
	"testing"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

func TestPositions(t *testing.T) {
	a, b, c := [32]byte{1}, [32]byte{2}, [32]byte{3}
	// The single-entry form earlier versions stored still reads.
	old := strings.Repeat("01", 1) + strings.Repeat("00", 31) + ":hashA"
	ps := parsePositions(old)
	if ps.current() != a || ps.last(a) != "hashA" || ps.last(b) != "" {
		t.Fatalf("old form: %+v", ps)
	}
	ps = ps.with(b, "hashB").with(a, "hashA2").with(c, "hashC")
	got := parsePositions(ps.String())
	if got.current() != c || got.last(a) != "hashA2" || got.last(b) != "hashB" || got.last(c) != "hashC" || len(got) != 3 {
		t.Fatalf("round trip: %+v", got)
	}
	for _, bad := range []string{"", ":", "zz:h", "01:h", strings.Repeat("00", 32) + ":", ",,,"} {
		if ps := parsePositions(bad); len(ps) != 0 {
			t.Errorf("%q read as %+v", bad, ps)
		}
	}
	// Bounded, whatever the store holds.
	var many positions
	for i := 0; i < 3*maxPositions; i++ {
		many = many.with([32]byte{byte(i), 9}, "h")
	}
	if len(many) != maxPositions || len(parsePositions(strings.Repeat(many.String()+",", 3))) != maxPositions {
		t.Fatalf("%d positions kept", len(many))
	}
}

func TestNextMember(t *testing.T) {
	ms := []swarm.Node{{Ed25519: [32]byte{3}}, {Ed25519: [32]byte{1}}, {Ed25519: [32]byte{2}}}
	seen := map[[32]byte]bool{}
	m := [32]byte{9} // not a member: start with the first
	for i := 0; i < 3; i++ {
		m = nextMember(ms, m)
		seen[m] = true
	}
	if len(seen) != 3 {
		t.Fatalf("rotation visited %d of 3 members", len(seen))
	}
	if nextMember(nil, m) != m {
		t.Fatal("no members: keep the current one")
	}
}

func TestRotationDue(t *testing.T) {
	var r rotationCounter
	me, gid, inbox := crypto.AccountID{0x05, 1}, crypto.AccountID{0x03, 2}, crypto.AccountID{0x03, 3}
	own := store.Cursor{Account: me, Swarm: me}
	group := store.Cursor{Account: inbox, Swarm: gid, Namespace: 11}
	nOwn, nGroup := 0, 0
	for i := 0; i < 3*rotateEvery; i++ { // interleaved: each cursor counts its own polls
		if r.due(own) {
			nOwn++
		}
		if r.due(group) {
			nGroup++
		}
	}
	if nOwn != 3 || nGroup != 3 || r.due(store.Cursor{Account: inbox, Swarm: gid, Namespace: 12}) {
		t.Fatalf("%d and %d rotations in %d polls", nOwn, nGroup, 3*rotateEvery)
	}
	if _, ok := r.n[own]; ok || len(r.n) != 2 {
		t.Fatalf("cursors in the map: %v (our own swarm's is counted without it)", r.n)
	}
}

func FuzzParsePositions(f *testing.F) {
	f.Add(strings.Repeat("ab", 32) + ":h1," + strings.Repeat("cd", 32) + ":h2")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		ps := parsePositions(s)
		if len(ps) > maxPositions {
			t.Fatalf("%d positions", len(ps))
		}
		again := parsePositions(ps.String())
		if again.String() != ps.String() {
			t.Fatalf("round trip %q -> %q", ps.String(), again.String())
		}
	})
}
