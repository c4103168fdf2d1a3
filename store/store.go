// Package store persists what a Session client must not lose across restarts: account keys, the
// last message hash per polled namespace, messages fetched but not yet handled, the node pool and
// swarms, and later group and community state.
//
// Each concern is a small interface, so an application can keep some things in its own database
// and let the SDK keep the rest. Two implementations come with the SDK: Memory (for tests and
// short-lived bots) and SQLite (pure Go, one file for many accounts, numbered migrations), the
// default of the examples and sessionctl.
//
// Every method takes a context first and is safe for concurrent use.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// ErrNotFound reports that a looked-up record does not exist.
var ErrNotFound = errors.New("store: not found")

// Account is an account kept in a store. Seed is secret: the store keeps it as given, so protect
// the database file as you would the Recovery Password.
type Account struct {
	ID   crypto.AccountID
	Seed [32]byte // the Ed25519 seed (a 16-byte Session seed is zero-padded)
	// Name is an optional label chosen by the application (e.g. a bot's name).
	Name      string
	CreatedAt time.Time
}

// String never shows the seed.
func (a Account) String() string { return "store.Account{" + a.ID.String() + " " + a.Name + "}" }

// Keys derives the account's keys from its seed.
func (a Account) Keys() (*crypto.Keys, error) { return crypto.KeysFromSeed(a.Seed[:]) }

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
}

// Cursor names one polled namespace of one swarm for one account: our own swarm, or a group's.
type Cursor struct {
	Account   crypto.AccountID // who polls
	Swarm     crypto.AccountID // whose swarm (our 05 ID or a group's 03 ID)
	Namespace int16
}

// InboxStore keeps the polling position and the messages between "fetched" and "handled".
//
// A client saves every batch it retrieves with SaveRetrieved, which in one step records the new
// messages as pending and moves the cursor's last hash. It then handles Pending messages and calls
// MarkHandled for each. A crash at any point loses nothing (pending messages are handled after a
// restart) and a message is never handed out twice once MarkHandled has returned.
type InboxStore interface {
	// LastHash returns the last hash saved for the cursor, or "" if none.
	LastHash(ctx context.Context, c Cursor) (string, error)
	// SaveRetrieved atomically records the messages whose hash the account has not seen (in any
	// cursor) as pending and sets the cursor's last hash (unless lastHash is ""). It returns the
	// messages that were new, in the order given.
	SaveRetrieved(ctx context.Context, c Cursor, msgs []Incoming, lastHash string) ([]Incoming, error)
	// Pending returns the account's messages that are saved but not yet handled, oldest first.
	Pending(ctx context.Context, account crypto.AccountID) ([]Incoming, error)
	// MarkHandled drops a pending message's data and keeps its hash until it expires, so the
	// same message retrieved again is recognised as seen.
	MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error
	// SaveHandled records a message as already handled (never pending), e.g. a copy of a
	// message we stored ourselves: retrieving it later yields nothing new.
	SaveHandled(ctx context.Context, account crypto.AccountID, m Incoming) error
	// Prune forgets handled hashes whose message expired before t.
	Prune(ctx context.Context, t time.Time) error
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
	// Close releases the store's resources.
	Close() error
}
