package sogsd

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
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

func jsonErr(status int, msg string) *v4srv.Response { return v4srv.Text(status, msg) }

var (
	respNotFound   = func() *v4srv.Response { return jsonErr(http.StatusNotFound, "Not found") }
	respForbidden  = func() *v4srv.Response { return jsonErr(http.StatusForbidden, "Permission denied") }
	respBadRequest = func(msg string) *v4srv.Response { return jsonErr(http.StatusBadRequest, msg) }
	respAuthNeeded = func() *v4srv.Response {
		return jsonErr(http.StatusUnauthorized, "X-SOGS-* request authentication required")
	}
	respEmpty = func() *v4srv.Response { return v4srv.JSON(http.StatusOK, map[string]any{}) }
)

// handle is the server's entry point: authentication (once, on the outermost request), then the
// route.
func (s *Server) handle(ctx context.Context, r *v4srv.Request) *v4srv.Response {
	h := blinding.HeadersFromHTTP(r.Header)
	id, err := s.verifier.Verify(h, r.Method, r.SignedPath(), r.Body)
	c := &call{r: r, now: s.cfg.now()}
	switch {
	case err == nil:
		c.user = &id
		s.mu.Lock()
		s.touchLocked(id, c.now)
		s.mu.Unlock()
	case errors.Is(err, blinding.ErrNoAuth):
		// Headers that are present but empty count as present (pysogs): 400, not anonymous.
		for _, name := range []string{blinding.HeaderPubkey, blinding.HeaderNonce, blinding.HeaderTimestamp, blinding.HeaderSignature} {
			if _, ok := r.Header[http.CanonicalHeaderKey(name)]; !ok {
				continue
			}
			return respBadRequest("Invalid authentication headers: missing 4/4 required X-SOGS-* headers")
		}
	default:
		var re *blinding.RequestError
		if errors.As(err, &re) {
			msg := re.Reason.String()
			if re.Reason == blinding.ReasonMissingHeaders {
				msg = re.Detail
			}
			return jsonErr(re.Status(), msg)
		}
		return respBadRequest("Invalid authentication headers")
	}
	return s.route(ctx, c)
}

func (s *Server) route(ctx context.Context, c *call) *v4srv.Response {
	r := c.r
	if !strings.HasPrefix(r.Path, "/") {
		return respNotFound()
	}
	seg := strings.Split(r.Path[1:], "/")
	if len(seg) > 0 && seg[len(seg)-1] == "" && len(seg) > 1 {
		seg = seg[:len(seg)-1] // a trailing slash
	}
	m := r.Method
	n := len(seg)
	switch seg[0] {
	case "capabilities":
		if n == 1 && m == http.MethodGet {
			return s.capabilities(c)
		}
	case "batch", "sequence":
		if n == 1 && m == http.MethodPost {
			if c.inSub {
				return respBadRequest("batch requests cannot be nested")
			}
			return s.batch(ctx, c, seg[0] == "sequence")
		}
	case "rooms":
		if n == 1 && m == http.MethodGet {
			return s.listRooms(c)
		}
		if n == 3 && seg[1] == "all" && m == http.MethodDelete {
			return s.deleteAllEverywhere(c, seg[2])
		}
	case "room":
		if n >= 2 {
			return s.routeRoom(c, seg[1], seg[2:])
		}
	case "user":
		if n == 3 && m == http.MethodPost {
			switch seg[2] {
			case "ban":
				return s.banUser(c, seg[1], true)
			case "unban":
				return s.banUser(c, seg[1], false)
			case "moderator":
				return s.setModerator(c, seg[1])
			}
		}
	case "inbox", "outbox":
		return s.routeDM(c, seg)
	}
	return respNotFound()
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

// routeRoom serves /room/<token>/...; rest is what follows the token.
func (s *Server) routeRoom(c *call, token string, rest []string) *v4srv.Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.rooms[token]
	if !ok {
		return respNotFound()
	}
	p := s.permsLocked(r, c.user, c.now)
	if !p.Accessible {
		if p.banned {
			return respForbidden()
		}
		return respNotFound()
	}
	if c.user != nil {
		r.active[*c.user] = c.now
	}
	m := c.r.Method
	n := len(rest)
	if n == 0 {
		switch m {
		case http.MethodGet:
			return v4srv.JSON(http.StatusOK, s.roomInfoLocked(r, c.user, p, c.now))
		case http.MethodPut:
			return s.updateRoomLocked(c, r, p)
		}
		return respNotFound()
	}
	switch rest[0] {
	case "pollInfo":
		if n == 2 && m == http.MethodGet {
			return s.pollInfoLocked(c, r, p, rest[1])
		}
	case "messages":
		if m == http.MethodGet && n >= 2 {
			return s.listMessagesLocked(c, r, p, rest[1:])
		}
	case "message":
		if n == 1 && m == http.MethodPost {
			return s.postMessageLocked(c, r, p)
		}
		if n == 2 {
			id, ok := parseID(rest[1])
			if !ok {
				return respNotFound()
			}
			switch m {
			case http.MethodGet:
				return s.getMessageLocked(c, r, p, id)
			case http.MethodPut:
				return s.editMessageLocked(c, r, p, id)
			case http.MethodDelete:
				return s.deleteMessageLocked(c, r, p, id)
			}
		}
	case "reaction":
		if n == 3 && (m == http.MethodPut || m == http.MethodDelete) {
			id, ok := parseID(rest[1])
			if !ok {
				return respNotFound()
			}
			return s.reactionLocked(c, r, p, id, rest[2], m == http.MethodPut)
		}
	case "reactions":
		if (n == 2 || n == 3) && m == http.MethodDelete {
			id, ok := parseID(rest[1])
			if !ok {
				return respNotFound()
			}
			emoji := ""
			if n == 3 {
				emoji = rest[2]
			}
			return s.clearReactionsLocked(c, r, p, id, emoji)
		}
	case "reactors":
		if n == 3 && m == http.MethodGet {
			id, ok := parseID(rest[1])
			if !ok {
				return respNotFound()
			}
			return s.reactorsLocked(c, r, p, id, rest[2])
		}
	case "pin", "unpin":
		if n == 2 && m == http.MethodPost {
			return s.pinLocked(c, r, p, rest[0] == "pin", rest[1])
		}
	case "file":
		if n == 1 && m == http.MethodPost {
			return s.uploadLocked(c, r, p)
		}
		if (n == 2 || n == 3) && m == http.MethodGet {
			id, ok := parseID(rest[1])
			if !ok {
				return respNotFound()
			}
			return s.downloadLocked(r, p, id, c.now)
		}
	case "permissions":
		return s.permissionsLocked(c, r, p, rest[1:])
	case "futurePermissions":
		return s.futurePermissionsLocked(c, r, p, rest[1:])
	case "all":
		if n == 2 && m == http.MethodDelete {
			return s.deleteAllLocked(c, r, p, rest[1])
		}
	}
	return respNotFound()
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

func (s *Server) pollInfoLocked(c *call, r *room, p perms, since string) *v4srv.Response {
	if !p.Read {
		return respForbidden()
	}
	o := map[string]any{"token": r.token, "active_users": r.activeUsers(c.now), "read": p.Read, "write": p.Write, "upload": p.Upload}
	addFlags(o, p)
	if n, err := strconv.ParseInt(since, 10, 64); err != nil || n != r.infoUpdates {
		o["details"] = s.roomInfoLocked(r, c.user, p, c.now)
	}
	return v4srv.JSON(http.StatusOK, o)
}

func (s *Server) listMessagesLocked(c *call, r *room, p perms, rest []string) *v4srv.Response {
	if !p.Read {
		return respForbidden()
	}
	q := c.r.Query()
	limit := intParam(q, "limit", 100, 1, 256)
	reactors := intParam(q, "reactors", 4, 0, 20)
	mod := c.user != nil && s.isModLocked(r, *c.user)
	out := []any{}
	switch {
	case rest[0] == "recent" && len(rest) == 1, rest[0] == "before" && len(rest) == 2:
		before := int64(1<<63 - 1)
		if rest[0] == "before" {
			id, ok := parseID(rest[1])
			if !ok {
				return respNotFound()
			}
			before = id
		}
		for i := len(r.msgs) - 1; i >= 0 && len(out) < limit; i-- {
			m := r.msgs[i]
			if m.deleted || m.id >= before || !m.visibleTo(c.user, mod) {
				continue
			}
			out = append(out, messageJSON(m, m.seqno, c.user, reactors))
		}
	case rest[0] == "since" && len(rest) == 2:
		since, ok := parseID(rest[1])
		if !ok {
			return respNotFound()
		}
		withReactions := q.Get("t") == "r"
		var rows []*message
		for _, m := range r.msgs {
			seq := m.seqnoData
			if withReactions {
				seq = m.seqno
			}
			if seq > since && m.visibleTo(c.user, mod) {
				rows = append(rows, m)
			}
		}
		if withReactions {
			sort.Slice(rows, func(i, j int) bool { return rows[i].seqno < rows[j].seqno })
		} else {
			sort.Slice(rows, func(i, j int) bool { return rows[i].seqnoData < rows[j].seqnoData })
		}
		for _, m := range rows[:min(limit, len(rows))] {
			switch {
			case !withReactions:
				out = append(out, messageJSON(m, m.seqnoData, c.user, reactors))
			case m.seqnoData > since:
				out = append(out, messageJSON(m, m.seqno, c.user, reactors))
			default:
				out = append(out, reactionRow{ID: m.id, Seqno: m.seqno, Reactions: reactionsJSON(m, c.user, reactors)})
			}
		}
	default:
		return respNotFound()
	}
	return v4srv.JSON(http.StatusOK, out)
}

func (s *Server) getMessageLocked(c *call, r *room, p perms, id int64) *v4srv.Response {
	if !p.Read {
		return respForbidden()
	}
	m := r.liveMessage(id)
	if m == nil || !m.visibleTo(c.user, c.user != nil && s.isModLocked(r, *c.user)) {
		return respNotFound()
	}
	reactors := intParam(c.r.Query(), "reactors", 4, 0, 20)
	return v4srv.JSON(http.StatusOK, messageJSON(m, m.seqno, c.user, reactors))
}

// decodeJSON reads a JSON body. As in pysogs (Flask's request.json), the request must say
// Content-Type: application/json; over onion v4 there is no default, so a client that leaves
// it out gets 400 here as it would from the real server (spec gotcha G5).
func decodeJSON(r *v4srv.Request, v any) bool {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/json" {
		return false
	}
	return len(r.Body) > 0 && json.Unmarshal(r.Body, v) == nil
}

func decodeB64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

type postBody struct {
	Data        *string `json:"data"`
	Signature   *string `json:"signature"`
	WhisperTo   *string `json:"whisper_to"`
	WhisperMods bool    `json:"whisper_mods"`
	Files       []int64 `json:"files"`
}

func (b *postBody) decode() (data, sig []byte, ok bool) {
	if b.Data == nil || b.Signature == nil {
		return nil, nil, false
	}
	data, ok1 := decodeB64(*b.Data)
	sig, ok2 := decodeB64(*b.Signature)
	if !ok1 || !ok2 || len(data) == 0 || len(sig) != 64 {
		return nil, nil, false
	}
	return data, sig, true
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

func (s *Server) postMessageLocked(c *call, r *room, p perms) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.Write {
		return respForbidden()
	}
	var b postBody
	if !decodeJSON(c.r, &b) {
		return respBadRequest("Invalid request body")
	}
	data, sig, ok := b.decode()
	if !ok {
		return respBadRequest("Message data and a 64-byte signature are required")
	}
	post := Post{Author: *c.user, Data: data, Signature: sig, Files: b.Files, WhisperMods: b.WhisperMods}
	if b.WhisperTo != nil {
		to, err := crypto.ParseAccountID(*b.WhisperTo)
		if err != nil {
			return respBadRequest("Invalid whisper_to")
		}
		post.WhisperTo = &to
	}
	if (post.WhisperTo != nil || post.WhisperMods) && !p.moderator {
		return respForbidden()
	}
	if s.rateLimitedLocked(r, *c.user, c.now) {
		return jsonErr(http.StatusTooManyRequests, "Rate limit exceeded")
	}
	m := s.postLocked(r, post, c.now)
	return v4srv.JSON(http.StatusCreated, messageJSON(m, m.seqno, c.user, 0))
}

func (s *Server) editMessageLocked(c *call, r *room, p perms, id int64) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	m := r.liveMessage(id)
	if m == nil {
		return respNotFound()
	}
	if !p.Write || m.author != *c.user {
		return respForbidden()
	}
	var b postBody
	if !decodeJSON(c.r, &b) {
		return respBadRequest("Invalid request body")
	}
	data, sig, ok := b.decode()
	if !ok {
		return respBadRequest("Message data and a 64-byte signature are required")
	}
	s.editLocked(r, m, data, sig, b.Files)
	return respEmpty()
}

func (s *Server) deleteMessageLocked(c *call, r *room, p perms, id int64) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	m := r.liveMessage(id)
	if m == nil {
		return respNotFound()
	}
	if !p.moderator && (!p.Write || m.author != *c.user) {
		return respForbidden()
	}
	s.deleteLocked(r, m)
	return respEmpty()
}

func (s *Server) reactionLocked(c *call, r *room, p perms, id int64, emoji string, add bool) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.Read {
		return respForbidden()
	}
	if !validReaction(emoji) {
		return respBadRequest("Invalid reaction")
	}
	m := r.liveMessage(id)
	if m == nil || !m.visibleTo(c.user, p.moderator) {
		return respNotFound()
	}
	if add {
		added := s.reactLocked(r, m, *c.user, emoji)
		return v4srv.JSON(http.StatusOK, map[string]any{"added": added, "seqno": m.seqno})
	}
	removed := s.unreactLocked(r, m, c.user, emoji) > 0
	return v4srv.JSON(http.StatusOK, map[string]any{"removed": removed, "seqno": m.seqno})
}

func (s *Server) clearReactionsLocked(c *call, r *room, p perms, id int64, emoji string) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.moderator {
		return respForbidden()
	}
	if emoji != "" && !validReaction(emoji) {
		return respBadRequest("Invalid reaction")
	}
	m := r.liveMessage(id)
	if m == nil {
		return respNotFound()
	}
	n := s.unreactLocked(r, m, nil, emoji)
	return v4srv.JSON(http.StatusOK, map[string]any{"removed": n, "seqno": m.seqno})
}

func (s *Server) reactorsLocked(c *call, r *room, p perms, id int64, emoji string) *v4srv.Response {
	if !p.Read {
		return respForbidden()
	}
	if !validReaction(emoji) {
		return respBadRequest("Invalid reaction")
	}
	m := r.liveMessage(id)
	if m == nil || !m.visibleTo(c.user, p.moderator) {
		return respNotFound()
	}
	limit := intParam(c.r.Query(), "limit", 100, 1, 10000)
	out := [][]any{}
	for _, re := range m.reactions {
		if re.emoji != emoji {
			continue
		}
		for _, x := range re.reactors[:min(limit, len(re.reactors))] {
			out = append(out, []any{x.id.String(), ts(x.at)})
		}
	}
	return v4srv.JSON(http.StatusOK, out)
}

func (s *Server) pinLocked(c *call, r *room, p perms, pinning bool, arg string) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.admin {
		return respForbidden()
	}
	if !pinning && arg == "all" {
		n := len(r.pins)
		r.pins = nil
		r.infoUpdates++
		return v4srv.JSON(http.StatusOK, map[string]any{"info_updates": r.infoUpdates, "unpinned": n})
	}
	id, ok := parseID(arg)
	if !ok {
		return respNotFound()
	}
	if pinning {
		if r.liveMessage(id) == nil {
			return respNotFound()
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
	n := 0
	for i, pn := range r.pins {
		if pn.id == id {
			r.pins = append(r.pins[:i], r.pins[i+1:]...)
			n = 1
			break
		}
	}
	if n > 0 {
		r.infoUpdates++
	}
	return v4srv.JSON(http.StatusOK, map[string]any{"info_updates": r.infoUpdates, "unpinned": n})
}

func (s *Server) updateRoomLocked(c *call, r *room, p perms) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.admin {
		return respForbidden()
	}
	var b struct {
		Name              *string `json:"name"`
		Description       *string `json:"description"`
		DefaultRead       *bool   `json:"default_read"`
		DefaultAccessible *bool   `json:"default_accessible"`
		DefaultWrite      *bool   `json:"default_write"`
		DefaultUpload     *bool   `json:"default_upload"`
		Image             *int64  `json:"image"`
	}
	if !decodeJSON(c.r, &b) {
		return respBadRequest("Invalid request body")
	}
	if b.Image != nil {
		f := r.liveFile(*b.Image, c.now)
		if f == nil {
			return jsonErr(http.StatusNotAcceptable, "Invalid image")
		}
		f.expires = time.Time{}
		r.imageID = f.id
	}
	if b.Name != nil {
		r.name = *b.Name
	}
	if b.Description != nil {
		r.description = *b.Description
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
	if !p.Write || !p.Upload {
		return respForbidden()
	}
	if len(c.r.Body) == 0 {
		return respBadRequest("No file data")
	}
	if len(c.r.Body) > s.cfg.maxUpload {
		return jsonErr(http.StatusRequestEntityTooLarge, "File too large")
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

func (s *Server) downloadLocked(r *room, p perms, id int64, now time.Time) *v4srv.Response {
	if !p.Read {
		return respForbidden()
	}
	f := r.liveFile(id, now)
	if f == nil {
		return respNotFound()
	}
	resp := v4srv.Bytes(http.StatusOK, "application/octet-stream", append([]byte(nil), f.data...))
	cd := "attachment"
	if f.name != "" {
		cd = mime.FormatMediaType("attachment", map[string]string{"filename": f.name})
	}
	resp.Header.Set("Content-Disposition", cd)
	resp.Header.Set("Date", now.UTC().Format(http.TimeFormat))
	if !f.expires.IsZero() {
		resp.Header.Set("Expires", f.expires.UTC().Format(http.TimeFormat))
	}
	return resp
}

// RoomFile returns a live room file's name and bytes.
func (s *Server) RoomFile(token string, id int64) (name string, data []byte, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.roomLocked(token)
	if err != nil {
		return "", nil, err
	}
	f := r.liveFile(id, s.cfg.now())
	if f == nil {
		return "", nil, ErrNoFile
	}
	return f.name, append([]byte(nil), f.data...), nil
}
