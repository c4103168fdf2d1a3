package session

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strconv"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/attachment"
	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/fileserver"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
)

// ErrNoPicture: a profile has no picture to download.
var ErrNoPicture = errors.New("session: profile has no picture")

// AttachmentFile is a file to send with SendAttachments.
type AttachmentFile struct {
	// Data is read to the end and encrypted on the fly (at most the file server's limit).
	Data        io.Reader
	FileName    string
	ContentType string // e.g. "image/jpeg"
	// Width and Height are an image's or video's dimensions in pixels (0: unknown).
	Width, Height uint32
	// VoiceNote marks an audio file recorded as a voice message.
	VoiceNote bool
	Caption   string
	// Progress, when set, is called as the upload advances.
	Progress func(fileserver.Progress)
}

// Attachment is a file attached to a received message. Download fetches, verifies and decrypts
// it.
type Attachment struct {
	// URL is where the file is; ID the file id that the sender put in the pointer (the numeric
	// last segment of URL for current clients, 0 when the server's IDs are not numeric).
	URL           string
	ID            uint64
	ContentType   string
	FileName      string
	Caption       string
	Size          int64 // plaintext size (0: unknown)
	Width, Height uint32
	VoiceNote     bool

	pointer  *pb.AttachmentPointer
	download func(ctx context.Context, dst io.Writer) (int64, error)
}

// Pointer returns a copy of the AttachmentPointer the message carried (with the file's key and
// digest: keep it as secret as the file).
func (a *Attachment) Pointer() *pb.AttachmentPointer {
	if a.pointer == nil {
		return nil
	}
	return proto.Clone(a.pointer).(*pb.AttachmentPointer)
}

// Download fetches the attachment (from the file server, or for a community room file from the
// room), checks it and writes the plaintext to dst. On any failure nothing is written to dst.
func (a *Attachment) Download(ctx context.Context, dst io.Writer) (int64, error) {
	if a.download == nil {
		return 0, fmt.Errorf("session: attachment %q cannot be downloaded", a.URL)
	}
	return a.download(ctx, dst)
}

// attachmentFromPB copies a pointer's description (not how to fetch it).
func attachmentFromPB(p *pb.AttachmentPointer) *Attachment {
	return &Attachment{
		URL: p.GetUrl(), ID: p.GetId(), ContentType: p.GetContentType(), FileName: p.GetFileName(), Caption: p.GetCaption(),
		Size: int64(p.GetSize()), Width: p.GetWidth(), Height: p.GetHeight(),
		VoiceNote: p.GetFlags()&uint32(pb.AttachmentPointer_VOICE_MESSAGE) != 0,
		pointer:   p,
	}
}

// fileIDFromURL is what desktop writes into AttachmentPointer.id (its deprecated_id): the
// numeric last path segment of the file's URL, 0 when that is not a number (content IDs).
// Clients that download by id (Session.js, session-python) need it.
func fileIDFromURL(raw string) uint64 { return fileserver.NumericID(raw) }

// attachmentsFromPB turns encrypted attachment pointers into attachments downloaded from files.
// A pointer without a URL but with a file id (clients that download by id) is fetched by id from
// files' server. Pointers without a usable key, or with neither URL nor id, are left out rather
// than failing the message.
func attachmentsFromPB(ps []*pb.AttachmentPointer, files *fileserver.Client) []*Attachment {
	var out []*Attachment
	for _, p := range ps {
		key, err := attachment.ParseKey(p.GetKey())
		if err != nil {
			continue
		}
		a := attachmentFromPB(p)
		if a.URL == "" {
			if a.ID == 0 || files == nil {
				continue
			}
			a.URL = files.URL(strconv.FormatUint(a.ID, 10), false)
		}
		ptr := attachment.Pointer{Key: key, Digest: append([]byte(nil), p.GetDigest()...), Size: int64(p.GetSize())}
		a.download = func(ctx context.Context, dst io.Writer) (int64, error) {
			if files == nil {
				return 0, fmt.Errorf("session: attachment %q: no file server", a.URL)
			}
			return files.DownloadAttachment(ctx, a.URL, ptr, dst, nil)
		}
		out = append(out, a)
	}
	return out
}

// attachmentPointer describes an uploaded file for a message.
func attachmentPointer(f AttachmentFile, id uint64, url string, key, digest []byte, size int64) *pb.AttachmentPointer {
	p := &pb.AttachmentPointer{Id: proto.Uint64(id), Key: key, Digest: digest, Size: proto.Uint32(uint32(size)), Url: proto.String(url)}
	if f.ContentType != "" {
		p.ContentType = proto.String(f.ContentType)
	}
	if f.FileName != "" {
		p.FileName = proto.String(f.FileName)
	}
	if f.Caption != "" {
		p.Caption = proto.String(f.Caption)
	}
	if f.Width > 0 || f.Height > 0 {
		p.Width, p.Height = proto.Uint32(f.Width), proto.Uint32(f.Height)
	}
	if f.VoiceNote {
		p.Flags = proto.Uint32(uint32(pb.AttachmentPointer_VOICE_MESSAGE))
	}
	return p
}

// SendAttachments uploads files (encrypted) to the file server and sends them to `to` in one
// message with text (which may be empty).
func (c *Client) SendAttachments(ctx context.Context, to crypto.AccountID, text string, files []AttachmentFile, opts ...SendOption) (*SendResult, error) {
	if err := c.checkRecipient(to); err != nil {
		return nil, err
	}
	if err := checkText(text, false); err != nil {
		return nil, err
	}
	ptrs, err := c.uploadAttachments(ctx, files)
	if err != nil {
		return nil, err
	}
	return c.sendData(ctx, to, text, ptrs, opts)
}

// uploadAttachments encrypts and uploads files and returns their pointers.
func (c *Client) uploadAttachments(ctx context.Context, files []AttachmentFile) ([]*pb.AttachmentPointer, error) {
	if err := c.checkOpen(); err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errors.New("session: no attachment to send")
	}
	var ptrs []*pb.AttachmentPointer
	for i, f := range files {
		if f.Data == nil {
			return nil, fmt.Errorf("session: attachment %d has no data", i)
		}
		up, err := c.net.files.UploadAttachment(ctx, f.Data, &fileserver.UploadOptions{FileName: f.FileName, Progress: f.Progress})
		if err != nil {
			return nil, fmt.Errorf("session: uploading attachment %q: %w", f.FileName, err)
		}
		p := attachmentPointer(f, fileIDFromURL(up.URL), up.URL, up.Pointer.Key.Bytes(), up.Pointer.Digest, up.Pointer.Size)
		ptrs = append(ptrs, p)
	}
	return ptrs, nil
}

// SetProfilePicture encrypts image with a new profile key, uploads it to the file server and
// attaches the new picture (with our display name) to the visible messages we send from now on.
// The change is saved in the store with its time (see [Client.SetDisplayName]).
func (c *Client) SetProfilePicture(ctx context.Context, image []byte) error {
	if err := c.checkOpen(); err != nil {
		return err
	}
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return err
	}
	blob, err := attachment.EncryptProfilePicture(key, image, nil)
	if err != nil {
		return fmt.Errorf("session: encrypting profile picture: %w", err)
	}
	info, err := c.net.files.Upload(ctx, blob, nil)
	if err != nil {
		return fmt.Errorf("session: uploading profile picture: %w", err)
	}
	url := c.net.files.URL(info.ID, false)
	return c.changeProfile(ctx, func(p *Profile) {
		p.PictureURL = url
		p.PictureKey = key[:]
	})
}

// DownloadProfilePicture fetches and decrypts the picture of a profile received with a message.
func (n *Network) DownloadProfilePicture(ctx context.Context, p *Profile) ([]byte, error) {
	if p == nil || p.PictureURL == "" || len(p.PictureKey) != 32 {
		return nil, ErrNoPicture
	}
	var buf bytes.Buffer
	if _, err := n.files.Download(ctx, p.PictureURL, &buf, nil); err != nil {
		return nil, fmt.Errorf("session: downloading profile picture: %w", err)
	}
	return attachment.DecryptProfilePicture([32]byte(p.PictureKey), buf.Bytes())
}
