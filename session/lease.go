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
// A Client writes its account's state only under the account's lease (store.LeaseStore), held
// by itself, and every such write is fenced by it (store.WithFence): the database refuses it
// once the lease is no longer current. A second Client of the same account, in this process or
// another one sharing the database, gets ErrAccountInUse naming the holder instead of silently
// splitting the messages or overwriting what the holder wrote.
//
//   - While a Client polls (Run, PollOnce, PollCommunities) it holds the lease, renewed every
//     third of its TTL. The poll's context carries the generation it holds: the poll's writes
//     are fenced by that generation only. A poll that runs on after its lease was released or
//     lost has its writes refused (ErrLeaseLost); they are never made under a later lease.
//   - Outside a poll (a Client that only sends, or any call that writes while the Client does
//     not run: sending, SetDisplayName, JoinCommunity, AcceptGroupInvite...), the first write
//     takes the lease for the moment (a write lease): it is renewed while writes follow and
//     released once none came for a third of the TTL. When another holder serves the account,
//     the write fails with ErrAccountInUse naming it: send through the Client that serves the
//     account (a fleet's Fleet.Client). A send (1:1, to a group, a community post or blinded
//     DM) takes the lease before it sends, so that a refused send sent nothing.
//   - While a Client runs, writes made outside its polls (a handler's send, a send from another
//     goroutine) go under the lease it holds.
//
// A Client that cannot renew its lease (the database is unreachable) stops before the lease can
// be taken: at 9/10 of the TTL after its last successful renewal began (by the monotonic
// clock), it ends Run with an error matching ErrLeaseLost and ErrStore and closes itself, so it
// neither polls nor sends for the account any more. A message whose handler ran just before
// may be delivered again by the next holder: events carry the message's stable hash, so an
// idempotent handler can drop it (the same window as a crash). A write lease that cannot be
// renewed is dropped (the next write takes a new one); the Client stays open. Once the lease is
// lost, the poll's bookkeeping fails at once rather than wait on the database, so Run ends
// promptly; and Run reports the loss even if its ctx ended at the same time (a handover), since
// what was handled last may not be recorded.
//
// The lease is checked as each event is dispatched, against that local deadline: a handler is
// never started once the lease may have been taken. A process paused after the check (a
// stalled machine, a starved process) runs the handler late, possibly after the lease ended,
// and no lease can prevent that: the handler's own effects are not fenced by the store. A
// handler whose effects must never overlap the next holder's makes them idempotent (the stable
// hash again) or fences them itself.
//
// A holder that died on this machine (same boot, same process namespace) is replaced at once
// (store.HolderGone); elsewhere its lease is taken when it expires.

var (
	// ErrAccountInUse: another Client (in this process or another one sharing the store)
	// polls the account, or holds it for a write. The error (a *store.HeldError) names the
	// holder.
	ErrAccountInUse = store.ErrAccountInUse
	// ErrLeaseLost: the Client lost its account's lease (not renewed in time, or taken by
	// another holder) and stopped, or a poll's write came after its lease ended. Run's error
	// matches it and ErrStore.
	ErrLeaseLost = store.ErrLeaseLost
)

// DefaultLeaseTTL is how long an account's lease lasts unless renewed: the time after which
// another process may take over an account whose holder died elsewhere.
const DefaultLeaseTTL = 15 * time.Second

type leaseConfig struct {
	holder string
	ttl    time.Duration
}

// WithLeaseHolder names the holder of the account's lease (default: an identity of this process
// and Network, see store.NewHolderID). Holders must be unique to a process: a fleet gives all
// its Clients the name of its member.
func WithLeaseHolder(holder string) Option { return func(c *config) { c.lease.holder = holder } }

// WithLeaseTTL sets the TTL of the account's lease (default DefaultLeaseTTL; at least
// store.MinLeaseTTL).
func WithLeaseTTL(ttl time.Duration) Option { return func(c *config) { c.lease.ttl = ttl } }

// Lease returns the account lease the Client holds, or held last, and whether it holds it now
// (while it polls, or for writes made outside a poll).
func (c *Client) Lease() (store.Lease, bool) { return c.lease.current() }

// initLease sets up the Client's lease keeper inside its fenced view of the store.
func (c *Client) initLease(raw store.Store) {
	if c.cfg.lease.ttl == 0 {
		c.cfg.lease.ttl = DefaultLeaseTTL
	}
	ls := &leasedStore{Store: raw}
	ls.k.c = c
	ls.k.last.Name = store.AccountLease(c.id)
	c.lease, c.store = &ls.k, ls
}

// startLease takes the account's lease for a poll (Run/Start, PollOnce, PollCommunities): the
// returned context ends if the lease is lost, and fences the poll's writes. finishLease ends
// the hold.
func (c *Client) startLease(ctx context.Context) (context.Context, error) {
	return c.lease.hold(ctx)
}

// leaseForSend takes the account's lease, if the Client does not hold it, before a send: a send
// refused with ErrAccountInUse (another holder serves the account) sent nothing.
func (c *Client) leaseForSend(ctx context.Context) error {
	_, _, err := c.lease.forWrite(ctx, false)
	return err
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

// leaseKeeper holds one account's lease; the Network's leaseRenewer renews it. It lives inside
// the Client's leasedStore and reaches everything else through the Client (10,000 accounts in
// one process keep 10,000 of them: no closures, no copies of what the Client has).
type leaseKeeper struct {
	c   *Client
	acq sync.Mutex // serialises the acquisitions (a poll's, a write's)

	mu     sync.Mutex
	last   store.Lease             // the lease held (held), or held last; Name set from the start
	until  time.Duration           // while held: when to stop at the latest (Client's mono clock)
	next   time.Duration           // while held: when to renew next
	idle   time.Duration           // a write lease: released when no write came by then
	lost   error                   // a poll's lease was lost; sticky until the next hold
	cancel context.CancelCauseFunc // ends the poll's context
	writes int32                   // writes under way (a write lease is not released under them)
	held   bool
	poll   bool // the hold is a poll's (else a write lease)
	once   bool // a write lease taken without a renewer: released when its writes are done
	renew  bool // a renewal of it is in flight
	closed bool // the Client was closed by a loss, not yet by Close
}

// mono is the Client's monotonic clock (no wall-clock jump moves it).
func (k *leaseKeeper) mono() time.Duration { return time.Since(k.c.localBase) }

// at is the time of a mono reading (with its monotonic part, for deadlines).
func (k *leaseKeeper) at(d time.Duration) time.Time { return k.c.localBase.Add(d) }

func (k *leaseKeeper) ttl() time.Duration { return k.c.cfg.lease.ttl }

// raw is the application's store, which the Client's fenced view (holding k) wraps.
func (k *leaseKeeper) raw() store.Store { return k.c.store.(*leasedStore).Store }

func (k *leaseKeeper) holder() string {
	switch {
	case k.c.cfg.lease.holder != "":
		return k.c.cfg.lease.holder
	case k.c.net != nil:
		return k.c.net.leases.holder
	}
	return store.NewHolderID() // a write of NewClient, before the Client has its Network
}

func (k *leaseKeeper) current() (store.Lease, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last, k.held
}

// valid reports whether the Client may deliver events now: a poll holds the lease and its
// local deadline has not passed. Events are only dispatched by polls, so without a poll's hold
// (released at the end of the poll, or by Close) nothing is delivered: another member may hold
// the account. A process paused past its deadline (before the renewer could stop it) leaves the
// message pending for the next holder instead of handling it late.
func (k *leaseKeeper) valid() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lost == nil && k.held && k.poll && k.mono() < k.until
}

// holdCtx is a poll's context: it carries the generation of the lease the poll holds, so that
// the poll's writes are fenced by that generation only (leasedStore.begin). It names its keeper:
// a handler given the poll's ctx (AddEventHandlerE) may pass it to another Client.
type holdCtx struct {
	context.Context
	k   *leaseKeeper
	gen int64
}

type holdKey struct{}

func (h *holdCtx) Value(key any) any {
	if _, ok := key.(holdKey); ok {
		return h
	}
	return h.Context.Value(key)
}

// hold takes the lease for a poll (adopting the Client's write lease if it has one) and hands
// it to the renewer.
func (k *leaseKeeper) hold(ctx context.Context) (context.Context, error) {
	k.acq.Lock()
	defer k.acq.Unlock()
	k.mu.Lock()
	if !k.held {
		k.mu.Unlock()
		l, start, err := k.acquire(ctx)
		if err != nil {
			return ctx, err
		}
		k.mu.Lock()
		k.held = true
		k.renewedLocked(l, start)
	}
	k.poll, k.once, k.lost = true, false, nil
	lctx, cancel := context.WithCancelCause(ctx)
	k.cancel = cancel
	h := &holdCtx{Context: lctx, k: k, gen: k.last.Generation}
	k.mu.Unlock()
	k.c.net.leases.add(k)
	return h, nil
}

// acquire takes the lease in the store (replacing a holder known dead), within a TTL: an
// acquisition that takes longer is pointless (the caller tries again).
func (k *leaseKeeper) acquire(ctx context.Context) (store.Lease, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, k.ttl())
	defer cancel()
	k.mu.Lock()
	req := store.LeaseRequest{Name: k.last.Name, Holder: k.holder(), TTL: k.ttl()}
	k.mu.Unlock()
	raw := k.raw()
	start := k.mono()
	l, err := raw.AcquireLease(ctx, req)
	var held *store.HeldError
	if errors.As(err, &held) && store.HolderGone(held.Holder) {
		// Its process died on this machine: take over now rather than after the TTL.
		k.c.log.Warn("taking over the lease of a process that is gone", "holder", held.Holder)
		req.Replace = held.Generation
		start = k.mono()
		l, err = raw.AcquireLease(ctx, req)
	}
	if err != nil {
		if errors.Is(err, store.ErrAccountInUse) {
			return l, 0, fmt.Errorf("session: account %s: %w", k.c.id, err)
		}
		return l, 0, &fatalError{fmt.Errorf("session: taking the account's lease: %w", err)}
	}
	return l, start, nil
}

// forWrite returns the lease to fence a write made outside a poll's context, and its local
// deadline: the lease the Client holds, else a write lease taken now. begin counts the write
// as under way (done ends it).
func (k *leaseKeeper) forWrite(ctx context.Context, begin bool) (store.Lease, time.Duration, error) {
	if l, until, ok, err := k.use(begin); ok || err != nil {
		return l, until, err
	}
	k.acq.Lock()
	defer k.acq.Unlock()
	if l, until, ok, err := k.use(begin); ok || err != nil {
		return l, until, err
	}
	if k.c.closed.Load() {
		return store.Lease{}, 0, ErrClosed
	}
	l, start, err := k.acquire(ctx)
	if err != nil {
		return l, 0, err
	}
	k.mu.Lock()
	k.held, k.poll = true, false
	// A write of NewClient (the profile), before the Client has its Network and so a
	// renewer: the lease is released as soon as the write is done.
	k.once = k.c.net == nil
	k.renewedLocked(l, start)
	l, until, _, _ := k.useLocked(begin)
	k.mu.Unlock()
	if !k.once {
		k.c.net.leases.add(k)
	}
	return l, until, nil
}

// use returns the lease held now for a write (ok), or the loss that refuses writes.
func (k *leaseKeeper) use(begin bool) (store.Lease, time.Duration, bool, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.useLocked(begin)
}

func (k *leaseKeeper) useLocked(begin bool) (store.Lease, time.Duration, bool, error) {
	switch {
	case k.lost != nil:
		return store.Lease{}, 0, false, k.lost
	case !k.held:
		return store.Lease{}, 0, false, nil
	case k.mono() >= k.until:
		// Past its deadline, before the renewer noticed: a send must not go out under it.
		return store.Lease{}, 0, false, &store.LostError{Lease: k.last, Why: "not renewed in time: the store was too slow or unreachable"}
	}
	if !k.poll {
		k.idle = k.mono() + k.ttl()/3
	}
	if begin {
		k.writes++
	}
	return k.last, k.until, true, nil
}

// forPoll returns the lease to fence a write of the poll holding generation gen: refused unless
// that generation is still held by a poll.
func (k *leaseKeeper) forPoll(gen int64) (store.Lease, time.Duration, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lost != nil {
		return store.Lease{}, 0, k.lost
	}
	if !k.held || !k.poll || k.last.Generation != gen {
		l := k.last
		l.Generation = gen
		return store.Lease{}, 0, &store.LostError{Lease: l, Why: "released: the poll that held it has ended"}
	}
	k.writes++
	return k.last, k.until, nil
}

func (k *leaseKeeper) done() {
	k.mu.Lock()
	k.writes--
	if !k.once || k.writes > 0 || !k.held || k.poll {
		k.mu.Unlock()
		return
	}
	k.held, k.once = false, false
	l, until := k.last, k.until
	k.mu.Unlock()
	k.releaseInStore(l, until)
}

// renewedLocked records a lease granted or renewed by a request that began at start. The
// deadline is when the lease may be taken by the store's clock at the earliest, measured
// locally and conservatively: 9/10 of the TTL after the request began.
func (k *leaseKeeper) renewedLocked(l store.Lease, start time.Duration) {
	k.last = l
	k.until = start + k.ttl()*9/10
	k.next = start + k.ttl()/3
}

// lose ends the hold after its loss. A poll's: the Client is closed (it neither polls nor sends
// for the account any more) and the poll's context ends. A write lease's: dropped, the next
// write takes a new one.
func (k *leaseKeeper) lose(err error) {
	k.mu.Lock()
	if !k.held {
		k.mu.Unlock()
		return
	}
	k.loseLocked(err)
}

// loseIf is lose for the renewer, which decided on a lease without holding the keeper's lock:
// only if generation gen is still held and, with late, still past its deadline (a renewal may
// have landed meanwhile, or the hold ended and another began). It reports whether it did.
func (k *leaseKeeper) loseIf(gen int64, late bool, err error) bool {
	k.mu.Lock()
	if !k.held || k.last.Generation != gen || late && k.mono() < k.until {
		k.mu.Unlock()
		return false
	}
	k.loseLocked(err)
	return true
}

// loseLocked ends a held lease after its loss (see lose); it unlocks k.mu.
func (k *leaseKeeper) loseLocked(err error) {
	k.held = false
	if !k.poll {
		k.mu.Unlock()
		k.c.log.Warn("account lease for writes lost", "err", err)
		return
	}
	// The Client is closed before the loss is visible (use, valid): a poll that fails on it
	// and ends Run must leave a Client that refuses to send.
	k.c.closed.Store(true)
	k.lost, k.closed = err, true
	cancel := k.cancel
	k.mu.Unlock()
	k.c.log.Error("account lease lost: stopping", "err", err)
	cancel(err)
}

// release ends the hold (releasing the lease if still held) and returns the loss, if any.
func (k *leaseKeeper) release() error {
	// Serialised with the acquisitions (hold, forWrite): one starting while the store still
	// holds the lease being released would be refused by this very Client's lease.
	k.acq.Lock()
	defer k.acq.Unlock()
	k.mu.Lock()
	held, l, cancel, lost, until := k.held, k.last, k.cancel, k.lost, k.until
	if held && k.poll && lost == nil && k.mono() >= until {
		// Past its deadline before the renewer noticed: the lease lapsed rather than being
		// handed over, and the poll's end says so.
		lost = &store.LostError{Lease: l, Why: "not renewed in time: the store was too slow or unreachable"}
	}
	k.held, k.poll, k.once, k.cancel = false, false, false, nil
	k.mu.Unlock()
	if k.c.net != nil {
		k.c.net.leases.remove(k)
	}
	if cancel != nil {
		cancel(context.Canceled)
	}
	if held {
		k.releaseInStore(l, until)
	}
	return lost
}

// releaseInStore releases l so that the next holder need not wait for its expiry, bounded by
// its deadline (past it, the lease is expiring anyway, and a Client cut off from its database
// must not wait for it here).
func (k *leaseKeeper) releaseInStore(l store.Lease, until time.Duration) {
	if k.mono() >= until {
		return
	}
	ctx, stop := context.WithDeadline(context.Background(), k.at(until))
	defer stop()
	if err := k.raw().ReleaseLease(ctx, l); err != nil {
		k.c.log.Warn("releasing the account's lease failed (it expires by itself)", "err", err)
	}
}

// releaseIdle releases a write lease that no write used for a while.
func (k *leaseKeeper) releaseIdle() {
	k.acq.Lock() // as in release
	defer k.acq.Unlock()
	k.mu.Lock()
	if !k.held || k.poll || k.writes > 0 || k.mono() < k.idle {
		k.mu.Unlock()
		return
	}
	k.held = false
	l, until := k.last, k.until
	k.mu.Unlock()
	k.c.net.leases.remove(k)
	k.releaseInStore(l, until)
}

func (k *leaseKeeper) closedByLoss() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	c := k.closed
	k.closed = false
	return c
}

// leaseRenewer renews the leases of every Client of a Network: one goroutine (while any lease
// is held) that renews, per store and TTL, all the leases due in one RenewLeases call, stops a
// Client whose lease was not renewed before its local deadline, and releases idle write
// leases. Goroutines: the loop plus at most maxRenewals renewals in flight per store, whatever
// the number of accounts.
type leaseRenewer struct {
	holder string // the default holder of the Network's Clients (WithLeaseHolder)

	mu       sync.Mutex
	held     map[*leaseKeeper]struct{}
	inflight map[renewGroup]int // renewals of the group in flight
	looping  bool
	closed   bool
	wake     chan struct{}
	quit     chan struct{}
	wg       sync.WaitGroup
}

// maxRenewals bounds the renewals of one group in flight: a slow one does not hold back the
// leases that fall due meanwhile.
const maxRenewals = 2

type renewGroup struct {
	st  store.Store
	ttl time.Duration
}

func newLeaseRenewer() *leaseRenewer {
	return &leaseRenewer{holder: store.NewHolderID(), held: map[*leaseKeeper]struct{}{},
		inflight: map[renewGroup]int{}, wake: make(chan struct{}, 1), quit: make(chan struct{})}
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
		d = min(d, k.ttl()/20)
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
		due := map[renewGroup][]*leaseKeeper{}
		var late, idle []*leaseKeeper
		for k := range r.held {
			now := k.mono()
			k.mu.Lock()
			switch {
			case !k.held:
			case now >= k.until:
				late = append(late, k)
			case !k.poll && now >= k.idle && k.writes == 0:
				idle = append(idle, k)
			case now >= k.next && !k.renew:
				g := renewGroup{k.raw(), k.ttl()}
				if r.inflight[g] < maxRenewals {
					k.renew = true
					due[g] = append(due[g], k)
				}
			}
			k.mu.Unlock()
		}
		for g, ks := range due {
			r.inflight[g]++
			r.wg.Add(1)
			go r.renew(g, ks)
		}
		if len(idle) > 0 {
			r.wg.Add(1)
			go func() {
				defer r.wg.Done()
				for _, k := range idle {
					k.releaseIdle()
				}
			}()
		}
		tick := r.tickLocked()
		r.mu.Unlock()
		for _, k := range late {
			k.mu.Lock()
			l := k.last
			k.mu.Unlock()
			r.remove(k)
			if !k.loseIf(l.Generation, true, &store.LostError{Lease: l, Why: "not renewed in time: the store was unreachable"}) {
				r.add(k) // renewed meanwhile (or held anew, which added it too)
			}
		}
		timer.Reset(tick)
	}
}

// renew renews the leases of ks, all due, in one call bounded by the latest of their deadlines:
// the loop stops each keeper at its own deadline meanwhile, and a lease renewed for a keeper
// that stopped is released.
func (r *leaseRenewer) renew(g renewGroup, ks []*leaseKeeper) {
	defer r.wg.Done()
	defer func() {
		r.mu.Lock()
		r.inflight[g]--
		if r.inflight[g] == 0 {
			delete(r.inflight, g)
		}
		r.mu.Unlock()
	}()
	ls := make([]store.Lease, 0, len(ks))
	starts := make([]time.Duration, 0, len(ks))
	hold := ks[:0]
	var deadline time.Time
	for _, k := range ks {
		k.mu.Lock()
		if k.held {
			ls = append(ls, k.last)
			starts = append(starts, k.mono())
			hold = append(hold, k)
			if d := k.at(k.until); d.After(deadline) {
				deadline = d
			}
		} else {
			k.renew = false
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
	got, err := g.st.RenewLeases(ctx, ls, g.ttl)
	if err != nil {
		// Nothing known: try again soon; the deadlines stop the Clients if it lasts.
		for _, k := range hold {
			k.mu.Lock()
			k.renew = false
			k.next = k.mono() + g.ttl/20
			k.mu.Unlock()
		}
		hold[0].c.log.Warn("renewing account leases failed", "leases", len(ls), "err", err)
		return
	}
	renewed := make(map[string]store.Lease, len(got))
	for _, l := range got {
		renewed[l.Name] = l
	}
	var stale []store.Lease
	for i, k := range hold {
		nl, ok := renewed[ls[i].Name]
		k.mu.Lock()
		k.renew = false
		current := k.held && k.last.Generation == ls[i].Generation
		if ok && current {
			k.renewedLocked(nl, starts[i])
		}
		k.mu.Unlock()
		switch {
		case !ok && current:
			r.remove(k)
			if !k.loseIf(ls[i].Generation, false, &store.LostError{Lease: ls[i], Why: "not current any more (expired, or taken by another holder)"}) {
				r.add(k) // the hold ended meanwhile and another began
			}
		case ok && !current:
			// Renewed after its keeper stopped (past its deadline, or released meanwhile):
			// free it so that the account need not wait for it to expire.
			stale = append(stale, nl)
		}
	}
	for _, l := range stale {
		rctx, stop := context.WithTimeout(context.Background(), g.ttl)
		_ = g.st.ReleaseLease(rctx, l)
		stop()
	}
}

// leasedStore is the Client's view of its store. Writes are fenced by the lease they are made
// under (see the rules above), and every call under a lease (reads too, and the bookkeeping
// that ignores cancellation) ends by the lease's local deadline: a Client cut off from its
// database cannot stay stuck in a call past the time its lease may be taken. Once a poll's
// lease is lost, writes are refused.
type leasedStore struct {
	store.Store
	k leaseKeeper
}

// begin returns ctx fenced for a write, bounded by the lease's deadline; end must follow.
func (s *leasedStore) begin(ctx context.Context) (context.Context, func(), error) {
	var l store.Lease
	var until time.Duration
	var err error
	if h, ok := ctx.Value(holdKey{}).(*holdCtx); ok && h.k == &s.k {
		l, until, err = s.k.forPoll(h.gen)
	} else {
		l, until, err = s.k.forWrite(ctx, true)
	}
	if err != nil {
		return ctx, func() {}, err
	}
	ctx, cancel := context.WithDeadline(store.WithFence(ctx, l), s.k.at(until))
	return ctx, func() { cancel(); s.k.done() }, nil
}

// done turns a call that failed because the lease's local deadline passed into the lease's
// loss: the store was too slow or unreachable to renew it in time.
func (s *leasedStore) done(ctx context.Context, err error) error {
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return err
	}
	if cause := context.Cause(ctx); errors.Is(cause, store.ErrLeaseLost) {
		return cause // a poll's read after its lease ended (r)
	}
	k := &s.k
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.lost != nil {
		return k.lost
	}
	if !k.held || k.mono() < k.until {
		return err
	}
	return &store.LostError{Lease: k.last, Why: "not renewed in time: the store was too slow or unreachable"}
}

// r returns ctx bounded by the lease's deadline, if one is held. A poll's read (its ctx carries
// the poll's hold, even through context.WithoutCancel) after the poll's lease ended fails at
// once: bookkeeping that ignores cancellation must not keep a poll that lost its lease waiting
// on an unreachable database, and so its Run from ending.
func (s *leasedStore) r(ctx context.Context) (context.Context, context.CancelFunc) {
	k := &s.k
	k.mu.Lock()
	held, until := k.held, k.until
	var ended error
	if h, ok := ctx.Value(holdKey{}).(*holdCtx); ok && h.k == k {
		switch {
		case k.lost != nil:
			ended = k.lost
		case !held || !k.poll || k.last.Generation != h.gen:
			l := k.last
			l.Generation = h.gen
			ended = &store.LostError{Lease: l, Why: "released: the poll that held it has ended"}
		}
	}
	k.mu.Unlock()
	switch {
	case ended != nil:
		return context.WithDeadlineCause(ctx, k.at(min(until, k.mono())), ended)
	case held:
		return context.WithDeadline(ctx, k.at(until))
	}
	return ctx, func() {}
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
	ctx, end, err := s.begin(ctx)
	defer end()
	if err != nil {
		return err
	}
	return s.done(ctx, s.Store.PutAccount(ctx, a))
}

func (s *leasedStore) DeleteAccount(ctx context.Context, id crypto.AccountID) error {
	ctx, end, err := s.begin(ctx)
	defer end()
	if err != nil {
		return err
	}
	return s.done(ctx, s.Store.DeleteAccount(ctx, id))
}

func (s *leasedStore) SaveRetrieved(ctx context.Context, c store.Cursor, msgs []store.Incoming, lastHash string) ([]store.Incoming, error) {
	ctx, end, err := s.begin(ctx)
	defer end()
	if err != nil {
		return nil, err
	}
	v, err := s.Store.SaveRetrieved(ctx, c, msgs, lastHash)
	return v, s.done(ctx, err)
}

func (s *leasedStore) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	ctx, end, err := s.begin(ctx)
	defer end()
	if err != nil {
		return err
	}
	return s.done(ctx, s.Store.MarkHandled(ctx, account, hash))
}

func (s *leasedStore) SaveHandled(ctx context.Context, account crypto.AccountID, in store.Incoming) error {
	ctx, end, err := s.begin(ctx)
	defer end()
	if err != nil {
		return err
	}
	return s.done(ctx, s.Store.SaveHandled(ctx, account, in))
}

func (s *leasedStore) Prune(ctx context.Context, now time.Time) error {
	ctx, end, err := s.begin(ctx)
	defer end()
	if err != nil {
		return err
	}
	return s.done(ctx, s.Store.Prune(ctx, now))
}

func (s *leasedStore) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	ctx, end, err := s.begin(ctx)
	defer end()
	if err != nil {
		return err
	}
	return s.done(ctx, s.Store.PutValue(ctx, bucket, key, value))
}

func (s *leasedStore) DeleteValue(ctx context.Context, bucket, key string) error {
	ctx, end, err := s.begin(ctx)
	defer end()
	if err != nil {
		return err
	}
	return s.done(ctx, s.Store.DeleteValue(ctx, bucket, key))
}

// Close does nothing: the store belongs to the application.
func (s *leasedStore) Close() error { return nil }
