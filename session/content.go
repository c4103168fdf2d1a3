package session

import (
	"fmt"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/fileserver"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// This file maps between the typed events and outgoing options of the Client and the Content
// protobuf.

func msTime(ms uint64) time.Time { return time.UnixMilli(int64(ms)) }

func toMS(t time.Time) uint64 { return uint64(t.UnixMilli()) }

func profileFromPB(p *pb.LokiProfile, key []byte) *Profile {
	if p == nil && len(key) == 0 {
		return nil
	}
	out := &Profile{DisplayName: p.GetDisplayName(), PictureURL: p.GetProfilePicture()}
	if len(key) > 0 {
		out.PictureKey = append([]byte(nil), key...)
	}
	if s := p.GetLastUpdateSeconds(); s > 0 {
		out.UpdatedAt = time.Unix(int64(s), 0)
	}
	return out
}

func profileToPB(p *Profile) (*pb.LokiProfile, []byte) {
	if p == nil {
		return nil, nil
	}
	lp := &pb.LokiProfile{}
	if p.DisplayName != "" {
		lp.DisplayName = proto.String(p.DisplayName)
	}
	if p.PictureURL != "" {
		lp.ProfilePicture = proto.String(p.PictureURL)
	}
	if !p.UpdatedAt.IsZero() {
		lp.LastUpdateSeconds = proto.Uint64(uint64(p.UpdatedAt.Unix()))
	}
	return lp, append([]byte(nil), p.PictureKey...)
}

func refFromPB(id uint64, author string) (MessageRef, bool) {
	a, err := crypto.ParseAccountID(author)
	if err != nil {
		return MessageRef{}, false
	}
	return MessageRef{Author: a, Timestamp: msTime(id)}, true
}

func expiryFromPB(c *pb.Content) *Expiry {
	if c.GetExpirationTimer() == 0 {
		return nil
	}
	e := &Expiry{Timer: time.Duration(c.GetExpirationTimer()) * time.Second}
	switch c.GetExpirationType() {
	case pb.Content_DELETE_AFTER_READ:
		e.Mode = ExpiryAfterRead
	case pb.Content_DELETE_AFTER_SEND:
		e.Mode = ExpiryAfterSend
	default:
		return nil
	}
	return e
}

func setExpiry(c *pb.Content, e *Expiry) {
	if e == nil || e.Mode == ExpiryNone || e.Timer < time.Second {
		return
	}
	switch e.Mode {
	case ExpiryAfterRead:
		c.ExpirationType = pb.Content_DELETE_AFTER_READ.Enum()
	case ExpiryAfterSend:
		c.ExpirationType = pb.Content_DELETE_AFTER_SEND.Enum()
	}
	c.ExpirationTimer = proto.Uint32(uint32(e.Timer / time.Second))
}

// proFromPB reads the Session Pro features a sender attached (nil when none).
func proFromPB(c *pb.Content) *ProFeatures {
	pm := c.GetProMessage()
	if pm == nil {
		return nil
	}
	p := &ProFeatures{Profile: pm.GetProfileBitset(), Message: pm.GetMsgBitset()}
	if ts := pm.GetProof().GetExpiryUnixTs(); ts > 0 && ts <= maxTimestampMS {
		p.ProofExpiry = msTime(ts)
	}
	return p
}

// skipped is the event of a message that is skipped for what it says (Err).
func skipped(hash string, err error) []Event {
	return []Event{&UndecryptableMessage{Hash: hash, Err: err}}
}

// eventsFromContent turns a decoded message into events. self is our Account ID; hash the storage
// hash. It returns nil for content that carries nothing this SDK handles, and an
// UndecryptableMessage for content that is malformed or not allowed (a bad invitation URL, an
// absurd call message, a timer update for someone else's conversation).
// files is the file server that attachments are downloaded from.
func eventsFromContent(in *Incoming, hash string, self crypto.AccountID, files *fileserver.Client) []Event {
	c := in.Content
	at := in.SentAt()
	from := in.Sender
	switch {
	case c.DataMessage != nil:
		dm := c.DataMessage
		// The conversation: the sender's, or for a copy of what we sent from another device,
		// the one its syncTarget names.
		conv := from
		if from == self {
			target, err := crypto.ParseAccountID(dm.GetSyncTarget())
			if err != nil || target.Prefix() != crypto.PrefixStandard {
				return nil // a note to self without a target: nothing to show
			}
			conv = target
		} else if t := dm.GetSyncTarget(); t != "" && t != self.String() {
			return skipped(hash, fmt.Errorf("%w: %s sent a copy for conversation %.20s", ErrNotInConversation, from, t))
		}
		if r := dm.Reaction; r != nil {
			target, ok := refFromPB(r.GetId(), r.GetAuthor())
			if !ok {
				return nil
			}
			return []Event{&Reaction{From: from, Target: target, Emoji: r.GetEmoji(),
				Removed: r.GetAction() == pb.DataMessage_Reaction_REMOVE, At: at}}
		}
		if dm.GetFlags()&uint32(pb.DataMessage_EXPIRATION_TIMER_UPDATE) != 0 {
			e := Expiry{}
			if x := expiryFromPB(c); x != nil {
				e = *x
			}
			return []Event{&DisappearingChanged{Hash: hash, Conversation: conv, By: from, Expiry: e, At: at}}
		}
		if inv := dm.CommunityInvitation; inv != nil {
			if from == self {
				return nil // our own invitation, sent from another device
			}
			r, err := community.ParseURL(inv.GetUrl())
			if err != nil {
				return skipped(hash, fmt.Errorf("%w: community invitation: %w", ErrInvalidContent, err))
			}
			if len(inv.GetName()) > maxInviteName || !utf8.ValidString(inv.GetName()) {
				return skipped(hash, fmt.Errorf("%w: community invitation with a name of %d bytes", ErrInvalidContent, len(inv.GetName())))
			}
			return []Event{&CommunityInvite{Hash: hash, From: from, Name: inv.GetName(), URL: r.String(), At: at}}
		}
		if dm.Body == nil && len(dm.Attachments) == 0 && dm.Quote == nil && len(dm.Preview) == 0 {
			// Profile-only updates, group updates: not handled at this level.
			return nil
		}
		m := &Message{Hash: hash, From: from, To: self, Timestamp: at, Text: dm.GetBody(),
			Profile: profileFromPB(dm.Profile, dm.ProfileKey), Expiry: expiryFromPB(c),
			Attachments: attachmentsFromPB(dm.Attachments, files), Pro: proFromPB(c),
			Previews: previewsFromPB(dm.Preview, func(p *pb.AttachmentPointer) *Attachment {
				if a := attachmentsFromPB([]*pb.AttachmentPointer{p}, files); len(a) == 1 {
					return a[0]
				}
				return nil
			})}
		if q := dm.Quote; q != nil {
			if ref, ok := refFromPB(q.GetId(), q.GetAuthor()); ok {
				m.Quote = &ref
			}
		}
		if from == self {
			m.Sync, m.To = true, conv
		}
		return []Event{m}
	case c.TypingMessage != nil:
		return []Event{&Typing{From: from, Started: c.TypingMessage.GetAction() == pb.TypingMessage_STARTED,
			At: msTime(c.TypingMessage.GetTimestamp())}}
	case c.ReceiptMessage != nil:
		if c.ReceiptMessage.GetType() != pb.ReceiptMessage_READ {
			return nil
		}
		r := &ReadReceipt{From: from, At: at}
		for _, ts := range c.ReceiptMessage.Timestamp {
			r.Timestamps = append(r.Timestamps, msTime(ts))
		}
		return []Event{r}
	case c.UnsendRequest != nil:
		target, ok := refFromPB(c.UnsendRequest.GetTimestamp(), c.UnsendRequest.GetAuthor())
		if !ok || (target.Author != from && from != self) {
			// Only the author may unsend a message; our own other devices may also delete
			// one for us (delete for me, usersync_api.go).
			return nil
		}
		return []Event{&Unsend{From: from, Target: target, At: at}}
	case c.MessageRequestResponse != nil:
		r := c.MessageRequestResponse
		return []Event{&MessageRequestResponse{From: from, Approved: r.GetIsApproved(),
			Profile: profileFromPB(r.Profile, r.ProfileKey)}}
	case c.DataExtractionNotification != nil:
		n := c.DataExtractionNotification
		kind := DataExtractionKind(n.GetType())
		if kind != ScreenshotTaken && kind != MediaSaved {
			return nil
		}
		e := &DataExtraction{Hash: hash, From: from, Kind: kind, At: at}
		if ts := n.GetTimestamp(); ts > 0 && ts <= maxTimestampMS {
			e.Timestamp = msTime(ts)
		}
		return []Event{e}
	case c.CallMessage != nil:
		if from == self {
			return nil // our own call, handled on another device
		}
		call, err := callFromPB(c.CallMessage, hash, from, at)
		if err != nil {
			return skipped(hash, err)
		}
		return []Event{call}
	}
	return nil
}

// maxTimestampMS bounds the millisecond timestamps taken from messages (year 9999): beyond it a
// time.Time would overflow.
const maxTimestampMS = 253402300799999
