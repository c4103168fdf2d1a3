// Package store persists what a Session client must not lose across restarts: account keys, the
// last message hash per polled namespace, messages fetched but not yet handled, the node pool and
// swarms, group and community state, and the account leases that keep each account in one
// process at a time.
//
// Each concern is a small interface, so an application can keep some things in its own database
// and let the SDK keep the rest. Memory (for tests and short-lived bots) is here; SQLite (pure
// Go, one file) is in store/sqlite and PostgreSQL (for fleets of processes sharing one database)
// in store/postgres, apart so that a program links only the database it uses. Every
// implementation passes the conformance suite in store/storetest.
//
// Every method takes a context first and is safe for concurrent use.
package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// ErrNotFound reports that a looked-up record does not exist.
var ErrNotFound = errors.New("store: not found")

// Account is an account kept in a store. Seed is secret: the store keeps it as given, so protect
// the database as you would the Recovery Password. An Account never shows its seed when
// formatted (under any fmt verb) or marshalled to JSON.
type Account struct {
	ID   crypto.AccountID
	Seed Seed // the Ed25519 seed (a 16-byte Session seed is zero-padded)
	// Name is an optional label chosen by the application (e.g. a bot's name).
	Name      string
	CreatedAt time.Time
}

// Keys derives the account's keys from its seed.
func (a Account) Keys() (*crypto.Keys, error) { return crypto.KeysFromSeed(a.Seed[:]) }

// String never shows the seed.
func (a Account) String() string {
	s := "store.Account{ID: " + a.ID.String()
	if a.Name != "" {
		s += ", Name: " + strconv.Quote(a.Name)
	}
	return s + ", Seed: " + redacted + "}"
}

// GoString (the %#v verb) never shows the seed.
func (a Account) GoString() string { return a.String() }

// Format prints the account as String does under every verb (%v, %+v, %#v, %s, %q, %x, ...), so
// that the seed never reaches a log.
func (a Account) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(a.String()))
		return
	}
	fmt.Fprint(f, a.String())
}

// MarshalJSON writes the account without its seed.
func (a Account) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID        string    `json:"id"`
		Name      string    `json:"name,omitempty"`
		CreatedAt time.Time `json:"created_at"`
		Seed      string    `json:"seed"`
	}{a.ID.String(), a.Name, a.CreatedAt, redacted})
}

const redacted = "[redacted]"

// Seed is an account's secret Ed25519 seed. It formats as "[redacted]" under every verb and in
// JSON; use Seed[:] for the bytes.
type Seed [32]byte

// String never shows the seed.
func (Seed) String() string { return redacted }

// GoString never shows the seed.
func (Seed) GoString() string { return "store.Seed{" + redacted + "}" }

// Format prints "[redacted]" under every verb.
func (Seed) Format(f fmt.State, verb rune) { fmt.Fprint(f, redacted) }

// MarshalJSON writes "[redacted]".
func (Seed) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// AccountStore keeps accounts and their keys.
type AccountStore interface {
	// PutAccount adds an account or replaces the one with the same ID.
	PutAccount(ctx context.Context, a Account) error
	// GetAccount returns the account with id, or ErrNotFound.
	GetAccount(ctx context.Context, id crypto.AccountID) (Account, error)
	// Accounts returns every account, oldest first.
	Accounts(ctx context.Context) ([]Account, error)
	// DeleteAccount removes an account and everything stored for it (its messages, cursors and
	// the KV records whose keys begin with its ID and "/"). Deleting an unknown account is not
	// an error.
	DeleteAccount(ctx context.Context, id crypto.AccountID) error
}

// Incoming is a message as retrieved from a swarm, before it is handled.
type Incoming struct {
	Hash      string // the storage server's message hash
	Namespace int16
	Data      []byte // as stored in the swarm (after base64 decoding)
	Timestamp time.Time
	Expiry    time.Time
	// Saved is when the store first saved the record, by its own clock: Pending fills it (from
	// the record's SeenUntil), SaveRetrieved and SaveHandled ignore it. A client uses it to tell
	// a message that was already older than any swarm keeps one when it was retrieved (a node
	// serving it again: a replay) from one that merely waited, pending, through a long outage.
	Saved time.Time
}

// SavedAt returns when a record kept until keepUntil (SeenUntil of its save) was saved.
func SavedAt(keepUntil time.Time) time.Time { return keepUntil.Add(-(MaxMessageTTL + PruneMargin)) }

// Cursor names one polled namespace of one swarm for one account: our own swarm, or a group's.
type Cursor struct {
	Account   crypto.AccountID // who polls
	Swarm     crypto.AccountID // whose swarm (our 05 ID or a group's 03 ID)
	Namespace int16
}

// Bounds of the inbox bookkeeping: what a store keeps per account, whatever nodes send.
const (
	// MaxMessageTTL is the longest a storage server keeps a message (30 days; 1:1 inboxes 14
	// days). A seen-message record is kept for this long after it was saved, plus PruneMargin,
	// whatever expiry a node claims (see SeenUntil).
	MaxMessageTTL = 30 * 24 * time.Hour
	// PruneMargin is added to MaxMessageTTL before Prune may forget a seen-message record, so
	// that a local clock behind the network's does not make a message still in the swarm look
	// new again.
	PruneMargin = 48 * time.Hour
	// MaxSeenPerAccount bounds the records (pending and handled) kept for one store account (an
	// account's own inbox, or one of its group inboxes). Beyond it, the oldest handled records
	// are forgotten first (a tenth more than needed, so that the cost is paid rarely); pending
	// messages are never dropped. A record without data takes about 150 bytes, so a flood of
	// junk costs at most ~30 MB per account before the oldest records go. Forgetting a record
	// only matters if the same message is retrieved again from the start of a swarm member,
	// which then delivers it again.
	MaxSeenPerAccount = 200_000
)

// SeenUntil returns when a seen-message record saved at savedAt (the store's own clock) may be
// forgotten: savedAt + MaxMessageTTL + PruneMargin. Implementations store it with the record;
// Prune compares it with the time it is given.
//
// The expiry a node reports for a message plays no part: it proves nothing, and a node that
// claimed an early one could have the record pruned and then serve the message again, which
// would look new and be delivered a second time. No swarm keeps a message longer than
// MaxMessageTTL, and a Client refuses a message sent before its own now − (MaxMessageTTL +
// PruneMargin), so a record kept this long outlives every copy that could be replayed.
func SeenUntil(savedAt time.Time) time.Time {
	return savedAt.Add(MaxMessageTTL + PruneMargin)
}

// InboxStore keeps the polling position and the messages between "fetched" and "handled".
//
// A client saves every batch it retrieves with SaveRetrieved, which in one step records the new
// messages as pending and moves the cursor's last hash. It then handles Pending messages and calls
// MarkHandled for each. A crash at any point loses nothing (pending messages are handled after a
// restart) and a message is never handed out twice once MarkHandled has returned.
//
// Records are bounded per account: each handled record is kept until SeenUntil of the time it
// was saved (MaxMessageTTL+PruneMargin later, whatever expiry a node claims: an early one must
// not let a node replay the message once its record is gone), and an account keeps at most
// MaxSeenPerAccount of them.
type InboxStore interface {
	// LastHash returns the last hash saved for the cursor, or "" if none.
	LastHash(ctx context.Context, c Cursor) (string, error)
	// SaveRetrieved atomically records the messages whose hash the account has not seen (in any
	// cursor) as pending and sets the cursor's last hash (unless lastHash is ""). It returns the
	// messages that were new, in the order given (a hash given twice counts once).
	SaveRetrieved(ctx context.Context, c Cursor, msgs []Incoming, lastHash string) ([]Incoming, error)
	// Pending returns the account's messages that are saved but not yet handled, oldest first.
	Pending(ctx context.Context, account crypto.AccountID) ([]Incoming, error)
	// MarkHandled drops a pending message's data and keeps its hash (until SeenUntil of the
	// time it was saved), so the same message retrieved again is recognised as seen.
	MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error
	// SaveHandled records a message as already handled (never pending), e.g. a copy of a
	// message we stored ourselves: retrieving it later yields nothing new.
	SaveHandled(ctx context.Context, account crypto.AccountID, m Incoming) error
	// Prune forgets handled records kept until before now. Pass the local clock (time.Now(), or
	// better a start time plus the monotonic time elapsed since, which no wall-clock jump
	// moves), never a clock learned from the network: a node lying about the time must not
	// make the client forget what it has seen.
	Prune(ctx context.Context, now time.Time) error
}

// KVStore keeps small opaque records under a namespaced key: the node pool, swarm caches and other
// state that its owner package encodes itself. Keys that begin with an account's ID and "/"
// belong to that account: DeleteAccount removes them.
type KVStore interface {
	// GetValue returns the value stored under (bucket, key), or ErrNotFound.
	GetValue(ctx context.Context, bucket, key string) ([]byte, error)
	// PutValue stores value under (bucket, key), replacing any previous one.
	PutValue(ctx context.Context, bucket, key string, value []byte) error
	// DeleteValue removes (bucket, key); removing a missing key is not an error.
	DeleteValue(ctx context.Context, bucket, key string) error
}

// Store is everything a Client persists.
type Store interface {
	AccountStore
	InboxStore
	KVStore
	LeaseStore
	// Close releases the store's resources. Closing a fenced view (see Fence) does nothing.
	Close() error
}

// Option configures a store implementation (NewMemory, store/sqlite, store/postgres).
type Option func(*Options)

// Options are the settings every implementation honours. Implementations read them with
// ApplyOptions.
type Options struct {
	// MaxSeenPerAccount bounds the records kept per store account (default
	// MaxSeenPerAccount).
	MaxSeenPerAccount int
}

// WithMaxSeenPerAccount sets the bound on the records kept per account (n > 0; tests use small
// ones).
func WithMaxSeenPerAccount(n int) Option {
	return func(o *Options) {
		if n > 0 {
			o.MaxSeenPerAccount = n
		}
	}
}

// ApplyOptions returns the options with defaults filled in.
func ApplyOptions(opts []Option) Options {
	o := Options{MaxSeenPerAccount: MaxSeenPerAccount}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Evict returns how many of an account's oldest handled records to forget when it holds n
// records under the bound max: none up to max, else the excess plus a tenth of max, so that
// eviction runs rarely.
func Evict(n, max int) int {
	if n <= max {
		return 0
	}
	return n - max + max/10
}
