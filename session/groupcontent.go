package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/attachment"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/groups"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// Group content besides text: deletions (a member's own messages, or an admin's deletion of
// anyone's), the group picture, and clearing the history through the info config.

// MaxDeleteHashes bounds the message hashes of one deletion.
const MaxDeleteHashes = 512

// unsendInGroup deletes one of our group messages for everyone: a
// GroupUpdateDeleteMemberContentMessage with its hash (signed when we are an admin, who also
// deletes it from the group's swarm).
func (c *Client) unsendInGroup(ctx context.Context, gid crypto.AccountID, sent MessageRef) error {
	h, err := c.store.GetValue(ctx, sentBucket, c.sentKey(gid, sent.Timestamp))
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("session: unsend: no message of ours at %v in %s", sent.Timestamp, gid)
	}
	if err != nil {
		return fmt.Errorf("session: unsend: %w", err)
	}
	if err := c.deleteGroupContent(ctx, gid, []string{string(h)}, nil, false); err != nil {
		return err
	}
	_ = c.store.DeleteValue(ctx, sentBucket, c.sentKey(gid, sent.Timestamp))
	return nil
}

// DeleteGroupMessages deletes messages of a group we administer for everyone: the messages
// with these storage hashes (GroupMessage.Hash) and every message of these members. The
// deletion, signed with the group key, is sent to the group (members get GroupMessagesDeleted)
// and the hashes are deleted from the group's swarm.
func (c *Client) DeleteGroupMessages(ctx context.Context, group crypto.AccountID, hashes []string, members ...crypto.AccountID) error {
	ids, err := c.checkMembers(members)
	if err != nil {
		return err
	}
	return c.deleteGroupContent(ctx, group, hashes, ids, true)
}

func (c *Client) deleteGroupContent(ctx context.Context, gid crypto.AccountID, hashes []string, members []crypto.AccountID, adminOnly bool) error {
	if len(hashes) == 0 && len(members) == 0 {
		return fmt.Errorf("%w: nothing to delete", ErrInvalidGroupUpdate)
	}
	if len(hashes) > MaxDeleteHashes || len(members) > MaxDeleteHashes {
		return fmt.Errorf("%w: at most %d hashes and members per deletion", ErrInvalidGroupUpdate, MaxDeleteHashes)
	}
	for _, h := range hashes {
		if len(h) != 43 {
			return fmt.Errorf("%w: %q is not a message hash", ErrInvalidGroupUpdate, h)
		}
	}
	return c.updateGroup(ctx, gid, func(st *groupState) error {
		if adminOnly {
			if err := st.requireAdmin(); err != nil {
				return err
			}
		} else if err := st.requireJoined(); err != nil {
			return err
		}
		if st.admin != nil && len(hashes) > 0 {
			signer, err := c.groupSigner(st)
			if err != nil {
				return err
			}
			if _, err := applied(c.net.rpc.Delete(ctx, signer, swarm.DeleteRequest{Hashes: hashes})); err != nil && !errors.Is(err, swarm.ErrNotFound) {
				return fmt.Errorf("session: deleting group messages from the swarm: %w", err)
			}
		}
		var ids []string
		for _, m := range members {
			ids = append(ids, m.String())
		}
		_, err := c.sendGroupBuilt(ctx, st, groupMessageTTL, func(ts int64) *pb.Content {
			d := &pb.GroupUpdateDeleteMemberContentMessage{MemberSessionIds: ids, MessageHashes: hashes}
			if st.admin != nil {
				sig := st.admin.Sign(groups.DeleteContentSigningMessage(ts, ids, hashes))
				d.AdminSignature = sig[:]
			}
			return &pb.Content{DataMessage: &pb.DataMessage{GroupUpdateMessage: &pb.GroupUpdateMessage{DeleteMemberContent: d}}}
		})
		return err
	})
}

// groupDeletion checks a received deletion and returns its event: an admin's (signature over
// the timestamp, members and hashes) or a member's own (no signature, no members).
func groupDeletion(st *groupState, p store.Incoming, from crypto.AccountID, ts int64, d *pb.GroupUpdateDeleteMemberContentMessage) []Event {
	if len(d.GetMessageHashes()) > MaxDeleteHashes || len(d.GetMemberSessionIds()) > MaxDeleteHashes {
		return undecryptable(st, p, fmt.Errorf("%w: deletion of %d hashes and %d members", ErrInvalidGroupUpdate, len(d.GetMessageHashes()), len(d.GetMemberSessionIds())))
	}
	evt := &GroupMessagesDeleted{Hash: p.Hash, Group: st.id, By: from, Hashes: d.GetMessageHashes(), Timestamp: time.UnixMilli(ts)}
	if len(d.GetAdminSignature()) == 0 {
		if len(d.GetMemberSessionIds()) > 0 {
			return undecryptable(st, p, fmt.Errorf("%w: a member's deletion names members", ErrInvalidGroupUpdate))
		}
		if len(evt.Hashes) == 0 {
			return nil
		}
		return []Event{evt}
	}
	msg := groups.DeleteContentSigningMessage(ts, d.GetMemberSessionIds(), d.GetMessageHashes())
	if err := groups.VerifyAdminSignature(st.pk, msg, d.GetAdminSignature()); err != nil {
		return undecryptable(st, p, fmt.Errorf("%w: deletion: %w", ErrInvalidGroupUpdate, err))
	}
	evt.Admin = true
	evt.Members = parseIDs(d.GetMemberSessionIds())
	return []Event{evt}
}

// SetGroupPicture sets (image not nil) or removes (nil) the picture of a group we administer:
// the image is encrypted with a new key and uploaded to the file server, the group's info is
// updated and the change is announced in the group.
func (c *Client) SetGroupPicture(ctx context.Context, group crypto.AccountID, image []byte) error {
	var url string
	var key []byte
	if image != nil {
		st, err := c.loadJoinedGroup(ctx, group)
		if err != nil {
			return err
		}
		if err := st.requireAdmin(); err != nil {
			return err
		}
		var k [32]byte
		_, _ = rand.Read(k[:])
		blob, err := attachment.EncryptProfilePicture(k, image, nil)
		if err != nil {
			return fmt.Errorf("session: encrypting group picture: %w", err)
		}
		info, err := c.net.files.Upload(ctx, blob, nil)
		if err != nil {
			return fmt.Errorf("session: uploading group picture: %w", err)
		}
		url, key = c.net.files.URL(info.ID, false), k[:]
	}
	return c.updateGroup(ctx, group, func(st *groupState) error {
		if err := st.requireAdmin(); err != nil {
			return err
		}
		if err := st.info.Update(func(d groups.Dict) {
			info := groups.InfoFromData(d)
			info.PicURL, info.PicKey = url, key
			info.Apply(d)
		}); err != nil {
			return err
		}
		if err := c.pushGroupState(ctx, st, nil); err != nil {
			return err
		}
		kind := pb.GroupUpdateInfoChangeMessage_AVATAR
		_, err := c.sendGroupBuilt(ctx, st, groupMessageTTL, func(ts int64) *pb.Content {
			sig := st.admin.Sign(groups.InfoChangeSigningMessage(int(kind), ts))
			return &pb.Content{DataMessage: &pb.DataMessage{GroupUpdateMessage: &pb.GroupUpdateMessage{
				InfoChangeMessage: &pb.GroupUpdateInfoChangeMessage{Type: kind.Enum(), AdminSignature: sig[:]}}}}
		})
		return err
	})
}

// DownloadGroupPicture fetches and decrypts a group's picture (Group.PictureURL and
// PictureKey); ErrNoPicture when it has none.
func (n *Network) DownloadGroupPicture(ctx context.Context, g Group) ([]byte, error) {
	if g.PictureURL == "" || len(g.PictureKey) != 32 {
		return nil, ErrNoPicture
	}
	var buf bytes.Buffer
	if _, err := n.files.Download(ctx, g.PictureURL, &buf, nil); err != nil {
		return nil, fmt.Errorf("session: downloading group picture: %w", err)
	}
	return attachment.DecryptProfilePicture([32]byte(g.PictureKey), buf.Bytes())
}

// ClearGroupHistory asks every member of a group we administer to delete the messages (or, with
// attachmentsOnly, only the attachments of the messages) sent before `before`: it sets the
// group info's delete-before (or delete-attachments-before) time. Members get a
// GroupHistoryCleared event, and the Client no longer delivers what it covers. before may not be
// later than a minute from now (network time): a time in the future would make every member
// drop the messages sent until then.
func (c *Client) ClearGroupHistory(ctx context.Context, group crypto.AccountID, before time.Time, attachmentsOnly bool) error {
	if before.IsZero() || before.Unix() <= 0 {
		return fmt.Errorf("%w: no time to clear before", ErrInvalidGroupUpdate)
	}
	if limit := c.now().Add(maxClearAhead); before.After(limit) {
		return fmt.Errorf("%w: clearing the history before %v, later than now (%v): pass a time that has passed", ErrInvalidGroupUpdate, before.UTC(), c.now().UTC().Truncate(time.Second))
	}
	return c.updateGroup(ctx, group, func(st *groupState) error {
		if err := st.requireAdmin(); err != nil {
			return err
		}
		if err := st.info.Update(func(d groups.Dict) {
			info := groups.InfoFromData(d)
			if attachmentsOnly {
				info.DeleteAttachmentsBefore = max(info.DeleteAttachmentsBefore, before.Unix())
			} else {
				info.DeleteBefore = max(info.DeleteBefore, before.Unix())
			}
			info.Apply(d)
		}); err != nil {
			return err
		}
		return c.pushGroupState(ctx, st, nil)
	})
}

// maxClearAhead is how far in the future ClearGroupHistory accepts its time: the clock offset
// between members' devices, not a way to drop messages yet to be sent.
const maxClearAhead = time.Minute

// infoChangeEvents are the events of a change of a group's info config beyond GroupUpdated: a
// new disappearing setting, a history cleared.
func infoChangeEvents(st *groupState, before, after groups.Info) []Event {
	var evts []Event
	if before.ExpireTimer != after.ExpireTimer {
		evts = append(evts, &DisappearingChanged{Conversation: st.id, Expiry: st.disappearing()})
	}
	if after.DeleteBefore > before.DeleteBefore {
		evts = append(evts, &GroupHistoryCleared{Group: st.id, Before: time.Unix(after.DeleteBefore, 0)})
	}
	if after.DeleteAttachmentsBefore > before.DeleteAttachmentsBefore {
		evts = append(evts, &GroupHistoryCleared{Group: st.id, Before: time.Unix(after.DeleteAttachmentsBefore, 0), AttachmentsOnly: true})
	}
	return evts
}
