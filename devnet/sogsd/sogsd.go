// Package sogsd is the devnet's community server (SOGS): the pysogs HTTP API on 127.0.0.1,
// reachable directly and as an onion request v4 destination, for tests of community clients and
// bots.
//
// It reproduces what sogs-fileserver spec section 10 asks of an in-process test server: an
// X25519 server key and join URLs; the X-SOGS-* authentication middleware in pysogs' order
// (blinding.Verifier: 400 for bad headers, 425 outside the ±24 h window or for a reused nonce,
// 403 for a globally banned user before the signature check, 401 for a bad signature);
// capabilities (412 for missing required ones); rooms with read/accessible/write/upload
// permissions, per-user overrides, moderators and admins (room or global, visible or hidden),
// room info, pollInfo and the info_updates and message_sequence counters; messages with
// recent/since/before and seqno semantics (edits, deletions and reactions bump the seqno;
// deletions and reaction-only rows appear in since), post (201, rate limit 5 per 16 s for
// non-administrators → 429), edit, delete, whispers; reactions and reactors; pins; room files (1 hour, 15 days once a
// post references them, 413 above the size limit); bans, unbans, moderator changes and
// delete-all; /batch and /sequence; and the blinded DM inbox and outbox (15 IDs only, 304 for an
// empty since, 404 for an unknown recipient).
//
// Replies, error bodies included, have the shapes recorded from the real server (pysogs 9497ddb,
// testdata/real/sogs; see replies.go): TestConformsToPysogs replays that recording against the
// server and compares status, content type, error text and JSON shape.
//
// Rooms, users, moderators, bans and messages can also be set up through Go methods, so that a
// client test starts from a known state (see Populate for a ready-made poll fixture).
//
// Everything is in memory under one lock; the server runs no goroutine besides its listener,
// and expired files and messages are dropped as they are looked at.
package sogsd

import (
	"context"
	"encoding/hex"
	"errors"
	"regexp"
	"sync"
	"time"

	"github.com/sessiongo/sdk/blinding"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

// Limits and lifetimes of the reference server (pysogs config defaults).
const (
	// DefaultMaxUpload is UPLOAD_FILE_MAX_SIZE: the largest room file.
	DefaultMaxUpload = 10_000_000
	// FileTTL is how long an uploaded room file lives when no post references it.
	FileTTL = time.Hour
	// PostedFileTTL is how long a room file lives once a post references it.
	PostedFileTTL = 15 * 24 * time.Hour
	// DMTTL is how long a blinded DM stays in the inbox (DM_EXPIRY).
	DMTTL = 15 * 24 * time.Hour
	// ActiveUsersCutoff is the window of a room's active_users count.
	ActiveUsersCutoff = 7 * 24 * time.Hour
	// DefaultPostLimit and DefaultPostWindow are the post rate limit for non-administrators.
	DefaultPostLimit  = 5
	DefaultPostWindow = 16 * time.Second
)

// Errors of the Go API.
var (
	// ErrNoRoom: no room has this token.
	ErrNoRoom = errors.New("sogsd: no such room")
	// ErrRoomExists: CreateRoom with a token already in use.
	ErrRoomExists = errors.New("sogsd: room already exists")
	// ErrInvalidToken: a room token that does not match [\w-]{1,64}.
	ErrInvalidToken = errors.New("sogsd: invalid room token")
	// ErrNoMessage: no live message has this id in the room.
	ErrNoMessage = errors.New("sogsd: no such message")
	// ErrNoFile: no live file has this id in the room.
	ErrNoFile = errors.New("sogsd: no such file")
	// ErrInvalid: bad arguments (empty data, a signature that is not 64 bytes, a bad reaction).
	ErrInvalid = errors.New("sogsd: invalid argument")
	// ErrClosed: the server was closed.
	ErrClosed = errors.New("sogsd: server closed")
)

var tokenRE = regexp.MustCompile(`^[\w-]{1,64}$`)

// Option configures Start. Where the server listens and how it runs are set with the options
// every devnet server takes (WithNetwork … WithKey); the community server's own follow them.
type Option = v4srv.Option

// Where the server listens: HTTPS from the devnet's CA and relayed host names (WithNetwork,
// WithHost), a certificate of your own (WithTLSCertificate), and pysogs's uWSGI keep-alive
// behaviour (WithDroppedKeepAlive). See the v4srv functions of the same names.
var (
	WithNetwork          = v4srv.WithNetwork
	WithHost             = v4srv.WithHost
	WithTLSCertificate   = v4srv.WithTLSCertificate
	WithDroppedKeepAlive = v4srv.WithDroppedKeepAlive
)

// config holds the community server's own settings (v4srv.Own).
type config struct {
	maxUpload  int
	unblinded  bool
	postLimit  int
	postWindow time.Duration
}

func own(s *v4srv.Settings) *config { return v4srv.Own[config](s) }

// WithMaxUpload sets the largest room file in bytes (default DefaultMaxUpload); larger uploads
// get 413.
func WithMaxUpload(n int) Option { return func(s *v4srv.Settings) { own(s).maxUpload = n } }

// WithUnblindedIDs accepts unblinded (00) keys, as a server with REQUIRE_BLIND_KEYS off does:
// such users are recorded under their 05 Account ID, and the "blind" capability is not
// advertised.
func WithUnblindedIDs() Option { return func(s *v4srv.Settings) { own(s).unblinded = true } }

// WithPostRateLimit sets the post rate limit of users who are not administrators: at most n posts
// per window, else 429. n = 0 disables it. The default is the reference server's 5 per 16 s.
func WithPostRateLimit(n int, window time.Duration) Option {
	return func(s *v4srv.Settings) { c := own(s); c.postLimit, c.postWindow = n, window }
}

// How the server runs: its clock (WithClock: the signature window, expiries, timestamps and
// the rate limit all read it), its logger (WithLogger; keys and message contents are never
// logged) and its X25519 key (WithKey, for stable join URLs).
var (
	WithClock  = v4srv.WithClock
	WithLogger = v4srv.WithLogger
	WithKey    = v4srv.WithKey
)

// Server is a running community server. It is safe for concurrent use. URL, Addr, PublicKey
// (the onion destination key, the blinding input and the first 32 bytes of every signed
// request), OnionServer, Now and Close come from the devnet's server base.
type Server struct {
	*v4srv.Base
	cfg      *config
	verifier *blinding.Verifier
	router   *v4srv.Router // routes.go

	mu         sync.Mutex
	rooms      map[string]*room
	roomList   []*room
	users      map[crypto.AccountID]*user
	globalMods map[crypto.AccountID]modRole
	dms        []*dm
	nextRoom   int64
	nextMsg    int64
	nextFile   int64
	nextDM     int64
	closed     bool
}

// Start starts a community server on 127.0.0.1 with no rooms. The context bounds startup only;
// the server runs until Close.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	s, err := newServer(opts...)
	return v4srv.Start(ctx, s, err)
}

// newServer makes a server that does not listen yet.
func newServer(opts ...Option) (*Server, error) {
	b, c, err := v4srv.NewBase("sogsd", config{maxUpload: DefaultMaxUpload, postLimit: DefaultPostLimit, postWindow: DefaultPostWindow}, opts)
	if err != nil {
		return nil, err
	}
	if c.maxUpload <= 0 {
		c.maxUpload = DefaultMaxUpload
	}
	s := &Server{
		Base:       b,
		cfg:        c,
		rooms:      map[string]*room{},
		users:      map[crypto.AccountID]*user{},
		globalMods: map[crypto.AccountID]modRole{},
	}
	s.router = s.routes()
	s.Serve(s.maxBody(), s.handle)
	v := blinding.NewVerifier(s.PublicKey())
	v.RequireBlinded = !c.unblinded
	v.Now = s.Now
	v.Banned = s.globallyBanned
	s.verifier = v
	return s, nil
}

// maxBody bounds request bodies: the largest upload and room for the onion around it.
func (s *Server) maxBody() int64 { return int64(s.cfg.maxUpload) + 1<<20 }

// JoinURL is the URL users join a room with: base/<token>?public_key=<hex>.
func (s *Server) JoinURL(token string) string {
	pk := s.PublicKey()
	return s.URL() + "/" + token + "?public_key=" + hex.EncodeToString(pk[:])
}

// Close stops the server and waits for its goroutines. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.Base.Close()
}

// BlindedID is the 15-blinded ID that keys have on this server (what X-SOGS-Pubkey carries
// and what the server records).
func (s *Server) BlindedID(keys *crypto.Keys) (crypto.AccountID, error) {
	kp, err := blinding.Blind15KeyPair(keys, s.PublicKey())
	if err != nil {
		return crypto.AccountID{}, err
	}
	return kp.ID(), nil
}

// Signer returns a request signer for keys on this server (15-blinded), for hand-built
// requests in tests.
func (s *Server) Signer(keys *crypto.Keys) (*blinding.RequestSigner, error) {
	kp, err := blinding.Blind15KeyPair(keys, s.PublicKey())
	if err != nil {
		return nil, err
	}
	return blinding.NewRequestSigner(kp)
}

func (s *Server) globallyBanned(id crypto.AccountID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	return u != nil && u.bannedAt(s.Now())
}

// user is a row of the users table: created on a user's first authenticated request (or by
// AddUser).
type user struct {
	id        crypto.AccountID
	created   time.Time
	lastSeen  time.Time
	banned    bool
	banUntil  time.Time // zero: permanent
	roomSince map[int64]time.Time
}

func (u *user) bannedAt(now time.Time) bool {
	if !u.banned {
		return false
	}
	if !u.banUntil.IsZero() && !now.Before(u.banUntil) {
		u.banned = false
		return false
	}
	return true
}

// touchLocked creates or refreshes the user row.
func (s *Server) touchLocked(id crypto.AccountID, now time.Time) *user {
	u := s.users[id]
	if u == nil {
		u = &user{id: id, created: now, roomSince: map[int64]time.Time{}}
		s.users[id] = u
	}
	u.lastSeen = now
	return u
}

// AddUser records a user as if it had made a request, so that blinded DMs to it are accepted.
func (s *Server) AddUser(id crypto.AccountID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touchLocked(id, s.Now())
}

// HasUser reports whether the server has a row for the user.
func (s *Server) HasUser(id crypto.AccountID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.users[id]
	return ok
}

// BanGlobal bans a user from the whole server for d (0: until UnbanGlobal). Banned users get
// 403 on every authenticated request and cannot receive DMs.
func (s *Server) BanGlobal(id crypto.AccountID, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.banGlobalLocked(id, d)
}

func (s *Server) banGlobalLocked(id crypto.AccountID, d time.Duration) {
	now := s.Now()
	u := s.touchLocked(id, now)
	u.banned = true
	u.banUntil = time.Time{}
	if d > 0 {
		u.banUntil = now.Add(d)
	}
}

// UnbanGlobal lifts a global ban.
func (s *Server) UnbanGlobal(id crypto.AccountID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[id]; u != nil {
		u.banned = false
	}
}

// AddGlobalModerator makes a user a moderator (or, with admin, an administrator) of every room.
// Hidden moderators are not listed in room info to non-moderators.
func (s *Server) AddGlobalModerator(id crypto.AccountID, admin, hidden bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.touchLocked(id, s.Now())
	s.globalMods[id] = modRole{admin: admin, visible: !hidden}
	for _, r := range s.roomList {
		r.infoUpdates++
	}
}

// RemoveGlobalModerator removes a global moderator or administrator.
func (s *Server) RemoveGlobalModerator(id crypto.AccountID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.globalMods[id]; ok {
		delete(s.globalMods, id)
		for _, r := range s.roomList {
			r.infoUpdates++
		}
	}
}
