package store

import (
	"context"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// Memory is a Store that keeps everything in memory: for tests and bots that may forget
// everything when they stop. The zero value is not usable; call NewMemory.
type Memory struct {
	mu       sync.Mutex
	accounts map[crypto.AccountID]Account
	cursors  map[Cursor]string
	msgs     map[crypto.AccountID]map[string]*memMsg
	seq      uint64
	kv       map[[2]string][]byte
}

type memMsg struct {
	in      Incoming
	seq     uint64
	handled bool
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		accounts: map[crypto.AccountID]Account{},
		cursors:  map[Cursor]string{},
		msgs:     map[crypto.AccountID]map[string]*memMsg{},
		kv:       map[[2]string][]byte{},
	}
}

var _ Store = (*Memory)(nil)

// PutAccount implements AccountStore.
func (m *Memory) PutAccount(ctx context.Context, a Account) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
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
	if err := ctx.Err(); err != nil {
		return Account{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	a, ok := m.accounts[id]
	if !ok {
		return Account{}, ErrNotFound
	}
	return a, nil
}

// Accounts implements AccountStore.
func (m *Memory) Accounts(ctx context.Context) ([]Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
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
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
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
	if err := ctx.Err(); err != nil {
		return "", err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cursors[c], nil
}

// SaveRetrieved implements InboxStore.
func (m *Memory) SaveRetrieved(ctx context.Context, c Cursor, msgs []Incoming, lastHash string) ([]Incoming, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	box := m.msgs[c.Account]
	if box == nil {
		box = map[string]*memMsg{}
		m.msgs[c.Account] = box
	}
	var fresh []Incoming
	for _, in := range msgs {
		if _, seen := box[in.Hash]; seen {
			continue
		}
		in.Data = append([]byte(nil), in.Data...)
		m.seq++
		box[in.Hash] = &memMsg{in: in, seq: m.seq}
		fresh = append(fresh, in)
	}
	if lastHash != "" {
		m.cursors[c] = lastHash
	}
	return fresh, nil
}

// Pending implements InboxStore.
func (m *Memory) Pending(ctx context.Context, account crypto.AccountID) ([]Incoming, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
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
	}
	return out, nil
}

// MarkHandled implements InboxStore.
func (m *Memory) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if mm, ok := m.msgs[account][hash]; ok {
		mm.handled = true
		mm.in.Data = nil
	}
	return nil
}

// SaveHandled implements InboxStore.
func (m *Memory) SaveHandled(ctx context.Context, account crypto.AccountID, in Incoming) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	box := m.msgs[account]
	if box == nil {
		box = map[string]*memMsg{}
		m.msgs[account] = box
	}
	in.Data = nil
	if mm, ok := box[in.Hash]; ok {
		mm.handled, mm.in.Data = true, nil
		return nil
	}
	m.seq++
	box[in.Hash] = &memMsg{in: in, seq: m.seq, handled: true}
	return nil
}

// Prune implements InboxStore.
func (m *Memory) Prune(ctx context.Context, t time.Time) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, box := range m.msgs {
		for h, mm := range box {
			if mm.handled && !mm.in.Expiry.IsZero() && mm.in.Expiry.Before(t) {
				delete(box, h)
			}
		}
	}
	return nil
}

// GetValue implements KVStore.
func (m *Memory) GetValue(ctx context.Context, bucket, key string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.kv[[2]string{bucket, key}]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]byte(nil), v...), nil
}

// PutValue implements KVStore.
func (m *Memory) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.kv[[2]string{bucket, key}] = append([]byte(nil), value...)
	return nil
}

// DeleteValue implements KVStore.
func (m *Memory) DeleteValue(ctx context.Context, bucket, key string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.kv, [2]string{bucket, key})
	return nil
}

// Close implements Store; a Memory store needs no closing.
func (m *Memory) Close() error { return nil }
