package sessionpb

import (
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// TestFieldTable pins every field's number, label and kind to the spec's tables
// (identity-protocol-blinding.md 4.2-4.4, groups.md 7.2 and 8.1), so an edit of session.proto
// that changes the wire format fails here.
func TestFieldTable(t *testing.T) {
	want := map[string]string{
		"Envelope":                                 "type=1 req enum, source=2 opt string, timestamp=5 req uint64, sourceDevice=7 opt uint32, content=8 opt bytes, serverTimestamp=10 opt uint64, proSig=11 opt bytes",
		"WebSocketRequestMessage":                  "verb=1 opt string, path=2 opt string, body=3 opt bytes, requestId=4 opt uint64, headers=5 rep string",
		"WebSocketResponseMessage":                 "requestId=1 opt uint64, status=2 opt uint32, message=3 opt string, body=4 opt bytes, headers=5 rep string",
		"WebSocketMessage":                         "type=1 opt enum, request=2 opt message, response=3 opt message",
		"Content":                                  "dataMessage=1 opt message, callMessage=3 opt message, receiptMessage=5 opt message, typingMessage=6 opt message, dataExtractionNotification=8 opt message, unsendRequest=9 opt message, messageRequestResponse=10 opt message, sharedConfigMessage=11 opt message, expirationType=12 opt enum, expirationTimer=13 opt uint32, sigTimestamp=15 opt uint64, proMessage=16 opt message, proSigForCommunityMessageOnly=17 opt bytes",
		"ProProof":                                 "version=1 opt uint32, genIndexHash=2 opt bytes, rotatingPublicKey=3 opt bytes, expiryUnixTs=4 opt uint64, sig=5 opt bytes",
		"ProMessage":                               "proof=1 opt message, profileBitset=2 opt uint64, msgBitset=3 opt uint64",
		"LokiProfile":                              "displayName=1 opt string, profilePicture=2 opt string, lastUpdateSeconds=3 opt uint64",
		"DataMessage":                              "body=1 opt string, attachments=2 rep message, flags=4 opt uint32, profileKey=6 opt bytes, quote=8 opt message, preview=10 rep message, reaction=11 opt message, profile=101 opt message, communityInvitation=102 opt message, syncTarget=105 opt string, blocksCommunityMessageRequests=106 opt bool, groupUpdateMessage=120 opt message",
		"DataMessage.Quote":                        "id=1 req uint64, author=2 req string",
		"DataMessage.Preview":                      "url=1 req string, title=2 opt string, image=3 opt message",
		"DataMessage.Reaction":                     "id=1 req uint64, author=2 req string, emoji=3 opt string, action=4 req enum",
		"DataMessage.CommunityInvitation":          "url=1 req string, name=3 req string",
		"AttachmentPointer":                        "id=1 req fixed64, contentType=2 opt string, key=3 opt bytes, size=4 opt uint32, digest=6 opt bytes, fileName=7 opt string, flags=8 opt uint32, width=9 opt uint32, height=10 opt uint32, caption=11 opt string, url=101 opt string",
		"TypingMessage":                            "timestamp=1 req uint64, action=2 req enum",
		"ReceiptMessage":                           "type=1 req enum, timestamp=2 rep uint64",
		"UnsendRequest":                            "timestamp=1 req uint64, author=2 req string",
		"MessageRequestResponse":                   "isApproved=1 req bool, profileKey=2 opt bytes, profile=3 opt message",
		"DataExtractionNotification":               "type=1 req enum, timestamp=2 opt uint64",
		"CallMessage":                              "type=1 req enum, sdps=2 rep string, sdpMLineIndexes=3 rep uint32, sdpMids=4 rep string, uuid=5 req string",
		"SharedConfigMessage":                      "kind=1 req enum, seqno=2 req int64, data=3 req bytes",
		"GroupUpdateMessage":                       "inviteMessage=1 opt message, infoChangeMessage=2 opt message, memberChangeMessage=3 opt message, promoteMessage=4 opt message, memberLeftMessage=5 opt message, inviteResponse=6 opt message, deleteMemberContent=7 opt message, memberLeftNotificationMessage=8 opt message",
		"GroupUpdateInviteMessage":                 "groupSessionId=1 req string, name=2 req string, memberAuthData=3 req bytes, adminSignature=4 req bytes",
		"GroupUpdatePromoteMessage":                "groupIdentitySeed=1 req bytes, name=2 req string",
		"GroupUpdateInfoChangeMessage":             "type=1 req enum, updatedName=2 opt string, updatedExpiration=3 opt uint32, adminSignature=4 req bytes",
		"GroupUpdateMemberChangeMessage":           "type=1 req enum, memberSessionIds=2 rep string, historyShared=3 opt bool, adminSignature=4 req bytes",
		"GroupUpdateMemberLeftMessage":             "",
		"GroupUpdateMemberLeftNotificationMessage": "",
		"GroupUpdateInviteResponseMessage":         "isApproved=1 req bool",
		"GroupUpdateDeleteMemberContentMessage":    "memberSessionIds=1 rep string, messageHashes=2 rep string, adminSignature=3 opt bytes",
	}
	fd := File_session_proto
	got := map[string]string{}
	var walk func(prefix string, msgs protoreflect.MessageDescriptors)
	walk = func(prefix string, msgs protoreflect.MessageDescriptors) {
		for i := 0; i < msgs.Len(); i++ {
			m := msgs.Get(i)
			name := prefix + string(m.Name())
			var parts []string
			fields := m.Fields()
			for j := 0; j < fields.Len(); j++ {
				f := fields.Get(j)
				label := map[protoreflect.Cardinality]string{protoreflect.Optional: "opt", protoreflect.Required: "req", protoreflect.Repeated: "rep"}[f.Cardinality()]
				parts = append(parts, fmt.Sprintf("%s=%d %s %s", f.Name(), f.Number(), label, f.Kind()))
			}
			sort.SliceStable(parts, func(a, b int) bool { return fieldNum(parts[a]) < fieldNum(parts[b]) })
			got[name] = strings.Join(parts, ", ")
			walk(name+".", m.Messages())
		}
	}
	walk("", fd.Messages())
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s:\n got  %s\n want %s", name, got[name], w)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("message %s is not in the spec table", name)
		}
	}
}

func fieldNum(s string) int {
	var n int
	_, _ = fmt.Sscanf(s[strings.IndexByte(s, '=')+1:], "%d", &n)
	return n
}

func TestEnumNumbers(t *testing.T) {
	cases := []struct {
		got  protoreflect.Enum
		want int32
	}{
		{Envelope_SESSION_MESSAGE, 6}, {Envelope_CLOSED_GROUP_MESSAGE, 7},
		{WebSocketMessage_REQUEST, 1}, {WebSocketMessage_RESPONSE, 2},
		{Content_DELETE_AFTER_READ, 1}, {Content_DELETE_AFTER_SEND, 2},
		{DataMessage_EXPIRATION_TIMER_UPDATE, 2},
		{DataMessage_Reaction_REACT, 0}, {DataMessage_Reaction_REMOVE, 1},
		{AttachmentPointer_VOICE_MESSAGE, 1},
		{TypingMessage_STARTED, 0}, {TypingMessage_STOPPED, 1},
		{ReceiptMessage_DELIVERY, 0}, {ReceiptMessage_READ, 1},
		{DataExtractionNotification_SCREENSHOT, 1}, {DataExtractionNotification_MEDIA_SAVED, 2},
		{CallMessage_PRE_OFFER, 6}, {CallMessage_OFFER, 1}, {CallMessage_ANSWER, 2},
		{CallMessage_PROVISIONAL_ANSWER, 3}, {CallMessage_ICE_CANDIDATES, 4}, {CallMessage_END_CALL, 5},
		{SharedConfigMessage_USER_PROFILE, 1}, {SharedConfigMessage_CONTACTS, 2},
		{SharedConfigMessage_CONVO_INFO_VOLATILE, 3}, {SharedConfigMessage_USER_GROUPS, 4},
		{GroupUpdateInfoChangeMessage_NAME, 1}, {GroupUpdateInfoChangeMessage_AVATAR, 2},
		{GroupUpdateInfoChangeMessage_DISAPPEARING_MESSAGES, 3},
		{GroupUpdateMemberChangeMessage_ADDED, 1}, {GroupUpdateMemberChangeMessage_REMOVED, 2},
		{GroupUpdateMemberChangeMessage_PROMOTED, 3},
	}
	for _, c := range cases {
		if n := int32(c.got.Number()); n != c.want {
			t.Errorf("%v = %d, want %d", c.got, n, c.want)
		}
	}
}

// TestContentBytes checks the encoding of a text message against the content bytes of the
// wire_1o1 reference vector (fields in field-number order).
func TestContentBytes(t *testing.T) {
	c := &Content{
		DataMessage:  &DataMessage{Body: proto.String("hi 589688")},
		SigTimestamp: proto.Uint64(1649719172686),
	}
	b, err := proto.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := hex.EncodeToString(b), "0a0b0a0968692035383936383878cebcb3d78130"; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	var back Content
	if err := proto.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(c, &back) {
		t.Fatal("round trip differs")
	}
}

// TestRequiredFields checks that proto2 required fields are enforced both ways, which is what
// iOS and Android expect of what we send.
func TestRequiredFields(t *testing.T) {
	c := &Content{TypingMessage: &TypingMessage{Timestamp: proto.Uint64(1)}} // action missing
	if _, err := proto.Marshal(c); err == nil {
		t.Fatal("marshal without a required field succeeded")
	}
	partial, err := proto.MarshalOptions{AllowPartial: true}.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Content
	err = proto.Unmarshal(partial, &back)
	if err == nil {
		t.Fatal("unmarshal without a required field succeeded")
	}
	var rnf interface{ RequiredNotSet() bool }
	if !errors.As(err, &rnf) && !strings.Contains(err.Error(), "required") {
		t.Fatalf("unexpected error %v", err)
	}
}

// TestReservedFieldsKept checks that fields we declare reserved (DataMessage.timestamp 7,
// Quote.text 3) are accepted and kept as unknown fields rather than rejected.
func TestReservedFieldsKept(t *testing.T) {
	// DataMessage{body:"x", timestamp(7):5, quote{id:1, author:"a", text(3):"q"}}
	raw, _ := hex.DecodeString("0a0178" + "3805" + "4208" + "0801" + "120161" + "1a0171")
	var m DataMessage
	if err := proto.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	if m.GetBody() != "x" || m.GetQuote().GetId() != 1 || m.GetQuote().GetAuthor() != "a" {
		t.Fatalf("decoded %v", &m)
	}
	if len(m.ProtoReflect().GetUnknown()) == 0 || len(m.GetQuote().ProtoReflect().GetUnknown()) == 0 {
		t.Fatal("reserved fields were not kept as unknown fields")
	}
}

// FuzzContent parses arbitrary bytes as a Content (what a peer controls once a message
// decrypts): it must never panic, and whatever parses must serialize and parse back to an
// equal message.
func FuzzContent(f *testing.F) {
	seed, _ := hex.DecodeString("0a0b0a0968692035383936383878cebcb3d78130")
	f.Add(seed)
	f.Add([]byte{})
	partial, _ := proto.MarshalOptions{AllowPartial: true}.Marshal(&Content{
		TypingMessage: &TypingMessage{Timestamp: proto.Uint64(1)},
		DataMessage: &DataMessage{
			Quote:              &DataMessage_Quote{Id: proto.Uint64(1), Author: proto.String("05")},
			Reaction:           &DataMessage_Reaction{Id: proto.Uint64(2), Author: proto.String("05"), Action: DataMessage_Reaction_REMOVE.Enum()},
			GroupUpdateMessage: &GroupUpdateMessage{InviteMessage: &GroupUpdateInviteMessage{Name: proto.String("g")}},
			Attachments:        []*AttachmentPointer{{Id: proto.Uint64(3), Url: proto.String("u")}},
		},
	})
	f.Add(partial)
	f.Fuzz(func(t *testing.T, b []byte) {
		var c Content
		if err := proto.Unmarshal(b, &c); err != nil {
			return
		}
		out, err := proto.Marshal(&c)
		if err != nil {
			t.Fatalf("parsed content does not serialize: %v", err)
		}
		var back Content
		if err := proto.Unmarshal(out, &back); err != nil || !proto.Equal(&c, &back) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
