package session

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// The public API that rides on the account's configs: contacts and blocks, read positions,
// deletions that reach our other devices, and account deletion. Every change is recorded in
// the account's configs and pushed by Run (see usersync.go), so the account's other devices,
// official apps included, see it.

var (
	// ErrConfirmation: DeleteAccount was not given the account's ID as its confirmation.
	ErrConfirmation = errors.New("session: confirmation does not match the account")
	// ErrStaleConfig: a config message older than, or already included in, the config held
	// (ConfigRejected); it changed nothing.
	ErrStaleConfig = errors.New("session: config message older than the one held")
)

// Contacts returns the account's contacts as its devices share them (approvals, blocks,
// nicknames), sorted by ID.
func (c *Client) Contacts(ctx context.Context) ([]Contact, error) {
	var out []Contact
	err := c.readConfig(ctx, groups.DomainContacts, func(d groups.Dict) {
		for _, ct := range groups.ContactsFromData(d) {
			out = append(out, contactFromConfig(ct))
		}
	})
	return out, err
}

// Block blocks a sender on every device of the account: their messages and message requests
// (and group invitations) are dropped, reported as MessageDropped, not delivered.
func (c *Client) Block(ctx context.Context, id crypto.AccountID) error {
	return c.setBlocked(ctx, id, true)
}

// Unblock undoes Block.
func (c *Client) Unblock(ctx context.Context, id crypto.AccountID) error {
	return c.setBlocked(ctx, id, false)
}

func (c *Client) setBlocked(ctx context.Context, id crypto.AccountID, blocked bool) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if id.Prefix() != crypto.PrefixStandard || id == c.id {
		return fmt.Errorf("%w: %s cannot be blocked", ErrInvalidRecipient, id)
	}
	return c.noteContact(ctx, id, func(ct *groups.Contact) { ct.Blocked = blocked })
}

// Blocked returns the senders the account blocked (on any of its devices).
func (c *Client) Blocked(ctx context.Context) ([]crypto.AccountID, error) {
	cs, err := c.Contacts(ctx)
	var out []crypto.AccountID
	for _, ct := range cs {
		if ct.Blocked {
			out = append(out, ct.ID)
		}
	}
	return out, err
}

// MarkConversationRead records that the account read a conversation up to upTo (the sent time of the
// newest message read), on every device: official apps clear its unread count. It also
// clears a "marked unread" flag.
func (c *Client) MarkConversationRead(ctx context.Context, conv Conversation, upTo time.Time) error {
	return c.setRead(ctx, conv, upTo, false)
}

// MarkConversationUnread sets a conversation's "marked unread" flag on every device of the account.
func (c *Client) MarkConversationUnread(ctx context.Context, conv Conversation) error {
	pos, _, _, err := c.ReadPosition(ctx, conv)
	if err != nil {
		return err
	}
	return c.setRead(ctx, conv, pos, true)
}

func (c *Client) setRead(ctx context.Context, conv Conversation, upTo time.Time, unread bool) error {
	if c.closed.Load() {
		return ErrClosed
	}
	cv, err := conv.convo()
	if err != nil {
		return err
	}
	cv.LastRead, cv.Unread = upTo.UnixMilli(), unread
	if upTo.IsZero() {
		cv.LastRead = 0
	}
	now := c.net.Now()
	return c.updateConfig(ctx, groups.DomainConvoInfoVolatile, func(d groups.Dict) error {
		if old, ok := groups.ConvoFromData(d, cv); ok && old.LastRead > cv.LastRead && !unread {
			cv.LastRead = old.LastRead // read positions only move forward here
		}
		return groups.SetConvo(d, cv, now)
	})
}

// ReadPosition returns how far the account read a conversation (zero if it has no record)
// and whether it is marked unread.
func (c *Client) ReadPosition(ctx context.Context, conv Conversation) (lastRead time.Time, unread, ok bool, err error) {
	cv, err := conv.convo()
	if err != nil {
		return time.Time{}, false, false, err
	}
	err = c.readConfig(ctx, groups.DomainConvoInfoVolatile, func(d groups.Dict) {
		var got groups.Convo
		if got, ok = groups.ConvoFromData(d, cv); ok {
			unread = got.Unread
			if got.LastRead > 0 {
				lastRead = time.UnixMilli(got.LastRead)
			}
		}
	})
	return lastRead, unread, ok, err
}

// storeOwnCopy stores content, sealed to ourselves, in our own swarm, for our other devices
// (an unsend request, a delete-for-me), and records it as handled here.
func (c *Client) storeOwnCopy(ctx context.Context, content *pb.Content) error {
	now := c.net.Now()
	now = time.UnixMilli(now.UnixMilli())
	data, err := c.encode(c.id, content, now)
	if err != nil {
		return err
	}
	res, err := c.net.rpc.Store(ctx, c.signer, swarm.StoreRequest{Namespace: swarm.NamespaceDefault, Data: data, TTL: DefaultMessageTTL, Timestamp: now})
	if err != nil {
		return err
	}
	if res.Succeeded() == 0 {
		return &SendError{Recipient: c.id, Failures: map[string]string{}}
	}
	own := store.Incoming{Hash: res.Hash, Namespace: int16(swarm.NamespaceDefault), Timestamp: now, Expiry: now.Add(DefaultMessageTTL)}
	if err := c.store.SaveHandled(ctx, c.id, own); err != nil {
		c.log.Warn("recording our own copy", "err", err)
	}
	c.saveOwnContentMarker(ctx, data, own)
	return nil
}

// unsendContent is the UnsendRequest for a message.
func unsendContent(m MessageRef) *pb.Content {
	return &pb.Content{UnsendRequest: &pb.UnsendRequest{Timestamp: proto.Uint64(toMS(m.Timestamp)), Author: proto.String(m.Author.String())}}
}

// DeleteForMe deletes a message of the conversation with `with` for this account only, on
// all its devices: its copy in our swarm is deleted and our other devices are asked to delete
// it (they receive an Unsend event); the other party keeps theirs. hash is the storage hash of
// our copy (Message.Hash of a received message, SendResult.SyncHash of one we sent); for a
// message we sent from this client it may be "".
func (c *Client) DeleteForMe(ctx context.Context, with crypto.AccountID, msg MessageRef, hash string) error {
	if c.closed.Load() {
		return ErrClosed
	}
	var hashes []string
	if hash != "" {
		hashes = append(hashes, hash)
	}
	key := c.sentKey(with, msg.Timestamp)
	if msg.Author == c.id {
		if h, err := c.store.GetValue(ctx, sentBucket, key); err == nil && string(h) != hash {
			hashes = append(hashes, string(h))
		}
	}
	if err := c.storeOwnCopy(ctx, unsendContent(msg)); err != nil {
		return fmt.Errorf("session: delete for me: telling our other devices: %w", err)
	}
	if len(hashes) > 0 {
		if _, err := applied(c.net.rpc.Delete(ctx, c.signer, swarm.DeleteRequest{Hashes: hashes})); err != nil && !errors.Is(err, swarm.ErrNotFound) {
			return fmt.Errorf("session: delete for me: deleting our copy: %w", err)
		}
	}
	_ = c.store.DeleteValue(ctx, sentBucket, key)
	return nil
}

// DeleteAccount deletes the account: everything it has in its swarm (every namespace: its
// messages and configs, so its other devices lose them too) and then everything the store
// keeps for it. confirm must be the account's ID (AccountID().String()), so that it cannot
// happen by accident. Run must not be active; the Client is closed afterwards. When the swarm
// refuses, nothing local is deleted.
func (c *Client) DeleteAccount(ctx context.Context, confirm string) error {
	if confirm != c.id.String() {
		return fmt.Errorf("%w: pass the account's ID (%s) to delete it", ErrConfirmation, c.id)
	}
	if c.closed.Load() {
		return ErrClosed
	}
	if c.running.Load() {
		return fmt.Errorf("session: delete account: %w: stop Run first", ErrAlreadyRunning)
	}
	res, err := applied(c.net.rpc.DeleteAll(ctx, c.signer, swarm.DeleteAllRequest{AllNamespaces: true}))
	if err == nil && res.Succeeded() == 0 {
		err = &SendError{Recipient: c.id, Failures: map[string]string{}}
	}
	if err != nil {
		return fmt.Errorf("session: delete account: deleting the swarm's messages: %w", err)
	}
	if err := c.store.DeleteAccount(ctx, c.id); err != nil {
		return fmt.Errorf("session: delete account: the swarm is emptied but the local state is not: %w", err)
	}
	s := &c.usync
	// After any push under way (it reads the configs between its network calls).
	s.pushMu.Lock()
	s.mu.Lock()
	s.loaded, s.cfgs, s.recs, s.idle, s.derived, s.contacts = false, nil, nil, false, false, nil
	s.mu.Unlock()
	s.pushMu.Unlock()
	return c.Close()
}

// approveLocal records an approval in the store's contact list (approve also records it in
// the account's config).
func (c *Client) approveLocal(ctx context.Context, peer crypto.AccountID) {
	if err := c.store.PutValue(ctx, contactsBucket, c.contactKey(peer), []byte("approved")); err != nil {
		c.log.Warn("saving contact state", "err", err)
	}
}

// applyProfile takes over the profile another device set.
func (c *Client) applyProfile(ctx context.Context, ch configChange) []Event {
	before, after := groups.UserProfileFromData(ch.before), groups.UserProfileFromData(ch.after)
	if before.Name == after.Name && before.PicURL == after.PicURL && string(before.PicKey) == string(after.PicKey) {
		return nil
	}
	p := Profile{DisplayName: after.Name, PictureURL: after.PicURL, PictureKey: after.PicKey}
	c.adoptProfile(ctx, p)
	return []Event{&SyncedProfile{Profile: c.Profile()}}
}

// adoptProfile makes p (from another device) the profile we attach to our messages; it is
// saved with its change time moved forward, as every change of ours is.
func (c *Client) adoptProfile(ctx context.Context, p Profile) {
	if err := c.changeProfile(ctx, func(q *Profile) {
		q.DisplayName, q.PictureURL, q.PictureKey = p.DisplayName, p.PictureURL, p.PictureKey
	}); err != nil {
		c.log.Warn("saving the profile another device set", "err", err)
	}
}

// SetProfile changes the profile we attach to the visible messages we send: name and picture
// (the file-server URL and key of a picture already uploaded; SetProfilePicture uploads one).
// Like SetDisplayName it is saved with its change time, and the account's other devices get it
// through the UserProfile config.
func (c *Client) SetProfile(ctx context.Context, p Profile) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if p.PictureURL != "" && len(p.PictureKey) != 32 {
		return fmt.Errorf("session: set profile: a picture needs its 32-byte key")
	}
	return c.changeProfile(ctx, func(q *Profile) {
		q.DisplayName, q.PictureURL, q.PictureKey = p.DisplayName, p.PictureURL, p.PictureKey
		if p.PictureURL == "" {
			q.PictureKey = nil
		}
	})
}

// noteProfile records our profile in the UserProfile config.
func (c *Client) noteProfile(ctx context.Context, p *Profile) error {
	return c.updateConfig(ctx, groups.DomainUserProfile, func(d groups.Dict) error {
		up := groups.UserProfileFromData(d)
		up.Name = p.DisplayName
		up.PicURL, up.PicKey = p.PictureURL, p.PictureKey
		up.Apply(d)
		return nil
	})
}

// defaultNamespaces are the namespaces of our swarm Run polls unless WithNamespaces says
// otherwise: 1:1 messages and the account's four configs.
func defaultNamespaces() []swarm.Namespace {
	return []swarm.Namespace{swarm.NamespaceDefault, swarm.NamespaceUserProfile, swarm.NamespaceContacts,
		swarm.NamespaceConvoInfoVolatile, swarm.NamespaceUserGroups}
}

// noteApprovedMe records that peer accepted our message request.
func (c *Client) noteApprovedMe(ctx context.Context, peer crypto.AccountID) {
	if err := c.noteContact(ctx, peer, func(ct *groups.Contact) { ct.ApprovedMe = true }); err != nil {
		c.log.Warn("recording an approval in the account's config", "err", err)
	}
}

// noteRead records, for MarkRead, how far the conversation with from was read.
func (c *Client) noteRead(ctx context.Context, from crypto.AccountID, read []MessageRef) {
	var latest time.Time
	for _, r := range read {
		if r.Author == from && r.Timestamp.After(latest) {
			latest = r.Timestamp
		}
	}
	if latest.IsZero() || from.Prefix() != crypto.PrefixStandard {
		return
	}
	if err := c.setRead(ctx, Conversation{ID: from}, latest, false); err != nil {
		c.log.Warn("recording a read position", "err", err)
	}
}
