package sogsd

import (
	"net/http"
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

// permissionsLocked serves GET/POST /room/<t>/permissions[/<sid>] (moderators only).
func (s *Server) permissionsLocked(c *call, r *room, p perms, rest []string) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.moderator {
		return respForbidden()
	}
	m := c.r.Method
	if len(rest) == 0 && m == http.MethodGet {
		out := map[string]any{}
		for id, o := range r.overrides {
			out[id.String()] = overrideJSON(o)
		}
		return v4srv.JSON(http.StatusOK, out)
	}
	if len(rest) != 1 {
		return respNotFound()
	}
	id, ok := s.parseSID(rest[0])
	if !ok {
		return respNotFound()
	}
	switch m {
	case http.MethodGet:
		eff := s.permsLocked(r, &id, c.now)
		out := map[string]any{"read": eff.Read, "accessible": eff.Accessible, "write": eff.Write, "upload": eff.Upload, "banned": eff.banned}
		if eff.moderator {
			out["moderator"] = true
		}
		if eff.admin {
			out["admin"] = true
		}
		return v4srv.JSON(http.StatusOK, out)
	case http.MethodPost:
		var b map[string]*bool
		if !decodeJSON(c.r, &b) {
			return respBadRequest("Invalid request body")
		}
		o := r.overrides[id]
		if o == nil {
			o = &override{}
		}
		fields := map[string]**bool{"read": &o.read, "accessible": &o.accessible, "write": &o.write, "upload": &o.upload}
		for k, v := range b {
			if dst, ok := fields[k]; ok {
				if v != nil {
					x := *v
					*dst = &x
				}
				continue
			}
			if k == "unschedule" {
				if v != nil && *v {
					r.unscheduleLocked(id)
				}
				continue
			}
			if len(k) > 8 && k[:8] == "default_" {
				if dst, ok := fields[k[8:]]; ok {
					if v != nil && *v {
						*dst = nil
					}
					continue
				}
			}
			return respBadRequest("Unknown permission " + k)
		}
		s.touchLocked(id, c.now)
		if o.read == nil && o.accessible == nil && o.write == nil && o.upload == nil {
			delete(r.overrides, id)
		} else {
			r.overrides[id] = o
		}
		return respEmpty()
	}
	return respNotFound()
}

func overrideJSON(o *override) map[string]any {
	out := map[string]any{}
	for k, v := range map[string]*bool{"read": o.read, "accessible": o.accessible, "write": o.write, "upload": o.upload} {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// deleteAllLocked serves DELETE /room/<t>/all/<sid>: a moderator, or the user themself, deletes
// all of the user's posts in the room.
func (s *Server) deleteAllLocked(c *call, r *room, p perms, sid string) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	id, ok := s.parseSID(sid)
	if !ok {
		return respNotFound()
	}
	if !p.moderator && id != *c.user {
		return respForbidden()
	}
	if s.deleteAllInRoomLocked(r, id) == 0 {
		return respNotFound()
	}
	return respEmpty()
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
// moderates.
func (s *Server) deleteAllEverywhere(c *call, sid string) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	id, ok := s.parseSID(sid)
	if !ok {
		return respNotFound()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	total, rooms, modAnywhere := 0, map[string]int{}, false
	for _, r := range s.roomList {
		if !s.isModLocked(r, *c.user) {
			continue
		}
		modAnywhere = true
		if n := s.deleteAllInRoomLocked(r, id); n > 0 {
			rooms[r.token] = n
			total += n
		}
	}
	if !modAnywhere {
		return respForbidden()
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
		return nil, false, respBadRequest("Exactly one of rooms or global is required")
	}
	g, isGlobal := s.globalMods[*c.user]
	if hasGlobal {
		if !isGlobal || (needAdmin && !g.admin) {
			return nil, false, respForbidden()
		}
		return nil, true, nil
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
			return nil, false, respForbidden()
		}
		return rooms, false, nil
	}
	for _, tok := range b.Rooms {
		r, ok := s.rooms[tok]
		if !ok {
			return nil, false, respNotFound()
		}
		if !can(r) {
			return nil, false, respForbidden()
		}
		rooms = append(rooms, r)
	}
	return rooms, false, nil
}

// banUser serves POST /user/<sid>/ban and /unban.
func (s *Server) banUser(c *call, sid string, ban bool) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	id, ok := s.parseSID(sid)
	if !ok {
		return respNotFound()
	}
	var b targetBody
	if !decodeJSON(c.r, &b) {
		return respBadRequest("Invalid request body")
	}
	var d time.Duration
	if b.Timeout != nil {
		if *b.Timeout <= 0 || *b.Timeout > 1e10 {
			return respBadRequest("Invalid timeout")
		}
		d = time.Duration(*b.Timeout * float64(time.Second))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rooms, global, fail := s.targetsLocked(c, &b, false)
	if fail != nil {
		return fail
	}
	if global {
		if _, isMod := s.globalMods[id]; isMod && ban {
			return respForbidden()
		}
		if ban {
			s.banGlobalLocked(id, d)
		} else if u := s.users[id]; u != nil {
			u.banned = false
		}
		return respEmpty()
	}
	for _, r := range rooms {
		if ban && s.isModLocked(r, id) {
			return respForbidden()
		}
	}
	for _, r := range rooms {
		if ban {
			s.banLocked(r, id, d)
		} else {
			delete(r.bans, id)
		}
	}
	return respEmpty()
}

// setModerator serves POST /user/<sid>/moderator.
func (s *Server) setModerator(c *call, sid string) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	id, ok := s.parseSID(sid)
	if !ok {
		return respNotFound()
	}
	var b targetBody
	if !decodeJSON(c.r, &b) {
		return respBadRequest("Invalid request body")
	}
	admin := b.Admin != nil && *b.Admin
	mod := b.Moderator != nil && *b.Moderator
	if b.Admin == nil && b.Moderator == nil {
		return respBadRequest("One of moderator or admin is required")
	}
	if admin && b.Moderator != nil && !*b.Moderator {
		return respBadRequest("admin requires moderator")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rooms, global, fail := s.targetsLocked(c, &b, true)
	if fail != nil {
		return fail
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
// /room/<t>/futurePermissions/<sid> {read?, write?, upload?, in: seconds} (moderators only).
func (s *Server) futurePermissionsLocked(c *call, r *room, p perms, rest []string) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	if !p.moderator {
		return respForbidden()
	}
	if len(rest) == 0 && c.r.Method == http.MethodGet {
		out := []map[string]any{}
		for _, f := range r.future {
			o := map[string]any{"session_id": f.user.String(), "at": ts(f.at)}
			for k, v := range map[string]*bool{"read": f.read, "write": f.write, "upload": f.upload} {
				if v != nil {
					o[k] = *v
				}
			}
			out = append(out, o)
		}
		return v4srv.JSON(http.StatusOK, out)
	}
	if len(rest) != 1 || c.r.Method != http.MethodPost {
		return respNotFound()
	}
	id, ok := s.parseSID(rest[0])
	if !ok {
		return respNotFound()
	}
	var b struct {
		Read   *bool    `json:"read"`
		Write  *bool    `json:"write"`
		Upload *bool    `json:"upload"`
		In     *float64 `json:"in"`
	}
	if !decodeJSON(c.r, &b) || b.In == nil || *b.In <= 0 || *b.In >= 1e9 || (b.Read == nil && b.Write == nil && b.Upload == nil) {
		return respBadRequest("Invalid future permissions: need in (0 < in < 1e9) and one of read, write, upload")
	}
	s.touchLocked(id, c.now)
	r.future = append(r.future, &futurePerm{user: id, at: c.now.Add(time.Duration(*b.In * float64(time.Second))),
		read: b.Read, write: b.Write, upload: b.Upload})
	return respEmpty()
}
