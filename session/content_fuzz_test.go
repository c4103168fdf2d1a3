package session

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// FuzzEventsFromContent feeds arbitrary Content bytes (as a peer could send them, sealed
// correctly) to the event mapping: it must never panic, and what it returns must be events.
func FuzzEventsFromContent(f *testing.F) {
	seeds := []*pb.Content{
		{DataMessage: &pb.DataMessage{Body: proto.String("hi"), Quote: &pb.DataMessage_Quote{Id: proto.Uint64(1), Author: proto.String("05zz")}}},
		{DataMessage: &pb.DataMessage{Reaction: &pb.DataMessage_Reaction{Id: proto.Uint64(1), Author: proto.String(""), Action: pb.DataMessage_Reaction_REACT.Enum()}}},
		{DataMessage: &pb.DataMessage{Attachments: []*pb.AttachmentPointer{{Id: proto.Uint64(0), Key: make([]byte, 64), Url: proto.String("http://x/file/1")}}}},
		{ReceiptMessage: &pb.ReceiptMessage{Type: pb.ReceiptMessage_READ.Enum(), Timestamp: []uint64{1, 1 << 63}}},
		{UnsendRequest: &pb.UnsendRequest{Timestamp: proto.Uint64(5), Author: proto.String("05")}},
		{TypingMessage: &pb.TypingMessage{Timestamp: proto.Uint64(1), Action: pb.TypingMessage_STARTED.Enum()}},
		{MessageRequestResponse: &pb.MessageRequestResponse{IsApproved: proto.Bool(true), ProfileKey: []byte{1}}},
		{ExpirationType: pb.Content_DELETE_AFTER_SEND.Enum(), ExpirationTimer: proto.Uint32(1 << 31), DataMessage: &pb.DataMessage{Body: proto.String("")}},
		{DataMessage: &pb.DataMessage{Flags: proto.Uint32(2), SyncTarget: proto.String("05ab")}, ExpirationType: pb.Content_DELETE_AFTER_READ.Enum(), ExpirationTimer: proto.Uint32(60)},
		{DataMessage: &pb.DataMessage{Body: proto.String("x"), Preview: []*pb.DataMessage_Preview{{Url: proto.String("https://a.b/c"), Image: &pb.AttachmentPointer{Id: proto.Uint64(1)}}}}},
		{DataMessage: &pb.DataMessage{CommunityInvitation: &pb.DataMessage_CommunityInvitation{Url: proto.String("https://x.org/r?public_key=00"), Name: proto.String("r")}}},
		{CallMessage: &pb.CallMessage{Type: pb.CallMessage_ICE_CANDIDATES.Enum(), Uuid: proto.String("u"), Sdps: []string{"a"}, SdpMLineIndexes: []uint32{0}, SdpMids: []string{"0"}}},
		{DataExtractionNotification: &pb.DataExtractionNotification{Type: pb.DataExtractionNotification_MEDIA_SAVED.Enum(), Timestamp: proto.Uint64(1 << 63)}},
		{DataMessage: &pb.DataMessage{Body: proto.String("p")}, ProMessage: &pb.ProMessage{Proof: &pb.ProProof{ExpiryUnixTs: proto.Uint64(1 << 62)}}},
	}
	for _, c := range seeds {
		b, err := proto.MarshalOptions{AllowPartial: true}.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	k, err := crypto.KeysFromSeed(make([]byte, 16))
	if err != nil {
		f.Fatal(err)
	}
	self := k.AccountID()
	f.Fuzz(func(t *testing.T, b []byte) {
		var c pb.Content
		if proto.Unmarshal(b, &c) != nil {
			return
		}
		for _, from := range []crypto.AccountID{self, crypto.NewAccountID(crypto.PrefixStandard, [32]byte{1})} {
			in := &Incoming{Sender: from, Timestamp: 1700000000000, Content: &c}
			for _, e := range eventsFromContent(in, "hash", self, nil) {
				switch e.(type) {
				case *Message, *Reaction, *Typing, *ReadReceipt, *Unsend, *MessageRequestResponse,
					*DataExtraction, *DisappearingChanged, *CommunityInvite, *Call, *UndecryptableMessage:
				default:
					t.Fatalf("unexpected event %T", e)
				}
			}
		}
	})
}

// FuzzCheckPreviewURL: the preview URL rules never panic, and what they accept is an https URL.
func FuzzCheckPreviewURL(f *testing.F) {
	for _, s := range []string{"https://getsession.org/x?y=1#z", "http://a.b/", "https://a/", "https://é.example/", "https://a.b/ü", "https://%41.b/", "https://u:p@a.b/", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if CheckPreviewURL(s) == nil && (len(s) < 8 || !strings.EqualFold(s[:8], "https://")) {
			t.Fatalf("accepted %q", s)
		}
	})
}

// FuzzCheckContent: the outgoing field rules never panic on any Content.
func FuzzCheckContent(f *testing.F) {
	for _, c := range []*pb.Content{
		{DataMessage: &pb.DataMessage{Flags: proto.Uint32(2)}, ExpirationType: pb.Content_DELETE_AFTER_SEND.Enum(), ExpirationTimer: proto.Uint32(5)},
		{CallMessage: &pb.CallMessage{Type: pb.CallMessage_OFFER.Enum(), Uuid: proto.String("u"), Sdps: []string{"v=0"}}},
	} {
		b, _ := proto.Marshal(c)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c pb.Content
		if proto.Unmarshal(b, &c) != nil {
			return
		}
		_ = CheckContent(&c)
	})
}
