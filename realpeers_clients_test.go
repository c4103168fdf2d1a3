package sdk_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/sessiongo/sdk/crypto"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/swarm"
)

// A client corpus (testdata/real/clients/<client>.json) is what an independent Session client
// stored in a recipient's swarm for each kind of message it can send. Every stored message must
// decode with the recipient's keys, through the SDK's public decoding (session.DecodeMessage) and
// the Client's event mapping (Client.DecodeEvents), to what the client was asked to send (the
// case's `sent`). Cases that store nothing for the recipient (profile changes) are checked in the
// sender's own swarm, where they are decodable with the sender's keys.

type clientCorpus struct {
	Client             string            `json:"client"`
	SenderSeed         string            `json:"sender_ed25519_seed_hex"`
	RecipientSeed      string            `json:"recipient_ed25519_seed_hex"`
	SenderID           string            `json:"sender_session_id"`
	RecipientID        string            `json:"recipient_session_id"`
	FileServerUploads  []json.RawMessage `json:"file_server_uploads"`
	Cases              []clientCase      `json:"cases"`
	recipient, sender  *session.Client
	senderID, recipID  crypto.AccountID
	attachmentUploadID uint64 // file ids the client's uploads got (numeric file server)
	avatarUploadID     uint64
	uploadByCase       map[string]uint64 // when the recording names the case of an upload
}

type clientCase struct {
	What            string         `json:"what"`
	Sent            map[string]any `json:"sent"`
	StoredData      *string        `json:"stored_data"`
	Namespace       int            `json:"namespace"`
	Hash            string         `json:"hash"`
	StoredTimestamp int64          `json:"stored_timestamp"`
	OwnSwarm        []ownStored    `json:"sender_own_swarm"`
}

type ownStored struct {
	StoredData      string `json:"stored_data"`
	Hash            string `json:"hash"`
	StoredTimestamp int64  `json:"stored_timestamp"`
}

// clientKinds maps each client's API call to the kind of message it sends. A call missing here
// fails the test: a new recording must be read, not ignored.
var clientKinds = map[string]string{
	// session-python
	"Session.send_message":                "text",
	"Session.add_reaction":                "react",
	"Session.remove_reaction":             "unreact",
	"Session.mark_messages_as_read":       "read",
	"Session.show_typing_indicator":       "typing",
	"Session.hide_typing_indicator":       "untyping",
	"Session.delete_message":              "unsend",
	"Session.accept_conversation_request": "accept",
	"Session.notify_screenshot_taken":     "screenshot",
	"Session.notify_media_saved":          "mediasaved",
	"Session.set_display_name":            "setname",
	"Session.set_avatar":                  "setavatar",
	// Session.js
	"send":             "text",
	"sendfile":         "text",
	"voice":            "text",
	"avatar_then_send": "text",
	"react":            "react",
	"unreact":          "unreact",
	"read":             "read",
	"typing":           "typing",
	"untyping":         "untyping",
	"delete":           "unsend",
	"accept":           "accept",
	"screenshot":       "screenshot",
	"mediasaved":       "mediasaved",
	"setname":          "setname",
}

// clientQuirks are the recorded behaviours of a client that differ from what its call asked
// for, each with the reason; the test expects exactly these deviations and no others.
var clientQuirks = map[string]string{
	"session-python/plain text after set_avatar (profile with picture + profileKey)": "session-python attaches only the display name to visible messages; its picture and profile key travel in the message-request response",
	"Session.js/data extraction: media saved":                                        "Session.js writes the notice's own sent time into DataExtractionNotification.timestamp, not the saved message's",
}

func (cc *clientCorpus) quirk(c *clientCase) bool {
	name := cc.Client
	if i := strings.IndexAny(name, " ("); i > 0 {
		name = name[:i]
	}
	_, ok := clientQuirks[name+"/"+c.What]
	return ok
}

// freshProcessPerCase: each Session.js case ran in a new process with in-memory storage, so no
// profile carries over from one case to the next.
func (cc *clientCorpus) freshProcessPerCase() bool { return strings.HasPrefix(cc.Client, "Session.js") }

func runClientCorpus(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cc clientCorpus
	if err := json.Unmarshal(raw, &cc); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if len(cc.Cases) == 0 {
		t.Fatalf("%s: no cases", file)
	}
	cc.recipient = corpusClient(t, cc.RecipientSeed)
	cc.sender = corpusClient(t, cc.SenderSeed)
	if cc.recipID, err = crypto.ParseAccountID(cc.RecipientID); err != nil || cc.recipient.AccountID() != cc.recipID {
		t.Fatalf("recipient seed gives %s, the file says %s (%v)", cc.recipient.AccountID(), cc.RecipientID, err)
	}
	if cc.senderID, err = crypto.ParseAccountID(cc.SenderID); err != nil || cc.sender.AccountID() != cc.senderID {
		t.Fatalf("sender seed gives %s, the file says %s (%v)", cc.sender.AccountID(), cc.SenderID, err)
	}
	cc.readUploads(t)

	var st profileState
	seen := map[string]bool{}
	for i := range cc.Cases {
		c := &cc.Cases[i]
		if seen[c.What] {
			t.Fatalf("two cases named %q", c.What)
		}
		seen[c.What] = true
		if cc.freshProcessPerCase() {
			st = profileState{}
		}
		call, _ := c.Sent["call"].(string)
		kind, ok := clientKinds[call]
		if !ok {
			t.Errorf("%s: no expectation for call %q; add it to clientKinds", c.What, call)
			continue
		}
		if n, ok := c.Sent["displayName"].(string); ok {
			st.name = n
		}
		if _, ok := c.Sent["path"]; ok && call == "avatar_then_send" {
			st.avatar = true
		}
		t.Run(c.What, func(t *testing.T) {
			if c.StoredData == nil {
				cc.checkOwnSwarm(t, c, kind, &st)
				return
			}
			cc.checkStored(t, c, kind, call, &st)
		})
	}
}

type profileState struct {
	name   string // display name set (empty: none)
	avatar bool   // a profile picture was set
}

func corpusClient(t *testing.T, seedHex string) *session.Client {
	t.Helper()
	seed, err := hex.DecodeString(seedHex)
	if err != nil {
		t.Fatal(err)
	}
	// No network I/O happens: the client only decodes.
	c, err := session.NewClient(session.WithSeed(seed),
		session.WithNetworkConfig(session.NetworkConfig{Seeds: []string{"https://127.0.0.1:1"}, Direct: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readUploads takes the file ids the file server gave the client's attachment and avatar
// uploads (one of each in every corpus).
func (cc *clientCorpus) readUploads(t *testing.T) {
	for _, raw := range cc.FileServerUploads {
		var u struct {
			For      string `json:"for"`
			Case     string `json:"case"`
			Resp     string `json:"resp"`
			Requests []struct {
				Response string `json:"response_body"`
			} `json:"requests"`
		}
		if err := json.Unmarshal(raw, &u); err != nil {
			t.Fatal(err)
		}
		body := u.Resp
		if len(u.Requests) > 0 {
			body = u.Requests[len(u.Requests)-1].Response
		}
		var r struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("upload reply %q: %v", body, err)
		}
		id, err := strconv.ParseUint(r.ID, 10, 64)
		if err != nil {
			t.Fatalf("upload id %q is not numeric", r.ID)
		}
		if u.Case != "" {
			if cc.uploadByCase == nil {
				cc.uploadByCase = map[string]uint64{}
			}
			cc.uploadByCase[u.Case] = id
		}
		switch {
		case u.For == "avatar" || strings.Contains(strings.ToLower(u.Case), "avatar"):
			cc.avatarUploadID = id
		case u.For == "attachment" || u.Case != "":
			cc.attachmentUploadID = id
		}
	}
}

// checkStored decodes a message stored for the recipient and compares its event with the call.
func (cc *clientCorpus) checkStored(t *testing.T, c *clientCase, kind, call string, st *profileState) {
	data, err := base64.StdEncoding.DecodeString(*c.StoredData)
	if err != nil {
		t.Fatal(err)
	}
	if c.Namespace != 0 {
		t.Fatalf("stored in namespace %d", c.Namespace)
	}
	if h := swarm.MessageHash(cc.recipID, swarm.NamespaceDefault, data); h != c.Hash {
		t.Errorf("hash %s, the recording says %s", h, c.Hash)
	}
	in, err := session.DecodeMessage(cc.recipient.Keys(), *c.StoredData)
	if err != nil {
		t.Fatalf("DecodeMessage: %v", err)
	}
	if in.Sender != cc.senderID {
		t.Fatalf("sender %s, want %s", in.Sender, cc.senderID)
	}
	if int64(in.Timestamp) != c.StoredTimestamp {
		t.Errorf("envelope timestamp %d, stored at %d", in.Timestamp, c.StoredTimestamp)
	}
	sentAt := time.UnixMilli(int64(in.Timestamp))
	evts, err := cc.recipient.DecodeEvents(c.Hash, data)
	if err != nil {
		t.Fatalf("DecodeEvents: %v", err)
	}
	if len(evts) != 1 {
		t.Fatalf("%d events %#v, want 1", len(evts), evts)
	}
	evt := evts[0]
	switch kind {
	case "text":
		m, ok := evt.(*session.Message)
		if !ok {
			t.Fatalf("event %T, want *session.Message", evt)
		}
		if m.From != cc.senderID || m.To != cc.recipID || !m.Timestamp.Equal(sentAt) || m.Hash != c.Hash || m.Sync || m.Request {
			t.Errorf("message %+v", m)
		}
		if want, _ := c.Sent["text"].(string); m.Text != want {
			t.Errorf("text %q, want %q", m.Text, want)
		}
		if m.Expiry != nil {
			t.Errorf("expiry %+v on a message sent without one", m.Expiry)
		}
		cc.checkQuote(t, c, m.Quote)
		cc.checkAttachments(t, c, call, m.Attachments)
		cc.checkProfile(t, c, m.Profile, st)
	case "react", "unreact":
		r, ok := evt.(*session.Reaction)
		if !ok {
			t.Fatalf("event %T, want *session.Reaction", evt)
		}
		target := MessageRefOf(t, c.Sent, []string{"message_author", "author"}, []string{"message_timestamp", "ts"})
		if r.From != cc.senderID || r.Target != target || r.Emoji != c.Sent["emoji"] || r.Removed != (kind == "unreact") || !r.At.Equal(sentAt) {
			t.Errorf("reaction %+v, want target %+v emoji %q removed %v", r, target, c.Sent["emoji"], kind == "unreact")
		}
	case "read":
		r, ok := evt.(*session.ReadReceipt)
		if !ok {
			t.Fatalf("event %T, want *session.ReadReceipt", evt)
		}
		var want []time.Time
		for _, v := range c.Sent["timestamps"].([]any) {
			want = append(want, time.UnixMilli(int64(v.(float64))))
		}
		if r.From != cc.senderID || !slices.EqualFunc(r.Timestamps, want, time.Time.Equal) || !r.At.Equal(sentAt) {
			t.Errorf("receipt %+v, want %v", r, want)
		}
	case "typing", "untyping":
		ty, ok := evt.(*session.Typing)
		if !ok {
			t.Fatalf("event %T, want *session.Typing", evt)
		}
		// Desktop drops a typing indicator whose timestamp is not the envelope's.
		if ty.From != cc.senderID || ty.Started != (kind == "typing") || !ty.At.Equal(sentAt) {
			t.Errorf("typing %+v (envelope %v)", ty, sentAt)
		}
	case "unsend":
		u, ok := evt.(*session.Unsend)
		if !ok {
			t.Fatalf("event %T, want *session.Unsend", evt)
		}
		ts := numberField(t, c.Sent, "timestamp", "ts")
		if u.From != cc.senderID || u.Target != (session.MessageRef{Author: cc.senderID, Timestamp: time.UnixMilli(ts)}) || !u.At.Equal(sentAt) {
			t.Errorf("unsend %+v, want target %d by the sender", u, ts)
		}
	case "accept":
		r, ok := evt.(*session.MessageRequestResponse)
		if !ok {
			t.Fatalf("event %T, want *session.MessageRequestResponse", evt)
		}
		if r.From != cc.senderID || !r.Approved {
			t.Errorf("response %+v", r)
		}
		cc.checkProfile(t, c, r.Profile, st)
	case "screenshot", "mediasaved":
		d, ok := evt.(*session.DataExtraction)
		if !ok {
			t.Fatalf("event %T, want *session.DataExtraction", evt)
		}
		want := session.ScreenshotTaken
		if kind == "mediasaved" {
			want = session.MediaSaved
		}
		if d.From != cc.senderID || d.Kind != want || !d.At.Equal(sentAt) || d.Hash != c.Hash {
			t.Errorf("notice %+v, want %v", d, want)
		}
		if kind == "mediasaved" {
			saved := time.UnixMilli(numberField(t, c.Sent, "saved_message_timestamp", "ts"))
			if cc.quirk(c) {
				saved = sentAt
			}
			if !d.Timestamp.Equal(saved) {
				t.Errorf("saved message time %v, want %v", d.Timestamp, saved)
			}
		}
	default:
		t.Fatalf("a stored message for a %q call", kind)
	}
}

// MessageRefOf reads a message reference from the first present author and timestamp fields.
func MessageRefOf(t *testing.T, m map[string]any, authors, stamps []string) session.MessageRef {
	t.Helper()
	var author string
	for _, k := range authors {
		if s, ok := m[k].(string); ok {
			author = s
			break
		}
	}
	id, err := crypto.ParseAccountID(author)
	if err != nil {
		t.Fatalf("author %q: %v", author, err)
	}
	return session.MessageRef{Author: id, Timestamp: time.UnixMilli(numberField(t, m, stamps...))}
}

func numberField(t *testing.T, m map[string]any, keys ...string) int64 {
	t.Helper()
	for _, k := range keys {
		if v, ok := m[k].(float64); ok {
			return int64(v)
		}
	}
	t.Fatalf("none of %v in %v", keys, m)
	return 0
}

func (cc *clientCorpus) checkQuote(t *testing.T, c *clientCase, q *session.MessageRef) {
	reply, ok := c.Sent["replyToMessage"].(map[string]any)
	if !ok {
		if q != nil {
			t.Errorf("quote %+v on a message sent without one", q)
		}
		return
	}
	want := MessageRefOf(t, reply, []string{"author"}, []string{"timestamp"})
	if q == nil || *q != want {
		t.Errorf("quote %+v, want %+v", q, want)
	}
}

func (cc *clientCorpus) checkAttachments(t *testing.T, c *clientCase, call string, as []*session.Attachment) {
	type want struct {
		name, contentType string
		size              int64
		voice             bool
	}
	var ws []want
	switch call {
	case "Session.send_message":
		list, _ := c.Sent["attachments"].([]any)
		for _, a := range list {
			m := a.(map[string]any)
			ws = append(ws, want{name: m["name"].(string), contentType: m["content_type"].(string), size: int64(m["data_len"].(float64))})
		}
	case "sendfile":
		ws = append(ws, want{name: c.Sent["name"].(string), contentType: c.Sent["type"].(string)})
	case "voice":
		ws = append(ws, want{contentType: c.Sent["type"].(string), voice: true})
	}
	if len(as) != len(ws) {
		t.Fatalf("%d attachments, want %d", len(as), len(ws))
	}
	for i, a := range as {
		w := ws[i]
		p := a.Pointer()
		if p == nil {
			t.Fatal("attachment without its pointer")
		}
		// AttachmentPointer.id: the numeric last segment of the URL (clients download by it).
		u, err := url.Parse(a.URL)
		if err != nil {
			t.Fatalf("url %q: %v", a.URL, err)
		}
		seg, _ := strconv.ParseUint(path.Base(u.Path), 10, 64)
		if a.ID == 0 || a.ID != seg || p.GetId() != a.ID {
			t.Errorf("attachment id %d, pointer %d, URL %s", a.ID, p.GetId(), a.URL)
		}
		upload, ok := cc.uploadByCase[c.What]
		if !ok {
			upload = cc.attachmentUploadID
		}
		if a.ID != upload {
			t.Errorf("attachment id %d, the upload got %d", a.ID, upload)
		}
		if len(p.GetKey()) != 64 || len(p.GetDigest()) != 32 || p.GetSize() == 0 {
			t.Errorf("attachment crypto: key %d bytes, digest %d bytes, size %d", len(p.GetKey()), len(p.GetDigest()), p.GetSize())
		}
		if (w.name != "" && a.FileName != w.name) || a.ContentType != w.contentType || a.VoiceNote != w.voice ||
			(w.size > 0 && a.Size != w.size) || a.Size != int64(p.GetSize()) {
			t.Errorf("attachment %+v, want %+v", a, w)
		}
		if a.VoiceNote != (p.GetFlags()&uint32(pb.AttachmentPointer_VOICE_MESSAGE) != 0) {
			t.Errorf("voice note %v, flags %d", a.VoiceNote, p.GetFlags())
		}
		if a.Caption != p.GetCaption() {
			t.Errorf("caption %q, pointer %q", a.Caption, p.GetCaption())
		}
	}
}

// checkProfile compares a received profile with what the sender had set.
func (cc *clientCorpus) checkProfile(t *testing.T, c *clientCase, p *session.Profile, st *profileState) {
	name := ""
	if p != nil {
		name = p.DisplayName
	}
	// Session.js puts a placeholder name when none is set: "(<first 4>...<last 4>)".
	placeholder := fmt.Sprintf("(%s...%s)", cc.SenderID[:4], cc.SenderID[len(cc.SenderID)-4:])
	switch {
	case st.name != "" && name != st.name:
		t.Errorf("display name %q, want %q", name, st.name)
	case st.name == "" && name != "" && !(cc.freshProcessPerCase() && name == placeholder):
		t.Errorf("display name %q when none was set", name)
	}
	hasPicture := p != nil && p.PictureURL != ""
	if hasPicture {
		u, err := url.Parse(p.PictureURL)
		if err != nil {
			t.Fatalf("picture URL %q: %v", p.PictureURL, err)
		}
		if id, _ := strconv.ParseUint(path.Base(u.Path), 10, 64); id != cc.avatarUploadID || len(p.PictureKey) != 32 {
			t.Errorf("picture %s (key %d bytes), the avatar upload got id %d", p.PictureURL, len(p.PictureKey), cc.avatarUploadID)
		}
	}
	if st.avatar && !hasPicture && !cc.quirk(c) {
		t.Errorf("no picture after the avatar was set (profile %+v)", p)
	}
	if !st.avatar && hasPicture {
		t.Errorf("a picture before any avatar was set")
	}
}

// checkOwnSwarm decodes what a profile change stored in the sender's own swarm: legacy
// configuration messages (Content field 7, which current desktop reserves), decodable with the
// sender's keys and reported by the event mapping as UnknownContent with the whole Content.
func (cc *clientCorpus) checkOwnSwarm(t *testing.T, c *clientCase, kind string, st *profileState) {
	switch kind {
	case "setname":
		name, _ := c.Sent["display_name"].(string)
		if name == "" {
			name, _ = c.Sent["name"].(string)
		}
		st.name = name
	case "setavatar":
		st.avatar = true
	default:
		t.Fatalf("nothing stored for the recipient by a %q call", kind)
	}
	if len(c.OwnSwarm) == 0 {
		t.Fatal("nothing recorded in the sender's own swarm")
	}
	sawPicture := false
	for _, o := range c.OwnSwarm {
		data, err := base64.StdEncoding.DecodeString(o.StoredData)
		if err != nil {
			t.Fatal(err)
		}
		if h := swarm.MessageHash(cc.senderID, swarm.NamespaceDefault, data); h != o.Hash {
			t.Errorf("hash %s, the recording says %s", h, o.Hash)
		}
		in, err := session.DecodeMessage(cc.sender.Keys(), o.StoredData)
		if err != nil {
			t.Fatalf("DecodeMessage with the sender's keys: %v", err)
		}
		if in.Sender != cc.senderID || int64(in.Timestamp) != o.StoredTimestamp {
			t.Errorf("own message from %s at %d (stored at %d)", in.Sender, in.Timestamp, o.StoredTimestamp)
		}
		evts, err := cc.sender.DecodeEvents(o.Hash, data)
		if err != nil {
			t.Fatal(err)
		}
		u, ok := evts[0].(*session.UnknownContent)
		if len(evts) != 1 || !ok || u.Content == nil || u.From != cc.senderID {
			t.Fatalf("events %#v, want one UnknownContent with the Content", evts)
		}
		cfg := unknownField(u.Content.ProtoReflect().GetUnknown(), 7)
		if cfg == nil {
			t.Fatalf("no legacy configuration message (Content field 7) in %v", u.Content)
		}
		if got := string(unknownField(cfg, 3)); got != st.name {
			t.Errorf("configuration display name %q, want %q", got, st.name)
		}
		if pic := unknownField(cfg, 4); pic != nil {
			sawPicture = true
			u, err := url.Parse(string(pic))
			if err != nil {
				t.Fatal(err)
			}
			if id, _ := strconv.ParseUint(path.Base(u.Path), 10, 64); id != cc.avatarUploadID || len(unknownField(cfg, 5)) != 32 {
				t.Errorf("configuration picture %s, key %x; the avatar upload got id %d", pic, unknownField(cfg, 5), cc.avatarUploadID)
			}
		}
	}
	if kind == "setavatar" && !sawPicture {
		t.Error("no configuration message carries the picture")
	}
}

// unknownField returns the last length-delimited field num of protobuf bytes b (nil if absent).
func unknownField(b []byte, num protowire.Number) []byte {
	var out []byte
	for len(b) > 0 {
		n, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil
		}
		b = b[l:]
		if n == num && typ == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil
			}
			out, b = v, b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, typ, b)
		if l < 0 {
			return nil
		}
		b = b[l:]
	}
	return out
}
