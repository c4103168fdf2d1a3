package session

import (
	"fmt"
	"time"

	"github.com/sessiongo/sdk/groups"
)

// DecodeEvents decodes a message stored in our swarm (data as retrieved: the serialized
// WebSocketMessage after base64 decoding; hash its storage hash) and returns the events the
// Client would deliver for it, without changing anything: no contact bookkeeping (so no
// MessageRequest event, and Message.Request is false) and no group state (an invitation is
// checked and returned as a GroupInvite, a promotion as a GroupInvite with Promoted, but
// neither is recorded). It is for messages retrieved by other means, and for tools that inspect
// stored messages. A message that does not decrypt or parse is an error (what Run reports as
// UndecryptableMessage); one that carries nothing the SDK maps gives an UnknownContent. Nor
// does it guard against replays (a node serving an old message again): a caller that retrieves
// by other means de-duplicates by hash and drops messages older than any swarm keeps one, as
// Run does (ErrMessageTooOld).
func (c *Client) DecodeEvents(hash string, data []byte) ([]Event, error) {
	in, err := decodeWire(c.keys, data)
	if err != nil {
		return nil, err
	}
	gu := in.Content.GetDataMessage().GetGroupUpdateMessage()
	switch {
	case gu.GetInviteMessage() != nil:
		inv := gu.GetInviteMessage()
		gid, _, err := c.checkInvite(in, inv)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidGroupUpdate, err)
		}
		return []Event{&GroupInvite{Hash: hash, Group: gid, Name: inv.GetName(), From: in.Sender, Timestamp: in.SentAt()}}, nil
	case gu.GetPromoteMessage() != nil:
		pm := gu.GetPromoteMessage()
		if len(pm.GetGroupIdentitySeed()) != 32 {
			return nil, fmt.Errorf("%w: group seed of %d bytes", ErrInvalidGroupUpdate, len(pm.GetGroupIdentitySeed()))
		}
		gid := groups.NewAdminKey([32]byte(pm.GetGroupIdentitySeed())).ID()
		return []Event{&GroupInvite{Hash: hash, Group: gid, Name: pm.GetName(), From: in.Sender, Timestamp: in.SentAt(), Promoted: true}}, nil
	}
	evts := eventsFromContent(in, hash, c.id, c.net.files)
	for _, e := range evts {
		if m, ok := e.(*Message); ok {
			m.ExpiresAt = expiresAt(m.Expiry, m.Timestamp, time.Time{}, c.now())
		}
	}
	if len(evts) == 0 {
		return []Event{&UnknownContent{Hash: hash, From: in.Sender, Timestamp: in.SentAt(), Content: in.Content}}, nil
	}
	return evts, nil
}
