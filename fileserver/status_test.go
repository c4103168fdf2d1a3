package fileserver_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessiongo/sdk/community"
	"github.com/sessiongo/sdk/fileserver"
	"github.com/sessiongo/sdk/onion"
)

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
