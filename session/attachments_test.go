package session_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/filesd"
	"github.com/sessiongo/sdk/fileserver"
	"github.com/sessiongo/sdk/session"
)

func TestAttachmentsAndProfilePictures(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	fs, err := filesd.Start(context.Background(), filesd.WithNetwork(dn))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	for _, mode := range []struct {
		name   string
		direct bool
	}{{"onion", false}, {"direct", true}} {
		t.Run(mode.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := session.NetConfig(dn, mode.direct)
			cfg.FileServer = fs.OnionServer()
			alice, _ := session.NewTestClient(t, session.WithNetworkConfig(cfg), session.WithProfile(session.Profile{DisplayName: "Alice"}))
			bob, br := session.NewTestClient(t, session.WithNetworkConfig(cfg))

			image := bytes.Repeat([]byte("not really a jpeg "), 20000) // 360 kB
			if err := alice.SetProfilePicture(ctx, []byte("avatar bytes")); err != nil {
				t.Fatal(err)
			}
			var progressed bool
			_, err := alice.SendAttachments(ctx, bob.AccountID(), "look", []session.AttachmentFile{{
				Data: bytes.NewReader(image), FileName: "cat.jpg", ContentType: "image/jpeg",
				Width: 640, Height: 480, Caption: "a cat", Progress: func(fileserver.Progress) { progressed = true },
			}, {
				Data: bytes.NewReader([]byte("voice")), ContentType: "audio/aac", VoiceNote: true,
			}})
			if err != nil {
				t.Fatal(err)
			}
			if !progressed {
				t.Error("no progress reported")
			}
			m := session.WaitEvent[*session.Message](t, br, bob.PollOnce, nil)
			if m.Text != "look" || len(m.Attachments) != 2 {
				t.Fatalf("message %+v", m)
			}
			a := m.Attachments[0]
			if a.FileName != "cat.jpg" || a.ContentType != "image/jpeg" || a.Width != 640 || a.Height != 480 ||
				a.Caption != "a cat" || a.Size != int64(len(image)) || a.VoiceNote || !m.Attachments[1].VoiceNote {
				t.Fatalf("attachment %+v", a)
			}
			var got bytes.Buffer
			if n, err := a.Download(ctx, &got); err != nil || n != int64(len(image)) || !bytes.Equal(got.Bytes(), image) {
				t.Fatalf("download: %d %v", n, err)
			}
			pic, err := bob.Network().DownloadProfilePicture(ctx, m.Profile)
			if err != nil || string(pic) != "avatar bytes" || m.Profile.DisplayName != "Alice" {
				t.Fatalf("profile picture: %q %v (%+v)", pic, err, m.Profile)
			}
			if _, err := bob.Network().DownloadProfilePicture(ctx, &session.Profile{DisplayName: "x"}); !errors.Is(err, session.ErrNoPicture) {
				t.Fatalf("no picture: %v", err)
			}
		})
	}
}
