package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // image.DecodeConfig learns the sizes of GIF, JPEG and PNG attachments
	_ "image/jpeg"
	_ "image/png"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"sync"

	"github.com/sessiongo/sdk/fileserver"
	"github.com/sessiongo/sdk/session"
)

func init() {
	commands["attach"] = command{summary: "send files (to an account, a group or a community room), with upload progress", run: runAttach}
}

func runAttach(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("attach", "FILE...", "Uploads files and sends them in one message to -to (an Account ID or name), -group (a\n"+
		"group's 03 ID) or -community (a room's join URL). Progress goes to standard error (JSON lines\n"+
		"with -json).", stderr)
	af := addAccountFlags(fs)
	nf := addNetFlags(fs)
	to := fs.String("to", "", "recipient: an Account ID (05...) or a Session name")
	group := fs.String("group", "", "a group's ID (03...)")
	room := fs.String("community", "", "a community room's join URL (need not be joined)")
	msg := fs.String("text", "", "a text to send with the files")
	contentType := fs.String("type", "", "the files' MIME type (default: from each file's name and content)")
	quiet := fs.Bool("quiet", false, "no progress reports")
	asJSON := addJSONFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	targets := 0
	for _, t := range []string{*to, *group, *room} {
		if t != "" {
			targets++
		}
	}
	if targets != 1 {
		return usageError{errors.New("want exactly one of -to, -group and -community")}
	}
	if fs.NArg() == 0 {
		return usageError{errors.New("want at least one file")}
	}
	text, err := checkText(*msg, false)
	if err != nil {
		return err
	}
	prog := &progress{w: stderr, json: *asJSON, quiet: *quiet}
	var files []session.AttachmentFile
	for _, path := range fs.Args() {
		f, err := openAttachment(path, *contentType, prog)
		if err != nil {
			return err
		}
		defer f.Data.(*countingReader).f.Close()
		files = append(files, f)
	}
	client, closeAll, err := openClient(ctx, af, nf)
	if err != nil {
		return err
	}
	defer closeAll()

	var res sentJSON
	switch {
	case *to != "":
		recipient, err := resolveRecipient(ctx, client.Network(), "-to", *to)
		if err != nil {
			return err
		}
		r, err := client.SendAttachments(ctx, recipient, text, files)
		if err != nil {
			return err
		}
		res = sentResult(recipient.String(), r)
	case *group != "":
		gid, err := parseAccountArg("-group", *group)
		if err != nil {
			return err
		}
		r, err := client.SendGroupAttachments(ctx, gid, text, files)
		if err != nil {
			return err
		}
		res = sentResult(gid.String(), r)
	default:
		m, err := client.SendCommunityAttachments(ctx, *room, text, files)
		if err != nil {
			return err
		}
		res = sentJSON{To: *room, ID: m.ID, Timestamp: timeJSON(m.Posted), TimestampMs: m.Posted.UnixMilli()}
	}
	for i := range files {
		prog.report(files[i].FileName, "sent", -1, -1)
	}
	return emit(stdout, *asJSON, res, func(w io.Writer) {
		if res.ID != 0 {
			fmt.Fprintf(w, "sent %d file(s) to %s (message #%d)\n", len(files), res.To, res.ID)
			return
		}
		fmt.Fprintf(w, "sent %d file(s) to %s (hash %s, stored by %d nodes)\n", len(files), res.To, res.Hash, res.Stored)
	})
}

// openAttachment opens a file to send, guessing its type and (for images) its size.
func openAttachment(path, contentType string, prog *progress) (session.AttachmentFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return session.AttachmentFile{}, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return session.AttachmentFile{}, usageError{fmt.Errorf("%s: not a regular file", path)}
	}
	name := filepath.Base(path)
	af := session.AttachmentFile{FileName: name, ContentType: contentType}
	var head [512]byte
	n, _ := io.ReadFull(f, head[:])
	if af.ContentType == "" {
		af.ContentType = mime.TypeByExtension(filepath.Ext(name))
	}
	if af.ContentType == "" {
		af.ContentType = http.DetectContentType(head[:n])
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return af, err
	}
	if cfg, _, err := image.DecodeConfig(f); err == nil && cfg.Width > 0 && cfg.Height > 0 {
		af.Width, af.Height = uint32(cfg.Width), uint32(cfg.Height)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return af, err
	}
	af.Data = &countingReader{f: f, name: name, total: st.Size(), prog: prog}
	af.Progress = func(p fileserver.Progress) {
		if p.Stage == fileserver.StageSending {
			prog.report(name, "uploading", -1, p.Total)
		}
	}
	return af, nil
}

// countingReader reports how much of a file was read (and encrypted) for the upload.
type countingReader struct {
	f        *os.File
	name     string
	done     int64
	total    int64
	lastTens int64
	prog     *progress
	eof      bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.f.Read(p)
	c.done += int64(n)
	if c.total > 0 {
		if tens := c.done * 10 / c.total; tens > c.lastTens && tens < 10 {
			c.lastTens = tens
			c.prog.report(c.name, "reading", c.done, c.total)
		}
	}
	if err == io.EOF && !c.eof {
		c.eof = true
		c.prog.report(c.name, "read", c.done, c.total)
	}
	return n, err
}

// progress prints upload progress on standard error.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	json  bool
	quiet bool
}

func (p *progress) report(file, stage string, done, total int64) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.json {
		type prog struct {
			File  string `json:"file"`
			Stage string `json:"stage"`
			Done  int64  `json:"done,omitempty"`
			Total int64  `json:"total,omitempty"`
		}
		_ = json.NewEncoder(p.w).Encode(struct {
			Progress prog `json:"progress"`
		}{prog{file, stage, max(done, 0), max(total, 0)}})
		return
	}
	switch {
	case stage == "reading" && total > 0:
		fmt.Fprintf(p.w, "%s: %d%% (%d of %d bytes)\n", file, done*100/total, done, total)
	case stage == "read":
		fmt.Fprintf(p.w, "%s: read %d bytes\n", file, done)
	case stage == "uploading" && total > 0:
		fmt.Fprintf(p.w, "%s: uploading %d bytes\n", file, total)
	default:
		fmt.Fprintf(p.w, "%s: %s\n", file, stage)
	}
}
