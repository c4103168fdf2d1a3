package sogsd

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

// parseSID reads a Session ID in a path: 15 (blinded), or also 05 when the server accepts
// unblinded users.
func (s *Server) parseSID(str string) (crypto.AccountID, bool) {
	id, err := crypto.ParseAccountID(str)
	if err != nil {
		return id, false
	}
	switch id.Prefix() {
	case crypto.PrefixBlinded15:
		return id, true
	case crypto.PrefixStandard:
		return id, s.cfg.unblinded
	}
	return id, false
}

// modTarget is the prelude of the moderators' per-user room endpoints: the Session ID of the
// path (sid "": none; one the server's SessionID converter refuses: 404), then a moderator
// (pysogs's mod_required).
func (s *Server) modTarget(c *call, p perms, sid string) (crypto.AccountID, *v4srv.Response) {
	var id crypto.AccountID
	if sid != "" {
		var ok bool
		if id, ok = s.parseSID(sid); !ok {
			return id, respNotFound()
		}
	}
	if c.user == nil {
		return id, respAuthNeeded()
	}
	if !p.moderator {
		return id, respModNeeded(false)
	}
	return id, nil
}

// permissionsLocked serves GET /room/<t>/permissions and GET/POST /room/<t>/permissions/<sid>
// (moderators only).
func (s *Server) permissionsLocked(c *call, r *room, p perms, sid string) *v4srv.Response {
	id, fail := s.modTarget(c, p, sid)
	if fail != nil {
		return fail
	}
	if sid == "" {
		out := map[string]any{}
		for uid, o := range r.overrides {
			out[uid.String()] = s.userPermsLocked(r, uid, o)
		}
		return v4srv.JSON(http.StatusOK, out)
	}
	if c.r.Method == http.MethodGet {
		return v4srv.JSON(http.StatusOK, s.userPermsLocked(r, id, r.overrides[id]))
	}
	var b map[string]json.RawMessage
	if !decodeJSON(c.r, &b) {
		return respBadRequestPage()
	}
	o := r.overrides[id]
	if o == nil {
		o = &override{}
	}
	fields := map[string]**bool{"read": &o.read, "accessible": &o.accessible, "write": &o.write, "upload": &o.upload}
	changed := map[string]bool{}
	for k, dst := range fields {
		var v, def *bool
		_ = json.Unmarshal(b[k], &v)
		_ = json.Unmarshal(b["default_"+k], &def)
		switch {
		case v != nil && def != nil && *def:
			return respBadRequestPage() // a permission and its default at once
		case v != nil:
			x := *v
			*dst = &x
			changed[k] = true
		case def != nil && *def:
			*dst = nil
			changed[k] = true
		}
	}
	var unschedule *bool
	_ = json.Unmarshal(b["unschedule"], &unschedule)
	if (unschedule == nil || *unschedule) && (changed["read"] || changed["write"] || changed["upload"]) {
		r.unscheduleLocked(id)
	}
	s.touchLocked(id, c.now)
	if o.read == nil && o.accessible == nil && o.write == nil && o.upload == nil {
		delete(r.overrides, id)
	} else {
		r.overrides[id] = o
	}
	// The answer is the user's assigned permissions, as GET gives them.
	return v4srv.JSON(http.StatusOK, s.userPermsLocked(r, id, r.overrides[id]))
}

// userPermsLocked is what pysogs tells of a user's permissions in a room: the overrides that
// are set, plus moderator or admin (one of them), hidden, and banned, each only when true.
func (s *Server) userPermsLocked(r *room, id crypto.AccountID, o *override) map[string]any {
	out := map[string]any{}
	if o != nil {
		for k, v := range map[string]*bool{"read": o.read, "accessible": o.accessible, "write": o.write, "upload": o.upload} {
			if v != nil {
				out[k] = *v
			}
		}
	}
	if role, ok := r.mods[id]; ok {
		if role.admin {
			out["admin"] = true
		} else {
			out["moderator"] = true
		}
		if !role.visible {
			out["hidden"] = true
		}
	}
	if until, ok := r.bans[id]; ok && (until.IsZero() || s.Now().Before(until)) {
		out["banned"] = true
	}
	return out
}

// deleteAllLocked serves DELETE /room/<t>/all/<sid> as pysogs does: an unknown user is 404
// "No such user", an anonymous caller fails (500), then a moderator, or the user themself,
// deletes all of the user's posts (only an admin those of an admin); none is 404.
func (s *Server) deleteAllLocked(c *call, r *room, sid string) *v4srv.Response {
	id, ok := s.parseSID(sid)
	if !ok {
		return respNotFound()
	}
	if _, known := s.users[id]; !known {
		return respNoSuchUser(sid)
	}
	if c.user == nil {
		return respServerError()
	}
	if !s.mayDeleteAllLocked(r, *c.user, id) {
		return respPermission()
	}
	if s.deleteAllInRoomLocked(r, id) == 0 {
		return respNotFound()
	}
	return respEmpty()
}

func (s *Server) mayDeleteAllLocked(r *room, deleter, poster crypto.AccountID) bool {
	if poster != deleter && !s.isModLocked(r, deleter) {
		return false
	}
	return !s.isAdminLocked(r, poster) || s.isAdminLocked(r, deleter)
}

func (s *Server) deleteAllInRoomLocked(r *room, id crypto.AccountID) int {
	n := 0
	for _, m := range r.msgs {
		if m.author == id && !m.deleted {
			s.deleteLocked(r, m)
			n++
		}
	}
	return n
}

// deleteAllEverywhere serves DELETE /rooms/all/<sid>: the user's posts in every room the caller
// can access and may delete them in (rooms where the caller may not are left out, not
// refused).
func (s *Server) deleteAllEverywhere(c *call, sid string) *v4srv.Response {
	id, ok := s.parseSID(sid)
	if !ok {
		return respNotFound()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, known := s.users[id]; !known {
		return respNoSuchUser(sid)
	}
	total, rooms := 0, map[string]int{}
	for _, r := range s.roomList {
		if !s.permsLocked(r, c.user, c.now).Accessible {
			continue
		}
		if c.user == nil {
			return respServerError()
		}
		if !s.mayDeleteAllLocked(r, *c.user, id) {
			continue
		}
		n := s.deleteAllInRoomLocked(r, id)
		rooms[r.token] = n
		total += n
	}
	return v4srv.JSON(http.StatusOK, map[string]any{"total": total, "rooms": rooms})
}

type targetBody struct {
	Rooms     []string `json:"rooms"`
	Global    *bool    `json:"global"`
	Timeout   *float64 `json:"timeout"`
	Moderator *bool    `json:"moderator"`
	Admin     *bool    `json:"admin"`
	Visible   *bool    `json:"visible"`
}

// targets resolves {rooms | global}: exactly one of them. Rooms "*" means every room the caller
// moderates (admin: administers). It answers a non-nil response on failure.
func (s *Server) targetsLocked(c *call, b *targetBody, needAdmin bool) (rooms []*room, global bool, fail *v4srv.Response) {
	hasRooms := len(b.Rooms) > 0
	hasGlobal := b.Global != nil && *b.Global
	if hasRooms == hasGlobal {
		return nil, false, respBadRequestPage() // exactly one of rooms or global
	}
	g, isGlobal := s.globalMods[*c.user]
	if hasGlobal {
		if !isGlobal || (needAdmin && !g.admin) {
			return nil, false, respForbiddenPage()
		}
		return nil, true, nil
	}
	if len(b.Rooms) > 1 && slices.Contains(b.Rooms, "*") {
		return nil, false, respBadRequestPage()
	}
	can := func(r *room) bool {
		if isGlobal && (!needAdmin || g.admin) {
			return true
		}
		m, ok := r.mods[*c.user]
		return ok && (!needAdmin || m.admin)
	}
	if len(b.Rooms) == 1 && b.Rooms[0] == "*" {
		for _, r := range s.roomList {
			if can(r) {
				rooms = append(rooms, r)
			}
		}
		if len(rooms) == 0 {
			return nil, false, respForbiddenPage()
		}
		return rooms, false, nil
	}
	// pysogs looks the rooms up with the permission: unknown rooms and rooms without it both
	// leave the list short, which is 403.
	for _, tok := range b.Rooms {
		r, ok := s.rooms[tok]
		if !ok || !can(r) {
			return nil, false, respForbiddenPage()
		}
		rooms = append(rooms, r)
	}
	return rooms, false, nil
}

// parseAnySID reads the Session ID of a /user/<sid> path, which pysogs accepts 05 or 15 on
// any server.
func parseAnySID(str string) (crypto.AccountID, bool) {
	id, err := crypto.ParseAccountID(str)
	if err != nil {
		return id, false
	}
	p := id.Prefix()
	return id, p == crypto.PrefixBlinded15 || p == crypto.PrefixStandard
}

// userRequest reads a /user/<sid>/… request: the user of the path (05 or 15, else 404), an
// authenticated caller (401), and a JSON object body (400).
func userRequest(c *call, sid string) (crypto.AccountID, *targetBody, *v4srv.Response) {
	var b targetBody
	id, ok := parseAnySID(sid)
	switch {
	case !ok:
		return id, nil, respNotFound()
	case c.user == nil:
		return id, nil, respAuthNeeded()
	case !decodeJSON(c.r, &b):
		return id, nil, respBadRequestPage()
	}
	return id, &b, nil
}

// banUser serves POST /user/<sid>/ban and /unban. A room ban needs a moderator; nobody bans
// themself or a global moderator, and only admins ban room moderators (BadPermission).
func (s *Server) banUser(c *call, sid string, ban bool) *v4srv.Response {
	id, b, fail := userRequest(c, sid)
	if fail != nil {
		return fail
	}
	var d time.Duration
	expired := false
	if b.Timeout != nil {
		// Zero or negative bans and lifts the ban at once (pysogs: at the next cleanup).
		d, expired = time.Duration(*b.Timeout*float64(time.Second)), *b.Timeout <= 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rooms, global, fail := s.targetsLocked(c, b, false)
	if fail != nil {
		return fail
	}
	_, targetGlobal := s.globalMods[id]
	if global {
		if ban && (targetGlobal || id == *c.user) {
			return respPermission()
		}
		switch {
		case ban && !expired:
			s.banGlobalLocked(id, d)
		case !ban:
			if u := s.users[id]; u != nil {
				u.banned = false
			}
		}
		return respEmpty()
	}
	for _, r := range rooms {
		if ban && (id == *c.user || targetGlobal || (s.isModLocked(r, id) && !s.isAdminLocked(r, *c.user))) {
			return respPermission()
		}
	}
	s.touchLocked(id, c.now)
	for _, r := range rooms {
		switch {
		case ban && !expired:
			delete(r.mods, id) // a ban takes moderation away
			s.banLocked(r, id, d)
		case !ban:
			delete(r.bans, id)
		}
	}
	return respEmpty()
}

// setModerator serves POST /user/<sid>/moderator.
func (s *Server) setModerator(c *call, sid string) *v4srv.Response {
	id, b, fail := userRequest(c, sid)
	if fail != nil {
		return fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rooms, global, fail := s.targetsLocked(c, b, true)
	if fail != nil {
		return fail
	}
	admin := b.Admin != nil && *b.Admin
	mod := b.Moderator != nil && *b.Moderator
	if b.Admin == nil && b.Moderator == nil || admin && b.Moderator != nil && !*b.Moderator {
		return respBadRequestPage() // neither given, or admin without moderator
	}
	s.touchLocked(id, c.now)
	updates := map[string]int64{}
	if global {
		visible := b.Visible != nil && *b.Visible
		if admin || mod {
			s.globalMods[id] = modRole{admin: admin, visible: visible}
		} else {
			delete(s.globalMods, id)
		}
		rooms = s.roomList
	} else {
		visible := b.Visible == nil || *b.Visible
		for _, r := range rooms {
			if admin || mod {
				r.mods[id] = modRole{admin: admin, visible: visible}
			} else {
				delete(r.mods, id)
			}
		}
	}
	for _, r := range rooms {
		r.infoUpdates++
		updates[r.token] = r.infoUpdates
	}
	return v4srv.JSON(http.StatusOK, map[string]any{"info_updates": updates})
}

// futurePerm is a permission change scheduled for later (futurePermissions).
type futurePerm struct {
	user                crypto.AccountID
	at                  time.Time
	read, write, upload *bool
}

// applyFutureLocked applies the scheduled changes that are due.
func (r *room) applyFutureLocked(now time.Time) {
	if len(r.future) == 0 {
		return
	}
	kept := r.future[:0]
	for _, f := range r.future {
		if now.Before(f.at) {
			kept = append(kept, f)
			continue
		}
		o := r.overrides[f.user]
		if o == nil {
			o = &override{}
			r.overrides[f.user] = o
		}
		if f.read != nil {
			o.read = f.read
		}
		if f.write != nil {
			o.write = f.write
		}
		if f.upload != nil {
			o.upload = f.upload
		}
	}
	for i := len(kept); i < len(r.future); i++ {
		r.future[i] = nil
	}
	r.future = kept
}

func (r *room) unscheduleLocked(id crypto.AccountID) {
	kept := r.future[:0]
	for _, f := range r.future {
		if f.user != id {
			kept = append(kept, f)
		}
	}
	r.future = kept
}

// futurePermissionsLocked serves GET /room/<t>/futurePermissions and POST
// /room/<t>/futurePermissions/<sid> {read?, write?, upload?, in: seconds} (moderators only). The
// POST answers the user's scheduled changes, as pysogs does.
func (s *Server) futurePermissionsLocked(c *call, r *room, p perms, sid string) *v4srv.Response {
	id, fail := s.modTarget(c, p, sid)
	if fail != nil {
		return fail
	}
	if c.r.Method == http.MethodPost {
		var b struct {
			Read   *bool    `json:"read"`
			Write  *bool    `json:"write"`
			Upload *bool    `json:"upload"`
			In     *float64 `json:"in"`
		}
		if !decodeJSON(c.r, &b) || b.In == nil || *b.In <= 0 || *b.In >= 1e9 || (b.Read == nil && b.Write == nil && b.Upload == nil) {
			return respBadRequestPage()
		}
		s.touchLocked(id, c.now)
		r.future = append(r.future, &futurePerm{user: id, at: c.now.Add(time.Duration(*b.In * float64(time.Second))),
			read: b.Read, write: b.Write, upload: b.Upload})
	}
	sort.SliceStable(r.future, func(i, j int) bool { return r.future[i].at.Before(r.future[j].at) })
	out := []map[string]any{}
	for _, f := range r.future {
		if sid != "" && f.user != id {
			continue
		}
		o := map[string]any{"at": ts(f.at)}
		if sid == "" {
			o["session_id"] = f.user.String()
		}
		for k, v := range map[string]*bool{"read": f.read, "write": f.write, "upload": f.upload} {
			if v != nil {
				o[k] = *v
			}
		}
		out = append(out, o)
	}
	return v4srv.JSON(http.StatusOK, out)
}
