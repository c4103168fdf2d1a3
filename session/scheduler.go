package session

import (
	"container/heap"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultPollConcurrency is how many polls of a Network's clients may be in flight at once
// unless NetworkConfig.PollConcurrency says otherwise.
const DefaultPollConcurrency = 64

// This file is the poll loop of every running Client: one scheduler per Network serves the
// polls of all the clients running on it (their own swarm, their groups, their communities)
// instead of goroutines per client.
//
// Each running client (a run: one Run or Start) has four lanes: "swarm" (its own swarm's
// namespaces, then the pending messages), "group" (the groups it joined), "community" (the
// rooms and DM inboxes of its communities) and "config" (pushes of the account's configs,
// brought forward by changes: usersync.go). Every lane keeps its own schedule: first within the
// first interval (at most 2 s in), then every poll interval ±10 %, backing off exponentially
// after failures (to at least the server's Retry-After when it gives one).
//
// The scheduler keeps the waiting lanes in a heap by due time (ties by arrival), so the lane
// that has waited longest past its time is served first and no account starves when polls
// cannot keep up. One goroutine (the loop) sleeps until the earliest lane is due, takes one of
// PollConcurrency slots and starts the poll on a goroutine of its own, which ends with the
// poll: the goroutines are the loop plus the polls in flight, whatever the number of clients.
// A poll gives its slot back while event handlers run (see dispatch), so slow handlers of one
// client hold nothing that other clients need.
//
// A run ends like an errgroup: the first fatal error (a store failure) of any lane cancels the
// run's context, the other lanes stop at their next check, and Run returns that error once the
// last poll of the run has returned. The loop ends when no client runs, and Network.Close ends
// the runs still registered and waits for their polls.
type scheduler struct {
	slots chan struct{} // one token per poll in flight; its capacity is the bound

	mu       sync.Mutex
	queue    laneQueue // lanes waiting for their time
	runs     map[*runState]struct{}
	looping  bool // the loop goroutine runs
	closed   bool
	seq      uint64
	firsts   int           // lanes waiting for their first poll
	meanPoll float64       // moving average of a poll's duration, ns
	epoch    time.Time     // the origin of the lanes' times (see at)
	wake     chan struct{} // capacity 1: the queue changed
	quit     chan struct{} // closed by close
	wg       sync.WaitGroup

	observe atomic.Pointer[func(lane string, late, interval time.Duration)] // tests
}

func newScheduler(concurrency int) *scheduler {
	if concurrency <= 0 {
		concurrency = DefaultPollConcurrency
	}
	return &scheduler{slots: make(chan struct{}, concurrency), runs: map[*runState]struct{}{},
		wake: make(chan struct{}, 1), quit: make(chan struct{}), epoch: time.Now()}
}

// at is t on the lanes' clock: nanoseconds since the scheduler's epoch, by the monotonic clock
// (as time.Time compares), in 8 bytes instead of a time.Time's 24.
func (s *scheduler) at(t time.Time) int64 { return int64(t.Sub(s.epoch)) }

// now is the current time on the lanes' clock.
func (s *scheduler) now() int64 { return s.at(time.Now()) }

// runState is one Run (or Start) of a client on the scheduler.
type runState struct {
	c      *Client
	s      *scheduler
	parent context.Context // Run's ctx; a poll's ctx derives from it and ends with the run
	lanes  [4]lane
	done   chan error // Run's result, sent once
	// pruneAt is when the swarm lane forgets expired hashes next, on the lanes' clock (only
	// its poll uses it).
	pruneAt int64

	// Guarded by s.mu.
	active   int // lanes polling now
	stopping bool
	finished bool
	err      error // the first fatal error (or ErrClosed)

	unregister func() bool // context.AfterFunc's stop
}

// lane is one schedule of a run; its kind (its index in the run's lanes) says what it polls
// (see poll). Lanes are kept small: a process with 10,000 clients holds 40,000 of them.
type lane struct {
	run      *runState
	due      int64 // on the lanes' clock (scheduler.at)
	soon     int64 // kicked while polling: poll again by then, 0: not kicked (config lane, usersync.go)
	seq      uint64
	cancel   context.CancelFunc // ends the poll in flight (nil when none); guarded by s.mu
	index    int32              // in the queue; -1 when not queued
	failures int32              // consecutive failed polls
	kind     uint8              // laneSwarm, laneGroup, laneCommunity or laneConfig
	first    bool               // its first poll has not started
	up       bool               // the last poll succeeded (the swarm lane, for Connected/Disconnected)
	held     atomic.Bool        // holds a slot of the scheduler
}

// The lanes of a run, by index (laneConfig is in usersync.go).
const (
	laneSwarm     = 0 // own swarm's namespaces, then the pending messages; Connected/Disconnected
	laneGroup     = 1 // the joined groups
	laneCommunity = 2 // the joined communities (a server's Retry-After is obeyed)
)

var laneNames = [...]string{laneSwarm: "swarm", laneGroup: "group", laneCommunity: "community", laneConfig: "config"}

func (l *lane) name() string { return laneNames[l.kind] }

// poll is the lane's poll.
func (l *lane) poll(ctx context.Context) error {
	c := l.run.c
	switch l.kind {
	case laneSwarm:
		return c.pollSwarm(ctx, l)
	case laneGroup:
		return c.pollGroups(ctx)
	case laneCommunity:
		return c.pollCommunities(ctx)
	default:
		return c.pollConfigs(ctx) // usersync.go
	}
}

type laneKey struct{}

// laneOf returns the lane whose poll ctx belongs to, or nil outside the scheduler's polls.
func laneOf(ctx context.Context) *lane {
	l, _ := ctx.Value(laneKey{}).(*lane)
	return l
}

// releaseSlot gives the lane's slot back (while event handlers run); acquireSlot takes one
// again, waiting for it, unless ctx ends first.
func (l *lane) releaseSlot() {
	if l != nil && l.held.CompareAndSwap(true, false) {
		<-l.run.s.slots
	}
}

func (l *lane) acquireSlot(ctx context.Context) {
	if l == nil || l.held.Load() {
		return
	}
	select {
	case l.run.s.slots <- struct{}{}:
		if !l.held.CompareAndSwap(false, true) {
			<-l.run.s.slots
		}
	case <-ctx.Done():
	}
}

// start registers a run of c (ErrClosed after close). The caller has checked and set the
// client's flags; the run's result comes on r.done.
func (s *scheduler) start(ctx context.Context, c *Client) (*runState, error) {
	r := &runState{c: c, s: s, parent: ctx, done: make(chan error, 1)}
	now := s.now()
	r.pruneAt = now
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.runs[r] = struct{}{}
	c.run = r
	// Start at a random point of the first interval, so that many clients started together do
	// not poll in step: within 2 s, or, when more first polls wait than the slots can serve in
	// 2 s (many clients started at once), within the time they take (backlog × mean poll time ÷
	// slots), so that the schedule stays one the scheduler can keep.
	window := max(2*time.Second, time.Duration(float64(s.firsts+len(r.lanes))*s.meanPoll/float64(cap(s.slots))))
	window = min(c.cfg.pollInterval, window)
	for i := range r.lanes {
		l := &r.lanes[i]
		l.run, l.kind, l.index, l.first = r, uint8(i), -1, true
		l.due = now + rand.Int64N(int64(window))
		s.firsts++
		s.pushLocked(l)
	}
	// Registered under s.mu: a run cannot finish before it is set. When ctx has already ended,
	// the function runs at once on a goroutine, which waits for s.mu.
	r.unregister = context.AfterFunc(ctx, func() { s.stop(r, nil) })
	if !s.looping {
		s.looping = true
		s.wg.Add(1)
		go s.loop()
	}
	return r, nil
}

// started counts a lane out of the first polls waiting (it left the queue).
func (s *scheduler) started(l *lane) {
	if l.first {
		l.first = false
		s.firsts--
	}
}

func (s *scheduler) pushLocked(l *lane) {
	s.seq++
	l.seq = s.seq
	heap.Push(&s.queue, l)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// stop ends a run: its waiting lanes leave the queue, its context is cancelled (so polls in
// flight return), and it finishes once none is left. The first err is kept.
func (s *scheduler) stop(r *runState, err error) {
	s.mu.Lock()
	fin := s.stopLocked(r, err)
	s.mu.Unlock()
	if fin {
		r.finish()
	}
}

// stopClient ends c's run, if any, as stop does.
func (s *scheduler) stopClient(c *Client, err error) {
	s.mu.Lock()
	r := c.run
	fin := r != nil && s.stopLocked(r, err)
	s.mu.Unlock()
	if fin {
		r.finish()
	}
}

// stopLocked reports whether the caller must finish the run.
func (s *scheduler) stopLocked(r *runState, err error) bool {
	if r.err == nil && err != nil {
		r.err = err
	}
	if !r.stopping {
		r.stopping = true
		for i := range r.lanes {
			if l := &r.lanes[i]; l.index >= 0 {
				heap.Remove(&s.queue, int(l.index))
				s.started(l)
			}
			if l := &r.lanes[i]; l.cancel != nil {
				l.cancel() // the poll in flight returns soon
			}
		}
	}
	if r.active > 0 || r.finished {
		return false
	}
	r.finished = true
	delete(s.runs, r)
	if r.c.run == r {
		r.c.run = nil
	}
	// The loop may wait for a wake-up with nothing queued (every lane was polling): tell it,
	// so that it ends when this was the last run.
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return true
}

// finish delivers the run's result: the fatal error, if a lane failed (even while the caller's
// ctx ended: a failed write may have left a handled event unrecorded, and the caller must
// know; reads cut short by the end are not failures, see step), else nil.
func (r *runState) finish() {
	r.unregister()
	err := r.err
	err = r.c.finishLease(err) // releases the account's lease; its loss is the run's error (lease.go)
	r.c.polling.Store(false)
	r.c.running.Store(false)
	r.done <- err
}

// loop starts the polls that are due, at most cap(slots) at a time.
func (s *scheduler) loop() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		s.mu.Lock()
		if s.closed || len(s.runs) == 0 {
			s.looping = false
			s.mu.Unlock()
			return
		}
		wait := time.Duration(-1) // nothing queued: every lane is polling
		if len(s.queue) > 0 {
			wait = max(0, time.Duration(s.queue[0].due-s.now()))
		}
		s.mu.Unlock()
		switch {
		case wait < 0:
			select {
			case <-s.wake:
			case <-s.quit:
			}
			continue
		case wait > 0:
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-s.wake:
				timer.Stop()
			case <-s.quit:
			}
			continue
		}
		select {
		case s.slots <- struct{}{}:
		case <-s.quit:
			continue
		}
		s.mu.Lock()
		if len(s.queue) == 0 || s.now() < s.queue[0].due {
			s.mu.Unlock()
			<-s.slots
			continue
		}
		l := heap.Pop(&s.queue).(*lane)
		s.started(l)
		l.held.Store(true)
		l.run.active++
		// The poll's ctx exists while it runs only: a run waiting for its next poll holds no
		// context of its own.
		ctx, cancel := context.WithCancel(l.run.parent)
		l.cancel = cancel
		s.wg.Add(1)
		s.mu.Unlock()
		go s.exec(l, ctx)
	}
}

// exec runs one poll of a lane and schedules its next one.
func (s *scheduler) exec(l *lane, ctx context.Context) {
	defer s.wg.Done()
	r := l.run
	if f := s.observe.Load(); f != nil {
		(*f)(l.name(), time.Duration(s.now()-l.due), r.c.cfg.pollInterval)
	}
	start := time.Now()
	wait, fatal := l.step(context.WithValue(ctx, laneKey{}, l))
	l.releaseSlot()
	took := float64(time.Since(start))
	s.mu.Lock()
	s.meanPoll += (took - s.meanPoll) / 16
	r.active--
	var fin bool
	l.cancel()
	l.cancel = nil
	if fatal != nil || r.parent.Err() != nil || r.stopping {
		fin = s.stopLocked(r, fatal)
	} else {
		l.due = s.now() + int64(wait)
		if l.soon != 0 && l.soon < l.due {
			l.due = l.soon
		}
		l.soon = 0
		s.pushLocked(l)
	}
	s.mu.Unlock()
	if fin {
		r.finish()
	}
}

// step polls once and returns the wait before the next poll: the interval ±10 % after a
// success, exponential backoff after failures (at least the Retry-After the server gave). A
// failure is logged and reported as a PollError (after Disconnected when the lane reports the
// connection); a fatal error (the store failed) is returned and ends the run.
func (l *lane) step(ctx context.Context) (time.Duration, error) {
	c := l.run.c
	err := l.poll(ctx)
	var fatal *fatalError
	if errors.As(err, &fatal) {
		if cutShort(ctx, err) {
			c.log.Debug(l.name()+" poll ended by the run's end", "err", err)
			return 0, nil
		}
		logFailure(c, l, err)
		return 0, fatal
	}
	if ctx.Err() != nil {
		return 0, nil
	}
	wait := jitter(c.cfg.pollInterval)
	if err != nil {
		l.failures++
		wait = backoff(c.cfg.pollInterval, c.cfg.maxBackoff, int(l.failures))
		if l.kind == laneCommunity {
			wait = max(wait, communityRetryAfter(err))
		}
		c.log.Warn(l.name()+" poll failed", "err", err, "retry_in", wait)
		if l.kind == laneSwarm && l.up {
			l.up = false
			c.dispatch(ctx, &Disconnected{Err: err})
		}
		c.dispatch(ctx, &PollError{Err: err, Backoff: wait})
	} else {
		l.failures = 0
		if l.kind == laneSwarm && !l.up {
			l.up = true
			c.dispatch(ctx, &Connected{})
		}
	}
	if l.kind == laneSwarm {
		// Messages fetched before a failure in another namespace are delivered too.
		if err := c.handlePending(ctx); err != nil && !cutShort(ctx, err) {
			logFailure(c, l, err)
			return 0, err
		}
	}
	return wait, nil
}

// logFailure logs a lane's fatal error: a store failure, or the lease's loss, which the lease
// keeper logs once as it happens (lose), so the lanes failing on it only at Debug.
func logFailure(c *Client, l *lane, err error) {
	if errors.Is(err, ErrLeaseLost) {
		c.log.Debug(l.name()+" poll ended by the account lease's loss", "err", err)
		return
	}
	c.log.Error(l.name()+" poll: store failure", "err", err)
}

// cutShort reports whether err, a poll's failure, is only the run's end (a handover, a
// shutdown) cutting a store read short: not a failure. A lost lease, or a write that failed
// (bookkeeping ignores cancellation), is one.
func cutShort(ctx context.Context, err error) bool {
	return ctx.Err() != nil && !errors.Is(err, ErrLeaseLost) &&
		(errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// close ends every run (Run returns ErrClosed) and waits for the polls in flight and the loop.
func (s *scheduler) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	var fin []*runState
	for r := range s.runs {
		if s.stopLocked(r, ErrClosed) {
			fin = append(fin, r)
		}
	}
	s.mu.Unlock()
	for _, r := range fin {
		r.finish()
	}
	s.wg.Wait()
	return nil
}

// laneQueue is a min-heap of lanes by due time, then arrival.
type laneQueue []*lane

func (q laneQueue) Len() int { return len(q) }
func (q laneQueue) Less(i, j int) bool {
	if q[i].due != q[j].due {
		return q[i].due < q[j].due
	}
	return q[i].seq < q[j].seq
}
func (q laneQueue) Swap(i, j int) {
	q[i], q[j] = q[j], q[i]
	q[i].index, q[j].index = int32(i), int32(j)
}
func (q *laneQueue) Push(x any) {
	l := x.(*lane)
	l.index = int32(len(*q))
	*q = append(*q, l)
}
func (q *laneQueue) Pop() any {
	old := *q
	l := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	l.index = -1
	return l
}
