// Package filesd is the devnet's file server: the Session file server's HTTP API on
// 127.0.0.1, reachable directly and as an onion request v4 destination, for tests of
// attachments and profile pictures.
//
// Endpoints (sogs-fileserver spec section 7, the newer server current clients talk to):
//
//   - POST /file: the raw body is the file (1 byte up to the size limit, else 413
//     {"status_code":413}); an optional X-FS-TTL header (seconds) shortens its life. Answers
//     {"id": "<id>", "expires": <float seconds>}.
//   - GET /file/<id>: the bytes (application/octet-stream), or 404 {"status_code":404}.
//   - GET /file/<id>/info: {"size", "uploaded", "expires"}.
//   - POST /file/<id>/extend (no body, optional X-FS-TTL): a new expiry, answering
//     {"expires", "uploaded", "size"}. Only content IDs (44 characters) can be extended, as on
//     the newer server.
//   - GET /session_version?platform=desktop|android|ios: the latest client version, with
//     optional X-FS-* version-blinded signature headers (see WithVersions).
//
// IDs are random decimal numbers of up to 53 bits by default, as the official server issues
// them (its BACKWARDS_COMPAT_IDS mode, on by default): clients that download by
// AttachmentPointer.id need them. WithContentIDs gives the newer mode's content IDs instead:
// urlsafe base64 of BLAKE2b-264 of the file with the salt "SessionFileSvr\0\0" (ContentID);
// uploading the same bytes again refreshes the expiry and returns the same ID.
//
// Files expire after their TTL on the server's clock (WithClock); expired files are gone at
// once and are swept on later uploads, so the server runs no goroutine besides its listener.
package filesd

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/internal/v4srv"
)

const (
	// DefaultMaxFileSize is the upload limit of the newer file server (10,000,000 bytes).
	DefaultMaxFileSize = 10_000_000
	// DefaultTTL is how long a file lives without X-FS-TTL (the server's FILE_EXPIRY, 3 weeks).
	DefaultTTL = 21 * 24 * time.Hour
	// ContentIDLength is the length of a content ID.
	ContentIDLength = 44
	// HeaderTTL is the request header that sets a file's time to live, in seconds.
	HeaderTTL = "X-FS-TTL"
)

// ErrClosed is returned by Start when ctx is already done, and by methods after Close.
var ErrClosed = errors.New("filesd: server closed")

// contentIDSalt is the BLAKE2b salt of content IDs ("SessionFileSvr" and two NULs).
var contentIDSalt = []byte("SessionFileSvr\x00\x00")

// ContentID is the content-addressed file ID: urlsafe base64 (44 characters) of the 33-byte
// BLAKE2b hash of data with the salt "SessionFileSvr\0\0" (session-file-server's
// generate_file_id).
func ContentID(data []byte) string {
	h, err := crypto.Blake2bSaltPersonal(33, nil, contentIDSalt, nil, data)
	if err != nil { // cannot happen: the size and salt are fixed and valid
		return ""
	}
	return base64.URLEncoding.EncodeToString(h)
}

// Server is a running file server. It is safe for concurrent use. URL, Addr, PublicKey (which
// onion requests are encrypted to), OnionServer, Now and Close come from the devnet's server
// base.
type Server struct {
	*v4srv.Base
	cfg    *config
	router *v4srv.Router

	started time.Time

	mu     sync.Mutex
	files  map[string]*file
	closed bool
}

type file struct {
	data     []byte
	uploaded time.Time
	expires  time.Time
}

// FileInfo describes a stored file.
type FileInfo struct {
	ID       string
	Size     int
	Uploaded time.Time
	Expires  time.Time
}

// Option configures Start. How the server runs and where it listens are set with the options
// every devnet server takes (WithClock … WithDroppedKeepAlive); the file server's own are
// between them.
type Option = v4srv.Option

// config holds the file server's own settings (v4srv.Own).
type config struct {
	maxSize   int
	ttl       time.Duration
	numericID bool
	versions  map[string]string
}

func own(s *v4srv.Settings) *config { return v4srv.Own[config](s) }

// WithMaxFileSize sets the upload limit in bytes (default DefaultMaxFileSize).
func WithMaxFileSize(n int) Option { return func(s *v4srv.Settings) { own(s).maxSize = n } }

// WithTTL sets the default and longest time to live of a file (default DefaultTTL).
func WithTTL(d time.Duration) Option { return func(s *v4srv.Settings) { own(s).ttl = d } }

// WithNumericIDs makes uploads get random decimal IDs of up to 53 bits: the default, as in the
// official server (BACKWARDS_COMPAT_IDS). Such files cannot be extended.
func WithNumericIDs() Option { return setNumericIDs(true) }

// WithContentIDs makes uploads get content IDs (ContentID) instead of random decimal ones: the
// newer server's mode, where the same bytes get the same ID and only such files can be
// extended.
func WithContentIDs() Option { return setNumericIDs(false) }

func setNumericIDs(on bool) Option { return func(s *v4srv.Settings) { own(s).numericID = on } }

// How the server runs: its clock (WithClock, for expiry tests), its logger (WithLogger) and its
// X25519 key (WithKey). See the v4srv functions of the same names.
var (
	WithClock  = v4srv.WithClock
	WithLogger = v4srv.WithLogger
	WithKey    = v4srv.WithKey
)

// Where the server listens: HTTPS from the devnet's CA and relayed host names (WithNetwork,
// WithHost; with WithHost the file URLs carry that name), a certificate of your own
// (WithTLSCertificate), and uWSGI's keep-alive behaviour (WithDroppedKeepAlive).
var (
	WithNetwork          = v4srv.WithNetwork
	WithHost             = v4srv.WithHost
	WithTLSCertificate   = v4srv.WithTLSCertificate
	WithDroppedKeepAlive = v4srv.WithDroppedKeepAlive
)

// Start starts a file server on 127.0.0.1. The context bounds startup only; the server runs
// until Close.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	s, err := newServer(opts...)
	return v4srv.Start(ctx, s, err)
}

// newServer makes a server that does not listen yet: uploads up to the size limit, numeric IDs,
// three weeks, v1.0.0 for every platform unless the options say otherwise.
func newServer(opts ...Option) (*Server, error) {
	versions := map[string]string{"desktop": "v1.0.0", "android": "v1.0.0", "ios": "v1.0.0"}
	b, c, err := v4srv.NewBase("filesd", config{maxSize: DefaultMaxFileSize, ttl: DefaultTTL, numericID: true, versions: versions}, opts)
	if err != nil {
		return nil, err
	}
	if c.maxSize <= 0 {
		c.maxSize = DefaultMaxFileSize
	}
	if c.ttl <= 0 {
		c.ttl = DefaultTTL
	}
	s := &Server{Base: b, cfg: c, files: map[string]*file{}, started: b.Now()}
	s.router = s.routes()
	s.Serve(s.maxBody(), s.handle)
	return s, nil
}

// maxBody bounds request bodies: the largest upload and room for the onion around it.
func (s *Server) maxBody() int64 { return int64(s.cfg.maxSize) + 1<<20 }

// FileURL is the download URL of a file, as clients put it in attachment pointers.
func (s *Server) FileURL(id string) string { return s.URL() + "/file/" + id }

// Close stops the server and waits for its goroutines. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	return s.Base.Close()
}

// Put stores data as if it had been uploaded with the given TTL (0: the default), for seeding
// tests. It returns the file's ID.
func (s *Server) Put(data []byte, ttl time.Duration) (string, error) {
	if len(data) == 0 || len(data) > s.cfg.maxSize {
		return "", fmt.Errorf("filesd: file size %d outside 1..%d", len(data), s.cfg.maxSize)
	}
	info, err := s.store(data, ttl)
	return info.ID, err
}

// File returns a live file's bytes.
func (s *Server) File(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.liveLocked(id)
	if f == nil {
		return nil, false
	}
	return append([]byte(nil), f.data...), true
}

// Info returns a live file's metadata.
func (s *Server) Info(id string) (FileInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.liveLocked(id)
	if f == nil {
		return FileInfo{}, false
	}
	return FileInfo{ID: id, Size: len(f.data), Uploaded: f.uploaded, Expires: f.expires}, true
}

// Len is the number of live files.
func (s *Server) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
	return len(s.files)
}

func (s *Server) liveLocked(id string) *file {
	f, ok := s.files[id]
	if !ok {
		return nil
	}
	if !s.Now().Before(f.expires) {
		delete(s.files, id)
		return nil
	}
	return f
}

func (s *Server) sweepLocked() {
	now := s.Now()
	for id, f := range s.files {
		if !now.Before(f.expires) {
			delete(s.files, id)
		}
	}
}

func (s *Server) clampTTL(ttl time.Duration) time.Duration {
	if ttl <= 0 || ttl > s.cfg.ttl {
		return s.cfg.ttl
	}
	return ttl
}

func (s *Server) store(data []byte, ttl time.Duration) (FileInfo, error) {
	now := s.Now()
	exp := now.Add(s.clampTTL(ttl))
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return FileInfo{}, ErrClosed
	}
	s.sweepLocked()
	var id string
	if s.cfg.numericID {
		for {
			var b [8]byte
			if _, err := rand.Read(b[:]); err != nil {
				return FileInfo{}, fmt.Errorf("filesd: id: %w", err)
			}
			n := binary.LittleEndian.Uint64(b[:]) & (1<<53 - 1)
			id = strconv.FormatUint(n, 10)
			if _, taken := s.files[id]; !taken && n != 0 {
				break
			}
		}
	} else {
		id = ContentID(data)
		if f, ok := s.files[id]; ok {
			// Same content: the server deduplicates by refreshing the expiry.
			if exp.After(f.expires) {
				f.expires = exp
			}
			return FileInfo{ID: id, Size: len(f.data), Uploaded: f.uploaded, Expires: f.expires}, nil
		}
	}
	f := &file{data: append([]byte(nil), data...), uploaded: now, expires: exp}
	s.files[id] = f
	return FileInfo{ID: id, Size: len(data), Uploaded: now, Expires: exp}, nil
}

// seconds is a time as the (Python) file server writes it: float seconds, always with a
// fraction, so that a whole second does not read as an integer.
func seconds(t time.Time) json.Number {
	s := strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return json.Number(s)
}

func statusJSON(code int) *v4srv.Response {
	return v4srv.JSON(code, map[string]int{"status_code": code})
}

// parseTTL reads X-FS-TTL: absent is 0 (the default); anything but a positive integer is an
// error.
func parseTTL(h http.Header) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get(HeaderTTL))
	if v == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	if n > int64(1<<62/time.Second) {
		n = int64(1 << 62 / time.Second)
	}
	return time.Duration(n) * time.Second, true
}

// routes builds the file server's router; every other path is 404 {"status_code":404}.
func (s *Server) routes() *v4srv.Router {
	rt := v4srv.NewRouter(func() *v4srv.Response { return statusJSON(http.StatusNotFound) })
	rt.Handle("GET /session_version", func(r *v4srv.Request, _ *http.Request) *v4srv.Response { return s.sessionVersion(r) })
	rt.Handle("POST /file", func(r *v4srv.Request, _ *http.Request) *v4srv.Response { return s.upload(r) })
	rt.Handle("GET /file/{id}", func(_ *v4srv.Request, req *http.Request) *v4srv.Response {
		data, ok := s.File(req.PathValue("id"))
		if !ok {
			return statusJSON(http.StatusNotFound)
		}
		return v4srv.Bytes(http.StatusOK, "application/octet-stream", data)
	})
	rt.Handle("GET /file/{id}/info", func(_ *v4srv.Request, req *http.Request) *v4srv.Response {
		info, ok := s.Info(req.PathValue("id"))
		if !ok {
			return statusJSON(http.StatusNotFound)
		}
		return v4srv.JSON(http.StatusOK, map[string]any{"size": info.Size, "uploaded": seconds(info.Uploaded), "expires": seconds(info.Expires)})
	})
	rt.Handle("POST /file/{id}/extend", func(r *v4srv.Request, req *http.Request) *v4srv.Response { return s.extend(r, req.PathValue("id")) })
	return rt
}

// handle serves one request, direct or through an onion.
func (s *Server) handle(ctx context.Context, r *v4srv.Request) *v4srv.Response {
	return s.router.Serve(ctx, r)
}

func (s *Server) upload(r *v4srv.Request) *v4srv.Response {
	if len(r.Body) == 0 {
		return statusJSON(http.StatusBadRequest)
	}
	if len(r.Body) > s.cfg.maxSize {
		return statusJSON(http.StatusRequestEntityTooLarge)
	}
	ttl, ok := parseTTL(r.Header)
	if !ok {
		return statusJSON(http.StatusBadRequest)
	}
	info, err := s.store(r.Body, ttl)
	if err != nil {
		return statusJSON(http.StatusServiceUnavailable)
	}
	return v4srv.JSON(http.StatusOK, map[string]any{"id": info.ID, "expires": seconds(info.Expires)})
}

func (s *Server) extend(r *v4srv.Request, id string) *v4srv.Response {
	ttl, ok := parseTTL(r.Header)
	if !ok || len(r.Body) != 0 {
		return statusJSON(http.StatusBadRequest)
	}
	if len(id) != ContentIDLength {
		return statusJSON(http.StatusNotFound)
	}
	now := s.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.liveLocked(id)
	if f == nil {
		return statusJSON(http.StatusNotFound)
	}
	if exp := now.Add(s.clampTTL(ttl)); exp.After(f.expires) {
		f.expires = exp
	}
	return v4srv.JSON(http.StatusOK, map[string]any{"expires": seconds(f.expires), "uploaded": seconds(f.uploaded), "size": len(f.data)})
}
