package session

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// This file keeps the account's four config messages (UserProfile, Contacts,
// ConvoInfoVolatile, UserGroups; namespaces 2 to 5 of our own swarm) in step with the
// account's other devices, as a linked device does: Run pulls them with every poll and merges
// what other devices pushed (groups.UserConfig, libsession's rules), pushes our own changes
// once per burst of changes, deletes the messages a push supersedes, and stores every config
// again at least every 7 days so that none expires from the swarm. What other devices change
// reaches the application as Synced* events; what rides on the configs (profile, contacts and
// blocks, groups, communities, read positions) is in usersync_api.go.
//
// Store layout: bucket "userconfig", key "<our ID>/<domain>", a JSON configRecord.

const (
	userConfigBucket = "userconfig"
	// configTTL is how long the swarm keeps a config message (the longest a node allows).
	configTTL = 30 * 24 * time.Hour
	// configRefreshEvery is how often each config is stored again (whitepaper §6.1.1).
	configRefreshEvery = 7 * 24 * time.Hour
	// DefaultConfigPushDelay is how long a change waits for more changes before it is pushed.
	DefaultConfigPushDelay = time.Second
	// maxOwnHashes bounds the remembered hashes of the config messages we stored.
	maxOwnHashes = 8
)

var configNamespaces = map[string]swarm.Namespace{
	groups.DomainUserProfile:       swarm.NamespaceUserProfile,
	groups.DomainContacts:          swarm.NamespaceContacts,
	groups.DomainConvoInfoVolatile: swarm.NamespaceConvoInfoVolatile,
	groups.DomainUserGroups:        swarm.NamespaceUserGroups,
}

func domainOf(ns int16) (string, bool) {
	for d, n := range configNamespaces {
		if int16(n) == ns {
			return d, true
		}
	}
	return "", false
}

// WithConfigPushDelay sets how long a change to the account's configs (profile, contacts,
// blocks, groups, communities, read positions) waits for more changes before Run pushes them
// all in one message per config (default DefaultConfigPushDelay).
func WithConfigPushDelay(d time.Duration) Option {
	return func(c *config) { c.pushDelay = d }
}

// WithCommunityAutoJoin makes the client join (and leave) the community rooms that the
// account's other devices join (and leave). Without it such changes are only reported as
// SyncedCommunity events.
func WithCommunityAutoJoin(on bool) Option {
	return func(c *config) { c.autoJoin = on }
}

// configRecord is what the store keeps of one config.
type configRecord struct {
	Dump []byte `json:"dump"`
	// Delete are hashes of our config messages that a push superseded, still to delete.
	Delete []string `json:"delete,omitempty"`
	// Stored is when (unix s) we last stored or refreshed the config in the swarm.
	Stored int64 `json:"stored,omitempty"`
	// Own are the hashes of the last config messages we stored: coming back from the swarm
	// they are ours, not another device's.
	Own []string `json:"own,omitempty"`
}

// userSync is the Client's copy of the account's configs. They are loaded from the store when
// something needs them and dropped again (unloadConfigsLocked) once nothing waits to be pushed
// or deleted: an idle account keeps only what its polls read (the contact flags and when the
// next refresh is due), not four config models.
type userSync struct {
	mu     sync.Mutex // guards the fields below and every change to the configs
	loaded bool
	// idle: the configs were dropped with nothing to push or delete; refreshAt (unix s, 0:
	// none) is then when the first of them is due for its 7-day refresh.
	idle bool
	// derived: contacts holds what the Contacts config says (kept while the configs are
	// dropped): whom the account blocked and whom it approved (nil when nobody).
	derived   bool
	cfgs      map[string]*groups.UserConfig
	recs      map[string]*configRecord
	refreshAt int64
	contacts  map[crypto.AccountID]contactFlags

	pushMu sync.Mutex   // one push at a time
	burst  atomic.Int64 // unix ns of the first change not yet pushed (0: none)
	pulled atomic.Bool  // a fetch of our swarm succeeded: what other devices pushed is merged
	listed atomic.Bool  // the groups and rooms of the store were recorded in the configs
}

// laneConfig is the index of Run's config lane in the scheduler's lanes.
const laneConfig = 3

// kickConfig brings c's config lane forward to delay from now, but at most five delays after
// the first change of the burst, so that a steady stream of changes is still pushed.
func (s *scheduler) kickConfig(c *Client, delay time.Duration) {
	now := time.Now()
	c.usync.burst.CompareAndSwap(0, now.UnixNano())
	due := now.Add(delay)
	if limit := time.Unix(0, c.usync.burst.Load()).Add(5 * delay); limit.Before(due) {
		due = limit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r := c.run
	if r == nil || r.stopping {
		return
	}
	l := &r.lanes[laneConfig]
	if l.index < 0 { // polling now
		l.soon = s.at(due)
		return
	}
	l.due = s.at(due)
	heap.Fix(&s.queue, int(l.index))
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// kickConfigPush brings Run's config lane forward: it pushes once no change came for the push
// delay (at most five delays after the first change of a burst). Without Run, PollOnce and
// SyncConfigs push.
func (c *Client) kickConfigPush() {
	if c.net == nil || c.net.sched == nil {
		return // NewClient is still setting up; Run pushes when it starts
	}
	delay := c.cfg.pushDelay
	if delay <= 0 {
		delay = DefaultConfigPushDelay
	}
	c.net.sched.kickConfig(c, delay)
}

func (c *Client) configKey(domain string) string { return c.id.String() + "/" + domain }

// loadConfigsLocked reads the four configs from the store once. s.mu is held.
func (c *Client) loadConfigsLocked(ctx context.Context) error {
	s := &c.usync
	if s.loaded {
		return nil
	}
	cfgs := map[string]*groups.UserConfig{}
	recs := map[string]*configRecord{}
	for _, d := range groups.UserDomains {
		rec := &configRecord{}
		b, err := c.store.GetValue(ctx, userConfigBucket, c.configKey(d))
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return &fatalError{fmt.Errorf("session: reading the %s config: %w", d, err)}
		default:
			if err := json.Unmarshal(b, rec); err != nil {
				c.log.Warn("corrupt saved config ignored; it is pulled again", "config", d, "err", err)
				rec = &configRecord{}
			}
		}
		u, err := groups.OpenUserConfig(c.keys, d, rec.Dump)
		if err != nil {
			c.log.Warn("unreadable saved config ignored; it is pulled again", "config", d, "err", err)
			if u, err = groups.OpenUserConfig(c.keys, d, nil); err != nil {
				return err
			}
		}
		cfgs[d], recs[d] = u, rec
	}
	s.cfgs, s.recs, s.loaded, s.idle = cfgs, recs, true, false
	c.configChangedLocked(groups.DomainContacts)
	return nil
}

// unloadConfigsLocked drops the loaded configs when none waits for a push or a deletion: the
// store holds exactly what they hold (every change is saved under s.mu), so the next use loads
// the same state again. s.mu and s.pushMu are held (a push keeps its config across unlocked
// requests).
func (c *Client) unloadConfigsLocked() {
	s := &c.usync
	if !s.loaded {
		return
	}
	var refreshAt int64
	for _, d := range groups.UserDomains {
		u, rec := s.cfgs[d], s.recs[d]
		if u.NeedsPush() || len(rec.Delete) > 0 {
			return
		}
		if at := time.Unix(rec.Stored, 0).Add(configRefreshEvery).Unix(); u.Seqno() > 0 && (refreshAt == 0 || at < refreshAt) {
			refreshAt = at
		}
	}
	s.cfgs, s.recs, s.loaded = nil, nil, false
	s.idle, s.refreshAt = true, refreshAt
}

// unloadIdleConfigs is unloadConfigsLocked unless a push is under way.
func (c *Client) unloadIdleConfigs() {
	s := &c.usync
	if !s.pushMu.TryLock() {
		return // the push drops them when it is done
	}
	defer s.pushMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	c.unloadConfigsLocked()
}

// saveConfigLocked writes one config's record. s.mu is held.
func (c *Client) saveConfigLocked(ctx context.Context, domain string) error {
	s := &c.usync
	rec := s.recs[domain]
	rec.Dump = s.cfgs[domain].Dump()
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := c.store.PutValue(context.WithoutCancel(ctx), userConfigBucket, c.configKey(domain), b); err != nil {
		return &fatalError{fmt.Errorf("session: saving the %s config: %w", domain, err)}
	}
	return nil
}

// updateConfig changes one config through f, saves it and schedules a push when f changed
// anything. f runs on a copy of the config's data under the sync lock; when it returns an
// error nothing changes.
func (c *Client) updateConfig(ctx context.Context, domain string, f func(d groups.Dict) error) error {
	s := &c.usync
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := c.loadConfigsLocked(ctx); err != nil {
		return err
	}
	changed, err := s.cfgs[domain].Change(f)
	if err != nil || !changed {
		return err
	}
	c.configChangedLocked(domain)
	if err := c.saveConfigLocked(ctx, domain); err != nil {
		return err
	}
	c.kickConfigPush()
	return nil
}

// readConfig runs f on a copy of one config's data.
func (c *Client) readConfig(ctx context.Context, domain string, f func(d groups.Dict)) error {
	s := &c.usync
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := c.loadConfigsLocked(ctx); err != nil {
		return err
	}
	f(s.cfgs[domain].Data())
	return nil
}

// takeConfigMessages merges the pending messages of the config namespaces (a batch per
// config, as libsession merges) and returns the other pending messages. Rejected messages are
// reported as ConfigRejected events; what the merges changed is applied and reported.
func (c *Client) takeConfigMessages(ctx context.Context, pending []store.Incoming) ([]store.Incoming, error) {
	byDomain := map[string][]store.Incoming{}
	rest := pending[:0:0]
	for _, p := range pending {
		if d, ok := domainOf(p.Namespace); ok {
			byDomain[d] = append(byDomain[d], p)
		} else {
			rest = append(rest, p)
		}
	}
	if len(byDomain) == 0 {
		return pending, nil
	}
	s := &c.usync
	s.mu.Lock()
	if err := c.loadConfigsLocked(ctx); err != nil {
		s.mu.Unlock()
		return nil, err
	}
	var evts []Event
	var changes []configChange
	needPush := false
	for _, d := range groups.UserDomains {
		msgs := byDomain[d]
		if len(msgs) == 0 {
			continue
		}
		u, rec := s.cfgs[d], s.recs[d]
		before := u.Data()
		in := make([]groups.ConfigInput, 0, len(msgs))
		for _, m := range msgs {
			if slices.Contains(rec.Own, m.Hash) || slices.Contains(u.CurrentHashes(), m.Hash) {
				continue // our own message coming back
			}
			in = append(in, groups.ConfigInput{Hash: m.Hash, Data: m.Data})
		}
		res, err := u.MergeStored(in)
		for _, r := range res.Rejected {
			c.log.Warn("config message rejected", "config", d, "hash", r.Hash, "err", r.Err)
			evts = append(evts, &ConfigRejected{Config: d, Hash: r.Hash, Err: r.Err})
		}
		for _, h := range res.Stale {
			c.log.Debug("config message already included", "config", d, "hash", h)
			evts = append(evts, &ConfigRejected{Config: d, Hash: h, Err: ErrStaleConfig})
		}
		if err != nil && len(res.Rejected) == 0 {
			c.log.Warn("config merge failed", "config", d, "err", err)
		}
		if res.Changed {
			c.configChangedLocked(d)
			changes = append(changes, configChange{domain: d, before: before, after: u.Data()})
		}
		if u.NeedsPush() {
			needPush = true
		}
		if err := c.saveConfigLocked(ctx, d); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	s.mu.Unlock()
	if needPush {
		c.kickConfigPush()
	}
	// Apply what the other devices changed (outside the sync lock: this joins and leaves
	// groups and communities, whose own updates record them in the configs again).
	for _, ch := range changes {
		evts = append(evts, c.applyConfigChange(ctx, ch)...)
	}
	for _, e := range evts {
		c.dispatch(ctx, e)
	}
	bk := context.WithoutCancel(ctx)
	for _, msgs := range byDomain {
		for _, m := range msgs {
			if err := c.store.MarkHandled(bk, c.id, m.Hash); err != nil {
				return nil, &fatalError{fmt.Errorf("session: marking a config message handled: %w", err)}
			}
		}
	}
	return rest, nil
}

// configChange is what one merge changed.
type configChange struct {
	domain        string
	before, after groups.Dict
}

// pushConfigs stores every config that has changes (or is due for its 7-day refresh) in our
// swarm, confirms it, and deletes the messages it superseded.
func (c *Client) pushConfigs(ctx context.Context) error {
	s := &c.usync
	if !s.listed.Swap(true) {
		c.recordLocalState(ctx)
	}
	s.pushMu.Lock()
	defer s.pushMu.Unlock()
	var errs []error
	for _, d := range groups.UserDomains {
		if err := c.pushConfig(ctx, d); err != nil {
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return err
			}
			errs = append(errs, fmt.Errorf("%s config: %w", d, err))
		}
	}
	s.mu.Lock()
	c.unloadConfigsLocked()
	s.mu.Unlock()
	return errors.Join(errs...)
}

func (c *Client) pushConfig(ctx context.Context, domain string) error {
	s := &c.usync
	ns := configNamespaces[domain]
	now := c.net.Now()
	s.mu.Lock()
	if err := c.loadConfigsLocked(ctx); err != nil {
		s.mu.Unlock()
		return err
	}
	u, rec := s.cfgs[domain], s.recs[domain]
	refresh := u.Seqno() > 0 && now.Sub(time.Unix(rec.Stored, 0)) >= configRefreshEvery
	if !u.NeedsPush() && !refresh {
		del := slices.Clone(rec.Delete)
		s.mu.Unlock()
		return c.deleteObsolete(ctx, domain, del)
	}
	if cur := u.CurrentHashes(); !u.NeedsPush() && len(cur) == 1 {
		// A refresh: push the stored message's expiry back; store it again only if it is gone.
		s.mu.Unlock()
		if c.extendConfig(ctx, cur[0], now) {
			s.mu.Lock()
			rec.Stored = now.Unix()
			del := slices.Clone(rec.Delete)
			err := c.saveConfigLocked(ctx, domain)
			s.mu.Unlock()
			if err != nil {
				return err
			}
			return c.deleteObsolete(ctx, domain, del)
		}
		s.mu.Lock()
	}
	p, err := u.PrepareStore(now)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	rec.Delete = appendNew(rec.Delete, p.Obsolete...)
	hash := swarm.MessageHash(c.id, ns, p.Data)
	rec.Own = appendNew(rec.Own, hash)
	if len(rec.Own) > maxOwnHashes {
		rec.Own = rec.Own[len(rec.Own)-maxOwnHashes:]
	}
	if err := c.saveConfigLocked(ctx, domain); err != nil {
		s.mu.Unlock()
		return err
	}
	s.mu.Unlock()

	res, err := c.net.rpc.Store(ctx, c.signer, swarm.StoreRequest{Namespace: ns, Data: p.Data, TTL: configTTL, Timestamp: now})
	if err == nil && res.Succeeded() == 0 {
		err = &SendError{Recipient: c.id, Failures: map[string]string{}}
		for k, m := range res.Swarm {
			err.(*SendError).Failures[k] = nodeFailure(m)
		}
	}
	if err != nil {
		return err
	}
	if res.Hash != "" {
		hash = res.Hash
	}
	// Our poll will retrieve it: it is already handled.
	if err := c.store.SaveHandled(context.WithoutCancel(ctx), c.id, store.Incoming{Hash: hash, Namespace: int16(ns), Timestamp: now, Expiry: now.Add(configTTL)}); err != nil {
		return &fatalError{fmt.Errorf("session: recording our config message: %w", err)}
	}
	s.mu.Lock()
	u.ConfirmPushed(p.Seqno, hash)
	del := slices.Clone(rec.Delete)
	if u.NeedsPush() && !slices.Contains(u.CurrentHashes(), hash) {
		// The config changed while it was being stored: the message just stored is already
		// superseded; it goes once the next one is stored.
		rec.Delete = appendNew(rec.Delete, hash)
	} else if !slices.Contains(u.CurrentHashes(), hash) {
		u.ReplaceStored(p.Seqno, hash) // a refresh stored the message under a new hash
	}
	rec.Stored = now.Unix()
	err = c.saveConfigLocked(ctx, domain)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return c.deleteObsolete(ctx, domain, del)
}

// extendConfig pushes a stored config message's expiry to the maximum and reports whether
// a member of the swarm still holds it.
func (c *Client) extendConfig(ctx context.Context, hash string, now time.Time) bool {
	res, err := applied(c.net.rpc.Expire(ctx, c.signer, swarm.ExpireRequest{Hashes: []string{hash}, Expiry: now.Add(configTTL), Extend: true}))
	if err != nil {
		return false
	}
	for _, m := range res.Swarm {
		if m.Failed {
			continue
		}
		if _, ok := m.Unchanged[hash]; ok || slices.Contains(m.Updated, hash) {
			return true
		}
	}
	return false
}

// deleteObsolete deletes superseded config messages from our swarm (never a current one).
func (c *Client) deleteObsolete(ctx context.Context, domain string, hashes []string) error {
	s := &c.usync
	s.mu.Lock()
	cur := s.cfgs[domain].CurrentHashes()
	s.mu.Unlock()
	hashes = slices.DeleteFunc(hashes, func(h string) bool { return slices.Contains(cur, h) || !validHash(h) })
	if len(hashes) > 0 {
		if _, err := applied(c.net.rpc.Delete(ctx, c.signer, swarm.DeleteRequest{Hashes: hashes})); err != nil && !errors.Is(err, swarm.ErrNotFound) {
			return fmt.Errorf("deleting superseded config messages: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recs[domain]
	n := len(rec.Delete)
	rec.Delete = slices.DeleteFunc(rec.Delete, func(h string) bool { return !validHash(h) || slices.Contains(hashes, h) || slices.Contains(cur, h) })
	if len(rec.Delete) == n {
		return nil
	}
	return c.saveConfigLocked(ctx, domain)
}

// validHash reports a storage message hash (43 characters of unpadded base64); anything else
// (a hash from a damaged record) is never sent.
func validHash(h string) bool { return len(h) == 43 }

func appendNew(list []string, hs ...string) []string {
	for _, h := range hs {
		if h != "" && !slices.Contains(list, h) {
			list = append(list, h)
		}
	}
	return list
}

// configsNeedPush reports whether any config waits for a push or a refresh.
func (c *Client) configsNeedPush(ctx context.Context) bool {
	s := &c.usync
	if !s.listed.Load() {
		return true // the first push records the store's groups and rooms (recordLocalState)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := c.net.Now()
	if s.idle {
		return s.refreshAt != 0 && !now.Before(time.Unix(s.refreshAt, 0))
	}
	if c.loadConfigsLocked(ctx) != nil {
		return false
	}
	for _, d := range groups.UserDomains {
		u, rec := s.cfgs[d], s.recs[d]
		if u.NeedsPush() || len(rec.Delete) > 0 || (u.Seqno() > 0 && now.Sub(time.Unix(rec.Stored, 0)) >= configRefreshEvery) {
			return true
		}
	}
	return false
}

// notePulled records a successful fetch of our swarm: changes made before it are pushed now.
func (c *Client) notePulled() {
	if !c.usync.pulled.Swap(true) {
		c.kickConfigPush()
	}
}

// pollConfigs is the poll of Run's config lane (scheduler.go): it pushes what needs pushing
// (changes, merges, deletions, refreshes). A change brings the lane forward (kickConfigPush),
// so that a burst of changes is one push; otherwise it runs every poll interval and costs
// nothing when there is nothing to push.
func (c *Client) pollConfigs(ctx context.Context) error {
	if !c.usync.pulled.Load() {
		return nil // merge what other devices pushed first: fewer conflicting messages
	}
	c.usync.burst.Store(0) // later changes are the next burst
	if !c.configsNeedPush(ctx) {
		c.unloadIdleConfigs()
		return nil
	}
	if err := c.pushConfigs(ctx); err != nil {
		var fatal *fatalError
		if errors.As(err, &fatal) {
			return err
		}
		return fmt.Errorf("session: pushing the account's configs: %w", err)
	}
	return nil
}

// SyncConfigs pushes the account's config changes now (Run pushes them on its own, a moment
// after each change; a bot polling with PollOnce can call this instead, or rely on PollOnce,
// which pushes too).
func (c *Client) SyncConfigs(ctx context.Context) error {
	if c.closed.Load() {
		return ErrClosed
	}
	return c.pushConfigs(ctx)
}
