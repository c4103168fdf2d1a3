package session

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sessiongo/sdk/store"
)

// Our profile (display name and picture) is attached to the visible messages we send. Official
// clients apply a received name or picture only when its lastProfileUpdateSeconds is newer than
// what they hold, so the Client keeps the profile in its store with the time of its last change,
// and moves that time forward (by at least a second) on every change of name or picture, also
// across restarts.
//
// Store layout: bucket "profile", key = our Account ID, a JSON savedProfile.

const profileBucket = "profile"

type savedProfile struct {
	Name    string `json:"name,omitempty"`
	PicURL  string `json:"pic_url,omitempty"`
	PicKey  []byte `json:"pic_key,omitempty"`
	Updated int64  `json:"updated"` // unix seconds of the last change
}

func (s savedProfile) profile() *Profile {
	p := &Profile{DisplayName: s.Name, PictureURL: s.PicURL, UpdatedAt: time.Unix(s.Updated, 0)}
	if len(s.PicKey) > 0 {
		p.PictureKey = append([]byte(nil), s.PicKey...)
	}
	return p
}

func saveForm(p *Profile) savedProfile {
	return savedProfile{Name: p.DisplayName, PicURL: p.PictureURL, PicKey: p.PictureKey, Updated: p.UpdatedAt.Unix()}
}

// sameProfile reports whether a and b show the same name and picture.
func sameProfile(a, b *Profile) bool {
	return a.DisplayName == b.DisplayName && a.PictureURL == b.PictureURL && bytes.Equal(a.PictureKey, b.PictureKey)
}

func (c *Client) loadProfile(ctx context.Context) (*Profile, error) {
	b, err := c.store.GetValue(ctx, profileBucket, c.id.String())
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("session: reading our profile: %w", err)
	}
	var s savedProfile
	if err := json.Unmarshal(b, &s); err != nil {
		c.log.Warn("corrupt saved profile ignored", "err", err)
		return nil, nil
	}
	return s.profile(), nil
}

func (c *Client) saveProfile(ctx context.Context, p *Profile) error {
	b, err := json.Marshal(saveForm(p))
	if err != nil {
		return err
	}
	if err := c.store.PutValue(ctx, profileBucket, c.id.String(), b); err != nil {
		return fmt.Errorf("session: saving our profile: %w", err)
	}
	return nil
}

// nextUpdate is the change time of a profile that changes now: now (whole seconds), but later
// than the previous change and than want (a time the caller asked for).
func nextUpdate(prev *Profile, want, now time.Time) time.Time {
	t := now.Truncate(time.Second)
	if want.Truncate(time.Second).After(t) {
		t = want.Truncate(time.Second)
	}
	if prev != nil && !prev.UpdatedAt.Before(t) {
		t = prev.UpdatedAt.Truncate(time.Second).Add(time.Second)
	}
	return t
}

// initProfile sets the profile at NewClient: the one given with WithProfile (its change time
// moved forward if it differs from the saved one), else the saved one.
func (c *Client) initProfile(ctx context.Context, given *Profile) error {
	saved, err := c.loadProfile(ctx)
	if err != nil {
		return err
	}
	if given == nil {
		c.profile = saved
		return nil
	}
	p := *given
	p.PictureKey = append([]byte(nil), given.PictureKey...)
	if saved != nil && sameProfile(saved, &p) {
		c.profile = saved
		return nil
	}
	p.UpdatedAt = nextUpdate(saved, given.UpdatedAt, time.Now())
	if err := c.saveProfile(ctx, &p); err != nil {
		return err
	}
	c.profile = &p
	return c.noteProfile(ctx, &p)
}

// changeProfile applies f to a copy of our profile and, if the name or picture changed, moves
// its change time forward and saves it.
func (c *Client) changeProfile(ctx context.Context, f func(p *Profile)) error {
	c.profileMu.Lock()
	defer c.profileMu.Unlock()
	var p Profile
	if c.profile != nil {
		p = *c.profile
		p.PictureKey = append([]byte(nil), c.profile.PictureKey...)
	}
	f(&p)
	if c.profile != nil && sameProfile(c.profile, &p) {
		return nil
	}
	p.UpdatedAt = nextUpdate(c.profile, time.Time{}, c.now())
	if err := c.saveProfile(ctx, &p); err != nil {
		return err
	}
	c.profile = &p
	return c.noteProfile(ctx, &p) // the account's other devices show it too (usersync_api.go)
}

// Profile returns the profile we attach to the visible messages we send (zero when none).
func (c *Client) Profile() Profile {
	p := c.currentProfile()
	if p == nil {
		return Profile{}
	}
	out := *p
	out.PictureKey = append([]byte(nil), p.PictureKey...)
	return out
}

// SetDisplayName changes the display name we attach to the visible messages we send. The
// change is saved in the store with its time, which every later message carries so that
// official clients apply it (they keep the newest name they have seen).
func (c *Client) SetDisplayName(ctx context.Context, name string) error {
	return c.changeProfile(ctx, func(p *Profile) { p.DisplayName = name })
}
