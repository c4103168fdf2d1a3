package session

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/filesd"
	"github.com/sessiongo/sdk/devnet/sogsd"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/swarm"
)

// The whole message vocabulary, SDK to SDK on a devnet through onion paths (issue 14).

type vocabNet struct {
	cfg   NetworkConfig
	dn    *devnet.Network
	files *filesd.Server
	sogs  *sogsd.Server
}

func startVocabNet(t *testing.T) *vocabNet {
	t.Helper()
	dn := devnettest.Start(t)
	fs := StartFiles(t, dn)
	s, _ := StartLobby(t, dn)
	cfg := NetConfig(dn, false)
	cfg.FileServer = fs.OnionServer()
	return &vocabNet{cfg: cfg, dn: dn, files: fs, sogs: s}
}

// storeRaw stores content from `from` in to's swarm as official clients would, bypassing the
// Client's send checks (to play a misbehaving client).
func storeRaw(t *testing.T, from, to *Client, content *pb.Content) string {
	t.Helper()
	at := from.msNow()
	data, err := from.encode(to.AccountID(), content, at)
	if err != nil {
		t.Fatal(err)
	}
	res, err := from.net.rpc.Store(context.Background(), swarm.Unsigned(to.AccountID()), swarm.StoreRequest{Data: data, TTL: time.Hour, Timestamp: at})
	if err != nil {
		t.Fatal(err)
	}
	return res.Hash
}

// swarmExpiry returns when our copy of hash expires in c's swarm.
func swarmExpiry(t *testing.T, c *Client, hash string) time.Time {
	t.Helper()
	exp, err := c.net.rpc.GetExpiries(context.Background(), c.signer, swarm.GetExpiriesRequest{Hashes: []string{hash}})
	if err != nil {
		t.Fatal(err)
	}
	return exp[hash]
}

func near(a, b time.Time, d time.Duration) bool { return a.Sub(b) < d && b.Sub(a) < d }

func TestDisappearingMessagesOneToOne(t *testing.T) {
	t.Parallel()
	cfg := gDevnet(t)
	ctx := context.Background()
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	// Alice's second device: same account, its own store.
	alice2 := gNewPeer(t, cfg, "Alice", WithKeys(alice.Keys()))

	// Delete after send, set by Alice: Bob is told, and both sides apply it from then on.
	das := Expiry{Mode: ExpiryAfterSend, Timer: time.Minute}
	if err := alice.SetDisappearing(ctx, bob.AccountID(), das); err != nil {
		t.Fatal(err)
	}
	ch := gWait(t, bob, func(e *DisappearingChanged) bool { return e.Conversation == alice.AccountID() })
	if ch.By != alice.AccountID() || ch.Expiry != das {
		t.Fatalf("change %+v", ch)
	}
	if e, err := bob.Disappearing(ctx, alice.AccountID()); err != nil || e != das {
		t.Fatalf("bob's setting %+v %v", e, err)
	}
	// The other device learns it from the sync copy.
	sync := gWait(t, alice2, func(e *DisappearingChanged) bool { return e.Conversation == bob.AccountID() })
	if sync.By != alice.AccountID() || sync.Expiry != das {
		t.Fatalf("synced change %+v", sync)
	}
	sent, err := alice.SendText(ctx, bob.AccountID(), "gone in a minute")
	if err != nil {
		t.Fatal(err)
	}
	m := gWait(t, bob, func(m *Message) bool { return m.Text == "gone in a minute" })
	if m.Expiry == nil || *m.Expiry != das || !m.ExpiresAt.Equal(sent.Timestamp.Add(time.Minute)) {
		t.Fatalf("message expiry %+v at %v", m.Expiry, m.ExpiresAt)
	}
	if exp := swarmExpiry(t, bob.Client, m.Hash); !near(exp, sent.Timestamp.Add(time.Minute), 2*time.Second) {
		t.Fatalf("swarm copy expires %v, sent %v", exp, sent.Timestamp)
	}
	if _, err := bob.SendText(ctx, alice.AccountID(), "me too"); err != nil {
		t.Fatal(err)
	}
	if r := gWait(t, alice, func(m *Message) bool { return m.Text == "me too" }); r.Expiry == nil || *r.Expiry != das {
		t.Fatalf("bob's reply expiry %+v", r.Expiry)
	}
	// WithExpiry overrides the setting for one message.
	if _, err := alice.SendText(ctx, bob.AccountID(), "keep this", WithExpiry(ExpiryNone, 0)); err != nil {
		t.Fatal(err)
	}
	if k := gWait(t, bob, func(m *Message) bool { return m.Text == "keep this" }); k.Expiry != nil || !k.ExpiresAt.IsZero() {
		t.Fatalf("override: %+v", k.Expiry)
	}

	// Delete after read, set by Bob: the timer starts when Alice reads.
	dar := Expiry{Mode: ExpiryAfterRead, Timer: 2 * time.Minute}
	if err := bob.SetDisappearing(ctx, alice.AccountID(), dar); err != nil {
		t.Fatal(err)
	}
	gWait(t, alice, func(e *DisappearingChanged) bool { return e.Expiry == dar })
	if _, err := bob.SendText(ctx, alice.AccountID(), "read me"); err != nil {
		t.Fatal(err)
	}
	rm := gWait(t, alice, func(m *Message) bool { return m.Text == "read me" })
	if rm.Expiry == nil || *rm.Expiry != dar || !rm.ExpiresAt.IsZero() {
		t.Fatalf("after-read message %+v at %v", rm.Expiry, rm.ExpiresAt)
	}
	if exp := swarmExpiry(t, alice.Client, rm.Hash); exp.Before(time.Now().Add(time.Hour)) {
		t.Fatalf("unread copy already expires at %v", exp)
	}
	if err := alice.SendReadReceipt(ctx, bob.AccountID(), rm.Ref()); err != nil {
		t.Fatal(err)
	}
	readAt := alice.now()
	if exp := swarmExpiry(t, alice.Client, rm.Hash); !near(exp, readAt.Add(2*time.Minute), 5*time.Second) {
		t.Fatalf("read copy expires %v, read at %v", exp, readAt)
	}
	gWait(t, bob, func(r *ReadReceipt) bool { return len(r.Timestamps) == 1 && r.Timestamps[0].Equal(rm.Timestamp) })

	// Off again.
	if err := alice.SetDisappearing(ctx, bob.AccountID(), Expiry{}); err != nil {
		t.Fatal(err)
	}
	gWait(t, bob, func(e *DisappearingChanged) bool { return e.Expiry.Off() })
	if e, _ := bob.Disappearing(ctx, alice.AccountID()); !e.Off() {
		t.Fatalf("setting after off: %+v", e)
	}

	// Bad settings are typed errors.
	for _, e := range []Expiry{{Mode: ExpiryAfterSend, Timer: time.Millisecond}, {Mode: ExpiryAfterRead, Timer: 30 * 24 * time.Hour}, {Mode: 7, Timer: time.Minute}} {
		if err := alice.SetDisappearing(ctx, bob.AccountID(), e); !errors.Is(err, ErrInvalidExpiry) {
			t.Errorf("setting %+v: %v", e, err)
		}
	}

	// A timer update for someone else's conversation (a "sync" copy from a stranger) is
	// reported and changes nothing.
	eve := gNewPeer(t, cfg, "Eve")
	forged := &pb.Content{DataMessage: &pb.DataMessage{Flags: proto.Uint32(2), SyncTarget: proto.String(alice.AccountID().String())},
		ExpirationType: pb.Content_DELETE_AFTER_SEND.Enum(), ExpirationTimer: proto.Uint32(5)}
	h := storeRaw(t, eve.Client, bob.Client, forged)
	u := gWait(t, bob, func(u *UndecryptableMessage) bool { return u.Hash == h })
	if !errors.Is(u.Err, ErrNotInConversation) {
		t.Fatalf("forged timer update: %v", u.Err)
	}
	if e, _ := bob.Disappearing(ctx, alice.AccountID()); !e.Off() {
		t.Fatalf("a stranger changed the setting: %+v", e)
	}
}

func TestVocabularyOneToOne(t *testing.T) {
	t.Parallel()
	vn := startVocabNet(t)
	ctx := context.Background()
	alice := gNewPeer(t, vn.cfg, "Alice")
	bob := gNewPeer(t, vn.cfg, "Bob")

	// Link preview with an image.
	img := bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 300)
	text := "look at https://getsession.org/blog/post"
	if _, err := alice.SendText(ctx, bob.AccountID(), text, WithLinkPreview(LinkPreview{
		URL: "https://getsession.org/blog/post", Title: "A post", Image: &AttachmentFile{Data: bytes.NewReader(img), ContentType: "image/png"}})); err != nil {
		t.Fatal(err)
	}
	m := gWait(t, bob, func(m *Message) bool { return m.Text == text })
	if len(m.Previews) != 1 || m.Previews[0].URL != "https://getsession.org/blog/post" || m.Previews[0].Title != "A post" || m.Previews[0].ReceivedImage == nil {
		t.Fatalf("previews %+v", m.Previews)
	}
	var got bytes.Buffer
	if _, err := m.Previews[0].ReceivedImage.Download(ctx, &got); err != nil || !bytes.Equal(got.Bytes(), img) {
		t.Fatalf("preview image: %v", err)
	}
	for _, bad := range []string{"http://getsession.org/", "https://localhost/", "https://user@getsession.org/", "https://getsession.org/a b", "https://getsеssion.org/", "javascript:alert(1)", "https://" + strings.Repeat("a", 5000) + ".org/"} {
		if _, err := alice.SendText(ctx, bob.AccountID(), bad, WithLinkPreview(LinkPreview{URL: bad})); !errors.Is(err, ErrInvalidPreview) {
			t.Errorf("preview of %.40q: %v", bad, err)
		}
	}
	// A malformed preview received: dropped, the message kept.
	h := storeRaw(t, alice.Client, bob.Client, &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String("bad preview"),
		Preview: []*pb.DataMessage_Preview{{Url: proto.String("http://evil.example/")}, {Url: proto.String("https://fine.example/x"), Title: proto.String("ok")}}}})
	bp := gWait(t, bob, func(m *Message) bool { return m.Hash == h })
	if len(bp.Previews) != 1 || bp.Previews[0].URL != "https://fine.example/x" {
		t.Fatalf("received previews %+v", bp.Previews)
	}

	// Community invitation, accepted with one call.
	url := vn.sogs.JoinURL("lobby")
	if _, err := alice.SendCommunityInvite(ctx, bob.AccountID(), url, "Lobby"); err != nil {
		t.Fatal(err)
	}
	inv := gWait(t, bob, func(e *CommunityInvite) bool { return true })
	if inv.Name != "Lobby" || inv.From != alice.AccountID() {
		t.Fatalf("invite %+v", inv)
	}
	if info, err := bob.AcceptCommunityInvite(ctx, inv); err != nil || info.Token != "lobby" {
		t.Fatalf("accept: %+v %v", info, err)
	}
	if rooms, _ := bob.Communities(ctx); len(rooms) != 1 {
		t.Fatalf("joined %v", rooms)
	}
	if _, err := alice.SendCommunityInvite(ctx, bob.AccountID(), "https://no-key.example/lobby", "x"); !errors.Is(err, community.ErrBadURL) {
		t.Errorf("bad invite URL: %v", err)
	}
	h = storeRaw(t, alice.Client, bob.Client, &pb.Content{DataMessage: &pb.DataMessage{CommunityInvitation: &pb.DataMessage_CommunityInvitation{
		Url: proto.String("ftp://x/y?public_key=zz"), Name: proto.String("bad")}}})
	if u := gWait(t, bob, func(u *UndecryptableMessage) bool { return u.Hash == h }); !errors.Is(u.Err, community.ErrBadURL) || !errors.Is(u.Err, ErrInvalidContent) {
		t.Fatalf("bad received invite: %v", u.Err)
	}

	// Data-extraction notices.
	if err := bob.SendScreenshotNotice(ctx, alice.AccountID()); err != nil {
		t.Fatal(err)
	}
	if err := bob.SendMediaSavedNotice(ctx, alice.AccountID(), m.Ref()); err != nil {
		t.Fatal(err)
	}
	gWait(t, alice, func(d *DataExtraction) bool { return d.Kind == ScreenshotTaken && d.From == bob.AccountID() })
	if d := gWait(t, alice, func(d *DataExtraction) bool { return d.Kind == MediaSaved }); !d.Timestamp.Equal(m.Timestamp) {
		t.Fatalf("media saved %+v, message at %v", d, m.Timestamp)
	}

	// Call signalling: a call offered and declined.
	const uuid = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	steps := []CallSignal{
		{Kind: CallPreOffer, UUID: uuid},
		{Kind: CallOffer, UUID: uuid, SDPs: []string{"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"}},
		{Kind: CallICECandidates, UUID: uuid, SDPs: []string{"candidate:1 1 UDP 1 127.0.0.1 5000 typ host"}, SDPMLineIndexes: []uint32{0}, SDPMids: []string{"0"}},
	}
	for _, s := range steps {
		if err := alice.SendCall(ctx, bob.AccountID(), s); err != nil {
			t.Fatal(err)
		}
	}
	ice := gWait(t, bob, func(c *Call) bool { return c.Kind == CallICECandidates })
	if ice.UUID != uuid || len(ice.SDPs) != 1 || ice.SDPMids[0] != "0" || gCount(bob, func(c *Call) bool { return c.UUID == uuid }) != 3 {
		t.Fatalf("call events %s", bob.rec)
	}
	if err := bob.EndCall(ctx, alice.AccountID(), uuid); err != nil {
		t.Fatal(err)
	}
	gWait(t, alice, func(c *Call) bool { return c.Kind == CallEnd && c.UUID == uuid })
	if err := alice.SendCall(ctx, bob.AccountID(), CallSignal{Kind: CallOffer, UUID: uuid, SDPs: make([]string, MaxCallSDPs+1)}); !errors.Is(err, ErrInvalidContent) {
		t.Errorf("absurd call sent: %v", err)
	}
	h = storeRaw(t, alice.Client, bob.Client, &pb.Content{CallMessage: &pb.CallMessage{Type: pb.CallMessage_OFFER.Enum(),
		Uuid: proto.String(uuid), Sdps: []string{strings.Repeat("x", MaxCallSDP+1)}}})
	if u := gWait(t, bob, func(u *UndecryptableMessage) bool { return u.Hash == h }); !errors.Is(u.Err, ErrInvalidContent) {
		t.Fatalf("absurd call received: %v", u.Err)
	}

	// Custom content: sent with SendContent, received whole as UnknownContent; Pro fields kept.
	custom := &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String("pro text")},
		ProMessage: &pb.ProMessage{ProfileBitset: proto.Uint64(1), MsgBitset: proto.Uint64(2), Proof: &pb.ProProof{ExpiryUnixTs: proto.Uint64(1900000000000)}}}
	if _, err := alice.SendContent(ctx, bob.AccountID(), custom); err != nil {
		t.Fatal(err)
	}
	pm := gWait(t, bob, func(m *Message) bool { return m.Text == "pro text" })
	if pm.Pro == nil || pm.Pro.Profile != 1 || pm.Pro.Message != 2 || !pm.Pro.ProofExpiry.Equal(time.UnixMilli(1900000000000)) {
		t.Fatalf("pro %+v", pm.Pro)
	}
	odd := &pb.Content{}
	odd.ProtoReflect().SetUnknown([]byte{0xa2, 0x06, 0x02, 0x08, 0x01}) // field 100: a future content type
	oh, err := alice.SendContent(ctx, bob.AccountID(), odd)
	if err != nil {
		t.Fatal(err)
	}
	uc := gWait(t, bob, func(u *UnknownContent) bool { return u.Hash == oh.Hash })
	if uc.Content == nil || !bytes.Equal(uc.Content.ProtoReflect().GetUnknown(), []byte{0xa2, 0x06, 0x02, 0x08, 0x01}) {
		t.Fatalf("unknown content %v", uc.Content)
	}
	if _, err := alice.SendContent(ctx, bob.AccountID(), &pb.Content{DataMessage: &pb.DataMessage{Flags: proto.Uint32(3)}}); !errors.Is(err, ErrInvalidContent) {
		t.Errorf("flags 3: %v", err)
	}
}

func TestGroupVocabulary(t *testing.T) {
	t.Parallel()
	vn := startVocabNet(t)
	ctx := context.Background()
	admin := gNewPeer(t, vn.cfg, "Admin")
	member := gNewPeer(t, vn.cfg, "Member")
	other := gNewPeer(t, vn.cfg, "Other")
	g, err := admin.CreateGroup(ctx, "Vocab", member.AccountID(), other.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gJoin(t, member, g.ID, admin.AccountID(), "Vocab")
	gJoin(t, other, g.ID, admin.AccountID(), "Vocab")

	// Reactions in a group, both ways.
	hello, err := admin.SendGroupText(ctx, g.ID, "hello group")
	if err != nil {
		t.Fatal(err)
	}
	gWait(t, member, gText(g.ID, admin.AccountID(), "hello group"))
	if _, err := member.React(ctx, g.ID, hello.Ref, "🎉"); err != nil {
		t.Fatal(err)
	}
	if r := gWait(t, admin, func(r *Reaction) bool { return r.Group == g.ID }); r.From != member.AccountID() || r.Target != hello.Ref || r.Emoji != "🎉" || r.Removed {
		t.Fatalf("group reaction %+v", r)
	}
	if _, err := member.RemoveReaction(ctx, g.ID, hello.Ref, "🎉"); err != nil {
		t.Fatal(err)
	}
	gWait(t, other, func(r *Reaction) bool { return r.Group == g.ID && r.Removed })

	// A member unsends its own message; an admin deletes someone else's.
	mine, err := member.SendGroupText(ctx, g.ID, "oops")
	if err != nil {
		t.Fatal(err)
	}
	gWait(t, other, gText(g.ID, member.AccountID(), "oops"))
	if err := member.Unsend(ctx, g.ID, mine.Ref); err != nil {
		t.Fatal(err)
	}
	del := gWait(t, other, func(d *GroupMessagesDeleted) bool { return d.By == member.AccountID() })
	if del.Admin || len(del.Hashes) != 1 || del.Hashes[0] != mine.Hash || len(del.Members) != 0 {
		t.Fatalf("member's deletion %+v", del)
	}
	spam, err := other.SendGroupText(ctx, g.ID, "spam")
	if err != nil {
		t.Fatal(err)
	}
	gWait(t, member, gText(g.ID, other.AccountID(), "spam"))
	if err := member.DeleteGroupMessages(ctx, g.ID, []string{spam.Hash}); !errors.Is(err, ErrNotGroupAdmin) {
		t.Fatalf("member deleting others: %v", err)
	}
	if err := admin.DeleteGroupMessages(ctx, g.ID, []string{spam.Hash}, other.AccountID()); err != nil {
		t.Fatal(err)
	}
	adel := gWait(t, member, func(d *GroupMessagesDeleted) bool { return d.By == admin.AccountID() })
	if !adel.Admin || adel.Hashes[0] != spam.Hash || len(adel.Members) != 1 || adel.Members[0] != other.AccountID() {
		t.Fatalf("admin deletion %+v", adel)
	}
	if exp, err := admin.net.rpc.GetExpiries(ctx, mustGroupSigner(t, admin, g.ID), swarm.GetExpiriesRequest{Hashes: []string{spam.Hash}}); err != nil || !exp[spam.Hash].IsZero() {
		t.Fatalf("spam still in the swarm: %v %v", exp, err)
	}

	// The group picture.
	pic := []byte("group picture bytes")
	if err := admin.SetGroupPicture(ctx, g.ID, pic); err != nil {
		t.Fatal(err)
	}
	up := gWait(t, member, func(u *GroupUpdated) bool { return u.Group.ID == g.ID && u.Group.PictureURL != "" })
	if b, err := member.Network().DownloadGroupPicture(ctx, up.Group); err != nil || !bytes.Equal(b, pic) {
		t.Fatalf("group picture: %q %v", b, err)
	}
	gWait(t, member, func(c *GroupInfoChange) bool { return c.Group == g.ID && c.By == admin.AccountID() })

	// Disappearing messages in the group: set by the admin, applied by members.
	das := Expiry{Mode: ExpiryAfterSend, Timer: 90 * time.Second}
	if err := member.SetDisappearing(ctx, g.ID, das); !errors.Is(err, ErrNotGroupAdmin) {
		t.Fatalf("member setting the timer: %v", err)
	}
	if err := admin.SetDisappearing(ctx, g.ID, Expiry{Mode: ExpiryAfterRead, Timer: time.Minute}); !errors.Is(err, ErrInvalidExpiry) {
		t.Fatalf("after-read in a group: %v", err)
	}
	if err := admin.SetDisappearing(ctx, g.ID, das); err != nil {
		t.Fatal(err)
	}
	if dc := gWait(t, member, func(e *DisappearingChanged) bool { return e.Conversation == g.ID }); dc.Expiry != das {
		t.Fatalf("group change %+v", dc)
	}
	if e, _ := member.Disappearing(ctx, g.ID); e != das {
		t.Fatalf("member's view %+v", e)
	}
	vanish, err := member.SendGroupText(ctx, g.ID, "vanishing")
	if err != nil {
		t.Fatal(err)
	}
	vm := gWait(t, other, gText(g.ID, member.AccountID(), "vanishing"))
	if vm.Expiry == nil || *vm.Expiry != das || !vm.ExpiresAt.Equal(vanish.Timestamp.Add(das.Timer)) {
		t.Fatalf("group message expiry %+v %v", vm.Expiry, vm.ExpiresAt)
	}
	// A timer update from a member who is not an admin is reported and ignored.
	st, err := member.loadJoinedGroup(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	forged := &pb.Content{DataMessage: &pb.DataMessage{Flags: proto.Uint32(2)}, ExpirationType: pb.Content_DELETE_AFTER_SEND.Enum(), ExpirationTimer: proto.Uint32(1)}
	fres, err := member.sendGroupContent(ctx, st, forged, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if u := gWait(t, other, func(u *UndecryptableGroupMessage) bool { return u.Hash == fres.Hash }); !errors.Is(u.Err, ErrNotInConversation) {
		t.Fatalf("member's timer update: %v", u.Err)
	}
	if e, _ := other.Disappearing(ctx, g.ID); e != das {
		t.Fatalf("setting after a forged update %+v", e)
	}

	// Clearing the history: messages from before it are no longer delivered.
	old, err := admin.SendGroupText(ctx, g.ID, "before the clear")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.ClearGroupHistory(ctx, g.ID, time.Now().Add(time.Hour), false); !errors.Is(err, ErrInvalidGroupUpdate) {
		t.Fatalf("clearing the history an hour ahead: %v", err)
	}
	if err := admin.ClearGroupHistory(ctx, g.ID, old.Timestamp.Add(time.Second), false); err != nil {
		t.Fatal(err)
	}
	hc := gWait(t, other, func(e *GroupHistoryCleared) bool { return e.Group == g.ID })
	if hc.AttachmentsOnly || !hc.Before.Equal(old.Timestamp.Add(time.Second).Truncate(time.Second)) {
		t.Fatalf("cleared %+v", hc)
	}
	if n := gCount(other, gText(g.ID, admin.AccountID(), "before the clear")); n != 0 {
		t.Fatal("a message from before the clear was delivered")
	}
	if gs, _ := other.Group(ctx, g.ID); !gs.DeleteBefore.Equal(hc.Before) {
		t.Fatalf("snapshot delete-before %v", gs.DeleteBefore)
	}

	// Declining an invitation: the group is forgotten, and a new invitation works.
	late := gNewPeer(t, vn.cfg, "Late")
	if err := admin.InviteToGroup(ctx, g.ID, late.AccountID()); err != nil {
		t.Fatal(err)
	}
	gWait(t, late, func(e *GroupInvite) bool { return e.Group == g.ID })
	if err := late.LeaveGroup(ctx, g.ID); err != nil {
		t.Fatal(err)
	}
	if gs, _ := late.Groups(ctx); len(gs) != 0 {
		t.Fatalf("declined group still listed: %+v", gs)
	}
	if _, err := late.SendGroupText(ctx, g.ID, "x"); !errors.Is(err, ErrUnknownGroup) {
		t.Fatalf("sending to a declined group: %v", err)
	}
	if err := admin.InviteToGroup(ctx, g.ID, late.AccountID()); err != nil {
		t.Fatal(err)
	}
	WaitUntil(t, 30*time.Second, late.PollOnce, func() bool {
		return gCount(late, func(e *GroupInvite) bool { return e.Group == g.ID }) >= 2
	})
	if gs, err := late.Group(ctx, g.ID); err != nil || gs.Status != GroupStatusInvited {
		t.Fatalf("re-invited group %+v %v", gs, err)
	}
}

func mustGroupSigner(t *testing.T, c *gPeer, gid crypto.AccountID) swarm.Signer {
	t.Helper()
	st, err := c.loadGroup(context.Background(), gid)
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.groupSigner(st)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestCommunityEditAndPreviews(t *testing.T) {
	t.Parallel()
	vn := startVocabNet(t)
	ctx := context.Background()
	alice := gNewPeer(t, vn.cfg, "Alice")
	bob := gNewPeer(t, vn.cfg, "Bob")
	url := vn.sogs.JoinURL("lobby")
	for _, c := range []*gPeer{alice, bob} {
		if _, err := c.JoinCommunity(ctx, url); err != nil {
			t.Fatal(err)
		}
	}
	img := []byte("room preview image")
	posted, err := alice.SendCommunityMessage(ctx, url, "see https://getsession.org/x", WithLinkPreview(LinkPreview{
		URL: "https://getsession.org/x", Title: "X", Image: &AttachmentFile{Data: bytes.NewReader(img), FileName: "x.png"}}))
	if err != nil {
		t.Fatal(err)
	}
	poll := func(ctx context.Context) error {
		if err := bob.PollCommunities(ctx); err != nil {
			t.Fatal(err)
		}
		return nil
	}
	waitRoom := func(ok func(*CommunityMessage) bool) *CommunityMessage {
		t.Helper()
		return WaitEvent(t, bob.rec, poll, ok)
	}
	m := waitRoom(func(m *CommunityMessage) bool { return m.ID == posted.ID })
	if len(m.Previews) != 1 || m.Previews[0].Title != "X" || m.Previews[0].ReceivedImage == nil {
		t.Fatalf("community previews %+v", m.Previews)
	}
	var got bytes.Buffer
	if _, err := m.Previews[0].ReceivedImage.Download(ctx, &got); err != nil || !bytes.Equal(got.Bytes(), img) {
		t.Fatalf("room preview image: %v", err)
	}
	if err := alice.EditCommunityMessage(ctx, url, posted.ID, "edited text"); err != nil {
		t.Fatal(err)
	}
	e := waitRoom(func(m *CommunityMessage) bool { return m.ID == posted.ID && m.Text == "edited text" })
	if e.Edited.IsZero() || e.From != m.From {
		t.Fatalf("edited %+v", e)
	}
	if err := bob.EditCommunityMessage(ctx, url, posted.ID, "not mine"); err == nil {
		t.Fatal("edited someone else's post")
	}

	// A blinded DM carries its quote and previews too (the image on the file server).
	bobBlinded, err := vn.sogs.BlindedID(bob.Keys())
	if err != nil {
		t.Fatal(err)
	}
	dmImg := []byte("dm preview image")
	quoted := MessageRef{Timestamp: posted.Posted, Author: m.From}
	if _, err := alice.SendCommunityDM(ctx, url, bobBlinded, "read https://getsession.org/y", WithQuote(quoted),
		WithLinkPreview(LinkPreview{URL: "https://getsession.org/y", Title: "Y", Image: &AttachmentFile{Data: bytes.NewReader(dmImg), FileName: "y.png"}})); err != nil {
		t.Fatal(err)
	}
	dm := WaitEvent(t, bob.rec, poll, func(d *CommunityDM) bool { return !d.Outgoing && d.Text == "read https://getsession.org/y" })
	if dm.Quote == nil || *dm.Quote != quoted || len(dm.Previews) != 1 || dm.Previews[0].Title != "Y" || dm.Previews[0].ReceivedImage == nil {
		t.Fatalf("community DM quote %+v previews %+v", dm.Quote, dm.Previews)
	}
	got.Reset()
	if _, err := dm.Previews[0].ReceivedImage.Download(ctx, &got); err != nil || !bytes.Equal(got.Bytes(), dmImg) {
		t.Fatalf("DM preview image: %v", err)
	}
}

// What the Client sends follows desktop's field rules (CheckContent), and malformed content is
// refused before anything is sent.
func TestCheckContent(t *testing.T) {
	ok := []*pb.Content{
		{DataMessage: &pb.DataMessage{Body: proto.String("x")}},
		{DataMessage: &pb.DataMessage{Flags: proto.Uint32(2)}, ExpirationType: pb.Content_DELETE_AFTER_SEND.Enum(), ExpirationTimer: proto.Uint32(60)},
		{DataMessage: &pb.DataMessage{Flags: proto.Uint32(2)}, ExpirationType: pb.Content_UNKNOWN.Enum(), ExpirationTimer: proto.Uint32(0)},
		{CallMessage: &pb.CallMessage{Type: pb.CallMessage_END_CALL.Enum(), Uuid: proto.String("u")}},
	}
	for i, c := range ok {
		if err := CheckContent(c); err != nil {
			t.Errorf("ok %d: %v", i, err)
		}
	}
	many := make([]*pb.AttachmentPointer, MaxAttachments+1)
	for i := range many {
		many[i] = &pb.AttachmentPointer{Id: proto.Uint64(1)}
	}
	bad := []*pb.Content{
		nil,
		{DataMessage: &pb.DataMessage{Flags: proto.Uint32(1)}},
		{DataMessage: &pb.DataMessage{Attachments: many}},
		{DataMessage: &pb.DataMessage{Attachments: []*pb.AttachmentPointer{{}}}},          // required id missing
		{TypingMessage: &pb.TypingMessage{Timestamp: proto.Uint64(1)}},                    // required action missing
		{DataMessage: &pb.DataMessage{Quote: &pb.DataMessage_Quote{Id: proto.Uint64(1)}}}, // required author missing
		{DataMessage: &pb.DataMessage{Preview: []*pb.DataMessage_Preview{{Url: proto.String("http://x.org/")}}}},
		{DataMessage: &pb.DataMessage{CommunityInvitation: &pb.DataMessage_CommunityInvitation{Url: proto.String("nope"), Name: proto.String("n")}}},
		{CallMessage: &pb.CallMessage{Type: pb.CallMessage_OFFER.Enum(), Uuid: proto.String("u")}}, // an offer without SDP
		{DataMessage: &pb.DataMessage{Body: proto.String("x")}, ExpirationType: pb.Content_DELETE_AFTER_READ.Enum()},
		{DataMessage: &pb.DataMessage{Body: proto.String("x")}, ExpirationType: pb.Content_ExpirationType(9).Enum(), ExpirationTimer: proto.Uint32(5)},
	}
	for i, c := range bad {
		if err := CheckContent(c); err == nil {
			t.Errorf("bad %d accepted: %v", i, c)
		}
	}
}

// Group envelopes carry the decoy proSig too (inside the group encryption).
func TestGroupEnvelopeProSig(t *testing.T) {
	t.Parallel()
	cfg := gDevnet(t)
	ctx := context.Background()
	admin := gNewPeer(t, cfg, "Admin")
	g, err := admin.CreateGroup(ctx, "pro")
	if err != nil {
		t.Fatal(err)
	}
	res, err := admin.SendGroupText(ctx, g.ID, "x")
	if err != nil {
		t.Fatal(err)
	}
	st, err := admin.loadGroup(ctx, g.ID)
	if err != nil {
		t.Fatal(err)
	}
	out, err := admin.net.rpc.Retrieve(ctx, mustGroupSigner(t, admin, g.ID), swarm.RetrieveRequest{Namespace: swarm.NamespaceGroupMessages})
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range out.Messages {
		if msg.Hash != res.Hash {
			continue
		}
		dec, err := st.keys.DecryptMessage(msg.Data)
		if err != nil {
			t.Fatal(err)
		}
		var env pb.Envelope
		if err := proto.Unmarshal(dec.Plaintext, &env); err != nil {
			t.Fatal(err)
		}
		if len(env.GetProSig()) != ProSigSize {
			t.Fatalf("group envelope proSig of %d bytes", len(env.GetProSig()))
		}
		return
	}
	t.Fatal("group message not found")
}
