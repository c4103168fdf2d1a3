package session

import (
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

func textContent(body string) *pb.Content {
	return &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String(body)}}
}

func TestEncodeDecodeMessage(t *testing.T) {
	alice, bob := newKeys(t), newKeys(t)
	sent := time.UnixMilli(1700000000123)
	content := textContent("hello bob")
	data, err := EncodeMessage(alice, bob.AccountID(), content, sent)
	if err != nil {
		t.Fatal(err)
	}
	if content.SigTimestamp != nil {
		t.Fatal("EncodeMessage modified its argument")
	}
	in, err := DecodeMessage(bob, data)
	if err != nil {
		t.Fatal(err)
	}
	if in.Sender != alice.AccountID() || in.SenderEd25519 != alice.Ed25519PublicKey() ||
		in.Timestamp != 1700000000123 || !in.SentAt().Equal(sent) {
		t.Fatalf("decoded %+v", in)
	}
	if in.Content.GetDataMessage().GetBody() != "hello bob" || in.Content.GetSigTimestamp() != 1700000000123 {
		t.Fatalf("content %v", in.Content)
	}

	// The stored form is the current libsession one.
	wire, _ := base64.StdEncoding.DecodeString(data)
	var ws pb.WebSocketMessage
	if err := proto.Unmarshal(wire, &ws); err != nil {
		t.Fatal(err)
	}
	r := ws.GetRequest()
	if ws.GetType() != pb.WebSocketMessage_REQUEST || r.Verb == nil || r.GetVerb() != "" || r.Path == nil || r.GetPath() != "" || r.RequestId == nil {
		t.Fatalf("WebSocketMessage %v", &ws)
	}
	env, err := DecodeEnvelope(wire)
	if err != nil {
		t.Fatal(err)
	}
	if env.GetType() != pb.Envelope_SESSION_MESSAGE || env.GetSourceDevice() != 1 || env.Source != nil || env.GetTimestamp() != 1700000000123 {
		t.Fatalf("Envelope %v", env)
	}
	// 160-multiple padding inside.
	if n := len(env.GetContent()) - crypto.SealOverhead; n%PaddingBlockSize != 0 {
		t.Fatalf("padded content of %d bytes", n)
	}

	// A sigTimestamp that is already right is fine; a wrong one is refused.
	content.SigTimestamp = proto.Uint64(1700000000123)
	if _, err := EncodeMessage(alice, bob.AccountID(), content, sent); err != nil {
		t.Fatal(err)
	}
	content.SigTimestamp = proto.Uint64(1)
	if _, err := EncodeMessage(alice, bob.AccountID(), content, sent); !errors.Is(err, ErrTimestampMismatch) {
		t.Fatal(err)
	}
}

// sealedWire builds stored data by hand, for the variants other clients write and for bad input.
func sealedWire(t *testing.T, from *crypto.Keys, to crypto.AccountID, content *pb.Content, pad func([]byte) []byte, env *pb.Envelope, verb, path string) string {
	t.Helper()
	plain, err := proto.MarshalOptions{AllowPartial: true}.Marshal(content)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := crypto.EncryptForRecipient(from, to.Key(), pad(plain), nil)
	if err != nil {
		t.Fatal(err)
	}
	env.Content = ct
	eb, err := proto.MarshalOptions{AllowPartial: true}.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	wb, err := proto.Marshal(&pb.WebSocketMessage{Type: pb.WebSocketMessage_REQUEST.Enum(),
		Request: &pb.WebSocketRequestMessage{Verb: proto.String(verb), Path: proto.String(path), Body: eb, RequestId: proto.Uint64(7)}})
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(wb)
}

func TestDecodeMessageVariants(t *testing.T) {
	alice, bob := newKeys(t), newKeys(t)
	const ts = 1650000000000
	c := textContent("old desktop")
	c.SigTimestamp = proto.Uint64(ts)
	// Older desktop / session.js: PUT /api/v1/message, no sourceDevice, Signal-style padding.
	data := sealedWire(t, alice, bob.AccountID(), c, PadDesktop,
		&pb.Envelope{Type: pb.Envelope_SESSION_MESSAGE.Enum(), Timestamp: proto.Uint64(ts)}, "PUT", "/api/v1/message")
	in, err := DecodeMessage(bob, data)
	if err != nil || in.Content.GetDataMessage().GetBody() != "old desktop" || in.Sender != alice.AccountID() {
		t.Fatalf("%v %v", in, err)
	}
	// Unpadded base64 is accepted too.
	if _, err := DecodeMessage(bob, trimPadding(data)); err != nil {
		t.Fatal(err)
	}
	// A legacy client without sigTimestamp.
	data = sealedWire(t, alice, bob.AccountID(), textContent("legacy"), Pad,
		&pb.Envelope{Type: pb.Envelope_SESSION_MESSAGE.Enum(), Timestamp: proto.Uint64(ts)}, "", "")
	if in, err := DecodeMessage(bob, data); err != nil || in.Content.GetDataMessage().GetBody() != "legacy" {
		t.Fatalf("%v %v", in, err)
	}
}

func trimPadding(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

func TestDecodeMessageErrors(t *testing.T) {
	alice, bob, carol := newKeys(t), newKeys(t), newKeys(t)
	const ts = 1650000000000
	env := func() *pb.Envelope {
		return &pb.Envelope{Type: pb.Envelope_SESSION_MESSAGE.Enum(), Timestamp: proto.Uint64(ts)}
	}
	withSig := func(c *pb.Content, sig uint64) *pb.Content { c.SigTimestamp = proto.Uint64(sig); return c }
	good := sealedWire(t, alice, bob.AccountID(), withSig(textContent("x"), ts), Pad, env(), "", "")

	wsOnly := func(m *pb.WebSocketMessage) string {
		b, err := proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	closedGroup := env()
	closedGroup.Type = pb.Envelope_CLOSED_GROUP_MESSAGE.Enum()
	noTimestamp := &pb.Envelope{Type: pb.Envelope_SESSION_MESSAGE.Enum()}

	for _, c := range []struct {
		name string
		keys *crypto.Keys
		data string
		want error
	}{
		{"not base64", bob, "!!!", ErrInvalidEncoding},
		{"not protobuf", bob, base64.StdEncoding.EncodeToString([]byte{0xff, 0xff}), ErrInvalidEnvelope},
		{"empty", bob, "", ErrInvalidEnvelope},
		{"response", bob, wsOnly(&pb.WebSocketMessage{Type: pb.WebSocketMessage_RESPONSE.Enum(), Request: &pb.WebSocketRequestMessage{Body: []byte{1}}}), ErrInvalidEnvelope},
		{"no body", bob, wsOnly(&pb.WebSocketMessage{Type: pb.WebSocketMessage_REQUEST.Enum(), Request: &pb.WebSocketRequestMessage{}}), ErrInvalidEnvelope},
		{"body not an envelope", bob, wsOnly(&pb.WebSocketMessage{Request: &pb.WebSocketRequestMessage{Body: []byte{0x0a, 0x05}}}), ErrInvalidEnvelope},
		{"envelope without timestamp", bob, sealedWire(t, alice, bob.AccountID(), textContent("x"), Pad, noTimestamp, "", ""), ErrInvalidEnvelope},
		{"closed group", bob, sealedWire(t, alice, bob.AccountID(), textContent("x"), Pad, closedGroup, "", ""), ErrUnsupportedEnvelope},
		{"wrong recipient", carol, good, crypto.ErrDecrypt},
		{"nil keys", nil, good, crypto.ErrNilKeys},
		{"sigTimestamp off by 1 ms", bob, sealedWire(t, alice, bob.AccountID(), withSig(textContent("x"), ts+1), Pad, env(), "", ""), ErrTimestampMismatch},
		{"content missing a required field", bob, sealedWire(t, alice, bob.AccountID(), &pb.Content{TypingMessage: &pb.TypingMessage{}}, Pad, env(), "", ""), ErrInvalidContent},
		{"content not protobuf", bob, rawSealed(t, alice, bob, []byte{0xff, 0x80}), ErrInvalidContent},
		{"all-zero content", bob, rawSealed(t, alice, bob, make([]byte, 160)), ErrInvalidPadding},
	} {
		t.Run(c.name, func(t *testing.T) {
			in, err := DecodeMessage(c.keys, c.data)
			if !errors.Is(err, c.want) || in != nil {
				t.Fatalf("got %v, %v; want %v", in, err, c.want)
			}
		})
	}
	if _, err := DecodeMessage(bob, good); err != nil {
		t.Fatalf("control: %v", err)
	}

	// Encoding errors.
	if _, err := EncodeMessage(alice, bob.AccountID(), nil, time.Now()); !errors.Is(err, ErrInvalidContent) {
		t.Error(err)
	}
	if _, err := EncodeMessage(alice, bob.AccountID(), &pb.Content{TypingMessage: &pb.TypingMessage{}}, time.Now()); !errors.Is(err, ErrInvalidContent) {
		t.Error(err)
	}
	if _, err := EncodeMessage(alice, bob.AccountID(), textContent("x"), time.Time{}); err == nil {
		t.Error("zero time accepted")
	}
	if _, err := EncodeMessage(alice, crypto.NewAccountID(crypto.PrefixGroup, bob.X25519PublicKey()), textContent("x"), time.Now()); !errors.Is(err, ErrInvalidRecipient) {
		t.Error(err)
	}
}

// rawSealed stores an already padded plaintext, bypassing Content serialization.
func rawSealed(t *testing.T, from, to *crypto.Keys, padded []byte) string {
	t.Helper()
	ct, err := crypto.EncryptForRecipient(from, to.X25519PublicKey(), padded, nil)
	if err != nil {
		t.Fatal(err)
	}
	wire, err := EncodeEnvelope(ct, 1650000000000, nil)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(wire)
}
