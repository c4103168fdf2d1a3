package fileserver_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongo/sdk/attachment"
	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/filesd"
	"github.com/sessiongo/sdk/fileserver"
	"github.com/sessiongo/sdk/internal/devnetonion"
	"github.com/sessiongo/sdk/onion"
)

// onionSetup starts a devnet, a file server on it and a Client that reaches the server
// through 3-hop onion paths.
type onionSetup struct {
	fs     *filesd.Server
	client *fileserver.Client
	tr     *onion.Transport
}

var (
	netOnce sync.Once
	netErr  error
	sharedN *devnet.Network
)

func network(t *testing.T) *devnet.Network {
	t.Helper()
	netOnce.Do(func() {
		sharedN, netErr = devnet.Start(context.Background(), devnet.WithNodes(8))
	})
	if netErr != nil {
		t.Fatal(netErr)
	}
	return sharedN
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedN != nil {
		_ = sharedN.Close()
	}
	os.Exit(code)
}

func newOnion(t *testing.T, opts ...filesd.Option) onionSetup {
	t.Helper()
	nw := network(t)
	fs, err := filesd.Start(context.Background(), append([]filesd.Option{filesd.WithNetwork(nw)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fs.Close() })
	tr, _ := devnetonion.Start(t, nw, onion.Config{})
	c, err := fileserver.New(fileserver.Config{Transport: tr, Server: fs.OnionServer()})
	if err != nil {
		t.Fatal(err)
	}
	return onionSetup{fs: fs, client: c, tr: tr}
}

func newDirect(t *testing.T, cfg fileserver.Config, opts ...filesd.Option) (*filesd.Server, *fileserver.Client) {
	t.Helper()
	fs, err := filesd.Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fs.Close() })
	srv, err := onion.NewServer(fs.URL(), fs.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transport, cfg.Server = &onion.DirectServerTransport{}, srv
	c, err := fileserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return fs, c
}

func randomData(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(n)}).Read(b)
	return b
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// The whole life of an attachment through onion paths: encrypt and upload, info, extend,
// download and decrypt by URL, and the errors for a missing file and a wrong pointer.
func TestOnionAttachmentLifecycle(t *testing.T) {
	s := newOnion(t, filesd.WithContentIDs()) // extend and dedupe need content IDs
	ctx := ctxT(t)
	data := randomData(1_500_000)

	var reports []fileserver.Progress
	up, err := s.client.UploadAttachment(ctx, bytes.NewReader(data), &fileserver.UploadOptions{
		TTL: time.Hour, FileName: "photo \"1\".jpg",
		Progress: func(p fileserver.Progress) { reports = append(reports, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	blobSize := attachment.EncryptedSize(attachment.Legacy, int64(len(data)))
	if up.Size != blobSize || up.Pointer.Size != int64(len(data)) || len(up.Pointer.Digest) != 32 {
		t.Fatalf("upload: %+v", up.FileInfo)
	}
	if got, ok := s.fs.File(up.ID); !ok || int64(len(got)) != blobSize || up.ID != filesd.ContentID(got) {
		t.Fatalf("server holds %d bytes under %s", len(got), up.ID)
	}
	if d := time.Until(up.Expires); d < 59*time.Minute || d > 61*time.Minute {
		t.Fatalf("expires in %v, asked for 1h", d)
	}
	checkUploadProgress(t, reports, int64(len(data)), blobSize)

	info, err := s.client.Info(ctx, up.ID)
	if err != nil || info.Size != blobSize || info.ID != up.ID || info.Uploaded.IsZero() {
		t.Fatalf("info: %+v %v", info, err)
	}
	ext, err := s.client.Extend(ctx, up.ID, 48*time.Hour)
	if err != nil || time.Until(ext.Expires) < 47*time.Hour || ext.Size != blobSize {
		t.Fatalf("extend: %+v %v", ext, err)
	}

	var out bytes.Buffer
	var dl []fileserver.Progress
	n, err := s.client.DownloadAttachment(ctx, up.URL, up.Pointer, &out, &fileserver.DownloadOptions{
		Progress: func(p fileserver.Progress) { dl = append(dl, p) },
	})
	if err != nil || n != int64(len(data)) || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("download: %d bytes, %v", n, err)
	}
	if last := dl[len(dl)-1]; last.Stage != fileserver.StageDone || last.Done != int64(len(data)) || dl[0].Stage != fileserver.StageSending {
		t.Fatalf("download progress %v", dl)
	}
	// By ID, raw bytes.
	out.Reset()
	if _, err := s.client.Download(ctx, up.ID, &out, nil); err != nil || int64(out.Len()) != blobSize {
		t.Fatalf("raw download: %v", err)
	}

	// A wrong digest: typed error, nothing written.
	bad := up.Pointer
	bad.Digest = make([]byte, 32)
	var dst countingWriter
	if _, err := s.client.DownloadAttachment(ctx, up.ID, bad, &dst, nil); !errors.Is(err, attachment.ErrDigestMismatch) || dst.n != 0 {
		t.Fatalf("bad digest: %v, %d bytes written", err, dst.n)
	}
	// Missing file.
	_, err = s.client.Download(ctx, "AAAA", &dst, nil)
	var he *fileserver.HTTPError
	if !errors.Is(err, fileserver.ErrNotFound) || !errors.As(err, &he) || he.Status != 404 ||
		!errors.Is(err, &fileserver.HTTPError{Status: 404}) || errors.Is(err, fileserver.ErrTooLarge) || dst.n != 0 {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := s.client.Info(ctx, "AAAA"); !errors.Is(err, fileserver.ErrNotFound) {
		t.Fatalf("info of a missing file: %v", err)
	}
}

func checkUploadProgress(t *testing.T, reports []fileserver.Progress, plain, blob int64) {
	t.Helper()
	var last int64
	sawSending := false
	for _, p := range reports {
		switch p.Stage {
		case fileserver.StageReading:
			if p.Done < last || p.Total != plain || sawSending {
				t.Fatalf("reading report %+v after %d", p, last)
			}
			last = p.Done
		case fileserver.StageSending:
			sawSending = p.Total == blob
		}
	}
	end := reports[len(reports)-1]
	if last != plain || !sawSending || end.Stage != fileserver.StageDone || end.Done != blob {
		t.Fatalf("progress %v", reports)
	}
}

type countingWriter struct{ n int }

func (w *countingWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// Deterministic attachments (the newer scheme) go up with Upload and come back with
// DownloadAttachment, whose pointer's key says the scheme; the URL carries "d".
func TestOnionDeterministicAttachment(t *testing.T) {
	s := newOnion(t, filesd.WithContentIDs()) // extend and dedupe need content IDs
	ctx := ctxT(t)
	data := randomData(100_000)
	var blob bytes.Buffer
	p, err := attachment.EncryptDeterministic(&blob, data, [32]byte{7}, attachment.DomainAttachment)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.client.Upload(ctx, blob.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	url := s.client.URL(info.ID, true)
	if f, err := fileserver.ParseFileURL(url); err != nil || !f.Deterministic || f.ID != info.ID {
		t.Fatalf("URL %s: %+v %v", url, f, err)
	}
	var out bytes.Buffer
	if _, err := s.client.DownloadAttachment(ctx, url, p, &out, nil); err != nil || !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("download: %v", err)
	}
	// The same file uploads to the same ID (content addressing + deterministic encryption).
	again, err := s.client.Upload(ctx, blob.Bytes(), nil)
	if err != nil || again.ID != info.ID {
		t.Fatalf("re-upload: %v %v", again, err)
	}
}

// Size limits: the client's, checked before sending (no request made), and the server's 413.
func TestSizeLimits(t *testing.T) {
	fs, c := newDirect(t, fileserver.Config{MaxFileSize: 5000}, filesd.WithMaxFileSize(3000))
	ctx := ctxT(t)
	if _, err := c.Upload(ctx, make([]byte, 5001), nil); !errors.Is(err, fileserver.ErrTooLarge) {
		t.Fatalf("local limit: %v", err)
	}
	var he *fileserver.HTTPError
	if _, err := c.Upload(ctx, make([]byte, 4000), nil); !errors.Is(err, fileserver.ErrTooLarge) || !errors.As(err, &he) || he.Status != 413 {
		t.Fatalf("server limit: %v", err)
	}
	if _, err := c.Upload(ctx, nil, nil); !errors.Is(err, fileserver.ErrBadRequest) {
		t.Fatalf("empty: %v", err)
	}
	// An attachment whose size is known is refused before it is read; one whose size is not
	// stops being read at the limit.
	if _, err := c.UploadAttachment(ctx, bytes.NewReader(make([]byte, 6000)), nil); !errors.Is(err, fileserver.ErrTooLarge) {
		t.Fatalf("known size: %v", err)
	}
	src := &countingReader{r: io.LimitReader(zeros{}, 1<<30)}
	if _, err := c.UploadAttachment(ctx, src, nil); !errors.Is(err, fileserver.ErrTooLarge) || src.n > 1<<20 {
		t.Fatalf("unknown size: %v after %d bytes", err, src.n)
	}
	if fs.Len() != 0 {
		t.Fatalf("server stored %d files", fs.Len())
	}
	// Within the limits it works (direct mode, no onion).
	up, err := c.UploadAttachment(ctx, strings.NewReader("small"), &fileserver.UploadOptions{TTL: 90 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := c.DownloadAttachment(ctx, up.URL, up.Pointer, &out, nil); err != nil || out.String() != "small" {
		t.Fatalf("download: %q %v", out.String(), err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// Cancellation: an ended ctx stops before the network, and while reading the source.
func TestCancellation(t *testing.T) {
	_, c := newDirect(t, fileserver.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Upload(ctx, []byte("x"), nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("upload: %v", err)
	}
	if _, err := c.Download(ctx, "abc", io.Discard, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("download: %v", err)
	}
	if _, err := c.Info(ctx, "abc"); !errors.Is(err, context.Canceled) {
		t.Fatalf("info: %v", err)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	src := &cancelAfter{n: 100_000, cancel: cancel2}
	if _, err := c.UploadAttachment(ctx2, src, nil); !errors.Is(err, context.Canceled) || src.read > 200_000 {
		t.Fatalf("mid-read: %v after %d bytes", err, src.read)
	}
}

type cancelAfter struct {
	n, read int
	cancel  func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	clear(p)
	c.read += len(p)
	if c.read >= c.n {
		c.cancel()
	}
	return len(p), nil
}

// Through the onion, a request whose ctx ends while in flight returns promptly.
func TestOnionCancelInFlight(t *testing.T) {
	s := newOnion(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.client.Upload(ctx, randomData(1000), nil)
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

func TestNewAndURLs(t *testing.T) {
	if _, err := fileserver.New(fileserver.Config{}); err == nil {
		t.Fatal("no transport accepted")
	}
	c, err := fileserver.New(fileserver.Config{Transport: &onion.DirectServerTransport{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Server(); got.URL.Host != "filev2.getsession.org" || got != fileserver.DefaultServer() {
		t.Fatalf("default server %+v", got)
	}
	if got := c.URL("abc", false); got != "http://filev2.getsession.org/file/abc" {
		t.Fatalf("default URL %s", got)
	}
	if got := c.URL("abc", true); got != "http://filev2.getsession.org/file/abc#d" {
		t.Fatalf("default URL %s", got)
	}
	srv, _ := onion.NewServer("https://files.example.org:8443", [32]byte{1})
	ed := [32]byte{0xaa}
	c2, _ := fileserver.New(fileserver.Config{Transport: &onion.DirectServerTransport{}, Server: srv, Ed25519: ed})
	want := "https://files.example.org:8443/file/xyz#p=aa" + strings.Repeat("00", 31) + "&d"
	if got := c2.URL("xyz", true); got != want {
		t.Fatalf("URL %s, want %s", got, want)
	}
	c3, _ := fileserver.New(fileserver.Config{Transport: &onion.DirectServerTransport{}, Server: srv})
	if got := c3.URL("xyz", false); got != "https://files.example.org:8443/file/xyz" {
		t.Fatalf("URL without known key %s", got)
	}
}

// A URL on another server without a key cannot be fetched; a URL of the default server
// without "p" goes to the default server.
func TestResolve(t *testing.T) {
	var seen []onion.Server
	c, _ := fileserver.New(fileserver.Config{Transport: fakeTransport(func(s onion.Server, r *onion.ServerRequest) (*onion.Response, error) {
		seen = append(seen, s)
		return &onion.Response{Status: 200, Body: []byte("ok")}, nil
	})})
	ctx := context.Background()
	if _, err := c.Download(ctx, "https://elsewhere.example/file/abc", io.Discard, nil); !errors.Is(err, fileserver.ErrBadURL) {
		t.Fatalf("unknown server: %v", err)
	}
	if _, err := c.Download(ctx, "not a url", io.Discard, nil); !errors.Is(err, fileserver.ErrBadURL) {
		t.Fatalf("garbage: %v", err)
	}
	if _, err := c.Download(ctx, "HTTP://FILEV2.getsession.org:80/files/123", io.Discard, nil); err != nil || seen[0] != fileserver.DefaultServer() {
		t.Fatalf("default server: %v %+v", err, seen)
	}
	// "p" is the Ed25519 key; the request goes to its X25519 conversion.
	url := "https://elsewhere.example/file/abc#p=" + fileserver.DefaultEd25519
	if _, err := c.Download(ctx, url, io.Discard, nil); err != nil || seen[1].X25519 != fileserver.DefaultServer().X25519 || seen[1].URL.Host != "elsewhere.example" {
		t.Fatalf("p key: %v %+v", err, seen[1])
	}
	if _, err := c.Download(ctx, "https://elsewhere.example/file/abc#p="+strings.Repeat("ff", 32), io.Discard, nil); !errors.Is(err, fileserver.ErrBadURL) {
		t.Fatalf("p that is no point: %v", err)
	}
}

// fakeTransport answers requests with a function: for replies the devnet server never sends
// (malformed JSON, odd statuses, transport failures).
type fakeTransport func(onion.Server, *onion.ServerRequest) (*onion.Response, error)

func (f fakeTransport) Do(ctx context.Context, s onion.Server, r *onion.ServerRequest) (*onion.Response, error) {
	return f(s, r)
}

func TestBadReplies(t *testing.T) {
	ctx := context.Background()
	reply := func(status int, body string) *fileserver.Client {
		c, _ := fileserver.New(fileserver.Config{Transport: fakeTransport(func(onion.Server, *onion.ServerRequest) (*onion.Response, error) {
			return &onion.Response{Status: status, Body: []byte(body)}, nil
		})})
		return c
	}
	for _, body := range []string{"", "null", "[]", `{"id":""}`, `{"id":"../etc"}`, `{"id":{}}`, `{"id":"abc","expires":-1}`, `{"id":"abc","expires":"x"}`, `{"id":1.5}`} {
		if _, err := reply(200, body).Upload(ctx, []byte("x"), nil); !errors.Is(err, fileserver.ErrMalformedReply) {
			t.Errorf("upload reply %q: %v", body, err)
		}
	}
	if info, err := reply(200, `{"id":12345678901234}`).Upload(ctx, []byte("x"), nil); err != nil || info.ID != "12345678901234" || !info.Expires.IsZero() {
		t.Errorf("numeric id: %+v %v", info, err)
	}
	for _, body := range []string{"", `{"size":1}`, `{"size":-1,"expires":1}`, `{"size":1.5,"expires":1}`, `{"expires":1e300}`, `{"uploaded":"x","expires":1}`} {
		if _, err := reply(200, body).Info(ctx, "abc"); !errors.Is(err, fileserver.ErrMalformedReply) {
			t.Errorf("info reply %q: %v", body, err)
		}
	}
	statuses := map[int]error{400: fileserver.ErrBadRequest, 401: fileserver.ErrForbidden, 403: fileserver.ErrForbidden,
		404: fileserver.ErrNotFound, 413: fileserver.ErrTooLarge, 429: fileserver.ErrRateLimited, 500: fileserver.ErrServer, 502: fileserver.ErrServer}
	for st, want := range statuses {
		_, err := reply(st, strings.Repeat("e", 2000)).Extend(ctx, "abc", time.Minute)
		var he *fileserver.HTTPError
		if !errors.Is(err, want) || !errors.As(err, &he) || he.Status != st || len(he.Body) != 512 || !strings.Contains(err.Error(), "/file/abc/extend") {
			t.Errorf("status %d: %v", st, err)
		}
	}
	if _, err := reply(302, "").Info(ctx, "abc"); err == nil {
		t.Error("302 accepted")
	}
	failing, _ := fileserver.New(fileserver.Config{Transport: fakeTransport(func(onion.Server, *onion.ServerRequest) (*onion.Response, error) {
		return nil, onion.ErrNoPath
	})})
	if _, err := failing.Info(ctx, "abc"); !errors.Is(err, onion.ErrNoPath) {
		t.Errorf("transport error: %v", err)
	}
	nilResp, _ := fileserver.New(fileserver.Config{Transport: fakeTransport(func(onion.Server, *onion.ServerRequest) (*onion.Response, error) {
		return nil, nil
	})})
	if _, err := nilResp.Info(ctx, "abc"); !errors.Is(err, fileserver.ErrMalformedReply) {
		t.Errorf("nil response: %v", err)
	}
	if _, err := reply(200, "{}").Info(ctx, "a/b"); !errors.Is(err, fileserver.ErrBadURL) {
		t.Errorf("bad id: %v", err)
	}
	if _, err := reply(200, "{}").Extend(ctx, "", 0); !errors.Is(err, fileserver.ErrBadURL) {
		t.Errorf("empty id: %v", err)
	}
}

// The request on the wire: method, endpoint, headers and body as the file server expects.
func TestRequests(t *testing.T) {
	var got []*onion.ServerRequest
	c, _ := fileserver.New(fileserver.Config{Transport: fakeTransport(func(_ onion.Server, r *onion.ServerRequest) (*onion.Response, error) {
		got = append(got, r)
		return &onion.Response{Status: 200, Body: []byte(`{"id":"abc","expires":1700000000.5,"size":3,"uploaded":1699999999}`)}, nil
	})})
	ctx := context.Background()
	info, err := c.Upload(ctx, []byte("abc"), &fileserver.UploadOptions{TTL: 1500 * time.Millisecond, FileName: "a\"b\\c\n.txt"})
	if err != nil || info.Expires != time.Unix(1700000000, 5e8).UTC() {
		t.Fatalf("%+v %v", info, err)
	}
	r := got[0]
	if r.Method != "POST" || r.Endpoint != "/file" || string(r.Body) != "abc" ||
		r.Headers["Content-Type"] != "application/octet-stream" || r.Headers[fileserver.HeaderTTL] != "2" ||
		r.Headers["Content-Disposition"] != `attachment; filename="a_b_c_.txt"` {
		t.Fatalf("upload request %+v", r)
	}
	if _, err := c.Extend(ctx, "abc", 0); err != nil {
		t.Fatal(err)
	}
	if r := got[1]; r.Method != "POST" || r.Endpoint != "/file/abc/extend" || r.Body != nil || len(r.Headers) != 0 {
		t.Fatalf("extend request %+v", r)
	}
	if _, err := c.Info(ctx, "abc"); err != nil || got[2].Method != "GET" || got[2].Endpoint != "/file/abc/info" {
		t.Fatalf("info request %+v %v", got[2], err)
	}
}

// ContentID agrees with the vector (sogs.json fileserver_content_id) and with devnet's server.
func TestContentID(t *testing.T) {
	if got := fileserver.ContentID([]byte("hello")); got != "tKO2VVg1JPHwgZuvqK_7bDHJeSr4UJ_8i13ETlwAn0jB" {
		t.Fatalf("ContentID = %s", got)
	}
	for n := 0; n < 300; n += 17 {
		d := randomData(n)
		if a, b := fileserver.ContentID(d), filesd.ContentID(d); a != b || len(a) != 44 {
			t.Fatalf("n=%d: %s vs %s", n, a, b)
		}
	}
}

func TestParseFileURL(t *testing.T) {
	key := strings.Repeat("ab", 32)
	ok := map[string]fileserver.FileURL{
		"http://filev2.getsession.org/file/123":        {Server: "http://filev2.getsession.org", ID: "123"},
		"HTTPS://Files.Example:443/files/abc_-=":       {Server: "https://files.example", ID: "abc_-="},
		"http://127.0.0.1:8080/file/x#p=" + key + "&d": {Server: "http://127.0.0.1:8080", ID: "x", HasKey: true, Ed25519: [32]byte(bytes.Repeat([]byte{0xab}, 32)), Deterministic: true},
		"http://h/file/x#d=&sr=whatever":               {Server: "http://h", ID: "x", Deterministic: true},
		"http://[::1]:80/file/x":                       {Server: "http://[::1]", ID: "x"},
	}
	for s, want := range ok {
		got, err := fileserver.ParseFileURL(s)
		if err != nil || got != want {
			t.Errorf("%s: %+v %v", s, got, err)
		}
		if again, err := fileserver.ParseFileURL(got.String()); err != nil || again != got {
			t.Errorf("%s: round trip %s", s, got.String())
		}
	}
	for _, s := range []string{"", "ftp://h/file/x", "http:///file/x", "http://h/file/", "http://h/file/x/y", "http://h/other/x",
		"http://h/file/x?y=1", "http://u@h/file/x", "http://h/file/x#p=abc", "http://h/file/a%2Fb", "http://h:99999/file/x"} {
		if _, err := fileserver.ParseFileURL(s); !errors.Is(err, fileserver.ErrBadURL) {
			t.Errorf("%q accepted: %v", s, err)
		}
	}
	if n := (fileserver.FileURL{ID: "1234"}).NumericID(); n != 1234 {
		t.Fatal(n)
	}
	if n := (fileserver.FileURL{ID: "tKO2"}).NumericID(); n != 0 {
		t.Fatal(n)
	}
}

func TestStageStrings(t *testing.T) {
	for st, want := range map[fileserver.Stage]string{fileserver.StageReading: "reading", fileserver.StageSending: "sending",
		fileserver.StageWriting: "writing", fileserver.StageDone: "done", 9: "Stage(9)"} {
		if st.String() != want {
			t.Errorf("%d: %s", st, st)
		}
	}
}

func FuzzParseFileURL(f *testing.F) {
	f.Add("http://filev2.getsession.org/file/123#p=" + fileserver.DefaultEd25519 + "&d")
	f.Add("https://h:1/files/x")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := fileserver.ParseFileURL(s)
		if err != nil {
			return
		}
		again, err := fileserver.ParseFileURL(u.String())
		if err != nil || again != u {
			t.Fatalf("%q → %q → %+v %v", s, u.String(), again, err)
		}
	})
}

func FuzzReplies(f *testing.F) {
	f.Add(200, []byte(`{"id":"abc","expires":1.5}`))
	f.Add(200, []byte(`{"size":1,"uploaded":2,"expires":3}`))
	f.Add(404, []byte(`{"status_code":404}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		c, _ := fileserver.New(fileserver.Config{Transport: fakeTransport(func(onion.Server, *onion.ServerRequest) (*onion.Response, error) {
			return &onion.Response{Status: status, Body: body}, nil
		})})
		ctx := context.Background()
		if info, err := c.Upload(ctx, []byte("x"), nil); err == nil {
			if _, err := fileserver.ParseFileURL(c.URL(info.ID, true)); err != nil {
				t.Fatalf("id %q gives a bad URL: %v", info.ID, err)
			}
		}
		_, _ = c.Info(ctx, "abc")
		_, _ = c.Extend(ctx, "abc", time.Second)
		var out bytes.Buffer
		if n, err := c.Download(ctx, "abc", &out, nil); err != nil && out.Len() != 0 || err == nil && n != int64(len(body)) {
			t.Fatalf("download: %d, %v, %d written", n, err, out.Len())
		}
		sum := sha256.Sum256(body)
		p := attachment.Pointer{Key: attachment.DeterministicKey([32]byte{}), Digest: sum[:]}
		out.Reset()
		if _, err := c.DownloadAttachment(ctx, "abc", p, &out, nil); err != nil && out.Len() != 0 {
			t.Fatal("failed attachment download wrote bytes")
		}
	})
}

// A profile picture: encrypted with the profile key, uploaded, fetched by URL and decrypted.
func TestOnionProfilePicture(t *testing.T) {
	s := newOnion(t)
	ctx := ctxT(t)
	pic := randomData(40_000)
	profileKey := [32]byte{0x42}
	blob, err := attachment.EncryptProfilePicture(profileKey, pic, nil)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.client.Upload(ctx, blob, &fileserver.UploadOptions{FileName: "avatar"})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := s.client.Download(ctx, s.client.URL(info.ID, false), &got, nil); err != nil {
		t.Fatal(err)
	}
	plain, err := attachment.DecryptProfilePicture(profileKey, got.Bytes())
	if err != nil || !bytes.Equal(plain, pic) {
		t.Fatalf("profile picture: %v", err)
	}
}

// The file server's errors are the SDK's one status error: Retry-After is read (seconds or a
// date), the message keeps the body's text, and only this package's sentinels match.
func TestStatusErrorOfFileServer(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	var resp *onion.Response
	c, err := fileserver.New(fileserver.Config{Now: func() time.Time { return now },
		Transport: fakeTransport(func(onion.Server, *onion.ServerRequest) (*onion.Response, error) { return resp, nil })})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp = &onion.Response{Status: 429, Headers: map[string]string{"retry-after": "30"}, Body: []byte("slow down")}
	_, err = c.Upload(ctx, []byte("x"), nil)
	var he *fileserver.HTTPError
	if !errors.Is(err, fileserver.ErrRateLimited) || !errors.As(err, &he) || he.RetryAfter != 30*time.Second ||
		!strings.Contains(err.Error(), `"slow down"`) || !strings.Contains(err.Error(), "retry after 30s") {
		t.Fatalf("429: %v", err)
	}
	resp = &onion.Response{Status: 429, Headers: map[string]string{"Retry-After": now.Add(time.Minute).UTC().Format(http.TimeFormat)}}
	if _, err := c.Info(ctx, "abc"); !errors.As(err, &he) || he.RetryAfter != time.Minute {
		t.Fatalf("429 with a date: %v", err)
	}
	resp = &onion.Response{Status: 404, Headers: map[string]string{"content-type": "application/json"}, Body: []byte(`{"status_code":404}`)}
	_, err = c.Info(ctx, "abc")
	if !errors.Is(err, fileserver.ErrNotFound) || errors.Is(err, community.ErrNotFound) || !errors.Is(err, &fileserver.HTTPError{Status: 404}) ||
		err.Error() != `fileserver: GET /file/abc/info: 404 Not Found: "{\"status_code\":404}"` || he.Domain != "fileserver" {
		t.Fatalf("404: %v", err)
	}
}
