package session

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// SendResult describes a message stored in the recipient's swarm.
type SendResult struct {
	// Hash is the storage hash of the message in the recipient's swarm.
	Hash string
	// Timestamp is the sent time; with our Account ID it identifies the message (Ref).
	Timestamp time.Time
	// Ref identifies the message for quotes, reactions and Unsend.
	Ref MessageRef
	// Stored is how many members of the recipient's swarm confirmed the message.
	Stored int
	// SyncHash is the hash of the copy in our own swarm (for linked devices), if one was sent;
	// SyncErr says why storing it failed (the message itself was delivered).
	SyncHash string
	SyncErr  error
}

// SendError reports a message that no member of the recipient's swarm stored. Failures maps
// each member that answered (Ed25519 key, hex) to its reason; Err is the request error when the
// swarm could not be reached at all.
type SendError struct {
	Recipient crypto.AccountID
	Failures  map[string]string
	Err       error
}

func (e *SendError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "session: message to %s was not stored", e.Recipient)
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if len(e.Failures) > 0 {
		keys := make([]string, 0, len(e.Failures))
		for k := range e.Failures {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "node %.12s: %s", k, e.Failures[k])
		}
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the request error.
func (e *SendError) Unwrap() error { return e.Err }

// SendOption adjusts one outgoing message.
type SendOption func(*sendOpts)

type sendOpts struct {
	quote     *MessageRef
	expiry    *Expiry
	expirySet bool // WithExpiry was given: the conversation's setting does not apply
	previews  []LinkPreview
	ttl       time.Duration
	profile   *Profile
	noSync    bool
	// at is the sent time when the content was built around it (read from the clock once: a
	// TypingMessage's timestamp must equal the Envelope's); zero: now.
	at time.Time
}

// WithQuote makes the message a reply to ref.
func WithQuote(ref MessageRef) SendOption { return func(o *sendOpts) { o.quote = &ref } }

// WithExpiry makes the message disappear (after it is read or sent) once d has passed, instead
// of following the conversation's setting (see [Client.SetDisappearing]); WithExpiry(ExpiryNone, 0)
// sends it without one. The swarm copy's TTL is shortened to match for ExpiryAfterSend.
func WithExpiry(mode ExpiryMode, d time.Duration) SendOption {
	return func(o *sendOpts) { o.expiry, o.expirySet = &Expiry{Mode: mode, Timer: d}, true }
}

// WithTTL sets how long the swarm keeps the message (default DefaultMessageTTL, at least 10 s).
func WithTTL(d time.Duration) SendOption { return func(o *sendOpts) { o.ttl = d } }

// WithoutSync skips the copy to our own swarm that linked devices read.
func WithoutSync() SendOption { return func(o *sendOpts) { o.noSync = true } }

func (c *Client) checkRecipient(to crypto.AccountID) error {
	if to.Prefix() != crypto.PrefixStandard {
		return fmt.Errorf("%w: %s", ErrInvalidRecipient, to)
	}
	return nil
}

// SendText sends a text message to a 05 Account ID.
func (c *Client) SendText(ctx context.Context, to crypto.AccountID, text string, opts ...SendOption) (*SendResult, error) {
	if err := checkText(text, true); err != nil {
		return nil, err
	}
	return c.sendData(ctx, to, text, nil, opts)
}

// sendData sends a visible message: text and attachments, with our profile.
func (c *Client) sendData(ctx context.Context, to crypto.AccountID, text string, attachments []*pb.AttachmentPointer, opts []SendOption) (*SendResult, error) {
	if err := c.checkRecipient(to); err != nil {
		return nil, err
	}
	if err := c.handOver(ctx, to); err != nil {
		return nil, err
	}
	o := c.sendOptions(opts)
	c.applyConversationExpiry(ctx, to, &o)
	previews, err := c.uploadPreviews(ctx, o.previews, nil)
	if err != nil {
		return nil, err
	}
	content := visibleContent(text, attachments, &o)
	content.DataMessage.Preview = previews
	res, err := c.sendContent(ctx, to, content, o)
	if err == nil {
		c.approve(ctx, to)
	}
	return res, err
}

// sendOptions applies opts over the defaults (our current profile).
func (c *Client) sendOptions(opts []SendOption) sendOpts {
	o := sendOpts{profile: c.currentProfile()}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// visibleContent builds the Content of a visible message (1:1 or group) and, for a message
// that disappears after sending, shortens o.ttl to match unless it was set.
func visibleContent(text string, attachments []*pb.AttachmentPointer, o *sendOpts) *pb.Content {
	dm := &pb.DataMessage{Attachments: attachments}
	if text != "" || len(attachments) == 0 {
		dm.Body = proto.String(text)
	}
	if o.quote != nil {
		dm.Quote = &pb.DataMessage_Quote{Id: proto.Uint64(toMS(o.quote.Timestamp)), Author: proto.String(o.quote.Author.String())}
	}
	if o.profile != nil {
		dm.Profile, dm.ProfileKey = profileToPB(o.profile)
	}
	content := &pb.Content{DataMessage: dm}
	setExpiry(content, o.expiry)
	if o.expiry != nil && o.expiry.Mode == ExpiryAfterSend && o.ttl == 0 {
		o.ttl = disappearTTL(o.expiry.Timer)
	}
	return content
}

// disappearTTL is the swarm TTL of a message that disappears after timer: the timer, or the
// shortest TTL a swarm stores for.
func disappearTTL(timer time.Duration) time.Duration { return max(timer, swarm.MinTTL) }

// currentProfile returns the profile we attach to visible messages (nil: none).
func (c *Client) currentProfile() *Profile {
	c.profileMu.Lock()
	defer c.profileMu.Unlock()
	return c.profile
}

// SendTyping sends a typing indicator (started or stopped).
func (c *Client) SendTyping(ctx context.Context, to crypto.AccountID, started bool) error {
	action := pb.TypingMessage_STOPPED
	if started {
		action = pb.TypingMessage_STARTED
	}
	// One clock reading for the TypingMessage and the Envelope: desktop drops a typing
	// indicator whose two timestamps differ.
	at := c.msNow()
	content := &pb.Content{TypingMessage: &pb.TypingMessage{Timestamp: proto.Uint64(toMS(at)), Action: action.Enum()}}
	_, err := c.sendContent(ctx, to, content, sendOpts{ttl: typingTTL, noSync: true, at: at})
	return err
}

// SendReadReceipt tells the author of the messages that we read them, and starts the timers of
// those that disappear after reading (see [Client.MarkRead]).
func (c *Client) SendReadReceipt(ctx context.Context, to crypto.AccountID, read ...MessageRef) error {
	if len(read) == 0 {
		return nil
	}
	r := &pb.ReceiptMessage{Type: pb.ReceiptMessage_READ.Enum()}
	for _, m := range read {
		r.Timestamp = append(r.Timestamp, toMS(m.Timestamp))
	}
	if _, err := c.sendContent(ctx, to, &pb.Content{ReceiptMessage: r}, sendOpts{noSync: true}); err != nil {
		return err
	}
	// Reading starts the timers of after-read disappearing messages.
	return c.MarkRead(ctx, to, read...)
}

// React adds an emoji reaction to a message of the conversation with `to` (a 05 Account ID, or a
// group's 03 ID).
func (c *Client) React(ctx context.Context, to crypto.AccountID, target MessageRef, emoji string) (*SendResult, error) {
	return c.reaction(ctx, to, target, emoji, pb.DataMessage_Reaction_REACT)
}

// RemoveReaction removes our emoji reaction from a message.
func (c *Client) RemoveReaction(ctx context.Context, to crypto.AccountID, target MessageRef, emoji string) (*SendResult, error) {
	return c.reaction(ctx, to, target, emoji, pb.DataMessage_Reaction_REMOVE)
}

func (c *Client) reaction(ctx context.Context, to crypto.AccountID, target MessageRef, emoji string, action pb.DataMessage_Reaction_Action) (*SendResult, error) {
	if emoji == "" || len(emoji) > maxEmoji {
		return nil, fmt.Errorf("%w: a reaction needs an emoji (at most %d bytes)", ErrInvalidContent, maxEmoji)
	}
	dm := &pb.DataMessage{Reaction: &pb.DataMessage_Reaction{
		Id: proto.Uint64(toMS(target.Timestamp)), Author: proto.String(target.Author.String()),
		Emoji: proto.String(emoji), Action: action.Enum(),
	}}
	content := &pb.Content{DataMessage: dm}
	var o sendOpts
	c.applyConversationExpiry(ctx, to, &o)
	setExpiry(content, o.expiry)
	// Like text, a reaction that disappears after sending lives only that long in the swarm.
	if o.expiry != nil && o.expiry.Mode == ExpiryAfterSend {
		o.ttl = disappearTTL(o.expiry.Timer)
	}
	if to.Prefix() == crypto.PrefixGroup {
		st, err := c.loadJoinedGroup(ctx, to)
		if err != nil {
			return nil, err
		}
		ttl := groupMessageTTL
		if o.ttl > 0 {
			ttl = o.ttl
		}
		return c.sendGroupContent(ctx, st, content, ttl)
	}
	return c.sendContent(ctx, to, content, o)
}

// maxEmoji bounds a reaction's emoji (bytes): a few code points with modifiers.
const maxEmoji = 64

// AcceptMessageRequest accepts a message request from `from`, so they see that we accepted.
func (c *Client) AcceptMessageRequest(ctx context.Context, from crypto.AccountID) error {
	if err := c.sendRequestResponse(ctx, from); err != nil {
		return err
	}
	c.approve(ctx, from)
	return nil
}

func (c *Client) sendRequestResponse(ctx context.Context, to crypto.AccountID) error {
	r := &pb.MessageRequestResponse{IsApproved: proto.Bool(true)}
	if p := c.currentProfile(); p != nil {
		r.Profile, r.ProfileKey = profileToPB(p)
	}
	if _, err := c.sendContent(ctx, to, &pb.Content{MessageRequestResponse: r}, sendOpts{noSync: true}); err != nil {
		return err
	}
	c.markHandedOver(ctx, to)
	return nil
}

// Unsend deletes a message we sent, for everyone: it asks the recipient's clients to delete it
// and deletes our own (sync) copy from our swarm. The recipient's swarm copy expires on its own:
// only its owner may delete it. In a group (`to` a group's 03 ID) it sends the group a deletion
// of the message (GroupMessagesDeleted for the members) and, as an admin, deletes it from the
// group's swarm.
func (c *Client) Unsend(ctx context.Context, to crypto.AccountID, sent MessageRef) error {
	if sent.Author != c.id {
		return fmt.Errorf("session: unsend: only our own messages can be unsent (author %s)", sent.Author)
	}
	if to.Prefix() == crypto.PrefixGroup {
		return c.unsendInGroup(ctx, to, sent)
	}
	u := &pb.UnsendRequest{Timestamp: proto.Uint64(toMS(sent.Timestamp)), Author: proto.String(c.id.String())}
	if _, err := c.sendContent(ctx, to, &pb.Content{UnsendRequest: u}, sendOpts{}); err != nil {
		return err
	}
	// Our other devices delete it too (usersync_api.go).
	if err := c.storeOwnCopy(ctx, &pb.Content{UnsendRequest: u}); err != nil {
		c.log.Warn("unsend: telling our other devices", "err", err)
	}
	key := c.sentKey(to, sent.Timestamp)
	h, err := c.store.GetValue(ctx, sentBucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil // we kept no copy (WithoutSync)
	}
	if err != nil {
		return fmt.Errorf("session: unsend: %w", err)
	}
	if _, err := applied(c.net.rpc.Delete(ctx, c.signer, swarm.DeleteRequest{Hashes: []string{string(h)}})); err != nil && !errors.Is(err, swarm.ErrNotFound) {
		return fmt.Errorf("session: unsend: deleting our copy: %w", err)
	}
	_ = c.store.DeleteValue(ctx, sentBucket, key)
	return nil
}

// sentBucket maps our sent messages (by timestamp) to the hash of their sync copy, for Unsend.
const sentBucket = "sent"

func (c *Client) sentKey(to crypto.AccountID, t time.Time) string {
	return c.id.String() + "/" + to.String() + "/" + strconv.FormatInt(t.UnixMilli(), 10)
}

// sendContent stores content in to's swarm and, for visible messages, a sync copy in ours.
func (c *Client) sendContent(ctx context.Context, to crypto.AccountID, content *pb.Content, o sendOpts) (*SendResult, error) {
	if err := c.checkRecipient(to); err != nil {
		return nil, err
	}
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if err := CheckContent(content); err != nil {
		return nil, err
	}
	if err := c.leaseForSend(ctx); err != nil { // lease.go: refused before anything is sent
		return nil, err
	}
	// Millisecond precision: the timestamp identifies the message.
	now := time.UnixMilli(o.at.UnixMilli())
	if o.at.IsZero() {
		now = c.msNow()
	}
	ttl := o.ttl
	if ttl == 0 {
		ttl = DefaultMessageTTL
	}
	data, err := c.encode(to, content, now)
	if err != nil {
		return nil, err
	}
	res, err := c.net.rpc.Store(ctx, swarm.Unsigned(to), swarm.StoreRequest{Namespace: swarm.NamespaceDefault, Data: data, TTL: ttl, Timestamp: now})
	if err != nil {
		return nil, &SendError{Recipient: to, Err: err}
	}
	if res.Succeeded() == 0 {
		se := &SendError{Recipient: to, Failures: map[string]string{}}
		for k, m := range res.Swarm {
			se.Failures[k] = nodeFailure(m)
		}
		return nil, se
	}
	out := &SendResult{Hash: res.Hash, Timestamp: now, Ref: MessageRef{Author: c.id, Timestamp: now}, Stored: res.Succeeded()}
	if !o.noSync && content.DataMessage != nil && to != c.id {
		// We read what we write: the timer of an after-read message starts at once for our own
		// copy, which (as desktop stores it) lives only that long.
		syncTTL := ttl
		if e := expiryFromPB(content); e != nil && e.Mode == ExpiryAfterRead {
			syncTTL = min(syncTTL, disappearTTL(e.Timer))
		}
		out.SyncHash, out.SyncErr = c.storeSyncCopy(ctx, to, content, now, syncTTL)
		if out.SyncErr != nil {
			c.log.Warn("sync copy not stored", "err", out.SyncErr)
		}
	}
	return out, nil
}

func nodeFailure(m swarm.NodeResult) string {
	switch {
	case m.Timeout:
		return "timed out"
	case m.Reason != "":
		return fmt.Sprintf("%s (code %d)", m.Reason, m.Code)
	case m.Code != 0:
		return fmt.Sprintf("code %d", m.Code)
	}
	return "failed"
}

func (c *Client) encode(to crypto.AccountID, content *pb.Content, at time.Time) ([]byte, error) {
	return encodeMessage(c.keys, to, content, at)
}

// storeSyncCopy stores content, addressed to ourselves with syncTarget = to, in our own swarm so
// that our linked devices show the message we sent.
func (c *Client) storeSyncCopy(ctx context.Context, to crypto.AccountID, content *pb.Content, at time.Time, ttl time.Duration) (string, error) {
	sync := proto.Clone(content).(*pb.Content)
	sync.DataMessage.SyncTarget = proto.String(to.String())
	data, err := c.encode(c.id, sync, at)
	if err != nil {
		return "", err
	}
	res, err := c.net.rpc.Store(ctx, c.signer, swarm.StoreRequest{Namespace: swarm.NamespaceDefault, Data: data, TTL: ttl, Timestamp: at})
	if err != nil {
		return "", err
	}
	if res.Succeeded() == 0 {
		return "", &SendError{Recipient: c.id, Failures: map[string]string{}}
	}
	// Our own poll will retrieve the sync copy: mark it handled so it is not shown as new.
	own := store.Incoming{Hash: res.Hash, Namespace: int16(swarm.NamespaceDefault), Timestamp: at, Expiry: at.Add(ttl)}
	if err := c.store.SaveHandled(ctx, c.id, own); err != nil {
		c.log.Warn("recording our sync copy", "err", err)
	}
	c.saveOwnContentMarker(ctx, data, own)
	if err := c.store.PutValue(ctx, sentBucket, c.sentKey(to, at), []byte(res.Hash)); err != nil {
		c.log.Warn("recording sent message", "err", err)
	}
	return res.Hash, nil
}
