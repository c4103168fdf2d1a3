package httperr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

var (
	errA404    = NewSentinel("a", "a: not found", Status(404))
	errA5xx    = NewSentinel("a", "a: server", Range(500, 599, 503))
	errANonce  = NewSentinel("a", "a: nonce", func(e *StatusError) bool { return e.Status == 425 && e.BodyMentions("NONCE") })
	errB404    = NewSentinel("b", "b: not found", Status(404))
	errA401403 = NewSentinel("a", "a: forbidden", Status(401, 403))
)

func TestSentinelsMatchTheirDomain(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	e := New("a", "GET", "/x", 404, map[string]string{"Content-Type": "text/plain"}, []byte("gone"), now)
	wrapped := fmt.Errorf("context: %w", e)
	if !errors.Is(wrapped, errA404) || errors.Is(wrapped, errB404) || errors.Is(wrapped, errA5xx) {
		t.Fatal("404 of domain a")
	}
	if !errors.Is(wrapped, &StatusError{Status: 404}) || !errors.Is(wrapped, &StatusError{Domain: "a", Status: 404}) ||
		errors.Is(wrapped, &StatusError{Domain: "b", Status: 404}) || errors.Is(wrapped, &StatusError{Status: 403}) {
		t.Fatal("StatusError targets")
	}
	if e.ContentType != "text/plain" || string(e.Body) != "gone" || e.Error() != `a: GET /x: 404 Not Found: "gone"` {
		t.Fatalf("%+v %q", e, e)
	}
	for st, want := range map[int]bool{500: true, 502: true, 503: false, 599: true, 600: false, 499: false} {
		if got := errors.Is(New("a", "", "", st, nil, nil, now), errA5xx); got != want {
			t.Errorf("%d matches 5xx-but-503: %v", st, got)
		}
	}
	if !errors.Is(New("a", "", "", 425, nil, []byte("X-SOGS-Nonce cannot be reused"), now), errANonce) ||
		errors.Is(New("a", "", "", 425, nil, []byte("timestamp"), now), errANonce) {
		t.Fatal("body condition")
	}
	if !errors.Is(New("a", "", "", 401, nil, nil, now), errA401403) || !errors.Is(New("a", "", "", 403, nil, nil, now), errA401403) {
		t.Fatal("two statuses")
	}
	if Check("a", "GET", "/", 204, nil, nil, now) != nil || Check("a", "GET", "/", 302, nil, nil, now) == nil {
		t.Fatal("Check")
	}
	if got, ok := As(wrapped); !ok || got != e {
		t.Fatal("As")
	}
	big := New("a", "POST", "/", 500, nil, []byte(strings.Repeat("x", 2000)), now)
	if len(big.Body) != MaxBody || !strings.HasSuffix(big.Error(), `…"`) {
		t.Fatalf("long body: %d %q", len(big.Body), big.Error())
	}
	if e := New("a", "", "", 999, nil, nil, now); e.Error() != "a: 999" {
		t.Fatalf("bare: %q", e)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	for in, want := range map[string]time.Duration{
		"":        0,
		"7":       7 * time.Second,
		" 120 ":   2 * time.Minute,
		"0":       0,
		"-5":      0,
		"1e3":     0,
		"soon":    0,
		"9999999": 24 * time.Hour,
		now.Add(90 * time.Second).UTC().Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Hour).UTC().Format(http.TimeFormat):       0,
		now.Add(72 * time.Hour).UTC().Format(http.TimeFormat):   24 * time.Hour,
		"99999999999999999999999":                               0,
	} {
		if got := ParseRetryAfter(in, now); got != want {
			t.Errorf("%q: %v, want %v", in, got, want)
		}
	}
	// Without a clock (batch subresponses), dates cannot be read.
	if got := ParseRetryAfter(now.Add(time.Minute).UTC().Format(http.TimeFormat), time.Time{}); got != 0 {
		t.Fatal(got)
	}
	e := New("a", "GET", "/", 429, map[string]string{"retry-after": "3"}, []byte("Rate limited"), now)
	if e.RetryAfter != 3*time.Second || !strings.HasSuffix(e.Error(), `"Rate limited" (retry after 3s)`) {
		t.Fatalf("%q", e)
	}
}

func TestBodyText(t *testing.T) {
	flask := "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n<p>The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.</p>\n"
	for in, want := range map[string]string{
		"":                      "",
		"  Permission denied\n": "Permission denied",
		flask:                   "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.",
		"<p>You don&#39;t have <b>the</b> permission</p>": "You don't have the permission",
		"<unclosed":           "",
		"\xff\xfe":            "",
		`{"status_code":404}`: `{"status_code":404}`,
	} {
		if got := BodyText([]byte(in)); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if got := BodyText([]byte(strings.Repeat("é", 300))); len([]rune(got)) != 201 {
		t.Fatalf("%d runes", len([]rune(got)))
	}
	if Header(map[string]string{"Retry-After": "1"}, "retry-after") != "1" || Header(nil, "x") != "" {
		t.Fatal("Header")
	}
}
