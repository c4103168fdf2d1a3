package session

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// Data-extraction notices, community invitations, call signalling and custom content: the 1:1
// messages besides text.

// SendScreenshotNotice tells `to` that we took a screenshot of our conversation (what official
// mobile clients send; desktop shows it in the conversation).
func (c *Client) SendScreenshotNotice(ctx context.Context, to crypto.AccountID) error {
	return c.sendDataExtraction(ctx, to, pb.DataExtractionNotification_SCREENSHOT, time.Time{})
}

// SendMediaSavedNotice tells `to` that we saved an attachment of their message saved.
func (c *Client) SendMediaSavedNotice(ctx context.Context, to crypto.AccountID, saved MessageRef) error {
	if saved.Timestamp.IsZero() {
		return fmt.Errorf("%w: media saved notice without the message's time", ErrInvalidContent)
	}
	return c.sendDataExtraction(ctx, to, pb.DataExtractionNotification_MEDIA_SAVED, saved.Timestamp)
}

func (c *Client) sendDataExtraction(ctx context.Context, to crypto.AccountID, kind pb.DataExtractionNotification_Type, saved time.Time) error {
	if err := c.checkRecipient(to); err != nil {
		return err
	}
	at := c.msNow()
	ts := at
	if !saved.IsZero() {
		ts = saved
	}
	content := &pb.Content{DataExtractionNotification: &pb.DataExtractionNotification{Type: kind.Enum(), Timestamp: proto.Uint64(toMS(ts))}}
	// Desktop keeps these notices as messages that disappear after reading when the
	// conversation has disappearing messages on.
	if e := c.conversationExpiry(ctx, to); e != nil {
		setExpiry(content, &Expiry{Mode: ExpiryAfterRead, Timer: e.Timer})
	}
	_, err := c.sendContent(ctx, to, content, sendOpts{at: at, noSync: true})
	return err
}

// SendCommunityInvite invites `to` to a community room: name is the room's name as they will
// see it, joinURL its join URL ("https://server/room?public_key=…"), which must parse (a
// community.ErrBadURL otherwise). They receive a CommunityInvite event.
func (c *Client) SendCommunityInvite(ctx context.Context, to crypto.AccountID, joinURL, name string) (*SendResult, error) {
	r, err := community.ParseURL(joinURL)
	if err != nil {
		return nil, err
	}
	if name == "" || !utf8.ValidString(name) || len(name) > maxInviteName {
		return nil, fmt.Errorf("%w: community invitation needs a name of at most %d bytes", ErrInvalidContent, maxInviteName)
	}
	if err := c.checkRecipient(to); err != nil {
		return nil, err
	}
	if err := c.handOver(ctx, to); err != nil {
		return nil, err
	}
	o := c.sendOptions(nil)
	c.applyConversationExpiry(ctx, to, &o)
	content := &pb.Content{DataMessage: &pb.DataMessage{CommunityInvitation: &pb.DataMessage_CommunityInvitation{
		Url: proto.String(r.String()), Name: proto.String(name)}}}
	if o.profile != nil {
		content.DataMessage.Profile, content.DataMessage.ProfileKey = profileToPB(o.profile)
	}
	setExpiry(content, o.expiry)
	if o.expiry != nil && o.expiry.Mode == ExpiryAfterSend {
		o.ttl = disappearTTL(o.expiry.Timer)
	}
	res, err := c.sendContent(ctx, to, content, o)
	if err == nil {
		c.approve(ctx, to)
	}
	return res, err
}

// maxInviteName bounds a community invitation's room name.
const maxInviteName = 1024

// AcceptCommunityInvite joins the room of an invitation (JoinCommunity with its URL).
func (c *Client) AcceptCommunityInvite(ctx context.Context, inv *CommunityInvite) (*community.RoomInfo, error) {
	if inv == nil {
		return nil, fmt.Errorf("%w: no invitation", community.ErrBadURL)
	}
	return c.JoinCommunity(ctx, inv.URL)
}

// Limits of call messages: anything larger is not a call a client would make.
const (
	// MaxCallSDPs is how many SDPs (or ICE candidates) one call message may carry.
	MaxCallSDPs = 64
	// MaxCallSDP bounds one SDP (bytes); MaxCallUUID the call's UUID.
	MaxCallSDP  = 64 << 10
	MaxCallUUID = 128
)

// callTTL is how long a call message stays in the swarm: a call nobody answered within it is
// over anyway.
const callTTL = 5 * time.Minute

// CallSignal is one step of a call's signalling to send with SendCall.
type CallSignal struct {
	Kind CallKind
	// UUID identifies the call (the caller chooses it, e.g. a random UUID, and every later
	// step of the call repeats it).
	UUID string
	// SDPs: one session description for offers and answers; ICE candidates (with
	// SDPMLineIndexes and SDPMids of the same length) for CallICECandidates; none for
	// CallPreOffer and CallEnd.
	SDPs            []string
	SDPMLineIndexes []uint32
	SDPMids         []string
}

// checkCall reports why a call step is malformed: unknown kind, missing or oversized UUID,
// too many or too large SDPs, or ICE candidates whose lists differ in length.
func checkCall(kind CallKind, uuid string, sdps []string, idx []uint32, mids []string) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: call message: %s", ErrInvalidContent, fmt.Sprintf(format, args...))
	}
	if kind < CallOffer || kind > CallPreOffer {
		return bad("unknown type %d", int(kind))
	}
	if uuid == "" || len(uuid) > MaxCallUUID || !utf8.ValidString(uuid) {
		return bad("UUID of %d bytes", len(uuid))
	}
	if len(sdps) > MaxCallSDPs || len(idx) > MaxCallSDPs || len(mids) > MaxCallSDPs {
		return bad("%d SDPs (at most %d)", len(sdps), MaxCallSDPs)
	}
	for _, s := range append(append([]string(nil), sdps...), mids...) {
		if len(s) > MaxCallSDP || !utf8.ValidString(s) {
			return bad("an SDP of %d bytes", len(s))
		}
	}
	switch kind {
	case CallOffer, CallAnswer, CallProvisionalAnswer:
		if len(sdps) != 1 {
			return bad("%v with %d SDPs", kind, len(sdps))
		}
	case CallICECandidates:
		if len(sdps) == 0 || len(idx) != len(sdps) || len(mids) != len(sdps) {
			return bad("%d ICE candidates with %d line indexes and %d mids", len(sdps), len(idx), len(mids))
		}
	}
	return nil
}

// SendCall sends one step of a call's signalling to `to`. The SDK carries the signalling only:
// it has no audio, video or WebRTC stack of its own, does not ring, keeps no call state and
// uses no TURN servers. An app that brings its own WebRTC stack (for example pion/webrtc)
// exchanges its offers, answers and ICE candidates through SendCall and the Call events; a bot
// declines a call by answering a CallPreOffer or CallOffer with EndCall. Official clients
// accept calls only from contacts who approved them, only when their user enabled calls, and
// ignore offers older than about a minute.
func (c *Client) SendCall(ctx context.Context, to crypto.AccountID, s CallSignal) error {
	if err := checkCall(s.Kind, s.UUID, s.SDPs, s.SDPMLineIndexes, s.SDPMids); err != nil {
		return err
	}
	cm := &pb.CallMessage{Type: pb.CallMessage_Type(s.Kind).Enum(), Uuid: proto.String(s.UUID),
		Sdps: s.SDPs, SdpMLineIndexes: s.SDPMLineIndexes, SdpMids: s.SDPMids}
	_, err := c.sendContent(ctx, to, &pb.Content{CallMessage: cm}, sendOpts{ttl: callTTL, noSync: true})
	return err
}

// EndCall ends (or declines) the call uuid with `to`.
func (c *Client) EndCall(ctx context.Context, to crypto.AccountID, uuid string) error {
	return c.SendCall(ctx, to, CallSignal{Kind: CallEnd, UUID: uuid})
}

// callFromPB checks and maps a received call message.
func callFromPB(cm *pb.CallMessage, hash string, from crypto.AccountID, at time.Time) (*Call, error) {
	kind := CallKind(cm.GetType())
	if err := checkCall(kind, cm.GetUuid(), cm.GetSdps(), cm.GetSdpMLineIndexes(), cm.GetSdpMids()); err != nil {
		return nil, err
	}
	return &Call{Hash: hash, From: from, Kind: kind, UUID: cm.GetUuid(), SDPs: cm.GetSdps(),
		SDPMLineIndexes: cm.GetSdpMLineIndexes(), SDPMids: cm.GetSdpMids(), At: at}, nil
}

// SendContent sends custom content to a 05 Account ID, for what the Client has no method for.
// It is checked with the rules official clients decode by (see [CheckContent]); its sigTimestamp,
// if set, must be the sent time, so leave it unset. Visible messages (a DataMessage) are copied
// to our own swarm for our other devices unless WithoutSync; WithTTL sets the swarm TTL.
func (c *Client) SendContent(ctx context.Context, to crypto.AccountID, content *pb.Content, opts ...SendOption) (*SendResult, error) {
	if content == nil {
		return nil, fmt.Errorf("%w: nil content", ErrInvalidContent)
	}
	o := sendOpts{}
	for _, f := range opts {
		f(&o)
	}
	return c.sendContent(ctx, to, proto.Clone(content).(*pb.Content), o)
}

// MaxAttachments is how many attachments one message may carry (desktop's limit).
const MaxAttachments = 32

// CheckContent reports whether official clients would decode content as sent: its required
// fields are present, DataMessage.flags is 0 or EXPIRATION_TIMER_UPDATE (2), it has at most
// MaxAttachments attachments, its previews and community invitation are well formed, its call
// message is sane, and a disappearing setting has a known type and a timer (or neither).
// Every message the Client sends passes it.
func CheckContent(content *pb.Content) error {
	if content == nil {
		return fmt.Errorf("%w: nil content", ErrInvalidContent)
	}
	if err := proto.CheckInitialized(content); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidContent, err)
	}
	if dm := content.DataMessage; dm != nil {
		if f := dm.GetFlags(); f != 0 && f != uint32(pb.DataMessage_EXPIRATION_TIMER_UPDATE) {
			return fmt.Errorf("%w: DataMessage flags %d (only 0 or 2)", ErrInvalidContent, f)
		}
		if n := len(dm.Attachments); n > MaxAttachments {
			return fmt.Errorf("%w: %d attachments (at most %d)", ErrInvalidContent, n, MaxAttachments)
		}
		if n := len(dm.Preview); n > MaxPreviews {
			return fmt.Errorf("%w: %d previews (at most %d)", ErrInvalidPreview, n, MaxPreviews)
		}
		for _, p := range dm.Preview {
			if err := checkPreview(p.GetUrl(), p.GetTitle()); err != nil {
				return err
			}
		}
		if inv := dm.CommunityInvitation; inv != nil {
			if _, err := community.ParseURL(inv.GetUrl()); err != nil {
				return fmt.Errorf("%w: community invitation: %w", ErrInvalidContent, err)
			}
		}
	}
	if cm := content.CallMessage; cm != nil {
		if err := checkCall(CallKind(cm.GetType()), cm.GetUuid(), cm.GetSdps(), cm.GetSdpMLineIndexes(), cm.GetSdpMids()); err != nil {
			return err
		}
	}
	if content.ExpirationType != nil {
		t := content.GetExpirationType()
		if t != pb.Content_UNKNOWN && t != pb.Content_DELETE_AFTER_READ && t != pb.Content_DELETE_AFTER_SEND {
			return fmt.Errorf("%w: expiration type %d", ErrInvalidContent, t)
		}
		if (t == pb.Content_UNKNOWN) != (content.GetExpirationTimer() == 0) {
			return fmt.Errorf("%w: expiration type %v with timer %d", ErrInvalidContent, t, content.GetExpirationTimer())
		}
	} else if content.GetExpirationTimer() != 0 {
		return fmt.Errorf("%w: expiration timer %d without an expiration type", ErrInvalidContent, content.GetExpirationTimer())
	}
	return nil
}
