// Package fleet runs many accounts across several processes that share one database: each
// process (a member) serves a share of the accounts with one session.Client each, the shares
// are rebalanced when a member joins or leaves, and an account whose member died is taken over
// by another member once its lease expires.
//
// Coordination is the store's leases (store.LeaseStore), nothing else: each member holds a
// member lease ("fleet/<name>/member/<member>") while it lives, the members agree on who serves
// which account by rendezvous hashing over the live members, and a Client serves an account
// only while it holds the account's lease, with every write fenced by it (see session's lease
// notes). So two members never serve one account at once, even while their views of the
// membership disagree: the second simply waits for the first to release or lose the lease.
//
// Use store/postgres for members on several machines (store/sqlite works for processes of one
// machine). Who serves what is in the database: Holders, Members, and `sessionctl leases`.
//
// Delivery: a member that dies or is cut off from the database stops before its leases can be
// taken; the next member delivers what was saved but not yet handled. An event whose handler
// ran just before the stop may therefore be delivered twice; events carry the message's stable
// hash (or room ID) so that an idempotent handler drops the repeat. Nothing is lost.
package fleet

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
)

// Config configures a member of a fleet.
type Config struct {
	// Store is the database every member shares.
	Store store.Store
	// Name names the fleet (default "default"): members of one fleet share it, and one
	// database can hold several fleets.
	Name string
	// Accounts are the accounts to serve; nil means every account in the store, re-read at
	// every rebalance (so accounts added later are picked up).
	Accounts []crypto.AccountID
	// Member is this member's identity, used as the holder of its leases (default
	// store.NewHolderID(): host, process and a random part). It must be unique per process.
	Member string
	// LeaseTTL is the lease TTL of members and accounts (default session.DefaultLeaseTTL):
	// an account whose member died is taken over after at most about LeaseTTL plus
	// RebalanceEvery.
	LeaseTTL time.Duration
	// RebalanceEvery is how often the member renews its member lease, re-reads the
	// membership and the accounts, and restarts the Clients of its accounts that stopped
	// (default LeaseTTL/3).
	RebalanceEvery time.Duration
	// StartConcurrency bounds the Clients this member starts at once (default 8): creating
	// the Client, Setup, taking the account's lease and delivering what its previous holder
	// left pending. Starts never hold up a rebalance; the bound keeps a takeover of many
	// accounts from flooding the database that the running Clients need too.
	StartConcurrency int
	// ClientOptions are given to every Client (network, poll interval, logger, profile...).
	// The fleet adds the store, the account and the lease settings.
	ClientOptions []session.Option
	// Setup is called with each new Client before it runs: register event handlers there. An
	// error leaves the account unserved until the next rebalance.
	Setup func(ctx context.Context, c *session.Client) error
	// OnStop, if set, is called once when this member stops serving an account whose lease
	// its Client held: err is nil when it handed the account over cleanly (rebalance,
	// shutdown: everything delivered was recorded as handled), else why its Client stopped
	// (matching session.ErrLeaseLost when the lease was lost, ErrStuck when the Client was
	// given up on). After a non-nil err, the event whose handler ran last may be delivered
	// again by the next holder. An attempt that never got the lease (another member still
	// held it) served nothing and is not reported.
	OnStop func(account crypto.AccountID, err error)
	// Logger receives the fleet's logs (default: discard).
	Logger *slog.Logger
}

// ErrStuck is OnStop's error for an account whose Client stopped holding the account's lease
// and did not stop within two lease TTLs: the member gave up on it and starts another.
var ErrStuck = errors.New("fleet: the account's Client held no lease for two lease TTLs and did not stop; replaced")

// Fleet is one member of a fleet. Run it; it is safe for concurrent use.
type Fleet struct {
	cfg    Config
	log    *slog.Logger
	prefix string
	starts chan struct{} // a token per start under way (StartConcurrency)

	mu       sync.Mutex
	serving  map[crypto.AccountID]*running // the accounts this member serves (or starts)
	stopping map[crypto.AccountID]*running // handed over; their Run has not returned yet
	members  []string
	running  bool
	wg       sync.WaitGroup // the goroutines serving accounts
}

// running is one attempt at serving an account: a goroutine that creates its Client, sets it
// up and runs it (serve), until the Client stops or the fleet stops it.
type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when the attempt is over (its Client closed, OnStop called)

	account   crypto.AccountID
	stopped   atomic.Bool // stopped by the fleet (rebalance, shutdown): handed over
	abandoned atomic.Bool // replaced by another attempt: it served nothing for too long
	slot      atomic.Bool // holds a start token
	reported  atomic.Bool // OnStop was called for it

	// Guarded by Fleet.mu.
	client *session.Client
	since  time.Time // when it last made progress: began starting, or was seen holding its lease
	queued bool      // waiting for a start token (not counted as stuck)
}

// stuckAfter is how long an attempt may go without holding its account's lease (once it began
// starting) before the fleet abandons it and starts another: creating the Client, Setup and
// the lease's acquisition take a fraction of a TTL; a Client stuck in them (a database call
// that never returns, a Setup that ignores its ctx) must not leave the account unserved.
func (f *Fleet) stuckAfter() time.Duration { return 2 * f.cfg.LeaseTTL }

// New checks cfg and returns a member; it does no I/O.
func New(cfg Config) (*Fleet, error) {
	if cfg.Store == nil {
		return nil, errors.New("fleet: a Store is required (the database the members share)")
	}
	if cfg.Name == "" {
		cfg.Name = "default"
	}
	if strings.Contains(cfg.Name, "/") {
		return nil, fmt.Errorf("fleet: name %q must not contain '/'", cfg.Name)
	}
	if cfg.Member == "" {
		cfg.Member = store.NewHolderID()
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = session.DefaultLeaseTTL
	}
	if err := store.CheckLeaseTTL(cfg.LeaseTTL); err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	if cfg.RebalanceEvery <= 0 {
		cfg.RebalanceEvery = cfg.LeaseTTL / 3
	}
	if cfg.StartConcurrency <= 0 {
		cfg.StartConcurrency = 8
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Fleet{cfg: cfg, log: cfg.Logger.With("fleet", cfg.Name, "member", cfg.Member),
		prefix: memberPrefix(cfg.Name), starts: make(chan struct{}, cfg.StartConcurrency),
		serving: map[crypto.AccountID]*running{}, stopping: map[crypto.AccountID]*running{}}, nil
}

func memberPrefix(name string) string { return "fleet/" + name + "/member/" }

// Member returns this member's identity (the holder of its leases).
func (f *Fleet) Member() string { return f.cfg.Member }

// Serving returns the accounts this member serves now (or is starting), sorted.
func (f *Fleet) Serving() []crypto.AccountID {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]crypto.AccountID, 0, len(f.serving))
	for id := range f.serving {
		out = append(out, id)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// Client returns the Client serving account in this member, if any (to send from it).
func (f *Fleet) Client(account crypto.AccountID) (*session.Client, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.serving[account]
	if !ok || r.client == nil {
		return nil, false
	}
	return r.client, true
}

// Run serves this member's share of the accounts until ctx ends, then stops every Client,
// releases its leases (so the other members take over at once) and returns nil. It returns an
// error only for a misconfiguration; database outages are waited out.
func (f *Fleet) Run(ctx context.Context) error {
	f.mu.Lock()
	if f.running {
		f.mu.Unlock()
		return errors.New("fleet: Run is already running")
	}
	f.running = true
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running = false
		f.mu.Unlock()
	}()

	// The member lease is kept by a goroutine of its own, so that nothing the rebalances do
	// (reading a slow database) can make a live member look dead.
	var mu sync.Mutex
	var member *store.Lease
	hbCtx, stopHB := context.WithCancel(ctx)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		timer := time.NewTimer(0)
		defer timer.Stop()
		for {
			select {
			case <-hbCtx.Done():
				return
			case <-timer.C:
			}
			mu.Lock()
			l := member
			mu.Unlock()
			l, ok := f.heartbeat(hbCtx, l)
			mu.Lock()
			member = l
			mu.Unlock()
			if ok {
				timer.Reset(f.cfg.RebalanceEvery)
			} else {
				// Try again soon: the lease may expire before the next beat.
				timer.Reset(f.cfg.RebalanceEvery / 4)
			}
		}
	}()
	defer func() {
		stopHB()
		<-hbDone
		f.stopAll()
		if member != nil {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), f.cfg.LeaseTTL)
			_ = f.cfg.Store.ReleaseLease(rctx, *member)
			cancel()
		}
	}()
	tick := time.NewTicker(f.cfg.RebalanceEvery)
	defer tick.Stop()
	for {
		mu.Lock()
		joined := member != nil
		mu.Unlock()
		if joined {
			// Database calls are bounded: an unreachable database must not stall the
			// loop (the Clients stop by themselves; reaping goes on).
			rctx, cancel := context.WithTimeout(ctx, f.cfg.LeaseTTL)
			f.rebalance(ctx, rctx)
			cancel()
		} else {
			// Without our member lease the others may already be taking our accounts:
			// the Clients stop by themselves when their own leases cannot be renewed.
			f.reap()
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// heartbeat renews the member lease, or acquires a new one; ok reports success.
func (f *Fleet) heartbeat(ctx context.Context, l *store.Lease) (_ *store.Lease, ok bool) {
	// Up to most of a TTL: a slow database must not make a live member drop out.
	cctx, cancel := context.WithTimeout(ctx, f.cfg.LeaseTTL*2/3)
	defer cancel()
	if l != nil {
		nl, err := f.cfg.Store.RenewLease(cctx, *l, f.cfg.LeaseTTL)
		if err == nil {
			return &nl, true
		}
		if !errors.Is(err, store.ErrLeaseLost) {
			f.log.Warn("renewing the member lease failed", "err", err)
			return l, false // try again soon; the store decides whether it expired
		}
		f.log.Warn("member lease lost; joining again", "err", err)
	}
	nl, err := f.cfg.Store.AcquireLease(cctx, store.LeaseRequest{Name: f.prefix + f.cfg.Member, Holder: f.cfg.Member, TTL: f.cfg.LeaseTTL})
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("joining the fleet failed", "err", err)
		}
		return nil, false
	}
	f.log.Info("joined the fleet", "generation", nl.Generation)
	return &nl, true
}

// rebalance reads the members and the accounts, stops the accounts no longer ours and starts
// the ones that are. It waits for neither: a rebalance takes two reads of the database, so a
// Client that stopped is restarted at the next one, whatever the others are doing.
func (f *Fleet) rebalance(ctx, io context.Context) {
	f.reap()
	members, err := Members(io, f.cfg.Store, f.cfg.Name)
	if err != nil {
		f.log.Warn("reading the members failed", "err", err)
		return
	}
	if !slices.Contains(members, f.cfg.Member) {
		members = append(members, f.cfg.Member)
		sort.Strings(members)
	}
	accounts := f.cfg.Accounts
	if accounts == nil {
		all, err := f.cfg.Store.Accounts(io)
		if err != nil {
			f.log.Warn("listing the accounts failed", "err", err)
			return
		}
		for _, a := range all {
			accounts = append(accounts, a.ID)
		}
	}
	mine := map[crypto.AccountID]bool{}
	for _, a := range accounts {
		if Owner(a, members) == f.cfg.Member {
			mine[a] = true
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Equal(members, f.members) {
		f.log.Info("members changed", "members", len(members))
		f.members = members
	}
	for a, r := range f.serving {
		if !mine[a] {
			f.stopLocked(a, r)
		}
	}
	for a := range mine {
		if ctx.Err() != nil {
			return
		}
		if _, on := f.serving[a]; on {
			continue
		}
		if _, leaving := f.stopping[a]; leaving {
			continue // started again once its Run has returned (and released the lease)
		}
		f.startLocked(ctx, a)
	}
}

// startLocked starts an attempt at serving account: a goroutine that creates, sets up and runs
// its Client. Its Run takes the account's lease; if another member still holds it, Run ends at
// once and the next rebalance tries again.
func (f *Fleet) startLocked(ctx context.Context, account crypto.AccountID) {
	rctx, cancel := context.WithCancel(ctx)
	r := &running{account: account, cancel: cancel, done: make(chan struct{}), since: time.Now(), queued: true}
	f.serving[account] = r
	f.wg.Add(1)
	go f.serve(rctx, account, r)
}

// serve is an attempt's goroutine.
func (f *Fleet) serve(ctx context.Context, account crypto.AccountID, r *running) {
	defer f.wg.Done()
	defer close(r.done)
	select {
	case f.starts <- struct{}{}:
		r.slot.Store(true)
	case <-ctx.Done():
		return
	}
	defer f.freeSlot(r)
	f.mu.Lock()
	r.queued, r.since = false, time.Now()
	f.mu.Unlock()
	opts := append(append([]session.Option(nil), f.cfg.ClientOptions...),
		session.WithStore(f.cfg.Store), session.WithAccount(account),
		session.WithLeaseHolder(f.cfg.Member), session.WithLeaseTTL(f.cfg.LeaseTTL))
	c, err := session.NewClient(opts...)
	if err != nil {
		f.log.Warn("creating a client failed", "account", account, "err", err)
		return
	}
	defer c.Close()
	f.mu.Lock()
	r.client = c
	f.mu.Unlock()
	if f.cfg.Setup != nil {
		if err := f.cfg.Setup(ctx, c); err != nil {
			f.log.Warn("setting up a client failed", "account", account, "err", err)
			return
		}
	}
	if r.abandoned.Load() || ctx.Err() != nil {
		return
	}
	result := c.Start(ctx) // takes the lease and delivers what was left pending, then runs
	f.freeSlot(r)
	err = <-result
	if errors.Is(err, session.ErrAccountInUse) {
		return // another member still holds the account: this attempt served nothing
	}
	if !r.stopped.Load() && !r.abandoned.Load() && served(c) {
		// Stopped by itself (lease lost, store failure): the next rebalance starts the
		// account again if it is still ours.
		f.log.Warn("client stopped", "account", account, "err", err)
	}
	f.reportStop(r, account, c, err)
}

// served reports whether c ever held its account's lease (so delivered, or could have).
func served(c *session.Client) bool {
	l, _ := c.Lease()
	return l.Generation != 0
}

// reportStop calls OnStop once for an attempt whose Client served the account: an attempt
// that never held the lease (another member still held it, or it was abandoned before)
// served nothing and stops silently.
func (f *Fleet) reportStop(r *running, account crypto.AccountID, c *session.Client, err error) {
	if c == nil || !served(c) || !r.reported.CompareAndSwap(false, true) {
		return
	}
	if f.cfg.OnStop != nil {
		f.cfg.OnStop(account, err)
	}
}

func (f *Fleet) freeSlot(r *running) {
	if r.slot.CompareAndSwap(true, false) {
		<-f.starts
	}
}

// reap forgets the attempts that ended (lease held by another member, lease lost, store
// failure: the rebalance that follows starts the account again if it is still ours), and
// abandons the ones that serve nothing: not holding their account's lease for stuckAfter
// since they began starting or last held it. A Client stuck before its lease (a database
// call that never returns, a Setup that ignores its ctx) would otherwise keep its account
// unserved for as long as it is stuck, since an account with an attempt is not started again.
func (f *Fleet) reap() {
	now := time.Now()
	var abandon []*running
	f.mu.Lock()
	for a, r := range f.serving {
		select {
		case <-r.done:
			delete(f.serving, a)
			r.cancel()
			continue
		default:
		}
		if r.queued {
			continue
		}
		if r.client != nil {
			if _, held := r.client.Lease(); held {
				r.since = now
				continue
			}
		}
		if now.Sub(r.since) > f.stuckAfter() {
			f.log.Warn("account not served: its Client has held no lease for too long; starting another",
				"account", a, "for", now.Sub(r.since))
			delete(f.serving, a)
			abandon = append(abandon, r)
		}
	}
	for a, r := range f.stopping {
		select {
		case <-r.done:
			delete(f.stopping, a)
			continue
		default:
		}
		if now.Sub(r.since) > f.stuckAfter() {
			f.log.Warn("a stopped Client has not returned; forgetting it", "account", a, "for", now.Sub(r.since))
			delete(f.stopping, a)
			abandon = append(abandon, r)
		}
	}
	f.mu.Unlock()
	for _, r := range abandon {
		f.abandon(r)
	}
}

// abandon gives up on an attempt: it is cancelled and its Client closed (which ends a Run and
// refuses its writes), without waiting for it; its start token goes to the others. If its
// Client had served the account and holds no lease any more, OnStop says so now (ErrStuck),
// not when it returns. A Client that still holds its lease (stuck in a handler, which the
// lease is not released under) keeps the account until the handler returns: the application's
// handler must return for the account to move.
func (f *Fleet) abandon(r *running) {
	r.abandoned.Store(true)
	r.cancel()
	f.freeSlot(r)
	f.mu.Lock()
	c := r.client
	f.mu.Unlock()
	if c == nil {
		return
	}
	c.Close()
	if _, held := c.Lease(); held {
		// A handed-over Client stuck in a handler still holds (and renews) the lease: it
		// serves the account until its handler returns, and is reported then.
		return
	}
	// Off the rebalance's goroutine: OnStop is the application's code.
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		f.reportStop(r, r.account, c, ErrStuck)
	}()
}

// stopLocked stops account's attempt (handed over, or shutdown) without waiting for it: its
// Run releases the lease when it returns, and the account is not started here again before.
func (f *Fleet) stopLocked(account crypto.AccountID, r *running) {
	delete(f.serving, account)
	r.stopped.Store(true)
	r.cancel()
	r.since = time.Now()
	f.stopping[account] = r
}

// stopAll stops every attempt and waits for them, up to two TTLs (a Client stuck in a call
// that ignores cancellation is left behind, and said so).
func (f *Fleet) stopAll() {
	f.mu.Lock()
	for a, r := range f.serving {
		f.stopLocked(a, r)
	}
	f.mu.Unlock()
	all := make(chan struct{})
	go func() { f.wg.Wait(); close(all) }()
	select {
	case <-all:
	case <-time.After(f.stuckAfter()):
		f.mu.Lock()
		n := len(f.stopping)
		f.mu.Unlock()
		f.log.Error("Clients did not stop within two lease TTLs; leaving them", "clients", n)
	}
	f.mu.Lock()
	clear(f.stopping)
	f.mu.Unlock()
}

// Owner returns the member that serves account among members (rendezvous hashing: each account
// goes to the member with the highest hash of the pair, so a member joining or leaving moves
// only its own share).
func Owner(account crypto.AccountID, members []string) string {
	var best string
	var bestScore uint64
	for _, m := range members {
		h := fnv.New64a()
		h.Write(account[:])
		h.Write([]byte{0})
		h.Write([]byte(m))
		// fnv alone mixes the last bytes weakly: finish with a 64-bit mixer (splitmix64).
		s := mix(h.Sum64())
		if best == "" || s > bestScore || s == bestScore && m < best {
			best, bestScore = m, s
		}
	}
	return best
}

func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// Members returns the live members of the named fleet in st, sorted.
func Members(ctx context.Context, st store.LeaseStore, name string) ([]string, error) {
	if name == "" {
		name = "default"
	}
	ls, err := st.Leases(ctx)
	if err != nil {
		return nil, err
	}
	prefix := memberPrefix(name)
	var out []string
	for _, l := range ls {
		if strings.HasPrefix(l.Name, prefix) {
			out = append(out, l.Holder)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Holders returns who holds each account lease in st now.
func Holders(ctx context.Context, st store.LeaseStore) (map[crypto.AccountID]store.Lease, error) {
	ls, err := st.Leases(ctx)
	if err != nil {
		return nil, err
	}
	out := map[crypto.AccountID]store.Lease{}
	for _, l := range ls {
		if id, ok := l.Account(); ok {
			out[id] = l
		}
	}
	return out, nil
}
