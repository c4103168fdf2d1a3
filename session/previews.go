package session

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// Link previews: DataMessage.preview, a URL with the page's title and an image (an attachment).
// Official clients only preview https links that do not try to look like something else; the
// same rules apply here to what we send (a typed error) and to what we receive (a preview that
// breaks them is dropped from the message, which is still delivered).

// ErrInvalidPreview: a link preview that official clients would not show (the URL is not a plain
// https link, the title is too long, too many previews).
var ErrInvalidPreview = errors.New("session: invalid link preview")

// Limits of link previews.
const (
	// MaxPreviews is how many previews a message may carry (desktop sends one).
	MaxPreviews = 4
	// MaxPreviewURL and MaxPreviewTitle bound a preview's URL and title (bytes).
	MaxPreviewURL   = 4096
	MaxPreviewTitle = 1024
)

// WithLinkPreview attaches a preview of a link of the message's text (1:1, group and
// community messages). Its Image, if any, is uploaded like an attachment (to the file server,
// or to the room for communities).
func WithLinkPreview(p LinkPreview) SendOption {
	return func(o *sendOpts) { o.previews = append(o.previews, p) }
}

// uriChars are the characters a URL's path, query and fragment may hold (RFC 3986: reserved,
// unreserved and '%'); anything else (spaces, Unicode look-alikes) makes a link suspicious.
const uriChars = "%:/?#[]@!$&'()*+,;=-._~"

func uriChar(r rune) bool {
	return r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(uriChars, r))
}

// CheckPreviewURL reports why official clients would refuse to preview raw: it must be an https
// URL of at most MaxPreviewURL bytes without user info, whose host name has at least two
// non-empty labels, no percent-encoding and does not mix ASCII with other scripts (punycode
// "xn--" labels count as other scripts), and whose path, query and fragment hold only URI
// characters.
func CheckPreviewURL(raw string) error {
	bad := func(why string) error { return fmt.Errorf("%w: %q: %s", ErrInvalidPreview, truncateForError(raw), why) }
	if len(raw) > MaxPreviewURL {
		return bad("too long")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return bad("not a URL")
	}
	if !strings.EqualFold(u.Scheme, "https") {
		return bad("not https")
	}
	if u.User != nil {
		return bad("has user info")
	}
	host := u.Hostname()
	if host == "" || len(host) > 2048 || strings.Contains(host, "%") {
		return bad("bad host")
	}
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return bad("host has one label")
	}
	ascii, other := false, false
	for _, l := range labels {
		if l == "" {
			return bad("empty host label")
		}
		if len(l) >= 4 && strings.EqualFold(l[:4], "xn--") {
			// Punycode: another script written in ASCII (desktop decodes it before this check).
			other = true
			continue
		}
		for _, r := range l {
			if r < utf8.RuneSelf {
				ascii = true
			} else {
				other = true
			}
		}
	}
	if ascii && other {
		return bad("host mixes scripts")
	}
	// The part after the host, as written.
	rest := raw[len(u.Scheme)+3:]
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		for _, r := range rest[i:] {
			if !uriChar(r) {
				return bad("unusual characters after the host")
			}
		}
	}
	return nil
}

func truncateForError(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

func checkPreview(url, title string) error {
	if err := CheckPreviewURL(url); err != nil {
		return err
	}
	if len(title) > MaxPreviewTitle || !utf8.ValidString(title) {
		return fmt.Errorf("%w: title of %d bytes", ErrInvalidPreview, len(title))
	}
	return nil
}

// uploadPreviews checks the previews to send and uploads their images, with upload (nil: to
// the file server, encrypted).
func (c *Client) uploadPreviews(ctx context.Context, ps []LinkPreview, upload func(context.Context, AttachmentFile) (*pb.AttachmentPointer, error)) ([]*pb.DataMessage_Preview, error) {
	if len(ps) == 0 {
		return nil, nil
	}
	if len(ps) > MaxPreviews {
		return nil, fmt.Errorf("%w: %d previews (at most %d)", ErrInvalidPreview, len(ps), MaxPreviews)
	}
	if upload == nil {
		upload = func(ctx context.Context, f AttachmentFile) (*pb.AttachmentPointer, error) {
			ptrs, err := c.uploadAttachments(ctx, []AttachmentFile{f})
			if err != nil {
				return nil, err
			}
			return ptrs[0], nil
		}
	}
	out := make([]*pb.DataMessage_Preview, 0, len(ps))
	for _, p := range ps {
		if err := checkPreview(p.URL, p.Title); err != nil {
			return nil, err
		}
		pp := &pb.DataMessage_Preview{Url: proto.String(p.URL)}
		if p.Title != "" {
			pp.Title = proto.String(p.Title)
		}
		if p.Image != nil {
			img, err := upload(ctx, *p.Image)
			if err != nil {
				return nil, fmt.Errorf("session: preview image: %w", err)
			}
			pp.Image = img
		}
		out = append(out, pp)
	}
	return out, nil
}

// previewsFromPB keeps the received previews that official clients would show, with their
// images made downloadable by image.
func previewsFromPB(ps []*pb.DataMessage_Preview, image func(*pb.AttachmentPointer) *Attachment) []LinkPreview {
	var out []LinkPreview
	for _, p := range ps {
		if len(out) == MaxPreviews {
			break
		}
		if p == nil || checkPreview(p.GetUrl(), p.GetTitle()) != nil {
			continue
		}
		lp := LinkPreview{URL: p.GetUrl(), Title: p.GetTitle()}
		if p.Image != nil && image != nil {
			lp.ReceivedImage = image(p.Image)
		}
		out = append(out, lp)
	}
	return out
}
