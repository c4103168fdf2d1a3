package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
)

// One account in one process at a time.
//
// While a Client polls (Run, PollOnce, PollCommunities) it holds its account's lease in the
// store (store.LeaseStore): a second Client of the same account, in this process or another one
// sharing the database, gets ErrAccountInUse naming the holder instead of silently splitting
// the messages. The lease is renewed every third of its TTL; every write of the Client goes
// through store.Fence, so the database refuses it once the lease is no longer current.
//
// A Client that cannot renew its lease (the database is unreachable) stops before the lease can
// be taken: at 9/10 of the TTL after its last successful renewal began (by the monotonic
// clock), it ends Run with an error matching ErrLeaseLost and ErrStore and closes itself, so it
// neither polls nor sends for the account any more. A message whose handler ran just before
// may be delivered again by the next holder: events carry the message's stable hash, so an
// idempotent handler can drop it (the same window as a crash).
//
// A holder that died on this machine (same boot, same process namespace) is replaced at once
// (store.HolderGone); elsewhere its lease is taken when it expires.

var (
	// ErrAccountInUse: another Client (in this process or another one sharing the store)
	// polls the account. The error (a *store.HeldError) names the holder.
	ErrAccountInUse = store.ErrAccountInUse
	// ErrLeaseLost: the Client lost its account's lease (not renewed in time, or taken by
	// another holder) and stopped. Run's error matches it and ErrStore.
	ErrLeaseLost = store.ErrLeaseLost
)

// DefaultLeaseTTL is how long an account's lease lasts unless renewed: the time after which
// another process may take over an account whose holder died elsewhere.
const DefaultLeaseTTL = 15 * time.Second

type leaseConfig struct {
	holder string
	ttl    time.Duration
}

// WithLeaseHolder names the holder of the account's lease (default: a fresh identity of this
// process and Client, see store.NewHolderID). Holders must be unique to a process: a fleet
// gives all its Clients the name of its member.
func WithLeaseHolder(holder string) Option { return func(c *config) { c.lease.holder = holder } }

// WithLeaseTTL sets the TTL of the account's lease (default DefaultLeaseTTL; at least
// store.MinLeaseTTL).
func WithLeaseTTL(ttl time.Duration) Option { return func(c *config) { c.lease.ttl = ttl } }

// Lease returns the account lease the Client holds, or held last, and whether it holds it now
// (while it polls).
func (c *Client) Lease() (store.Lease, bool) { return c.lease.current() }

// initLease sets up the Client's lease keeper and its fenced view of the store.
func (c *Client) initLease(raw store.Store) {
	cfg := c.cfg.lease
	if cfg.holder == "" {
		cfg.holder = store.NewHolderID()
	}
	if cfg.ttl == 0 {
		cfg.ttl = DefaultLeaseTTL
	}
	c.lease = &leaseKeeper{raw: raw, name: store.AccountLease(c.id), account: c.id, holder: cfg.holder, ttl: cfg.ttl, log: c.log,
		onLost: func() {
			// Stop sending at once: every send checks closed. Close still releases what
			// the Client owns.
			c.closed.Store(true)
		}}
	c.store = &leasedStore{Store: raw, k: c.lease}
}

// holdLease takes the account's lease for a poll (Run, PollOnce, PollCommunities): the
// returned context ends if the lease is lost, and end releases the lease and turns a loss into
// the poll's error.
func (c *Client) holdLease(ctx context.Context) (context.Context, func(error) error, error) {
	lctx, err := c.lease.hold(ctx)
	if err != nil {
		return ctx, nil, err
	}
	return lctx, func(err error) error {
		if errors.Is(err, store.ErrLeaseLost) {
			// A write refused by the store: the lease is gone, as if not renewed.
			c.lease.lose(err)
		}
		lost := c.lease.release()
		if lost != nil {
			var fatal *fatalError
			if errors.As(err, &fatal) && errors.Is(err, store.ErrLeaseLost) {
				return err
			}
			return &fatalError{fmt.Errorf("session: account %s: %w", c.id, lost)}
		}
		return err
	}, nil
}

// closeLease releases the lease and stops the keeper; it reports whether the Client was closed
// by a lost lease (so that Close still closes what it owns).
func (c *Client) closeLease() bool {
	c.lease.release()
	return c.lease.closedByLoss()
}

// leaseKeeper holds and renews one account's lease.
type leaseKeeper struct {
	raw     store.Store
	name    string
	account crypto.AccountID
	holder  string
	ttl     time.Duration
	log     interface {
		Warn(string, ...any)
		Error(string, ...any)
	}
	onLost func()

	mu     sync.Mutex
	lease  *store.Lease            // the held lease; nil when not held
	last   store.Lease             // the lease held last
	until  time.Time               // while held: when to stop at the latest (monotonic)
	lost   error                   // set when the held lease was lost; sticky until the next hold
	closed bool                    // the Client was closed by a loss, not yet by Close
	cancel context.CancelCauseFunc // ends the hold's context
	stop   chan struct{}           // closed by release: the renewer stops
	done   chan struct{}           // closed when the renewer has stopped
}

func (k *leaseKeeper) current() (store.Lease, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last, k.lease != nil
}

// valid reports whether the Client may act for the account now: it holds no lease (it is not
// polling), or holds one whose local deadline has not passed. Events are dispatched only
// while valid, so that a process paused past its deadline (before the renewer could stop it)
// leaves the message pending for the next holder instead of handling it late.
func (k *leaseKeeper) valid() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lost != nil {
		return false
	}
	return k.lease == nil || time.Now().Before(k.until)
}

// hold acquires the lease and starts renewing it.
func (k *leaseKeeper) hold(ctx context.Context) (context.Context, error) {
	start := time.Now()
	l, err := k.raw.AcquireLease(ctx, store.LeaseRequest{Name: k.name, Holder: k.holder, TTL: k.ttl})
	var held *store.HeldError
	if errors.As(err, &held) && store.HolderGone(held.Holder) {
		// Its process died on this machine: take over now rather than after the TTL.
		k.log.Warn("taking over the lease of a process that is gone", "holder", held.Holder)
		start = time.Now()
		l, err = k.raw.AcquireLease(ctx, store.LeaseRequest{Name: k.name, Holder: k.holder, TTL: k.ttl, Replace: held.Generation})
	}
	if err != nil {
		if errors.Is(err, store.ErrAccountInUse) {
			return ctx, fmt.Errorf("session: account %s: %w", k.account, err)
		}
		return ctx, &fatalError{fmt.Errorf("session: taking the account's lease: %w", err)}
	}
	lctx, cancel := context.WithCancelCause(ctx)
	stop, done := make(chan struct{}), make(chan struct{})
	k.mu.Lock()
	k.lease, k.last, k.until, k.lost, k.cancel, k.stop, k.done = &l, l, start.Add(k.ttl*9/10), nil, cancel, stop, done
	k.mu.Unlock()
	go k.renew(l, start, stop, done)
	return lctx, nil
}

// renew keeps the lease until release or loss. deadline is when the lease may be taken by the
// store's clock at the earliest, measured locally and conservatively: 9/10 of the TTL after the
// last successful renewal began.
func (k *leaseKeeper) renew(l store.Lease, began time.Time, stop <-chan struct{}, done chan struct{}) {
	defer close(done)
	deadline := began.Add(k.ttl * 9 / 10)
	for {
		wait := k.ttl / 3
		if left := time.Until(deadline); left < wait*2 {
			wait = max(k.ttl/20, time.Millisecond) // behind: retry often
		}
		select {
		case <-stop:
			return
		case <-time.After(wait):
		}
		if !time.Now().Before(deadline) {
			k.lose(&store.LostError{Lease: l, Why: "not renewed in time: the store was unreachable"})
			return
		}
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		start := time.Now()
		nl, err := k.raw.RenewLease(ctx, l, k.ttl)
		cancel()
		switch {
		case err == nil:
			l, deadline = nl, start.Add(k.ttl*9/10)
			k.mu.Lock()
			if k.lease != nil {
				k.lease, k.last, k.until = &nl, nl, deadline
			}
			k.mu.Unlock()
		case errors.Is(err, store.ErrLeaseLost):
			k.lose(err)
			return
		default:
			k.log.Warn("renewing the account's lease failed", "err", err, "stop_in", time.Until(deadline).Round(time.Millisecond))
		}
	}
}

func (k *leaseKeeper) lose(err error) {
	k.mu.Lock()
	if k.lease == nil {
		k.mu.Unlock()
		return
	}
	k.log.Error("account lease lost: stopping", "err", err)
	k.lost, k.lease, k.closed = err, nil, true
	cancel := k.cancel
	k.mu.Unlock()
	k.onLost()
	cancel(err)
}

// release ends the hold (releasing the lease if still held) and returns the loss, if any.
func (k *leaseKeeper) release() error {
	k.mu.Lock()
	l, cancel, stop, done, lost := k.lease, k.cancel, k.stop, k.done, k.lost
	k.lease, k.cancel, k.stop, k.done = nil, nil, nil, nil
	k.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
	if cancel != nil {
		cancel(context.Canceled)
	}
	if l != nil {
		ctx, stop := context.WithTimeout(context.Background(), k.ttl)
		if err := k.raw.ReleaseLease(ctx, *l); err != nil {
			// It expires by itself within the TTL.
			k.log.Warn("releasing the account's lease failed", "err", err)
		}
		stop()
	}
	return lost
}

func (k *leaseKeeper) closedByLoss() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.closed
	k.closed = false
	return c
}

// state says how the Client's writes go: unfenced (no lease held), fenced, or refused.
func (k *leaseKeeper) state() (fence *store.Lease, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lost != nil {
		return nil, k.lost
	}
	return k.lease, nil
}

// leasedStore is the Client's view of its store: writes are fenced by the lease while it is held
// and refused once it is lost; reads go straight through.
type leasedStore struct {
	store.Store
	k *leaseKeeper
}

func (s *leasedStore) w() (store.Store, error) {
	l, err := s.k.state()
	if err != nil {
		return nil, err
	}
	if l == nil {
		return s.Store, nil
	}
	return s.Store.Fenced(*l), nil
}

func (s *leasedStore) PutAccount(ctx context.Context, a store.Account) error {
	w, err := s.w()
	if err != nil {
		return err
	}
	return w.PutAccount(ctx, a)
}

func (s *leasedStore) DeleteAccount(ctx context.Context, id crypto.AccountID) error {
	w, err := s.w()
	if err != nil {
		return err
	}
	return w.DeleteAccount(ctx, id)
}

func (s *leasedStore) SaveRetrieved(ctx context.Context, c store.Cursor, msgs []store.Incoming, lastHash string) ([]store.Incoming, error) {
	w, err := s.w()
	if err != nil {
		return nil, err
	}
	return w.SaveRetrieved(ctx, c, msgs, lastHash)
}

func (s *leasedStore) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	w, err := s.w()
	if err != nil {
		return err
	}
	return w.MarkHandled(ctx, account, hash)
}

func (s *leasedStore) SaveHandled(ctx context.Context, account crypto.AccountID, in store.Incoming) error {
	w, err := s.w()
	if err != nil {
		return err
	}
	return w.SaveHandled(ctx, account, in)
}

func (s *leasedStore) Prune(ctx context.Context, now time.Time) error {
	w, err := s.w()
	if err != nil {
		return err
	}
	return w.Prune(ctx, now)
}

func (s *leasedStore) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	w, err := s.w()
	if err != nil {
		return err
	}
	return w.PutValue(ctx, bucket, key, value)
}

func (s *leasedStore) DeleteValue(ctx context.Context, bucket, key string) error {
	w, err := s.w()
	if err != nil {
		return err
	}
	return w.DeleteValue(ctx, bucket, key)
}

// Close does nothing: the store belongs to the application.
func (s *leasedStore) Close() error { return nil }
