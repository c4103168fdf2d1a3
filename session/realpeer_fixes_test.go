package session

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/edwards25519"
	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/filesd"
	"github.com/sessiongo/sdk/onion"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// Regression tests for what running against real peers found (issue 12, the session items).

// retrieveRaw reads every message of c's namespace 0 and decodes it with c's keys.
func retrieveRaw(t *testing.T, c *Client) []*Incoming {
	t.Helper()
	res, err := c.net.rpc.Retrieve(context.Background(), c.signer, swarm.RetrieveRequest{Namespace: swarm.NamespaceDefault})
	if err != nil {
		t.Fatal(err)
	}
	var out []*Incoming
	for _, m := range res.Messages {
		in, err := decodeWire(c.keys, m.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, in)
	}
	return out
}

// Item 7: a typing indicator's TypingMessage timestamp and Envelope timestamp come from one
// clock reading (desktop drops it when they differ). The clock here moves 1 ms per reading.
func TestTypingOneClockReading(t *testing.T) {
	t.Parallel()
	cfg := gDevnet(t)
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	var ticks atomic.Int64
	alice.clock = func() time.Time { return alice.net.Now().Add(time.Duration(ticks.Add(1)) * time.Millisecond) }
	ctx := context.Background()
	for i := range 3 {
		if err := alice.SendTyping(ctx, bob.AccountID(), i%2 == 0); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for _, in := range retrieveRaw(t, bob.Client) {
		if tm := in.Content.GetTypingMessage(); tm != nil {
			n++
			if tm.GetTimestamp() != in.Timestamp {
				t.Errorf("TypingMessage timestamp %d, envelope %d", tm.GetTimestamp(), in.Timestamp)
			}
		}
	}
	if n != 3 {
		t.Fatalf("%d typing messages, want 3", n)
	}
}

// Item 9: envelopes carry a 64-byte decoy proSig, a validly encoded signature (R a point, S a
// canonical scalar), fresh for every message; envelopes with and without one are accepted.
func TestEnvelopeDecoyProSig(t *testing.T) {
	alice, _ := crypto.GenerateKeys(nil)
	bob, _ := crypto.GenerateKeys(nil)
	content := &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String("hi")}}
	sigs := map[string]bool{}
	for range 3 {
		data, err := EncodeMessage(alice, bob.AccountID(), content, time.UnixMilli(1700000000000))
		if err != nil {
			t.Fatal(err)
		}
		wire, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatal(err)
		}
		env, err := DecodeEnvelope(wire)
		if err != nil {
			t.Fatal(err)
		}
		sig := env.GetProSig()
		if len(sig) != ProSigSize {
			t.Fatalf("proSig of %d bytes", len(sig))
		}
		if _, err := new(edwards25519.Point).SetBytes(sig[:32]); err != nil {
			t.Errorf("proSig R is not a point: %v", err)
		}
		if _, err := edwards25519.NewScalar().SetCanonicalBytes(sig[32:]); err != nil {
			t.Errorf("proSig S is not canonical: %v", err)
		}
		sigs[string(sig)] = true
		if in, err := DecodeMessage(bob, data); err != nil || in.Content.GetDataMessage().GetBody() != "hi" {
			t.Fatalf("decode with proSig: %v", err)
		}
	}
	if len(sigs) != 3 {
		t.Error("the decoy proSig repeats")
	}
	// Without one (older clients), and with a real-looking one from someone else: accepted.
	for _, ps := range [][]byte{nil, bytes.Repeat([]byte{7}, ProSigSize)} {
		plain, _ := proto.Marshal(content)
		ct, err := Seal(alice, bob.AccountID(), plain)
		if err != nil {
			t.Fatal(err)
		}
		wire, err := EncodeEnvelope(ct, 1700000000000, ps)
		if err != nil {
			t.Fatal(err)
		}
		if in, err := decodeWire(bob, wire); err != nil || in.Content.GetDataMessage().GetBody() != "hi" {
			t.Fatalf("decode with proSig %x: %v", ps, err)
		}
	}
}

// Item 8: every message with our profile carries lastProfileUpdateSeconds, kept in the store
// and moved forward on every change of name or picture, across restarts.
func TestProfileUpdateSeconds(t *testing.T) {
	t.Parallel()
	cfg := gDevnet(t)
	ctx := context.Background()
	bob := gNewPeer(t, cfg, "Bob")
	st := store.NewMemory()
	keys, _ := crypto.GenerateKeys(nil)
	newAlice := func(name string) *Client {
		c, err := NewClient(WithKeys(keys), WithStore(st), WithNetworkConfig(cfg), WithProfile(Profile{DisplayName: name}))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	var last time.Time
	send := func(c *Client, text, wantName string, moved bool) {
		t.Helper()
		if _, err := c.SendText(ctx, bob.AccountID(), text); err != nil {
			t.Fatal(err)
		}
		m := gWait(t, bob, func(m *Message) bool { return m.Text == text })
		p := m.Profile
		if p == nil || p.DisplayName != wantName || p.UpdatedAt.IsZero() {
			t.Fatalf("%s: profile %+v", text, p)
		}
		if moved && !p.UpdatedAt.After(last) || !moved && !p.UpdatedAt.Equal(last) {
			t.Fatalf("%s: updated %v after %v (moved: %v)", text, p.UpdatedAt, last, moved)
		}
		last = p.UpdatedAt
	}
	a := newAlice("Alice")
	send(a, "one", "Alice", true)
	send(a, "two", "Alice", false)
	a.Close()
	a = newAlice("Alice") // same profile after a restart: unchanged time
	send(a, "three", "Alice", false)
	a.Close()
	a = newAlice("Alicia") // renamed at start-up
	send(a, "four", "Alicia", true)
	if err := a.SetDisplayName(ctx, "Ali"); err != nil {
		t.Fatal(err)
	}
	send(a, "five", "Ali", true)
	if err := a.SetDisplayName(ctx, "Ali"); err != nil { // no change
		t.Fatal(err)
	}
	send(a, "six", "Ali", false)
	a.Close()
	// A restart without WithProfile keeps the saved profile and its time.
	c, err := NewClient(WithKeys(keys), WithStore(st), WithNetworkConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := c.Profile(); p.DisplayName != "Ali" || !p.UpdatedAt.Equal(last) {
		t.Fatalf("restored profile %+v", p)
	}
	send(c, "seven", "Ali", false)
	// The request response carries it too.
	if err := c.AcceptMessageRequest(ctx, bob.AccountID()); err != nil {
		t.Fatal(err)
	}
	r := gWait(t, bob, func(r *MessageRequestResponse) bool { return true })
	if r.Profile == nil || !r.Profile.UpdatedAt.Equal(last) {
		t.Fatalf("response profile %+v", r.Profile)
	}
}

// Item 6: AttachmentPointer.id is the numeric last segment of the file URL (clients download
// by it); a received pointer without a URL is fetched by its id.
func TestAttachmentPointerID(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dn := devnettest.Start(t)
	cfg := NetConfig(dn, false)
	fs := StartFiles(t, dn, filesd.WithNumericIDs())
	cfg.FileServer = fs.OnionServer()
	alice := gNewPeer(t, cfg, "Alice")
	bob := gNewPeer(t, cfg, "Bob")
	file := bytes.Repeat([]byte("pointer id "), 1000)
	if _, err := alice.SendAttachments(ctx, bob.AccountID(), "by id", []AttachmentFile{{Data: bytes.NewReader(file), FileName: "f.bin"}}); err != nil {
		t.Fatal(err)
	}
	m := gWait(t, bob, func(m *Message) bool { return m.Text == "by id" })
	a := m.Attachments[0]
	if a.ID == 0 || a.Pointer().GetId() != a.ID || a.URL != fs.URL()+"/file/"+strconv.FormatUint(a.ID, 10) {
		t.Fatalf("attachment id %d, pointer %d, URL %s", a.ID, a.Pointer().GetId(), a.URL)
	}

	// The same pointer without its URL, as a client that downloads by id might send it.
	p := a.Pointer()
	p.Url = nil
	content := &pb.Content{DataMessage: &pb.DataMessage{Body: proto.String("no url"), Attachments: []*pb.AttachmentPointer{p}}}
	at := alice.msNow()
	data, err := alice.encode(bob.AccountID(), content, at)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.net.rpc.Store(ctx, swarm.Unsigned(bob.AccountID()), swarm.StoreRequest{Namespace: 0, Data: data, TTL: time.Hour, Timestamp: at}); err != nil {
		t.Fatal(err)
	}
	m = gWait(t, bob, func(m *Message) bool { return m.Text == "no url" })
	if len(m.Attachments) != 1 || m.Attachments[0].URL != a.URL {
		t.Fatalf("attachments %+v", m.Attachments)
	}
	var got bytes.Buffer
	if _, err := m.Attachments[0].Download(ctx, &got); err != nil || !bytes.Equal(got.Bytes(), file) {
		t.Fatalf("download by id: %v", err)
	}

	// Group attachments get the id too.
	g, err := alice.CreateGroup(ctx, "ids", bob.AccountID())
	if err != nil {
		t.Fatal(err)
	}
	gJoin(t, bob, g.ID, alice.AccountID(), "ids")
	if _, err := alice.SendGroupAttachments(ctx, g.ID, "group file", []AttachmentFile{{Data: bytes.NewReader(file)}}); err != nil {
		t.Fatal(err)
	}
	gm := gWait(t, bob, func(m *GroupMessage) bool { return m.Text == "group file" })
	if ga := gm.Attachments[0]; ga.ID == 0 || ga.URL != fs.URL()+"/file/"+strconv.FormatUint(ga.ID, 10) {
		t.Fatalf("group attachment id %d, URL %s", ga.ID, ga.URL)
	}

	// A file server with content IDs (its newer mode): id 0, fetched by URL.
	cfs, err := filesd.Start(ctx, filesd.WithNetwork(dn), filesd.WithContentIDs())
	if err != nil {
		t.Fatal(err)
	}
	defer cfs.Close()
	ccfg := cfg
	ccfg.FileServer = cfs.OnionServer()
	carol := gNewPeer(t, ccfg, "Carol")
	dave := gNewPeer(t, ccfg, "Dave")
	if _, err := carol.SendAttachments(ctx, dave.AccountID(), "content id", []AttachmentFile{{Data: bytes.NewReader(file)}}); err != nil {
		t.Fatal(err)
	}
	m = gWait(t, dave, func(m *Message) bool { return m.Text == "content id" })
	got.Reset()
	if ca := m.Attachments[0]; ca.ID != 0 || ca.Pointer().GetId() != 0 {
		t.Fatalf("content-id attachment id %d", ca.ID)
	} else if _, err := ca.Download(ctx, &got); err != nil || !bytes.Equal(got.Bytes(), file) {
		t.Fatalf("download by content id: %v", err)
	}

	for _, c := range []struct {
		url string
		id  uint64
	}{
		{"http://filev2.getsession.org/file/57093965813965", 57093965813965},
		{"https://x.example/file/12#p=" + fmt.Sprintf("%064x", 1) + "&d", 12},
		{"https://x.example/room/lobby/file/7", 7},
		{"https://x.example/file/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf", 0},
		{"https://x.example/file/99999999999999999999999", 0},
		{"https://x.example/file/-3", 0},
		{"::not a url", 0},
		{"", 0},
	} {
		if got := fileIDFromURL(c.url); got != c.id {
			t.Errorf("fileIDFromURL(%q) = %d, want %d", c.url, got, c.id)
		}
	}
}

// Item 10: the first 1:1 message to an Account ID revealed by a blinded DM is preceded (once)
// by a MessageRequestResponse, which is what makes desktop merge the blinded conversation
// into the 1:1 one.
func TestBlindedHandoverSendsRequestResponse(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dn := devnettest.Start(t)
	s, _ := StartLobby(t, dn)
	cfg := NetConfig(dn, false)
	desk := gNewPeer(t, cfg, "Desk") // the human on desktop
	bot := gNewPeer(t, cfg, "Bot")
	url := s.JoinURL("lobby")
	if _, err := bot.JoinCommunity(ctx, url); err != nil {
		t.Fatal(err)
	}
	botBlinded, err := s.BlindedID(bot.Keys())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := desk.SendCommunityDM(ctx, url, botBlinded, "hello bot"); err != nil {
		t.Fatal(err)
	}
	var dm *CommunityDM
	for dm == nil {
		if err := bot.PollCommunities(ctx); err != nil {
			t.Fatal(err)
		}
		for _, e := range bot.rec.Events() {
			if d, ok := e.(*CommunityDM); ok && d.Text == "hello bot" {
				dm = d
			}
		}
		if ctx.Err() != nil {
			t.Fatal("no DM")
		}
	}
	if dm.FromAccount != desk.AccountID() {
		t.Fatalf("DM from %s", dm.FromAccount)
	}
	for _, text := range []string{"hi, this is the bot", "second"} {
		if _, err := bot.SendText(ctx, dm.FromAccount, text); err != nil {
			t.Fatal(err)
		}
	}
	gWait(t, desk, func(m *Message) bool { return m.Text == "second" })
	var order []string
	for _, e := range desk.rec.Events() {
		switch e := e.(type) {
		case *MessageRequestResponse:
			if e.From == bot.AccountID() && e.Approved {
				order = append(order, "response")
			}
		case *Message:
			order = append(order, e.Text)
		}
	}
	if fmt.Sprint(order) != "[response hi, this is the bot second]" {
		t.Fatalf("desktop saw %v", order)
	}
	// Someone whose ID no blinded DM revealed gets no response with the first message.
	other := gNewPeer(t, cfg, "Other")
	if _, err := bot.SendText(ctx, other.AccountID(), "plain"); err != nil {
		t.Fatal(err)
	}
	gWait(t, other, func(m *Message) bool { return m.Text == "plain" })
	if n := gCount(other, func(*MessageRequestResponse) bool { return true }); n != 0 {
		t.Fatalf("%d responses to someone never met in a community", n)
	}
}

// Item 11: in direct mode, servers that close kept-alive connections without saying so (as
// pysogs' uWSGI front does) break requests sent on a reused connection; DisableKeepAlives and
// HTTPClient avoid that, and are what the server transport uses.
func TestDirectServerKeepAlive(t *testing.T) {
	// The server answers the first request of a connection and drops the connection when a
	// second request arrives on it, without answering.
	var served atomic.Int64
	type connKey struct{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := r.Context().Value(connKey{}).(*atomic.Int64)
		if n.Add(1) > 1 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		_, _ = io.Copy(io.Discard, r.Body)
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, new(atomic.Int64))
	}
	srv.Start()
	defer srv.Close()
	server, err := onion.NewServer(srv.URL, [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	post := func(n *Network) error {
		var errs []error
		for i := range 3 {
			res, err := n.Servers().Do(context.Background(), server, &onion.ServerRequest{Method: "POST", Endpoint: "/x", Body: []byte(`{"i":` + strconv.Itoa(i) + `}`)})
			if err == nil && res.Status != 200 {
				err = fmt.Errorf("status %d", res.Status)
			}
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	base := NetworkConfig{Seeds: []string{"https://127.0.0.1:1"}, Direct: true}
	kept := base
	kept.SeedRootCAs = nil
	nKept, err := NewNetwork(kept)
	if err != nil {
		t.Fatal(err)
	}
	defer nKept.Close()
	if err := post(nKept); err == nil {
		t.Log("the kept-alive connection was not reused (no failure to show)")
	}
	fresh := base
	fresh.DisableKeepAlives = true
	nFresh, err := NewNetwork(fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer nFresh.Close()
	if err := post(nFresh); err != nil {
		t.Fatalf("DisableKeepAlives: %v", err)
	}
	var used atomic.Int64
	custom := base
	custom.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		used.Add(1)
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		return tr.RoundTrip(r)
	})}
	nCustom, err := NewNetwork(custom)
	if err != nil {
		t.Fatal(err)
	}
	defer nCustom.Close()
	if err := post(nCustom); err != nil || used.Load() != 3 {
		t.Fatalf("HTTPClient: %v, used %d times", err, used.Load())
	}
	// The file server client goes through the same transport.
	if nCustom.FileServer() == nil {
		t.Fatal("no file server client")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Item 5: a community row that cannot be parsed never pins the room cursor: the cursor moves
// past skipped rows by seqno, and a skipped row whose seqno is unknown (it comes back until a
// later message moves the cursor) is reported once, not on every poll.
func TestCommunitySkippedRowsReportedOnce(t *testing.T) {
	c, err := NewClient(WithNetworkConfig(NetworkConfig{Seeds: []string{"https://127.0.0.1:1"}, Direct: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	holdLease(t, c)
	var skipped []int64
	c.AddEventHandler(func(e Event) {
		if s, ok := e.(*CommunitySkipped); ok {
			mu.Lock()
			skipped = append(skipped, s.ID)
			mu.Unlock()
		}
	})
	r, err := community.ParseURL("https://sogs.example/lobby?public_key=" + fmt.Sprintf("%064x", 5))
	if err != nil {
		t.Fatal(err)
	}
	st := roomState{Seqno: 10}
	saves := 0
	save := func() error { saves++; return nil }
	bad := fmt.Errorf("%w: whisper_mods", community.ErrMalformedReply)
	poll := func(rp *community.RoomPoll) {
		t.Helper()
		all, err := c.deliverRoom(context.Background(), r, "", crypto.AccountID{}, roomChanges(rp), rp.MaxSeqno, &st, save)
		if err != nil || !all {
			t.Fatalf("deliver: %v %v", all, err)
		}
	}
	// A row with a seqno: reported, and the cursor moves past it.
	poll(&community.RoomPoll{Skipped: []community.Skipped{{ID: 3, Seqno: 11, Err: bad}}})
	if st.Seqno != 11 {
		t.Fatalf("cursor %d after a skipped row with seqno 11", st.Seqno)
	}
	// A row without a readable seqno comes back on every poll: reported once.
	for range 3 {
		poll(&community.RoomPoll{Skipped: []community.Skipped{{ID: 4, Err: bad}}})
	}
	// Nor id nor seqno: reported once too (by its error).
	for range 2 {
		poll(&community.RoomPoll{Skipped: []community.Skipped{{Err: bad}}})
	}
	mu.Lock()
	got := fmt.Sprint(skipped)
	mu.Unlock()
	if got != "[3 4 0]" || st.Seqno != 11 {
		t.Fatalf("skips reported %s, cursor %d", got, st.Seqno)
	}
	if saves < 3 {
		t.Fatalf("state saved %d times", saves)
	}
	// The answer's largest seqno (community reports it for skipped rows too) moves the cursor
	// even when the row holding it did not parse.
	poll(&community.RoomPoll{Skipped: []community.Skipped{{ID: 9, Err: bad}}, MaxSeqno: 20})
	if st.Seqno != 20 {
		t.Fatalf("cursor %d, the answer's largest seqno was 20", st.Seqno)
	}
}
