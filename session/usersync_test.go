package session

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/groups"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
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
	dn := devnettest.Start(t)
	s, _ := StartLobby(t, dn)
	return syncNet{dn: dn, cfg: NetConfig(dn, false), sogs: s}
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
	Name      string
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
	s.Name = p.Profile().DisplayName
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
	withConfigs(t, p.Client, func(u *userSync) {
		for i, d := range groups.UserDomains {
			s.Configs[i] = u.cfgs[d].Hash()
		}
	})
	return s
}

// withConfigs runs f on c's configs, loaded (they are dropped while idle), under their lock.
func withConfigs(t testing.TB, c *Client, f func(s *userSync)) {
	t.Helper()
	c.usync.mu.Lock()
	defer c.usync.mu.Unlock()
	if err := c.loadConfigsLocked(context.Background()); err != nil {
		t.Fatal(err)
	}
	f(&c.usync)
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
		try(a.SetDisplayName(ctx, "Bot A"))
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
		return s.Name == "Bot A" && len(s.Blocked) == 2 && len(s.Approved) == 2 && len(s.Groups) == 2 && len(s.Rooms) == 1 &&
			s.ReadBob.Equal(readBob) && s.ReadCarol.Equal(readCarol)
	}
	var sa, sb accountState
	for {
		sa, sb = stateOf(t, a, bob.AccountID(), carol.AccountID()), stateOf(t, b, bob.AccountID(), carol.AccountID())
		if want(sa) && fmt.Sprint(sa) == fmt.Sprint(sb) {
			break
		}
		// Two poll intervals (±10 % jitter), the push delays and the round trips of one poll
		// (those several times longer under the race detector).
		slack := 3 * time.Second
		if raceEnabled {
			slack = 15 * time.Second
		}
		if time.Since(changed) > 2*poll+poll/5+slack {
			t.Fatalf("no convergence after %v:\n A %+v\n B %+v\nA events %s\nB events %s", time.Since(changed), sa, sb, a.rec, b.rec)
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
			t.Fatalf("no SyncedGroup for %s: %s", w.group, w.p.rec)
		}
	}
	if gCount(b, func(e *SyncedCommunity) bool { return e.URL == room && e.Joined && !e.Removed }) == 0 {
		t.Fatalf("B did not follow A into the room: %s", b.rec)
	}
	if gCount(a, func(e *SyncedContact) bool { return e.Contact.ID == eve.AccountID() && e.Contact.Blocked }) == 0 ||
		gCount(a, func(e *SyncedRead) bool { return e.Conversation.ID == carol.AccountID() && e.LastRead.Equal(readCarol) }) == 0 {
		t.Fatalf("A events: %s", a.rec)
	}

	// B took A's new name and sends it, newer than the one it sent before.
	if e := gWait(t, b, func(e *SyncedProfile) bool { return e.Profile.DisplayName == "Bot A" }); e.Profile.UpdatedAt.IsZero() {
		t.Fatalf("synced profile %+v", e.Profile)
	}
	before := b.Profile().UpdatedAt
	if _, err := b.SendText(ctx, bob.AccountID(), "from B"); err != nil {
		t.Fatal(err)
	}
	m := gWait(t, bob, func(e *Message) bool { return e.Text == "from B" })
	if m.Profile == nil || m.Profile.DisplayName != "Bot A" || !m.Profile.UpdatedAt.Equal(before) {
		t.Fatalf("B's message carries %+v", m.Profile)
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
	hello := gWait(t, a, func(e *Message) bool { return e.From == bob.AccountID() && e.Text == "hello bot" })
	// Marking it read on A moves the read position on B.
	if err := a.MarkRead(ctx, bob.AccountID(), hello.Ref()); err != nil {
		t.Fatal(err)
	}
	gWait(t, b, func(e *SyncedRead) bool {
		return e.Conversation.ID == bob.AccountID() && e.LastRead.Equal(hello.Timestamp)
	})
	for _, p := range []*gPeer{a, b} {
		gWait(t, p, func(e *Message) bool { return e.From == bob.AccountID() && e.Text == "hello bot" && !e.Request })
		gWait(t, p, func(e *MessageDropped) bool { return e.From == mallory.AccountID() })
		gWait(t, p, func(e *MessageDropped) bool { return e.From == eve.AccountID() })
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
	gWait(t, b, gText(ga.ID, bob.AccountID(), "hi group"))

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
		t.Fatalf("restored device:\n %+v\nwant\n %+v\nevents %s", sc, sa, c.rec)
	}
	gWait(t, c, gText(ga.ID, bob.AccountID(), "hi group"))
	gWait(t, c, func(e *MessageDropped) bool { return e.From == mallory.AccountID() })
	if gCount(c, func(e *Message) bool { return e.From == mallory.AccountID() }) != 0 {
		t.Fatal("the restored device delivered a blocked sender's message")
	}

	// Unblocking on one device reaches the other.
	if err := b.Unblock(ctx, eve.AccountID()); err != nil {
		t.Fatal(err)
	}
	WaitUntil(t, 2*poll+3*time.Second, nil, func() bool {
		bl, _ := a.Blocked(ctx)
		return len(bl) == 1 && bl[0] == mallory.AccountID()
	})
}

// TestConfigBadInput stores what a malicious node or a broken client might leave in the
// account's config namespaces: each is reported as ConfigRejected with a typed error and
// nothing held changes.
func TestConfigBadInput(t *testing.T) {
	sn := startSyncNet(t)
	ctx := context.Background()
	words := newWords(t)
	a := gNewPeer(t, sn.cfg, "Bot", WithRecoveryPassword(words))
	mallory := gNewPeer(t, sn.cfg, "Mallory")
	if err := a.Block(ctx, mallory.AccountID()); err != nil {
		t.Fatal(err)
	}
	if err := a.SyncConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	// An old message of ours: the contacts config before the block.
	var old *groups.UserConfig
	withConfigs(t, a.Client, func(s *userSync) { old = s.cfgs[groups.DomainContacts] })
	oldPush, err := old.PrepareStore(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Unwrapped (as some clients store it), so that it is not the very message we stored.
	oldSer, err := groups.ReadUserConfig(a.Keys(), groups.DomainContacts, oldPush.Data)
	if err != nil {
		t.Fatal(err)
	}
	oldBare, err := groups.EncodeConfigPayload(oldSer, a.Keys().Seed(), groups.DomainContacts, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Block(ctx, a2(t)); err != nil {
		t.Fatal(err)
	}
	if err := a.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	before := stateOf(t, a, mallory.AccountID(), mallory.AccountID())

	keys := a.Keys()
	seal := func(ser []byte, k *crypto.Keys) []byte {
		p, err := groups.EncodeConfigPayload(ser, k.Seed(), groups.DomainContacts, false)
		if err != nil {
			t.Fatal(err)
		}
		out, err := groups.WrapUserConfig(k, groups.DomainContacts, 9, p)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	other, _ := crypto.GenerateKeys(nil)
	forged := groups.NewUserConfig()
	_ = forged.Update(func(d groups.Dict) { _ = groups.SetContact(d, groups.Contact{ID: mallory.AccountID(), Approved: true}) })
	forgedSer, _, _ := forged.Push()
	deep := []byte("d1:#i99e1:&d1:a" + strings.Repeat("d1:a", 200) + "i1e" + strings.Repeat("e", 200) + "e1:<le1:=dee")
	cases := map[string]struct {
		data []byte
		err  error
	}{
		"garbage":       {[]byte("not a config at all"), groups.ErrDecrypt},
		"not bencoded":  {seal([]byte("d1:#i99e1:&di1e"), keys), groups.ErrMalformed},
		"deeply nested": {seal(deep, keys), groups.ErrMalformed},
		"other account": {seal(forgedSer, other), groups.ErrDecrypt},
		"older seqno":   {oldBare, ErrStaleConfig},
	}
	hashes := map[string]string{}
	for name, tc := range cases {
		res, err := a.net.rpc.Store(ctx, a.signer, swarm.StoreRequest{Namespace: swarm.NamespaceContacts, Data: tc.data, TTL: time.Hour, Timestamp: a.net.Now()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		hashes[res.Hash] = name
	}
	t.Logf("stored %v", hashes)

	_ = a.PollOnce(ctx)
	pend, _ := a.store.Pending(ctx, a.id)
	t.Logf("pending %d", len(pend))
	for h, name := range hashes {
		e := gWait(t, a, func(e *ConfigRejected) bool { return e.Hash == h })
		if !errors.Is(e.Err, cases[name].err) || e.Config != groups.DomainContacts {
			t.Errorf("%s: %v, want %v", name, e.Err, cases[name].err)
		}
	}
	if after := stateOf(t, a, mallory.AccountID(), mallory.AccountID()); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("state changed:\n %+v\n %+v", before, after)
	}
}

func a2(t testing.TB) crypto.AccountID {
	k, err := crypto.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k.AccountID()
}

// inSwarm reports whether our swarm holds a message with hash (namespace ns).
func inSwarm(t testing.TB, p *gPeer, ns swarm.Namespace, hash string) bool {
	t.Helper()
	res, err := p.net.rpc.Retrieve(context.Background(), p.signer, swarm.RetrieveRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range res.Messages {
		if m.Hash == hash {
			return true
		}
	}
	return false
}

// Deletions reach the account's other devices: Unsend (for everyone) and DeleteForMe (for
// this account only) both leave an UnsendRequest in our swarm; DeleteForMe also deletes our
// copy and tells nobody else.
func TestLinkedDeviceDeletions(t *testing.T) {
	sn := startSyncNet(t)
	ctx := context.Background()
	words := newWords(t)
	a, b := gNewPeer(t, sn.cfg, "Bot", WithRecoveryPassword(words)), gNewPeer(t, sn.cfg, "Bot", WithRecoveryPassword(words))
	bob := gNewPeer(t, sn.cfg, "Bob")
	me := a.AccountID()

	sent, err := a.SendText(ctx, bob.AccountID(), "oops")
	if err != nil {
		t.Fatal(err)
	}
	gWait(t, bob, func(e *Message) bool { return e.Text == "oops" })
	if err := a.Unsend(ctx, bob.AccountID(), sent.Ref); err != nil {
		t.Fatal(err)
	}
	gWait(t, bob, func(e *Unsend) bool { return e.Target == sent.Ref })
	gWait(t, b, func(e *Unsend) bool { return e.From == me && e.Target == sent.Ref })
	if gCount(a, func(e *Unsend) bool { return true }) != 0 {
		t.Fatal("the unsending device got its own request back")
	}

	// Delete for me a message Bob sent.
	if _, err := bob.SendText(ctx, me, "delete me"); err != nil {
		t.Fatal(err)
	}
	got := gWait(t, a, func(e *Message) bool { return e.Text == "delete me" })
	if !inSwarm(t, a, swarm.NamespaceDefault, got.Hash) {
		t.Fatal("message not in our swarm")
	}
	if err := a.DeleteForMe(ctx, bob.AccountID(), got.Ref(), got.Hash); err != nil {
		t.Fatal(err)
	}
	gWait(t, b, func(e *Unsend) bool { return e.From == me && e.Target == got.Ref() })
	if inSwarm(t, a, swarm.NamespaceDefault, got.Hash) {
		t.Fatal("deleted for me but still in our swarm")
	}
	// And one we sent: our sync copy goes.
	mine, err := a.SendText(ctx, bob.AccountID(), "mine")
	if err != nil {
		t.Fatal(err)
	}
	if err := a.DeleteForMe(ctx, bob.AccountID(), mine.Ref, ""); err != nil {
		t.Fatal(err)
	}
	gWait(t, b, func(e *Unsend) bool { return e.From == me && e.Target == mine.Ref })
	if inSwarm(t, a, swarm.NamespaceDefault, mine.SyncHash) {
		t.Fatal("our sync copy is still in our swarm")
	}
	// Bob was told nothing of either.
	gWait(t, bob, func(e *Message) bool { return e.Text == "mine" })
	if n := gCount(bob, func(e *Unsend) bool { return e.Target == got.Ref() || e.Target == mine.Ref }); n != 0 {
		t.Fatalf("bob got %d unsends for deletions for me", n)
	}
}

func TestDeleteAccount(t *testing.T) {
	sn := startSyncNet(t)
	ctx := context.Background()
	a := gNewPeer(t, sn.cfg, "Bot")
	bob := gNewPeer(t, sn.cfg, "Bob")
	if _, err := a.SendText(ctx, bob.AccountID(), "hello"); err != nil {
		t.Fatal(err)
	}
	if err := a.Block(ctx, a2(t)); err != nil {
		t.Fatal(err)
	}
	if err := a.SyncConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	nonEmpty := func() int {
		n := 0
		for _, ns := range defaultNamespaces() {
			res, err := a.net.rpc.Retrieve(ctx, a.signer, swarm.RetrieveRequest{Namespace: ns})
			if err != nil {
				t.Fatal(err)
			}
			n += len(res.Messages)
		}
		return n
	}
	if nonEmpty() < 3 {
		t.Fatal("nothing to delete")
	}
	if err := a.DeleteAccount(ctx, "yes"); !errors.Is(err, ErrConfirmation) {
		t.Fatalf("unconfirmed: %v", err)
	}
	if _, err := a.store.GetAccount(ctx, a.id); err != nil {
		t.Fatal("an unconfirmed deletion touched the store")
	}
	if err := a.DeleteAccount(ctx, a.AccountID().String()); err != nil {
		t.Fatal(err)
	}
	probe := gNewPeer(t, sn.cfg, "", WithKeys(a.Keys()))
	nonEmpty = func() int {
		n := 0
		for _, ns := range defaultNamespaces() {
			res, err := probe.net.rpc.Retrieve(ctx, probe.signer, swarm.RetrieveRequest{Namespace: ns})
			if err != nil {
				t.Fatal(err)
			}
			n += len(res.Messages)
		}
		return n
	}
	if n := nonEmpty(); n != 0 {
		t.Fatalf("%d messages left in the swarm", n)
	}
	if accts, err := a.store.Accounts(ctx); err != nil || len(accts) != 0 {
		t.Fatalf("accounts still stored: %v %v", accts, err)
	}
	if _, err := a.store.GetValue(ctx, userConfigBucket, a.configKey(groups.DomainContacts)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("config still stored: %v", err)
	}
	if _, err := a.SendText(ctx, bob.AccountID(), "again"); !errors.Is(err, ErrClosed) {
		t.Fatalf("client still usable: %v", err)
	}
}

// A burst of changes is one push, and superseded config messages are deleted.
func TestConfigPushBurst(t *testing.T) {
	sn := startSyncNet(t)
	ctx := context.Background()
	a := gNewPeer(t, sn.cfg, "Bot", WithPollInterval(time.Hour), WithConfigPushDelay(300*time.Millisecond))
	runPeer(t, a)
	var ids []crypto.AccountID
	for i := 0; i < 10; i++ {
		ids = append(ids, a2(t))
		if err := a.Block(ctx, ids[i]); err != nil {
			t.Fatal(err)
		}
	}
	current := func() (h []string) {
		withConfigs(t, a.Client, func(s *userSync) { h = s.cfgs[groups.DomainContacts].CurrentHashes() })
		return h
	}
	WaitUntil(t, 10*time.Second, nil, func() bool { return len(current()) == 1 })
	var seq int64
	withConfigs(t, a.Client, func(s *userSync) { seq = s.cfgs[groups.DomainContacts].Seqno() })
	if seq != 1 {
		t.Fatalf("10 changes in one burst made %d pushes", seq)
	}
	first := current()[0]
	if err := a.Unblock(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}
	WaitUntil(t, 10*time.Second, nil, func() bool { c := current(); return len(c) == 1 && c[0] != first })
	WaitUntil(t, 10*time.Second, nil, func() bool { return !inSwarm(t, a, swarm.NamespaceContacts, first) })
	if !inSwarm(t, a, swarm.NamespaceContacts, current()[0]) {
		t.Fatal("the current config is not in the swarm")
	}
}

// Every config is stored again at least every 7 days, also when its message is gone.
func TestConfigRefresh(t *testing.T) {
	sn := startSyncNet(t)
	ctx := context.Background()
	a := gNewPeer(t, sn.cfg, "Bot")
	if err := a.Block(ctx, a2(t)); err != nil {
		t.Fatal(err)
	}
	if err := a.SyncConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	var h string
	withConfigs(t, a.Client, func(s *userSync) { h = s.cfgs[groups.DomainContacts].CurrentHashes()[0] })
	age := func() {
		withConfigs(t, a.Client, func(s *userSync) {
			for _, d := range groups.UserDomains {
				s.recs[d].Stored -= int64(8 * 24 * time.Hour / time.Second)
			}
		})
	}
	// Its expiry is short now (as if it was stored long ago): a refresh extends it.
	if _, err := a.net.rpc.Expire(ctx, a.signer, swarm.ExpireRequest{Hashes: []string{h}, Expiry: a.net.Now().Add(time.Hour), Shorten: true}); err != nil {
		t.Fatal(err)
	}
	age()
	if err := a.SyncConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	exp, err := a.net.rpc.GetExpiries(ctx, a.signer, swarm.GetExpiriesRequest{Hashes: []string{h}})
	if err != nil || exp[h].Before(a.net.Now().Add(29*24*time.Hour)) {
		t.Fatalf("expiry after refresh %v %v", exp[h], err)
	}
	// Gone from the swarm: a refresh stores it again.
	if _, err := a.net.rpc.Delete(ctx, a.signer, swarm.DeleteRequest{Hashes: []string{h}}); err != nil {
		t.Fatal(err)
	}
	age()
	if err := a.SyncConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	if !inSwarm(t, a, swarm.NamespaceContacts, h) {
		t.Fatal("not stored again")
	}
}

// An account whose configs wait for nothing keeps only what its polls read: Run's config lane
// (and a push) drops the loaded configs, whose state the store holds; blocks and approvals
// still apply without loading them, a change loads them again, and the 7-day refresh is still
// due on time.
func TestIdleConfigsDropped(t *testing.T) {
	sn := startSyncNet(t)
	ctx := context.Background()
	a := gNewPeer(t, sn.cfg, "Bot", WithPollInterval(300*time.Millisecond), WithConfigPushDelay(100*time.Millisecond))
	mallory := gNewPeer(t, sn.cfg, "Mallory")
	friend := a2(t)
	if err := a.Block(ctx, mallory.AccountID()); err != nil {
		t.Fatal(err)
	}
	a.approve(ctx, friend)
	idle := func(c *Client) bool {
		c.usync.mu.Lock()
		defer c.usync.mu.Unlock()
		return c.usync.idle && !c.usync.loaded && c.usync.cfgs == nil && c.usync.recs == nil
	}
	runPeer(t, a)
	WaitUntil(t, 10*time.Second, nil, func() bool { return idle(a.Client) })
	if !a.isBlocked(ctx, mallory.AccountID()) || a.isBlocked(ctx, friend) || !a.configApproved(ctx, friend) ||
		a.configApproved(ctx, mallory.AccountID()) {
		t.Fatal("contact flags lost when the configs were dropped")
	}
	if _, err := mallory.SendText(ctx, a.AccountID(), "spam"); err != nil {
		t.Fatal(err)
	}
	gWait(t, a, func(e *MessageDropped) bool { return e.From == mallory.AccountID() })
	if !idle(a.Client) {
		t.Fatal("a message from a blocked sender loaded the configs")
	}
	// A change loads them, is pushed, and they are dropped again.
	if err := a.Unblock(ctx, mallory.AccountID()); err != nil {
		t.Fatal(err)
	}
	WaitUntil(t, 10*time.Second, nil, func() bool { return idle(a.Client) && !a.isBlocked(ctx, mallory.AccountID()) })
	if bl, err := a.Blocked(ctx); err != nil || len(bl) != 0 {
		t.Fatalf("blocked after unblocking: %v %v", bl, err)
	}

	// Without Run: SyncConfigs drops them once pushed; the refresh is due 7 days after the
	// oldest store, which the idle state answers without loading them.
	b := gNewPeer(t, sn.cfg, "Bot 2")
	if err := b.Block(ctx, friend); err != nil {
		t.Fatal(err)
	}
	if err := b.SyncConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	if !idle(b.Client) {
		t.Fatal("configs kept after a push that left nothing to do")
	}
	records := func() map[string]configRecord {
		recs := map[string]configRecord{}
		for _, d := range groups.UserDomains {
			v, err := b.store.GetValue(ctx, userConfigBucket, b.configKey(d))
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			var rec configRecord
			if err != nil || json.Unmarshal(v, &rec) != nil {
				t.Fatalf("%s record: %v", d, err)
			}
			recs[d] = rec
		}
		return recs
	}
	oldest := int64(0)
	for _, rec := range records() {
		if rec.Stored != 0 && (oldest == 0 || rec.Stored < oldest) {
			oldest = rec.Stored
		}
	}
	b.usync.mu.Lock()
	at := b.usync.refreshAt
	b.usync.mu.Unlock()
	if oldest == 0 || at != oldest+int64(configRefreshEvery/time.Second) {
		t.Fatalf("refresh due at %d, want 7 days after %d", at, oldest)
	}
	if b.configsNeedPush(ctx) || !idle(b.Client) {
		t.Fatal("an idle account with nothing due needs a push, or loaded its configs to say so")
	}
	// Eight days later (the records and the idle state aged alike): due, told without loading.
	const week = int64(8 * 24 * time.Hour / time.Second)
	for d, rec := range records() {
		rec.Stored -= week
		v, _ := json.Marshal(rec)
		if err := b.store.PutValue(ctx, userConfigBucket, b.configKey(d), v); err != nil {
			t.Fatal(err)
		}
	}
	b.usync.mu.Lock()
	b.usync.refreshAt -= week
	b.usync.mu.Unlock()
	if !b.configsNeedPush(ctx) || !idle(b.Client) {
		t.Fatal("a refresh due while idle is not seen, or the configs were loaded to see it")
	}
	if err := b.SyncConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	for d, rec := range records() {
		if time.Since(time.Unix(rec.Stored, 0)) > time.Hour {
			t.Fatalf("%s config not refreshed: stored %v", d, time.Unix(rec.Stored, 0))
		}
	}
	if !idle(b.Client) || b.configsNeedPush(ctx) {
		t.Fatal("not idle after the refresh")
	}
}

// Groups and rooms the store holds from before the account's configs were kept are recorded
// in them once.
func TestConfigRecordsLocalState(t *testing.T) {
	sn := startSyncNet(t)
	ctx := context.Background()
	a := gNewPeer(t, sn.cfg, "Bot")
	g, err := a.CreateGroup(ctx, "Old group")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.JoinCommunity(ctx, sn.sogs.JoinURL("lobby")); err != nil {
		t.Fatal(err)
	}
	// Forget the configs, as a store of an earlier release would not have them.
	for _, d := range groups.UserDomains {
		if err := a.store.DeleteValue(ctx, userConfigBucket, a.configKey(d)); err != nil {
			t.Fatal(err)
		}
	}
	a.usync.mu.Lock()
	a.usync.loaded = false
	a.usync.mu.Unlock()
	a.usync.listed.Store(false)
	if err := a.SyncConfigs(ctx); err != nil {
		t.Fatal(err)
	}
	fresh := gNewPeer(t, sn.cfg, "Bot", WithKeys(a.Keys()))
	if err := fresh.PollOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := fresh.Group(ctx, g.ID); err != nil || got.Name != "Old group" || !got.Admin {
		t.Fatalf("group on the other device: %+v %v", got, err)
	}
	var rooms []groups.UserCommunity
	_ = fresh.readConfig(ctx, groups.DomainUserGroups, func(d groups.Dict) { rooms = groups.CommunitiesFromData(d) })
	if len(rooms) != 1 || rooms[0].Room != "lobby" {
		t.Fatalf("rooms %+v", rooms)
	}
}
