package community

import (
	"context"
	"fmt"
)

// RoomCursor is where a poll of one room continues: the room's info_updates counter and the
// largest message seqno seen (0 for a room just joined).
type RoomCursor struct {
	Token       string
	InfoUpdates int64
	Seqno       int64
}

// PollRequest is one poll of a server: rooms, and the blinded DM inbox and outbox.
type PollRequest struct {
	Rooms []RoomCursor
	// Limit is how many rows to ask per room (1..256; 0: 256).
	Limit int
	// Reactors per reaction (0: 5, as the official clients ask; negative: none).
	Reactors int
	// DMs also polls the inbox and outbox after the given ids.
	DMs                     bool
	InboxSince, OutboxSince int64
}

// RoomPoll is what a poll found in one room.
type RoomPoll struct {
	Token string
	// Info is the room's pollInfo (with Details when the room's info changed); nil on error.
	Info *PollInfo
	// Messages are the changes after the cursor's seqno (see [Client.Since]), Skipped the rows
	// left out.
	Messages []Message
	Skipped  []Skipped
	// MaxSeqno is the largest seqno in the answer, skipped rows included: the room's cursor
	// moves there (0 when the answer had no rows), so that no row that does not parse can hold
	// it back.
	MaxSeqno int64
	// More is set when the page was full: poll the room again at once.
	More bool
	// Err is this room's failure (an *HTTPError: ErrNotFound when the room is gone,
	// ErrForbidden without read permission), nil when it was polled.
	Err error
}

// PollResult is the answer to a poll.
type PollResult struct {
	Capabilities []string
	Rooms        []RoomPoll // in the order of the request
	Inbox        []DM       // messages to us, oldest first
	Outbox       []DM       // our own messages, oldest first
	// DMErr is the failure of the inbox or outbox part, DMSkipped the DMs that did not parse.
	DMErr     error
	DMSkipped []Skipped
	// InboxLast and OutboxLast are the largest DM ids in the inbox and outbox answers, skipped
	// DMs included (0 when there were none): where the next poll continues.
	InboxLast, OutboxLast int64
}

// Poll sends the recommended poll of the official clients in one signed /batch:
// capabilities, then pollInfo and messages/since for each room, then the inbox and outbox
// (when asked). Failures of single rooms are in RoomPoll.Err; only a failure of the whole
// request is returned as an error.
func (c *Client) Poll(ctx context.Context, req PollRequest) (*PollResult, error) {
	limit := req.Limit
	if limit <= 0 || limit > 256 {
		limit = 256
	}
	reactors := req.Reactors
	if reactors == 0 {
		reactors = 5
	}
	reactors = max(min(reactors, 20), 0)
	subs := []SubRequest{{Method: "GET", Path: "/capabilities"}}
	for _, r := range req.Rooms {
		if err := checkToken(r.Token); err != nil {
			return nil, err
		}
		subs = append(subs,
			SubRequest{Method: "GET", Path: fmt.Sprintf("/room/%s/pollInfo/%d", r.Token, r.InfoUpdates)},
			SubRequest{Method: "GET", Path: fmt.Sprintf("/room/%s/messages/since/%d?t=r&reactors=%d&limit=%d", r.Token, r.Seqno, reactors, limit)})
	}
	if req.DMs {
		subs = append(subs,
			SubRequest{Method: "GET", Path: fmt.Sprintf("/inbox/since/%d", req.InboxSince)},
			SubRequest{Method: "GET", Path: fmt.Sprintf("/outbox/since/%d", req.OutboxSince)})
	}
	answers, err := c.Batch(ctx, subs)
	if err != nil {
		return nil, err
	}
	res := &PollResult{Rooms: make([]RoomPoll, len(req.Rooms))}
	if a := answers[0]; a.Err(subs[0]) == nil {
		var caps struct {
			Capabilities []string `json:"capabilities"`
		}
		if err := jsonUnmarshal(a.Body, &caps); err == nil {
			res.Capabilities = caps.Capabilities
		}
	}
	for i, r := range req.Rooms {
		rp := &res.Rooms[i]
		rp.Token = r.Token
		infoReq, msgReq := subs[1+2*i], subs[2+2*i]
		info, msgs := answers[1+2*i], answers[2+2*i]
		if err := info.Err(infoReq); err != nil {
			rp.Err = err
			continue
		}
		if rp.Info, err = ParsePollInfo(info.Body); err != nil {
			rp.Err = fmt.Errorf("%s: %w", infoReq.Path, err)
			continue
		}
		if err := msgs.Err(msgReq); err != nil {
			rp.Err = err
			continue
		}
		all, skipped, err := ParseMessages(msgs.Body)
		if err != nil {
			rp.Err = fmt.Errorf("%s: %w", msgReq.Path, err)
			continue
		}
		rp.Messages, rp.Skipped, rp.MaxSeqno = all, skipped, MaxSeqno(all, skipped)
		rp.More = len(all)+len(skipped) >= limit
		for _, s := range skipped {
			c.log.Debug("community message skipped", "room", r.Token, "id", s.ID, "err", s.Err)
		}
	}
	if req.DMs {
		n := len(subs)
		last := []*int64{&res.InboxLast, &res.OutboxLast}
		for k, dst := range []*[]DM{&res.Inbox, &res.Outbox} {
			sub, a := subs[n-2+k], answers[n-2+k]
			if a.Code == 304 {
				continue // nothing new
			}
			if err := a.Err(sub); err != nil {
				res.DMErr = err
				continue
			}
			dms, skipped, err := ParseDMs(a.Body)
			if err != nil {
				res.DMErr = fmt.Errorf("%s: %w", sub.Path, err)
				continue
			}
			*dst = dms
			res.DMSkipped = append(res.DMSkipped, skipped...)
			for _, d := range dms {
				*last[k] = max(*last[k], d.ID)
			}
			for _, s := range skipped {
				*last[k] = max(*last[k], s.ID)
			}
		}
	}
	return res, nil
}
