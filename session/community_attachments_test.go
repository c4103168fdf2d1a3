package session_test

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
)

// A room file posted by one client is downloaded by another from the room, through onion paths.
func TestCommunityAttachments(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	s := session.StartSOGS(t, dn)
	if err := s.CreateRoom(sogsd.RoomConfig{Token: "pics", Name: "Pictures"}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	bob, br := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
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
	m := session.WaitEvent(t, br, bob.PollCommunities, func(m *session.CommunityMessage) bool { return m.ID == posted.ID })
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

// A shutdown in the middle of a page of room messages neither loses nor repeats any: the room
// position moves after every message.
func TestCommunityShutdownMidPageDeliversOnce(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	s := session.StartSOGS(t, dn)
	if err := s.CreateRoom(sogsd.RoomConfig{Token: "busy", Name: "Busy"}); err != nil {
		t.Fatal(err)
	}
	bg := context.Background()
	st := store.NewMemory()
	keys, _ := crypto.GenerateKeys(nil)
	opts := []session.Option{session.WithKeys(keys), session.WithStore(st), session.WithNetworkConfig(session.NetConfig(dn, true)),
		session.WithPollInterval(20 * time.Millisecond)}
	bob, _ := session.NewTestClient(t, opts...)
	if _, err := bob.JoinCommunity(bg, s.JoinURL("busy")); err != nil {
		t.Fatal(err)
	}
	author, _ := crypto.GenerateKeys(nil)
	for _, text := range []string{"a", "b", "c", "d"} {
		content := append([]byte{0x0a, byte(len(text) + 2), 0x0a, byte(len(text))}, text...)
		if _, err := s.PostAs("busy", author, sogsd.Pad(content)); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]int{}
	var mu sync.Mutex
	ctx, cancel := context.WithCancel(bg)
	bob.AddEventHandler(func(e session.Event) {
		if m, ok := e.(*session.CommunityMessage); ok {
			mu.Lock()
			seen[m.Text]++
			mu.Unlock()
			if m.Text == "b" {
				cancel() // shut down after the second message of the page
			}
		}
	})
	if err := bob.Run(ctx); err != nil {
		t.Fatal(err)
	}
	bob.Close()
	bob2, _ := session.NewTestClient(t, opts...)
	bob2.AddEventHandler(func(e session.Event) {
		if m, ok := e.(*session.CommunityMessage); ok {
			mu.Lock()
			seen[m.Text]++
			mu.Unlock()
		}
	})
	for i := 0; i < 100; i++ {
		if err := bob2.PollCommunities(bg); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 4 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, text := range []string{"a", "b", "c", "d"} {
		if seen[text] != 1 {
			t.Fatalf("delivered: %v", seen)
		}
	}
}
