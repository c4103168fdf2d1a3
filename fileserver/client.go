package fileserver

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sessiongo/sdk/attachment"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/onion"
)

// The official file server (sogs-fileserver spec section 7).
const (
	// DefaultURL is the official file server's base URL.
	DefaultURL = "http://filev2.getsession.org"
	// DefaultEd25519 is its Ed25519 key (hex), which desktop writes in "p" fragments.
	DefaultEd25519 = "b8eef9821445ae16e2e97ef8aa6fe782fd11ad5253cd6723b281341dba22e371"
	// DefaultX25519 is its X25519 key (hex): the Ed→X conversion of DefaultEd25519, which
	// current desktop encrypts onion requests to.
	DefaultX25519 = "09324794aa9c11948189762d198c618148e9136ac9582068180661208927ef34"
	// LegacyX25519 is the X25519 key older clients and libsession use for the same host.
	// Which key the live server accepts could not be verified; set Config.Server to use it.
	LegacyX25519 = "da21e1d886c6fbaea313f75298bd64aab03a97ce985b46bb2dad9f2089c8ee59"
	// MaxFileSize is the upload limit of the current server (10,000,000 bytes).
	MaxFileSize = 10_000_000
	// HeaderTTL is the request header that sets a file's time to live, in seconds.
	HeaderTTL = "X-FS-TTL"
)

// DefaultServer returns the official file server as an onion destination.
func DefaultServer() onion.Server {
	s, err := onion.NewServer(DefaultURL, mustKey(DefaultX25519))
	if err != nil {
		// Unreachable: DefaultURL is a constant that parses.
		return onion.Server{}
	}
	return s
}

func mustKey(h string) [32]byte {
	b, _ := hex.DecodeString(h)
	var k [32]byte
	copy(k[:], b)
	return k
}

// Config configures a Client.
type Config struct {
	// Transport carries the requests: an *onion.Transport (onion routed, the default way) or
	// an *onion.DirectServerTransport (the server sees your IP address). Required.
	Transport onion.ServerTransport
	// Server is the file server (base URL and X25519 key); the zero value means
	// DefaultServer().
	Server onion.Server
	// Ed25519 is the server's Ed25519 key, written in the "p" fragment of file URLs so that
	// other clients can reach a non-default server. Zero: unknown (no "p" is written). For
	// the default server it is not needed (clients assume it when "p" is absent).
	Ed25519 [32]byte
	// MaxFileSize is the largest upload (default MaxFileSize); bigger uploads fail with
	// ErrTooLarge before anything is sent.
	MaxFileSize int64
	// Logger receives debug logs (default: discard). File contents and keys are never logged.
	Logger *slog.Logger
	// Now is the clock that Retry-After dates are read against (nil: time.Now).
	Now func() time.Time
}

// Client talks to one file server. It is safe for concurrent use and holds no goroutines.
type Client struct {
	tr      onion.ServerTransport
	server  onion.Server
	base    string // scheme://host[:port], lowercase
	ed      [32]byte
	maxSize int64
	log     *slog.Logger
	now     func() time.Time
}

// New makes a Client.
func New(cfg Config) (*Client, error) {
	if cfg.Transport == nil {
		return nil, errors.New("fileserver: Config.Transport is required")
	}
	c := &Client{tr: cfg.Transport, server: cfg.Server, ed: cfg.Ed25519, maxSize: cfg.MaxFileSize, log: cfg.Logger, now: cfg.Now}
	if c.now == nil {
		c.now = time.Now
	}
	if c.server.URL.Host == "" {
		c.server = DefaultServer()
		if c.ed == ([32]byte{}) {
			c.ed = mustKey(DefaultEd25519)
		}
	}
	if c.maxSize <= 0 {
		c.maxSize = MaxFileSize
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.base = baseOf(c.server.URL)
	return c, nil
}

// baseOf is scheme://host[:port] in lowercase, without the scheme's default port.
func baseOf(u onion.ServerURL) string {
	b := onion.ServerURL{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Host), Port: u.Port}
	if (b.Scheme == "http" && b.Port == 80) || (b.Scheme == "https" && b.Port == 443) {
		b.Port = 0
	}
	return b.String()
}

// Server returns the server the client talks to.
func (c *Client) Server() onion.Server { return c.server }

// isDefault reports whether the client talks to the official server.
func (c *Client) isDefault() bool {
	d := DefaultServer()
	return c.base == baseOf(d.URL) && c.server.X25519 == d.X25519
}

// URL returns the file URL of id on this server, as it goes in attachment pointers: with a
// "p" fragment for a non-default server whose Ed25519 key is known, and "d" for
// deterministic encryption.
func (c *Client) URL(id string, deterministic bool) string {
	f := FileURL{Server: c.base, ID: id, Deterministic: deterministic}
	if !c.isDefault() && c.ed != ([32]byte{}) {
		f.Ed25519, f.HasKey = c.ed, true
	}
	return f.String()
}

// Stage names a step of a transfer in a Progress report.
type Stage uint8

const (
	// StageReading: reading (and encrypting) the source; Done counts source bytes.
	StageReading Stage = iota + 1
	// StageSending: the request is on its way (an onion request is one message, so this
	// step has no intermediate reports); Done is 0 and Total the request body size.
	StageSending
	// StageWriting: writing the (decrypted) download to the destination; Done counts bytes.
	StageWriting
	// StageDone: the transfer finished; Done = Total = the bytes transferred.
	StageDone
)

func (s Stage) String() string {
	switch s {
	case StageReading:
		return "reading"
	case StageSending:
		return "sending"
	case StageWriting:
		return "writing"
	case StageDone:
		return "done"
	}
	return "Stage(" + strconv.Itoa(int(s)) + ")"
}

// Progress is one progress report. Total is -1 when unknown.
type Progress struct {
	Stage       Stage
	Done, Total int64
}

// UploadOptions tune an upload. The zero value (or nil) is fine.
type UploadOptions struct {
	// TTL asks the server to keep the file this long (X-FS-TTL, whole seconds); 0 means the
	// server's default (about 2-3 weeks).
	TTL time.Duration
	// FileName, when set, is sent in Content-Disposition.
	FileName string
	// Progress, when set, is called from the uploading goroutine as the upload advances.
	Progress func(Progress)
}

// DownloadOptions tune a download. The zero value (or nil) is fine.
type DownloadOptions struct {
	// Progress, when set, is called from the downloading goroutine as the download
	// advances.
	Progress func(Progress)
}

func (o *UploadOptions) report(p Progress) {
	if o != nil && o.Progress != nil {
		o.Progress(p)
	}
}

func (o *DownloadOptions) report(p Progress) {
	if o != nil && o.Progress != nil {
		o.Progress(p)
	}
}

// Upload stores data (already encrypted, for attachments) and returns its ID and expiry
// (Size is len(data)). Empty data is ErrBadRequest and more than the size limit is
// ErrTooLarge, both before anything is sent.
func (c *Client) Upload(ctx context.Context, data []byte, opts *UploadOptions) (*FileInfo, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty upload", ErrBadRequest)
	}
	if int64(len(data)) > c.maxSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), c.maxSize)
	}
	hdr := map[string]string{"Content-Type": "application/octet-stream", "Content-Disposition": "attachment"}
	if opts != nil && opts.FileName != "" {
		hdr["Content-Disposition"] = contentDisposition(opts.FileName)
	}
	if opts != nil && opts.TTL > 0 {
		hdr[HeaderTTL] = strconv.FormatInt(int64((opts.TTL+time.Second-1)/time.Second), 10)
	}
	opts.report(Progress{Stage: StageSending, Total: int64(len(data))})
	body, err := c.do(ctx, http.MethodPost, "/file", hdr, data)
	if err != nil {
		return nil, err
	}
	info, err := parseUploadReply(body)
	if err != nil {
		return nil, err
	}
	info.Size = int64(len(data))
	c.log.Debug("fileserver: uploaded", "id", info.ID, "size", info.Size)
	opts.report(Progress{Stage: StageDone, Done: info.Size, Total: info.Size})
	return &info, nil
}

// contentDisposition is `attachment; filename="…"` with the name's quotes, backslashes and
// control characters replaced.
func contentDisposition(name string) string {
	clean := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	return `attachment; filename="` + clean + `"`
}

// Attachment is an uploaded, encrypted attachment: what goes in an AttachmentPointer.
type Attachment struct {
	FileInfo
	// URL is the file URL (Client.URL), for AttachmentPointer.url.
	URL string
	// Pointer has the key, digest and plaintext size for AttachmentPointer.key, .digest and
	// .size.
	Pointer attachment.Pointer
}

// UploadAttachment encrypts src with the legacy attachment scheme (padded, as current
// clients send) and uploads it. The plaintext is streamed from src: only the encrypted blob
// is held in memory, once (pre-sized when src has a Len or Stat method). Reading stops as
// soon as the blob would pass the size limit (ErrTooLarge), or ctx ends.
func (c *Client) UploadAttachment(ctx context.Context, src io.Reader, opts *UploadOptions) (*Attachment, error) {
	total := sizeOf(src)
	var blob bytes.Buffer
	if total >= 0 {
		if want := attachment.EncryptedSize(attachment.Legacy, total); want > c.maxSize {
			return nil, fmt.Errorf("%w: %d bytes encrypt to %d, limit %d", ErrTooLarge, total, want, c.maxSize)
		} else {
			blob.Grow(int(want))
		}
	}
	r := &progressReader{ctx: ctx, r: src, total: total, report: opts.report}
	p, err := attachment.EncryptLegacy(&limitWriter{w: &blob, max: c.maxSize}, r, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	info, err := c.Upload(ctx, blob.Bytes(), opts)
	if err != nil {
		return nil, err
	}
	return &Attachment{FileInfo: *info, URL: c.URL(info.ID, false), Pointer: p}, nil
}

// sizeOf returns the bytes left in r when it can tell (Len or Stat), else -1.
func sizeOf(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Len() int }:
		return int64(v.Len())
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			if s, ok := r.(io.Seeker); ok {
				if pos, err := s.Seek(0, io.SeekCurrent); err == nil {
					return fi.Size() - pos
				}
			}
		}
	}
	return -1
}

// progressReader reports reads and stops when ctx ends.
type progressReader struct {
	ctx    context.Context
	r      io.Reader
	done   int64
	total  int64
	report func(Progress)
}

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := p.r.Read(b)
	if n > 0 {
		p.done += int64(n)
		p.report(Progress{Stage: StageReading, Done: p.done, Total: p.total})
	}
	return n, err
}

// limitWriter fails once more than max bytes are written.
type limitWriter struct {
	w   io.Writer
	n   int64
	max int64
}

func (l *limitWriter) Write(b []byte) (int, error) {
	if l.n+int64(len(b)) > l.max {
		return 0, fmt.Errorf("%w: encrypted attachment over %d bytes", ErrTooLarge, l.max)
	}
	l.n += int64(len(b))
	return l.w.Write(b)
}

// Download fetches a file, by ID on this client's server or by file URL, and writes its
// bytes to dst. Nothing is written when the download fails.
func (c *Client) Download(ctx context.Context, ref string, dst io.Writer, opts *DownloadOptions) (int64, error) {
	body, err := c.fetch(ctx, ref, opts)
	if err != nil {
		return 0, err
	}
	return writeAll(ctx, dst, body, opts)
}

// DownloadAttachment fetches an encrypted attachment (by ID or file URL), checks it against
// the pointer (size, digest, MAC) and writes the plaintext to dst. The blob is decrypted in
// place in the downloaded buffer; nothing is written to dst unless every check passes.
// Failures of the checks wrap the attachment package's errors (attachment.ErrDigestMismatch,
// attachment.ErrTruncated, attachment.ErrWrongKey, …).
func (c *Client) DownloadAttachment(ctx context.Context, ref string, p attachment.Pointer, dst io.Writer, opts *DownloadOptions) (int64, error) {
	body, err := c.fetch(ctx, ref, opts)
	if err != nil {
		return 0, err
	}
	plain, err := attachment.OpenInPlace(body, p)
	if err != nil {
		return 0, fmt.Errorf("fileserver: attachment %s: %w", ref, err)
	}
	return writeAll(ctx, dst, plain, opts)
}

// writeAll writes body to dst in 1 MiB pieces with progress reports.
func writeAll(ctx context.Context, dst io.Writer, body []byte, opts *DownloadOptions) (int64, error) {
	total := int64(len(body))
	var done int64
	for len(body) > 0 {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		k := min(len(body), 1<<20)
		n, err := dst.Write(body[:k])
		done += int64(n)
		if err != nil {
			return done, fmt.Errorf("fileserver: writing download: %w", err)
		}
		body = body[k:]
		opts.report(Progress{Stage: StageWriting, Done: done, Total: total})
	}
	opts.report(Progress{Stage: StageDone, Done: total, Total: total})
	return total, nil
}

// fetch downloads a file's bytes.
func (c *Client) fetch(ctx context.Context, ref string, opts *DownloadOptions) ([]byte, error) {
	server, id, err := c.resolve(ref)
	if err != nil {
		return nil, err
	}
	opts.report(Progress{Stage: StageSending, Total: 0})
	return c.doTo(ctx, server, http.MethodGet, "/file/"+id, nil, nil)
}

// resolve turns an ID or a file URL into a server and an ID.
func (c *Client) resolve(ref string) (onion.Server, string, error) {
	if validID(ref) {
		return c.server, ref, nil
	}
	f, err := ParseFileURL(ref)
	if err != nil {
		return onion.Server{}, "", err
	}
	if f.Server == c.base {
		return c.server, f.ID, nil
	}
	u, err := onion.ParseURL(f.Server)
	if err != nil {
		return onion.Server{}, "", fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	switch {
	case f.HasKey:
		x, err := crypto.Ed25519PublicToX25519(f.Ed25519)
		if err != nil {
			return onion.Server{}, "", fmt.Errorf("%w: server key in %q: %w", ErrBadURL, ref, err)
		}
		return onion.Server{URL: u, X25519: x}, f.ID, nil
	case f.Server == baseOf(DefaultServer().URL):
		return DefaultServer(), f.ID, nil
	}
	return onion.Server{}, "", fmt.Errorf("%w: %q is on an unknown server and has no key", ErrBadURL, ref)
}

// Extend asks the server to keep a file for ttl more (0: the server's default) and returns
// its new metadata. The current server only extends content IDs (44 characters); others
// answer 404.
func (c *Client) Extend(ctx context.Context, id string, ttl time.Duration) (*FileInfo, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: file id %q", ErrBadURL, id)
	}
	var hdr map[string]string
	if ttl > 0 {
		hdr = map[string]string{HeaderTTL: strconv.FormatInt(int64((ttl+time.Second-1)/time.Second), 10)}
	}
	body, err := c.do(ctx, http.MethodPost, "/file/"+id+"/extend", hdr, nil)
	if err != nil {
		return nil, err
	}
	info, err := parseInfoReply(id, body)
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// Info returns a file's size, upload time and expiry.
func (c *Client) Info(ctx context.Context, id string) (*FileInfo, error) {
	if !validID(id) {
		return nil, fmt.Errorf("%w: file id %q", ErrBadURL, id)
	}
	body, err := c.do(ctx, http.MethodGet, "/file/"+id+"/info", nil, nil)
	if err != nil {
		return nil, err
	}
	info, err := parseInfoReply(id, body)
	if err != nil {
		return nil, err
	}
	return &info, nil
}

func (c *Client) do(ctx context.Context, method, endpoint string, hdr map[string]string, body []byte) ([]byte, error) {
	return c.doTo(ctx, c.server, method, endpoint, hdr, body)
}

// doTo sends one request and returns the body of a 2xx answer; other statuses are
// *HTTPError.
func (c *Client) doTo(ctx context.Context, server onion.Server, method, endpoint string, hdr map[string]string, body []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	resp, err := c.tr.Do(ctx, server, &onion.ServerRequest{Method: method, Endpoint: endpoint, Headers: hdr, Body: body})
	if err != nil {
		return nil, fmt.Errorf("fileserver: %s %s: %w", method, endpoint, err)
	}
	if resp == nil {
		return nil, fmt.Errorf("%w: %s %s: no response", ErrMalformedReply, method, endpoint)
	}
	c.log.Debug("fileserver: reply", "method", method, "endpoint", endpoint, "status", resp.Status, "bytes", len(resp.Body))
	if err := resp.Err(string(domain), method, endpoint, c.now()); err != nil {
		return nil, err
	}
	return resp.Body, nil
}
