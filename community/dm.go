package community

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
)

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// SendDM sends content (a serialized Content, without padding: SendDM pads it) to the 15-blinded
// user `to` through the server's inbox, encrypted so that only they can read it. It returns
// the stored DM (without its message). A recipient the server does not know is ErrNotFound.
func (c *Client) SendDM(ctx context.Context, to crypto.AccountID, content []byte) (*DM, error) {
	if to.Prefix() != crypto.PrefixBlinded15 {
		return nil, fmt.Errorf("%w: DM recipient %s is not a 15-blinded ID", ErrInvalidArgument, to)
	}
	if len(content) == 0 {
		return nil, fmt.Errorf("%w: empty message", ErrInvalidArgument)
	}
	if c.kp == nil {
		return nil, fmt.Errorf("%w: blinded DMs need a blinded client", ErrInvalidArgument)
	}
	data, err := blinding.EncryptDM(c.keys, c.server.X25519, to, Pad(content), c.rand)
	if err != nil {
		return nil, fmt.Errorf("community: encrypting DM: %w", err)
	}
	r, err := jsonRequest("POST", "/inbox/"+to.String(), map[string]string{"message": base64.StdEncoding.EncodeToString(data)})
	if err != nil {
		return nil, err
	}
	resp, err := c.do(ctx, r)
	if err != nil {
		return nil, err
	}
	d, err := parseDM(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("POST /inbox: %w", err)
	}
	return &d, nil
}

func (c *Client) box(ctx context.Context, box string, since int64) ([]DM, []Skipped, error) {
	ep := "/" + box
	if since > 0 {
		ep = fmt.Sprintf("/%s/since/%d", box, since)
	}
	resp, err := c.do(ctx, request{method: "GET", endpoint: ep})
	if errors.Is(err, ErrNotModified) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	dms, skipped, err := ParseDMs(resp.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("GET %s: %w", ep, err)
	}
	return dms, skipped, nil
}

// Inbox returns the DMs sent to us after DM id since (0: all), oldest first, with the ones that
// did not parse in skipped. Nothing new is an empty list (the server's 304).
func (c *Client) Inbox(ctx context.Context, since int64) (dms []DM, skipped []Skipped, err error) {
	return c.box(ctx, "inbox", since)
}

// Outbox returns the DMs we sent after DM id since (0: all), oldest first.
func (c *Client) Outbox(ctx context.Context, since int64) (dms []DM, skipped []Skipped, err error) {
	return c.box(ctx, "outbox", since)
}

// ClearInbox deletes every DM in our inbox and returns how many there were.
func (c *Client) ClearInbox(ctx context.Context) (int, error) {
	var out struct {
		Deleted int `json:"deleted"`
	}
	return out.Deleted, c.call(ctx, request{method: "DELETE", endpoint: "/inbox"}, &out)
}

// OpenDM decrypts a DM from our inbox or outbox and returns its Content (padding removed) and
// the real 05 Account ID of its sender (ours for outbox copies), after checking that the
// sender's key inside the message blinds to the DM's sender. Errors match blinding.ErrDecrypt
// and blinding.ErrSenderMismatch.
func (c *Client) OpenDM(d *DM) (content []byte, sender crypto.AccountID, err error) {
	if len(d.Message) == 0 {
		return nil, crypto.AccountID{}, fmt.Errorf("community: DM %d: %w", d.ID, blinding.ErrDecrypt)
	}
	msg, from, err := blinding.DecryptDM(c.keys, c.server.X25519, d.Sender, d.Recipient, d.Message)
	if err != nil {
		return nil, crypto.AccountID{}, fmt.Errorf("community: DM %d: %w", d.ID, err)
	}
	return Unpad(msg), from, nil
}
