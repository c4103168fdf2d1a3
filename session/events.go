package session

import (
	"fmt"
	"io"
	"time"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// Event is what the Client delivers to the handlers registered with AddEventHandler and to
// Subscribe channels: a pointer to one of the event types below. The interface is sealed (only
// this package's types implement it), so a type switch can cover every case:
//
//	client.AddEventHandler(func(evt session.Event) {
//		switch e := evt.(type) {
//		case *session.Message:
//			fmt.Println(e.From, e.Text)
//		case *session.PollError:
//			log.Println(e.Err)
//		}
//	})
//
// The events, by conversation:
//
//   - 1:1: [*Message], [*MessageRequest], [*MessageRequestResponse], [*Typing],
//     [*ReadReceipt], [*Reaction], [*Unsend], [*DataExtraction], [*DisappearingChanged],
//     [*CommunityInvite], [*Call], [*UndecryptableMessage], [*UnknownContent].
//   - Groups: [*GroupInvite], [*GroupJoined], [*GroupMessage], [*GroupMemberChange],
//     [*GroupInfoChange], [*GroupUpdated], [*GroupRemoved], [*GroupMessagesDeleted],
//     [*GroupHistoryCleared], [*UndecryptableGroupMessage]; reactions in a group are
//     [*Reaction] with Group set, unsends [*GroupMessagesDeleted], timer changes
//     [*DisappearingChanged].
//   - Communities: [*CommunityMessage], [*CommunityMessageDeleted], [*CommunityReaction],
//     [*CommunityDM], [*CommunitySkipped].
//   - Connection: [*Connected], [*Disconnected], [*PollError].
//   - Handlers: [*HandlerError] (a handler failed or panicked; the event comes again),
//     [*DeadLetter] (an event given up after its handlers kept failing).
//   - The account's other devices: [*SyncedProfile], [*SyncedContact], [*SyncedRead],
//     [*SyncedGroup], [*SyncedCommunity]; [*ConfigRejected], and [*MessageDropped] for a
//     blocked sender (or, in 1:1 and groups, a message too old to be anything but a replay).
type Event interface {
	isEvent()
}

func (*Message) isEvent()                   {}
func (*MessageRequest) isEvent()            {}
func (*MessageRequestResponse) isEvent()    {}
func (*Typing) isEvent()                    {}
func (*ReadReceipt) isEvent()               {}
func (*Reaction) isEvent()                  {}
func (*Unsend) isEvent()                    {}
func (*DataExtraction) isEvent()            {}
func (*UndecryptableMessage) isEvent()      {}
func (*UnknownContent) isEvent()            {}
func (*Connected) isEvent()                 {}
func (*Disconnected) isEvent()              {}
func (*PollError) isEvent()                 {}
func (*GroupInvite) isEvent()               {}
func (*GroupJoined) isEvent()               {}
func (*GroupMessage) isEvent()              {}
func (*GroupMemberChange) isEvent()         {}
func (*GroupInfoChange) isEvent()           {}
func (*GroupUpdated) isEvent()              {}
func (*GroupRemoved) isEvent()              {}
func (*UndecryptableGroupMessage) isEvent() {}
func (*CommunityMessage) isEvent()          {}
func (*CommunityMessageDeleted) isEvent()   {}
func (*CommunityReaction) isEvent()         {}
func (*CommunityDM) isEvent()               {}
func (*CommunitySkipped) isEvent()          {}
func (*DisappearingChanged) isEvent()       {}
func (*CommunityInvite) isEvent()           {}
func (*Call) isEvent()                      {}
func (*GroupMessagesDeleted) isEvent()      {}
func (*GroupHistoryCleared) isEvent()       {}

// MessageRef identifies a message the way Session does in quotes, reactions, receipts and unsend
// requests: by its author and its sent time (millisecond precision).
type MessageRef struct {
	Author    crypto.AccountID
	Timestamp time.Time
}

// SecretBytes is key material (the key of a profile or group picture): fmt and encoding/json
// show it as [redacted], so that logging an event or a Profile does not leak it. Use the bytes
// directly (it is a []byte) when the key is needed.
type SecretBytes []byte

const redactedText = "[redacted]"

// String returns "[redacted]".
func (SecretBytes) String() string { return redactedText }

// Format writes "[redacted]" under every verb.
func (SecretBytes) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redactedText) }

// MarshalJSON writes "[redacted]".
func (SecretBytes) MarshalJSON() ([]byte, error) { return []byte(`"` + redactedText + `"`), nil }

// Profile is the sender profile that official clients attach to visible messages.
type Profile struct {
	DisplayName string
	// PictureURL is the file-server URL of the encrypted profile picture, and PictureKey the
	// 32-byte key that decrypts it (nil when there is no picture).
	PictureURL string
	PictureKey SecretBytes
	// UpdatedAt is when the profile last changed (second precision; zero if not sent).
	UpdatedAt time.Time
}

// ExpiryMode is how a disappearing message expires.
type ExpiryMode int

const (
	// ExpiryNone: the message does not disappear.
	ExpiryNone ExpiryMode = iota
	// ExpiryAfterRead: the timer starts when the recipient reads the message.
	ExpiryAfterRead
	// ExpiryAfterSend: the timer starts when the message is sent.
	ExpiryAfterSend
)

func (m ExpiryMode) String() string {
	switch m {
	case ExpiryNone:
		return "off"
	case ExpiryAfterRead:
		return "after read"
	case ExpiryAfterSend:
		return "after send"
	}
	return fmt.Sprintf("ExpiryMode(%d)", int(m))
}

// Expiry describes a disappearing message, or a conversation's disappearing-messages setting.
// The zero value (or Mode ExpiryNone) means off.
type Expiry struct {
	Mode  ExpiryMode
	Timer time.Duration // second precision
}

// Off reports whether e means "does not disappear".
func (e Expiry) Off() bool { return e.Mode == ExpiryNone || e.Timer < time.Second }

// LinkPreview is the preview of a link in a message's text: the link, the page's title and an
// image. Sent with WithLinkPreview (Image is then the file to upload); received in
// Message.Previews, GroupMessage.Previews and CommunityMessage.Previews (ReceivedImage).
type LinkPreview struct {
	URL   string
	Title string
	// Image is the preview image to send (optional).
	Image *AttachmentFile
	// ReceivedImage is the preview image of a received message (nil when none).
	ReceivedImage *Attachment
}

// ProFeatures are the Session Pro feature bits a sender attached (read-only: the SDK keeps and
// shows them, it neither verifies the Pro proof nor sends one). Profile holds the profile's
// features (badge), Message those of the message.
type ProFeatures struct {
	Profile, Message uint64
	// ProofExpiry is when the attached Pro proof expires (zero when absent).
	ProofExpiry time.Time
}

// Message is a visible message: from someone to us, or (Sync) one we sent from another device
// linked to the same account.
type Message struct {
	// Hash is the storage server's hash of the stored message.
	Hash string
	// From is the sender; To is the recipient (us, or for a sync copy the conversation partner).
	From, To crypto.AccountID
	// Timestamp is the sent time; with From it identifies the message (see [Message.Ref]).
	Timestamp time.Time
	Text      string
	// Attachments are the files attached to the message (see [Attachment.Download]).
	Attachments []*Attachment
	// Quote is the message this one replies to, if any.
	Quote *MessageRef
	// Profile is the sender's profile, if attached.
	Profile *Profile
	// Previews are the link previews of the text.
	Previews []LinkPreview
	// Expiry is set for disappearing messages. ExpiresAt is when the message disappears: for
	// ExpiryAfterSend its sent time plus the timer; for ExpiryAfterRead zero until it is read
	// (MarkRead or SendReadReceipt start the timer) unless another device of ours already read
	// it (the swarm copy's shortened expiry then tells when).
	Expiry    *Expiry
	ExpiresAt time.Time
	// Pro holds the Session Pro features the sender attached, if any.
	Pro *ProFeatures
	// Sync is true for a copy of a message we sent from another device.
	Sync bool
	// Request is true when the sender is not an accepted contact yet: the message is a message
	// request (see AcceptMessageRequest). A MessageRequest event precedes the first one.
	Request bool
}

// Ref returns the reference to quote, react to, mark read or unsend this message.
func (m *Message) Ref() MessageRef { return MessageRef{Author: m.From, Timestamp: m.Timestamp} }

// MessageRequest is sent once for a new sender who is not an accepted contact, before their
// first Message.
type MessageRequest struct {
	From    crypto.AccountID
	Profile *Profile
}

// MessageRequestResponse reports that From accepted our message request.
type MessageRequestResponse struct {
	From     crypto.AccountID
	Approved bool
	Profile  *Profile
}

// Typing reports a typing indicator.
type Typing struct {
	From    crypto.AccountID
	Started bool // false: stopped typing
	At      time.Time
}

// ReadReceipt reports that From read our messages sent at Timestamps.
type ReadReceipt struct {
	From       crypto.AccountID
	Timestamps []time.Time
	At         time.Time
}

// Reaction reports an emoji reaction added to (or Removed from) Target, in a 1:1 conversation
// or (Group set) in a group.
type Reaction struct {
	From    crypto.AccountID
	Group   crypto.AccountID // the group's 03 ID; zero in 1:1 conversations
	Target  MessageRef
	Emoji   string
	Removed bool
	At      time.Time
}

// Unsend reports that From deleted Target for everyone in a 1:1 conversation; a client should
// remove it. (In groups, deletions are GroupMessagesDeleted.)
type Unsend struct {
	From   crypto.AccountID
	Target MessageRef
	At     time.Time
}

// DisappearingChanged reports a new disappearing-messages setting of a conversation: a 1:1
// conversation whose other side (or, By us, another device of ours) changed it, or a group
// whose admins did (By is then zero: the setting comes from the group's signed info). The
// Client applies it to everything it sends in that conversation from then on.
type DisappearingChanged struct {
	Hash string // the 1:1 message that carried the change; empty for groups
	// Conversation is the other side's 05 ID or the group's 03 ID.
	Conversation crypto.AccountID
	By           crypto.AccountID
	Expiry       Expiry
	At           time.Time
}

// CommunityInvite is an invitation to a community room, received in a 1:1 conversation. Join
// the room with AcceptCommunityInvite (or JoinCommunity with URL).
type CommunityInvite struct {
	Hash string
	From crypto.AccountID
	// Name is the room's name as the inviter wrote it; URL the room's join URL (checked: it
	// parses as one).
	Name, URL string
	At        time.Time
}

// CallKind is the step of a call's signalling that a Call carries.
type CallKind int

// Call signalling steps (the values of CallMessage.Type).
const (
	CallOffer             CallKind = 1
	CallAnswer            CallKind = 2
	CallProvisionalAnswer CallKind = 3
	CallICECandidates     CallKind = 4
	CallEnd               CallKind = 5
	CallPreOffer          CallKind = 6
)

func (k CallKind) String() string {
	switch k {
	case CallOffer:
		return "offer"
	case CallAnswer:
		return "answer"
	case CallProvisionalAnswer:
		return "provisional answer"
	case CallICECandidates:
		return "ICE candidates"
	case CallEnd:
		return "end call"
	case CallPreOffer:
		return "pre-offer"
	}
	return fmt.Sprintf("CallKind(%d)", int(k))
}

// Call is one step of a call's WebRTC signalling from From (see SendCall for what the SDK does
// and does not do for calls). UUID identifies the call; SDPs are session descriptions (one for
// offers and answers) or ICE candidates, which come with their SDPMLineIndexes and SDPMids.
type Call struct {
	Hash            string
	From            crypto.AccountID
	Kind            CallKind
	UUID            string
	SDPs            []string
	SDPMLineIndexes []uint32
	SDPMids         []string
	At              time.Time
}

// Connected is sent when polling succeeds for the first time, and again after a Disconnected.
type Connected struct{}

// Disconnected is sent when polling starts failing after it succeeded; Err is the first error.
type Disconnected struct{ Err error }

// PollError reports a failed poll; Run retries after Backoff. A first poll that has had no
// answer for a few seconds is reported too, with Err matching ErrNoAnswerYet and Backoff 0,
// while it goes on.
type PollError struct {
	Err     error
	Backoff time.Duration
}

// UndecryptableMessage reports a stored message that could not be decrypted or parsed. It is
// skipped; Err says why (match it with errors.Is against the session and crypto errors).
type UndecryptableMessage struct {
	Hash string
	Err  error
}

// DataExtractionKind says what a DataExtraction notice reports.
type DataExtractionKind int

const (
	// ScreenshotTaken: the sender took a screenshot of the conversation.
	ScreenshotTaken DataExtractionKind = 1
	// MediaSaved: the sender saved an attachment of the conversation.
	MediaSaved DataExtractionKind = 2
)

func (k DataExtractionKind) String() string {
	switch k {
	case ScreenshotTaken:
		return "screenshot taken"
	case MediaSaved:
		return "media saved"
	}
	return fmt.Sprintf("DataExtractionKind(%d)", int(k))
}

// DataExtraction is a data-extraction notice: From took a screenshot of the conversation or
// saved media from it (official mobile clients send these; desktop shows them).
type DataExtraction struct {
	Hash string
	From crypto.AccountID
	Kind DataExtractionKind
	// Timestamp is the time the notice carries (zero when absent): for MediaSaved, the sent
	// time of the message whose attachment was saved. Clients differ: Session.js writes the
	// notice's own sent time there.
	Timestamp time.Time
	// At is the notice's sent time.
	At time.Time
}

// UnknownContent reports a message that decrypted but carries nothing this SDK handles (a
// legacy configuration message, a content type added after this SDK…). Content is the whole
// parsed Content, with unknown fields kept (read them with protowire or a newer .proto).
type UnknownContent struct {
	Hash      string
	From      crypto.AccountID
	Timestamp time.Time
	Content   *pb.Content
}
