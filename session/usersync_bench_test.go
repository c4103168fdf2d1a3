package session

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/sessiongo/sdk/groups"
)

// BenchmarkStartupPullConfigs measures a Client's start-up with the account's configs: a new
// device of an account (empty store) pulls and merges the four configs in its first poll,
// through onion paths on devnet. The account has a profile, 200 contacts, 200 read positions
// and 20 community rooms.
func BenchmarkStartupPullConfigs(b *testing.B) {
	sn := startSyncNet(b)
	ctx := context.Background()
	words := newWords(b)
	src := gNewPeer(b, sn.cfg, "Bot", WithRecoveryPassword(words))
	now := time.Now()
	for i := 0; i < 200; i++ {
		id := a2(b)
		if err := src.noteContact(ctx, id, func(c *groups.Contact) { c.Approved, c.Name = true, fmt.Sprint("contact ", i) }); err != nil {
			b.Fatal(err)
		}
		if err := src.MarkConversationRead(ctx, Conversation{ID: id}, now.Add(-time.Duration(i)*time.Minute)); err != nil {
			b.Fatal(err)
		}
	}
	if err := src.updateConfig(ctx, groups.DomainUserGroups, func(d groups.Dict) error {
		for i := 0; i < 20; i++ {
			if err := groups.SetCommunity(d, groups.UserCommunity{BaseURL: "https://example.org", Room: fmt.Sprint("room", i), PubKey: [32]byte{1}}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	if err := src.SyncConfigs(ctx); err != nil {
		b.Fatal(err)
	}
	want := len(mustContacts(b, src))
	// The network (node pool, onion paths) is shared, as a restarted bot's would be warm.
	shared, err := NewNetwork(sn.cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { shared.Close() })
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := gNewPeer(b, sn.cfg, "", WithRecoveryPassword(words), WithNetwork(shared))
		if err := p.PollOnce(ctx); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got := len(mustContacts(b, p)); got != want {
			b.Fatalf("%d contacts pulled, want %d", got, want)
		}
		p.Close()
		b.StartTimer()
	}
}

func mustContacts(b testing.TB, p *gPeer) []Contact {
	cs, err := p.Contacts(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return cs
}
