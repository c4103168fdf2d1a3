package session

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strings"
	"sync"

	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// rotateEvery is how often (in polls of one cursor) pollCursor asks the next swarm member
// instead of the one it stays with.
const rotateEvery = 6

// maxPositions bounds the members whose positions a cursor keeps (a swarm has 5 to 10).
const maxPositions = 12

// position is where one swarm member's answers stopped: the last hash it returned.
type position struct {
	member [32]byte
	last   string
}

// positions is a cursor's stored position: one entry per member read, the member polled now
// first. Its string form is "<member hex>:<last hash>" entries joined by ","; message hashes are
// base64, without ":" or ",". The single-entry form is what earlier versions stored.
type positions []position

func parsePositions(s string) positions {
	var ps positions
	for _, e := range strings.Split(s, ",") {
		h, l, ok := strings.Cut(e, ":")
		b, err := hex.DecodeString(h)
		if !ok || err != nil || len(b) != 32 || l == "" || len(ps) == maxPositions {
			continue
		}
		ps = append(ps, position{member: [32]byte(b), last: l})
	}
	return ps
}

func (ps positions) String() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(hex.EncodeToString(p.member[:]))
		b.WriteByte(':')
		b.WriteString(p.last)
	}
	return b.String()
}

// current is the member polled last (zero when none).
func (ps positions) current() [32]byte {
	if len(ps) == 0 {
		return [32]byte{}
	}
	return ps[0].member
}

// last is member's own last hash ("" when it was never read: read it from the start).
func (ps positions) last(member [32]byte) string {
	for _, p := range ps {
		if p.member == member {
			return p.last
		}
	}
	return ""
}

// with records member's new last hash and makes member the current one.
func (ps positions) with(member [32]byte, last string) positions {
	out := make(positions, 0, min(len(ps)+1, maxPositions))
	out = append(out, position{member: member, last: last})
	for _, p := range ps {
		if p.member != member && len(out) < maxPositions {
			out = append(out, p)
		}
	}
	return out
}

// nextMember is the member after cur in a fixed order of the swarm's members (the first when
// cur is not one of them).
func nextMember(members []swarm.Node, cur [32]byte) [32]byte {
	if len(members) == 0 {
		return cur
	}
	keys := make([][32]byte, len(members))
	for i, m := range members {
		keys[i] = m.Ed25519
	}
	slices.SortFunc(keys, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	i, found := slices.BinarySearchFunc(keys, cur, func(a, b [32]byte) int { return bytes.Compare(a[:], b[:]) })
	if !found {
		return keys[0]
	}
	return keys[(i+1)%len(keys)]
}

// rotationCounter counts the polls of each cursor (in memory: a restart starts over). The
// client polls one cursor of its own swarm (account and swarm are its ID; a group's cursor has
// the group's inbox ID as its account): it is counted in own, so that a client without groups
// holds no map.
type rotationCounter struct {
	mu  sync.Mutex
	own uint32
	n   map[store.Cursor]uint32
}

// due counts a poll of cur and reports whether this one goes to the next member.
func (r *rotationCounter) due(cur store.Cursor) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if cur.Account == cur.Swarm {
		r.own++
		return r.own%rotateEvery == 0
	}
	if r.n == nil {
		r.n = map[store.Cursor]uint32{}
	}
	r.n[cur]++
	return r.n[cur]%rotateEvery == 0
}
