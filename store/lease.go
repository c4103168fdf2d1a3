package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// Leases keep each account in one process at a time, across every process sharing a store.
//
// A holder (one process, or one Client in it) acquires an account's lease for a TTL and renews it
// while it works; a lease not renewed within its TTL can be taken by another holder. Every
// acquisition gets a new generation, never reused. A holder fences its writes with the lease:
// the context of each write carries it (WithFence, or the view Fence returns), and the store
// checks, in the same transaction as the write and by its own clock, that the lease is still
// the current one and has not expired, failing with ErrLeaseLost otherwise. So a holder that
// stalled, was partitioned from the database or lost a race can never overwrite what its
// successor wrote: the database refuses it, not trust.
//
// The fence travels in the context, not in the store value, so that a store wrapped by the
// application (for metrics, caching, tracing: a type embedding Store and overriding some
// methods) stays in the path of fenced writes: the wrapper passes its ctx on to the store it
// wraps, and the fence with it. A wrapper must pass the ctx it was given (or one derived from
// it), never a fresh one, or its writes lose their fence.
//
// The store keeps every generation in a history (LeaseHistory), so "no account was ever held by
// two holders at once" can be checked from the database itself.

var (
	// ErrAccountInUse reports that another holder has the account's lease. The error is a
	// *HeldError naming the holder.
	ErrAccountInUse = errors.New("store: account in use by another process")
	// ErrLeaseLost reports a renewal or a fenced write under a lease that is no longer the
	// account's current one: it expired, was released, or another holder took it. The holder
	// must stop working for the account.
	ErrLeaseLost = errors.New("store: lease lost")
)

// AccountLease is the lease name of an account: its ID in hex.
func AccountLease(id crypto.AccountID) string { return id.String() }

// Lease is one generation of a named lease, as granted to its holder.
type Lease struct {
	// Name is what is leased: an account (AccountLease) or any other name (a fleet uses one per
	// member).
	Name   string
	Holder string
	// Generation grows by one each time the lease is acquired; a renewal keeps it.
	Generation int64
	// Acquired is when this generation was granted and Expires when it ends unless renewed,
	// both by the store's clock (the database server's for PostgreSQL).
	Acquired time.Time
	Expires  time.Time
}

// Account returns the account the lease is for, if its name is an Account ID.
func (l Lease) Account() (crypto.AccountID, bool) {
	id, err := crypto.ParseAccountID(l.Name)
	return id, err == nil
}

func (l Lease) String() string {
	return fmt.Sprintf("lease %s gen %d held by %s until %s", l.Name, l.Generation, l.Holder, l.Expires.Format(time.RFC3339Nano))
}

// LeaseRequest asks for a lease.
type LeaseRequest struct {
	Name   string
	Holder string
	TTL    time.Duration
	// Replace, when not zero, takes the lease even before it expires if its current generation
	// is Replace: for a holder known to be gone (see HolderGone). A stale Replace fails like a
	// lease held by someone else.
	Replace int64
}

// LeaseRecord is one generation of a lease in the history.
type LeaseRecord struct {
	Name       string
	Holder     string
	Generation int64
	Acquired   time.Time
	// Ended is when the generation ended: released, taken over, or the last expiry granted
	// (for a generation still held, its current expiry).
	Ended    time.Time
	Released bool
}

// LeaseStore keeps leases.
type LeaseStore interface {
	// AcquireLease grants the named lease to req.Holder for req.TTL with a new generation if
	// it is free (never held, released or expired) or req.Replace names its current
	// generation. Otherwise it fails with a *HeldError matching ErrAccountInUse, even if
	// req.Holder holds it (renew with RenewLease).
	AcquireLease(ctx context.Context, req LeaseRequest) (Lease, error)
	// RenewLease extends l by ttl from now if it is still the current, unexpired generation;
	// otherwise it fails with an error matching ErrLeaseLost.
	RenewLease(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// RenewLeases renews many leases at once, as RenewLease does each (one round trip: a
	// process renews the leases of all its accounts together). It returns the renewed leases,
	// in the order given; a lease missing from them is lost. The error is for the store
	// failing, when nothing is known.
	RenewLeases(ctx context.Context, ls []Lease, ttl time.Duration) ([]Lease, error)
	// ReleaseLease ends l at once so that another holder can take it; releasing a lease that
	// is no longer current does nothing.
	ReleaseLease(ctx context.Context, l Lease) error
	// Leases returns the leases currently held (not expired, not released), by name.
	Leases(ctx context.Context) ([]Lease, error)
	// LeaseHistory returns every generation of the named lease (all leases for ""), by name
	// then generation. Prune forgets generations that ended more than MaxMessageTTL ago.
	LeaseHistory(ctx context.Context, name string) ([]LeaseRecord, error)
}

// Fencing: every write of a Store (PutAccount, DeleteAccount, SaveRetrieved, MarkHandled,
// SaveHandled, Prune, PutValue, DeleteValue) whose ctx carries a fence (FenceOf) must check, in
// the same transaction as the write, that the fence is its lease's current, unexpired
// generation, and fail with a *LostError otherwise, changing nothing. Reads and lease
// operations ignore the fence. The conformance suite (store/storetest) checks it.

type fenceKey struct{}

// WithFence returns ctx carrying l as the fence of the writes made with it: through any store
// (wrapped or not), each is refused with an error matching ErrLeaseLost unless l is still its
// lease's current, unexpired generation when the write commits.
func WithFence(ctx context.Context, l Lease) context.Context {
	return context.WithValue(ctx, fenceKey{}, &l)
}

// FenceOf returns the lease that fences the writes made with ctx, if any (see WithFence).
// Store implementations call it in every write.
func FenceOf(ctx context.Context) (Lease, bool) {
	if l, ok := ctx.Value(fenceKey{}).(*Lease); ok {
		return *l, true
	}
	return Lease{}, false
}

// Fence returns the view of st whose every write (for any account or key) is refused with
// ErrLeaseLost unless l is still its lease's current, unexpired generation when the write
// commits: it calls st with WithFence(ctx, l). Reads and lease operations go to st unchanged,
// and closing the view does nothing.
func Fence(st Store, l Lease) Store { return &fenced{Store: st, l: l} }

type fenced struct {
	Store
	l Lease
}

func (f *fenced) PutAccount(ctx context.Context, a Account) error {
	return f.Store.PutAccount(WithFence(ctx, f.l), a)
}
func (f *fenced) DeleteAccount(ctx context.Context, id crypto.AccountID) error {
	return f.Store.DeleteAccount(WithFence(ctx, f.l), id)
}
func (f *fenced) SaveRetrieved(ctx context.Context, c Cursor, msgs []Incoming, lastHash string) ([]Incoming, error) {
	return f.Store.SaveRetrieved(WithFence(ctx, f.l), c, msgs, lastHash)
}
func (f *fenced) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	return f.Store.MarkHandled(WithFence(ctx, f.l), account, hash)
}
func (f *fenced) SaveHandled(ctx context.Context, account crypto.AccountID, in Incoming) error {
	return f.Store.SaveHandled(WithFence(ctx, f.l), account, in)
}
func (f *fenced) Prune(ctx context.Context, now time.Time) error {
	return f.Store.Prune(WithFence(ctx, f.l), now)
}
func (f *fenced) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	return f.Store.PutValue(WithFence(ctx, f.l), bucket, key, value)
}
func (f *fenced) DeleteValue(ctx context.Context, bucket, key string) error {
	return f.Store.DeleteValue(WithFence(ctx, f.l), bucket, key)
}
func (f *fenced) Close() error { return nil }

// HeldError reports a lease held by someone else. It matches ErrAccountInUse.
type HeldError struct {
	Name       string
	Holder     string
	Generation int64     // the holder's generation (for LeaseRequest.Replace)
	Expires    time.Time // by the store's clock
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("store: %s is in use by %s (lease until %s): stop that process, or wait for its lease to expire",
		e.Name, DescribeHolder(e.Holder), e.Expires.Format(time.RFC3339))
}

// Is makes a HeldError match ErrAccountInUse.
func (e *HeldError) Is(target error) bool { return target == ErrAccountInUse }

// LostError reports a lease that is no longer current. It matches ErrLeaseLost.
type LostError struct {
	Lease Lease
	// Why says what happened: expired, released, or taken by another holder.
	Why string
}

func (e *LostError) Error() string {
	return fmt.Sprintf("store: lease of %s generation %d lost (%s): stop working for it", e.Lease.Name, e.Lease.Generation, e.Why)
}

// Is makes a LostError match ErrLeaseLost.
func (e *LostError) Is(target error) bool { return target == ErrLeaseLost }

// MinLeaseTTL and MaxLeaseTTL bound a lease's TTL.
const (
	MinLeaseTTL = 100 * time.Millisecond
	MaxLeaseTTL = 24 * time.Hour
)

// CheckLeaseRequest validates a request; implementations call it first.
func CheckLeaseRequest(req LeaseRequest) error {
	if req.Name == "" || req.Holder == "" {
		return errors.New("store: a lease needs a name and a holder")
	}
	return CheckLeaseTTL(req.TTL)
}

// CheckLeaseTTL validates a TTL.
func CheckLeaseTTL(ttl time.Duration) error {
	if ttl < MinLeaseTTL || ttl > MaxLeaseTTL {
		return fmt.Errorf("store: lease TTL %v outside [%v, %v]", ttl, MinLeaseTTL, MaxLeaseTTL)
	}
	return nil
}

// CheckLeaseHistory reports the first pair of generations of one lease that overlap in time (a
// generation acquired before the previous one ended), or nil. Records must be ordered as
// LeaseHistory returns them.
func CheckLeaseHistory(recs []LeaseRecord) error {
	for i := 1; i < len(recs); i++ {
		a, b := recs[i-1], recs[i]
		if a.Name != b.Name {
			continue
		}
		if b.Generation <= a.Generation {
			return fmt.Errorf("store: lease %s: generation %d follows %d", a.Name, b.Generation, a.Generation)
		}
		if b.Acquired.Before(a.Ended) {
			return fmt.Errorf("store: lease %s: generation %d (%s) acquired at %s before generation %d (%s) ended at %s",
				a.Name, b.Generation, b.Holder, b.Acquired.Format(time.RFC3339Nano), a.Generation, a.Holder, a.Ended.Format(time.RFC3339Nano))
		}
	}
	return nil
}
