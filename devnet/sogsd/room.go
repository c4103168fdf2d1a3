package sogsd

import (
	"encoding/base64"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
)

// Permissions are what a user may do in a room. Upload also needs Write; Read implies
// Accessible (a room that is accessible but not readable shows its info but not its messages).
type Permissions struct {
	Read, Accessible, Write, Upload bool
}

// AllPermissions lets everyone read, write and upload (the default of a new room).
func AllPermissions() Permissions {
	return Permissions{Read: true, Accessible: true, Write: true, Upload: true}
}

// ReadOnly lets everyone read but not write.
func ReadOnly() Permissions { return Permissions{Read: true, Accessible: true} }

// RoomConfig describes a room to create.
type RoomConfig struct {
	Token       string // [\w-]{1,64}
	Name        string // defaults to the token
	Description string
	// Defaults are the permissions of users without overrides (nil: AllPermissions).
	Defaults *Permissions
}

type modRole struct{ admin, visible bool }

// override is a per-user permission override; nil fields follow the room's defaults.
type override struct{ read, accessible, write, upload *bool }

type room struct {
	id          int64
	token       string
	name        string
	description string
	created     time.Time
	infoUpdates int64
	seq         int64
	defaults    Permissions
	overrides   map[crypto.AccountID]*override
	bans        map[crypto.AccountID]time.Time // zero: permanent
	mods        map[crypto.AccountID]modRole
	msgs        []*message // by id
	byID        map[int64]*message
	pins        []pin
	files       map[int64]*roomFile
	imageID     int64
	active      map[crypto.AccountID]time.Time
	posts       map[crypto.AccountID][]time.Time
	future      []*futurePerm
}

type pin struct {
	id       int64
	pinnedAt time.Time
	pinnedBy crypto.AccountID
}

type roomFile struct {
	id       int64
	name     string
	data     []byte
	uploaded time.Time
	expires  time.Time // zero: never (the room image)
	uploader crypto.AccountID
}

type message struct {
	id           int64
	author       crypto.AccountID
	posted       time.Time
	edited       time.Time
	seqno        int64 // last change of any kind
	seqnoData    int64 // last change of the content (post, edit, delete)
	seqnoCreated int64 // the post
	data         []byte
	sig          []byte
	deleted      bool
	whisperTo    *crypto.AccountID
	whisperMods  bool
	reactions    []*reaction // in order of first use: their index
	files        []int64
}

type reaction struct {
	emoji    string
	reactors []reactor // in order of reacting
}

type reactor struct {
	id crypto.AccountID
	at time.Time
}

// Message is a snapshot of a room message, for tests.
type Message struct {
	ID        int64
	Seqno     int64
	Author    crypto.AccountID
	Posted    time.Time
	Edited    time.Time // zero when never edited
	Data      []byte    // nil when deleted
	Signature []byte
	Deleted   bool
	Whisper   bool
	Reactions map[string][]crypto.AccountID
}

func (m *message) snapshot() Message {
	out := Message{ID: m.id, Seqno: m.seqno, Author: m.author, Posted: m.posted, Edited: m.edited,
		Deleted: m.deleted, Whisper: m.whisperTo != nil || m.whisperMods, Reactions: map[string][]crypto.AccountID{}}
	if !m.deleted {
		out.Data = append([]byte(nil), m.data...)
		out.Signature = append([]byte(nil), m.sig...)
	}
	for _, r := range m.reactions {
		for _, x := range r.reactors {
			out.Reactions[r.emoji] = append(out.Reactions[r.emoji], x.id)
		}
	}
	return out
}

// CreateRoom creates a room.
func (s *Server) CreateRoom(rc RoomConfig) error {
	if !tokenRE.MatchString(rc.Token) {
		return fmt.Errorf("%w: %q", ErrInvalidToken, rc.Token)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if _, ok := s.rooms[rc.Token]; ok {
		return fmt.Errorf("%w: %s", ErrRoomExists, rc.Token)
	}
	def := AllPermissions()
	if rc.Defaults != nil {
		def = *rc.Defaults
	}
	name := rc.Name
	if name == "" {
		name = rc.Token
	}
	s.nextRoom++
	r := &room{
		id: s.nextRoom, token: rc.Token, name: name, description: rc.Description, created: s.Now(),
		infoUpdates: 1, defaults: def,
		overrides: map[crypto.AccountID]*override{}, bans: map[crypto.AccountID]time.Time{},
		mods: map[crypto.AccountID]modRole{}, byID: map[int64]*message{}, files: map[int64]*roomFile{},
		active: map[crypto.AccountID]time.Time{}, posts: map[crypto.AccountID][]time.Time{},
	}
	s.rooms[rc.Token] = r
	s.roomList = append(s.roomList, r)
	return nil
}

// Rooms lists the room tokens in creation order.
func (s *Server) Rooms() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, len(s.roomList))
	for i, r := range s.roomList {
		out[i] = r.token
	}
	return out
}

func (s *Server) roomLocked(token string) (*room, error) {
	r, ok := s.rooms[token]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNoRoom, token)
	}
	return r, nil
}

// AddModerator makes a user a moderator of a room (or, with admin, an administrator). Hidden
// moderators are listed only to moderators.
func (s *Server) AddModerator(token string, id crypto.AccountID, admin, hidden bool) error {
	return s.withRoom(token, func(r *room) error {
		s.touchLocked(id, s.Now())
		r.mods[id] = modRole{admin: admin, visible: !hidden}
		r.infoUpdates++
		return nil
	})
}

// withRoom runs f on a room under the server's lock.
func (s *Server) withRoom(token string, f func(r *room) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roomLocked(token)
	if err != nil {
		return err
	}
	return f(r)
}

// RemoveModerator removes a room moderator or administrator.
func (s *Server) RemoveModerator(token string, id crypto.AccountID) error {
	return s.withRoom(token, func(r *room) error {
		if _, ok := r.mods[id]; ok {
			delete(r.mods, id)
			r.infoUpdates++
		}
		return nil
	})
}

// SetUserPermissions overrides all four permissions of one user in a room.
func (s *Server) SetUserPermissions(token string, id crypto.AccountID, p Permissions) error {
	return s.withRoom(token, func(r *room) error {
		s.touchLocked(id, s.Now())
		r.overrides[id] = &override{read: &p.Read, accessible: &p.Accessible, write: &p.Write, upload: &p.Upload}
		return nil
	})
}

// Ban bans a user from a room for d (0: until Unban).
func (s *Server) Ban(token string, id crypto.AccountID, d time.Duration) error {
	return s.withRoom(token, func(r *room) error {
		s.banLocked(r, id, d)
		return nil
	})
}

func (s *Server) banLocked(r *room, id crypto.AccountID, d time.Duration) {
	now := s.Now()
	s.touchLocked(id, now)
	var until time.Time
	if d > 0 {
		until = now.Add(d)
	}
	r.bans[id] = until
}

// Unban lifts a room ban.
func (s *Server) Unban(token string, id crypto.AccountID) error {
	return s.withRoom(token, func(r *room) error {
		delete(r.bans, id)
		return nil
	})
}

// Post is a message to add with Server.Post.
type Post struct {
	Author      crypto.AccountID
	Data        []byte // the padded Content, as clients post it
	Signature   []byte // 64 bytes; the server does not check it (as pysogs does not)
	Files       []int64
	WhisperTo   *crypto.AccountID
	WhisperMods bool
}

// Post adds a message to a room as if its author had posted it (no permission or rate checks).
func (s *Server) Post(token string, p Post) (Message, error) {
	if len(p.Data) == 0 || len(p.Signature) != 64 {
		return Message{}, fmt.Errorf("%w: post needs data and a 64-byte signature", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roomLocked(token)
	if err != nil {
		return Message{}, err
	}
	now := s.Now()
	s.touchLocked(p.Author, now)
	m := s.postLocked(r, p, now)
	return m.snapshot(), nil
}

// PostAs posts data as the owner of keys, signed with their 15-blinded key on this server, the
// way a client posts.
func (s *Server) PostAs(token string, keys *crypto.Keys, data []byte) (Message, error) {
	kp, err := blinding.Blind15KeyPair(keys, s.PublicKey())
	if err != nil {
		return Message{}, err
	}
	sig := kp.Sign(data)
	return s.Post(token, Post{Author: kp.ID(), Data: data, Signature: sig[:]})
}

func (s *Server) postLocked(r *room, p Post, now time.Time) *message {
	s.nextMsg++
	r.seq++
	m := &message{id: s.nextMsg, author: p.Author, posted: now, seqno: r.seq, seqnoData: r.seq, seqnoCreated: r.seq,
		data: append([]byte(nil), p.Data...), sig: append([]byte(nil), p.Signature...),
		whisperMods: p.WhisperMods, files: append([]int64(nil), p.Files...)}
	if p.WhisperTo != nil {
		w := *p.WhisperTo
		m.whisperTo = &w
	}
	for _, fid := range p.Files {
		if f, ok := r.files[fid]; ok && !f.expires.IsZero() {
			f.expires = now.Add(PostedFileTTL)
		}
	}
	r.msgs = append(r.msgs, m)
	r.byID[m.id] = m
	return m
}

// Messages returns every message of a room, deleted ones included, in id order.
func (s *Server) Messages(token string) ([]Message, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roomLocked(token)
	if err != nil {
		return nil, err
	}
	out := make([]Message, len(r.msgs))
	for i, m := range r.msgs {
		out[i] = m.snapshot()
	}
	return out, nil
}

func (r *room) liveMessage(id int64) *message {
	m, ok := r.byID[id]
	if !ok || m.deleted {
		return nil
	}
	return m
}

// EditMessage replaces a message's data and signature, bumping its seqno.
func (s *Server) EditMessage(token string, id int64, data, sig []byte) error {
	if len(data) == 0 || len(sig) != 64 {
		return fmt.Errorf("%w: edit needs data and a 64-byte signature", ErrInvalid)
	}
	return s.withMessage(token, id, func(r *room, m *message) { s.editLocked(r, m, data, sig, nil) })
}

// withMessage runs f on a message that is not deleted, under the server's lock.
func (s *Server) withMessage(token string, id int64, f func(r *room, m *message)) error {
	return s.withRoom(token, func(r *room) error {
		m := r.liveMessage(id)
		if m == nil {
			return ErrNoMessage
		}
		f(r, m)
		return nil
	})
}

func (s *Server) editLocked(r *room, m *message, data, sig []byte, files []int64) {
	now := s.Now()
	r.seq++
	m.seqno, m.seqnoData = r.seq, r.seq
	m.data = append([]byte(nil), data...)
	m.sig = append([]byte(nil), sig...)
	m.edited = now
	for _, fid := range files {
		if f, ok := r.files[fid]; ok && !f.expires.IsZero() {
			f.expires = now.Add(PostedFileTTL)
		}
	}
}

// DeleteMessage deletes a message: its data and reactions go, its seqno is bumped, and polls
// see it as deleted.
func (s *Server) DeleteMessage(token string, id int64) error {
	return s.withMessage(token, id, s.deleteLocked)
}

func (s *Server) deleteLocked(r *room, m *message) {
	r.seq++
	m.seqno, m.seqnoData = r.seq, r.seq
	m.deleted = true
	m.edited = s.Now() // pysogs's deletion rows carry the time as edited
	m.data, m.sig, m.reactions = nil, nil, nil
	for i, p := range r.pins {
		if p.id == m.id {
			r.pins = append(r.pins[:i], r.pins[i+1:]...)
			r.infoUpdates++
			break
		}
	}
}

// validReaction: 1 to 12 code points of valid UTF-8.
func validReaction(e string) bool {
	n := utf8.RuneCountInString(e)
	return utf8.ValidString(e) && n >= 1 && n <= 12
}

// React adds a user's reaction to a message; it reports whether it was new.
func (s *Server) React(token string, id int64, who crypto.AccountID, emoji string) (bool, error) {
	if !validReaction(emoji) {
		return false, fmt.Errorf("%w: reaction %q", ErrInvalid, emoji)
	}
	var added bool
	err := s.withMessage(token, id, func(r *room, m *message) {
		s.touchLocked(who, s.Now())
		added = s.reactLocked(r, m, who, emoji)
	})
	return added, err
}

func (s *Server) reactLocked(r *room, m *message, who crypto.AccountID, emoji string) bool {
	var re *reaction
	for _, x := range m.reactions {
		if x.emoji == emoji {
			re = x
			break
		}
	}
	if re == nil {
		re = &reaction{emoji: emoji}
		m.reactions = append(m.reactions, re)
	}
	for _, x := range re.reactors {
		if x.id == who {
			return false
		}
	}
	re.reactors = append(re.reactors, reactor{id: who, at: s.Now()})
	r.seq++
	m.seqno = r.seq
	return true
}

// unreactLocked removes reactions: one user's (who != nil) or everyone's, of one emoji (emoji
// != "") or all. It returns how many were removed; the seqno moves only when something was.
func (s *Server) unreactLocked(r *room, m *message, who *crypto.AccountID, emoji string) int {
	removed := 0
	kept := m.reactions[:0]
	for _, re := range m.reactions {
		if emoji == "" || re.emoji == emoji {
			if who == nil {
				removed += len(re.reactors)
				re.reactors = nil
			} else {
				for i, x := range re.reactors {
					if x.id == *who {
						re.reactors = append(re.reactors[:i], re.reactors[i+1:]...)
						removed++
						break
					}
				}
			}
		}
		if len(re.reactors) > 0 {
			kept = append(kept, re)
		}
	}
	for i := len(kept); i < len(m.reactions); i++ {
		m.reactions[i] = nil
	}
	m.reactions = kept
	if removed > 0 {
		r.seq++
		m.seqno = r.seq
	}
	return removed
}

// Populate creates rooms "room-0" … "room-<rooms-1>" (open to everyone) holding perRoom
// messages each, posted and signed by author: the fixture of the 5×100 poll benchmark. It
// returns the tokens. Message i of a room carries the data "msg <i>" padded the Session way.
func (s *Server) Populate(rooms, perRoom int, author *crypto.Keys) ([]string, error) {
	tokens := make([]string, 0, rooms)
	for i := 0; i < rooms; i++ {
		tok := fmt.Sprintf("room-%d", i)
		if err := s.CreateRoom(RoomConfig{Token: tok, Name: fmt.Sprintf("Room %d", i)}); err != nil {
			return nil, err
		}
		for j := 0; j < perRoom; j++ {
			if _, err := s.PostAs(tok, author, Pad([]byte(fmt.Sprintf("msg %d", j)))); err != nil {
				return nil, err
			}
		}
		tokens = append(tokens, tok)
	}
	return tokens, nil
}

// Pad pads data the Session way (0x80, then zeros up to a multiple of 160 bytes), as clients
// pad the Content they post.
func Pad(data []byte) []byte {
	n := (len(data)/160 + 1) * 160
	out := make([]byte, n)
	copy(out, data)
	out[len(data)] = 0x80
	return out
}

// perms is what a user (nil: anonymous) may do in a room, and their roles.
type perms struct {
	Permissions
	moderator, admin             bool // room or global
	globalModerator, globalAdmin bool
	banned                       bool
}

func (s *Server) permsLocked(r *room, u *crypto.AccountID, now time.Time) perms {
	r.applyFutureLocked(now)
	var p perms
	if u == nil {
		p.Permissions = r.defaults
		p.Write, p.Upload = false, false
		p.Accessible = p.Accessible || p.Read
		return p
	}
	if g, ok := s.globalMods[*u]; ok {
		p.globalModerator, p.moderator = true, true
		p.globalAdmin, p.admin = g.admin, g.admin
	}
	if m, ok := r.mods[*u]; ok {
		p.moderator = true
		p.admin = p.admin || m.admin
	}
	if p.moderator {
		p.Permissions = AllPermissions()
		return p
	}
	if until, ok := r.bans[*u]; ok {
		if until.IsZero() || now.Before(until) {
			p.banned = true
			return p
		}
		delete(r.bans, *u)
	}
	if usr := s.users[*u]; usr != nil && usr.bannedAt(now) {
		p.banned = true
		return p
	}
	p.Permissions = r.defaults
	if o := r.overrides[*u]; o != nil {
		set := func(dst *bool, v *bool) {
			if v != nil {
				*dst = *v
			}
		}
		set(&p.Read, o.read)
		set(&p.Accessible, o.accessible)
		set(&p.Write, o.write)
		set(&p.Upload, o.upload)
	}
	p.Upload = p.Upload && p.Write
	p.Accessible = p.Accessible || p.Read
	return p
}

func (s *Server) isModLocked(r *room, u crypto.AccountID) bool {
	if _, ok := s.globalMods[u]; ok {
		return true
	}
	_, ok := r.mods[u]
	return ok
}

// visibleTo: whispers are shown to their author, their recipient and (whisper_mods) moderators.
func (m *message) visibleTo(viewer *crypto.AccountID, mod bool) bool {
	if m.whisperTo == nil && !m.whisperMods {
		return true
	}
	if viewer == nil {
		return false
	}
	if m.author == *viewer || (m.whisperTo != nil && *m.whisperTo == *viewer) {
		return true
	}
	return m.whisperMods && mod
}

// ts is a time as pysogs writes it: float seconds.
func ts(t time.Time) pyFloat { return pyFloat(float64(t.UnixMilli()) / 1000) }

type reactionJSON struct {
	Index    int      `json:"index"`
	Count    int      `json:"count"`
	Reactors []string `json:"reactors,omitempty"`
	You      bool     `json:"you,omitempty"`
}

// reactionsJSON is the reactions object of a message row.
func reactionsJSON(m *message, viewer *crypto.AccountID, reactors int) map[string]reactionJSON {
	out := make(map[string]reactionJSON, len(m.reactions))
	for i, re := range m.reactions {
		o := reactionJSON{Index: i, Count: len(re.reactors)}
		if reactors > 0 {
			n := min(reactors, len(re.reactors))
			o.Reactors = make([]string, 0, n)
			for _, x := range re.reactors[:n] {
				o.Reactors = append(o.Reactors, x.id.String())
			}
		}
		if viewer != nil {
			for _, x := range re.reactors {
				if x.id == *viewer {
					o.You = true
					break
				}
			}
		}
		out[re.emoji] = o
	}
	return out
}

// msgJSON is a message row as pysogs sends it. Data is null for a deleted message, which then
// has no signature or reactions (but edited: the time of the deletion). Whisper fields appear
// only on whispers: whisper true, whisper_mods as SQLite gives it (0 or 1) in rows read back,
// a bool in the reply to the post.
type msgJSON struct {
	ID          int64    `json:"id"`
	SessionID   string   `json:"session_id"`
	Posted      pyFloat  `json:"posted"`
	Seqno       int64    `json:"seqno"`
	Data        *string  `json:"data"`
	Deleted     bool     `json:"deleted,omitempty"`
	Signature   string   `json:"signature,omitempty"`
	Edited      *pyFloat `json:"edited,omitempty"`
	Whisper     bool     `json:"whisper,omitempty"`
	WhisperMods any      `json:"whisper_mods,omitempty"`
	WhisperTo   string   `json:"whisper_to,omitempty"`
	Reactions   any      `json:"reactions,omitempty"`
}

// reactionRow is a reaction-only row of messages/since?t=r: no data key at all.
type reactionRow struct {
	ID        int64                   `json:"id"`
	Seqno     int64                   `json:"seqno"`
	Reactions map[string]reactionJSON `json:"reactions"`
}

// messageJSON is a full message row; seqno is the one the caller reports.
func messageJSON(m *message, seqno int64, viewer *crypto.AccountID, reactors int) msgJSON {
	o := msgJSON{ID: m.id, SessionID: m.author.String(), Posted: ts(m.posted), Seqno: seqno}
	if !m.edited.IsZero() {
		e := ts(m.edited)
		o.Edited = &e
	}
	if m.deleted {
		o.Deleted = true
		return o
	}
	d := base64.StdEncoding.EncodeToString(m.data)
	o.Data = &d
	o.Signature = base64.StdEncoding.EncodeToString(m.sig)
	o.Reactions = reactionsJSON(m, viewer, reactors)
	if m.whisperTo != nil || m.whisperMods {
		o.Whisper = true
		o.WhisperMods = 0
		if m.whisperMods {
			o.WhisperMods = 1
		}
		if m.whisperTo != nil {
			o.WhisperTo = m.whisperTo.String()
		}
	}
	return o
}

// postReplyJSON is the 201 reply to a post: the row, with whisper_mods as a bool.
func postReplyJSON(m *message) msgJSON {
	o := messageJSON(m, m.seqno, nil, 0)
	if o.Whisper {
		o.WhisperMods = m.whisperMods
	}
	return o
}

// roomInfoLocked is the room object of GET /room/<token>.
func (s *Server) roomInfoLocked(r *room, viewer *crypto.AccountID, p perms, now time.Time) map[string]any {
	o := map[string]any{
		"token":               r.token,
		"name":                r.name,
		"info_updates":        r.infoUpdates,
		"message_sequence":    r.seq,
		"created":             ts(r.created),
		"active_users":        r.activeUsers(now),
		"active_users_cutoff": int64(ActiveUsersCutoff / time.Second),
		"read":                p.Read,
		"write":               p.Write,
		"upload":              p.Upload,
	}
	if r.description != "" {
		o["description"] = r.description
	}
	if r.imageID != 0 {
		o["image_id"] = r.imageID
	}
	if len(r.pins) > 0 { // omitted when there are none
		pins := make([]map[string]any, 0, len(r.pins))
		for _, pn := range r.pins {
			pins = append(pins, map[string]any{"id": pn.id, "pinned_at": ts(pn.pinnedAt), "pinned_by": pn.pinnedBy.String()})
		}
		o["pinned_messages"] = pins
	}
	var mods, admins, hmods, hadmins []string
	add := func(id crypto.AccountID, role modRole) {
		switch {
		case role.admin && role.visible:
			admins = append(admins, id.String())
		case role.admin:
			hadmins = append(hadmins, id.String())
		case role.visible:
			mods = append(mods, id.String())
		default:
			hmods = append(hmods, id.String())
		}
	}
	seen := map[crypto.AccountID]bool{}
	for id, role := range r.mods {
		if g, ok := s.globalMods[id]; ok {
			role.admin = role.admin || g.admin
			role.visible = role.visible || g.visible
		}
		seen[id] = true
		add(id, role)
	}
	for id, role := range s.globalMods {
		if !seen[id] {
			add(id, role)
		}
	}
	sorted := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		sort.Strings(l)
		return l
	}
	o["moderators"] = sorted(mods)
	o["admins"] = sorted(admins)
	// Hidden moderators and admins: to moderators only, and only when there are some.
	if p.moderator && len(hmods) > 0 {
		o["hidden_moderators"] = sorted(hmods)
	}
	if p.moderator && len(hadmins) > 0 {
		o["hidden_admins"] = sorted(hadmins)
	}
	addRoleFields(o, r, p)
	return o
}

// addRoleFields adds what room info and pollInfo tell about the caller's roles: for moderators
// moderator and the room's default permissions, then admin, global_moderator, global_admin,
// each only when true.
func addRoleFields(o map[string]any, r *room, p perms) {
	if p.moderator {
		o["moderator"] = true
		o["default_read"] = r.defaults.Read
		o["default_accessible"] = r.defaults.Accessible
		o["default_write"] = r.defaults.Write
		o["default_upload"] = r.defaults.Upload
	}
	if p.admin {
		o["admin"] = true
	}
	if p.globalModerator {
		o["global_moderator"] = true
	}
	if p.globalAdmin {
		o["global_admin"] = true
	}
}

func (r *room) activeUsers(now time.Time) int {
	n := 0
	for id, t := range r.active {
		if now.Sub(t) <= ActiveUsersCutoff {
			n++
		} else {
			delete(r.active, id)
		}
	}
	return n
}
