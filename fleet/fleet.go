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
	// RebalanceEvery is how often the member renews its member lease and re-reads the
	// membership and the accounts (default LeaseTTL/3).
	RebalanceEvery time.Duration
	// ClientOptions are given to every Client (network, poll interval, logger, profile...).
	// The fleet adds the store, the account and the lease settings.
	ClientOptions []session.Option
	// Setup is called with each new Client before it runs: register event handlers there. An
	// error leaves the account unserved until the next rebalance.
	Setup func(ctx context.Context, c *session.Client) error
	// OnStop, if set, is called when this member stops serving an account: err is nil when
	// it handed the account over (rebalance, shutdown), else why its Client stopped.
	OnStop func(account crypto.AccountID, err error)
	// Logger receives the fleet's logs (default: discard).
	Logger *slog.Logger
}

// Fleet is one member of a fleet. Run it; it is safe for concurrent use.
type Fleet struct {
	cfg    Config
	log    *slog.Logger
	prefix string

	mu      sync.Mutex
	serving map[crypto.AccountID]*running
	members []string
	running bool
}

type running struct {
	client  *session.Client
	cancel  context.CancelFunc
	done    chan struct{} // closed when Run has returned (and OnStop was called for a failure)
	stopped atomic.Bool   // stopped by the fleet (rebalance, shutdown), not by itself
	err     error         // Run's error, once done
}

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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Fleet{cfg: cfg, log: cfg.Logger.With("fleet", cfg.Name, "member", cfg.Member),
		prefix: memberPrefix(cfg.Name), serving: map[crypto.AccountID]*running{}}, nil
}

func memberPrefix(name string) string { return "fleet/" + name + "/member/" }

// Member returns this member's identity (the holder of its leases).
func (f *Fleet) Member() string { return f.cfg.Member }

// Serving returns the accounts this member serves now, sorted.
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
	if !ok {
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

	var member *store.Lease
	defer func() {
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
		member = f.heartbeat(ctx, member)
		if member != nil {
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

// heartbeat renews the member lease, or acquires a new one.
func (f *Fleet) heartbeat(ctx context.Context, l *store.Lease) *store.Lease {
	// Up to most of a TTL: a slow database must not make a live member drop out.
	cctx, cancel := context.WithTimeout(ctx, f.cfg.LeaseTTL*2/3)
	defer cancel()
	if l != nil {
		nl, err := f.cfg.Store.RenewLease(cctx, *l, f.cfg.LeaseTTL)
		if err == nil {
			return &nl
		}
		if !errors.Is(err, store.ErrLeaseLost) {
			f.log.Warn("renewing the member lease failed", "err", err)
			return l // try again next time; the store decides whether it expired
		}
		f.log.Warn("member lease lost; joining again", "err", err)
	}
	nl, err := f.cfg.Store.AcquireLease(cctx, store.LeaseRequest{Name: f.prefix + f.cfg.Member, Holder: f.cfg.Member, TTL: f.cfg.LeaseTTL})
	if err != nil {
		if ctx.Err() == nil {
			f.log.Warn("joining the fleet failed", "err", err)
		}
		return nil
	}
	f.log.Info("joined the fleet", "generation", nl.Generation)
	return &nl
}

// rebalance reads the members and the accounts, stops the accounts no longer ours and starts
// the ones that are.
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
	f.mu.Lock()
	if !slices.Equal(members, f.members) {
		f.log.Info("members changed", "members", len(members))
		f.members = members
	}
	f.mu.Unlock()
	mine := map[crypto.AccountID]bool{}
	for _, a := range accounts {
		if Owner(a, members) == f.cfg.Member {
			mine[a] = true
		}
	}
	f.mu.Lock()
	var stop []crypto.AccountID
	for a := range f.serving {
		if !mine[a] {
			stop = append(stop, a)
		}
	}
	f.mu.Unlock()
	f.stop(stop)
	for a := range mine {
		if ctx.Err() != nil {
			return
		}
		f.mu.Lock()
		_, on := f.serving[a]
		f.mu.Unlock()
		if !on {
			f.start(ctx, a)
		}
	}
}

// start creates and runs a Client for account. Its Run takes the account's lease; if another
// member still holds it, Run ends at once and the next rebalance tries again.
func (f *Fleet) start(ctx context.Context, account crypto.AccountID) {
	opts := append(append([]session.Option(nil), f.cfg.ClientOptions...),
		session.WithStore(f.cfg.Store), session.WithAccount(account),
		session.WithLeaseHolder(f.cfg.Member), session.WithLeaseTTL(f.cfg.LeaseTTL))
	c, err := session.NewClient(opts...)
	if err != nil {
		f.log.Warn("creating a client failed", "account", account, "err", err)
		return
	}
	if f.cfg.Setup != nil {
		if err := f.cfg.Setup(ctx, c); err != nil {
			f.log.Warn("setting up a client failed", "account", account, "err", err)
			c.Close()
			return
		}
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &running{client: c, cancel: cancel, done: make(chan struct{})}
	f.mu.Lock()
	f.serving[account] = r
	f.mu.Unlock()
	go func() {
		defer close(r.done)
		r.err = c.Run(rctx)
		if r.stopped.Load() || errors.Is(r.err, session.ErrAccountInUse) {
			return
		}
		// Stopped by itself (lease lost, store failure): say so now, not at the next
		// rebalance, which may wait for the database.
		f.log.Warn("client stopped", "account", account, "err", r.err)
		if f.cfg.OnStop != nil {
			f.cfg.OnStop(account, r.err)
		}
	}()
}

// reap forgets the Clients whose Run ended by itself (lease held by another member, lease lost,
// store failure): the next rebalance starts them again if the account is still ours.
func (f *Fleet) reap() {
	f.mu.Lock()
	var ended []*running
	for a, r := range f.serving {
		select {
		case <-r.done:
			ended = append(ended, r)
			delete(f.serving, a)
		default:
		}
	}
	f.mu.Unlock()
	for _, r := range ended {
		r.cancel()
		r.client.Close()
	}
}

// stop stops the Clients of accounts, in parallel; each releases its lease when its Run ends.
func (f *Fleet) stop(accounts []crypto.AccountID) {
	f.mu.Lock()
	rs := map[crypto.AccountID]*running{}
	for _, a := range accounts {
		if r, ok := f.serving[a]; ok {
			rs[a] = r
			delete(f.serving, a)
		}
	}
	f.mu.Unlock()
	var wg sync.WaitGroup
	for a, r := range rs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stopped.Store(true)
			r.cancel()
			<-r.done
			r.client.Close()
			if errors.Is(r.err, session.ErrAccountInUse) {
				return // it never served
			}
			if f.cfg.OnStop != nil {
				f.cfg.OnStop(a, r.err)
			}
		}()
	}
	wg.Wait()
}

func (f *Fleet) stopAll() {
	f.mu.Lock()
	var all []crypto.AccountID
	for a := range f.serving {
		all = append(all, a)
	}
	f.mu.Unlock()
	f.stop(all)
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
