package community

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// Reaction is the state of one emoji on a message.
type Reaction struct {
	Index    int                // the order in which the emoji was first used on the message
	Count    int                // how many users reacted with it
	Reactors []crypto.AccountID // the first reactors (as many as asked for); may be fewer than Count
	You      bool               // we reacted with it
}

// Message is a room message as the server returns it.
type Message struct {
	ID     int64
	Seqno  int64 // the room's sequence number of the message's last change
	Author crypto.AccountID
	Posted time.Time
	Edited time.Time // zero when never edited
	// Data is the padded Content as posted (see [Message.Content]); nil for deleted messages and
	// reaction-only rows.
	Data      []byte
	Signature [64]byte
	// Deleted is set for a deletion row of messages/since.
	Deleted bool
	// ReactionsOnly is set for a reaction-only row of messages/since (t=r): only ID, Seqno and
	// Reactions are set.
	ReactionsOnly bool
	Whisper       bool
	WhisperMods   bool
	WhisperTo     crypto.AccountID // zero when not a whisper to one user
	Reactions     map[string]Reaction
}

// Content returns the message's Content with the padding removed (nil for rows without data).
func (m *Message) Content() []byte {
	if m.Data == nil {
		return nil
	}
	return Unpad(m.Data)
}

// floatTime turns the server's float seconds into a time; values that cannot be a time give the
// zero time.
func floatTime(f float64) time.Time {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 || f > 1e12 {
		return time.Time{}
	}
	return time.UnixMilli(int64(math.Round(f * 1000)))
}

type reactionRowJSON struct {
	Index    int      `json:"index"`
	Count    int      `json:"count"`
	Reactors []string `json:"reactors"`
	You      boolish  `json:"you"` // sent only when true
}

type messageJSON struct {
	ID          *int64                     `json:"id"`
	SessionID   string                     `json:"session_id"`
	Posted      float64                    `json:"posted"`
	Edited      float64                    `json:"edited"`
	Seqno       int64                      `json:"seqno"`
	Data        json.RawMessage            `json:"data"`
	Deleted     boolish                    `json:"deleted"`
	Signature   string                     `json:"signature"`
	Reactions   map[string]reactionRowJSON `json:"reactions"`
	Whisper     boolish                    `json:"whisper"`
	WhisperMods boolish                    `json:"whisper_mods"` // 0/1 in rows, a bool in the post reply
	WhisperTo   string                     `json:"whisper_to"`
}

var jsonNull = []byte("null")

// parseRow decodes one message row, without checking its signature. A row that does not parse
// still gives its id and seqno, as far as they can be read, so that callers can move past it.
func parseRow(raw json.RawMessage) (Message, error) {
	var j messageJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		id, seqno := rowKeys(raw)
		return Message{ID: id, Seqno: seqno}, fmt.Errorf("%w: message row %d (seqno %d): %w", ErrMalformedReply, id, seqno, err)
	}
	if j.ID == nil {
		return Message{Seqno: j.Seqno}, fmt.Errorf("%w: message row without id (seqno %d)", ErrMalformedReply, j.Seqno)
	}
	m := Message{ID: *j.ID, Seqno: j.Seqno, Posted: floatTime(j.Posted), Edited: floatTime(j.Edited),
		Deleted: bool(j.Deleted), Whisper: bool(j.Whisper), WhisperMods: bool(j.WhisperMods)}
	bad := func(format string, args ...any) (Message, error) {
		return Message{ID: m.ID, Seqno: m.Seqno}, fmt.Errorf("%w: message %d: %s", ErrMalformedReply, m.ID, fmt.Sprintf(format, args...))
	}
	if len(j.Reactions) > 0 {
		m.Reactions = make(map[string]Reaction, len(j.Reactions))
		for emoji, r := range j.Reactions {
			out := Reaction{Index: r.Index, Count: r.Count, You: bool(r.You)}
			for _, s := range r.Reactors {
				id, err := crypto.ParseAccountID(s)
				if err != nil {
					return bad("reactor %q: %v", s, err)
				}
				out.Reactors = append(out.Reactors, id)
			}
			m.Reactions[emoji] = out
		}
	}
	if j.Data == nil { // no data key: a reaction-only row
		m.ReactionsOnly = true
		return m, nil
	}
	if j.SessionID != "" {
		id, err := crypto.ParseAccountID(j.SessionID)
		if err != nil {
			return bad("author: %v", err)
		}
		m.Author = id
	}
	if j.WhisperTo != "" {
		id, err := crypto.ParseAccountID(j.WhisperTo)
		if err != nil {
			return bad("whisper_to: %v", err)
		}
		m.WhisperTo = id
	}
	if bytes.Equal(bytes.TrimSpace(j.Data), jsonNull) {
		m.Deleted = true
		return m, nil
	}
	if m.Deleted {
		return bad("deleted row with data")
	}
	if m.Author.IsZero() {
		return bad("no author")
	}
	var b64 string
	if err := json.Unmarshal(j.Data, &b64); err != nil {
		return bad("data is not a string")
	}
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return bad("data is not base64")
	}
	if len(data) == 0 {
		return bad("empty data")
	}
	sig, err := base64.StdEncoding.DecodeString(j.Signature)
	if err != nil || len(sig) != 64 {
		return bad("signature is not 64 bytes of base64")
	}
	m.Data = data
	copy(m.Signature[:], sig)
	return m, nil
}

// parseMessage decodes one message row and verifies its signature.
func parseMessage(raw json.RawMessage) (Message, error) {
	m, err := parseRow(raw)
	if err != nil {
		return m, err
	}
	if err := verifyRow(&m); err != nil {
		return Message{ID: m.ID, Seqno: m.Seqno}, err
	}
	return m, nil
}

func verifyRow(m *Message) error {
	if m.Data != nil && !VerifyPost(m.Author, m.Data, m.Signature) {
		return fmt.Errorf("%w: message %d by %s", ErrInvalidSignature, m.ID, m.Author)
	}
	return nil
}

// VerifyPost reports whether sig is author's signature of a post's data. 15 (and 25) authors
// sign with their blinded key, which is an ordinary Ed25519 key; 05 authors (on servers that
// do not require blinding) sign with their Ed25519 key, of which the 05 ID fixes all but the
// sign, so both signs are tried.
func VerifyPost(author crypto.AccountID, data []byte, sig [64]byte) bool {
	switch author.Prefix() {
	case crypto.PrefixBlinded15, crypto.PrefixBlinded25, crypto.PrefixUnblinded:
		k := author.Key()
		return ed25519.Verify(k[:], data, sig[:])
	case crypto.PrefixStandard:
		ed, err := crypto.XEd25519PublicKey(author.Key())
		if err != nil {
			return false
		}
		if ed25519.Verify(ed[:], data, sig[:]) {
			return true
		}
		ed[31] ^= 0x80
		return ed25519.Verify(ed[:], data, sig[:])
	}
	return false
}

// ParseMessages decodes a list of message rows (the body of messages/recent, since or before).
// Rows that do not parse or whose signature does not verify are left out and reported in
// skipped, with their id and seqno whenever the row carries them in any readable form (so that
// a poller can always move its cursor past them; see [MaxSeqno]); only a body that is not a JSON
// list is an error (ErrMalformedReply).
func ParseMessages(body []byte) (msgs []Message, skipped []Skipped, err error) {
	var rows []json.RawMessage
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, nil, fmt.Errorf("%w: message list: %w", ErrMalformedReply, err)
	}
	parsed := make([]Message, len(rows))
	errs := make([]error, len(rows))
	for i, raw := range rows {
		parsed[i], errs[i] = parseRow(raw)
	}
	verifyAll(parsed, errs)
	msgs = make([]Message, 0, len(rows))
	for i, m := range parsed {
		if errs[i] != nil {
			skipped = append(skipped, Skipped{ID: m.ID, Seqno: m.Seqno, Err: errs[i]})
			continue
		}
		msgs = append(msgs, m)
	}
	return msgs, skipped, nil
}

// MaxSeqno is the largest seqno among the messages and the skipped rows of a reply: where a
// poll of messages/since continues, whatever did not parse.
func MaxSeqno(msgs []Message, skipped []Skipped) int64 {
	var n int64
	for i := range msgs {
		n = max(n, msgs[i].Seqno)
	}
	for i := range skipped {
		n = max(n, skipped[i].Seqno)
	}
	return n
}

// parallelVerifyMin is the smallest page whose signatures are checked on several cores.
const parallelVerifyMin = 32

// verifyAll checks the signatures of the parsed rows (those without an error yet), on up to
// GOMAXPROCS goroutines for large pages: a full poll is hundreds of Ed25519 verifications, the
// bulk of its CPU time. The goroutines end before it returns.
func verifyAll(msgs []Message, errs []error) {
	workers := min(runtime.GOMAXPROCS(0), len(msgs)/parallelVerifyMin+1)
	if workers <= 1 {
		for i := range msgs {
			if errs[i] == nil {
				errs[i] = verifyRow(&msgs[i])
			}
		}
		return
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(msgs) {
					return
				}
				if errs[i] == nil {
					errs[i] = verifyRow(&msgs[i])
				}
			}
		}()
	}
	wg.Wait()
}

// Pin is a pinned message of a room.
type Pin struct {
	ID       int64
	PinnedAt time.Time
	PinnedBy crypto.AccountID
}

// RoomInfo describes a room (GET /room/<token>).
type RoomInfo struct {
	Token             string
	Name              string
	Description       string
	InfoUpdates       int64
	MessageSequence   int64
	Created           time.Time
	ActiveUsers       int64
	ActiveUsersCutoff time.Duration
	ImageID           int64 // 0: none
	Pinned            []Pin
	Moderators        []crypto.AccountID
	Admins            []crypto.AccountID
	HiddenModerators  []crypto.AccountID // shown to moderators only
	HiddenAdmins      []crypto.AccountID
	// Our permissions and roles.
	Read, Write, Upload bool
	Moderator, Admin    bool
	GlobalModerator     bool
	GlobalAdmin         bool
	// Default permissions of the room (shown to moderators only).
	DefaultRead, DefaultAccessible, DefaultWrite, DefaultUpload bool
}

type pinJSON struct {
	ID       int64   `json:"id"`
	PinnedAt float64 `json:"pinned_at"`
	PinnedBy string  `json:"pinned_by"`
}

type roomJSON struct {
	Token             *string   `json:"token"`
	Name              string    `json:"name"`
	Description       string    `json:"description"`
	InfoUpdates       int64     `json:"info_updates"`
	MessageSequence   int64     `json:"message_sequence"`
	Created           float64   `json:"created"`
	ActiveUsers       int64     `json:"active_users"`
	ActiveUsersCutoff int64     `json:"active_users_cutoff"`
	ImageID           int64     `json:"image_id"`
	Pinned            []pinJSON `json:"pinned_messages"`
	Moderators        []string  `json:"moderators"`
	Admins            []string  `json:"admins"`
	HiddenModerators  []string  `json:"hidden_moderators"`
	HiddenAdmins      []string  `json:"hidden_admins"`
	Read              boolish   `json:"read"`
	Write             boolish   `json:"write"`
	Upload            boolish   `json:"upload"`
	Moderator         boolish   `json:"moderator"`
	Admin             boolish   `json:"admin"`
	GlobalModerator   boolish   `json:"global_moderator"`
	GlobalAdmin       boolish   `json:"global_admin"`
	DefaultRead       boolish   `json:"default_read"`
	DefaultAccessible boolish   `json:"default_accessible"`
	DefaultWrite      boolish   `json:"default_write"`
	DefaultUpload     boolish   `json:"default_upload"`
}

func parseIDs(what string, in []string) ([]crypto.AccountID, error) {
	out := make([]crypto.AccountID, 0, len(in))
	for _, s := range in {
		id, err := crypto.ParseAccountID(s)
		if err != nil {
			return nil, fmt.Errorf("%w: %s %q: %w", ErrMalformedReply, what, s, err)
		}
		out = append(out, id)
	}
	return out, nil
}

func (j *roomJSON) info() (*RoomInfo, error) {
	if j.Token == nil || !ValidRoomToken(*j.Token) {
		return nil, fmt.Errorf("%w: room info without a valid token", ErrMalformedReply)
	}
	r := &RoomInfo{Token: *j.Token, Name: j.Name, Description: j.Description, InfoUpdates: j.InfoUpdates,
		MessageSequence: j.MessageSequence, Created: floatTime(j.Created), ActiveUsers: j.ActiveUsers,
		ImageID: j.ImageID, Read: bool(j.Read), Write: bool(j.Write), Upload: bool(j.Upload), Moderator: bool(j.Moderator),
		Admin: bool(j.Admin), GlobalModerator: bool(j.GlobalModerator), GlobalAdmin: bool(j.GlobalAdmin),
		DefaultRead: bool(j.DefaultRead), DefaultAccessible: bool(j.DefaultAccessible), DefaultWrite: bool(j.DefaultWrite),
		DefaultUpload: bool(j.DefaultUpload)}
	if j.ActiveUsersCutoff > 0 && j.ActiveUsersCutoff < 1<<32 {
		r.ActiveUsersCutoff = time.Duration(j.ActiveUsersCutoff) * time.Second
	}
	var err error
	if r.Moderators, err = parseIDs("moderator", j.Moderators); err != nil {
		return nil, err
	}
	if r.Admins, err = parseIDs("admin", j.Admins); err != nil {
		return nil, err
	}
	if r.HiddenModerators, err = parseIDs("hidden moderator", j.HiddenModerators); err != nil {
		return nil, err
	}
	if r.HiddenAdmins, err = parseIDs("hidden admin", j.HiddenAdmins); err != nil {
		return nil, err
	}
	for _, p := range j.Pinned {
		pin := Pin{ID: p.ID, PinnedAt: floatTime(p.PinnedAt)}
		if p.PinnedBy != "" {
			if pin.PinnedBy, err = crypto.ParseAccountID(p.PinnedBy); err != nil {
				return nil, fmt.Errorf("%w: pinned_by: %w", ErrMalformedReply, err)
			}
		}
		r.Pinned = append(r.Pinned, pin)
	}
	return r, nil
}

// ParseRoomInfo decodes a room info object (GET /room/<token>).
func ParseRoomInfo(body []byte) (*RoomInfo, error) {
	var j roomJSON
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("%w: room info: %w", ErrMalformedReply, err)
	}
	return j.info()
}

// PollInfo is the answer of GET /room/<token>/pollInfo/<info_updates>: the room's activity and
// our permissions, and the full room info when it changed since info_updates.
type PollInfo struct {
	Token               string
	ActiveUsers         int64
	Read, Write, Upload bool
	Moderator, Admin    bool
	// Details is the room's info when its info_updates counter differs from the one asked
	// about; nil otherwise.
	Details *RoomInfo
}

// ParsePollInfo decodes a pollInfo answer.
func ParsePollInfo(body []byte) (*PollInfo, error) {
	var j struct {
		Token       *string   `json:"token"`
		ActiveUsers int64     `json:"active_users"`
		Read        boolish   `json:"read"`
		Write       boolish   `json:"write"`
		Upload      boolish   `json:"upload"`
		Moderator   boolish   `json:"moderator"`
		Admin       boolish   `json:"admin"`
		Details     *roomJSON `json:"details"`
	}
	if err := json.Unmarshal(body, &j); err != nil {
		return nil, fmt.Errorf("%w: pollInfo: %w", ErrMalformedReply, err)
	}
	if j.Token == nil || !ValidRoomToken(*j.Token) {
		return nil, fmt.Errorf("%w: pollInfo without a valid token", ErrMalformedReply)
	}
	p := &PollInfo{Token: *j.Token, ActiveUsers: j.ActiveUsers, Read: bool(j.Read), Write: bool(j.Write), Upload: bool(j.Upload),
		Moderator: bool(j.Moderator), Admin: bool(j.Admin)}
	if j.Details != nil {
		d, err := j.Details.info()
		if err != nil {
			return nil, err
		}
		p.Details = d
	}
	return p, nil
}

// DM is a blinded direct message in our inbox or outbox. Message is still encrypted: see
// Client.OpenDM.
type DM struct {
	ID        int64
	Posted    time.Time
	Expires   time.Time
	Sender    crypto.AccountID // 15-blinded
	Recipient crypto.AccountID // 15-blinded
	Message   []byte           // nil in the answer to SendDM
}

type dmJSON struct {
	ID        *int64  `json:"id"`
	PostedAt  float64 `json:"posted_at"`
	ExpiresAt float64 `json:"expires_at"`
	Sender    string  `json:"sender"`
	Recipient string  `json:"recipient"`
	Message   *string `json:"message"`
}

func parseDM(raw json.RawMessage) (DM, error) {
	var j dmJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		id, _ := rowKeys(raw)
		return DM{ID: id}, fmt.Errorf("%w: DM %d: %w", ErrMalformedReply, id, err)
	}
	if j.ID == nil {
		return DM{}, fmt.Errorf("%w: DM without id", ErrMalformedReply)
	}
	d := DM{ID: *j.ID, Posted: floatTime(j.PostedAt), Expires: floatTime(j.ExpiresAt)}
	var err error
	if d.Sender, err = crypto.ParseAccountID(j.Sender); err != nil {
		return DM{ID: d.ID}, fmt.Errorf("%w: DM %d sender: %w", ErrMalformedReply, d.ID, err)
	}
	if d.Recipient, err = crypto.ParseAccountID(j.Recipient); err != nil {
		return DM{ID: d.ID}, fmt.Errorf("%w: DM %d recipient: %w", ErrMalformedReply, d.ID, err)
	}
	if j.Message != nil {
		if d.Message, err = base64.StdEncoding.DecodeString(*j.Message); err != nil {
			return DM{ID: d.ID}, fmt.Errorf("%w: DM %d message is not base64", ErrMalformedReply, d.ID)
		}
	}
	return d, nil
}

// ParseDMs decodes a list of DMs (the body of inbox or outbox). An empty body (the 304 of
// inbox/since) is an empty list; DMs that do not parse are reported in skipped, with their id
// whenever it can be read.
func ParseDMs(body []byte) (dms []DM, skipped []Skipped, err error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil, nil
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(body, &rows); err != nil {
		return nil, nil, fmt.Errorf("%w: DM list: %w", ErrMalformedReply, err)
	}
	for _, raw := range rows {
		d, err := parseDM(raw)
		if err != nil {
			skipped = append(skipped, Skipped{ID: d.ID, Err: err})
			continue
		}
		dms = append(dms, d)
	}
	return dms, skipped, nil
}
