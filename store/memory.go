package store

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// Memory is a Store that keeps everything in memory: for tests and bots that may forget
// everything when they stop. Its leases work between the Clients of one process. The zero value
// is not usable; call NewMemory.
type Memory struct {
	mu       sync.Mutex
	accounts map[crypto.AccountID]Account
	cursors  map[Cursor]string
	msgs     map[crypto.AccountID]map[string]*memMsg
	seq      uint64
	kv       map[[2]string][]byte
	leases   map[string]Lease
	history  map[string][]LeaseRecord
	maxSeen  int
}

type memMsg struct {
	in        Incoming
	seq       uint64
	handled   bool
	keepUntil time.Time
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...Option) *Memory {
	return &Memory{
		maxSeen:  ApplyOptions(opts).MaxSeenPerAccount,
		accounts: map[crypto.AccountID]Account{},
		cursors:  map[Cursor]string{},
		msgs:     map[crypto.AccountID]map[string]*memMsg{},
		kv:       map[[2]string][]byte{},
		leases:   map[string]Lease{},
		history:  map[string][]LeaseRecord{},
	}
}

var _ Store = (*Memory)(nil)

// lock takes the store's lock for a call under ctx and, for a write fenced by its ctx (see
// FenceOf), checks the lease.
func (m *Memory) lock(ctx context.Context, write bool) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if fence, ok := FenceOf(ctx); ok && write {
		if err := m.checkLeaseLocked(fence, time.Now()); err != nil {
			m.mu.Unlock()
			return nil, err
		}
	}
	return m.mu.Unlock, nil
}

// PutAccount implements AccountStore.
func (m *Memory) PutAccount(ctx context.Context, a Account) error {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	if old, ok := m.accounts[a.ID]; ok && a.CreatedAt.IsZero() {
		a.CreatedAt = old.CreatedAt
	}
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	m.accounts[a.ID] = a
	return nil
}

// GetAccount implements AccountStore.
func (m *Memory) GetAccount(ctx context.Context, id crypto.AccountID) (Account, error) {
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return Account{}, err
	}
	defer unlock()
	a, ok := m.accounts[id]
	if !ok {
		return Account{}, ErrNotFound
	}
	return a, nil
}

// Accounts implements AccountStore.
func (m *Memory) Accounts(ctx context.Context) ([]Account, error) {
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	out := make([]Account, 0, len(m.accounts))
	for _, a := range m.accounts {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ID.String() < out[j].ID.String()
	})
	return out, nil
}

// DeleteAccount implements AccountStore.
func (m *Memory) DeleteAccount(ctx context.Context, id crypto.AccountID) error {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	delete(m.accounts, id)
	delete(m.msgs, id)
	for c := range m.cursors {
		if c.Account == id {
			delete(m.cursors, c)
		}
	}
	prefix := id.String() + "/"
	for k := range m.kv {
		if strings.HasPrefix(k[1], prefix) {
			delete(m.kv, k)
		}
	}
	return nil
}

// LastHash implements InboxStore.
func (m *Memory) LastHash(ctx context.Context, c Cursor) (string, error) {
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return "", err
	}
	defer unlock()
	return m.cursors[c], nil
}

// SaveRetrieved implements InboxStore.
func (m *Memory) SaveRetrieved(ctx context.Context, c Cursor, msgs []Incoming, lastHash string) ([]Incoming, error) {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return nil, err
	}
	defer unlock()
	box := m.box(c.Account)
	now := time.Now()
	var fresh []Incoming
	for _, in := range msgs {
		if _, seen := box[in.Hash]; seen {
			continue
		}
		in.Data = append([]byte(nil), in.Data...)
		m.seq++
		box[in.Hash] = &memMsg{in: in, seq: m.seq, keepUntil: SeenUntil(now)}
		fresh = append(fresh, in)
	}
	if lastHash != "" {
		m.cursors[c] = lastHash
	}
	m.boundLocked(box)
	return fresh, nil
}

func (m *Memory) box(account crypto.AccountID) map[string]*memMsg {
	box := m.msgs[account]
	if box == nil {
		box = map[string]*memMsg{}
		m.msgs[account] = box
	}
	return box
}

// boundLocked keeps at most maxSeen records in box, forgetting the oldest handled ones (see
// Evict).
func (m *Memory) boundLocked(box map[string]*memMsg) {
	excess := Evict(len(box), m.maxSeen)
	if excess == 0 {
		return
	}
	var handled []*memMsg
	for _, mm := range box {
		if mm.handled {
			handled = append(handled, mm)
		}
	}
	sort.Slice(handled, func(i, j int) bool { return handled[i].seq < handled[j].seq })
	for _, mm := range handled[:min(excess, len(handled))] {
		delete(box, mm.in.Hash)
	}
}

// Pending implements InboxStore.
func (m *Memory) Pending(ctx context.Context, account crypto.AccountID) ([]Incoming, error) {
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var list []*memMsg
	for _, mm := range m.msgs[account] {
		if !mm.handled {
			list = append(list, mm)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].seq < list[j].seq })
	out := make([]Incoming, len(list))
	for i, mm := range list {
		out[i] = mm.in
		out[i].Data = append([]byte(nil), mm.in.Data...)
		out[i].Saved = SavedAt(mm.keepUntil)
	}
	return out, nil
}

// MarkHandled implements InboxStore.
func (m *Memory) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	if mm, ok := m.msgs[account][hash]; ok {
		mm.handled = true
		mm.in.Data = nil
	}
	return nil
}

// SaveHandled implements InboxStore.
func (m *Memory) SaveHandled(ctx context.Context, account crypto.AccountID, in Incoming) error {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	box := m.box(account)
	in.Data = nil
	if mm, ok := box[in.Hash]; ok {
		mm.handled, mm.in.Data = true, nil
		return nil
	}
	m.seq++
	box[in.Hash] = &memMsg{in: in, seq: m.seq, handled: true, keepUntil: SeenUntil(time.Now())}
	m.boundLocked(box)
	return nil
}

// Prune implements InboxStore.
func (m *Memory) Prune(ctx context.Context, now time.Time) error {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	for _, box := range m.msgs {
		for h, mm := range box {
			if mm.handled && mm.keepUntil.Before(now) {
				delete(box, h)
			}
		}
	}
	horizon := now.Add(-MaxMessageTTL)
	for name, recs := range m.history {
		keep := recs[:0]
		for _, r := range recs {
			if !r.Ended.Before(horizon) {
				keep = append(keep, r)
			}
		}
		m.history[name] = keep
	}
	return nil
}

// GetValue implements KVStore.
func (m *Memory) GetValue(ctx context.Context, bucket, key string) ([]byte, error) {
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	v, ok := m.kv[[2]string{bucket, key}]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

// PutValue implements KVStore.
func (m *Memory) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	m.kv[[2]string{bucket, key}] = append([]byte(nil), value...)
	return nil
}

// DeleteValue implements KVStore.
func (m *Memory) DeleteValue(ctx context.Context, bucket, key string) error {
	unlock, err := m.lock(ctx, true)
	if err != nil {
		return err
	}
	defer unlock()
	delete(m.kv, [2]string{bucket, key})
	return nil
}

// Close implements Store; a Memory store needs no closing.
func (m *Memory) Close() error { return nil }

// Leases: by this process's clock.

func (m *Memory) checkLeaseLocked(l Lease, now time.Time) error {
	cur, ok := m.leases[l.Name]
	switch {
	case !ok || cur.Generation != l.Generation || cur.Holder != l.Holder:
		why := "never granted"
		if ok {
			why = "now generation " + strconv.FormatInt(cur.Generation, 10) + " of " + cur.Holder
		}
		return &LostError{Lease: l, Why: why}
	case !cur.Expires.After(now):
		return &LostError{Lease: l, Why: "expired at " + cur.Expires.Format(time.RFC3339Nano)}
	}
	return nil
}

// AcquireLease implements LeaseStore.
func (m *Memory) AcquireLease(ctx context.Context, req LeaseRequest) (Lease, error) {
	if err := CheckLeaseRequest(req); err != nil {
		return Lease{}, err
	}
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return Lease{}, err
	}
	defer unlock()
	now := time.Now()
	cur, held := m.leases[req.Name]
	if held && cur.Expires.After(now) && (req.Replace == 0 || req.Replace != cur.Generation) {
		return Lease{}, &HeldError{Name: req.Name, Holder: cur.Holder, Generation: cur.Generation, Expires: cur.Expires}
	}
	gen := int64(1)
	if held {
		// The current record keeps the generation even after the history is pruned.
		gen = cur.Generation + 1
		if cur.Expires.After(now) {
			m.setEndedLocked(cur, now, false) // taken over (Replace) before it expired
		}
	}
	l := Lease{Name: req.Name, Holder: req.Holder, Generation: gen, Acquired: now, Expires: now.Add(req.TTL)}
	m.leases[req.Name] = l
	m.history[req.Name] = append(m.history[req.Name], LeaseRecord{Name: l.Name, Holder: l.Holder,
		Generation: gen, Acquired: now, Ended: l.Expires})
	return l, nil
}

// RenewLease implements LeaseStore.
func (m *Memory) RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error) {
	if err := CheckLeaseTTL(ttl); err != nil {
		return Lease{}, err
	}
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return Lease{}, err
	}
	defer unlock()
	now := time.Now()
	if err := m.checkLeaseLocked(l, now); err != nil {
		return Lease{}, err
	}
	cur := m.leases[l.Name]
	cur.Expires = now.Add(ttl)
	m.leases[l.Name] = cur
	m.setEndedLocked(cur, cur.Expires, false)
	return cur, nil
}

// RenewLeases implements LeaseStore.
func (m *Memory) RenewLeases(ctx context.Context, ls []Lease, ttl time.Duration) ([]Lease, error) {
	if err := CheckLeaseTTL(ttl); err != nil {
		return nil, err
	}
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := time.Now()
	var out []Lease
	for _, l := range ls {
		if m.checkLeaseLocked(l, now) != nil {
			continue
		}
		cur := m.leases[l.Name]
		cur.Expires = now.Add(ttl)
		m.leases[l.Name] = cur
		m.setEndedLocked(cur, cur.Expires, false)
		out = append(out, cur)
	}
	return out, nil
}

func (m *Memory) setEndedLocked(l Lease, ended time.Time, released bool) {
	recs := m.history[l.Name]
	for i := len(recs) - 1; i >= 0; i-- {
		if recs[i].Generation == l.Generation {
			recs[i].Ended, recs[i].Released = ended, released
			return
		}
	}
}

// ReleaseLease implements LeaseStore.
func (m *Memory) ReleaseLease(ctx context.Context, l Lease) error {
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return err
	}
	defer unlock()
	now := time.Now()
	if m.checkLeaseLocked(l, now) != nil {
		return nil
	}
	cur := m.leases[l.Name]
	cur.Expires = now
	m.leases[l.Name] = cur
	m.setEndedLocked(cur, now, true)
	return nil
}

// Leases implements LeaseStore.
func (m *Memory) Leases(ctx context.Context) ([]Lease, error) {
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	now := time.Now()
	var out []Lease
	for _, l := range m.leases {
		if l.Expires.After(now) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// LeaseHistory implements LeaseStore.
func (m *Memory) LeaseHistory(ctx context.Context, name string) ([]LeaseRecord, error) {
	unlock, err := m.lock(ctx, false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []LeaseRecord
	for n, recs := range m.history {
		if name == "" || n == name {
			out = append(out, recs...)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Generation < out[j].Generation
	})
	return out, nil
}
