package session

import (
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
				case *Message, *Reaction, *Typing, *ReadReceipt, *Unsend, *MessageRequestResponse:
				default:
					t.Fatalf("unexpected event %T", e)
				}
			}
		}
	})
}
