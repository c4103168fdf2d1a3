package session

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/crypto/blake2b"
	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// This file is the Client's side of closed groups v2 ("03" groups): creating a group, inviting,
// joining, sending, removing members with key rotation and token revocation, promoting admins,
// leaving and deleting. The cryptography and wire formats are package groups; the polling of
// the groups' swarms and the handling of what comes back is in groups_poll.go.

// Errors of the group operations; match them with errors.Is.
var (
	// ErrUnknownGroup: the group is not in the store (never joined, left or deleted).
	ErrUnknownGroup = errors.New("session: unknown group")
	// ErrNotGroupAdmin: the operation needs the group's secret key (admins only).
	ErrNotGroupAdmin = errors.New("session: not an admin of the group")
	// ErrGroupNotJoined: the group's invite was not accepted yet (see [Client.AcceptGroupInvite]).
	ErrGroupNotJoined = errors.New("session: group invite not accepted")
	// ErrGroupRemoved: we were removed from the group, or an admin deleted it.
	ErrGroupRemoved = errors.New("session: removed from the group")
	// ErrInvalidGroupUpdate: a group invite, promotion or control message is malformed or its
	// admin signature does not verify.
	ErrInvalidGroupUpdate = errors.New("session: invalid group update")
)

// GroupStatus is our membership of a group.
type GroupStatus int

const (
	// GroupStatusInvited: we were invited (or promoted) and have not accepted yet.
	GroupStatusInvited GroupStatus = iota + 1
	// GroupStatusJoined: we are a member (or admin) and the group's swarm is polled.
	GroupStatusJoined
	// GroupStatusRemoved: an admin removed us; the group is no longer polled.
	GroupStatusRemoved
	// GroupStatusDestroyed: an admin deleted the group; it is no longer polled.
	GroupStatusDestroyed
)

func (s GroupStatus) String() string {
	switch s {
	case GroupStatusInvited:
		return "invited"
	case GroupStatusJoined:
		return "joined"
	case GroupStatusRemoved:
		return "removed"
	case GroupStatusDestroyed:
		return "destroyed"
	}
	return fmt.Sprintf("GroupStatus(%d)", int(s))
}

// Group is a snapshot of a closed group as we know it.
type Group struct {
	ID          crypto.AccountID // the group's 03 ID
	Name        string
	Description string
	Created     time.Time
	Status      GroupStatus
	// Admin reports that we hold the group's secret key.
	Admin bool
	// Generation is the newest key generation we hold (-1 before the first key arrives).
	Generation int64
	// InvitedBy is who invited (or promoted) us, zero for a group we created.
	InvitedBy crypto.AccountID
	Members   []GroupMember
	// PictureURL and PictureKey are the group's picture (encrypted on the file server; see
	// Network.DownloadGroupPicture), empty when it has none.
	PictureURL string
	PictureKey SecretBytes
	// Disappearing is the group's disappearing-messages setting (after send, or off).
	Disappearing Expiry
	// DeleteBefore and DeleteAttachmentsBefore are the admins' requests to delete the messages
	// (or only the attachments) sent before them; zero when not set. The Client no longer
	// delivers such messages (or their attachments).
	DeleteBefore, DeleteAttachmentsBefore time.Time
}

// GroupMember is one entry of a group's member list.
type GroupMember struct {
	ID    crypto.AccountID
	Name  string
	Admin bool
	// Invited: the invite was sent and not accepted yet; InviteFailed: it could not be sent.
	Invited, InviteFailed bool
	// PromotionPending: an admin promoted the member, who has not taken the key yet.
	PromotionPending bool
	// Removed: the member is being removed.
	Removed bool
}

// Group events. While Run is active, the events of groups' swarms are dispatched from Run's
// group poller goroutine (invitations and promotions, which come 1:1, from Run's own loop);
// with PollOnce, by its caller.

// GroupInvite reports an invitation to a group (or a promotion to admin of a group we are not
// in, which works as an invitation). Accept it with AcceptGroupInvite; until then the group is
// not polled.
type GroupInvite struct {
	Hash      string // storage hash of the 1:1 message that carried it
	Group     crypto.AccountID
	Name      string
	From      crypto.AccountID
	Timestamp time.Time
	// Promoted: the invitation carries the group's secret key (we join as an admin).
	Promoted bool
}

// GroupMessage is a visible message in a group.
type GroupMessage struct {
	Hash      string
	Group     crypto.AccountID
	From      crypto.AccountID
	Timestamp time.Time
	Text      string
	// Attachments are the files attached to the message (see [Attachment.Download]).
	Attachments []*Attachment
	Quote       *MessageRef
	Profile     *Profile
	Previews    []LinkPreview
	// Expiry is the message's disappearing setting and ExpiresAt when it disappears (its sent
	// time plus the timer; groups only have "after send").
	Expiry    *Expiry
	ExpiresAt time.Time
	Pro       *ProFeatures
}

// Ref returns the reference to quote or react to this message.
func (m *GroupMessage) Ref() MessageRef { return MessageRef{Author: m.From, Timestamp: m.Timestamp} }

// GroupChangeKind says what a GroupMemberChange reports.
type GroupChangeKind int

const (
	// MembersAdded: an admin added (invited) Members.
	MembersAdded GroupChangeKind = iota + 1
	// MembersRemoved: an admin removed Members.
	MembersRemoved
	// MembersPromoted: an admin made Members admins (for us: we received the group key).
	MembersPromoted
	// MemberLeft: the member left the group by itself.
	MemberLeft
	// MemberJoined: the member accepted its invite.
	MemberJoined
)

func (k GroupChangeKind) String() string {
	switch k {
	case MembersAdded:
		return "added"
	case MembersRemoved:
		return "removed"
	case MembersPromoted:
		return "promoted"
	case MemberLeft:
		return "left"
	case MemberJoined:
		return "joined"
	}
	return fmt.Sprintf("GroupChangeKind(%d)", int(k))
}

// GroupMemberChange reports a change of a group's membership, announced in the group by By.
// Changes by admins carry the group key's signature, which was checked.
type GroupMemberChange struct {
	Hash      string
	Group     crypto.AccountID
	By        crypto.AccountID
	Kind      GroupChangeKind
	Members   []crypto.AccountID
	Timestamp time.Time
	// HistoryShared: added members were given the earlier keys (MembersAdded only).
	HistoryShared bool
}

// GroupInfoChange reports that an admin changed the group's name, picture or disappearing
// messages setting (the announcement; the new values arrive as a GroupUpdated).
type GroupInfoChange struct {
	Hash      string
	Group     crypto.AccountID
	By        crypto.AccountID
	Timestamp time.Time
	// Name is the new name (name changes); ExpireTimer the new disappearing timer.
	Name        string
	ExpireTimer time.Duration
}

// GroupMessagesDeleted reports messages of a group deleted for everyone: by an admin (Admin,
// the group key's signature checked), every message whose hash is in Hashes and every message
// of the Members; by a member (not Admin), the messages among Hashes that By wrote (check the
// author: a member may only delete its own). The SDK keeps no message history: delete them
// where you keep it. Admins also deleted them from the group's swarm.
type GroupMessagesDeleted struct {
	Hash      string
	Group     crypto.AccountID
	By        crypto.AccountID
	Admin     bool
	Members   []crypto.AccountID
	Hashes    []string
	Timestamp time.Time
}

// GroupHistoryCleared reports that the group's admins asked every member to delete the
// messages (or, AttachmentsOnly, the attachments of the messages) sent before Before.
type GroupHistoryCleared struct {
	Group           crypto.AccountID
	Before          time.Time
	AttachmentsOnly bool
}

// GroupUpdated reports that the group's info or member list changed (a new config from the
// group's swarm); Group is the new state.
type GroupUpdated struct {
	Group Group
}

// GroupJoined reports that a group whose invite we accepted is usable: its keys (and, when
// they were there, its info and members) are loaded, and we can send to it.
type GroupJoined struct {
	Group Group
}

// GroupRemoved reports that we were removed from the group (or, Destroyed, that an admin
// deleted it). The group is no longer polled.
type GroupRemoved struct {
	Group     crypto.AccountID
	Destroyed bool
}

// UndecryptableGroupMessage reports a message of a group's swarm (or a 1:1 group invite or
// promotion) that could not be decrypted, failed its signature checks or did not parse. It is
// skipped; Err says why (match it with errors.Is against the groups and session errors).
// Members who joined after a rekey get it, with groups.ErrDecrypt, for what was encrypted with
// the keys before theirs; configs that fail so are tried again when a new key arrives.
type UndecryptableGroupMessage struct {
	Group     crypto.AccountID
	Namespace int16
	Hash      string
	Err       error
}

// Storage: one record per (account, group) in the KVStore, and a list of the account's groups.
// The record holds the group's secrets (the admin seed or the member's auth data, and the key
// dump), kept as the store keeps account seeds.
const (
	groupBucket      = "group"
	groupIndexBucket = "groupindex"
	// groupConfigTTL is how long keys and config messages live in the group's swarm (the
	// maximum); groupMessageTTL is the TTL of group chat messages.
	groupConfigTTL  = 30 * 24 * time.Hour
	groupMessageTTL = 14 * 24 * time.Hour
)

type groupRecord struct {
	ID      string      `json:"id"`
	Name    string      `json:"name,omitempty"` // from the invite or creation
	Status  GroupStatus `json:"status"`
	Seed    []byte      `json:"seed,omitempty"` // the group's secret seed (admins)
	Auth    []byte      `json:"auth,omitempty"` // our subaccount auth data (members)
	Keys    []byte      `json:"keys,omitempty"` // groups.Keys dump
	Info    []byte      `json:"info,omitempty"` // groups.Config dumps
	Members []byte      `json:"members,omitempty"`
	Inviter string      `json:"inviter,omitempty"`
	Joined  int64       `json:"joined,omitempty"` // unix seconds
	// SendResponse: we accepted an invite; the inviteResponse goes out once keys are loaded.
	SendResponse bool `json:"send_response,omitempty"`
	// ClaimAdmin: we were promoted; our Members entry is marked admin once Members is loaded.
	ClaimAdmin bool `json:"claim_admin,omitempty"`
	// Joining: we accepted an invite; GroupJoined is sent once the keys are loaded.
	Joining bool `json:"joining,omitempty"`
	// Retry holds the newest configs no key could open (their key message may not have reached
	// the member we poll yet); they are tried again when a new key arrives.
	Retry []retryConfig `json:"retry,omitempty"`
	// Admins keep the group's key messages and their own newest configs alive in the swarm:
	// Pushed are the storage hashes of the configs we pushed last, Extended when (unix s) their
	// expiry and that of the active key messages was last pushed back to the maximum.
	Pushed   []string `json:"pushed,omitempty"`
	Extended int64    `json:"extended,omitempty"`
	// Undelivered are the events of state changes (GroupUpdated, GroupRemoved, ...) that the
	// handlers have not taken yet: the change is saved before its events are dispatched, so
	// handling its message again finds nothing new; the events are kept here until delivered
	// (groups_poll.go).
	Undelivered []stateEvent `json:"undelivered,omitempty"`
}

type retryConfig struct {
	NS   int16  `json:"ns"`
	Hash string `json:"hash"`
	Data []byte `json:"data"`
}

// maxRetryConfigs bounds groupRecord.Retry.
const maxRetryConfigs = 4

// groupState is a group's record with its keys and configs restored.
type groupState struct {
	rec     groupRecord
	id      crypto.AccountID
	pk      [32]byte
	admin   *groups.AdminKey
	auth    *groups.AuthData
	keys    *groups.Keys
	info    *groups.Config
	members *groups.Config
	// forget makes saveGroup delete the record instead of writing it.
	forget bool
}

// Changes to one group's record are read-modify-write sequences that the poller and the API
// calls both make: they hold the group's lock (Client.locks). No code path holds two of them.
// The locks are the Client's, so two Clients must not share one account in one store.

func (c *Client) lockGroup(gid crypto.AccountID) func() {
	m := c.locks.get("group/" + gid.String())
	m.Lock()
	return m.Unlock
}

func (c *Client) groupKey(gid crypto.AccountID) string { return c.id.String() + "/" + gid.String() }

// groupInbox is the store account under which a group's retrieved messages wait to be handled:
// one per (account, group), so that the account's own Pending list holds only 1:1 messages and
// two accounts of one store in the same group do not share "seen" hashes.
func (c *Client) groupInbox(gid crypto.AccountID) crypto.AccountID {
	h := blake2b.Sum256(slices.Concat([]byte("sessiongo group inbox"), c.id[:], gid[:]))
	return crypto.NewAccountID(crypto.PrefixGroup, h)
}

func (c *Client) loadGroup(ctx context.Context, gid crypto.AccountID) (*groupState, error) {
	b, err := c.store.GetValue(ctx, groupBucket, c.groupKey(gid))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownGroup, gid)
	}
	if err != nil {
		return nil, fmt.Errorf("session: reading group %s: %w", gid, err)
	}
	var rec groupRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("session: group %s: corrupt saved state: %w", gid, err)
	}
	return c.restoreGroup(rec)
}

func (c *Client) restoreGroup(rec groupRecord) (*groupState, error) {
	id, pk, err := groups.ParseID(rec.ID)
	if err != nil {
		return nil, fmt.Errorf("session: saved group: %w", err)
	}
	st := &groupState{rec: rec, id: id, pk: pk}
	if len(rec.Seed) == 32 {
		st.admin = groups.NewAdminKey([32]byte(rec.Seed))
		if st.admin.PublicKey() != pk {
			return nil, fmt.Errorf("session: group %s: saved seed is not the group's", id)
		}
	}
	if len(rec.Auth) == groups.AuthDataSize {
		a := groups.AuthData(rec.Auth)
		st.auth = &a
	}
	if len(rec.Keys) > 0 {
		st.keys, err = groups.RestoreKeys(rec.Keys, c.keys, pk, st.admin)
	} else {
		st.keys, err = groups.NewKeys(c.keys, pk, st.admin)
	}
	if err != nil {
		return nil, fmt.Errorf("session: group %s keys: %w", id, err)
	}
	restore := func(dump []byte) (*groups.Config, error) {
		if len(dump) > 0 {
			return groups.RestoreConfig(dump, &pk, st.admin)
		}
		return groups.NewGroupConfig(pk, st.admin)
	}
	if st.info, err = restore(rec.Info); err != nil {
		return nil, fmt.Errorf("session: group %s info: %w", id, err)
	}
	if st.members, err = restore(rec.Members); err != nil {
		return nil, fmt.Errorf("session: group %s members: %w", id, err)
	}
	return st, nil
}

// setAdmin makes st an admin's state (after a promotion).
func (st *groupState) setAdmin(admin *groups.AdminKey) error {
	if err := st.keys.LoadAdminKey(admin); err != nil {
		return err
	}
	info, err := groups.RestoreConfig(st.info.Dump(), &st.pk, admin)
	if err != nil {
		return err
	}
	members, err := groups.RestoreConfig(st.members.Dump(), &st.pk, admin)
	if err != nil {
		return err
	}
	seed := admin.Seed()
	st.admin, st.info, st.members, st.rec.Seed = admin, info, members, seed[:]
	return nil
}

func (c *Client) saveGroup(ctx context.Context, st *groupState) error {
	defer c.noteGroup(ctx, st) // the account's other devices learn of it (usersync_apply.go)
	if st.forget {
		if err := c.store.DeleteValue(ctx, groupBucket, c.groupKey(st.id)); err != nil {
			return fmt.Errorf("session: deleting group %s: %w", st.id, err)
		}
		return c.updateGroupIndex(ctx, st.id, false)
	}
	st.rec.Keys, st.rec.Info, st.rec.Members = st.keys.Dump(), st.info.Dump(), st.members.Dump()
	b, err := json.Marshal(st.rec)
	if err != nil {
		return fmt.Errorf("session: encoding group %s: %w", st.id, err)
	}
	if err := c.store.PutValue(ctx, groupBucket, c.groupKey(st.id), b); err != nil {
		return fmt.Errorf("session: saving group %s: %w", st.id, err)
	}
	return c.updateGroupIndex(ctx, st.id, true)
}

// updateGroup runs f on the group's state under the group's lock and saves the state, also when
// f fails part way (what it did, a pushed key or a sent invite, happened).
func (c *Client) updateGroup(ctx context.Context, gid crypto.AccountID, f func(st *groupState) error) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	// The lease first (lease.go): f may push to the group's swarm before the state is saved,
	// and a refused update must have sent nothing.
	if err := c.leaseForSend(ctx); err != nil {
		return err
	}
	unlock := c.lockGroup(gid)
	defer unlock()
	st, err := c.loadGroup(ctx, gid)
	if err != nil {
		return err
	}
	ferr := f(st)
	if err := c.saveGroup(ctx, st); err != nil {
		return errors.Join(ferr, err)
	}
	return ferr
}

func (c *Client) groupIDs(ctx context.Context) ([]crypto.AccountID, error) {
	b, err := c.store.GetValue(ctx, groupIndexBucket, c.id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session: reading group list: %w", err)
	}
	var ids []crypto.AccountID
	if err := json.Unmarshal(b, &ids); err != nil {
		return nil, fmt.Errorf("session: corrupt group list: %w", err)
	}
	return ids, nil
}

func (c *Client) updateGroupIndex(ctx context.Context, gid crypto.AccountID, present bool) error {
	m := c.locks.get("groups")
	m.Lock()
	defer m.Unlock()
	ids, err := c.groupIDs(ctx)
	if err != nil {
		return err
	}
	i := slices.Index(ids, gid)
	switch {
	case present && i < 0:
		ids = append(ids, gid)
	case !present && i >= 0:
		ids = slices.Delete(ids, i, i+1)
	default:
		return nil
	}
	b, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	if err := c.store.PutValue(ctx, groupIndexBucket, c.id.String(), b); err != nil {
		return fmt.Errorf("session: saving group list: %w", err)
	}
	return nil
}

func (st *groupState) name() string {
	if n := groups.InfoFromData(st.info.Data()).Name; n != "" {
		return n
	}
	return st.rec.Name
}

func (st *groupState) memberList() []groups.Member { return groups.MembersFromData(st.members.Data()) }

func (st *groupState) memberIDs() []crypto.AccountID {
	ms := st.memberList()
	ids := make([]crypto.AccountID, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	return ids
}

func (st *groupState) member(id crypto.AccountID) (groups.Member, bool) {
	for _, m := range st.memberList() {
		if m.ID == id {
			return m, true
		}
	}
	return groups.Member{}, false
}

func (st *groupState) snapshot() Group {
	info := groups.InfoFromData(st.info.Data())
	g := Group{ID: st.id, Name: st.name(), Description: info.Description, Status: st.rec.Status,
		Admin: st.admin != nil, Generation: st.keys.CurrentGeneration(), Disappearing: st.disappearing()}
	if info.Created > 0 {
		g.Created = time.Unix(info.Created, 0)
	}
	if info.PicURL != "" && len(info.PicKey) == 32 {
		g.PictureURL, g.PictureKey = info.PicURL, append([]byte(nil), info.PicKey...)
	}
	if info.DeleteBefore > 0 {
		g.DeleteBefore = time.Unix(info.DeleteBefore, 0)
	}
	if info.DeleteAttachmentsBefore > 0 {
		g.DeleteAttachmentsBefore = time.Unix(info.DeleteAttachmentsBefore, 0)
	}
	if st.rec.Inviter != "" {
		g.InvitedBy, _ = crypto.ParseAccountID(st.rec.Inviter)
	}
	for _, m := range st.memberList() {
		g.Members = append(g.Members, GroupMember{ID: m.ID, Name: m.Name, Admin: m.Admin,
			Invited: m.Invite == groups.InviteSent || m.Invite == groups.InviteNotSent, InviteFailed: m.Invite == groups.InviteFailed,
			PromotionPending: m.Promotion != 0, Removed: m.Removed != 0})
	}
	return g
}

func (st *groupState) requireAdmin() error {
	if st.admin == nil {
		return fmt.Errorf("%w: %s", ErrNotGroupAdmin, st.id)
	}
	return st.requireJoined()
}

func (st *groupState) requireJoined() error {
	switch st.rec.Status {
	case GroupStatusJoined:
		return nil
	case GroupStatusInvited:
		return fmt.Errorf("%w: %s", ErrGroupNotJoined, st.id)
	}
	return fmt.Errorf("%w: %s (%v)", ErrGroupRemoved, st.id, st.rec.Status)
}

func (c *Client) groupSigner(st *groupState) (swarm.Signer, error) {
	if st.admin != nil {
		return swarm.NewGroupAdminSigner(st.admin.PrivateKey())
	}
	if st.auth != nil {
		return groups.NewSubaccountSigner(c.keys, st.id, *st.auth)
	}
	return nil, fmt.Errorf("%w: no credentials for group %s", ErrGroupNotJoined, st.id)
}

func (c *Client) myName() string {
	if p := c.currentProfile(); p != nil {
		return p.DisplayName
	}
	return ""
}

// Groups returns every group we are in, were invited to or were removed from.
func (c *Client) Groups(ctx context.Context) ([]Group, error) {
	ids, err := c.groupIDs(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Group, 0, len(ids))
	for _, id := range ids {
		st, err := c.loadGroup(ctx, id)
		if errors.Is(err, ErrUnknownGroup) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st.snapshot())
	}
	return out, nil
}

// Group returns what we know of one group.
func (c *Client) Group(ctx context.Context, id crypto.AccountID) (Group, error) {
	st, err := c.loadGroup(ctx, id)
	if err != nil {
		return Group{}, err
	}
	return st.snapshot(), nil
}

func (c *Client) checkMembers(ids []crypto.AccountID) ([]crypto.AccountID, error) {
	var out []crypto.AccountID
	for _, id := range ids {
		if id.Prefix() != crypto.PrefixStandard {
			return nil, fmt.Errorf("%w: %s", ErrInvalidRecipient, id)
		}
		if id != c.id && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out, nil
}

// CreateGroup creates a closed group named name with us as its admin, and invites members
// (05 Account IDs). It makes the group key, the first key message (every member gets the key)
// and the group's info and member list, stores them in the group's swarm, and sends each member
// a 1:1 invitation carrying its subaccount credentials and the group key's signature. The group
// exists (and is returned) once its keys and configs are stored; invites that could not be sent
// are marked failed in the member list and reported in the error alongside the group.
func (c *Client) CreateGroup(ctx context.Context, name string, members ...crypto.AccountID) (*Group, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if name == "" {
		return nil, fmt.Errorf("%w: a group needs a name", ErrInvalidGroupUpdate)
	}
	invitees, err := c.checkMembers(members)
	if err != nil {
		return nil, err
	}
	admin, err := groups.GenerateAdminKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	now := c.now()
	st := &groupState{id: admin.ID(), pk: admin.PublicKey(), admin: admin}
	seed := admin.Seed()
	st.rec = groupRecord{ID: st.id.String(), Name: name, Status: GroupStatusJoined, Seed: seed[:], Joined: now.Unix()}
	if st.keys, err = groups.NewKeys(c.keys, st.pk, admin); err != nil {
		return nil, err
	}
	if st.info, err = groups.NewGroupConfig(st.pk, admin); err != nil {
		return nil, err
	}
	if st.members, err = groups.NewGroupConfig(st.pk, admin); err != nil {
		return nil, err
	}
	if err := st.info.Update(func(d groups.Dict) { groups.Info{Name: name, Created: now.Unix()}.Apply(d) }); err != nil {
		return nil, err
	}
	var setErr error
	if err := st.members.Update(func(d groups.Dict) {
		setErr = errors.Join(setErr, groups.SetMember(d, groups.Member{ID: c.id, Name: c.myName(), Admin: true}))
		for _, id := range invitees {
			setErr = errors.Join(setErr, groups.SetMember(d, groups.Member{ID: id, Invite: groups.InviteNotSent}))
		}
	}); err != nil || setErr != nil {
		return nil, errors.Join(err, setErr)
	}
	keyMsg, err := st.keys.Rekey(append([]crypto.AccountID{c.id}, invitees...))
	if err != nil {
		return nil, err
	}
	unlock := c.lockGroup(st.id)
	defer unlock()
	// The group exists locally before anything is sent, so a failure leaves nothing unknown.
	if err := c.saveGroup(ctx, st); err != nil {
		return nil, err
	}
	if err := c.pushGroupState(ctx, st, keyMsg); err != nil {
		return nil, errors.Join(err, c.saveGroup(ctx, st))
	}
	ierr := c.inviteMembers(ctx, st, invitees, false)
	if err := c.saveGroup(ctx, st); err != nil {
		return nil, errors.Join(ierr, err)
	}
	g := st.snapshot()
	return &g, ierr
}

// InviteToGroup adds members to a group we administer: they enter the member list, the group
// is rekeyed (new members cannot read earlier messages), the change is announced in the group,
// any earlier revocation of their credentials is lifted, and each gets a 1:1 invitation.
func (c *Client) InviteToGroup(ctx context.Context, group crypto.AccountID, members ...crypto.AccountID) error {
	invitees, err := c.checkMembers(members)
	if err != nil || len(invitees) == 0 {
		return err
	}
	return c.updateGroup(ctx, group, func(st *groupState) error {
		if err := st.requireAdmin(); err != nil {
			return err
		}
		var setErr error
		if err := st.members.Update(func(d groups.Dict) {
			for _, id := range invitees {
				setErr = errors.Join(setErr, groups.SetMember(d, groups.Member{ID: id, Invite: groups.InviteNotSent}))
			}
		}); err != nil || setErr != nil {
			return errors.Join(err, setErr)
		}
		keyMsg, err := st.keys.Rekey(st.memberIDs())
		if err != nil {
			return err
		}
		if err := c.pushGroupState(ctx, st, keyMsg); err != nil {
			return err
		}
		if err := c.sendMemberChange(ctx, st, pb.GroupUpdateMemberChangeMessage_ADDED, invitees); err != nil {
			c.log.Warn("group: announcing added members", "group", st.id.String(), "err", err)
		}
		return c.inviteMembers(ctx, st, invitees, true)
	})
}

// inviteMembers sends the 1:1 invitations and records in Members whether each was sent.
func (c *Client) inviteMembers(ctx context.Context, st *groupState, ids []crypto.AccountID, unrevoke bool) error {
	if len(ids) == 0 {
		return nil
	}
	flags := groups.SubaccountFlags(true, false)
	var errs []error
	if unrevoke {
		// Tokens are deterministic: a member removed before would come back revoked.
		signer, err := c.groupSigner(st)
		if err != nil {
			return err
		}
		var toks [][swarm.SubaccountTokenSize]byte
		for _, id := range ids {
			t, err := st.admin.SubaccountToken(id, flags)
			if err != nil {
				return err
			}
			toks = append(toks, t)
		}
		for len(toks) > 0 {
			n := min(len(toks), swarm.MaxRevokeTokens)
			if _, err := c.net.rpc.UnrevokeSubaccount(ctx, signer, swarm.UnrevokeSubaccountRequest{Tokens: toks[:n]}); err != nil {
				errs = append(errs, fmt.Errorf("session: unrevoking invitees: %w", err))
			}
			toks = toks[n:]
		}
	}
	status := map[crypto.AccountID]groups.InviteStatus{}
	for _, id := range ids {
		auth, err := st.admin.SubaccountAuth(id, flags)
		if err != nil {
			return err
		}
		at := c.msNow()
		sig := st.admin.Sign(groups.InviteSigningMessage(id, at.UnixMilli()))
		gu := &pb.GroupUpdateMessage{InviteMessage: &pb.GroupUpdateInviteMessage{
			GroupSessionId: proto.String(st.id.String()), Name: proto.String(st.name()),
			MemberAuthData: auth[:], AdminSignature: sig[:]}}
		if err := c.sendDirectGroupUpdate(ctx, id, gu, at); err != nil {
			status[id] = groups.InviteFailed
			errs = append(errs, fmt.Errorf("session: inviting %s: %w", id, err))
		} else {
			status[id] = groups.InviteSent
		}
	}
	if err := st.members.Update(func(d groups.Dict) {
		for _, m := range groups.MembersFromData(d) {
			if s, ok := status[m.ID]; ok {
				m.Invite = s
				_ = groups.SetMember(d, m)
			}
		}
	}); err != nil {
		return errors.Join(append(errs, err)...)
	}
	if err := c.pushGroupState(ctx, st, nil); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// AcceptGroupInvite joins a group we were invited to: from the next poll on (Run's group
// poller, or PollOnce) the group's swarm is polled; once the keys are loaded, a GroupJoined
// event says the group is usable and the group is told we accepted. It does no network I/O, so
// an event handler may call it.
func (c *Client) AcceptGroupInvite(ctx context.Context, group crypto.AccountID) error {
	return c.updateGroup(ctx, group, func(st *groupState) error {
		switch st.rec.Status {
		case GroupStatusJoined:
			return nil
		case GroupStatusInvited:
		default:
			return fmt.Errorf("%w: %s (%v)", ErrGroupRemoved, st.id, st.rec.Status)
		}
		st.rec.Status, st.rec.Joining = GroupStatusJoined, true
		st.rec.Joined = c.now().Unix()
		if st.admin != nil {
			st.rec.ClaimAdmin = true
		} else {
			st.rec.SendResponse = true
		}
		return nil
	})
}

// SendGroupText sends a text message to a group we are in. Of the options, WithQuote,
// WithExpiry and WithTTL apply.
func (c *Client) SendGroupText(ctx context.Context, group crypto.AccountID, text string, opts ...SendOption) (*SendResult, error) {
	if err := checkText(text, true); err != nil {
		return nil, err
	}
	return c.sendGroupData(ctx, group, text, nil, opts)
}

// SendGroupAttachments uploads files (encrypted) to the file server and sends them to a group
// in one message with text (which may be empty).
func (c *Client) SendGroupAttachments(ctx context.Context, group crypto.AccountID, text string, files []AttachmentFile, opts ...SendOption) (*SendResult, error) {
	if err := checkText(text, false); err != nil {
		return nil, err
	}
	if _, err := c.loadJoinedGroup(ctx, group); err != nil {
		return nil, err
	}
	ptrs, err := c.uploadAttachments(ctx, files)
	if err != nil {
		return nil, err
	}
	return c.sendGroupData(ctx, group, text, ptrs, opts)
}

func (c *Client) loadJoinedGroup(ctx context.Context, group crypto.AccountID) (*groupState, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	st, err := c.loadGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	if err := st.requireJoined(); err != nil {
		return nil, err
	}
	return st, nil
}

func (c *Client) sendGroupData(ctx context.Context, group crypto.AccountID, text string, attachments []*pb.AttachmentPointer, opts []SendOption) (*SendResult, error) {
	st, err := c.loadJoinedGroup(ctx, group)
	if err != nil {
		return nil, err
	}
	o := c.sendOptions(opts)
	if !o.expirySet {
		if e := st.disappearing(); !e.Off() {
			o.expiry = &e
		}
	} else if o.expiry != nil && o.expiry.Off() {
		o.expiry = nil
	}
	if o.expiry != nil && o.expiry.Mode == ExpiryAfterRead {
		return nil, fmt.Errorf("%w: groups only have delete after send", ErrInvalidExpiry)
	}
	previews, err := c.uploadPreviews(ctx, o.previews, nil)
	if err != nil {
		return nil, err
	}
	content := visibleContent(text, attachments, &o)
	content.DataMessage.Preview = previews
	ttl := o.ttl
	if ttl == 0 {
		ttl = groupMessageTTL
	}
	return c.sendGroupContent(ctx, st, content, ttl)
}

// RemoveGroupMembers removes members from a group we administer, with key rotation: the
// removal is announced, a notice only the removed members can read is left in the group's
// swarm, their credentials are revoked (the swarm refuses them from then on), and they are
// erased from the member list before a new key is made for everyone else.
func (c *Client) RemoveGroupMembers(ctx context.Context, group crypto.AccountID, members ...crypto.AccountID) error {
	ids, err := c.checkMembers(members)
	if err != nil || len(ids) == 0 {
		return err
	}
	return c.updateGroup(ctx, group, func(st *groupState) error {
		if err := st.requireAdmin(); err != nil {
			return err
		}
		for _, id := range ids {
			if _, ok := st.member(id); !ok {
				return fmt.Errorf("session: remove: %s is not a member of %s", id, st.id)
			}
		}
		return c.removeMembers(ctx, st, ids, true)
	})
}

func (c *Client) removeMembers(ctx context.Context, st *groupState, ids []crypto.AccountID, announce bool) error {
	signer, err := c.groupSigner(st)
	if err != nil {
		return err
	}
	if announce {
		if err := c.sendMemberChange(ctx, st, pb.GroupUpdateMemberChangeMessage_REMOVED, ids); err != nil {
			return err
		}
	}
	notice, err := st.admin.KickedMessage(ids, st.keys.CurrentGeneration(), rand.Reader)
	if err != nil {
		return err
	}
	if _, err := c.storeInGroup(ctx, st, signer, groups.NamespaceRevokedRetrievable, notice, groupConfigTTL, c.msNow()); err != nil {
		return err
	}
	flags := groups.SubaccountFlags(true, false)
	var toks [][swarm.SubaccountTokenSize]byte
	for _, id := range ids {
		t, err := st.admin.SubaccountToken(id, flags)
		if err != nil {
			return err
		}
		toks = append(toks, t)
	}
	for len(toks) > 0 {
		n := min(len(toks), swarm.MaxRevokeTokens)
		if _, err := c.net.rpc.RevokeSubaccount(ctx, signer, swarm.RevokeSubaccountRequest{Tokens: toks[:n]}); err != nil {
			return fmt.Errorf("session: revoking removed members: %w", err)
		}
		toks = toks[n:]
	}
	if err := st.members.Update(func(d groups.Dict) {
		for _, id := range ids {
			groups.EraseMember(d, id)
		}
	}); err != nil {
		return err
	}
	keyMsg, err := st.keys.Rekey(st.memberIDs())
	if err != nil {
		return err
	}
	return c.pushGroupState(ctx, st, keyMsg)
}

// PromoteGroupMember makes a member of a group we administer an admin: it sends the member the
// group's secret key (1:1), marks it admin in the member list and announces it in the group.
func (c *Client) PromoteGroupMember(ctx context.Context, group, member crypto.AccountID) error {
	return c.updateGroup(ctx, group, func(st *groupState) error {
		if err := st.requireAdmin(); err != nil {
			return err
		}
		m, ok := st.member(member)
		if !ok {
			return fmt.Errorf("session: promote: %s is not a member of %s", member, st.id)
		}
		seed := st.admin.Seed()
		gu := &pb.GroupUpdateMessage{PromoteMessage: &pb.GroupUpdatePromoteMessage{
			GroupIdentitySeed: seed[:], Name: proto.String(st.name())}}
		sendErr := c.sendDirectGroupUpdate(ctx, member, gu, c.msNow())
		m.Admin, m.Invite, m.Promotion = true, 0, groups.PromotionSent
		if sendErr != nil {
			m.Promotion = groups.PromotionFailed
		}
		var setErr error
		if err := st.members.Update(func(d groups.Dict) { setErr = groups.SetMember(d, m) }); err != nil || setErr != nil {
			return errors.Join(sendErr, err, setErr)
		}
		if err := c.pushGroupState(ctx, st, nil); err != nil {
			return errors.Join(sendErr, err)
		}
		if sendErr != nil {
			return sendErr
		}
		return c.sendMemberChange(ctx, st, pb.GroupUpdateMemberChangeMessage_PROMOTED, []crypto.AccountID{member})
	})
}

// LeaveGroup leaves a group (or declines its invitation): members and admins are told we left
// (admins then remove us and rotate the key) and our local state of the group is deleted.
func (c *Client) LeaveGroup(ctx context.Context, group crypto.AccountID) error {
	return c.updateGroup(ctx, group, func(st *groupState) error {
		if st.rec.Status == GroupStatusJoined {
			for _, gu := range []*pb.GroupUpdateMessage{
				{MemberLeftMessage: &pb.GroupUpdateMemberLeftMessage{}},
				{MemberLeftNotificationMessage: &pb.GroupUpdateMemberLeftNotificationMessage{}},
			} {
				if _, err := c.sendGroupContent(ctx, st, &pb.Content{DataMessage: &pb.DataMessage{GroupUpdateMessage: gu}}, groupMessageTTL); err != nil {
					return err
				}
			}
		}
		st.forget = true
		return nil
	})
}

// SetGroupName renames a group we administer (and sets its description when description is not
// nil): the group's info is updated and the change announced in the group.
func (c *Client) SetGroupName(ctx context.Context, group crypto.AccountID, name string, description *string) error {
	if name == "" {
		return fmt.Errorf("%w: a group needs a name", ErrInvalidGroupUpdate)
	}
	return c.updateGroup(ctx, group, func(st *groupState) error {
		if err := st.requireAdmin(); err != nil {
			return err
		}
		if err := st.info.Update(func(d groups.Dict) {
			info := groups.InfoFromData(d)
			info.Name = name
			if description != nil {
				info.Description = *description
			}
			info.Apply(d)
		}); err != nil {
			return err
		}
		if err := c.pushGroupState(ctx, st, nil); err != nil {
			return err
		}
		kind := pb.GroupUpdateInfoChangeMessage_NAME
		_, err := c.sendGroupBuilt(ctx, st, groupMessageTTL, func(ts int64) *pb.Content {
			sig := st.admin.Sign(groups.InfoChangeSigningMessage(int(kind), ts))
			return &pb.Content{DataMessage: &pb.DataMessage{GroupUpdateMessage: &pb.GroupUpdateMessage{
				InfoChangeMessage: &pb.GroupUpdateInfoChangeMessage{Type: kind.Enum(), UpdatedName: proto.String(name), AdminSignature: sig[:]}}}}
		})
		return err
	})
}

// DeleteGroup deletes a group we administer for everyone: its info is marked destroyed (members
// then stop using it), its messages are deleted from the swarm, and our local state is deleted.
func (c *Client) DeleteGroup(ctx context.Context, group crypto.AccountID) error {
	return c.updateGroup(ctx, group, func(st *groupState) error {
		if err := st.requireAdmin(); err != nil {
			return err
		}
		if err := st.info.Update(func(d groups.Dict) {
			info := groups.InfoFromData(d)
			info.Destroyed = true
			info.Apply(d)
		}); err != nil {
			return err
		}
		if err := c.pushGroupState(ctx, st, nil); err != nil {
			return err
		}
		signer, err := c.groupSigner(st)
		if err != nil {
			return err
		}
		if _, err := applied(c.net.rpc.DeleteAll(ctx, signer, swarm.DeleteAllRequest{Namespace: swarm.NamespaceGroupMessages})); err != nil && !errors.Is(err, swarm.ErrNotFound) {
			c.log.Warn("group: deleting messages", "group", st.id.String(), "err", err)
		}
		st.forget = true
		return nil
	})
}

// pushGroupState stores, as an admin, a new key message (if any) and then the group's info and
// member list encrypted with the newest key.
func (c *Client) pushGroupState(ctx context.Context, st *groupState, keyMsg []byte) error {
	signer, err := c.groupSigner(st)
	if err != nil {
		return err
	}
	if st.admin == nil {
		return fmt.Errorf("%w: %s", ErrNotGroupAdmin, st.id)
	}
	if keyMsg != nil {
		if _, err := c.storeInGroup(ctx, st, signer, swarm.NamespaceGroupKeys, keyMsg, groupConfigTTL, c.msNow()); err != nil {
			return err
		}
	}
	key, err := st.keys.EncryptionKey()
	if err != nil {
		return err
	}
	var pushed []string
	defer func() {
		if len(pushed) == 2 {
			st.rec.Pushed = pushed
		}
	}()
	for _, p := range []struct {
		cfg    *groups.Config
		ns     swarm.Namespace
		domain string
	}{{st.info, swarm.NamespaceGroupInfo, groups.DomainGroupInfo}, {st.members, swarm.NamespaceGroupMembers, groups.DomainGroupMembers}} {
		ser, _, err := p.cfg.Push()
		if err != nil {
			return err
		}
		payload, err := groups.EncodeConfigPayload(ser, key, p.domain, true)
		if err != nil {
			return err
		}
		res, err := c.storeInGroup(ctx, st, signer, p.ns, payload, groupConfigTTL, c.msNow())
		if err != nil {
			return err
		}
		pushed = append(pushed, res.Hash)
	}
	return nil
}

// groupExtendEvery is how often an admin pushes the expiry of the group's key messages and of
// its newest configs back to the maximum, so that a quiet group does not lose them.
const groupExtendEvery = 24 * time.Hour

// extendGroupMessages is that upkeep (admins only; members cannot extend).
func (c *Client) extendGroupMessages(ctx context.Context, gid crypto.AccountID) error {
	st, err := c.loadGroup(ctx, gid)
	if err != nil || st.admin == nil || st.rec.Status != GroupStatusJoined {
		return err
	}
	now := c.now()
	if now.Sub(time.Unix(st.rec.Extended, 0)) < groupExtendEvery {
		return nil
	}
	hashes := append(st.keys.ActiveHashes(), st.rec.Pushed...)
	if len(hashes) > 0 {
		signer, err := c.groupSigner(st)
		if err != nil {
			return err
		}
		if _, err := applied(c.net.rpc.Expire(ctx, signer, swarm.ExpireRequest{Hashes: hashes, Expiry: now.Add(groupConfigTTL), Extend: true})); err != nil && !errors.Is(err, swarm.ErrNotFound) {
			return fmt.Errorf("session: extending group key and config messages: %w", err)
		}
	}
	return c.updateGroup(ctx, gid, func(st *groupState) error {
		st.rec.Extended = now.Unix()
		return nil
	})
}

func (c *Client) storeInGroup(ctx context.Context, st *groupState, signer swarm.Signer, ns swarm.Namespace, data []byte, ttl time.Duration, at time.Time) (*swarm.SwarmResult, error) {
	if err := c.leaseForSend(ctx); err != nil { // lease.go: refused before anything is sent
		return nil, err
	}
	res, err := c.net.rpc.Store(ctx, signer, swarm.StoreRequest{Namespace: ns, Data: data, TTL: ttl, Timestamp: at})
	if err != nil {
		return nil, &SendError{Recipient: st.id, Err: fmt.Errorf("namespace %d: %w", ns, err)}
	}
	if res.Succeeded() == 0 {
		se := &SendError{Recipient: st.id, Failures: map[string]string{}}
		for k, m := range res.Swarm {
			se.Failures[k] = nodeFailure(m)
		}
		return nil, se
	}
	return res, nil
}

// sendGroupContent encrypts content for the group (inside an Envelope, as official clients
// expect) with the current key and stores it in the group's message namespace.
func (c *Client) sendGroupContent(ctx context.Context, st *groupState, content *pb.Content, ttl time.Duration) (*SendResult, error) {
	return c.sendGroupBuilt(ctx, st, ttl, func(int64) *pb.Content { return proto.Clone(content).(*pb.Content) })
}

// sendGroupBuilt is sendGroupContent for content that depends on its timestamp (ms), which
// admin signatures cover.
func (c *Client) sendGroupBuilt(ctx context.Context, st *groupState, ttl time.Duration, build func(ts int64) *pb.Content) (*SendResult, error) {
	if err := st.requireJoined(); err != nil {
		return nil, err
	}
	signer, err := c.groupSigner(st)
	if err != nil {
		return nil, err
	}
	at := c.msNow()
	ms := uint64(at.UnixMilli())
	content := build(int64(ms))
	content.SigTimestamp = proto.Uint64(ms)
	if err := CheckContent(content); err != nil {
		return nil, err
	}
	cb, err := proto.Marshal(content)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidContent, err)
	}
	env, err := proto.Marshal(&pb.Envelope{Type: pb.Envelope_CLOSED_GROUP_MESSAGE.Enum(), Timestamp: proto.Uint64(ms),
		SourceDevice: proto.Uint32(SourceDevice), Content: cb, ProSig: decoyProSig()})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEnvelope, err)
	}
	data, err := st.keys.EncryptMessage(env)
	if err != nil {
		return nil, err
	}
	res, err := c.storeInGroup(ctx, st, signer, swarm.NamespaceGroupMessages, data, ttl, at)
	if err != nil {
		return nil, err
	}
	// Our poll of the group will retrieve it: mark it handled so it is not delivered back.
	if err := c.store.SaveHandled(ctx, c.groupInbox(st.id), store.Incoming{Hash: res.Hash, Namespace: int16(swarm.NamespaceGroupMessages), Timestamp: at, Expiry: at.Add(ttl)}); err != nil {
		c.log.Warn("recording our group message", "err", err)
	}
	if dm := content.GetDataMessage(); dm != nil && dm.GroupUpdateMessage == nil {
		// Unsend finds our visible messages' hashes here.
		if err := c.store.PutValue(ctx, sentBucket, c.sentKey(st.id, at), []byte(res.Hash)); err != nil {
			c.log.Warn("recording sent group message", "err", err)
		}
	}
	return &SendResult{Hash: res.Hash, Timestamp: at, Ref: MessageRef{Author: c.id, Timestamp: at}, Stored: res.Succeeded()}, nil
}

// sendMemberChange announces a membership change in the group, signed by the group key over
// the message's timestamp.
func (c *Client) sendMemberChange(ctx context.Context, st *groupState, kind pb.GroupUpdateMemberChangeMessage_Type, ids []crypto.AccountID) error {
	if st.admin == nil {
		return fmt.Errorf("%w: %s", ErrNotGroupAdmin, st.id)
	}
	var idStrs []string
	for _, id := range ids {
		idStrs = append(idStrs, id.String())
	}
	_, err := c.sendGroupBuilt(ctx, st, groupMessageTTL, func(ts int64) *pb.Content {
		sig := st.admin.Sign(groups.MemberChangeSigningMessage(int(kind), ts))
		return &pb.Content{DataMessage: &pb.DataMessage{GroupUpdateMessage: &pb.GroupUpdateMessage{
			MemberChangeMessage: &pb.GroupUpdateMemberChangeMessage{Type: kind.Enum(), MemberSessionIds: idStrs, AdminSignature: sig[:]}}}}
	})
	return err
}

// sendDirectGroupUpdate sends a group update (invite, promotion) 1:1 to a member's swarm. Its
// Envelope timestamp, sigTimestamp and any admin signature use the same at.
func (c *Client) sendDirectGroupUpdate(ctx context.Context, to crypto.AccountID, gu *pb.GroupUpdateMessage, at time.Time) error {
	if err := c.checkRecipient(to); err != nil {
		return err
	}
	dm := &pb.DataMessage{GroupUpdateMessage: gu}
	if p := c.currentProfile(); p != nil {
		dm.Profile, dm.ProfileKey = profileToPB(p)
	}
	data, err := c.encode(to, &pb.Content{DataMessage: dm}, at)
	if err != nil {
		return err
	}
	res, err := c.net.rpc.Store(ctx, swarm.Unsigned(to), swarm.StoreRequest{Namespace: swarm.NamespaceDefault, Data: data, TTL: DefaultMessageTTL, Timestamp: at})
	if err != nil {
		return &SendError{Recipient: to, Err: err}
	}
	if res.Succeeded() == 0 {
		se := &SendError{Recipient: to, Failures: map[string]string{}}
		for k, m := range res.Swarm {
			se.Failures[k] = nodeFailure(m)
		}
		return se
	}
	return nil
}
