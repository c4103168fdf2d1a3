package session

// Communities (SOGS) on the Client: joining and leaving rooms, posting, reacting, blinded DMs,
// and the room poller that Run starts. The protocol itself is package community; this file
// keeps the per-account state in the Client's store and turns what polls find into events.
//
// Store layout (bucket "community", keys prefixed with our Account ID):
//
//	<id>/rooms                     JSON list of joined rooms (join URLs)
//	<id>/room/<server key>/<token> JSON roomState: last seqno and info_updates
//	<id>/dm/<server key>           JSON dmState: last inbox and outbox DM ids
//	<id>/blinded/<server key>/<15> the real 05 Account ID behind a blinded ID, once known
//	<id>/handover/<05>             "pending" once a blinded DM revealed that Account ID,
//	                               "done" once it was sent a MessageRequestResponse

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"slices"
	"strconv"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
)

// ErrNotJoined: the community room is not joined by this account.
var ErrNotJoined = errors.New("session: community room not joined")

// CommunityMessage is a message posted in a joined community room (new or edited).
type CommunityMessage struct {
	// Room is the room's join URL; Token its token.
	Room  string
	Token string
	// ID identifies the message in the room (for reactions, replies, deletion); Seqno is the
	// room's sequence number of its last change.
	ID, Seqno int64
	// From is the author as the server shows them (15-blinded); FromAccount is their real 05
	// Account ID when we know it (they sent us a blinded DM, or it is us), else zero.
	From        crypto.AccountID
	FromAccount crypto.AccountID
	Posted      time.Time
	Edited      time.Time // zero unless edited
	Text        string
	Quote       *MessageRef
	Profile     *Profile
	// Attachments are room files (not encrypted) or, from clients that encrypt them, files on
	// the file server; Download fetches either.
	Attachments []*Attachment
	// Previews are the link previews of the text.
	Previews []LinkPreview
	Pro      *ProFeatures
	Whisper  bool
	// Self is true for our own posts.
	Self bool
}

// CommunityMessageDeleted reports that a message of a joined room was deleted.
type CommunityMessageDeleted struct {
	Room, Token string
	ID, Seqno   int64
}

// CommunityReaction reports the reactions of a message after they changed: the full current
// state, emoji → count and first reactors (an emoji whose last reaction went is absent). It
// also follows a CommunityMessage that already has reactions when it arrives.
type CommunityReaction struct {
	Room, Token string
	MessageID   int64
	Seqno       int64
	Reactions   map[string]community.Reaction
}

// CommunityDM is a blinded direct message received (or, Outgoing, sent by us from any device)
// through a community server's inbox.
type CommunityDM struct {
	// Server is the community server's base URL.
	Server string
	ID     int64
	// From and To are the blinded (15) IDs the server shows. FromAccount is the sender's real
	// 05 Account ID, which the message proves: reply to it with SendText to move the
	// conversation to ordinary 1:1 messages (the first such message is preceded by a
	// MessageRequestResponse, which official clients need to merge the two conversations).
	// ToAccount is the recipient's real ID when known.
	From, To               crypto.AccountID
	FromAccount, ToAccount crypto.AccountID
	Outgoing               bool
	Posted                 time.Time
	Text                   string
	Profile                *Profile
	// Quote is the message replied to; Previews are the link previews of the text (their
	// images are on the file server, as in 1:1 messages).
	Quote    *MessageRef
	Previews []LinkPreview
}

// CommunitySkipped reports a community message or DM that was left out: a post whose signature
// does not verify (servers do not check them), a row that does not parse, a DM that does not
// decrypt, or content that does not parse. Err says why.
type CommunitySkipped struct {
	Room string // the room's join URL, or the server's base URL for DMs
	ID   int64
	Err  error
}

type roomState struct {
	Seqno       int64 `json:"seqno"`
	InfoUpdates int64 `json:"info_updates"`
	// Reported are the skipped rows already reported whose seqno is unknown (or not after the
	// cursor), so the cursor could not move past them and the server may send them again: each
	// is reported once (keyed by id, or by the error when the row had no readable id).
	Reported []string `json:"reported,omitempty"`
}

// maxReportedSkips bounds roomState.Reported.
const maxReportedSkips = 64

func skipKey(s *community.Skipped) string {
	if s.ID != 0 {
		return "id:" + strconv.FormatInt(s.ID, 10)
	}
	return "err:" + s.Err.Error()
}

// reportSkip reports whether a skipped row must be reported, recording it in st when the
// cursor cannot move past it (the caller saves st).
func (st *roomState) reportSkip(s *community.Skipped) bool {
	if s.Seqno > st.Seqno {
		return true // the cursor moves past it: it will not come back
	}
	k := skipKey(s)
	if slices.Contains(st.Reported, k) {
		return false
	}
	st.Reported = append(st.Reported, k)
	if n := len(st.Reported); n > maxReportedSkips {
		st.Reported = slices.Delete(st.Reported, 0, n-maxReportedSkips)
	}
	return true
}

type dmState struct {
	Inbox  int64 `json:"inbox"`
	Outbox int64 `json:"outbox"`
}

const communityBucket = "community"

// communityLock serializes the read-modify-write of the joined-room list.
func (c *Client) communityLock() *sync.Mutex { return c.locks.get("communities") }

func (c *Client) communityKey(parts ...string) string {
	k := c.id.String()
	for _, p := range parts {
		k += "/" + p
	}
	return k
}

func serverKeyHex(r community.RoomURL) string { return hex.EncodeToString(r.Server.X25519[:]) }

func (c *Client) joinedRooms(ctx context.Context) ([]community.RoomURL, error) {
	b, err := c.store.GetValue(ctx, communityBucket, c.communityKey("rooms"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session: reading joined communities: %w", err)
	}
	var urls []string
	if err := json.Unmarshal(b, &urls); err != nil {
		return nil, fmt.Errorf("session: corrupt community list: %w", err)
	}
	out := make([]community.RoomURL, 0, len(urls))
	for _, u := range urls {
		r, err := community.ParseURL(u)
		if err != nil {
			c.log.Warn("ignoring a saved community URL", "err", err)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

func (c *Client) saveRooms(ctx context.Context, rooms []community.RoomURL) error {
	urls := make([]string, len(rooms))
	for i, r := range rooms {
		urls[i] = r.String()
	}
	b, _ := json.Marshal(urls)
	if err := c.store.PutValue(ctx, communityBucket, c.communityKey("rooms"), b); err != nil {
		return fmt.Errorf("session: saving joined communities: %w", err)
	}
	return nil
}

func (c *Client) loadJSON(ctx context.Context, key string, v any) error {
	b, err := c.store.GetValue(ctx, communityBucket, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		c.log.Warn("corrupt community state ignored", "key", key)
	}
	return nil
}

func (c *Client) saveJSON(ctx context.Context, key string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.store.PutValue(ctx, communityBucket, key, b)
}

// Community returns a community client for the server of joinURL (any room URL of the server),
// signing as this account and sending through the network's server transport (onion paths,
// or direct in direct mode). Use it for what the Client has no method for: room listings,
// history, files, pins, moderation. The room need not be joined.
func (c *Client) Community(joinURL string) (*community.Client, community.RoomURL, error) {
	if err := c.checkOpen(); err != nil {
		return nil, community.RoomURL{}, err
	}
	r, err := community.ParseURL(joinURL)
	if err != nil {
		return nil, community.RoomURL{}, err
	}
	cc, err := c.communityClient(r)
	return cc, r, err
}

func (c *Client) communityClient(r community.RoomURL) (*community.Client, error) {
	return community.New(community.Config{Keys: c.keys, Server: r.Server, Transport: serverKeyCheck{c.net.Servers()}, Logger: c.log})
}

// JoinCommunity joins a community room by its join URL ("https://server/room?public_key=…"):
// it checks that the room exists and is readable, records it in the store and returns its
// info. Run (or PollCommunities) then delivers the room's messages from the time of joining as
// CommunityMessage events; earlier history is available through Community(url).Recent.
// Joining a joined room refreshes nothing and is not an error.
func (c *Client) JoinCommunity(ctx context.Context, joinURL string) (*community.RoomInfo, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	cc, r, err := c.Community(joinURL)
	if err != nil {
		return nil, err
	}
	info, err := cc.Room(ctx, r.Token)
	if err != nil {
		return nil, fmt.Errorf("session: joining %s: %w", r, err)
	}
	if !info.Read {
		return nil, fmt.Errorf("session: joining %s: %w: no read permission", r, community.ErrForbidden)
	}
	mu := c.communityLock()
	mu.Lock()
	defer mu.Unlock()
	rooms, err := c.joinedRooms(ctx)
	if err != nil {
		return nil, err
	}
	for _, j := range rooms {
		if j == r {
			return info, nil
		}
	}
	st := roomState{Seqno: info.MessageSequence, InfoUpdates: info.InfoUpdates}
	if err := c.saveJSON(ctx, c.communityKey("room", serverKeyHex(r), r.Token), st); err != nil {
		return nil, fmt.Errorf("session: saving community state: %w", err)
	}
	if err := c.saveRooms(ctx, append(rooms, r)); err != nil {
		return nil, err
	}
	c.noteCommunity(ctx, r, true)
	c.log.Info("joined community room", "server", r.Server.URL.String(), "room", r.Token)
	return info, nil
}

// LeaveCommunity leaves a joined room: its messages are no longer polled and its state is
// forgotten. It is ErrNotJoined for a room that is not joined.
func (c *Client) LeaveCommunity(ctx context.Context, joinURL string) error {
	r, err := community.ParseURL(joinURL)
	if err != nil {
		return err
	}
	mu := c.communityLock()
	mu.Lock()
	defer mu.Unlock()
	rooms, err := c.joinedRooms(ctx)
	if err != nil {
		return err
	}
	kept := rooms[:0]
	found := false
	for _, j := range rooms {
		if j == r {
			found = true
			continue
		}
		kept = append(kept, j)
	}
	if !found {
		return fmt.Errorf("%w: %s", ErrNotJoined, r)
	}
	if err := c.saveRooms(ctx, kept); err != nil {
		return err
	}
	c.noteCommunity(ctx, r, false)
	if err := c.store.DeleteValue(ctx, communityBucket, c.communityKey("room", serverKeyHex(r), r.Token)); err != nil {
		return fmt.Errorf("session: forgetting community state: %w", err)
	}
	return nil
}

// Communities lists the joined rooms (their join URLs).
func (c *Client) Communities(ctx context.Context) ([]string, error) {
	rooms, err := c.joinedRooms(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rooms))
	for i, r := range rooms {
		out[i] = r.String()
	}
	return out, nil
}

// communityContent builds the Content of a community post or blinded DM.
func (c *Client) communityContent(text string, attachments []*pb.AttachmentPointer, previews []*pb.DataMessage_Preview, o sendOpts) ([]byte, error) {
	o.expiry, o.ttl = nil, 0 // communities have no disappearing messages
	content := visibleContent(text, attachments, &o)
	content.DataMessage.Preview = previews
	content.SigTimestamp = proto.Uint64(toMS(c.now()))
	if err := CheckContent(content); err != nil {
		return nil, err
	}
	b, err := proto.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidContent, err)
	}
	return b, nil
}

// SendCommunityMessage posts text to a community room (joined or not) and returns the message
// as the server stored it. WithQuote makes it a reply; other SendOptions do not apply to
// communities.
func (c *Client) SendCommunityMessage(ctx context.Context, joinURL, text string, opts ...SendOption) (*community.Message, error) {
	if err := checkText(text, true); err != nil {
		return nil, err
	}
	return c.postToCommunity(ctx, joinURL, text, nil, opts)
}

// SendCommunityAttachments uploads files to a community room (room files are not encrypted:
// everyone in the room can read them) and posts them with text (which may be empty).
func (c *Client) SendCommunityAttachments(ctx context.Context, joinURL, text string, files []AttachmentFile, opts ...SendOption) (*community.Message, error) {
	if len(files) == 0 {
		return nil, errors.New("session: no attachment to send")
	}
	if err := checkText(text, false); err != nil {
		return nil, err
	}
	return c.postToCommunity(ctx, joinURL, text, files, opts)
}

// communityForSend is Community for a call that posts, edits or reacts: refused on a closed
// Client, and under the account's lease (lease.go: refused before anything is sent).
func (c *Client) communityForSend(ctx context.Context, joinURL string) (*community.Client, community.RoomURL, error) {
	if c.closed.Load() {
		return nil, community.RoomURL{}, ErrClosed
	}
	cc, r, err := c.Community(joinURL)
	if err != nil {
		return nil, r, err
	}
	if err := c.leaseForSend(ctx); err != nil {
		return nil, r, err
	}
	return cc, r, nil
}

func (c *Client) postToCommunity(ctx context.Context, joinURL, text string, files []AttachmentFile, opts []SendOption) (*community.Message, error) {
	cc, r, err := c.communityForSend(ctx, joinURL)
	if err != nil {
		return nil, err
	}
	data, ids, err := c.roomContent(ctx, cc, r, text, files, c.sendOptions(opts))
	if err != nil {
		return nil, err
	}
	var po *community.PostOptions
	if len(ids) > 0 {
		po = &community.PostOptions{Files: ids}
	}
	return cc.Post(ctx, r.Token, data, po)
}

// roomContent uploads a post's files and preview images to the room and builds its Content; ids
// are the room files the post uses.
func (c *Client) roomContent(ctx context.Context, cc *community.Client, r community.RoomURL, text string, files []AttachmentFile, o sendOpts) ([]byte, []int64, error) {
	var ids []int64
	upload := func(ctx context.Context, f AttachmentFile) (*pb.AttachmentPointer, error) {
		if f.Data == nil {
			return nil, fmt.Errorf("session: attachment %q has no data", f.FileName)
		}
		data, err := io.ReadAll(io.LimitReader(f.Data, maxCommunityFile+1))
		if err != nil {
			return nil, fmt.Errorf("session: reading attachment %q: %w", f.FileName, err)
		}
		if len(data) > maxCommunityFile {
			return nil, fmt.Errorf("session: attachment %q: %w", f.FileName, community.ErrTooLarge)
		}
		id, err := cc.UploadFile(ctx, r.Token, data, f.FileName)
		if err != nil {
			return nil, fmt.Errorf("session: uploading attachment %q: %w", f.FileName, err)
		}
		ids = append(ids, id)
		return attachmentPointer(f, uint64(id), cc.FileURL(r.Token, id), nil, nil, int64(len(data))), nil
	}
	var ptrs []*pb.AttachmentPointer
	for _, f := range files {
		p, err := upload(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		ptrs = append(ptrs, p)
	}
	previews, err := c.uploadPreviews(ctx, o.previews, upload)
	if err != nil {
		return nil, nil, err
	}
	data, err := c.communityContent(text, ptrs, previews, o)
	return data, ids, err
}

// EditCommunityMessage replaces the text of one of our posts (message id of the room of joinURL)
// with text; WithQuote and WithLinkPreview apply to the new version. Others see it as an edited
// CommunityMessage.
func (c *Client) EditCommunityMessage(ctx context.Context, joinURL string, id int64, text string, opts ...SendOption) error {
	cc, r, err := c.communityForSend(ctx, joinURL)
	if err != nil {
		return err
	}
	data, ids, err := c.roomContent(ctx, cc, r, text, nil, c.sendOptions(opts))
	if err != nil {
		return err
	}
	return cc.Edit(ctx, r.Token, id, data, ids)
}

// maxCommunityFile is the largest room file we upload (the community servers' usual limit).
const maxCommunityFile = 10_000_000

// ReactInCommunity adds our emoji reaction to message id of a community room.
func (c *Client) ReactInCommunity(ctx context.Context, joinURL string, id int64, emoji string) error {
	cc, r, err := c.communityForSend(ctx, joinURL)
	if err != nil {
		return err
	}
	_, _, err = cc.React(ctx, r.Token, id, emoji)
	return err
}

// RemoveCommunityReaction removes our emoji reaction from message id of a community room.
func (c *Client) RemoveCommunityReaction(ctx context.Context, joinURL string, id int64, emoji string) error {
	cc, r, err := c.communityForSend(ctx, joinURL)
	if err != nil {
		return err
	}
	_, _, err = cc.Unreact(ctx, r.Token, id, emoji)
	return err
}

// SendCommunityDM sends text to the blinded (15) user `to` through the inbox of the community
// server of joinURL (any room URL of the server): the way to message someone seen in a room
// whose Account ID we do not know. Once they answer, CommunityDM.FromAccount is their real ID.
// WithQuote and WithLinkPreview apply (preview images go to the file server, as in 1:1
// messages); the other SendOptions do not apply to community DMs.
func (c *Client) SendCommunityDM(ctx context.Context, joinURL string, to crypto.AccountID, text string, opts ...SendOption) (*community.DM, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if err := checkText(text, true); err != nil {
		return nil, err
	}
	cc, _, err := c.communityForSend(ctx, joinURL)
	if err != nil {
		return nil, err
	}
	o := c.sendOptions(opts)
	previews, err := c.uploadPreviews(ctx, o.previews, nil)
	if err != nil {
		return nil, err
	}
	data, err := c.communityContent(text, nil, previews, o)
	if err != nil {
		return nil, err
	}
	return cc.SendDM(ctx, to, data)
}

// CommunityAccountID returns the real 05 Account ID behind a blinded ID on the server of
// joinURL, when a blinded DM has revealed it (ok false otherwise).
func (c *Client) CommunityAccountID(ctx context.Context, joinURL string, blinded crypto.AccountID) (id crypto.AccountID, ok bool, err error) {
	r, err := community.ParseURL(joinURL)
	if err != nil {
		return crypto.AccountID{}, false, err
	}
	id, ok = c.realID(ctx, serverKeyHex(r), blinded)
	return id, ok, nil
}

func (c *Client) realID(ctx context.Context, serverKey string, blinded crypto.AccountID) (crypto.AccountID, bool) {
	b, err := c.store.GetValue(ctx, communityBucket, c.communityKey("blinded", serverKey, blinded.String()))
	if err != nil {
		return crypto.AccountID{}, false
	}
	id, err := crypto.ParseAccountID(string(b))
	return id, err == nil
}

func (c *Client) rememberRealID(ctx context.Context, serverKey string, blinded, real crypto.AccountID) {
	if blinded.IsZero() || real.Prefix() != crypto.PrefixStandard {
		return
	}
	if known, ok := c.realID(ctx, serverKey, blinded); ok && known == real {
		return
	}
	if err := c.store.PutValue(ctx, communityBucket, c.communityKey("blinded", serverKey, blinded.String()), []byte(real.String())); err != nil {
		c.log.Warn("saving a blinded ID's Account ID", "err", err)
	}
	c.markRevealed(ctx, real)
}

// The handover from a blinded DM conversation to 1:1 messages. Desktop merges its blinded
// conversation with someone into the 1:1 one only when a MessageRequestResponse arrives from
// the revealed Account ID; a plain message would show up there as a request from a stranger.
// So the first 1:1 message to an Account ID that a blinded DM revealed is preceded, once, by a
// MessageRequestResponse (as desktop itself does when it replies).

const (
	handoverPending = "pending"
	handoverDone    = "done"
)

func (c *Client) handoverKey(peer crypto.AccountID) string {
	return c.communityKey("handover", peer.String())
}

// markRevealed records that a blinded DM revealed peer's Account ID (unless handed over).
func (c *Client) markRevealed(ctx context.Context, peer crypto.AccountID) {
	if v, err := c.store.GetValue(ctx, communityBucket, c.handoverKey(peer)); err == nil && len(v) > 0 {
		return
	}
	if err := c.store.PutValue(ctx, communityBucket, c.handoverKey(peer), []byte(handoverPending)); err != nil {
		c.log.Warn("saving a pending handover", "err", err)
	}
}

// markHandedOver records that peer was sent a MessageRequestResponse.
func (c *Client) markHandedOver(ctx context.Context, peer crypto.AccountID) {
	if v, err := c.store.GetValue(ctx, communityBucket, c.handoverKey(peer)); err == nil && string(v) == handoverDone {
		return
	}
	if err := c.store.PutValue(context.WithoutCancel(ctx), communityBucket, c.handoverKey(peer), []byte(handoverDone)); err != nil {
		c.log.Warn("saving a handover", "err", err)
	}
}

// handOver sends the MessageRequestResponse that must precede our first 1:1 message to an
// Account ID that a blinded DM revealed (once; nothing for anyone else).
func (c *Client) handOver(ctx context.Context, to crypto.AccountID) error {
	m := c.locks.get("handover/" + to.String())
	m.Lock()
	defer m.Unlock()
	v, err := c.store.GetValue(ctx, communityBucket, c.handoverKey(to))
	if errors.Is(err, store.ErrNotFound) || (err == nil && string(v) != handoverPending) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("session: reading handover state: %w", err)
	}
	if err := c.sendRequestResponse(ctx, to); err != nil {
		return fmt.Errorf("session: handing the blinded conversation over to 1:1 messages: %w", err)
	}
	return nil
}

// maxCommunityPages bounds the polls of one server in one PollCommunities when rooms have more
// new messages than a page holds.
const maxCommunityPages = 20

// PollCommunities polls every joined room (one batch request per server, plus one per further
// page of a busy room) and the blinded DM inboxes of their servers once, and delivers what it
// finds as events. Run does this on its own schedule; call it yourself to poll without Run (while
// Run, PollOnce or another PollCommunities is active it returns ErrPollInProgress).
// Failures of single servers or rooms are returned joined; the others are still polled.
func (c *Client) PollCommunities(ctx context.Context) error {
	return c.pollByHand(ctx, c.pollCommunities)
}

func (c *Client) pollCommunities(ctx context.Context) error {
	rooms, err := c.joinedRooms(ctx)
	if err != nil {
		return err
	}
	byServer := map[community.RoomURL][]community.RoomURL{} // key: server with empty token
	var order []community.RoomURL
	for _, r := range rooms {
		k := community.RoomURL{Server: r.Server}
		if _, ok := byServer[k]; !ok {
			order = append(order, k)
		}
		byServer[k] = append(byServer[k], r)
	}
	var errs []error
	for _, k := range order {
		if err := c.pollCommunityServer(ctx, k, byServer[k]); err != nil {
			errs = append(errs, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// pollCommunityServer polls the joined rooms of one server and its DM inbox and outbox. One poll
// of a server runs at a time (Run's poller, PollCommunities calls, a handler that polls), or two
// could deliver the same messages; a poll that finds another under way skips the
// server, which the next poll covers. Each page is asked for (pollRequest), ordered into changes
// (roomChanges, dmsByID) and then applied (deliverRoom, deliverDMs), every cursor move stored
// through one helper (stateSaver).
func (c *Client) pollCommunityServer(ctx context.Context, srv community.RoomURL, rooms []community.RoomURL) error {
	m := c.locks.get(fmt.Sprintf("community-poll/%x/%s", srv.Server.X25519, srv.Server.URL.String()))
	if !m.TryLock() {
		return nil
	}
	defer m.Unlock()
	cc, err := c.communityClient(srv)
	if err != nil {
		return err
	}
	sp, err := c.loadServerPoll(ctx, srv, cc, rooms)
	if err != nil {
		return err
	}
	pending := make([]int, len(rooms)) // indexes of rooms to poll
	for i := range pending {
		pending[i] = i
	}
	withDMs := true
	var errs []error
	for page := 0; page < maxCommunityPages && (len(pending) > 0 || withDMs); page++ {
		res, err := cc.Poll(ctx, sp.pollRequest(pending, withDMs))
		if err != nil {
			return fmt.Errorf("session: polling community %s: %w", sp.base, err)
		}
		var next []int
		for j, i := range pending {
			rp := &res.Rooms[j]
			if rp.Err != nil {
				errs = append(errs, fmt.Errorf("session: polling %s: %w", sp.rooms[i], rp.Err))
				continue
			}
			more, all, err := c.applyRoomPoll(ctx, sp, i, rp)
			if err != nil || !all {
				return err // !all: an event could not be taken before ctx ended
			}
			if more {
				next = append(next, i)
			}
		}
		if withDMs {
			if res.DMErr != nil {
				errs = append(errs, fmt.Errorf("session: polling DMs of %s: %w", sp.base, res.DMErr))
			}
			if all, err := c.applyDMPoll(ctx, sp, res); err != nil || !all {
				return err
			}
			withDMs = false
		}
		pending = next
	}
	return errors.Join(errs...)
}

// serverPoll is what a poll of one community server works on: its joined rooms, their cursors
// (states, by room index) and the DM cursors, as loaded from the store.
type serverPoll struct {
	cc     *community.Client
	sk     string // the server's key (hex), part of the store keys
	base   string // the server's URL
	rooms  []community.RoomURL
	states []roomState
	dms    dmState
}

// loadServerPoll reads the stored cursors of rooms (all on srv) and of srv's DMs.
func (c *Client) loadServerPoll(ctx context.Context, srv community.RoomURL, cc *community.Client, rooms []community.RoomURL) (*serverPoll, error) {
	sp := &serverPoll{cc: cc, sk: serverKeyHex(srv), base: srv.Server.URL.String(), rooms: rooms, states: make([]roomState, len(rooms))}
	for i, r := range rooms {
		if err := c.loadJSON(ctx, c.communityKey("room", sp.sk, r.Token), &sp.states[i]); err != nil {
			return nil, fmt.Errorf("session: reading community state: %w", err)
		}
	}
	if err := c.loadJSON(ctx, c.communityKey("dm", sp.sk), &sp.dms); err != nil {
		return nil, fmt.Errorf("session: reading community state: %w", err)
	}
	return sp, nil
}

// pollRequest asks for the rooms of pending (indexes) after their cursors, and the DMs after
// theirs when withDMs.
func (sp *serverPoll) pollRequest(pending []int, withDMs bool) community.PollRequest {
	req := community.PollRequest{DMs: withDMs, InboxSince: sp.dms.Inbox, OutboxSince: sp.dms.Outbox}
	for _, i := range pending {
		req.Rooms = append(req.Rooms, community.RoomCursor{Token: sp.rooms[i].Token, InfoUpdates: sp.states[i].InfoUpdates, Seqno: sp.states[i].Seqno})
	}
	return req
}

// stateSaver returns the function that stores *v (a room's or the DM cursors) under key, the
// one way a community poll records progress. A failed save is fatal: Run stops rather than move
// a cursor the store does not hold.
func (c *Client) stateSaver(ctx context.Context, key string, v any) func() error {
	ctx = context.WithoutCancel(ctx)
	return func() error {
		if err := c.saveJSON(ctx, key, v); err != nil {
			return &fatalError{fmt.Errorf("session: saving community state: %w", err)}
		}
		return nil
	}
}

// applyRoomPoll applies the answer rp for room i of sp: the room's info counter, then its
// changes. It reports whether the room has more to fetch now (a full page that moved the
// cursor) and whether every event was taken (false: ctx ended first).
func (c *Client) applyRoomPoll(ctx context.Context, sp *serverPoll, i int, rp *community.RoomPoll) (more, all bool, err error) {
	r := sp.rooms[i]
	st := &sp.states[i]
	save := c.stateSaver(ctx, c.communityKey("room", sp.sk, r.Token), st)
	if rp.Info != nil && rp.Info.Details != nil && st.InfoUpdates != rp.Info.Details.InfoUpdates {
		st.InfoUpdates = rp.Info.Details.InfoUpdates
		if err := save(); err != nil {
			return false, false, err
		}
	}
	before := st.Seqno
	all, err = c.deliverRoom(ctx, r, sp.sk, sp.cc.ID(), roomChanges(rp), rp.MaxSeqno, st, save)
	if err != nil || !all {
		return false, all, err
	}
	if rp.More && st.Seqno <= before {
		// A full page that did not move the cursor (rows without a readable seqno): asking
		// again now would return the same page.
		c.log.Warn("community room page without progress", "room", r.Token, "seqno", st.Seqno)
	}
	return rp.More && st.Seqno > before, true, nil
}

// applyDMPoll applies the DM part of res: skipped DMs, then the inbox and the outbox, moving
// each cursor past what it delivered and then to the largest id of its answer. It reports
// whether every event was taken.
func (c *Client) applyDMPoll(ctx context.Context, sp *serverPoll, res *community.PollResult) (bool, error) {
	save := c.stateSaver(ctx, c.communityKey("dm", sp.sk), &sp.dms)
	// DMs that did not parse are reported once: the cursors then move past them (to the largest
	// id of each answer), so they do not come back.
	for _, s := range res.DMSkipped {
		if !c.dispatch(ctx, &CommunitySkipped{Room: sp.base, ID: s.ID, Err: s.Err}) {
			return false, nil
		}
	}
	for _, box := range []struct {
		dms      []community.DM
		outgoing bool
		last     *int64
		answer   int64
	}{{res.Inbox, false, &sp.dms.Inbox, res.InboxLast}, {res.Outbox, true, &sp.dms.Outbox, res.OutboxLast}} {
		all, err := c.deliverDMs(ctx, sp.cc, sp.base, sp.sk, dmsByID(box.dms), box.outgoing, box.last, save)
		if err != nil || !all {
			return all, err
		}
		if box.answer > *box.last {
			*box.last = box.answer
			if err := save(); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// roomChange is one row of a room's poll answer: a message (or deletion, or reaction update)
// or a row that could not be read.
type roomChange struct {
	seqno int64
	skip  *community.Skipped
	msg   *community.Message
}

// roomChanges orders the rows of a room's answer by seqno, skipped rows among them.
func roomChanges(rp *community.RoomPoll) []roomChange {
	changes := make([]roomChange, 0, len(rp.Skipped)+len(rp.Messages))
	for i := range rp.Skipped {
		changes = append(changes, roomChange{seqno: rp.Skipped[i].Seqno, skip: &rp.Skipped[i]})
	}
	for i := range rp.Messages {
		changes = append(changes, roomChange{seqno: rp.Messages[i].Seqno, msg: &rp.Messages[i]})
	}
	slices.SortStableFunc(changes, func(a, b roomChange) int { return cmp.Compare(a.seqno, b.seqno) })
	return changes
}

// dmsByID returns a copy of dms in id order.
func dmsByID(dms []community.DM) []community.DM {
	dms = slices.Clone(dms)
	slices.SortStableFunc(dms, func(a, b community.DM) int { return cmp.Compare(a.ID, b.ID) })
	return dms
}

// deliverRoom dispatches a room's changes (in seqno order) and moves st.Seqno past each one,
// then to maxSeqno, calling save after every move: a crash delivers at most the change whose
// handlers were running. It stops (reporting false) at a change an event channel could not
// take before ctx ended, which the next poll then delivers again.
func (c *Client) deliverRoom(ctx context.Context, r community.RoomURL, sk string, self crypto.AccountID, changes []roomChange, maxSeqno int64, st *roomState, save func() error) (bool, error) {
	room := r.String()
	for _, ch := range changes {
		if ctx.Err() != nil {
			return false, nil // shutting down: the rest is delivered by the next poll
		}
		var evts []Event
		recorded := false // a skip the cursor cannot pass was recorded as reported
		if ch.skip != nil {
			if st.reportSkip(ch.skip) {
				evts = []Event{&CommunitySkipped{Room: room, ID: ch.skip.ID, Err: ch.skip.Err}}
				recorded = ch.seqno <= st.Seqno
			}
		} else {
			evts = c.roomEvents(ctx, r, room, sk, self, ch.msg)
		}
		delivered := true
		for _, evt := range evts {
			delivered = c.dispatch(ctx, evt) && delivered
		}
		if !delivered {
			return false, nil // st is not saved: the next poll reports it again
		}
		if recorded {
			if err := save(); err != nil {
				return false, err
			}
		}
		if ch.seqno > st.Seqno {
			st.Seqno = ch.seqno
			if err := save(); err != nil {
				return false, err
			}
		}
	}
	if maxSeqno > st.Seqno {
		// The largest seqno of the answer, skipped rows included: nothing in it can hold the
		// cursor back.
		st.Seqno = maxSeqno
		if err := save(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// roomEvents returns the events of one message of a room.
func (c *Client) roomEvents(ctx context.Context, r community.RoomURL, room, sk string, self crypto.AccountID, m *community.Message) []Event {
	switch {
	case m.Deleted:
		return []Event{&CommunityMessageDeleted{Room: room, Token: r.Token, ID: m.ID, Seqno: m.Seqno}}
	case m.ReactionsOnly:
		return []Event{&CommunityReaction{Room: room, Token: r.Token, MessageID: m.ID, Seqno: m.Seqno, Reactions: m.Reactions}}
	}
	var content pb.Content
	if err := proto.Unmarshal(m.Content(), &content); err != nil {
		return []Event{&CommunitySkipped{Room: room, ID: m.ID, Err: fmt.Errorf("%w: %w", ErrInvalidContent, err)}}
	}
	dm := content.DataMessage
	if dm == nil || (dm.Body == nil && dm.Quote == nil && len(dm.Attachments) == 0 && len(dm.Preview) == 0) {
		c.log.Debug("community message without text skipped", "room", r.Token, "id", m.ID)
		return nil
	}
	evt := &CommunityMessage{Room: room, Token: r.Token, ID: m.ID, Seqno: m.Seqno, From: m.Author,
		Posted: m.Posted, Edited: m.Edited, Text: dm.GetBody(), Profile: profileFromPB(dm.Profile, dm.ProfileKey),
		Whisper: m.Whisper, Self: m.Author == self, Attachments: c.roomAttachments(r, dm.Attachments),
		Pro: proFromPB(&content),
		Previews: previewsFromPB(dm.Preview, func(p *pb.AttachmentPointer) *Attachment {
			if a := c.roomAttachments(r, []*pb.AttachmentPointer{p}); len(a) == 1 {
				return a[0]
			}
			return nil
		})}
	if q := dm.Quote; q != nil {
		if ref, ok := refFromPB(q.GetId(), q.GetAuthor()); ok {
			evt.Quote = &ref
		}
	}
	if evt.Self {
		evt.FromAccount = c.id
	} else if id, ok := c.realID(ctx, sk, m.Author); ok {
		evt.FromAccount = id
	}
	evts := []Event{evt}
	if len(m.Reactions) > 0 {
		evts = append(evts, &CommunityReaction{Room: room, Token: r.Token, MessageID: m.ID, Seqno: m.Seqno, Reactions: m.Reactions})
	}
	return evts
}

// deliverDMs decrypts and dispatches inbox (or outbox) DMs (in id order), moving *last past
// each and calling save after every one (see deliverRoom).
func (c *Client) deliverDMs(ctx context.Context, cc *community.Client, base, sk string, dms []community.DM, outgoing bool, last *int64, save func() error) (bool, error) {
	bk := context.WithoutCancel(ctx)
	for i := range dms {
		d := &dms[i]
		if ctx.Err() != nil {
			return false, nil
		}
		if !c.dispatch(ctx, c.dmEvent(bk, cc, base, sk, d, outgoing)) {
			return false, nil
		}
		if d.ID > *last {
			*last = d.ID
			if err := save(); err != nil {
				return false, err
			}
		}
	}
	return true, nil
}

// dmEvent opens one blinded DM and returns its event (a CommunitySkipped when it cannot be read).
func (c *Client) dmEvent(ctx context.Context, cc *community.Client, base, sk string, d *community.DM, outgoing bool) Event {
	content, sender, err := cc.OpenDM(d)
	if err != nil {
		return &CommunitySkipped{Room: base, ID: d.ID, Err: err}
	}
	var msg pb.Content
	if err := proto.Unmarshal(content, &msg); err != nil {
		return &CommunitySkipped{Room: base, ID: d.ID, Err: fmt.Errorf("%w: %w", ErrInvalidContent, err)}
	}
	if !outgoing {
		// The message proves the sender's real ID: later posts and DMs carry it too.
		c.rememberRealID(ctx, sk, d.Sender, sender)
	}
	evt := &CommunityDM{Server: base, ID: d.ID, From: d.Sender, To: d.Recipient, FromAccount: sender,
		Outgoing: outgoing, Posted: d.Posted}
	if outgoing {
		evt.ToAccount, _ = c.realID(ctx, sk, d.Recipient)
	} else {
		evt.ToAccount = c.id
	}
	if dm := msg.DataMessage; dm != nil {
		evt.Text = dm.GetBody()
		evt.Profile = profileFromPB(dm.Profile, dm.ProfileKey)
		evt.Previews = previewsFromPB(dm.Preview, func(p *pb.AttachmentPointer) *Attachment {
			if a := attachmentsFromPB([]*pb.AttachmentPointer{p}, c.net.files); len(a) == 1 {
				return a[0]
			}
			return nil
		})
		if q := dm.Quote; q != nil {
			if ref, ok := refFromPB(q.GetId(), q.GetAuthor()); ok {
				evt.Quote = &ref
			}
		}
	}
	return evt
}

// communityRetryAfter is the wait a community server asked for (429 with Retry-After), which
// Run's community lane obeys (see scheduler).
func communityRetryAfter(err error) time.Duration {
	var he *community.HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}

// roomAttachments turns a post's attachment pointers into downloadable attachments: room files
// (no key; downloaded from the room, file id in the pointer's id or URL) or encrypted files on
// the file server (with a key).
func (c *Client) roomAttachments(r community.RoomURL, ps []*pb.AttachmentPointer) []*Attachment {
	var out []*Attachment
	for _, p := range ps {
		if len(p.GetKey()) > 0 {
			out = append(out, attachmentsFromPB([]*pb.AttachmentPointer{p}, c.net.files)...)
			continue
		}
		id := int64(p.GetId())
		if u, err := url.Parse(p.GetUrl()); err == nil {
			if n, err := strconv.ParseInt(path.Base(u.Path), 10, 64); err == nil && n > 0 {
				id = n
			}
		}
		if id <= 0 {
			continue // nothing to fetch
		}
		a := attachmentFromPB(p)
		token := r.Token
		a.download = func(ctx context.Context, dst io.Writer) (int64, error) {
			cc, err := c.communityClient(r)
			if err != nil {
				return 0, err
			}
			data, _, err := cc.DownloadFile(ctx, token, id)
			if err != nil {
				return 0, err
			}
			if a.Size > 0 && int64(len(data)) != a.Size {
				return 0, fmt.Errorf("session: room file %d is %d bytes, the post says %d", id, len(data), a.Size)
			}
			n, err := dst.Write(data)
			return int64(n), err
		}
		out = append(out, a)
	}
	return out
}
