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
// acquisition gets a new generation, never reused. A holder writes through Fence(store, lease):
// each write checks, in the same transaction as the write and by the store's own clock, that the
// lease is still the account's current one and has not expired, and fails with ErrLeaseLost
// otherwise. So a holder that stalled, was partitioned from the database or lost a race can
// never overwrite what its successor wrote: the database refuses it, not trust.
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
	// Fenced returns a view of the store whose writes succeed only while l is the current,
	// unexpired generation of its lease, checked in the same transaction as the write; they
	// fail with an error matching ErrLeaseLost otherwise. Reads and lease operations go to
	// the store unchanged. Use Fence.
	Fenced(l Lease) Store
}

// Fence returns the view of st whose every write (for any account or key) is refused with
// ErrLeaseLost unless l is still its lease's current, unexpired generation when the write
// commits. A Client holding an account's lease writes through it.
func Fence(st Store, l Lease) Store { return st.Fenced(l) }

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
