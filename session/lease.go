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
		renewer: func() *leaseRenewer { return c.net.leases },
		onLost: func() {
			// Stop sending at once: every send checks closed. Close still releases what
			// the Client owns.
			c.closed.Store(true)
		}}
	c.store = &leasedStore{Store: raw, k: c.lease}
}

// startLease takes the account's lease for a poll (Run/Start, PollOnce, PollCommunities): the
// returned context ends if the lease is lost. finishLease ends the hold.
func (c *Client) startLease(ctx context.Context) (context.Context, error) {
	return c.lease.hold(ctx)
}

// finishLease releases the lease held for a poll and turns its loss into the poll's error
// (matching ErrLeaseLost and ErrStore). Without a hold it returns err unchanged.
func (c *Client) finishLease(err error) error {
	if errors.Is(err, store.ErrLeaseLost) {
		// A write refused by the store: the lease is gone, as if not renewed.
		c.lease.lose(err)
	}
	// Under the dispatch lock: a handler still running (a poll that ignored cancellation)
	// finishes before the lease is released, and none runs after (valid is false then).
	c.dispatchMu.Lock()
	lost := c.lease.release()
	c.dispatchMu.Unlock()
	if lost == nil {
		return err
	}
	var fatal *fatalError
	if errors.As(err, &fatal) && errors.Is(err, store.ErrLeaseLost) {
		return err
	}
	return &fatalError{fmt.Errorf("session: account %s: %w", c.id, lost)}
}

// closeLease releases the lease unless a poll holds it (that poll releases it when it ends:
// Close must not release it under a handler still delivering); it reports whether the Client
// was closed by a lost lease (so that Close still closes what it owns).
func (c *Client) closeLease() bool {
	if !c.polling.Load() {
		c.lease.release()
	}
	return c.lease.closedByLoss()
}

// leaseKeeper holds one account's lease; the Network's leaseRenewer renews it.
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
	onLost  func()
	renewer func() *leaseRenewer // the Client's Network's

	mu     sync.Mutex
	lease  *store.Lease            // the held lease; nil when not held
	last   store.Lease             // the lease held last
	until  time.Time               // while held: when to stop at the latest (monotonic)
	next   time.Time               // while held: when to renew next
	lost   error                   // set when the held lease was lost; sticky until the next hold
	closed bool                    // the Client was closed by a loss, not yet by Close
	cancel context.CancelCauseFunc // ends the hold's context
}

func (k *leaseKeeper) current() (store.Lease, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last, k.lease != nil
}

// valid reports whether the Client may deliver events now: it holds the lease and its local
// deadline has not passed. Events are only dispatched by polls, which hold the lease, so
// without it (released at the end of the poll, or by Close) nothing is delivered: another
// member may hold the account. A process paused past its deadline (before the renewer could
// stop it) leaves the message pending for the next holder instead of handling it late.
func (k *leaseKeeper) valid() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lost == nil && k.lease != nil && time.Now().Before(k.until)
}

// hold acquires the lease and hands it to the renewer.
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
	k.mu.Lock()
	k.lease, k.last, k.lost, k.cancel = &l, l, nil, cancel
	k.renewedLocked(l, start)
	k.mu.Unlock()
	k.renewer().add(k)
	return lctx, nil
}

// renewedLocked records a lease granted or renewed by a request that began at start. The
// deadline is when the lease may be taken by the store's clock at the earliest, measured
// locally and conservatively: 9/10 of the TTL after the request began.
func (k *leaseKeeper) renewedLocked(l store.Lease, start time.Time) {
	k.lease, k.last = &l, l
	k.until = start.Add(k.ttl * 9 / 10)
	k.next = start.Add(k.ttl / 3)
}

func (k *leaseKeeper) lose(err error) {
	k.mu.Lock()
	if k.lease == nil {
		k.mu.Unlock()
		return
	}
	k.log.Error("account lease lost: stopping", "err", err)
	// The Client is closed before the loss is visible (state, valid): a poll that fails on it
	// and ends Run must leave a Client that refuses to send.
	k.onLost()
	k.lost, k.lease, k.closed = err, nil, true
	cancel := k.cancel
	k.mu.Unlock()
	cancel(err)
}

// release ends the hold (releasing the lease if still held) and returns the loss, if any.
func (k *leaseKeeper) release() error {
	k.mu.Lock()
	l, cancel, lost, until := k.lease, k.cancel, k.lost, k.until
	k.lease, k.cancel = nil, nil
	k.mu.Unlock()
	k.renewer().remove(k)
	if cancel != nil {
		cancel(context.Canceled)
	}
	if l != nil && time.Now().Before(until) {
		// Released so that the next holder need not wait for the expiry; bounded by the
		// lease's deadline (past it, the lease is expiring anyway, and a Client cut off from
		// its database must not wait for it here).
		ctx, stop := context.WithDeadline(context.Background(), until)
		if err := k.raw.ReleaseLease(ctx, *l); err != nil {
			k.log.Warn("releasing the account's lease failed (it expires by itself)", "err", err)
		}
		stop()
	}
	return lost
}

// leaseRenewer renews the leases of every Client of a Network: one goroutine (while any lease
// is held) that renews, per store and TTL, all the leases due in one RenewLeases call, and
// stops a Client whose lease was not renewed before its local deadline. Goroutines: the loop
// plus one renewal in flight per store, whatever the number of accounts.
type leaseRenewer struct {
	mu      sync.Mutex
	held    map[*leaseKeeper]struct{}
	busy    map[renewGroup]bool // a renewal of the group is in flight
	looping bool
	closed  bool
	wake    chan struct{}
	quit    chan struct{}
	wg      sync.WaitGroup
}

type renewGroup struct {
	st  store.Store
	ttl time.Duration
}

func newLeaseRenewer() *leaseRenewer {
	return &leaseRenewer{held: map[*leaseKeeper]struct{}{}, busy: map[renewGroup]bool{},
		wake: make(chan struct{}, 1), quit: make(chan struct{})}
}

func (r *leaseRenewer) add(k *leaseKeeper) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.held[k] = struct{}{}
	if !r.looping && !r.closed {
		r.looping = true
		r.wg.Add(1)
		go r.loop()
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *leaseRenewer) remove(k *leaseKeeper) {
	r.mu.Lock()
	delete(r.held, k)
	r.mu.Unlock()
}

// close stops the loop and waits for it and the renewals in flight (Network.Close).
func (r *leaseRenewer) close() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.quit)
	}
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}

// tick is the loop's resolution: a twentieth of the shortest TTL (a deadline is noticed well
// before the lease can be taken), at least 5 ms.
func (r *leaseRenewer) tickLocked() time.Duration {
	d := time.Second
	for k := range r.held {
		d = min(d, k.ttl/20)
	}
	return max(d, 5*time.Millisecond)
}

func (r *leaseRenewer) loop() {
	defer r.wg.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-r.wake:
		case <-timer.C:
		}
		r.mu.Lock()
		if len(r.held) == 0 {
			r.looping = false
			r.mu.Unlock()
			return
		}
		now := time.Now()
		due := map[renewGroup][]*leaseKeeper{}
		var late []*leaseKeeper
		for k := range r.held {
			k.mu.Lock()
			switch {
			case k.lease == nil:
			case !now.Before(k.until):
				late = append(late, k)
			case !now.Before(k.next):
				g := renewGroup{k.raw, k.ttl}
				if !r.busy[g] {
					due[g] = append(due[g], k)
				}
			}
			k.mu.Unlock()
		}
		for g, ks := range due {
			r.busy[g] = true
			r.wg.Add(1)
			go r.renew(g, ks)
		}
		tick := r.tickLocked()
		r.mu.Unlock()
		for _, k := range late {
			k.mu.Lock()
			l := k.last
			k.mu.Unlock()
			r.remove(k)
			k.lose(&store.LostError{Lease: l, Why: "not renewed in time: the store was unreachable"})
		}
		timer.Reset(tick)
	}
}

// renew renews the leases of ks, all due, in one call bounded by the earliest deadline.
func (r *leaseRenewer) renew(g renewGroup, ks []*leaseKeeper) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		delete(r.busy, g)
		r.mu.Unlock()
	}()
	var ls []store.Lease
	var deadline time.Time
	var hold []*leaseKeeper
	for _, k := range ks {
		k.mu.Lock()
		if k.lease != nil {
			ls = append(ls, *k.lease)
			hold = append(hold, k)
			if deadline.IsZero() || k.until.Before(deadline) {
				deadline = k.until
			}
		}
		k.mu.Unlock()
	}
	if len(ls) == 0 {
		return
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	go func() {
		select {
		case <-r.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	start := time.Now()
	got, err := g.st.RenewLeases(ctx, ls, g.ttl)
	if err != nil {
		// Nothing known: try again soon; the deadlines stop the Clients if it lasts.
		for _, k := range hold {
			k.mu.Lock()
			k.next = time.Now().Add(g.ttl / 20)
			k.mu.Unlock()
		}
		hold[0].log.Warn("renewing account leases failed", "leases", len(ls), "err", err)
		return
	}
	renewed := map[string]store.Lease{}
	for _, l := range got {
		renewed[l.Name] = l
	}
	for i, k := range hold {
		nl, ok := renewed[ls[i].Name]
		k.mu.Lock()
		current := k.lease != nil && k.lease.Generation == ls[i].Generation
		if ok && current {
			k.renewedLocked(nl, start)
		}
		k.mu.Unlock()
		if !ok && current {
			r.remove(k)
			k.lose(&store.LostError{Lease: ls[i], Why: "not current any more (expired, or taken by another holder)"})
		}
	}
}

func (k *leaseKeeper) closedByLoss() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.closed
	k.closed = false
	return c
}

// state says how the Client's calls go: unfenced (no lease held), fenced and bounded by the
// lease's local deadline, or refused (lost).
func (k *leaseKeeper) state() (fence *store.Lease, until time.Time, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lost != nil {
		return nil, time.Time{}, k.lost
	}
	return k.lease, k.until, nil
}

// leasedStore is the Client's view of its store. While the lease is held, writes are fenced by
// it, and every call (reads too, and the bookkeeping that ignores cancellation) ends by the
// lease's local deadline: a Client cut off from its database cannot stay stuck in a call past
// the time its lease may be taken. Once the lease is lost, writes are refused.
type leasedStore struct {
	store.Store
	k *leaseKeeper
}

// w returns the store to write through and ctx bounded by the lease's deadline.
func (s *leasedStore) w(ctx context.Context) (store.Store, context.Context, context.CancelFunc, error) {
	l, until, err := s.k.state()
	if err != nil {
		return nil, ctx, func() {}, err
	}
	if l == nil {
		return s.Store, ctx, func() {}, nil
	}
	ctx, cancel := context.WithDeadline(ctx, until)
	return s.Store.Fenced(*l), ctx, cancel, nil
}

// done turns a call that failed because the lease's local deadline passed into the lease's
// loss: the store was too slow or unreachable to renew it in time.
func (s *leasedStore) done(ctx context.Context, err error) error {
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	l, until, serr := s.k.state()
	if serr != nil {
		return serr
	}
	if l == nil || time.Now().Before(until) {
		return err
	}
	return &store.LostError{Lease: *l, Why: "not renewed in time: the store was too slow or unreachable"}
}

// r returns ctx bounded by the lease's deadline, if one is held.
func (s *leasedStore) r(ctx context.Context) (context.Context, context.CancelFunc) {
	l, until, _ := s.k.state()
	if l == nil {
		return ctx, func() {}
	}
	return context.WithDeadline(ctx, until)
}

func (s *leasedStore) GetAccount(ctx context.Context, id crypto.AccountID) (store.Account, error) {
	ctx, cancel := s.r(ctx)
	defer cancel()
	v, err := s.Store.GetAccount(ctx, id)
	return v, s.done(ctx, err)
}

func (s *leasedStore) Accounts(ctx context.Context) ([]store.Account, error) {
	ctx, cancel := s.r(ctx)
	defer cancel()
	v, err := s.Store.Accounts(ctx)
	return v, s.done(ctx, err)
}

func (s *leasedStore) LastHash(ctx context.Context, c store.Cursor) (string, error) {
	ctx, cancel := s.r(ctx)
	defer cancel()
	v, err := s.Store.LastHash(ctx, c)
	return v, s.done(ctx, err)
}

func (s *leasedStore) Pending(ctx context.Context, account crypto.AccountID) ([]store.Incoming, error) {
	ctx, cancel := s.r(ctx)
	defer cancel()
	v, err := s.Store.Pending(ctx, account)
	return v, s.done(ctx, err)
}

func (s *leasedStore) GetValue(ctx context.Context, bucket, key string) ([]byte, error) {
	ctx, cancel := s.r(ctx)
	defer cancel()
	v, err := s.Store.GetValue(ctx, bucket, key)
	return v, s.done(ctx, err)
}

func (s *leasedStore) PutAccount(ctx context.Context, a store.Account) error {
	w, ctx, cancel, err := s.w(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	return s.done(ctx, w.PutAccount(ctx, a))
}

func (s *leasedStore) DeleteAccount(ctx context.Context, id crypto.AccountID) error {
	w, ctx, cancel, err := s.w(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	return s.done(ctx, w.DeleteAccount(ctx, id))
}

func (s *leasedStore) SaveRetrieved(ctx context.Context, c store.Cursor, msgs []store.Incoming, lastHash string) ([]store.Incoming, error) {
	w, ctx, cancel, err := s.w(ctx)
	defer cancel()
	if err != nil {
		return nil, err
	}
	v, err := w.SaveRetrieved(ctx, c, msgs, lastHash)
	return v, s.done(ctx, err)
}

func (s *leasedStore) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	w, ctx, cancel, err := s.w(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	return s.done(ctx, w.MarkHandled(ctx, account, hash))
}

func (s *leasedStore) SaveHandled(ctx context.Context, account crypto.AccountID, in store.Incoming) error {
	w, ctx, cancel, err := s.w(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	return s.done(ctx, w.SaveHandled(ctx, account, in))
}

func (s *leasedStore) Prune(ctx context.Context, now time.Time) error {
	w, ctx, cancel, err := s.w(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	return s.done(ctx, w.Prune(ctx, now))
}

func (s *leasedStore) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	w, ctx, cancel, err := s.w(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	return s.done(ctx, w.PutValue(ctx, bucket, key, value))
}

func (s *leasedStore) DeleteValue(ctx context.Context, bucket, key string) error {
	w, ctx, cancel, err := s.w(ctx)
	defer cancel()
	if err != nil {
		return err
	}
	return s.done(ctx, w.DeleteValue(ctx, bucket, key))
}

// Close does nothing: the store belongs to the application.
func (s *leasedStore) Close() error { return nil }
