package session

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"time"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
)

// What the account's other devices change arrives in merged configs; this file applies it
// (profile, approvals, groups, communities) and reports it as Synced* events, and records the
// Client's own changes of groups and communities in the UserGroups config.

// SyncedProfile reports that another device of the account changed our profile (display name
// or picture). The Client attaches the new one to the messages it sends from now on.
type SyncedProfile struct {
	Profile Profile
}

// SyncedContact reports that another device of the account added, changed (approved, blocked,
// renamed…) or removed a contact.
type SyncedContact struct {
	Contact Contact
	Removed bool
}

// SyncedRead reports that another device of the account marked a conversation read (or
// unread).
type SyncedRead struct {
	Conversation Conversation
	LastRead     time.Time
	Unread       bool
}

// SyncedGroup reports that another device of the account created, joined, accepted, left or
// was removed from a group. The Client follows: it polls a group another device added and
// stops polling one another device left (Removed).
type SyncedGroup struct {
	Group  crypto.AccountID
	Name   string
	Status GroupStatus // our membership now
	Admin  bool
	// Removed: the group was forgotten (left or deleted on the other device).
	Removed bool
}

// SyncedCommunity reports that another device of the account joined (or left: Removed) a
// community room. With WithCommunityAutoJoin the Client follows, and Joined tells whether it
// is in the room now; Err is why following failed.
type SyncedCommunity struct {
	URL     string
	Removed bool
	Joined  bool
	Err     error
}

// ConfigRejected reports a message in one of the account's config namespaces that could not
// be used: it does not decrypt with the account's key, was sealed by another account, is too
// large, or does not parse (errors.Is with groups.ErrDecrypt, groups.ErrForeign,
// groups.ErrTooLarge, groups.ErrMalformed), or it is older than the config held
// (ErrStaleConfig). It is ignored; nothing held changes.
type ConfigRejected struct {
	Config string // the config's domain, e.g. groups.DomainContacts
	Hash   string
	Err    error
}

// MessageDropped reports a retrieved message that was dropped, not delivered: one from a blocked
// sender (see [Client.Block]; Err is ErrSenderBlocked), or a 1:1 or group message sent longer
// ago than any swarm keeps one when it was retrieved (Err is ErrMessageTooOld: a node serving
// it again).
type MessageDropped struct {
	Hash      string
	From      crypto.AccountID
	Timestamp time.Time
	// Group is the group whose message it was (zero for a 1:1 message).
	Group crypto.AccountID
	// Err says why (errors.Is ErrSenderBlocked or ErrMessageTooOld).
	Err error
}

func (*SyncedProfile) isEvent()   {}
func (*SyncedContact) isEvent()   {}
func (*SyncedRead) isEvent()      {}
func (*SyncedGroup) isEvent()     {}
func (*SyncedCommunity) isEvent() {}
func (*ConfigRejected) isEvent()  {}
func (*MessageDropped) isEvent()  {}

// Contact is an entry of the account's contact list, which its devices share.
type Contact struct {
	ID       crypto.AccountID
	Name     string // the name the contact gave itself
	Nickname string // the name we gave it
	// Approved: we accepted its messages (answered, or accepted its request); ApprovedMe: it
	// accepted ours.
	Approved, ApprovedMe bool
	Blocked              bool
	Created              time.Time
}

func contactFromConfig(g groups.Contact) Contact {
	c := Contact{ID: g.ID, Name: g.Name, Nickname: g.Nickname, Approved: g.Approved, ApprovedMe: g.ApprovedMe, Blocked: g.Blocked}
	if g.Created > 0 {
		c.Created = time.Unix(g.Created, 0)
	}
	return c
}

// Conversation names a conversation in the account's read positions: a 1:1 chat (a 05 ID) or
// a group (its 03 ID) by ID, or a community room by its join URL.
type Conversation struct {
	ID        crypto.AccountID
	Community string
}

func (v Conversation) convo() (groups.Convo, error) {
	if v.Community != "" {
		r, err := community.ParseURL(v.Community)
		if err != nil {
			return groups.Convo{}, err
		}
		return groups.Convo{Kind: groups.ConvoCommunity, BaseURL: r.Server.URL.String(), Room: r.Token, PubKey: r.Server.X25519}, nil
	}
	switch v.ID.Prefix() {
	case crypto.PrefixStandard:
		return groups.Convo{Kind: groups.ConvoOneToOne, ID: v.ID}, nil
	case crypto.PrefixGroup:
		return groups.Convo{Kind: groups.ConvoGroup, ID: v.ID}, nil
	}
	return groups.Convo{}, ErrInvalidRecipient
}

func conversationOf(cv groups.Convo) Conversation {
	if cv.Kind == groups.ConvoCommunity {
		return Conversation{Community: roomURL(cv.BaseURL, cv.Room, cv.PubKey)}
	}
	return Conversation{ID: cv.ID}
}

func roomURL(base, room string, pk [32]byte) string {
	return base + "/" + room + "?public_key=" + hex.EncodeToString(pk[:])
}

// configChangedLocked refreshes what the Client derives from a config after it changed.
// usync.mu is held.
func (c *Client) configChangedLocked(domain string) {
	if domain != groups.DomainContacts {
		return
	}
	s := &c.usync
	s.contacts, s.derived = nil, true
	for _, ct := range groups.ContactsFromData(s.cfgs[domain].Data()) {
		var f contactFlags
		if ct.Blocked {
			f |= contactBlocked
		}
		if ct.Approved || ct.ApprovedMe {
			f |= contactApproved
		}
		if f != 0 {
			if s.contacts == nil {
				s.contacts = map[crypto.AccountID]contactFlags{}
			}
			s.contacts[ct.ID] = f
		}
	}
}

// contactFlags is what the Client reads of a contact of the Contacts config on every message.
type contactFlags uint8

const (
	contactBlocked  contactFlags = 1 << iota // blocked
	contactApproved                          // approved by a device of the account, or approved us
)

// contactFlagsOf returns id's flags, reading the configs if they were never read.
func (c *Client) contactFlagsOf(ctx context.Context, id crypto.AccountID) (contactFlags, error) {
	s := &c.usync
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.derived {
		if err := c.loadConfigsLocked(ctx); err != nil {
			return 0, err
		}
	}
	return s.contacts[id], nil
}

// isBlocked reports whether the account blocked id (in the Contacts config its devices share).
func (c *Client) isBlocked(ctx context.Context, id crypto.AccountID) bool {
	if id == c.id {
		return false
	}
	f, err := c.contactFlagsOf(ctx, id)
	if err != nil {
		c.log.Warn("reading the contacts config", "err", err)
		return false
	}
	return f&contactBlocked != 0
}

// configApproved reports whether a device of the account approved id.
func (c *Client) configApproved(ctx context.Context, id crypto.AccountID) bool {
	f, err := c.contactFlagsOf(ctx, id)
	return err == nil && f&contactApproved != 0
}

// noteContact records a contact change in the Contacts config: f changes the contact (a new
// one starts approved by nobody, created now).
func (c *Client) noteContact(ctx context.Context, id crypto.AccountID, f func(ct *groups.Contact)) error {
	if id.Prefix() != crypto.PrefixStandard || id == c.id {
		return nil
	}
	now := c.net.Now().Unix()
	return c.updateConfig(ctx, groups.DomainContacts, func(d groups.Dict) error {
		ct, ok := groups.ContactFromData(d, id)
		if !ok {
			ct = groups.Contact{ID: id, Created: now}
		}
		f(&ct)
		return groups.SetContact(d, ct)
	})
}

// noteGroup records a group's state in the UserGroups config when its record is saved, so the
// account's other devices (and a device restored from the Recovery Password) know the group.
// It keeps what the Client does not track (priority, notifications) as other devices set it.
func (c *Client) noteGroup(ctx context.Context, st *groupState) {
	err := c.updateConfig(ctx, groups.DomainUserGroups, func(d groups.Dict) error {
		if st.forget {
			groups.EraseUserGroup(d, st.pk)
			return nil
		}
		ug, _ := groups.UserGroupFromData(d, st.pk)
		ug.PublicKey, ug.Name, ug.Joined = st.pk, st.name(), st.rec.Joined
		ug.Invited = st.rec.Status == GroupStatusInvited
		ug.Seed, ug.AuthData, ug.Removed = nil, nil, groups.GroupNotRemoved
		switch {
		case st.rec.Status == GroupStatusRemoved:
			ug.Removed = groups.GroupKicked
		case st.rec.Status == GroupStatusDestroyed:
			ug.Removed = groups.GroupDestroyed
		case st.admin != nil:
			seed := st.admin.Seed()
			ug.Seed = seed[:]
		case st.auth != nil:
			ug.AuthData = st.auth
		}
		return groups.SetUserGroup(d, ug)
	})
	if err != nil {
		c.log.Warn("recording a group in the account's config", "group", st.id.String(), "err", err)
	}
}

// noteCommunity records a joined (or left) community room in the UserGroups config.
func (c *Client) noteCommunity(ctx context.Context, r community.RoomURL, joined bool) {
	base := r.Server.URL.String()
	now := c.net.Now().Unix()
	err := c.updateConfig(ctx, groups.DomainUserGroups, func(d groups.Dict) error {
		if !joined {
			groups.EraseCommunity(d, base, r.Token)
			return nil
		}
		for _, cm := range groups.CommunitiesFromData(d) {
			if groups.SameRoom(cm.BaseURL, cm.Room, base, r.Token) {
				return nil
			}
		}
		return groups.SetCommunity(d, groups.UserCommunity{BaseURL: base, Room: r.Token, PubKey: r.Server.X25519, Joined: now})
	})
	if err != nil {
		c.log.Warn("recording a community in the account's config", "room", r.String(), "err", err)
	}
}

// recordLocalState records the groups and community rooms the store holds in the UserGroups
// config, once per Client: an account used before its configs were kept (or whose config
// expired) becomes visible to its other devices.
func (c *Client) recordLocalState(ctx context.Context) {
	ids, err := c.groupIDs(ctx)
	if err != nil {
		c.log.Warn("listing groups for the account's config", "err", err)
	}
	for _, id := range ids {
		unlock := c.lockGroup(id)
		if st, err := c.loadGroup(ctx, id); err == nil {
			c.noteGroup(ctx, st)
		}
		unlock()
	}
	rooms, err := c.joinedRooms(ctx)
	if err != nil {
		c.log.Warn("listing communities for the account's config", "err", err)
	}
	for _, r := range rooms {
		c.noteCommunity(ctx, r, true)
	}
}

// applyConfigChange applies what a merge changed in one config and returns the events.
func (c *Client) applyConfigChange(ctx context.Context, ch configChange) []Event {
	switch ch.domain {
	case groups.DomainUserProfile:
		return c.applyProfile(ctx, ch)
	case groups.DomainContacts:
		return c.applyContacts(ctx, ch)
	case groups.DomainConvoInfoVolatile:
		return applyConvos(ch)
	case groups.DomainUserGroups:
		return append(c.applyGroups(ctx, ch), c.applyCommunities(ctx, ch)...)
	}
	return nil
}

func (c *Client) applyContacts(ctx context.Context, ch configChange) []Event {
	before := map[crypto.AccountID]groups.Contact{}
	for _, ct := range groups.ContactsFromData(ch.before) {
		before[ct.ID] = ct
	}
	var evts []Event
	for _, ct := range groups.ContactsFromData(ch.after) {
		old, had := before[ct.ID]
		delete(before, ct.ID)
		if had && sameContact(old, ct) {
			continue
		}
		if ct.Approved || ct.ApprovedMe {
			c.approveLocal(ctx, ct.ID)
		}
		evts = append(evts, &SyncedContact{Contact: contactFromConfig(ct)})
	}
	for _, ct := range groups.ContactsFromData(ch.before) {
		if _, gone := before[ct.ID]; gone {
			evts = append(evts, &SyncedContact{Contact: contactFromConfig(ct), Removed: true})
		}
	}
	return evts
}

func sameContact(a, b groups.Contact) bool {
	return a.Name == b.Name && a.Nickname == b.Nickname && a.PicURL == b.PicURL && bytes.Equal(a.PicKey, b.PicKey) &&
		a.Approved == b.Approved && a.ApprovedMe == b.ApprovedMe && a.Blocked == b.Blocked && a.Priority == b.Priority &&
		a.Notifications == b.Notifications && a.MuteUntil == b.MuteUntil && a.ExpirationMode == b.ExpirationMode &&
		a.ExpirationTimer == b.ExpirationTimer && a.Created == b.Created
}

func applyConvos(ch configChange) []Event {
	before := map[Conversation]groups.Convo{}
	for _, cv := range groups.ConvosFromData(ch.before) {
		before[conversationOf(cv)] = cv
	}
	var evts []Event
	for _, cv := range groups.ConvosFromData(ch.after) {
		old, had := before[conversationOf(cv)]
		if had && old.LastRead == cv.LastRead && old.Unread == cv.Unread {
			continue
		}
		evts = append(evts, &SyncedRead{Conversation: conversationOf(cv), LastRead: time.UnixMilli(cv.LastRead), Unread: cv.Unread})
	}
	return evts
}

// applyGroups follows another device's changes of the group list: groups it added are set up
// here (and polled), groups it forgot are forgotten, and kicks, deletions, accepted invites
// and promotions are taken over.
func (c *Client) applyGroups(ctx context.Context, ch configChange) []Event {
	var evts []Event
	after := map[[32]byte]groups.UserGroup{}
	for _, g := range groups.UserGroupsFromData(ch.after) {
		after[g.PublicKey] = g
		old, had := groups.UserGroupFromData(ch.before, g.PublicKey)
		if had && sameUserGroup(old, g) {
			continue
		}
		if e := c.followGroup(ctx, g); e != nil {
			evts = append(evts, e)
		}
	}
	for _, g := range groups.UserGroupsFromData(ch.before) {
		if _, kept := after[g.PublicKey]; kept {
			continue
		}
		gid := g.ID()
		unlock := c.lockGroup(gid)
		st, err := c.loadGroup(ctx, gid)
		if err == nil {
			st.forget = true
			err = c.saveGroup(ctx, st)
			evts = append(evts, &SyncedGroup{Group: gid, Name: g.Name, Status: st.rec.Status, Admin: st.admin != nil, Removed: true})
		}
		unlock()
		if err != nil && !errors.Is(err, ErrUnknownGroup) {
			c.log.Warn("forgetting a group another device left", "group", gid.String(), "err", err)
		}
	}
	return evts
}

func sameUserGroup(a, b groups.UserGroup) bool {
	return bytes.Equal(a.Seed, b.Seed) && (a.AuthData == nil) == (b.AuthData == nil) && (a.AuthData == nil || *a.AuthData == *b.AuthData) &&
		a.Removed == b.Removed && a.Invited == b.Invited && a.Name == b.Name && a.Joined == b.Joined
}

// followGroup brings our record of a group in line with another device's entry.
func (c *Client) followGroup(ctx context.Context, g groups.UserGroup) Event {
	gid := g.ID()
	unlock := c.lockGroup(gid)
	defer unlock()
	st, err := c.loadGroup(ctx, gid)
	isNew := errors.Is(err, ErrUnknownGroup)
	if isNew {
		if g.Kicked() || g.Destroyed() || (len(g.Seed) == 0 && g.AuthData == nil) {
			return nil // nothing to take part in
		}
		rec := groupRecord{ID: gid.String(), Name: g.Name, Status: GroupStatusJoined, Joined: g.Joined, Joining: true}
		if g.Invited {
			rec.Status, rec.Joining = GroupStatusInvited, false
		}
		if len(g.Seed) == 32 {
			rec.Seed = g.Seed
		} else {
			rec.Auth = g.AuthData[:]
		}
		st, err = c.restoreGroup(rec)
	}
	if err != nil {
		c.log.Warn("following a group another device changed", "group", gid.String(), "err", err)
		return nil
	}
	switch {
	case isNew:
	case g.Destroyed() && st.rec.Status != GroupStatusDestroyed:
		st.rec.Status = GroupStatusDestroyed
	case g.Kicked() && st.rec.Status != GroupStatusRemoved && st.rec.Status != GroupStatusDestroyed:
		st.rec.Status = GroupStatusRemoved
	case !g.Invited && st.rec.Status == GroupStatusInvited && !g.Kicked() && !g.Destroyed():
		// Accepted on the other device, which also answered the invite.
		st.rec.Status, st.rec.Joining, st.rec.Joined = GroupStatusJoined, true, g.Joined
	}
	if len(g.Seed) == 32 && st.admin == nil {
		if err := st.setAdmin(groups.NewAdminKey([32]byte(g.Seed))); err != nil {
			c.log.Warn("taking the admin key another device holds", "group", gid.String(), "err", err)
		}
	}
	if err := c.saveGroup(ctx, st); err != nil {
		c.log.Warn("saving a group another device changed", "group", gid.String(), "err", err)
		return nil
	}
	return &SyncedGroup{Group: gid, Name: st.name(), Status: st.rec.Status, Admin: st.admin != nil}
}

// applyCommunities reports (and with WithCommunityAutoJoin follows) the rooms another device
// joined or left.
func (c *Client) applyCommunities(ctx context.Context, ch configChange) []Event {
	key := func(cm groups.UserCommunity) string {
		r, _ := groups.CanonicalRoom(cm.Room)
		return cm.BaseURL + "/" + r
	}
	before := map[string]groups.UserCommunity{}
	for _, cm := range groups.CommunitiesFromData(ch.before) {
		before[key(cm)] = cm
	}
	joined, _ := c.Communities(ctx)
	isJoined := func(cm groups.UserCommunity) (string, bool) {
		for _, u := range joined {
			r, err := community.ParseURL(u)
			if err == nil && groups.SameRoom(r.Server.URL.String(), r.Token, cm.BaseURL, cm.Room) {
				return u, true
			}
		}
		return roomURL(cm.BaseURL, cm.Room, cm.PubKey), false
	}
	var evts []Event
	for _, cm := range groups.CommunitiesFromData(ch.after) {
		if _, had := before[key(cm)]; had {
			delete(before, key(cm))
			continue
		}
		u, in := isJoined(cm)
		e := &SyncedCommunity{URL: u, Joined: in}
		if !in && c.cfg.autoJoin {
			if _, err := c.JoinCommunity(ctx, u); err != nil {
				e.Err = err
			} else {
				e.Joined = true
			}
		}
		evts = append(evts, e)
	}
	for _, cm := range before {
		u, in := isJoined(cm)
		e := &SyncedCommunity{URL: u, Removed: true, Joined: in}
		if in && c.cfg.autoJoin {
			if err := c.LeaveCommunity(ctx, u); err != nil && !errors.Is(err, ErrNotJoined) {
				e.Err = err
			} else {
				e.Joined = false
			}
		}
		evts = append(evts, e)
	}
	return evts
}
