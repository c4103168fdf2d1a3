package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// Disappearing messages. A conversation has a setting (off, delete after read, delete after
// send, with a timer) that the Client applies to everything it sends there:
//
//   - 1:1: the setting is ours and the other side's; changing it sends an expiration timer
//     update (DataMessage flags EXPIRATION_TIMER_UPDATE with the Content's expirationType and
//     expirationTimer), and the other side's updates change it here (DisappearingChanged).
//     Kept in the KV bucket "expiry", key <our ID>/<peer>, with the time of the change.
//   - Groups: the timer lives in the group's info config ("E", after send only), which admins
//     change; a signed GroupUpdateInfoChangeMessage announces it.
//
// After-send messages get a swarm TTL equal to the timer. After-read messages start their timer
// when read: MarkRead (or SendReadReceipt) shortens our swarm copy's expiry with the expire RPC
// (records of received after-read messages: bucket "afterread", key <our ID>/<peer>/<sent ms>).
// A record is kept until the message's swarm copy expires at the latest (afterReadUntil): each
// is listed under the day it may go (bucket "afterread-days", key <our ID>/<unix day>, then
// <our ID>/<unix day>/<n> for the n-th list of afterReadChunk more, the last n under
// <our ID>/<unix day>/last), and the days that have passed are pruned when a record is made (the
// first day not pruned yet: key <our ID>/pruned), so records of messages never read do not pile
// up.

// Errors of disappearing messages.
var (
	// ErrInvalidExpiry: a disappearing-messages setting that the conversation cannot have (a
	// timer below a second or above MaxDisappearingTimer, an unknown mode, after-read in a
	// group).
	ErrInvalidExpiry = errors.New("session: invalid disappearing-messages setting")
	// ErrNotInConversation: a message claims to change a conversation that its sender is not
	// part of (a sync message from someone else, a timer update in a group from a member who
	// is not an admin). It is skipped and reported.
	ErrNotInConversation = errors.New("session: sender is not allowed to change this conversation")
)

// MaxDisappearingTimer is the longest disappearing-messages timer (what a swarm keeps a 1:1
// message at most).
const MaxDisappearingTimer = DefaultMessageTTL

const (
	expiryBucket        = "expiry"
	afterReadBucket     = "afterread"
	afterReadDaysBucket = "afterread-days"
)

type savedExpiry struct {
	Mode    ExpiryMode `json:"mode"`
	Timer   int64      `json:"timer"`   // seconds
	Changed int64      `json:"changed"` // ms of the message that set it
}

func (c *Client) expiryKey(peer crypto.AccountID) string { return c.id.String() + "/" + peer.String() }

func checkExpiry(e Expiry) (Expiry, error) {
	if e.Mode == ExpiryNone {
		return Expiry{}, nil
	}
	if e.Mode != ExpiryAfterRead && e.Mode != ExpiryAfterSend {
		return Expiry{}, fmt.Errorf("%w: mode %v", ErrInvalidExpiry, e.Mode)
	}
	if e.Timer < time.Second || e.Timer > MaxDisappearingTimer {
		return Expiry{}, fmt.Errorf("%w: timer %v (1 s to %v)", ErrInvalidExpiry, e.Timer, MaxDisappearingTimer)
	}
	return Expiry{Mode: e.Mode, Timer: e.Timer.Truncate(time.Second)}, nil
}

func (c *Client) loadExpiry(ctx context.Context, peer crypto.AccountID) (savedExpiry, error) {
	b, err := c.store.GetValue(ctx, expiryBucket, c.expiryKey(peer))
	if errors.Is(err, store.ErrNotFound) {
		return savedExpiry{}, nil
	}
	if err != nil {
		return savedExpiry{}, fmt.Errorf("session: reading disappearing setting: %w", err)
	}
	var s savedExpiry
	if err := json.Unmarshal(b, &s); err != nil {
		c.log.Warn("corrupt disappearing setting ignored", "peer", peer.String())
		return savedExpiry{}, nil
	}
	return s, nil
}

func (s savedExpiry) expiry() Expiry {
	e, err := checkExpiry(Expiry{Mode: s.Mode, Timer: time.Duration(s.Timer) * time.Second})
	if err != nil {
		return Expiry{}
	}
	return e
}

// saveExpiry records a 1:1 setting changed at changedMS, unless a later change is known (or,
// force, always: our own change); it reports whether it was recorded.
func (c *Client) saveExpiry(ctx context.Context, peer crypto.AccountID, e Expiry, changedMS int64, force bool) (bool, error) {
	m := c.locks.get("expiry/" + peer.String())
	m.Lock()
	defer m.Unlock()
	old, err := c.loadExpiry(ctx, peer)
	if err != nil {
		return false, err
	}
	if old.Changed > changedMS && !force {
		return false, nil // an older update arriving late
	}
	b, _ := json.Marshal(savedExpiry{Mode: e.Mode, Timer: int64(e.Timer / time.Second), Changed: changedMS})
	if err := c.store.PutValue(ctx, expiryBucket, c.expiryKey(peer), b); err != nil {
		return false, fmt.Errorf("session: saving disappearing setting: %w", err)
	}
	return true, nil
}

func (st *groupState) disappearing() Expiry {
	t := groups.InfoFromData(st.info.Data()).ExpireTimer
	if t <= 0 {
		return Expiry{}
	}
	e, err := checkExpiry(Expiry{Mode: ExpiryAfterSend, Timer: time.Duration(t) * time.Second})
	if err != nil {
		return Expiry{}
	}
	return e
}

// Disappearing returns a conversation's disappearing-messages setting: with a 05 Account ID
// (1:1) or a group's 03 ID. The zero Expiry means off.
func (c *Client) Disappearing(ctx context.Context, conversation crypto.AccountID) (Expiry, error) {
	switch conversation.Prefix() {
	case crypto.PrefixStandard:
		s, err := c.loadExpiry(ctx, conversation)
		return s.expiry(), err
	case crypto.PrefixGroup:
		st, err := c.loadGroup(ctx, conversation)
		if err != nil {
			return Expiry{}, err
		}
		return st.disappearing(), nil
	}
	return Expiry{}, fmt.Errorf("%w: %s", ErrInvalidRecipient, conversation)
}

// SetDisappearing changes a conversation's disappearing-messages setting (Expiry{} turns it
// off) and tells the other side: for a 05 Account ID, an expiration timer update (also copied
// to our own swarm for our other devices); for a group we administer, the group's info (after
// send only) and a signed announcement. From then on every message the Client sends there
// disappears that way (WithExpiry still overrides it for one message).
func (c *Client) SetDisappearing(ctx context.Context, conversation crypto.AccountID, e Expiry) error {
	e, err := checkExpiry(e)
	if err != nil {
		return err
	}
	if conversation.Prefix() == crypto.PrefixGroup {
		return c.setGroupDisappearing(ctx, conversation, e)
	}
	if err := c.checkRecipient(conversation); err != nil {
		return err
	}
	at := c.msNow()
	content := &pb.Content{DataMessage: &pb.DataMessage{Flags: proto.Uint32(uint32(pb.DataMessage_EXPIRATION_TIMER_UPDATE))}}
	setExpiryFields(content, e)
	if _, err := c.sendContent(ctx, conversation, content, sendOpts{at: at}); err != nil {
		return err
	}
	_, err = c.saveExpiry(ctx, conversation, e, at.UnixMilli(), true)
	return err
}

func (c *Client) setGroupDisappearing(ctx context.Context, gid crypto.AccountID, e Expiry) error {
	if e.Mode == ExpiryAfterRead {
		return fmt.Errorf("%w: groups only have delete after send", ErrInvalidExpiry)
	}
	return c.updateGroup(ctx, gid, func(st *groupState) error {
		if err := st.requireAdmin(); err != nil {
			return err
		}
		secs := int64(e.Timer / time.Second)
		if err := st.info.Update(func(d groups.Dict) {
			info := groups.InfoFromData(d)
			info.ExpireTimer = secs
			info.Apply(d)
		}); err != nil {
			return err
		}
		if err := c.pushGroupState(ctx, st, nil); err != nil {
			return err
		}
		kind := pb.GroupUpdateInfoChangeMessage_DISAPPEARING_MESSAGES
		_, err := c.sendGroupBuilt(ctx, st, groupMessageTTL, func(ts int64) *pb.Content {
			sig := st.admin.Sign(groups.InfoChangeSigningMessage(int(kind), ts))
			return &pb.Content{DataMessage: &pb.DataMessage{GroupUpdateMessage: &pb.GroupUpdateMessage{
				InfoChangeMessage: &pb.GroupUpdateInfoChangeMessage{Type: kind.Enum(), UpdatedExpiration: proto.Uint32(uint32(secs)), AdminSignature: sig[:]}}}}
		})
		return err
	})
}

// setExpiryFields writes e into a Content: expirationType and expirationTimer, or (off)
// UNKNOWN and 0, as desktop writes an "off" timer update.
func setExpiryFields(c *pb.Content, e Expiry) {
	if e.Off() {
		c.ExpirationType, c.ExpirationTimer = pb.Content_UNKNOWN.Enum(), proto.Uint32(0)
		return
	}
	setExpiry(c, &e)
}

// conversationExpiry is the setting the Client applies to what it sends to conversation (nil:
// off). Failures to read it are logged and read as off.
func (c *Client) conversationExpiry(ctx context.Context, conversation crypto.AccountID) *Expiry {
	e, err := c.Disappearing(ctx, conversation)
	if err != nil {
		c.log.Warn("reading disappearing setting", "conversation", conversation.String(), "err", err)
		return nil
	}
	if e.Off() {
		return nil
	}
	return &e
}

// applyConversationExpiry sets o's expiry to the conversation's setting unless the caller
// chose one with WithExpiry.
func (c *Client) applyConversationExpiry(ctx context.Context, conversation crypto.AccountID, o *sendOpts) {
	if o.expirySet {
		if o.expiry != nil && o.expiry.Off() {
			o.expiry = nil
		}
		return
	}
	o.expiry = c.conversationExpiry(ctx, conversation)
}

// afterRead is the record of a received after-read message, until it is read.
type afterRead struct {
	Hash  string `json:"hash"`
	Timer int64  `json:"timer"` // seconds
}

func (c *Client) afterReadKey(peer crypto.AccountID, sentMS int64) string {
	return c.id.String() + "/" + peer.String() + "/" + strconv.FormatInt(sentMS, 10)
}

// noteAfterRead records a received after-read message, whose swarm copy expires at expiry
// (zero: unknown), so that MarkRead can start its timer.
func (c *Client) noteAfterRead(ctx context.Context, m *Message, expiry time.Time) {
	key := c.afterReadKey(m.From, m.Timestamp.UnixMilli())
	b, _ := json.Marshal(afterRead{Hash: m.Hash, Timer: int64(m.Expiry.Timer / time.Second)})
	if err := c.store.PutValue(ctx, afterReadBucket, key, b); err != nil {
		c.log.Warn("recording an after-read message", "err", err)
		return
	}
	mu := c.locks.get(afterReadDaysBucket)
	mu.Lock()
	defer mu.Unlock()
	now := c.localNow()
	day := unixDay(afterReadUntil(expiry, now))
	if err := c.addToAfterReadDay(ctx, day, key); err != nil {
		c.log.Warn("recording an after-read message", "err", err)
	}
	if err := c.pruneAfterRead(ctx, unixDay(now)); err != nil {
		c.log.Warn("pruning records of after-read messages", "err", err)
	}
}

// afterReadUntil returns until when the record of an after-read message whose swarm copy
// expires at expiry, noted at now, is kept: the expiry bounded to [now, now+MaxMessageTTL] (a
// zero expiry counts as the maximum), plus PruneMargin. The expiry is the node's word: an early
// one only lets the record go before the message is read (MarkRead then has no swarm copy to
// shorten, by that node's account), a junk one keeps it at most this long. This is no replay
// protection: that is the store's seen-message records (store.SeenUntil), which ignore it.
func afterReadUntil(expiry, now time.Time) time.Time {
	hi := now.Add(store.MaxMessageTTL)
	switch {
	case expiry.IsZero() || expiry.After(hi):
		expiry = hi
	case expiry.Before(now):
		expiry = now
	}
	return expiry.Add(store.PruneMargin)
}

func unixDay(t time.Time) int64 { return t.Unix() / 86400 }

func (c *Client) afterReadDayKey(day string) string { return c.id.String() + "/" + day }

// afterReadChunk is how many records one list of a day's index holds: a record rewrites one
// short list, not the day's whole index (a bot receiving thousands of after-read messages a day
// would rewrite megabytes at each).
const afterReadChunk = 64

// afterReadChunkKey is the key of the day's n-th list.
func afterReadChunkKey(dk string, n int) string {
	if n == 0 {
		return dk
	}
	return dk + "/" + strconv.Itoa(n)
}

// afterReadLast returns the number of the day's last list (0 when it has one or none).
func (c *Client) afterReadLast(ctx context.Context, dk string) (int, error) {
	b, err := c.store.GetValue(ctx, afterReadDaysBucket, dk+"/last")
	switch {
	case errors.Is(err, store.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	}
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 {
		return 0, nil // a corrupt number: the lists after 0 are not pruned (their records stay)
	}
	return n, nil
}

func (c *Client) addToAfterReadDay(ctx context.Context, day int64, key string) error {
	dk := c.afterReadDayKey(strconv.FormatInt(day, 10))
	n, err := c.afterReadLast(ctx, dk)
	if err != nil {
		return err
	}
	var keys []string
	b, err := c.store.GetValue(ctx, afterReadDaysBucket, afterReadChunkKey(dk, n))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		_ = json.Unmarshal(b, &keys) // a corrupt list is replaced
	}
	if slices.Contains(keys, key) {
		return nil
	}
	if len(keys) >= afterReadChunk {
		// A new list, counted first: a list not counted would never be pruned.
		n, keys = n+1, nil
		if err := c.store.PutValue(ctx, afterReadDaysBucket, dk+"/last", []byte(strconv.Itoa(n))); err != nil {
			return err
		}
	}
	b, _ = json.Marshal(append(keys, key))
	return c.store.PutValue(ctx, afterReadDaysBucket, afterReadChunkKey(dk, n), b)
}

// pruneAfterRead deletes the records listed under the days before today, once a day.
func (c *Client) pruneAfterRead(ctx context.Context, today int64) error {
	if c.afterReadPruned.Load() == today {
		return nil
	}
	pk := c.afterReadDayKey("pruned")
	first, end := today, today
	b, err := c.store.GetValue(ctx, afterReadDaysBucket, pk)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return err
	default:
		if d, err := strconv.ParseInt(string(b), 10, 64); err == nil && d < today {
			// Records made by the day d at the latest (every later one would have moved it)
			// are listed at most a longest keep after it: a client off for a year does not
			// walk the year.
			first = d
			end = min(today, d+int64((store.MaxMessageTTL+store.PruneMargin)/(24*time.Hour))+2)
		}
	}
	for d := first; d < end; d++ {
		dk := c.afterReadDayKey(strconv.FormatInt(d, 10))
		last, err := c.afterReadLast(ctx, dk)
		if err != nil {
			return err
		}
		for n := range last + 1 {
			ck := afterReadChunkKey(dk, n)
			b, err := c.store.GetValue(ctx, afterReadDaysBucket, ck)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			var keys []string
			_ = json.Unmarshal(b, &keys)
			for _, k := range keys {
				if err := c.store.DeleteValue(ctx, afterReadBucket, k); err != nil {
					return err
				}
			}
			if err := c.store.DeleteValue(ctx, afterReadDaysBucket, ck); err != nil {
				return err
			}
		}
		if err := c.store.DeleteValue(ctx, afterReadDaysBucket, dk+"/last"); err != nil {
			return err
		}
	}
	if err := c.store.PutValue(ctx, afterReadDaysBucket, pk, []byte(strconv.FormatInt(today, 10))); err != nil {
		return err
	}
	c.afterReadPruned.Store(today)
	return nil
}

// MarkRead starts the timers of the after-read disappearing messages among read (messages from
// `from`): their copies in our swarm are set to expire when their timer has run from now (the
// expire RPC, shortening only). Messages that do not disappear after reading are ignored. It
// sends nothing to the sender; SendReadReceipt does both.
func (c *Client) MarkRead(ctx context.Context, from crypto.AccountID, read ...MessageRef) error {
	c.noteRead(ctx, from, read) // the account's read position, for its other devices (usersync_api.go)
	now := c.now()
	byExpiry := map[time.Time][]string{}
	var keys []string
	for _, r := range read {
		if r.Author != from {
			continue
		}
		key := c.afterReadKey(from, r.Timestamp.UnixMilli())
		b, err := c.store.GetValue(ctx, afterReadBucket, key)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return fmt.Errorf("session: mark read: %w", err)
		}
		var a afterRead
		if json.Unmarshal(b, &a) != nil || a.Hash == "" || a.Timer <= 0 {
			_ = c.store.DeleteValue(ctx, afterReadBucket, key)
			continue
		}
		exp := now.Add(time.Duration(a.Timer) * time.Second).Truncate(time.Millisecond)
		byExpiry[exp] = append(byExpiry[exp], a.Hash)
		keys = append(keys, key)
	}
	for exp, hashes := range byExpiry {
		if _, err := applied(c.net.rpc.Expire(ctx, c.signer, swarm.ExpireRequest{Hashes: hashes, Expiry: exp, Shorten: true})); err != nil && !errors.Is(err, swarm.ErrNotFound) {
			return fmt.Errorf("session: mark read: starting disappearing timers: %w", err)
		}
	}
	for _, k := range keys {
		_ = c.store.DeleteValue(ctx, afterReadBucket, k)
	}
	return nil
}

// expiresAt fills in when a received message disappears: after send, its sent time plus the
// timer; after read, when the swarm copy's expiry shows that another device of ours already
// started the timer (it is then at most the timer away).
func expiresAt(e *Expiry, sent, swarmExpiry, now time.Time) time.Time {
	switch {
	case e == nil:
		return time.Time{}
	case e.Mode == ExpiryAfterSend:
		return sent.Add(e.Timer)
	case e.Mode == ExpiryAfterRead && !swarmExpiry.IsZero() && !swarmExpiry.After(now.Add(e.Timer)):
		return swarmExpiry
	}
	return time.Time{}
}
