package session_test

import (
	"context"
	"go/doc"
	"go/parser"
	"go/token"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/session"
)

// Item 9: `go doc ./session` opens on the Client, with an example that runs it.
func TestPackageDocOpensOnClient(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	text := f.Doc.Text()
	if syn := new(doc.Package).Synopsis(text); !strings.Contains(syn, "Client") {
		t.Errorf("the package synopsis does not name the Client: %q", syn)
	}
	for _, want := range []string{"session.NewClient(", "AddEventHandler(func(evt session.Event)", "if err := client.Run(ctx); err != nil"} {
		if !strings.Contains(text, want) {
			t.Errorf("package doc lacks %q", want)
		}
	}
	if i, j := strings.Index(text, "Client"), strings.Index(text, "Seal"); i < 0 || j < i {
		t.Error("the package doc speaks of Seal before the Client")
	}
}

// Item 9: CommunityMessage.Ref quotes a community message the way it comes back in the reply.
func TestCommunityMessageRef(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dn := devnettest.Start(t)
	_, room := session.StartLobby(t, dn)
	alice, ar := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	bob, brec := session.NewTestClient(t, session.WithNetworkConfig(session.NetConfig(dn, false)))
	for _, c := range []*session.Client{alice, bob} {
		if _, err := c.JoinCommunity(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := alice.SendCommunityMessage(ctx, room, "question"); err != nil {
		t.Fatal(err)
	}
	q := session.WaitEvent[*session.CommunityMessage](t, brec, bob.PollCommunities, func(m *session.CommunityMessage) bool { return m.Text == "question" })
	ref := q.Ref()
	if ref.Author != q.From || ref.Timestamp.UnixMilli() != q.Posted.UnixMilli() || ref.Timestamp.Nanosecond()%1e6 != 0 {
		t.Fatalf("ref %+v of %+v", ref, q)
	}
	if _, err := bob.SendCommunityMessage(ctx, room, "answer", session.WithQuote(ref)); err != nil {
		t.Fatal(err)
	}
	a := session.WaitEvent[*session.CommunityMessage](t, ar, alice.PollCommunities, func(m *session.CommunityMessage) bool { return m.Text == "answer" })
	if a.Quote == nil || *a.Quote != ref {
		t.Fatalf("quote %+v, want %+v", a.Quote, ref)
	}
}
