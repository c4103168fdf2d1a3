package devnet

import (
	"encoding/base64"
	"sort"
	"strconv"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// account is a 33-byte storage account: network prefix + 32-byte key.
type account [33]byte

func (a account) key() (k [32]byte) { copy(k[:], a[1:]); return k }

// message is one stored row. seq is the row id: retrieval order is insertion order.
type message struct {
	owner     account
	ns        int16
	hash      string
	timestamp int64
	expiry    int64
	data      []byte
	seq       uint64
}

// messageHash is the storage server's message hash: unpadded standard base64 of BLAKE2b-256 over
// prefix || key32 || ns_str || data, with ns_str empty for namespace 0.
func messageHash(owner account, ns int16, data []byte) string {
	h, _ := blake2b.New256(nil)
	h.Write(owner[:])
	h.Write([]byte(nsString(ns)))
	h.Write(data)
	return base64.RawStdEncoding.EncodeToString(h.Sum(nil))
}

// nsString is the namespace as it appears in hashes and signature strings: "" for 0.
func nsString(ns int16) string {
	if ns == 0 {
		return ""
	}
	return strconv.Itoa(int(ns))
}

const maxRevoked = 50

// store is one node's message database, in memory. Expired rows are invisible to every read and
// are swept on writes.
type store struct {
	mu        sync.Mutex
	seq       uint64
	lastSweep int64
	byHash    map[string]*message
	byOwner   map[account][]*message // in seq order
	revoked   map[account][][36]byte // oldest first, at most maxRevoked
	stored    []message              // the last maxHistory messages ever stored (for Faults.ReplayOld)
}

// maxHistory bounds the messages a store remembers having held.
const maxHistory = 1024

func newStore() *store {
	return &store{
		byHash:  map[string]*message{},
		byOwner: map[account][]*message{},
		revoked: map[account][][36]byte{},
	}
}

// sweepInterval is how often expired rows are physically removed (the real server sweeps every
// 10 s); reads filter expired rows regardless.
const sweepInterval = 10_000

// sweepLocked deletes every row with expiry <= now, at most once per sweepInterval.
func (s *store) sweepLocked(now int64) {
	if now-s.lastSweep < sweepInterval && now >= s.lastSweep {
		return
	}
	s.lastSweep = now
	for owner := range s.byOwner {
		s.removeLocked(owner, func(m *message) bool { return m.expiry <= now })
	}
}

// removeLocked removes the owner's messages that drop selects.
func (s *store) removeLocked(owner account, drop func(m *message) bool) {
	list := s.byOwner[owner]
	kept := list[:0]
	for _, m := range list {
		if drop(m) {
			delete(s.byHash, m.hash)
			continue
		}
		kept = append(kept, m)
	}
	for i := len(kept); i < len(list); i++ {
		list[i] = nil
	}
	if len(kept) == 0 {
		delete(s.byOwner, owner)
	} else {
		s.byOwner[owner] = kept
	}
}

// put stores a message, or extends the expiry of an existing one with the same hash. It returns
// the stored expiry and whether the row already existed.
func (s *store) put(m message, now int64) (expiry int64, already bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	if old, ok := s.byHash[m.hash]; ok {
		if m.expiry > old.expiry {
			old.expiry = m.expiry
		}
		return old.expiry, true
	}
	s.seq++
	m.seq = s.seq
	p := &m // m.data is never written after parsing, so swarm members share it
	s.byHash[m.hash] = p
	s.byOwner[m.owner] = append(s.byOwner[m.owner], p)
	if len(s.stored) >= maxHistory {
		s.stored = append(s.stored[:0], s.stored[1:]...)
	}
	s.stored = append(s.stored, m)
	return m.expiry, false
}

// history returns the messages of owner in ns that the store ever held (the last maxHistory).
func (s *store) history(owner account, ns int16) []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []message
	for _, m := range s.stored {
		if m.owner == owner && m.ns == ns {
			out = append(out, m)
		}
	}
	return out
}

// has reports whether a live message with hash is held.
func (s *store) has(hash string, now int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.byHash[hash]
	return ok && m.expiry > now
}

// putBulk inserts pushed messages, ignoring any hash already present (ON CONFLICT DO NOTHING).
func (s *store) putBulk(ms []message, now int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range ms {
		if m.expiry <= now {
			continue
		}
		if _, ok := s.byHash[m.hash]; ok {
			continue
		}
		s.seq++
		m.seq = s.seq
		p := &m
		s.byHash[m.hash] = p
		s.byOwner[m.owner] = append(s.byOwner[m.owner], p)
	}
}

// all returns a copy of every live message.
func (s *store) all(now int64) []message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []message
	for _, list := range s.byOwner {
		for _, m := range list {
			if m.expiry > now {
				out = append(out, *m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq < out[j].seq })
	return out
}

// list visits the live messages of owner in namespace ns, in row order, after the row holding
// lastHash in that namespace (from the start when lastHash is empty or not found), until visit
// returns false.
func (s *store) list(owner account, ns int16, lastHash string, now int64, visit func(m message) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msgs := s.byOwner[owner]
	start := 0
	if m, ok := s.byHash[lastHash]; ok && lastHash != "" && m.owner == owner && m.ns == ns {
		start = sort.Search(len(msgs), func(i int) bool { return msgs[i].seq > m.seq })
	}
	for _, m := range msgs[start:] {
		if m.ns != ns || m.expiry <= now {
			continue
		}
		if !visit(*m) {
			return
		}
	}
}

// deleteWhere removes the owner's live messages that match selects and returns their hashes
// grouped by namespace.
func (s *store) deleteWhere(owner account, now int64, match func(m *message) bool) map[int16][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	out := map[int16][]string{}
	s.removeLocked(owner, func(m *message) bool {
		if !match(m) {
			return false
		}
		out[m.ns] = append(out[m.ns], m.hash)
		return true
	})
	return out
}

// update applies fn to each live message of owner selected by match, under the lock.
func (s *store) update(owner account, now int64, fn func(m *message)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked(now)
	for _, m := range s.byOwner[owner] {
		fn(m)
	}
}

// expiries returns the expiry of each listed hash that the owner has.
func (s *store) expiries(owner account, hashes []string, now int64) map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int64{}
	for _, h := range hashes {
		if m, ok := s.byHash[h]; ok && m.owner == owner && m.expiry > now {
			out[h] = m.expiry
		}
	}
	return out
}

func (s *store) isRevoked(owner account, token [36]byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.revoked[owner] {
		if t == token {
			return true
		}
	}
	return false
}

func (s *store) revoke(owner account, tokens [][36]byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.revoked[owner]
	for _, tok := range tokens {
		dup := false
		for _, t := range list {
			if t == tok {
				dup = true
				break
			}
		}
		if !dup {
			list = append(list, tok)
		}
	}
	if len(list) > maxRevoked {
		list = append([][36]byte(nil), list[len(list)-maxRevoked:]...)
	}
	s.revoked[owner] = list
}

func (s *store) unrevoke(owner account, tokens [][36]byte) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := s.revoked[owner]
	n := 0
	kept := list[:0]
	for _, t := range list {
		drop := false
		for _, tok := range tokens {
			if t == tok {
				drop = true
				break
			}
		}
		if drop {
			n++
			continue
		}
		kept = append(kept, t)
	}
	s.revoked[owner] = kept
	return n
}

func (s *store) count(now int64) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.byHash {
		if m.expiry > now {
			n++
		}
	}
	return n
}
