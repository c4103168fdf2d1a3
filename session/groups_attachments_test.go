package session

import (
	"bytes"
	"context"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"testing"
	"time"
)

// TestGroupAttachments sends a file to a group and checks a member downloads it intact.
func TestGroupAttachments(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dn := devnettest.Start(t)
	cfg := NetConfig(dn, false)
	cfg.FileServer = StartFiles(t, dn).OnionServer()
	admin := gNewPeer(t, cfg, "Admin")
	member := gNewPeer(t, cfg, "Member")
	g, err := admin.CreateGroup(ctx, "Files", member.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gJoin(t, member, g.ID, admin.AccountID(), "Files")
	doc := bytes.Repeat([]byte("minutes of the meeting\n"), 5000)
	if _, err := admin.SendGroupAttachments(ctx, g.ID, "the minutes", []AttachmentFile{{
		Data: bytes.NewReader(doc), FileName: "minutes.txt", ContentType: "text/plain",
	}}); err != nil {
		t.Fatal(err)
	}
	m := gWait(t, member, func(m *GroupMessage) bool { return m.Group == g.ID && m.Text == "the minutes" })
	if len(m.Attachments) != 1 || m.Attachments[0].FileName != "minutes.txt" {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	var got bytes.Buffer
	if _, err := m.Attachments[0].Download(ctx, &got); err != nil || !bytes.Equal(got.Bytes(), doc) {
		t.Fatalf("download: %v (%d bytes)", err, got.Len())
	}
	if _, err := member.SendGroupAttachments(ctx, g.ID, "", nil); err == nil {
		t.Fatal("no files accepted")
	}
}
