package session_test

import (
	"context"
	"encoding/base64"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/devnet/devnettest"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/swarm"
)

// TestBadMessagesAreSkipped stores junk, an undecryptable message, an unknown content type and
// a replay into Bob's swarm: each is reported and skipped, and a good message after them still
// arrives, once.
func TestBadMessagesAreSkipped(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	ctx := context.Background()
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))
	bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))
	eve, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, true)))
	rpc := alice.Network().RPC()
	put := func(data []byte) string {
		t.Helper()
		res, err := rpc.Store(ctx, swarm.Unsigned(bob.AccountID()), swarm.StoreRequest{Data: data, TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return res.Hash
	}
	wire := func(sender *session.Client, to *session.Client, c *pb.Content) []byte {
		t.Helper()
		s, err := session.EncodeMessage(sender.Keys(), to.AccountID(), c, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		b, _ := base64.StdEncoding.DecodeString(s)
		return b
	}
	junk := put([]byte("\x00\x01 not a protobuf"))
	// Sealed to Eve, stored in Bob's swarm: Bob cannot open it.
	notForBob := put(wire(alice, eve, &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String("for eve")}}))
	// A content type this SDK does not know (desktop's retired configurationMessage, field 7).
	legacy := &pb.Content{}
	legacy.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 7, protowire.BytesType), []byte{0x1a, 0x01, 'x'}))
	unknownHash := put(wire(alice, bob, legacy))
	good := wire(alice, bob, &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String("still works")}})
	goodHash := put(good)
	if put(good) != goodHash { // a replay of the same bytes is the same message
		t.Fatal("replayed data got another hash")
	}

	m := session.WaitEvent[*session.Message](t, br, bob.PollOnce, nil)
	if m.Text != "still works" || m.Hash != goodHash {
		t.Fatalf("message %+v", m)
	}
	undecryptable := map[string]error{}
	var unknown []string
	messages := 0
	for _, e := range br.Events() {
		switch e := e.(type) {
		case *session.UndecryptableMessage:
			undecryptable[e.Hash] = e.Err
		case *session.UnknownContent:
			unknown = append(unknown, e.Hash)
		case *session.Message:
			messages++
		}
	}
	if !errors.Is(undecryptable[junk], session.ErrInvalidEnvelope) {
		t.Errorf("junk: %v", undecryptable[junk])
	}
	if undecryptable[notForBob] == nil {
		t.Error("a message for someone else was not reported")
	}
	if len(unknown) != 1 || unknown[0] != unknownHash {
		t.Errorf("unknown content events: %v", unknown)
	}
	// Polling again (and a replay stored again) delivers nothing twice.
	put(good)
	if err := bob.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if count := session.CountEvents[*session.Message](br, nil); messages != 1 || count != 1 {
		t.Fatalf("good message delivered %d/%d times", messages, count)
	}
}
