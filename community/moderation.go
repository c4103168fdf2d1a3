package community

import (
	"context"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/crypto"
)

// Scope says where a moderation call applies: some rooms, or the whole server (Global).
// Rooms may be ["*"]: every room we moderate.
type Scope struct {
	Rooms  []string
	Global bool
}

func (s Scope) check() error {
	if s.Global == (len(s.Rooms) > 0) {
		return fmt.Errorf("%w: a scope is either some rooms or global", ErrInvalidArgument)
	}
	for _, r := range s.Rooms {
		if r != "*" {
			if err := checkToken(r); err != nil {
				return err
			}
		}
	}
	return nil
}

type scopeJSON struct {
	Rooms     []string `json:"rooms,omitempty"`
	Global    bool     `json:"global,omitempty"`
	Timeout   *float64 `json:"timeout,omitempty"`
	Moderator *bool    `json:"moderator,omitempty"`
	Admin     *bool    `json:"admin,omitempty"`
	Visible   *bool    `json:"visible,omitempty"`
}

func checkUser(id crypto.AccountID) error {
	switch id.Prefix() {
	case crypto.PrefixBlinded15, crypto.PrefixStandard:
		return nil
	}
	return fmt.Errorf("%w: user %s is not a 15 or 05 ID", ErrInvalidArgument, id)
}

// Ban bans a user from the rooms of scope (moderators of them) or from the server (global
// moderators), for d (0: until unbanned).
func (c *Client) Ban(ctx context.Context, user crypto.AccountID, scope Scope, d time.Duration) error {
	if err := scope.check(); err != nil {
		return err
	}
	if err := checkUser(user); err != nil {
		return err
	}
	body := scopeJSON{Rooms: scope.Rooms, Global: scope.Global}
	if d > 0 {
		secs := d.Seconds()
		body.Timeout = &secs
	}
	r, err := jsonRequest("POST", "/user/"+user.String()+"/ban", body)
	if err != nil {
		return err
	}
	return c.call(ctx, r, nil)
}

// Unban lifts a ban.
func (c *Client) Unban(ctx context.Context, user crypto.AccountID, scope Scope) error {
	if err := scope.check(); err != nil {
		return err
	}
	if err := checkUser(user); err != nil {
		return err
	}
	r, err := jsonRequest("POST", "/user/"+user.String()+"/unban", scopeJSON{Rooms: scope.Rooms, Global: scope.Global})
	if err != nil {
		return err
	}
	return c.call(ctx, r, nil)
}

// ModeratorChange makes a user a moderator or administrator, or takes it away.
type ModeratorChange struct {
	Moderator bool
	Admin     bool // implies Moderator
	// Visible lists the user in room info (nil: the server's default, visible for room
	// moderators and hidden for global ones).
	Visible *bool
}

// SetModerator changes a user's moderator rights in the rooms of scope or globally (admins
// only). It returns the rooms' new info_updates counters.
func (c *Client) SetModerator(ctx context.Context, user crypto.AccountID, scope Scope, ch ModeratorChange) (map[string]int64, error) {
	if err := scope.check(); err != nil {
		return nil, err
	}
	if err := checkUser(user); err != nil {
		return nil, err
	}
	mod := ch.Moderator || ch.Admin
	body := scopeJSON{Rooms: scope.Rooms, Global: scope.Global, Moderator: &mod, Admin: &ch.Admin, Visible: ch.Visible}
	r, err := jsonRequest("POST", "/user/"+user.String()+"/moderator", body)
	if err != nil {
		return nil, err
	}
	var out struct {
		InfoUpdates map[string]int64 `json:"info_updates"`
	}
	return out.InfoUpdates, c.call(ctx, r, &out)
}

// PermissionChange overrides some of a user's permissions in a room; nil fields are left as
// they are.
type PermissionChange struct {
	Read, Accessible, Write, Upload *bool
}

// SetPermissions overrides a user's permissions in a room (moderators only).
func (c *Client) SetPermissions(ctx context.Context, token string, user crypto.AccountID, p PermissionChange) error {
	if err := checkToken(token); err != nil {
		return err
	}
	if err := checkUser(user); err != nil {
		return err
	}
	body := map[string]bool{}
	for k, v := range map[string]*bool{"read": p.Read, "accessible": p.Accessible, "write": p.Write, "upload": p.Upload} {
		if v != nil {
			body[k] = *v
		}
	}
	r, err := jsonRequest("POST", "/room/"+token+"/permissions/"+user.String(), body)
	if err != nil {
		return err
	}
	return c.call(ctx, r, nil)
}

// SetFuturePermissions schedules permission changes for a user in a room, to apply after in
// (moderators only): for example read-only for an hour is Write=false now and Write=true in an
// hour.
func (c *Client) SetFuturePermissions(ctx context.Context, token string, user crypto.AccountID, p PermissionChange, in time.Duration) error {
	if err := checkToken(token); err != nil {
		return err
	}
	if err := checkUser(user); err != nil {
		return err
	}
	if in <= 0 {
		return fmt.Errorf("%w: the delay must be positive", ErrInvalidArgument)
	}
	body := map[string]any{"in": in.Seconds()}
	for k, v := range map[string]*bool{"read": p.Read, "write": p.Write, "upload": p.Upload} {
		if v != nil {
			body[k] = *v
		}
	}
	r, err := jsonRequest("POST", "/room/"+token+"/futurePermissions/"+user.String(), body)
	if err != nil {
		return err
	}
	return c.call(ctx, r, nil)
}

// DeleteAllFrom deletes every post of a user in a room (moderators, or the user themself). A
// user with no posts there is ErrNotFound.
func (c *Client) DeleteAllFrom(ctx context.Context, token string, user crypto.AccountID) error {
	if err := checkToken(token); err != nil {
		return err
	}
	if err := checkUser(user); err != nil {
		return err
	}
	return c.call(ctx, request{method: "DELETE", endpoint: "/room/" + token + "/all/" + user.String()}, nil)
}

// DeleteAllEverywhere deletes every post of a user in every room we moderate and returns how
// many went per room.
func (c *Client) DeleteAllEverywhere(ctx context.Context, user crypto.AccountID) (map[string]int, error) {
	if err := checkUser(user); err != nil {
		return nil, err
	}
	var out struct {
		Rooms map[string]int `json:"rooms"`
	}
	return out.Rooms, c.call(ctx, request{method: "DELETE", endpoint: "/rooms/all/" + user.String()}, &out)
}
