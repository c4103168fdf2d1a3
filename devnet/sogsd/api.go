package sogsd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

// call is one request being served: the request, who sent it (nil: anonymous) and the time.
type call struct {
	r     *v4srv.Request
	user  *crypto.AccountID
	now   time.Time
	inSub bool // a subrequest of /batch or /sequence
}

// handle is the server's entry point: authentication (once, on the outermost request), then the
// route.
func (s *Server) handle(ctx context.Context, r *v4srv.Request) *v4srv.Response {
	h := blinding.HeadersFromHTTP(r.Header)
	id, err := s.verifier.Verify(h, r.Method, r.SignedPath(), r.Body)
	c := &call{r: r, now: s.Now()}
	switch {
	case err == nil:
		c.user = &id
		s.mu.Lock()
		s.touchLocked(id, c.now)
		s.mu.Unlock()
	case errors.Is(err, blinding.ErrNoAuth):
		// No header, or all four empty (pysogs counts an empty header as missing): anonymous.
	default:
		var re *blinding.RequestError
		if errors.As(err, &re) {
			return authRefusal(re, h)
		}
		return respBadRequestPage()
	}
	return s.route(ctx, c)
}

func (s *Server) capabilities(c *call) *v4srv.Response {
	caps := []string{"reactions", "sogs"}
	if !s.cfg.unblinded {
		caps = append(caps, "blind")
	}
	sort.Strings(caps)
	out := map[string]any{"capabilities": caps}
	if req := c.r.Query().Get("required"); req != "" {
		var missing []string
		for _, want := range strings.Split(req, ",") {
			if want == "" {
				continue
			}
			found := false
			for _, have := range caps {
				found = found || have == want
			}
			if !found {
				missing = append(missing, want)
			}
		}
		if len(missing) > 0 {
			out["missing"] = missing
			return v4srv.JSON(http.StatusPreconditionFailed, out)
		}
	}
	return v4srv.JSON(http.StatusOK, out)
}

func (s *Server) listRooms(c *call) *v4srv.Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for _, r := range s.roomList {
		p := s.permsLocked(r, c.user, c.now)
		if !p.Accessible {
			continue
		}
		out = append(out, s.roomInfoLocked(r, c.user, p, c.now))
	}
	return v4srv.JSON(http.StatusOK, out)
}

func parseID(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// intParam reads a query integer clamped to lo..hi, or def when absent or not an integer.
func intParam(q url.Values, name string, def, lo, hi int) int {
	v, err := strconv.Atoi(q.Get(name))
	if err != nil {
		return def
	}
	return max(lo, min(hi, v))
}

func (s *Server) pollInfoLocked(c *call, r *room, p perms, since int64) *v4srv.Response {
	if !p.Read {
		return respReadNeeded()
	}
	o := map[string]any{"token": r.token, "active_users": r.activeUsers(c.now), "read": p.Read, "write": p.Write, "upload": p.Upload}
	if since != r.infoUpdates {
		o["details"] = s.roomInfoLocked(r, c.user, p, c.now)
	}
	addRoleFields(o, r, p)
	return v4srv.JSON(http.StatusOK, o)
}

// listMessagesLocked serves messages/recent, messages/before/<n> and messages/since/<n>.
func (s *Server) listMessagesLocked(c *call, r *room, p perms, kind string, n int64) *v4srv.Response {
	before, since := n, n
	if !p.Read {
		return respReadNeeded()
	}
	q := c.r.Query()
	limit := intParam(q, "limit", 100, 1, 256)
	reactors := intParam(q, "reactors", 4, 0, 20)
	mod := p.moderator
	out := []any{}
	switch kind {
	case "recent", "before":
		if kind == "recent" {
			before = 1<<63 - 1
		}
		for i := len(r.msgs) - 1; i >= 0 && len(out) < limit; i-- {
			m := r.msgs[i]
			if m.deleted || m.id >= before || !m.visibleTo(c.user, mod) {
				continue
			}
			out = append(out, messageJSON(m, m.seqno, c.user, reactors))
		}
	case "since":
		withReactions := q.Get("t") == "r"
		var rows []*message
		for _, m := range r.msgs {
			seq := m.seqnoData
			if withReactions {
				seq = m.seqno
			}
			// Deletions only of messages the poller can know (created at or before since).
			if seq > since && m.visibleTo(c.user, mod) && (!m.deleted || m.seqnoCreated <= since) && (withReactions || m.seqnoData > since) {
				rows = append(rows, m)
			}
		}
		sort.Slice(rows, func(i, j int) bool { return rows[i].seqno < rows[j].seqno })
		for _, m := range rows[:min(limit, len(rows))] {
			if withReactions && m.seqnoData <= since {
				out = append(out, reactionRow{ID: m.id, Seqno: m.seqno, Reactions: reactionsJSON(m, c.user, reactors)})
				continue
			}
			out = append(out, messageJSON(m, m.seqno, c.user, reactors))
		}
	}
	return v4srv.JSON(http.StatusOK, out)
}

func (s *Server) getMessageLocked(c *call, r *room, p perms, id int64) *v4srv.Response {
	if !p.Read {
		return respReadNeeded()
	}
	m := r.liveMessage(id)
	if m == nil || !m.visibleTo(c.user, p.moderator) {
		return respNotFound()
	}
	reactors := intParam(c.r.Query(), "reactors", 4, 0, 20)
	return v4srv.JSON(http.StatusOK, messageJSON(m, m.seqno, c.user, reactors))
}

// decodeJSON reads a JSON body. As in pysogs (Flask's request.json), the request must say
// Content-Type: application/json; over onion v4 there is no default, so a client that leaves
// it out is refused here as it would be live (spec gotcha G5).
func decodeJSON(r *v4srv.Request, v any) bool {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return false
	}
	return len(r.Body) > 0 && json.Unmarshal(r.Body, v) == nil
}

// decodeB64 reads base64 as pysogs's decode_base64 does: padded or not, nothing else.
func decodeB64(s string) ([]byte, bool) {
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil || (strings.Contains(s, "=") && len(s)%4 != 0) {
		return nil, false
	}
	return b, true
}

type postBody struct {
	Data        *string         `json:"data"`
	Signature   *string         `json:"signature"`
	WhisperTo   *string         `json:"whisper_to"`
	WhisperMods json.RawMessage `json:"whisper_mods"`
	Files       []json.Number   `json:"files"`
}

// decode reads a post or edit body the way pysogs's route does before the model sees it: data
// and signature that are missing or not base64, or file ids that are not integers, raise in
// the route (500); a signature that is not 64 bytes is InvalidData (400).
func (b *postBody) decode() (data, sig []byte, files []int64, fail *v4srv.Response) {
	if b.Data == nil || b.Signature == nil {
		return nil, nil, nil, respServerError()
	}
	data, ok1 := decodeB64(*b.Data)
	sig, ok2 := decodeB64(*b.Signature)
	if !ok1 || !ok2 {
		return nil, nil, nil, respServerError()
	}
	for _, f := range b.Files {
		id, err := f.Int64()
		if err != nil {
			return nil, nil, nil, respServerError()
		}
		files = append(files, id)
	}
	return data, sig, files, nil
}

// whisperMods is Python's bool(whisper_mods): false for a missing, null, false, 0 or empty
// value.
func (b *postBody) whisperMods() bool {
	switch strings.TrimSpace(string(b.WhisperMods)) {
	case "", "null", "false", "0", "0.0", `""`, "[]", "{}":
		return false
	}
	return true
}

func (s *Server) isAdminLocked(r *room, u crypto.AccountID) bool {
	return s.globalMods[u].admin || r.mods[u].admin
}

// rateLimitedLocked applies the post rate limit; administrators are exempt (spec section 4).
func (s *Server) rateLimitedLocked(r *room, u crypto.AccountID, now time.Time) bool {
	if s.cfg.postLimit <= 0 || s.isAdminLocked(r, u) {
		return false
	}
	recent := r.posts[u][:0]
	for _, t := range r.posts[u] {
		if now.Sub(t) < s.cfg.postWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) >= s.cfg.postLimit {
		r.posts[u] = recent
		return true
	}
	r.posts[u] = append(recent, now)
	return false
}

// readPost checks a post or an edit as pysogs's routes and model do, in their order: a user
// (401), a JSON body (400), data and signature that decode (500, see decode), write
// permission (BadPermission), then a 64-byte signature (InvalidData).
func readPost(c *call, p perms) (b postBody, data, sig []byte, files []int64, fail *v4srv.Response) {
	switch {
	case c.user == nil:
		return b, nil, nil, nil, respAuthNeeded()
	case !decodeJSON(c.r, &b):
		return b, nil, nil, nil, respBadRequestPage()
	}
	if data, sig, files, fail = b.decode(); fail != nil {
		return b, nil, nil, nil, fail
	}
	switch {
	case !p.Write:
		fail = respPermission()
	case len(sig) != 64 || len(data) == 0:
		fail = respInvalidData()
	}
	return b, data, sig, files, fail
}

func (s *Server) postMessageLocked(c *call, r *room, p perms) *v4srv.Response {
	b, data, sig, files, fail := readPost(c, p)
	if fail != nil {
		return fail
	}
	post := Post{Author: *c.user, Data: data, Signature: sig, Files: files, WhisperMods: b.whisperMods()}
	if b.WhisperTo != nil && *b.WhisperTo != "" {
		to, err := crypto.ParseAccountID(*b.WhisperTo)
		if err != nil {
			return respInvalidData()
		}
		post.WhisperTo = &to
	}
	if (post.WhisperTo != nil || post.WhisperMods) && !p.moderator {
		return respPermission()
	}
	if s.rateLimitedLocked(r, *c.user, c.now) {
		return respRateLimited()
	}
	m := s.postLocked(r, post, c.now)
	return v4srv.JSON(http.StatusCreated, postReplyJSON(m))
}

func (s *Server) editMessageLocked(c *call, r *room, p perms, id int64) *v4srv.Response {
	_, data, sig, files, fail := readPost(c, p)
	if fail != nil {
		return fail
	}
	m := r.liveMessage(id)
	if m == nil {
		// pysogs raises NoSuchPost() without its argument here: a TypeError, so a 500.
		return respServerError()
	}
	if m.author != *c.user {
		return respPermission()
	}
	s.editLocked(r, m, data, sig, files)
	return respEmpty()
}

func (s *Server) deleteMessageLocked(c *call, r *room, p perms, id int64) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.Write {
		return respForbiddenPage()
	}
	m := r.liveMessage(id)
	if m == nil {
		return respNotFound()
	}
	if !p.moderator && m.author != *c.user {
		return respPermission()
	}
	s.deleteLocked(r, m)
	return respEmpty()
}

// reactionTarget is pysogs's check of a reaction request: the reaction is 1 to 12 code points
// (InvalidData), the user may read (BadPermission, or moderate when mod), and the message is a
// regular one: live, not a whisper (NoSuchPost).
func (s *Server) reactionTarget(c *call, r *room, p perms, id int64, emoji string, needUser, mod, allowNone bool) (*message, *v4srv.Response) {
	if emoji == "" && !allowNone || emoji != "" && !validReaction(emoji) {
		return nil, respInvalidData()
	}
	if needUser && c.user == nil {
		return nil, respPermission()
	}
	if mod && !p.moderator || !mod && !p.Read {
		return nil, respPermission()
	}
	m := r.liveMessage(id)
	if m == nil || m.whisperTo != nil || m.whisperMods {
		return nil, respNoSuchPost(id)
	}
	return m, nil
}

func (s *Server) reactionLocked(c *call, r *room, p perms, id int64, emoji string, add bool) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.Read {
		return respReadNeeded()
	}
	m, fail := s.reactionTarget(c, r, p, id, emoji, true, false, false)
	if fail != nil {
		return fail
	}
	if add {
		added := s.reactLocked(r, m, *c.user, emoji)
		return v4srv.JSON(http.StatusOK, map[string]any{"added": added, "seqno": m.seqno})
	}
	removed := s.unreactLocked(r, m, c.user, emoji) > 0
	return v4srv.JSON(http.StatusOK, map[string]any{"removed": removed, "seqno": m.seqno})
}

func (s *Server) clearReactionsLocked(c *call, r *room, p perms, id int64, emoji string, one bool) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.moderator {
		return respModNeeded(false)
	}
	if one && emoji == "" {
		return respInvalidData()
	}
	m, fail := s.reactionTarget(c, r, p, id, emoji, true, true, true)
	if fail != nil {
		return fail
	}
	n := s.unreactLocked(r, m, nil, emoji)
	return v4srv.JSON(http.StatusOK, map[string]any{"removed": n, "seqno": m.seqno})
}

func (s *Server) reactorsLocked(c *call, r *room, p perms, id int64, emoji string) *v4srv.Response {
	if !p.Read {
		return respReadNeeded()
	}
	m, fail := s.reactionTarget(c, r, p, id, emoji, false, false, false)
	if fail != nil {
		return fail
	}
	limit := intParam(c.r.Query(), "limit", 0, 0, 1<<30) // 0: all
	out := [][]any{}
	for _, re := range m.reactions {
		if re.emoji != emoji {
			continue
		}
		n := len(re.reactors)
		if limit > 0 {
			n = min(n, limit)
		}
		for _, x := range re.reactors[:n] {
			out = append(out, []any{x.id.String(), ts(x.at)})
		}
	}
	return v4srv.JSON(http.StatusOK, out)
}

// pinLocked serves pin/<id>, unpin/<id> and unpin/all, which pysogs leaves to the model: an
// anonymous caller is refused as any non-admin is (BadPermission).
func (s *Server) pinLocked(c *call, r *room, p perms, pinning bool, arg string) *v4srv.Response {
	if c.user == nil || !p.admin {
		return respPermission()
	}
	if !pinning && arg == "all" {
		n := len(r.pins)
		r.pins = nil
		if n > 0 {
			r.infoUpdates++
		}
		return v4srv.JSON(http.StatusOK, map[string]any{"info_updates": r.infoUpdates, "unpinned": n})
	}
	id, _ := parseID(arg)
	if pinning {
		if m := r.liveMessage(id); m == nil || m.whisperTo != nil || m.whisperMods {
			return respNoSuchPost(id)
		}
		for i, pn := range r.pins {
			if pn.id == id {
				r.pins = append(r.pins[:i], r.pins[i+1:]...)
				break
			}
		}
		r.pins = append(r.pins, pin{id: id, pinnedAt: c.now, pinnedBy: *c.user})
		r.infoUpdates++
		return v4srv.JSON(http.StatusOK, map[string]any{"info_updates": r.infoUpdates})
	}
	unpinned := false
	for i, pn := range r.pins {
		if pn.id == id {
			r.pins = append(r.pins[:i], r.pins[i+1:]...)
			unpinned = true
			r.infoUpdates++
			break
		}
	}
	return v4srv.JSON(http.StatusOK, map[string]any{"info_updates": r.infoUpdates, "unpinned": unpinned})
}

func (s *Server) updateRoomLocked(c *call, r *room, p perms) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.admin {
		return respModNeeded(true)
	}
	var b struct {
		Name              *string          `json:"name"`
		Description       *json.RawMessage `json:"description"`
		DefaultRead       *bool            `json:"default_read"`
		DefaultAccessible *bool            `json:"default_accessible"`
		DefaultWrite      *bool            `json:"default_write"`
		DefaultUpload     *bool            `json:"default_upload"`
		Image             *int64           `json:"image"`
	}
	if !decodeJSON(c.r, &b) {
		return respBadRequestPage()
	}
	var desc *string
	if b.Description != nil {
		var d *string
		if json.Unmarshal(*b.Description, &d) != nil {
			return respBadRequestPage()
		}
		desc = d
	}
	if b.Name == nil && b.Description == nil && b.Image == nil && b.DefaultRead == nil && b.DefaultAccessible == nil &&
		b.DefaultWrite == nil && b.DefaultUpload == nil {
		return respBadRequestPage() // nothing to update
	}
	if b.Image != nil {
		f := r.liveFile(*b.Image, c.now)
		if f == nil {
			return page(http.StatusNotAcceptable)
		}
		f.expires = time.Time{}
		r.imageID = f.id
	}
	if b.Name != nil {
		r.name = strings.Map(dropControl(false), *b.Name)
	}
	if b.Description != nil {
		r.description = ""
		if desc != nil {
			r.description = strings.Map(dropControl(true), *desc)
		}
	}
	set := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	set(&r.defaults.Read, b.DefaultRead)
	set(&r.defaults.Accessible, b.DefaultAccessible)
	set(&r.defaults.Write, b.DefaultWrite)
	set(&r.defaults.Upload, b.DefaultUpload)
	r.infoUpdates++
	return v4srv.JSON(http.StatusOK, map[string]any{"info_updates": r.infoUpdates})
}

// dropControl strips control characters, as pysogs does from room names (all below U+0020)
// and descriptions (keeping tab and newline).
func dropControl(keepTabNewline bool) func(rune) rune {
	return func(r rune) rune {
		if r < 0x20 && !(keepTabNewline && (r == '\t' || r == '\n')) {
			return -1
		}
		return r
	}
}

func (r *room) liveFile(id int64, now time.Time) *roomFile {
	f, ok := r.files[id]
	if !ok {
		return nil
	}
	if !f.expires.IsZero() && !now.Before(f.expires) {
		delete(r.files, id)
		return nil
	}
	return f
}

func (s *Server) uploadLocked(c *call, r *room, p perms) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.Upload {
		return respForbiddenPage()
	}
	if len(c.r.Body) == 0 {
		return respBadRequestPage()
	}
	if len(c.r.Body) > s.cfg.maxUpload {
		return page(http.StatusRequestEntityTooLarge)
	}
	name := ""
	if cd := c.r.Header.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			name = params["filename"]
		}
	}
	for id, f := range r.files { // sweep expired files
		if !f.expires.IsZero() && !c.now.Before(f.expires) {
			delete(r.files, id)
		}
	}
	s.nextFile++
	f := &roomFile{id: s.nextFile, name: name, data: append([]byte(nil), c.r.Body...), uploaded: c.now,
		expires: c.now.Add(FileTTL), uploader: *c.user}
	r.files[f.id] = f
	return v4srv.JSON(http.StatusCreated, map[string]any{"id": f.id})
}

func (s *Server) downloadLocked(c *call, r *room, p perms, id int64) *v4srv.Response {
	now := c.now
	if !p.Read {
		return respReadNeeded()
	}
	f := r.liveFile(id, now)
	if f == nil {
		return respNotFound()
	}
	resp := v4srv.Bytes(http.StatusOK, "application/octet-stream", append([]byte(nil), f.data...))
	cd := "attachment"
	if f.name != "" {
		// pysogs: filename*=UTF-8'' and urllib.parse.quote of the UTF-8 name.
		cd = "attachment; filename*=UTF-8''" + pyQuote(f.name)
	}
	resp.Header.Set("Content-Disposition", cd)
	resp.Header.Set("Date", f.uploaded.UTC().Format(http.TimeFormat))
	if !f.expires.IsZero() {
		resp.Header.Set("Expires", f.expires.UTC().Format(http.TimeFormat))
	}
	return resp
}

// pyQuote is Python's urllib.parse.quote: every byte but letters, digits, "_.-~" and "/"
// percent-encoded.
func pyQuote(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_.-~/", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// RoomFile returns a live room file's name and bytes.
func (s *Server) RoomFile(token string, id int64) (name string, data []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roomLocked(token)
	if err != nil {
		return "", nil, err
	}
	f := r.liveFile(id, s.Now())
	if f == nil {
		return "", nil, ErrNoFile
	}
	return f.name, append([]byte(nil), f.data...), nil
}
