package session

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/groups"
	"github.com/sessiongo/sdk/onion"
)

// The account's configs end to end on devnet, through onion paths: linked devices of one
// account, a device restored from the Recovery Password, blocks, groups and communities.

type syncNet struct {
	dn   *devnet.Network
	cfg  NetworkConfig
	sogs *sogsd.Server
}

func startSyncNet(t testing.TB) syncNet {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dn, err := devnet.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dn.Close() })
	s, err := sogsd.Start(context.Background(), sogsd.WithNetwork(dn))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.CreateRoom(sogsd.RoomConfig{Token: "lobby", Name: "Lobby"}); err != nil {
		t.Fatal(err)
	}
	return syncNet{dn: dn, cfg: NetworkConfig{Seeds: []string{dn.SeedURL()}, SeedRootCAs: dn.CertPool(), PathDiversity: onion.DistinctNodes}, sogs: s}
}

func newWords(t testing.TB) string {
	t.Helper()
	var seed [crypto.SessionSeedSize]byte
	if _, err := rand.Read(seed[:]); err != nil {
		t.Fatal(err)
	}
	return crypto.EncodeMnemonic(seed)
}

// runPeer runs p's Run until the test ends.
func runPeer(t testing.TB, p *gPeer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := p.Run(ctx); err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// accountState is what a device knows of the account, for comparison.
type accountState struct {
	Blocked   []crypto.AccountID
	Approved  []crypto.AccountID
	Groups    []string
	Rooms     []string
	ReadBob   time.Time
	ReadCarol time.Time
	Configs   [4][32]byte
}

func stateOf(t testing.TB, p *gPeer, bob, carol crypto.AccountID) accountState {
	t.Helper()
	ctx := context.Background()
	var s accountState
	var err error
	if s.Blocked, err = p.Blocked(ctx); err != nil {
		t.Fatal(err)
	}
	cs, _ := p.Contacts(ctx)
	for _, c := range cs {
		if c.Approved {
			s.Approved = append(s.Approved, c.ID)
		}
	}
	gs, _ := p.Groups(ctx)
	for _, g := range gs {
		s.Groups = append(s.Groups, fmt.Sprintf("%s %s %v admin=%v", g.ID, g.Name, g.Status, g.Admin))
	}
	slices.Sort(s.Groups)
	s.Rooms, _ = p.Communities(ctx)
	s.ReadBob, _, _, _ = p.ReadPosition(ctx, Conversation{ID: bob})
	s.ReadCarol, _, _, _ = p.ReadPosition(ctx, Conversation{ID: carol})
	p.usync.mu.Lock()
	for i, d := range groups.UserDomains {
		if p.usync.loaded {
			s.Configs[i] = p.usync.cfgs[d].Hash()
		}
	}
	p.usync.mu.Unlock()
	return s
}

func TestLinkedDevicesSync(t *testing.T) {
	sn := startSyncNet(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	const poll = 2 * time.Second
	words := newWords(t)
	device := func(name string) *gPeer {
		return gNewPeer(t, sn.cfg, name, WithRecoveryPassword(words), WithPollInterval(poll),
			WithConfigPushDelay(50*time.Millisecond), WithCommunityAutoJoin(true))
	}
	a, b := device("Bot"), device("Bot")
	if a.AccountID() != b.AccountID() {
		t.Fatal("two accounts")
	}
	bob, carol := gNewPeer(t, sn.cfg, "Bob"), gNewPeer(t, sn.cfg, "Carol")
	mallory, eve := gNewPeer(t, sn.cfg, "Mallory"), gNewPeer(t, sn.cfg, "Eve")
	room := sn.sogs.JoinURL("lobby")
	runPeer(t, a)
	runPeer(t, b)

	// Both devices change the account at the same time.
	readBob, readCarol := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli()), time.UnixMilli(time.Now().Add(-time.Minute).UnixMilli())
	var ga, gb *Group
	var wg sync.WaitGroup
	fail := make(chan error, 16)
	try := func(err error) {
		if err != nil {
			fail <- err
		}
	}
	wg.Add(2)
	go func() {
		defer wg.Done()
		try(a.Block(ctx, mallory.AccountID()))
		_, err := a.SendText(ctx, bob.AccountID(), "hi bob")
		try(err)
		ga, err = a.CreateGroup(ctx, "A's group", bob.AccountID())
		try(err)
		_, err = a.JoinCommunity(ctx, room)
		try(err)
		try(a.MarkConversationRead(ctx, Conversation{ID: bob.AccountID()}, readBob))
	}()
	go func() {
		defer wg.Done()
		try(b.Block(ctx, eve.AccountID()))
		_, err := b.SendText(ctx, carol.AccountID(), "hi carol")
		try(err)
		gb, err = b.CreateGroup(ctx, "B's group")
		try(err)
		try(b.MarkConversationRead(ctx, Conversation{ID: carol.AccountID()}, readCarol))
	}()
	wg.Wait()
	close(fail)
	for err := range fail {
		t.Fatal(err)
	}
	changed := time.Now()

	want := func(s accountState) bool {
		return len(s.Blocked) == 2 && len(s.Approved) == 2 && len(s.Groups) == 2 && len(s.Rooms) == 1 &&
			s.ReadBob.Equal(readBob) && s.ReadCarol.Equal(readCarol)
	}
	var sa, sb accountState
	for {
		sa, sb = stateOf(t, a, bob.AccountID(), carol.AccountID()), stateOf(t, b, bob.AccountID(), carol.AccountID())
		if want(sa) && fmt.Sprint(sa) == fmt.Sprint(sb) {
			break
		}
		// Two poll intervals (±10 % jitter), the push delays and the round trips of one poll.
		if time.Since(changed) > 2*poll+poll/5+3*time.Second {
			t.Fatalf("no convergence after %v:\n A %+v\n B %+v\nA events %s\nB events %s", time.Since(changed), sa, sb, gDump(a.rec.all()), gDump(b.rec.all()))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("converged %v after the changes (poll interval %v)", time.Since(changed).Round(time.Millisecond), poll)
	for _, s := range []accountState{sa, sb} {
		if !slices.Contains(s.Blocked, mallory.AccountID()) || !slices.Contains(s.Blocked, eve.AccountID()) ||
			!slices.Contains(s.Approved, bob.AccountID()) || !slices.Contains(s.Approved, carol.AccountID()) || s.Rooms[0] != room {
			t.Fatalf("state %+v", s)
		}
	}
	// Each device reported the other's changes.
	for _, w := range []struct {
		p     *gPeer
		group crypto.AccountID
	}{{a, gb.ID}, {b, ga.ID}} {
		if gCount(w.p, func(e *SyncedGroup) bool { return e.Group == w.group && e.Admin && e.Status == GroupStatusJoined }) == 0 {
			t.Fatalf("no SyncedGroup for %s: %s", w.group, gDump(w.p.rec.all()))
		}
	}
	if gCount(b, func(e *SyncedCommunity) bool { return e.URL == room && e.Joined && !e.Removed }) == 0 {
		t.Fatalf("B did not follow A into the room: %s", gDump(b.rec.all()))
	}
	if gCount(a, func(e *SyncedContact) bool { return e.Contact.ID == eve.AccountID() && e.Contact.Blocked }) == 0 ||
		gCount(a, func(e *SyncedRead) bool { return e.Conversation.ID == carol.AccountID() && e.LastRead.Equal(readCarol) }) == 0 {
		t.Fatalf("A events: %s", gDump(a.rec.all()))
	}

	// Blocked senders are dropped on both devices; Bob gets through.
	if _, err := mallory.SendText(ctx, a.AccountID(), "buy now"); err != nil {
		t.Fatal(err)
	}
	if _, err := eve.SendText(ctx, a.AccountID(), "click here"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SendText(ctx, a.AccountID(), "hello bot"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*gPeer{a, b} {
		waitEvent(t, p, func(e *Message) bool { return e.From == bob.AccountID() && e.Text == "hello bot" && !e.Request })
		waitEvent(t, p, func(e *MessageDropped) bool { return e.From == mallory.AccountID() })
		waitEvent(t, p, func(e *MessageDropped) bool { return e.From == eve.AccountID() })
		if n := gCount(p, func(e *Message) bool { return e.From == mallory.AccountID() || e.From == eve.AccountID() }) +
			gCount(p, func(e *MessageRequest) bool { return e.From == mallory.AccountID() || e.From == eve.AccountID() }); n != 0 {
			t.Fatalf("%d messages from blocked senders delivered", n)
		}
	}

	// The group A created is polled by B: a message from Bob in it reaches B.
	gJoin(t, bob, ga.ID, a.AccountID(), "A's group")
	if _, err := bob.SendGroupText(ctx, ga.ID, "hi group"); err != nil {
		t.Fatal(err)
	}
	waitEvent(t, b, gText(ga.ID, bob.AccountID(), "hi group"))

	// A third device restored from the Recovery Password on an empty store sees all of it.
	c := gNewPeer(t, sn.cfg, "Bot", WithRecoveryPassword(words), WithCommunityAutoJoin(true))
	for i := 0; i < 3; i++ {
		if err := c.PollOnce(ctx); err != nil {
			t.Logf("restored device poll: %v", err)
		}
	}
	sc := stateOf(t, c, bob.AccountID(), carol.AccountID())
	sa = stateOf(t, a, bob.AccountID(), carol.AccountID())
	sc.Configs, sa.Configs = [4][32]byte{}, [4][32]byte{} // the restored device may still have a merge to push
	if fmt.Sprint(sc) != fmt.Sprint(sa) {
		t.Fatalf("restored device:\n %+v\nwant\n %+v\nevents %s", sc, sa, gDump(c.rec.all()))
	}
	waitEvent(t, c, gText(ga.ID, bob.AccountID(), "hi group"))
	waitEvent(t, c, func(e *MessageDropped) bool { return e.From == mallory.AccountID() })
	if gCount(c, func(e *Message) bool { return e.From == mallory.AccountID() }) != 0 {
		t.Fatal("the restored device delivered a blocked sender's message")
	}

	// Unblocking on one device reaches the other.
	if err := b.Unblock(ctx, eve.AccountID()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 2*poll+3*time.Second, func() bool {
		bl, _ := a.Blocked(ctx)
		return len(bl) == 1 && bl[0] == mallory.AccountID()
	})
}

// waitEvent waits (while Run polls, or polling itself otherwise) for an event.
func waitEvent[T any](t testing.TB, p *gPeer, ok func(T) bool) T {
	t.Helper()
	if p.running.Load() {
		var got T
		waitFor(t, 30*time.Second, func() bool {
			for _, e := range p.rec.all() {
				if v, is := e.(T); is && (ok == nil || ok(v)) {
					got = v
					return true
				}
			}
			return false
		})
		return got
	}
	return gWait(t, p, ok)
}

func waitFor(t testing.TB, d time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v", d)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
