package sogsd

import (
	"encoding/base64"
	"net/http"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

// dm is a blinded direct message in the inbox.
type dm struct {
	id        int64
	sender    crypto.AccountID
	recipient crypto.AccountID
	posted    time.Time
	expires   time.Time
	data      []byte
}

// DM is a snapshot of a blinded direct message, for tests.
type DM struct {
	ID        int64
	Sender    crypto.AccountID
	Recipient crypto.AccountID
	Posted    time.Time
	Expires   time.Time
	Message   []byte
}

func (d *dm) json(withMessage bool) map[string]any {
	// (Timestamps as Python floats, see ts.)
	o := map[string]any{
		"id": d.id, "posted_at": ts(d.posted), "expires_at": ts(d.expires),
		"sender": d.sender.String(), "recipient": d.recipient.String(),
	}
	if withMessage {
		o["message"] = base64.StdEncoding.EncodeToString(d.data)
	}
	return o
}

// sweepDMsLocked drops expired messages.
func (s *Server) sweepDMsLocked(now time.Time) {
	kept := s.dms[:0]
	for _, d := range s.dms {
		if now.Before(d.expires) {
			kept = append(kept, d)
		}
	}
	for i := len(kept); i < len(s.dms); i++ {
		s.dms[i] = nil
	}
	s.dms = kept
}

// SendDM puts a message in a user's inbox as if sender had posted it (no checks).
func (s *Server) SendDM(sender, recipient crypto.AccountID, message []byte) DM {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Now()
	s.touchLocked(sender, now)
	d := s.sendDMLocked(sender, recipient, message, now)
	return DM{ID: d.id, Sender: d.sender, Recipient: d.recipient, Posted: d.posted, Expires: d.expires, Message: append([]byte(nil), d.data...)}
}

func (s *Server) sendDMLocked(sender, recipient crypto.AccountID, message []byte, now time.Time) *dm {
	s.sweepDMsLocked(now)
	s.nextDM++
	d := &dm{id: s.nextDM, sender: sender, recipient: recipient, posted: now, expires: now.Add(DMTTL),
		data: append([]byte(nil), message...)}
	s.dms = append(s.dms, d)
	return d
}

// Inbox returns the live messages sent to a user, oldest first.
func (s *Server) Inbox(id crypto.AccountID) []DM {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepDMsLocked(s.Now())
	var out []DM
	for _, d := range s.dms {
		if d.recipient == id {
			out = append(out, DM{ID: d.id, Sender: d.sender, Recipient: d.recipient, Posted: d.posted, Expires: d.expires, Message: append([]byte(nil), d.data...)})
		}
	}
	return out
}

// blindUser is pysogs's blind_user_required: the reading and clearing of DM boxes need an
// authenticated user with a blinded key (401 with the reason otherwise).
func blindUser(c *call) (crypto.AccountID, *v4srv.Response) {
	if c.user == nil {
		return crypto.AccountID{}, respAuthNeeded()
	}
	if c.user.Prefix() != crypto.PrefixBlinded15 {
		return crypto.AccountID{}, respBlindNeeded()
	}
	return *c.user, nil
}

// clearInbox serves DELETE /inbox.
func (s *Server) clearInbox(c *call) *v4srv.Response {
	me, fail := blindUser(c)
	if fail != nil {
		return fail
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepDMsLocked(c.now)
	kept, n := s.dms[:0], 0
	for _, d := range s.dms {
		if d.recipient == me {
			n++
			continue
		}
		kept = append(kept, d)
	}
	for i := len(kept); i < len(s.dms); i++ {
		s.dms[i] = nil
	}
	s.dms = kept
	return v4srv.JSON(http.StatusOK, map[string]any{"deleted": n})
}

// readBox serves GET /inbox and /outbox (since < 0) and their /since/<id>: 304 with an empty
// body when a since finds nothing.
func (s *Server) readBox(c *call, inbox bool, since int64) *v4srv.Response {
	me, fail := blindUser(c)
	if fail != nil {
		return fail
	}
	limit := intParam(c.r.Query(), "limit", 100, 1, 256)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepDMsLocked(c.now)
	out := []map[string]any{}
	for _, d := range s.dms {
		if len(out) >= limit {
			break
		}
		mine := d.recipient == me
		if !inbox {
			mine = d.sender == me
		}
		if mine && d.id > since {
			out = append(out, d.json(true))
		}
	}
	if since >= 0 && len(out) == 0 {
		return &v4srv.Response{Status: http.StatusNotModified, Header: http.Header{}}
	}
	return v4srv.JSON(http.StatusOK, out)
}

// postDM serves POST /inbox/<15 id>, in pysogs's order: the recipient must be a 15 ID (else
// the route does not match) the server knows and has not banned (404), then the body has a
// message (400) of base64 (500 otherwise).
func (s *Server) postDM(c *call, to string) *v4srv.Response {
	if c.user == nil {
		return respAuthNeeded()
	}
	me := *c.user
	recipient, err := crypto.ParseAccountID(to)
	if err != nil || recipient.Prefix() != crypto.PrefixBlinded15 {
		return respNotFound()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[recipient]
	if u == nil || u.bannedAt(c.now) {
		return respNotFound()
	}
	var b struct {
		Message *string `json:"message"`
	}
	if !decodeJSON(c.r, &b) {
		return respBadRequestPage()
	}
	if b.Message == nil {
		return respBadRequestPage()
	}
	msg, ok := decodeB64(*b.Message)
	if !ok {
		return respServerError()
	}
	d := s.sendDMLocked(me, recipient, msg, c.now)
	return v4srv.JSON(http.StatusCreated, d.json(false))
}
