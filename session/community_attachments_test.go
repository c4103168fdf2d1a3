package session_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/session"
)

// A room file posted by one client is downloaded by another from the room, through onion paths.
func TestCommunityAttachments(t *testing.T) {
	dn := startDevnet(t)
	s := startSOGS(t, dn)
	if err := s.CreateRoom(sogsd.RoomConfig{Token: "pics", Name: "Pictures"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, _ := newClient(t, session.WithNetworkConfig(netConfig(dn, false)))
	bob, br := newClient(t, session.WithNetworkConfig(netConfig(dn, false)))
	room := s.JoinURL("pics")
	if _, err := bob.JoinCommunity(ctx, room); err != nil {
		t.Fatal(err)
	}
	img := bytes.Repeat([]byte{0xff, 0xd8, 0x42}, 50000)
	posted, err := alice.SendCommunityAttachments(ctx, room, "sunset", []session.AttachmentFile{{
		Data: bytes.NewReader(img), FileName: "sunset.jpg", ContentType: "image/jpeg", Width: 800, Height: 600,
	}})
	if err != nil {
		t.Fatal(err)
	}
	m := communityFor(t, bob, br, func(m *session.CommunityMessage) bool { return m.ID == posted.ID })
	if m.Text != "sunset" || len(m.Attachments) != 1 {
		t.Fatalf("message %+v", m)
	}
	a := m.Attachments[0]
	if a.FileName != "sunset.jpg" || a.Width != 800 || a.Size != int64(len(img)) {
		t.Fatalf("attachment %+v", a)
	}
	var got bytes.Buffer
	if _, err := a.Download(ctx, &got); err != nil || !bytes.Equal(got.Bytes(), img) {
		t.Fatalf("download: %v (%d bytes)", err, got.Len())
	}
	if _, err := alice.SendCommunityAttachments(ctx, room, "none", nil); err == nil {
		t.Fatal("no files accepted")
	}
}
