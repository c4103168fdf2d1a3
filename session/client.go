package session

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// Errors of the Client.
var (
	// ErrAlreadyRunning: Run was called while another Run of the same Client is active.
	ErrAlreadyRunning = errors.New("session: client is already running")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("session: client closed")
	// ErrPollInProgress: a poll of this client is already under way (Run, PollOnce or
	// PollCommunities, possibly in the caller's own event handler). One poll at a time keeps
	// every message delivered once.
	ErrPollInProgress = errors.New("session: a poll of this client is already in progress")
	// ErrStore: the client's store failed; Run ends with an error matching it, since going on
	// could lose messages.
	ErrStore = errors.New("session: store failure")
	// ErrAmbiguousAccount: no keys were given and the store holds several accounts.
	ErrAmbiguousAccount = errors.New("session: the store holds several accounts; choose one with WithAccount")
)

// Defaults of the Client.
const (
	DefaultPollInterval = 3 * time.Second
	DefaultMaxBackoff   = 2 * time.Minute
	// DefaultMessageTTL is how long the swarm keeps a message we send (the maximum for 1:1
	// messages).
	DefaultMessageTTL = 14 * 24 * time.Hour
	// typingTTL is the lifetime of a typing indicator: it is useless once stale.
	typingTTL = 20 * time.Second
)

// config is what the options set. The Client keeps only its settings: the rest is used by
// NewClient (a process with 10,000 clients would hold 10,000 copies of it).
type config struct {
	settings
	keys    *crypto.Keys
	account *crypto.AccountID
	seedErr error
	store   store.Store
	log     *slog.Logger
	network *Network
	netCfg  NetworkConfig
	profile *Profile
	name    string
}

// settings are the options a Client keeps (Client.cfg).
type settings struct {
	pollInterval time.Duration
	maxBackoff   time.Duration
	namespaces   []swarm.Namespace
	pushDelay    time.Duration // of the account's configs: usersync.go
	lease        leaseConfig   // see lease.go
	// maxDeliveries bounds redeliveries of events whose handlers fail (handlers.go); logSet
	// says WithLogger was given (else handler panics go to slog.Default()).
	maxDeliveries int
	logSet        bool
	autoJoin      bool // follow the community rooms other devices join: usersync.go
}

// Option configures a Client.
type Option func(*config)

// WithKeys uses keys as the account.
func WithKeys(k *crypto.Keys) Option { return func(c *config) { c.keys = k } }

// WithSeed uses the account of a 16-byte Session seed or a 32-byte Ed25519 seed.
func WithSeed(seed []byte) Option {
	return func(c *config) {
		k, err := crypto.KeysFromSeed(seed)
		c.keys, c.seedErr = k, err
	}
}

// WithRecoveryPassword uses the account of a 13-word Recovery Password.
func WithRecoveryPassword(words string) Option {
	return func(c *config) {
		seed, err := crypto.DecodeMnemonic(words)
		if err != nil {
			c.seedErr = err
			return
		}
		c.keys, c.seedErr = crypto.KeysFromSeed(seed[:])
	}
}

// WithAccount uses the account with this ID from the store.
func WithAccount(id crypto.AccountID) Option { return func(c *config) { c.account = &id } }

// WithStore keeps the client's state (account keys, polling position, pending messages, node
// pool) in s. The default is an in-memory store, which forgets everything when the process ends;
// use sqlite.Open (package store/sqlite) for a bot that must not lose or repeat messages across
// restarts.
func WithStore(s store.Store) Option { return func(c *config) { c.store = s } }

// WithLogger sends the client's logs to l (default: discard). Secrets are never logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log, c.logSet = l, l != nil } }

// WithNetwork shares an existing Network (node pool, paths) with other clients. The client does
// not close it.
func WithNetwork(n *Network) Option { return func(c *config) { c.network = n } }

// WithNetworkConfig makes the client create its own Network from cfg (default: mainnet through
// onion paths). Ignored with WithNetwork.
func WithNetworkConfig(cfg NetworkConfig) Option { return func(c *config) { c.netCfg = cfg } }

// WithPollInterval sets how often Run polls the swarm (default DefaultPollInterval).
func WithPollInterval(d time.Duration) Option { return func(c *config) { c.pollInterval = d } }

// WithMaxBackoff caps the wait between failed polls (default DefaultMaxBackoff).
func WithMaxBackoff(d time.Duration) Option { return func(c *config) { c.maxBackoff = d } }

// WithNamespaces sets the namespaces of our swarm that Run polls (default: 0, 1:1 messages, and
// 2 to 5, the account's configs, which keep it in step with its other devices).
func WithNamespaces(ns ...swarm.Namespace) Option {
	return func(c *config) { c.namespaces = append([]swarm.Namespace(nil), ns...) }
}

// WithProfile attaches our display name (and picture) to the visible messages we send, as the
// official clients do.
func WithProfile(p Profile) Option { return func(c *config) { c.profile = &p } }

// WithName labels the account in the store (e.g. a bot's name) when the client saves it.
func WithName(name string) Option { return func(c *config) { c.name = name } }

// Client is a Session account connected to the network: it sends messages and, while Run is
// active, receives them and delivers them as events. It is safe for concurrent use.
type Client struct {
	keys   *crypto.Keys
	id     crypto.AccountID
	ownNet bool        // next to id, in its padding
	closed atomic.Bool // next to id, in its padding
	signer swarm.Signer
	store  store.Store
	log    *slog.Logger
	net    *Network
	cfg    settings

	handlersMu sync.RWMutex
	handlers   []handlerEntry
	dispatchMu sync.Mutex // held while handlers run
	deliveries deliveries // failed deliveries, under dispatchMu (handlers.go)

	locks  keyedMutex // per group and community server: see groups.go, community.go
	nextID atomic.Uint64
	usync  userSync // the account's configs: usersync.go

	profileMu sync.Mutex
	profile   *Profile // attached to visible messages; nil: none

	// clock, when set (tests), replaces network time.
	clock func() time.Time
	// localBase anchors localNow: the wall clock when the client was made, advanced by the
	// monotonic clock, which no wall-clock jump (and no node) moves.
	localBase time.Time
	// afterReadPruned is the unix day the records of after-read messages were last pruned.
	afterReadPruned atomic.Int64
	// rotation counts the polls of each cursor, for the member rotation of pollCursor.
	rotation rotationCounter

	run     *runState // the current run on the Network's scheduler; guarded by its mu
	running atomic.Bool
	polling atomic.Bool  // a poll that dispatches events is under way (Run holds it throughout)
	lease   *leaseKeeper // the account's lease while polling: see lease.go
}

// HandlerID identifies a registered event handler.
type HandlerID uint64

type handlerEntry struct {
	id HandlerID
	// fn reports false when it could not take the event because ctx ended (a Subscribe channel
	// nobody read): the message is then left pending and delivered by the next poll.
	fn func(context.Context, Event) bool
	// errFn, set instead of fn, is a handler that may fail (AddEventHandlerE).
	errFn func(context.Context, Event) error
}

// NewClient returns a Client for an account chosen by the options: WithKeys, WithSeed or
// WithRecoveryPassword; else WithAccount from the store; else the store's only account; else a
// new account, saved in the store. With no options at all it makes a new account in memory on
// mainnet: it never fails for lack of configuration. It does no network I/O.
func NewClient(opts ...Option) (*Client, error) {
	cfg := config{settings: settings{pollInterval: DefaultPollInterval, maxBackoff: DefaultMaxBackoff,
		namespaces: defaultNamespaces()}}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.seedErr != nil {
		return nil, fmt.Errorf("session: new client: %w", cfg.seedErr)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	if cfg.store == nil {
		cfg.store = store.NewMemory()
	}
	if cfg.pollInterval <= 0 {
		cfg.pollInterval = DefaultPollInterval
	}
	if cfg.maxBackoff < cfg.pollInterval {
		cfg.maxBackoff = cfg.pollInterval
	}
	if len(cfg.namespaces) == 0 {
		cfg.namespaces = defaultNamespaces()
	}
	ctx := context.Background()
	keys, err := chooseKeys(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	c := &Client{keys: keys, id: keys.AccountID(), signer: swarm.NewKeysSigner(keys), store: cfg.store, cfg: cfg.settings, localBase: time.Now()}
	c.log = cfg.log
	if cfg.log.Handler() != slog.DiscardHandler {
		c.log = cfg.log.With("account", c.id.String()) // a logger of its own only when it logs
	}
	c.initLease(cfg.store) // c.store becomes the lease-fenced view of cfg.store
	if err := c.initProfile(ctx, cfg.profile); err != nil {
		return nil, err
	}
	if cfg.network != nil {
		c.net = cfg.network
	} else {
		nc := cfg.netCfg
		if nc.Store == nil {
			nc.Store = cfg.store
		}
		if nc.Logger == nil {
			nc.Logger = cfg.log
		}
		n, err := NewNetwork(nc)
		if err != nil {
			return nil, err
		}
		c.net, c.ownNet = n, true
	}
	return c, nil
}

func chooseKeys(ctx context.Context, cfg *config) (*crypto.Keys, error) {
	save := func(k *crypto.Keys) (*crypto.Keys, error) {
		if _, err := cfg.store.GetAccount(ctx, k.AccountID()); errors.Is(err, store.ErrNotFound) {
			if err := cfg.store.PutAccount(ctx, store.Account{ID: k.AccountID(), Seed: k.Seed(), Name: cfg.name}); err != nil {
				return nil, fmt.Errorf("session: saving account: %w", err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("session: reading account: %w", err)
		}
		return k, nil
	}
	switch {
	case cfg.keys != nil:
		return save(cfg.keys)
	case cfg.account != nil:
		a, err := cfg.store.GetAccount(ctx, *cfg.account)
		if err != nil {
			return nil, fmt.Errorf("session: account %s: %w", *cfg.account, err)
		}
		return a.Keys()
	}
	accounts, err := cfg.store.Accounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("session: listing accounts: %w", err)
	}
	switch len(accounts) {
	case 0:
		k, err := crypto.GenerateKeys(nil)
		if err != nil {
			return nil, err
		}
		return save(k)
	case 1:
		return accounts[0].Keys()
	}
	return nil, ErrAmbiguousAccount
}

// AccountID returns the client's Account ID.
func (c *Client) AccountID() crypto.AccountID { return c.id }

// now is network time (local time corrected by what the nodes report).
func (c *Client) now() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return c.net.Now()
}

// localNow is local time that neither nodes nor wall-clock jumps move: the wall clock at
// NewClient plus the monotonic time since. Pruning uses it, so that no clock learned from the
// network can make the client forget what it has seen.
func (c *Client) localNow() time.Time {
	if c.clock != nil {
		return c.clock()
	}
	return c.localBase.Round(0).Add(time.Since(c.localBase))
}

// msNow is now with millisecond precision: a sent time identifies its message.
func (c *Client) msNow() time.Time { return time.UnixMilli(c.now().UnixMilli()) }

// Keys returns the client's keys.
func (c *Client) Keys() *crypto.Keys { return c.keys }

// Network returns the network the client uses.
func (c *Client) Network() *Network { return c.net }

// Close stops using the network (closing it if the client created it). Run must have returned
// (a Run still active is ended: it returns ErrClosed, and releases the account's lease once its
// last handler has returned).
func (c *Client) Close() error {
	if c.net != nil && c.net.sched != nil {
		c.net.sched.stopClient(c, ErrClosed)
	}
	closedByLoss := c.closeLease()
	if !c.closed.CompareAndSwap(false, true) && !closedByLoss {
		return nil
	}
	if c.ownNet {
		return c.net.Close()
	}
	return nil
}

// AddEventHandler registers fn to receive every event (see [Event] for the types). Handlers run
// one event at a time, in order, on Run's goroutines: a slow handler slows polling. A handler
// that panics is recovered, its stack logged and reported as a [HandlerError] event, and the
// event is delivered again (see [Client.AddEventHandlerE], whose handlers can also ask for that
// with an error). A handler may send, but must not call PollOnce. It panics if fn is nil.
func (c *Client) AddEventHandler(fn func(evt Event)) HandlerID {
	if fn == nil {
		panic("session: AddEventHandler: nil handler")
	}
	return c.addHandler(func(_ context.Context, evt Event) bool { fn(evt); return true })
}

func (c *Client) addHandler(fn func(context.Context, Event) bool) HandlerID {
	id := HandlerID(c.nextID.Add(1))
	c.handlersMu.Lock()
	c.handlers = append(c.handlers, handlerEntry{id: id, fn: fn})
	c.handlersMu.Unlock()
	return id
}

// RemoveEventHandler unregisters a handler; it reports whether it was registered.
func (c *Client) RemoveEventHandler(id HandlerID) bool {
	c.handlersMu.Lock()
	defer c.handlersMu.Unlock()
	for i, h := range c.handlers {
		if h.id == id {
			c.handlers = append(c.handlers[:i:i], c.handlers[i+1:]...)
			return true
		}
	}
	return false
}

// Subscribe returns a channel that receives every event, for bots that prefer a loop over
// callbacks. Delivery blocks the poll until the event is read (or stop is called, or the poll's
// context ends: the message is then delivered again by the next poll), so read it promptly. stop
// unsubscribes and closes the channel.
func (c *Client) Subscribe(buffer int) (events <-chan Event, stop func()) {
	ch := make(chan Event, buffer)
	done := make(chan struct{})
	var mu sync.Mutex
	closed := false
	id := c.addHandler(func(ctx context.Context, evt Event) bool {
		mu.Lock()
		defer mu.Unlock()
		if closed {
			return true
		}
		select {
		case ch <- evt:
			return true
		case <-done:
			return true // unsubscribed: nobody wants it
		case <-ctx.Done():
			return false
		}
	})
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			close(done)
			c.RemoveEventHandler(id)
			mu.Lock()
			closed = true
			close(ch)
			mu.Unlock()
		})
	}
}

// dispatch runs the handlers on evt, one event at a time across the client's pollers. It
// reports false when the event is to be delivered again: a handler could not take it (ctx
// ended, see handlerEntry) or failed on it (see deliver).
func (c *Client) dispatch(ctx context.Context, evt Event) bool {
	// A scheduled poll does not hold its slot while handlers run (see scheduler).
	if l := laneOf(ctx); l != nil {
		l.releaseSlot()
		defer l.acquireSlot(ctx)
	}
	c.dispatchMu.Lock()
	defer c.dispatchMu.Unlock()
	if !c.lease.valid() {
		return false // past the lease's deadline: left for the account's next holder (lease.go)
	}
	return c.deliver(ctx, evt)
}

// Run polls the account's swarm, its groups and its communities through the network and
// delivers events until ctx ends (then it returns nil) or a fatal error occurs (a store failure,
// even one as ctx ended, since it may have left a handled event unrecorded: the error matches
// ErrStore, and ErrLeaseLost when the account's lease was lost). Network failures never end it: they are reported as PollError
// (and Disconnected) events and retried with exponential backoff, including wrong-swarm,
// clock-skew and path failures, which the network layer repairs.
//
// Messages are saved in the store before they are handled and marked handled after the handlers
// return, so a crash loses nothing and, apart from an event whose handler was interrupted by the
// crash, delivers nothing twice.
//
// Run is Start and a wait for its result: the polls run on the Network's scheduler, shared by
// every client of the Network, and Run's own goroutine only waits.
func (c *Client) Run(ctx context.Context) error {
	return <-c.Start(ctx)
}

// Start is Run for processes with many clients: it starts the client on its Network's poll
// scheduler and returns at once, without a goroutine of its own. The channel receives what Run
// would return (nil when ctx ended, an error matching ErrStore on a store failure, ErrClosed
// when the client or its Network was closed, ErrAlreadyRunning, ErrPollInProgress) once the
// client has stopped and none of its polls is running; it receives exactly one value.
//
// Messages saved but not handled before a restart are delivered first, on the caller's
// goroutine, before Start returns. Events then come from the scheduler's goroutines, one at a
// time per client.
func (c *Client) Start(ctx context.Context) <-chan error {
	done := make(chan error, 1)
	if c.closed.Load() {
		done <- ErrClosed
		return done
	}
	if !c.running.CompareAndSwap(false, true) {
		done <- ErrAlreadyRunning
		return done
	}
	if !c.polling.CompareAndSwap(false, true) {
		c.running.Store(false)
		done <- ErrPollInProgress
		return done
	}
	end := func(err error) <-chan error {
		err = c.finishLease(err)
		c.polling.Store(false)
		c.running.Store(false)
		done <- err
		return done
	}
	// The account's lease, held while the client runs (lease.go): its loss ends the run.
	ctx, err := c.startLease(ctx)
	if err != nil {
		return end(c.runEnd(ctx, err))
	}
	// Messages saved but not handled before a restart come first.
	if err := c.handlePending(ctx); err != nil {
		return end(c.runEnd(ctx, err))
	}
	r, err := c.net.sched.start(ctx, c)
	if err != nil {
		return end(err)
	}
	return r.done
}

func (c *Client) runEnd(ctx context.Context, err error) error {
	var fatal *fatalError
	if ctx.Err() != nil && (!errors.As(err, &fatal) || cutShort(ctx, err)) {
		return nil // as in runState.finish
	}
	return err
}

// pollSwarm is the poll of Run's swarm lane: it forgets the hashes of handled messages that
// have expired from the swarms (hourly), then fetches every polled namespace.
func (c *Client) pollSwarm(ctx context.Context, l *lane) error {
	if l.run.s.now() > l.run.pruneAt {
		if err := c.store.Prune(ctx, c.localNow()); err != nil {
			return &fatalError{fmt.Errorf("session: pruning: %w", err)}
		}
		l.run.pruneAt = l.run.s.now() + int64(time.Hour)
	}
	// Until the first poll has an outcome, a slow one is reported within seconds (slowpoll.go).
	return c.fetchWatched(ctx, !l.up && l.failures == 0)
}

// backoff returns the wait after n consecutive failures: base·2^(n−1), capped, with ±20 % jitter
// so that many clients do not retry in step.
func backoff(base, max time.Duration, n int) time.Duration {
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	return jitter(d)
}

// jitter returns d ± 10 %.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/5+1)) - d/10
}

// fatalError marks errors that end Run: the store failed, so continuing could lose messages.
type fatalError struct{ err error }

func (e *fatalError) Error() string { return e.err.Error() }
func (e *fatalError) Unwrap() error { return e.err }

// Is makes every store failure match ErrStore.
func (e *fatalError) Is(target error) bool { return target == ErrStore }

// maxRetrievePages bounds the retrieves of one namespace in one poll when nodes report "more".
const maxRetrievePages = 20

// PollOnce retrieves new messages from every polled namespace once and delivers their events.
// Run calls it in a loop; call it yourself to poll on your own schedule (without Run).
func (c *Client) PollOnce(ctx context.Context) error {
	return c.pollByHand(ctx, c.pollOnce)
}

// pollByHand runs poll for a caller polling without Run (PollOnce, PollCommunities): refused
// on a closed Client and while another poll is active, and under the account's lease.
func (c *Client) pollByHand(ctx context.Context, poll func(context.Context) error) (err error) {
	if err := c.checkOpen(); err != nil {
		return err
	}
	if !c.polling.CompareAndSwap(false, true) {
		return ErrPollInProgress
	}
	defer c.polling.Store(false)
	ctx, err = c.startLease(ctx)
	if err != nil {
		return err
	}
	defer func() { err = c.finishLease(err) }()
	return poll(ctx)
}

// pollOnce is PollOnce's poll.
func (c *Client) pollOnce(ctx context.Context) error {
	err := c.fetch(ctx)
	var fatal *fatalError
	if errors.As(err, &fatal) {
		return err
	}
	if perr := c.handlePending(ctx); perr != nil {
		return perr
	}
	err = errors.Join(err, c.pollGroups(ctx))
	if c.configsNeedPush(ctx) {
		err = errors.Join(err, c.pushConfigs(ctx))
	}
	return err
}

// fetch retrieves new messages from every polled namespace into the store.
func (c *Client) fetch(ctx context.Context) error {
	err := c.pollCursors(ctx, c.id, c.id, c.signer, c.cfg.namespaces)
	if err == nil {
		c.notePulled() // Run's config lane pushes only after a pull (usersync.go)
	}
	return err
}

// pollCursor retrieves the new messages of one namespace of a swarm into the store (as pending,
// with the new position, in one step).
//
// A last hash means "after this message" only on the member that returned it: members get
// replicated messages in different orders, so "after X" on another member can skip messages.
// The position is therefore kept per member (positions.go): the same member is asked poll after
// poll with its own last hash, and a member without one is read from the start (the store drops
// the hashes already seen). Every rotateEvery-th poll of a cursor asks the next member of the
// swarm instead, so a member that accepts stores and then withholds them (answering honestly
// "nothing new") cannot hide messages for longer than a few polls.
func (c *Client) pollCursor(ctx context.Context, cur store.Cursor, signer swarm.Signer) error {
	pos, err := c.store.LastHash(ctx, cur)
	if err != nil {
		return &fatalError{fmt.Errorf("session: reading last hash: %w", err)}
	}
	ps := parsePositions(pos)
	member := ps.current()
	if c.rotation.due(cur) {
		if _, members, err := c.net.pool.Swarm(ctx, cur.Swarm); err == nil {
			member = nextMember(members, member)
		}
	}
	last := ps.last(member)
	ns := swarm.Namespace(cur.Namespace)
	for page := 0; page < maxRetrievePages; page++ {
		res, node, err := c.net.rpc.RetrieveFrom(ctx, signer, swarm.RetrieveRequest{Namespace: ns, LastHash: last}, swarm.Node{Ed25519: member})
		if err != nil {
			return err
		}
		if node.Ed25519 != member {
			member = node.Ed25519
			if own := ps.last(member); own != last {
				last = own
				continue // another member answered after a hash that is not its own: ask it again
			}
		}
		// The swarm client verified every message: only genuine ones are here, and the resume
		// point is the last genuine hash (never one a node made up). A page of messages dropped
		// for being elsewhere or expired still moves the position past them.
		if res.LastHash == "" || (len(res.Messages) == 0 && res.LastHash == last) {
			return nil
		}
		in := make([]store.Incoming, 0, len(res.Messages))
		for _, m := range res.Messages {
			in = append(in, store.Incoming{Hash: m.Hash, Namespace: cur.Namespace, Data: m.Data,
				Timestamp: m.Timestamp, Expiry: m.Expiration})
		}
		last = res.LastHash
		ps = ps.with(member, last)
		if err := c.saveRetrieved(ctx, cur, in, ps.String()); err != nil {
			return err
		}
		if !res.More {
			return nil
		}
	}
	return nil
}

// pollCursors is pollCursor for several namespaces of one swarm at once: one batch request
// (RetrieveMany) per round, as the official clients poll, instead of one round trip per
// namespace. Positions are kept per member as in pollCursor: the batch goes to the member that
// answered last (every rotateEvery-th poll, to the next member), each namespace with that
// member's own last hash; when another member answers, a namespace whose hash was not that
// member's is asked again in the next round with the answering member's own hash. Namespaces
// with more messages are asked again in the next round, up to maxRetrievePages rounds. Failures
// of single namespaces are returned joined; the others are still saved.
func (c *Client) pollCursors(ctx context.Context, account, swarmID crypto.AccountID, signer swarm.Signer, nss []swarm.Namespace) error {
	if len(nss) == 1 {
		return c.pollCursor(ctx, store.Cursor{Account: account, Swarm: swarmID, Namespace: int16(nss[0])}, signer)
	}
	type cursorState struct {
		cur  store.Cursor
		ps   positions
		done bool
	}
	states := make([]cursorState, len(nss))
	var prefer [32]byte
	for i, ns := range nss {
		cur := store.Cursor{Account: account, Swarm: swarmID, Namespace: int16(ns)}
		pos, err := c.store.LastHash(ctx, cur)
		if err != nil {
			return &fatalError{fmt.Errorf("session: reading last hash: %w", err)}
		}
		states[i] = cursorState{cur: cur, ps: parsePositions(pos)}
		if prefer == ([32]byte{}) {
			prefer = states[i].ps.current()
		}
	}
	if c.rotation.due(states[0].cur) {
		if _, members, err := c.net.pool.Swarm(ctx, swarmID); err == nil {
			prefer = nextMember(members, prefer)
		}
	}
	var errs []error
	reqs := make([]swarm.RetrieveRequest, 0, len(nss))
	idx := make([]int, 0, len(nss))
	for round := 0; round < maxRetrievePages; round++ {
		reqs, idx = reqs[:0], idx[:0]
		for i := range states {
			st := &states[i]
			if st.done {
				continue
			}
			reqs = append(reqs, swarm.RetrieveRequest{Namespace: swarm.Namespace(st.cur.Namespace), LastHash: st.ps.last(prefer)})
			idx = append(idx, i)
		}
		if len(reqs) == 0 {
			break
		}
		results, nsErrs, node, err := c.net.rpc.RetrieveMany(ctx, signer, reqs, swarm.Node{Ed25519: prefer})
		if err != nil {
			return errors.Join(append(errs, err)...)
		}
		for k, i := range idx {
			st, req := &states[i], reqs[k]
			if nsErrs[k] != nil {
				st.done = true
				errs = append(errs, fmt.Errorf("namespace %d: %w", req.Namespace, nsErrs[k]))
				continue
			}
			if node.Ed25519 != prefer && req.LastHash != st.ps.last(node.Ed25519) {
				// Another member answered after a last hash that is not its own: ask this
				// namespace again in the next round, with the answering member's own hash.
				continue
			}
			res := results[k]
			// As in pollCursor: only verified messages are here, and the resume point is the
			// last genuine hash.
			if res.LastHash == "" || (len(res.Messages) == 0 && res.LastHash == req.LastHash) {
				st.done = true
				continue
			}
			in := make([]store.Incoming, 0, len(res.Messages))
			for _, m := range res.Messages {
				in = append(in, store.Incoming{Hash: m.Hash, Namespace: st.cur.Namespace, Data: m.Data,
					Timestamp: m.Timestamp, Expiry: m.Expiration})
			}
			st.ps = st.ps.with(node.Ed25519, res.LastHash)
			if err := c.saveRetrieved(ctx, st.cur, in, st.ps.String()); err != nil {
				return err
			}
			st.done = !res.More
		}
		prefer = node.Ed25519
	}
	return errors.Join(errs...)
}

// saveRetrieved saves a batch of retrieved messages for cur as pending and moves its position
// (SaveRetrieved), with the content markers of our own 1:1 inbox (dedup.go): a re-encoded copy of
// a message already retrieved is recorded as handled at once, never delivered.
func (c *Client) saveRetrieved(ctx context.Context, cur store.Cursor, in []store.Incoming, lastHash string) error {
	batch, markers := c.withContentMarkers(cur, in)
	fresh, err := c.store.SaveRetrieved(ctx, cur, batch, lastHash)
	if err != nil {
		return &fatalError{fmt.Errorf("session: saving retrieved messages: %w", err)}
	}
	return c.settleContentMarkers(ctx, in, markers, fresh)
}

func (c *Client) handlePending(ctx context.Context) error {
	pending, err := c.store.Pending(ctx, c.id)
	if err != nil {
		return &fatalError{fmt.Errorf("session: reading pending messages: %w", err)}
	}
	// The account's configs first: blocks and approvals apply to the messages after them.
	if pending, err = c.takeConfigMessages(ctx, pending); err != nil {
		return err
	}
	for _, p := range pending {
		if ctx.Err() != nil {
			return nil
		}
		if isContentMarker(p.Hash) {
			// A content marker (dedup.go) left pending by a stop between its save and its
			// MarkHandled: bookkeeping, never a message. (A copy saved with it in that batch
			// is delivered: the crash window of dedup.go.)
			if err := c.markHandled(ctx, c.id, p.Hash); err != nil {
				return err
			}
			continue
		}
		if !c.handleIncoming(ctx, p) {
			return nil // not taken: left pending for the next poll
		}
		// The handlers have run: record it even if ctx ended meanwhile, or a clean shutdown
		// would deliver the message again after the restart.
		if err := c.store.MarkHandled(context.WithoutCancel(ctx), c.id, p.Hash); err != nil {
			return &fatalError{fmt.Errorf("session: marking message handled: %w", err)}
		}
	}
	return nil
}

// tooOld reports whether a message sent at sent (its authenticated timestamp: the envelope's,
// which decoding checks against the signed content's sigTimestamp when that is set) was already
// older than any record of seen messages lasts when the store first saved it (p.Saved): sent
// before Saved − (store.MaxMessageTTL + store.PruneMargin). No swarm keeps a message that long,
// so it is a node serving an old message again after the store forgot it (store.SeenUntil),
// which must not be delivered twice. Measured from the save, not from now: a message that
// waited, pending, through a long outage is delivered. The store's own clock, as for pruning:
// a clock that nodes report cannot make genuine messages look old. A store that does not say
// when it saved a record (zero Saved) gets no such check.
func (c *Client) tooOld(sent time.Time, p store.Incoming) bool {
	return !p.Saved.IsZero() && sent.Before(p.Saved.Add(-(store.MaxMessageTTL + store.PruneMargin)))
}

// handleIncoming decodes one pending message and dispatches its events; it reports whether
// they were all taken.
func (c *Client) handleIncoming(ctx context.Context, p store.Incoming) bool {
	// Store bookkeeping belongs to the message being handled: it must not be cut short by ctx.
	bk := context.WithoutCancel(ctx)
	// p.Data is the stored WebSocketMessage.
	in, err := decodeWire(c.keys, p.Data)
	if err != nil {
		c.log.Debug("undecryptable message skipped", "hash", p.Hash, "err", err)
		return c.dispatch(ctx, &UndecryptableMessage{Hash: p.Hash, Err: err})
	}
	if c.tooOld(in.SentAt(), p) {
		c.log.Debug("message older than any swarm keeps one dropped (a replay)", "hash", p.Hash, "sent", in.SentAt())
		return c.dispatch(ctx, &MessageDropped{Hash: p.Hash, From: in.Sender, Timestamp: in.SentAt(), Err: ErrMessageTooOld})
	}
	if c.isBlocked(bk, in.Sender) {
		c.log.Debug("message from a blocked sender dropped", "hash", p.Hash)
		return c.dispatch(ctx, &MessageDropped{Hash: p.Hash, From: in.Sender, Timestamp: in.SentAt(), Err: ErrSenderBlocked})
	}
	if handled, taken := c.handleGroupUpdate(ctx, in, p.Hash); handled {
		return taken
	}
	evts := eventsFromContent(in, p.Hash, c.id, c.net.files)
	if len(evts) == 0 {
		return c.dispatch(ctx, &UnknownContent{Hash: p.Hash, From: in.Sender, Timestamp: in.SentAt(), Content: in.Content})
	}
	delivered := true
	for _, e := range evts {
		switch e := e.(type) {
		case *DisappearingChanged:
			// Ordered by the sent time, which the sender chose: one from the future counts as
			// now, or it would outrank every later change, ours included.
			recorded, err := c.saveExpiry(bk, e.Conversation, e.Expiry, min(e.At.UnixMilli(), c.now().UnixMilli()), false)
			if err != nil {
				// Not taken: the message stays pending and the next poll saves it again.
				c.log.Warn("saving a disappearing setting", "err", err)
				return false
			}
			if !recorded {
				continue // an older change arriving after a newer one
			}
		case *Message:
			e.ExpiresAt = expiresAt(e.Expiry, e.Timestamp, p.Expiry, c.now())
			if !e.Sync && e.Expiry != nil && e.Expiry.Mode == ExpiryAfterRead && e.ExpiresAt.IsZero() {
				c.noteAfterRead(bk, e, p.Expiry)
			}
			if !e.Sync {
				approved, err := c.isApproved(bk, e.From)
				if err != nil {
					c.log.Warn("reading contact state", "err", err)
				}
				if !approved {
					e.Request = true
					if c.markRequested(bk, e.From) {
						delivered = c.dispatch(ctx, &MessageRequest{From: e.From, Profile: e.Profile}) && delivered
					}
				}
			}
		case *MessageRequestResponse:
			if e.Approved {
				c.approve(bk, e.From)
				c.noteApprovedMe(bk, e.From)
			}
		}
		delivered = c.dispatch(ctx, e) && delivered
	}
	return delivered
}

// Contacts: a sender is an accepted contact once we sent them something, accepted their
// request, or they accepted ours.
const contactsBucket = "contacts"

func (c *Client) contactKey(peer crypto.AccountID) string { return c.id.String() + "/" + peer.String() }

func (c *Client) isApproved(ctx context.Context, peer crypto.AccountID) (bool, error) {
	if c.configApproved(ctx, peer) {
		return true, nil // approved on one of the account's devices
	}
	v, err := c.store.GetValue(ctx, contactsBucket, c.contactKey(peer))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil && string(v) == "approved", err
}

func (c *Client) approve(ctx context.Context, peer crypto.AccountID) {
	c.approveLocal(ctx, peer)
	if err := c.noteContact(ctx, peer, func(ct *groups.Contact) { ct.Approved = true }); err != nil {
		c.log.Warn("recording an approval in the account's config", "err", err)
	}
}

// markRequested records a pending request and reports whether it is new.
func (c *Client) markRequested(ctx context.Context, peer crypto.AccountID) bool {
	v, err := c.store.GetValue(ctx, contactsBucket, c.contactKey(peer))
	if err == nil && len(v) > 0 {
		return false
	}
	if err := c.store.PutValue(ctx, contactsBucket, c.contactKey(peer), []byte("requested")); err != nil {
		c.log.Warn("saving contact state", "err", err)
	}
	return true
}

func newTLSConfig(roots *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
}
