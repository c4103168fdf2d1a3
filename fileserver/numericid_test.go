package fileserver_test

import (
	"bytes"

	"strconv"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/devnet/filesd"
	"github.com/sessiongo/sdk/fileserver"
)

// Issue 12 item 6: other clients (Session.js, session-python) download an attachment by
// AttachmentPointer.id, which desktop sets from the file URL's numeric last path segment. The
// official file server issues numeric IDs by default, and so does devnet's.
func TestNumericIDOfUploads(t *testing.T) {
	ctx := ctxT(t)
	fs, c := newDirect(t, fileserver.Config{})
	up, err := c.UploadAttachment(ctx, bytes.NewReader([]byte("numbered")), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.ParseUint(up.ID, 10, 64)
	if err != nil || n == 0 || n >= 1<<53 {
		t.Fatalf("the default file server issued %q, not a numeric ID", up.ID)
	}
	if got := fileserver.NumericID(up.URL); got != n {
		t.Fatalf("NumericID(%s) = %d, want %d", up.URL, got, n)
	}
	var out bytes.Buffer
	if _, err := c.DownloadAttachment(ctx, strconv.FormatUint(n, 10), up.Pointer, &out, nil); err != nil || out.String() != "numbered" {
		t.Fatalf("download by numeric id: %q %v", out.String(), err)
	}
	if _, ok := fs.File(up.ID); !ok {
		t.Fatal("server lost the file")
	}

	// The newer mode: content IDs, which have no number.
	_, cc := newDirect(t, fileserver.Config{}, filesd.WithContentIDs())
	up, err = cc.UploadAttachment(ctx, bytes.NewReader([]byte("hashed")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(up.ID) != 44 || fileserver.NumericID(up.URL) != 0 {
		t.Fatalf("content ID %q: NumericID %d", up.ID, fileserver.NumericID(up.URL))
	}
}

func TestNumericID(t *testing.T) {
	for url, want := range map[string]uint64{
		"http://filev2.getsession.org/file/1234567":                          1234567,
		"http://127.0.0.1:9000/file/42#p=" + strings.Repeat("ab", 32) + "&d": 42,
		"http://127.0.0.1:9000/files/7":                                      7,
		"http://127.0.0.1:39080/room/lobby/file/39":                          39, // a community file
		"https://h/file/9007199254740991":                                    9007199254740991,
		"http://h/file/tKO2b1Cx4hA1eR8yRm0P0eAGbVp5aBhSJ7x0o7rUPYQ":          0,
		"http://h/file/18446744073709551616":                                 0, // too large
		"http://h/file/-1":                                                   0,
		"http://h/file/1e3":                                                  0,
		"http://h/file/":                                                     0,
		"http://h/file/12?x=1":                                               12,
		"not a url at all":                                                   0,
		"":                                                                   0,
	} {
		if got := fileserver.NumericID(url); got != want {
			t.Errorf("NumericID(%q) = %d, want %d", url, got, want)
		}
	}
}
