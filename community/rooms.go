package community

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/httperr"
)

// Rooms lists the rooms we can access.
func (c *Client) Rooms(ctx context.Context) ([]RoomInfo, error) {
	resp, err := c.do(ctx, request{method: "GET", endpoint: "/rooms"})
	if err != nil {
		return nil, err
	}
	var rows []roomJSON
	if err := json.Unmarshal(resp.Body, &rows); err != nil {
		return nil, fmt.Errorf("%w: rooms: %w", ErrMalformedReply, err)
	}
	out := make([]RoomInfo, 0, len(rows))
	for i := range rows {
		r, err := rows[i].info()
		if err != nil {
			return nil, err
		}
		out = append(out, *r)
	}
	return out, nil
}

// Room returns a room's info. A room we cannot access is ErrNotFound.
func (c *Client) Room(ctx context.Context, token string) (*RoomInfo, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: "GET", endpoint: "/room/" + token})
	if err != nil {
		return nil, err
	}
	return ParseRoomInfo(resp.Body)
}

// PollInfo returns a room's activity and our permissions, with the full info when the room's
// info_updates counter is no longer infoUpdates.
func (c *Client) PollInfo(ctx context.Context, token string, infoUpdates int64) (*PollInfo, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: "GET", endpoint: fmt.Sprintf("/room/%s/pollInfo/%d", token, infoUpdates)})
	if err != nil {
		return nil, err
	}
	return ParsePollInfo(resp.Body)
}

// RoomUpdate changes a room's details (admins only). Nil fields are left as they are.
type RoomUpdate struct {
	Name              *string `json:"name,omitempty"`
	Description       *string `json:"description,omitempty"`
	DefaultRead       *bool   `json:"default_read,omitempty"`
	DefaultAccessible *bool   `json:"default_accessible,omitempty"`
	DefaultWrite      *bool   `json:"default_write,omitempty"`
	DefaultUpload     *bool   `json:"default_upload,omitempty"`
	// Image is the id of an uploaded room file to use as the room's image.
	Image *int64 `json:"image,omitempty"`
}

// UpdateRoom changes a room's details and returns its new info_updates counter.
func (c *Client) UpdateRoom(ctx context.Context, token string, u RoomUpdate) (int64, error) {
	if err := checkToken(token); err != nil {
		return 0, err
	}
	r, err := jsonRequest("PUT", "/room/"+token, u)
	if err != nil {
		return 0, err
	}
	var out struct {
		InfoUpdates int64 `json:"info_updates"`
	}
	return out.InfoUpdates, c.call(ctx, r, &out)
}

// MessageOptions adjusts a message listing.
type MessageOptions struct {
	// Limit is how many rows to return (1..256; 0: the server's default of 100).
	Limit int
	// Reactors is how many reactors to list per reaction (0..20; 0: the server's default of
	// 4). Negative asks for none.
	Reactors int
}

func (o *MessageOptions) query(extra string) string {
	q := url.Values{}
	if o != nil && o.Limit > 0 {
		q.Set("limit", strconv.Itoa(min(o.Limit, 256)))
	}
	if o != nil && o.Reactors != 0 {
		q.Set("reactors", strconv.Itoa(max(min(o.Reactors, 20), 0)))
	}
	s := q.Encode()
	if extra != "" {
		if s != "" {
			s += "&"
		}
		s += extra
	}
	if s == "" {
		return ""
	}
	return "?" + s
}

// Page is a list of messages: the ones that parsed and verified, and the rows that were
// skipped with the reason.
type Page struct {
	Messages []Message
	Skipped  []Skipped
	// MaxSeqno is the largest seqno of the page, skipped rows included (MaxSeqno(Messages,
	// Skipped)): where a poll of Since continues.
	MaxSeqno int64
}

func (c *Client) listMessages(ctx context.Context, endpoint string) (*Page, error) {
	resp, err := c.do(ctx, request{method: "GET", endpoint: endpoint})
	if err != nil {
		return nil, err
	}
	msgs, skipped, err := ParseMessages(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	for _, s := range skipped {
		c.log.Debug("community message skipped", "endpoint", endpoint, "id", s.ID, "err", s.Err)
	}
	return &Page{Messages: msgs, Skipped: skipped, MaxSeqno: MaxSeqno(msgs, skipped)}, nil
}

// Recent returns the newest messages of a room, newest first (no deletions).
func (c *Client) Recent(ctx context.Context, token string, opts *MessageOptions) (*Page, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	return c.listMessages(ctx, "/room/"+token+"/messages/recent"+opts.query(""))
}

// Before returns the messages older than message id, newest first.
func (c *Client) Before(ctx context.Context, token string, id int64, opts *MessageOptions) (*Page, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	return c.listMessages(ctx, fmt.Sprintf("/room/%s/messages/before/%d%s", token, id, opts.query("")))
}

// Since returns the changes of a room after seqno in seqno order: new and edited messages,
// deletions (Deleted) and reaction-only rows (ReactionsOnly). This is the polling endpoint:
// start at 0, continue from the largest Seqno seen, and ask again at once while a page is full
// (as many rows as the limit, 100 by default).
func (c *Client) Since(ctx context.Context, token string, seqno int64, opts *MessageOptions) (*Page, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	return c.listMessages(ctx, fmt.Sprintf("/room/%s/messages/since/%d%s", token, seqno, opts.query("t=r")))
}

// Message returns one message (ErrNotFound for deleted ones and others' whispers). A message
// whose signature does not verify is ErrInvalidSignature.
func (c *Client) Message(ctx context.Context, token string, id int64) (*Message, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, request{method: "GET", endpoint: fmt.Sprintf("/room/%s/message/%d", token, id)})
	if err != nil {
		return nil, err
	}
	m, err := parseMessage(resp.Body)
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// PostOptions adjusts a post.
type PostOptions struct {
	// WhisperTo makes the post a whisper to one user (moderators only).
	WhisperTo *crypto.AccountID
	// WhisperMods makes the post visible to moderators only (moderators only).
	WhisperMods bool
	// Files are room files (UploadFile) that the post refers to, so that the server keeps
	// them as long as the post instead of one hour.
	Files []int64
}

type postJSON struct {
	Data        string  `json:"data"`
	Signature   string  `json:"signature"`
	WhisperTo   string  `json:"whisper_to,omitempty"`
	WhisperMods bool    `json:"whisper_mods,omitempty"`
	Files       []int64 `json:"files,omitempty"`
}

func (c *Client) postBody(content []byte, opts *PostOptions) (postJSON, []byte, error) {
	if len(content) == 0 {
		return postJSON{}, nil, fmt.Errorf("%w: empty message", ErrInvalidArgument)
	}
	data := Pad(content)
	sig := c.sign(data)
	p := postJSON{Data: base64.StdEncoding.EncodeToString(data), Signature: base64.StdEncoding.EncodeToString(sig[:])}
	if opts != nil {
		if opts.WhisperTo != nil {
			p.WhisperTo = opts.WhisperTo.String()
		}
		p.WhisperMods = opts.WhisperMods
		p.Files = opts.Files
	}
	return p, data, nil
}

// Post posts content (a serialized Content, without padding: Post pads it) to a room, signed
// with our blinded key, and returns the message as the server stored it. A full rate limit is
// ErrRateLimited (429).
func (c *Client) Post(ctx context.Context, token string, content []byte, opts *PostOptions) (*Message, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	body, _, err := c.postBody(content, opts)
	if err != nil {
		return nil, err
	}
	r, err := jsonRequest("POST", "/room/"+token+"/message", body)
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	m, err := parseMessage(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("POST /room/%s/message: %w", token, err)
	}
	return &m, nil
}

// Edit replaces the content of one of our messages (files: as in PostOptions).
func (c *Client) Edit(ctx context.Context, token string, id int64, content []byte, files []int64) error {
	if err := checkToken(token); err != nil {
		return err
	}
	body, _, err := c.postBody(content, &PostOptions{Files: files})
	if err != nil {
		return err
	}
	r, err := jsonRequest("PUT", fmt.Sprintf("/room/%s/message/%d", token, id), body)
	if err != nil {
		return err
	}
	return c.call(ctx, r, nil)
}

// Delete deletes a message: ours, or anyone's for moderators.
func (c *Client) Delete(ctx context.Context, token string, id int64) error {
	if err := checkToken(token); err != nil {
		return err
	}
	return c.call(ctx, request{method: "DELETE", endpoint: fmt.Sprintf("/room/%s/message/%d", token, id)}, nil)
}

func checkEmoji(emoji string) error {
	if n := utf8.RuneCountInString(emoji); n < 1 || n > 12 || !utf8.ValidString(emoji) {
		return fmt.Errorf("%w: a reaction is 1 to 12 characters", ErrInvalidArgument)
	}
	for _, r := range emoji {
		if r == '/' || r == '?' || r == '#' || r < 0x20 {
			return fmt.Errorf("%w: reaction %q", ErrInvalidArgument, emoji)
		}
	}
	return nil
}

// React adds our reaction to a message. It reports whether the reaction is new, and the
// message's new seqno.
func (c *Client) React(ctx context.Context, token string, id int64, emoji string) (added bool, seqno int64, err error) {
	if err := checkToken(token); err != nil {
		return false, 0, err
	}
	if err := checkEmoji(emoji); err != nil {
		return false, 0, err
	}
	r, _ := jsonRequest("PUT", fmt.Sprintf("/room/%s/reaction/%d/%s", token, id, emoji), struct{}{})
	var out struct {
		Added boolish `json:"added"`
		Seqno int64   `json:"seqno"`
	}
	err = c.call(ctx, r, &out)
	return bool(out.Added), out.Seqno, err
}

// Unreact removes our reaction from a message. It reports whether there was one, and the
// message's new seqno.
func (c *Client) Unreact(ctx context.Context, token string, id int64, emoji string) (removed bool, seqno int64, err error) {
	if err := checkToken(token); err != nil {
		return false, 0, err
	}
	if err := checkEmoji(emoji); err != nil {
		return false, 0, err
	}
	var out struct {
		Removed boolish `json:"removed"`
		Seqno   int64   `json:"seqno"`
	}
	err = c.call(ctx, request{method: "DELETE", endpoint: fmt.Sprintf("/room/%s/reaction/%d/%s", token, id, emoji)}, &out)
	return bool(out.Removed), out.Seqno, err
}

// ClearReactions removes everyone's reactions from a message, or only emoji's when it is not
// empty (moderators only). It returns how many were removed.
func (c *Client) ClearReactions(ctx context.Context, token string, id int64, emoji string) (int, error) {
	if err := checkToken(token); err != nil {
		return 0, err
	}
	ep := fmt.Sprintf("/room/%s/reactions/%d", token, id)
	if emoji != "" {
		if err := checkEmoji(emoji); err != nil {
			return 0, err
		}
		ep += "/" + emoji
	}
	var out struct {
		Removed int `json:"removed"`
	}
	err := c.call(ctx, request{method: "DELETE", endpoint: ep}, &out)
	return out.Removed, err
}

// Reactor is a user who reacted, and when.
type Reactor struct {
	ID crypto.AccountID
	At time.Time
}

// Reactors lists who reacted to a message with emoji (limit 0: the server's default).
func (c *Client) Reactors(ctx context.Context, token string, id int64, emoji string, limit int) ([]Reactor, error) {
	if err := checkToken(token); err != nil {
		return nil, err
	}
	if err := checkEmoji(emoji); err != nil {
		return nil, err
	}
	ep := fmt.Sprintf("/room/%s/reactors/%d/%s", token, id, emoji)
	if limit > 0 {
		ep += "?limit=" + strconv.Itoa(limit)
	}
	var rows [][2]json.RawMessage
	if err := c.call(ctx, request{method: "GET", endpoint: ep}, &rows); err != nil {
		return nil, err
	}
	out := make([]Reactor, 0, len(rows))
	for _, row := range rows {
		var s string
		var ts float64
		if json.Unmarshal(row[0], &s) != nil || json.Unmarshal(row[1], &ts) != nil {
			return nil, fmt.Errorf("%w: reactor row", ErrMalformedReply)
		}
		id, err := crypto.ParseAccountID(s)
		if err != nil {
			return nil, fmt.Errorf("%w: reactor: %w", ErrMalformedReply, err)
		}
		out = append(out, Reactor{ID: id, At: floatTime(ts)})
	}
	return out, nil
}

// Pin pins a message (admins only) and returns the room's new info_updates.
func (c *Client) Pin(ctx context.Context, token string, id int64) (int64, error) {
	return c.pinCall(ctx, token, fmt.Sprintf("pin/%d", id))
}

// Unpin unpins a message (admins only) and returns the room's new info_updates. (The server
// also says whether the message was pinned: a bool here, a count from UnpinAll; neither is
// needed.)
func (c *Client) Unpin(ctx context.Context, token string, id int64) (int64, error) {
	return c.pinCall(ctx, token, fmt.Sprintf("unpin/%d", id))
}

// UnpinAll unpins every message of a room (admins only) and returns its new info_updates.
func (c *Client) UnpinAll(ctx context.Context, token string) (int64, error) {
	return c.pinCall(ctx, token, "unpin/all")
}

func (c *Client) pinCall(ctx context.Context, token, what string) (int64, error) {
	if err := checkToken(token); err != nil {
		return 0, err
	}
	r, _ := jsonRequest("POST", "/room/"+token+"/"+what, struct{}{})
	var out struct {
		InfoUpdates int64 `json:"info_updates"`
	}
	err := c.call(ctx, r, &out)
	return out.InfoUpdates, err
}

// MaxFileSize is the reference server's limit on room files (UPLOAD_FILE_MAX_SIZE).
const MaxFileSize = 10_000_000

// UploadFile uploads a room file (in plaintext: community attachments are not encrypted) and
// returns its id. The server deletes it after an hour unless a post lists it in Files. name may
// be empty.
func (c *Client) UploadFile(ctx context.Context, token string, data []byte, name string) (int64, error) {
	if err := checkToken(token); err != nil {
		return 0, err
	}
	if len(data) == 0 {
		return 0, fmt.Errorf("%w: empty file", ErrInvalidArgument)
	}
	if len(data) > MaxFileSize {
		return 0, fmt.Errorf("%w: %d bytes (limit %d)", ErrTooLarge, len(data), MaxFileSize)
	}
	r := request{method: "POST", endpoint: "/room/" + token + "/file", body: data, contentType: "application/octet-stream"}
	if name != "" {
		r.headers = map[string]string{"Content-Disposition": "attachment; filename*=UTF-8''" + url.PathEscape(name)}
	}
	var out struct {
		ID *int64 `json:"id"`
	}
	if err := c.call(ctx, r, &out); err != nil {
		return 0, err
	}
	if out.ID == nil {
		return 0, fmt.Errorf("%w: upload answer without id", ErrMalformedReply)
	}
	return *out.ID, nil
}

// DownloadFile fetches a room file and returns its bytes and file name (empty when the server
// has none).
func (c *Client) DownloadFile(ctx context.Context, token string, id int64) (data []byte, name string, err error) {
	if err := checkToken(token); err != nil {
		return nil, "", err
	}
	resp, err := c.do(ctx, request{method: "GET", endpoint: fmt.Sprintf("/room/%s/file/%d", token, id)})
	if err != nil {
		return nil, "", err
	}
	if cd := httperr.Header(resp.Headers, "content-disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			name = params["filename"]
		}
	}
	return resp.Body, name, nil
}

// FileURL is the URL of a room file, as it goes in an attachment pointer of a community post.
func (c *Client) FileURL(token string, id int64) string {
	base := c.server.URL
	base.Path = ""
	return fmt.Sprintf("%s/room/%s/file/%d", base.String(), token, id)
}
