package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// This file polls the swarms of the groups we joined and turns what comes back into events;
// it also receives the 1:1 invitations and promotions.

// pollGroups polls every joined group once and handles what arrived.
func (c *Client) pollGroups(ctx context.Context) error {
	ids, err := c.groupIDs(ctx)
	if err != nil {
		return &fatalError{err}
	}
	var errs []error
	for _, id := range ids {
		if ctx.Err() != nil {
			return nil
		}
		if err := c.pollGroup(ctx, id); err != nil && !errors.Is(err, ErrUnknownGroup) {
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return err
			}
			errs = append(errs, fmt.Errorf("group %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// pollGroup retrieves a joined group's namespaces (keys first, then info and members, then
// messages, then, for members, the removal notices), handles what is new and finishes a join or
// a promotion once the group's state has arrived.
//
// One poll of a group runs at a time (the group poller, PollOnce and AcceptGroupInvite may all
// want one), or two could hand out the same pending message twice; a poll that finds another
// under way (or a nested one, from an event handler) skips the group.
func (c *Client) pollGroup(ctx context.Context, gid crypto.AccountID) error {
	m := c.locks.get("group-poll/" + gid.String())
	if !m.TryLock() {
		return nil
	}
	defer m.Unlock()
	st, err := c.loadGroup(ctx, gid)
	if err != nil {
		return err
	}
	if st.rec.Status != GroupStatusJoined {
		if len(st.rec.Undelivered) > 0 {
			// Removed or destroyed, and the handlers have not taken the event yet.
			return c.handleLeftGroupPending(ctx, gid, st)
		}
		return nil
	}
	signer, err := c.groupSigner(st)
	if err != nil {
		return err
	}
	inbox := c.groupInbox(gid)
	nss := []swarm.Namespace{swarm.NamespaceGroupKeys, swarm.NamespaceGroupInfo, swarm.NamespaceGroupMembers, swarm.NamespaceGroupMessages}
	if st.admin == nil {
		nss = append(nss, groups.NamespaceRevokedRetrievable)
	}
	var errs []error
	for _, ns := range nss {
		if err := c.pollGroupNamespace(ctx, inbox, gid, signer, ns); err != nil {
			var fatal *fatalError
			if errors.As(err, &fatal) {
				return err
			}
			errs = append(errs, fmt.Errorf("namespace %d: %w", ns, err))
		}
	}
	// What was fetched is handled even when another namespace failed (a removed member's
	// notice arrives while the other namespaces refuse its revoked credentials).
	if err := c.handleGroupPending(ctx, gid, inbox); err != nil {
		return err
	}
	if st, err := c.loadGroup(ctx, gid); err != nil || st.rec.Status != GroupStatusJoined {
		// Removed (the other namespaces refused our revoked credentials), destroyed or left.
		return nil
	}
	evts, err := c.finishGroupJoin(ctx, gid)
	if err != nil {
		errs = append(errs, err)
	}
	delivered := true
	for _, e := range evts {
		delivered = c.dispatch(ctx, e) && delivered
	}
	if len(evts) > 0 && delivered {
		if err := c.dropStateEvents(context.WithoutCancel(ctx), gid, joinEvents); err != nil {
			return err
		}
	}
	if err := c.extendGroupMessages(ctx, gid); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// handleLeftGroupPending delivers again, with their messages, the kept events of a group we are
// no longer in, and forgets those that no pending message brings back (a join not reported
// before the removal: it is over), which would otherwise keep the group handled at every poll.
func (c *Client) handleLeftGroupPending(ctx context.Context, gid crypto.AccountID, st *groupState) error {
	inbox := c.groupInbox(gid)
	pending, err := c.store.Pending(ctx, inbox)
	if err != nil {
		return &fatalError{fmt.Errorf("session: reading pending messages: %w", err)}
	}
	orphan := func(se stateEvent) bool {
		return !slices.ContainsFunc(pending, func(p store.Incoming) bool { return p.Hash == se.Hash })
	}
	if slices.ContainsFunc(st.rec.Undelivered, orphan) {
		err := c.updateGroup(context.WithoutCancel(ctx), gid, func(st *groupState) error {
			st.rec.Undelivered = slices.DeleteFunc(st.rec.Undelivered, orphan)
			return nil
		})
		if err != nil && !errors.Is(err, ErrUnknownGroup) {
			return &fatalError{fmt.Errorf("session: saving a group's undelivered events: %w", err)}
		}
	}
	if len(pending) == 0 {
		return nil
	}
	return c.handleGroupPending(ctx, gid, inbox)
}

// pollGroupNamespace is pollCursor for a group's swarm, with the group's own inbox in the store.
func (c *Client) pollGroupNamespace(ctx context.Context, inbox, gid crypto.AccountID, signer swarm.Signer, ns swarm.Namespace) error {
	return c.pollCursor(ctx, store.Cursor{Account: inbox, Swarm: gid, Namespace: int16(ns)}, signer)
}

// handleGroupPending handles a group's saved messages one at a time: the state change is saved
// under the group's lock, the events are dispatched after it is released (handlers may call the
// Client), and the message is marked handled last.
func (c *Client) handleGroupPending(ctx context.Context, gid, inbox crypto.AccountID) error {
	pending, err := c.store.Pending(ctx, inbox)
	if err != nil {
		return &fatalError{fmt.Errorf("session: reading pending messages: %w", err)}
	}
	for _, p := range pending {
		if ctx.Err() != nil {
			return nil
		}
		var evts []Event
		kept := false
		err := c.updateGroup(ctx, gid, func(st *groupState) error {
			evts = st.keepStateEvents(p.Hash, c.handleGroupIncoming(ctx, st, p))
			kept = st.hasStateEvents(p.Hash)
			return nil
		})
		if err != nil && !errors.Is(err, ErrUnknownGroup) {
			return &fatalError{err}
		}
		delivered := true
		for _, e := range evts {
			delivered = c.dispatch(ctx, e) && delivered
		}
		if !delivered {
			return nil // not taken (ctx ended, a handler failed): handled again by the next poll
		}
		if kept {
			if err := c.dropStateEvents(context.WithoutCancel(ctx), gid, p.Hash); err != nil {
				return err
			}
		}
		if err := c.store.MarkHandled(context.WithoutCancel(ctx), inbox, p.Hash); err != nil {
			return &fatalError{fmt.Errorf("session: marking message handled: %w", err)}
		}
	}
	return nil
}

func undecryptable(st *groupState, p store.Incoming, err error) []Event {
	return []Event{&UndecryptableGroupMessage{Group: st.id, Namespace: p.Namespace, Hash: p.Hash, Err: err}}
}

// handleGroupIncoming applies one retrieved message to the group's state and returns its events.
func (c *Client) handleGroupIncoming(ctx context.Context, st *groupState, p store.Incoming) []Event {
	if st.rec.Status != GroupStatusJoined {
		return nil // left, removed or destroyed while the message waited
	}
	switch swarm.Namespace(p.Namespace) {
	case swarm.NamespaceGroupKeys:
		newKey, err := st.keys.LoadKeyMessage(p.Hash, p.Data, p.Timestamp.UnixMilli())
		if err != nil {
			return undecryptable(st, p, err)
		}
		var evts []Event
		if newKey && len(st.rec.Retry) > 0 {
			retry := st.rec.Retry
			st.rec.Retry = nil
			for _, r := range retry {
				cfg, domain := st.info, groups.DomainGroupInfo
				if r.NS == int16(swarm.NamespaceGroupMembers) {
					cfg, domain = st.members, groups.DomainGroupMembers
				}
				evts = append(evts, c.handleGroupConfig(ctx, st, store.Incoming{Hash: r.Hash, Namespace: r.NS, Data: r.Data}, cfg, domain, true)...)
			}
		}
		if st.admin != nil && st.keys.NeedsRekey() {
			// Two admins rekeyed at once: settle on one new key.
			if msg, err := st.keys.Rekey(st.memberIDs()); err == nil {
				if err := c.pushGroupState(ctx, st, msg); err != nil {
					c.log.Warn("group: pushing a conflict rekey", "group", st.id.String(), "err", err)
				}
			}
		}
		return evts
	case swarm.NamespaceGroupInfo:
		return c.handleGroupConfig(ctx, st, p, st.info, groups.DomainGroupInfo, false)
	case swarm.NamespaceGroupMembers:
		return c.handleGroupConfig(ctx, st, p, st.members, groups.DomainGroupMembers, false)
	case swarm.NamespaceGroupMessages:
		return c.handleGroupMessage(ctx, st, p)
	case groups.NamespaceRevokedRetrievable:
		if st.admin != nil {
			return nil
		}
		if _, kicked := groups.ReadKickedMessage(c.keys, st.pk, p.Data, st.keys.CurrentGeneration()); kicked {
			st.rec.Status = GroupStatusRemoved
			st.rec.SendResponse, st.rec.ClaimAdmin, st.rec.Joining = false, false, false
			return []Event{&GroupRemoved{Group: st.id}}
		}
		return nil // a notice for someone else
	}
	return nil
}

// handleGroupConfig merges a group config; retry is set when it is tried again after a new key
// (its failure to decrypt was already reported).
func (c *Client) handleGroupConfig(ctx context.Context, st *groupState, p store.Incoming, cfg *groups.Config, domain string, retry bool) []Event {
	ser, err := groups.DecryptGroupConfig(p.Data, st.keys.GroupKeys(), domain)
	if errors.Is(err, groups.ErrDecrypt) {
		// Encrypted with a key we never had (before we joined), or with one whose key message
		// has not reached us yet: keep it to try again when a new key arrives.
		st.rec.Retry = append(st.rec.Retry, retryConfig{NS: p.Namespace, Hash: p.Hash, Data: p.Data})
		if n := len(st.rec.Retry); n > maxRetryConfigs {
			st.rec.Retry = slices.Delete(st.rec.Retry, 0, n-maxRetryConfigs)
		}
		if retry {
			return nil
		}
	}
	if err != nil {
		return undecryptable(st, p, err)
	}
	before := cfg.Hash()
	infoBefore := groups.InfoFromData(st.info.Data())
	if n, err := cfg.Merge(ser); err != nil || n == 0 {
		if err == nil {
			err = fmt.Errorf("%w: config rejected (unsigned or malformed)", groups.ErrMalformed)
		}
		return undecryptable(st, p, err)
	}
	if st.admin != nil && cfg.NeedsPush() {
		if err := c.pushGroupState(ctx, st, nil); err != nil {
			c.log.Warn("group: pushing a merged config", "group", st.id.String(), "err", err)
		}
	}
	if cfg.Hash() == before {
		return nil
	}
	if domain == groups.DomainGroupInfo && groups.InfoFromData(st.info.Data()).Destroyed {
		st.rec.Status = GroupStatusDestroyed
		return []Event{&GroupRemoved{Group: st.id, Destroyed: true}}
	}
	evts := []Event{&GroupUpdated{Group: st.snapshot()}}
	if domain == groups.DomainGroupInfo {
		evts = append(evts, infoChangeEvents(st, infoBefore, groups.InfoFromData(st.info.Data()))...)
	}
	return evts
}

func (c *Client) handleGroupMessage(ctx context.Context, st *groupState, p store.Incoming) []Event {
	m, err := st.keys.DecryptMessage(p.Data)
	if err != nil {
		return undecryptable(st, p, err)
	}
	var env pb.Envelope
	if err := proto.Unmarshal(m.Plaintext, &env); err != nil {
		return undecryptable(st, p, fmt.Errorf("%w: %w", ErrInvalidEnvelope, err))
	}
	if env.GetType() != pb.Envelope_CLOSED_GROUP_MESSAGE {
		return undecryptable(st, p, fmt.Errorf("%w: %v in a group", ErrUnsupportedEnvelope, env.GetType()))
	}
	var content pb.Content
	if err := proto.Unmarshal(env.GetContent(), &content); err != nil {
		return undecryptable(st, p, fmt.Errorf("%w: %w", ErrInvalidContent, err))
	}
	ts := env.GetTimestamp()
	if sig := content.GetSigTimestamp(); sig != 0 && sig != ts {
		return undecryptable(st, p, fmt.Errorf("%w: sigTimestamp %d, envelope %d", ErrTimestampMismatch, sig, ts))
	}
	at, from := msTime(ts), m.Sender
	if c.tooOld(at, p) {
		c.log.Debug("group message older than any swarm keeps one dropped (a replay)", "group", st.id.String(), "hash", p.Hash, "sent", at)
		return []Event{&MessageDropped{Hash: p.Hash, From: from, Timestamp: at, Group: st.id, Err: ErrMessageTooOld}}
	}
	dm := content.GetDataMessage()
	if gu := dm.GetGroupUpdateMessage(); gu != nil {
		return c.handleGroupControl(ctx, st, p, from, int64(ts), &content)
	}
	info := groups.InfoFromData(st.info.Data())
	if info.DeleteBefore > 0 && at.Before(time.Unix(info.DeleteBefore, 0)) {
		return nil // the admins cleared the history before it
	}
	if r := dm.GetReaction(); r != nil {
		target, ok := refFromPB(r.GetId(), r.GetAuthor())
		if !ok {
			return nil
		}
		return []Event{&Reaction{From: from, Group: st.id, Target: target, Emoji: r.GetEmoji(),
			Removed: r.GetAction() == pb.DataMessage_Reaction_REMOVE, At: at}}
	}
	if dm.GetFlags()&uint32(pb.DataMessage_EXPIRATION_TIMER_UPDATE) != 0 {
		// A group's timer is its info config's, which admins change; a member's timer update is
		// not theirs to make.
		if mem, ok := st.member(from); !ok || !mem.Admin {
			return undecryptable(st, p, fmt.Errorf("%w: timer update in %s from %s", ErrNotInConversation, st.id, from))
		}
		return nil
	}
	if dm == nil || (dm.Body == nil && len(dm.Attachments) == 0 && dm.Quote == nil && len(dm.Preview) == 0) {
		return []Event{&UnknownContent{Hash: p.Hash, From: from, Timestamp: at, Content: &content}}
	}
	attach := func(ps []*pb.AttachmentPointer) []*Attachment {
		if info.DeleteAttachmentsBefore > 0 && at.Before(time.Unix(info.DeleteAttachmentsBefore, 0)) {
			return nil // the admins cleared the attachments before it
		}
		return attachmentsFromPB(ps, c.net.files)
	}
	gm := &GroupMessage{Hash: p.Hash, Group: st.id, From: from, Timestamp: at, Text: dm.GetBody(),
		Attachments: attach(dm.Attachments), Profile: profileFromPB(dm.Profile, dm.ProfileKey), Expiry: expiryFromPB(&content),
		Pro: proFromPB(&content),
		Previews: previewsFromPB(dm.Preview, func(ptr *pb.AttachmentPointer) *Attachment {
			if a := attach([]*pb.AttachmentPointer{ptr}); len(a) == 1 {
				return a[0]
			}
			return nil
		})}
	gm.ExpiresAt = expiresAt(gm.Expiry, at, p.Expiry, c.now())
	if q := dm.Quote; q != nil {
		if ref, ok := refFromPB(q.GetId(), q.GetAuthor()); ok {
			gm.Quote = &ref
		}
	}
	return []Event{gm}
}

func parseIDs(ss []string) []crypto.AccountID {
	var out []crypto.AccountID
	for _, s := range ss {
		if id, err := crypto.ParseAccountID(s); err == nil && id.Prefix() == crypto.PrefixStandard {
			out = append(out, id)
		}
	}
	return out
}

func (c *Client) handleGroupControl(ctx context.Context, st *groupState, p store.Incoming, from crypto.AccountID, ts int64, content *pb.Content) []Event {
	at := time.UnixMilli(ts)
	dm := content.GetDataMessage()
	gu := dm.GetGroupUpdateMessage()
	switch {
	case gu.DeleteMemberContent != nil:
		return groupDeletion(st, p, from, ts, gu.DeleteMemberContent)
	case gu.MemberChangeMessage != nil:
		mc := gu.MemberChangeMessage
		if err := groups.VerifyAdminSignature(st.pk, groups.MemberChangeSigningMessage(int(mc.GetType()), ts), mc.GetAdminSignature()); err != nil {
			return undecryptable(st, p, fmt.Errorf("%w: member change: %w", ErrInvalidGroupUpdate, err))
		}
		kind := map[pb.GroupUpdateMemberChangeMessage_Type]GroupChangeKind{
			pb.GroupUpdateMemberChangeMessage_ADDED:    MembersAdded,
			pb.GroupUpdateMemberChangeMessage_REMOVED:  MembersRemoved,
			pb.GroupUpdateMemberChangeMessage_PROMOTED: MembersPromoted,
		}[mc.GetType()]
		if kind == 0 {
			return undecryptable(st, p, fmt.Errorf("%w: member change of type %d", ErrInvalidGroupUpdate, mc.GetType()))
		}
		return []Event{&GroupMemberChange{Hash: p.Hash, Group: st.id, By: from, Kind: kind,
			Members: parseIDs(mc.GetMemberSessionIds()), Timestamp: at, HistoryShared: mc.GetHistoryShared()}}
	case gu.InfoChangeMessage != nil:
		ic := gu.InfoChangeMessage
		if err := groups.VerifyAdminSignature(st.pk, groups.InfoChangeSigningMessage(int(ic.GetType()), ts), ic.GetAdminSignature()); err != nil {
			return undecryptable(st, p, fmt.Errorf("%w: info change: %w", ErrInvalidGroupUpdate, err))
		}
		return []Event{&GroupInfoChange{Hash: p.Hash, Group: st.id, By: from, Timestamp: at, Name: ic.GetUpdatedName(),
			ExpireTimer: time.Duration(ic.GetUpdatedExpiration()) * time.Second}}
	case gu.MemberLeftMessage != nil:
		// Admins finish the departure: the member is erased, its credentials revoked and the
		// key rotated. Everyone is told by the notification that comes with it.
		if st.admin != nil && from != c.id {
			if _, ok := st.member(from); ok {
				if err := c.removeMembers(ctx, st, []crypto.AccountID{from}, false); err != nil {
					c.log.Warn("group: removing a member who left", "group", st.id.String(), "err", err)
				}
			}
		}
		return nil
	case gu.MemberLeftNotificationMessage != nil:
		return []Event{&GroupMemberChange{Hash: p.Hash, Group: st.id, By: from, Kind: MemberLeft,
			Members: []crypto.AccountID{from}, Timestamp: at}}
	case gu.InviteResponse != nil:
		if !gu.InviteResponse.GetIsApproved() {
			return nil
		}
		// Admins mark the invite accepted and take the name the member sent with it.
		name := dm.GetProfile().GetDisplayName()
		if m, ok := st.member(from); ok && st.admin != nil && (m.Invite != 0 || m.Supplement || (name != "" && m.Name != name)) {
			m.Invite, m.Supplement = 0, false
			if name != "" {
				m.Name = name
			}
			if err := st.members.Update(func(d groups.Dict) { _ = groups.SetMember(d, m) }); err == nil {
				if err := c.pushGroupState(ctx, st, nil); err != nil {
					c.log.Warn("group: pushing an accepted invite", "group", st.id.String(), "err", err)
				}
			}
		}
		return []Event{&GroupMemberChange{Hash: p.Hash, Group: st.id, By: from, Kind: MemberJoined,
			Members: []crypto.AccountID{from}, Timestamp: at}}
	}
	// Updates that only travel 1:1 (invites, promotions), and any added later.
	return []Event{&UnknownContent{Hash: p.Hash, From: from, Timestamp: at, Content: content}}
}

// finishGroupJoin completes what waits for the group's state after a join or a promotion: the
// invite response (once we hold a key) and, for a promoted member, its admin flag in Members.
func (c *Client) finishGroupJoin(ctx context.Context, gid crypto.AccountID) ([]Event, error) {
	st, err := c.loadGroup(ctx, gid)
	if err != nil || st.rec.Status != GroupStatusJoined ||
		(!st.rec.SendResponse && !st.rec.ClaimAdmin && !st.rec.Joining && !st.hasStateEvents(joinEvents)) {
		return nil, err
	}
	var evts []Event
	err = c.updateGroup(ctx, gid, func(st *groupState) error {
		if st.rec.Status != GroupStatusJoined {
			return nil
		}
		defer func() { evts = st.keepStateEvents(joinEvents, evts) }()
		if st.rec.Joining && len(st.keys.GroupKeys()) > 0 {
			st.rec.Joining = false
			evts = append(evts, &GroupJoined{Group: st.snapshot()})
		}
		if st.rec.SendResponse && len(st.keys.GroupKeys()) > 0 {
			resp := &pb.DataMessage{GroupUpdateMessage: &pb.GroupUpdateMessage{
				InviteResponse: &pb.GroupUpdateInviteResponseMessage{IsApproved: proto.Bool(true)}}}
			if p := c.currentProfile(); p != nil {
				resp.Profile, resp.ProfileKey = profileToPB(p)
			}
			if _, err := c.sendGroupContent(ctx, st, &pb.Content{DataMessage: resp}, groupMessageTTL); err != nil {
				return fmt.Errorf("session: sending invite response: %w", err)
			}
			st.rec.SendResponse = false
		}
		if st.rec.ClaimAdmin && st.admin != nil && st.members.Seqno() > 0 && len(st.keys.GroupKeys()) > 0 {
			m, ok := st.member(c.id)
			if !ok {
				m = groups.Member{ID: c.id, Name: c.myName()}
			}
			m.Admin, m.Promotion, m.Invite = true, 0, 0
			var setErr error
			if err := st.members.Update(func(d groups.Dict) { setErr = groups.SetMember(d, m) }); err != nil || setErr != nil {
				return errors.Join(err, setErr)
			}
			if err := c.pushGroupState(ctx, st, nil); err != nil {
				return fmt.Errorf("session: claiming admin: %w", err)
			}
			st.rec.ClaimAdmin = false
		}
		return nil
	})
	return evts, err
}

// handleGroupUpdate handles a 1:1 message carrying a group invite or promotion and reports
// whether it did (handled; other group updates are not 1:1 messages and are left to the
// caller) and whether its events were all taken: if not (a handler failed on one, the poll's
// ctx ended under it, or the invite could not be saved), the message stays pending and is
// handled again, which finds the group as it left it and delivers the events again.
func (c *Client) handleGroupUpdate(ctx context.Context, in *Incoming, hash string) (handled, taken bool) {
	gu := in.Content.GetDataMessage().GetGroupUpdateMessage()
	var evts []Event
	var err error
	switch {
	case gu.GetInviteMessage() != nil:
		evts, err = c.receiveInvite(ctx, in, hash, gu.GetInviteMessage())
	case gu.GetPromoteMessage() != nil:
		evts, err = c.receivePromote(ctx, in, hash, gu.GetPromoteMessage())
	default:
		return false, true
	}
	if err != nil {
		return true, false
	}
	taken = true
	for _, e := range evts {
		taken = c.dispatch(ctx, e) && taken
	}
	return true, taken
}

func badUpdate(gid crypto.AccountID, hash string, err error) []Event {
	return []Event{&UndecryptableGroupMessage{Group: gid, Hash: hash, Err: fmt.Errorf("%w: %w", ErrInvalidGroupUpdate, err)}}
}

// receiveInvite checks an invitation (the group key's signature over our ID and the message's
// timestamp, and the credentials it carries) and records it until it is accepted.
func (c *Client) receiveInvite(ctx context.Context, in *Incoming, hash string, inv *pb.GroupUpdateInviteMessage) ([]Event, error) {
	gid, auth, err := c.checkInvite(in, inv)
	if err != nil {
		return badUpdate(gid, hash, err), nil
	}
	unlock := c.lockGroup(gid)
	defer unlock()
	st, err := c.loadGroup(ctx, gid)
	switch {
	case errors.Is(err, ErrUnknownGroup):
		st, err = c.restoreGroup(groupRecord{ID: gid.String()})
	case err == nil && st.rec.Status == GroupStatusJoined:
		// Already in: keep the newer credentials (members only) and say nothing.
		if st.admin == nil {
			st.rec.Auth, st.auth = auth[:], &auth
			if err := c.saveGroup(ctx, st); err != nil {
				c.log.Warn("group: saving credentials", "err", err)
			}
		}
		return nil, nil
	}
	if err != nil {
		return badUpdate(gid, hash, err), nil
	}
	st.rec.Status, st.rec.Name, st.rec.Inviter, st.rec.Auth, st.auth = GroupStatusInvited, inv.GetName(), in.Sender.String(), auth[:], &auth
	if err := c.saveGroup(ctx, st); err != nil {
		c.log.Warn("group: saving an invite (handled again later)", "err", err)
		return nil, err
	}
	return []Event{&GroupInvite{Hash: hash, Group: gid, Name: inv.GetName(), From: in.Sender, Timestamp: in.SentAt()}}, nil
}

// checkInvite checks an invitation: the group key's signature over our ID and the message's
// timestamp, and the credentials it carries.
func (c *Client) checkInvite(in *Incoming, inv *pb.GroupUpdateInviteMessage) (crypto.AccountID, groups.AuthData, error) {
	gid, pk, err := groups.ParseID(inv.GetGroupSessionId())
	if err != nil {
		return crypto.AccountID{}, groups.AuthData{}, err
	}
	if err := groups.VerifyAdminSignature(pk, groups.InviteSigningMessage(c.id, int64(in.Timestamp)), inv.GetAdminSignature()); err != nil {
		return gid, groups.AuthData{}, err
	}
	if len(inv.GetMemberAuthData()) != groups.AuthDataSize {
		return gid, groups.AuthData{}, fmt.Errorf("auth data of %d bytes", len(inv.GetMemberAuthData()))
	}
	auth := groups.AuthData(inv.GetMemberAuthData())
	if err := groups.VerifyAuthData(pk, c.keys.Ed25519PublicKey(), auth); err != nil {
		return gid, groups.AuthData{}, err
	}
	return gid, auth, nil
}

// receivePromote takes the group key a promotion carries: for a group we are in we become an
// admin; otherwise it is an invitation as an admin.
func (c *Client) receivePromote(ctx context.Context, in *Incoming, hash string, pm *pb.GroupUpdatePromoteMessage) ([]Event, error) {
	seed := pm.GetGroupIdentitySeed()
	if len(seed) != 32 {
		return badUpdate(crypto.AccountID{}, hash, fmt.Errorf("group seed of %d bytes", len(seed))), nil
	}
	admin := groups.NewAdminKey([32]byte(seed))
	gid := admin.ID()
	unlock := c.lockGroup(gid)
	defer unlock()
	st, err := c.loadGroup(ctx, gid)
	isNew := errors.Is(err, ErrUnknownGroup)
	if isNew {
		st, err = c.restoreGroup(groupRecord{ID: gid.String(), Status: GroupStatusInvited, Name: pm.GetName(), Inviter: in.Sender.String()})
	}
	if err != nil {
		return badUpdate(gid, hash, err), nil
	}
	if st.admin == nil {
		if err := st.setAdmin(admin); err != nil {
			return badUpdate(gid, hash, err), nil
		}
	}
	var evt Event = &GroupMemberChange{Hash: hash, Group: gid, By: in.Sender, Kind: MembersPromoted,
		Members: []crypto.AccountID{c.id}, Timestamp: in.SentAt()}
	switch st.rec.Status {
	case GroupStatusJoined:
		st.rec.ClaimAdmin = true
	default:
		st.rec.Status, st.rec.Name, st.rec.Inviter = GroupStatusInvited, pm.GetName(), in.Sender.String()
		evt = &GroupInvite{Hash: hash, Group: gid, Name: pm.GetName(), From: in.Sender, Timestamp: in.SentAt(), Promoted: true}
	}
	if err := c.saveGroup(ctx, st); err != nil {
		c.log.Warn("group: saving a promotion (handled again later)", "err", err)
		return nil, err
	}
	return []Event{evt}, nil
}

// A group's state events are the events of changes of its saved state (configs merged, keys
// loaded, a removal, a join). Handling a message again finds its change already saved, so
// they are kept in the group's record (groupRecord.Undelivered) from the change until the
// handlers have taken them, and delivered again with the message until then.
type stateEvent struct {
	Hash   string `json:"hash"` // the message whose handling made the change (joinEvents for a join)
	Kind   string `json:"kind"`
	Before int64  `json:"before,omitempty"` // history cleared before (unix s)
}

// joinEvents stands for the message of a join's events (a join completes over several messages).
const joinEvents = "join"

// maxUndelivered bounds groupRecord.Undelivered (events of messages that expired before the
// handlers took them).
const maxUndelivered = 32

const (
	stateUpdated            = "updated"
	stateJoined             = "joined"
	stateRemoved            = "removed"
	stateDestroyed          = "destroyed"
	stateDisappearing       = "disappearing"
	stateCleared            = "cleared"
	stateAttachmentsCleared = "attachments-cleared"
)

// stateEventOf returns the record of e if it is a state event.
func stateEventOf(hash string, e Event) (stateEvent, bool) {
	switch e := e.(type) {
	case *GroupUpdated:
		return stateEvent{Hash: hash, Kind: stateUpdated}, true
	case *GroupJoined:
		return stateEvent{Hash: hash, Kind: stateJoined}, true
	case *GroupRemoved:
		if e.Destroyed {
			return stateEvent{Hash: hash, Kind: stateDestroyed}, true
		}
		return stateEvent{Hash: hash, Kind: stateRemoved}, true
	case *DisappearingChanged:
		if e.Hash == "" { // a group's (its info config's); a 1:1 change is a message
			return stateEvent{Hash: hash, Kind: stateDisappearing}, true
		}
	case *GroupHistoryCleared:
		if e.AttachmentsOnly {
			return stateEvent{Hash: hash, Kind: stateAttachmentsCleared, Before: e.Before.Unix()}, true
		}
		return stateEvent{Hash: hash, Kind: stateCleared, Before: e.Before.Unix()}, true
	}
	return stateEvent{}, false
}

// event rebuilds a kept state event (a GroupUpdated or GroupJoined shows the state as it is now).
func (st *groupState) event(se stateEvent) Event {
	switch se.Kind {
	case stateUpdated:
		return &GroupUpdated{Group: st.snapshot()}
	case stateJoined:
		return &GroupJoined{Group: st.snapshot()}
	case stateRemoved, stateDestroyed:
		return &GroupRemoved{Group: st.id, Destroyed: se.Kind == stateDestroyed}
	case stateDisappearing:
		return &DisappearingChanged{Conversation: st.id, Expiry: st.disappearing()}
	case stateCleared, stateAttachmentsCleared:
		return &GroupHistoryCleared{Group: st.id, Before: time.Unix(se.Before, 0), AttachmentsOnly: se.Kind == stateAttachmentsCleared}
	}
	return nil
}

// keepStateEvents keeps the state events of evts, the events of handling message hash, in the
// group's record; when the handling found none (the change was saved before), it returns evts
// with the ones kept for hash. A message's state events are one of each kind, the last (a key
// message that opens the configs kept for it would have a GroupUpdated for each): the group as
// it is now, as they are delivered again. Two of a kind would share one failure count (see
// eventKey), counted twice in a round, so that the message's events were never all given up
// in the same round.
func (st *groupState) keepStateEvents(hash string, evts []Event) []Event {
	var kept []stateEvent
	out := evts[:0:0]
	for i, e := range evts {
		se, ok := stateEventOf(hash, e)
		if ok && slices.ContainsFunc(evts[i+1:], func(l Event) bool { k, ok := stateEventOf(hash, l); return ok && k.Kind == se.Kind }) {
			continue // a later one shows the newer state
		}
		out = append(out, e)
		if ok {
			kept = append(kept, se)
		}
	}
	if len(kept) > 0 {
		u := slices.DeleteFunc(st.rec.Undelivered, func(se stateEvent) bool { return se.Hash == hash })
		u = append(u, kept...)
		if n := len(u); n > maxUndelivered {
			u = slices.Delete(u, 0, n-maxUndelivered)
		}
		st.rec.Undelivered = u
		return out
	}
	for _, se := range st.rec.Undelivered {
		if se.Hash != hash {
			continue
		}
		if e := st.event(se); e != nil {
			evts = append(evts, e)
		}
	}
	return evts
}

func (st *groupState) hasStateEvents(hash string) bool {
	return slices.ContainsFunc(st.rec.Undelivered, func(se stateEvent) bool { return se.Hash == hash })
}

// dropStateEvents forgets the state events of message hash once the handlers took them.
func (c *Client) dropStateEvents(ctx context.Context, gid crypto.AccountID, hash string) error {
	err := c.updateGroup(ctx, gid, func(st *groupState) error {
		st.rec.Undelivered = slices.DeleteFunc(st.rec.Undelivered, func(se stateEvent) bool { return se.Hash == hash })
		return nil
	})
	if err != nil && !errors.Is(err, ErrUnknownGroup) {
		return &fatalError{fmt.Errorf("session: saving delivered group events: %w", err)}
	}
	return nil
}
