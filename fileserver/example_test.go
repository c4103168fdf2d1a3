package fileserver_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/sessiongo/sdk/devnet/filesd"
	"github.com/sessiongo/sdk/fileserver"
	"github.com/sessiongo/sdk/onion"
)

// Upload an attachment and download it again. The example talks to a devnet file server in
// direct mode; real clients pass an *onion.Transport and leave Server empty (the official
// file server).
func ExampleClient_UploadAttachment() {
	fs, err := filesd.Start(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	defer fs.Close()
	server, err := onion.NewServer(fs.URL(), fs.PublicKey())
	if err != nil {
		log.Fatal(err)
	}
	c, err := fileserver.New(fileserver.Config{Transport: &onion.DirectServerTransport{}, Server: server})
	if err != nil {
		log.Fatal(err)
	}

	ctx := context.Background()
	up, err := c.UploadAttachment(ctx, strings.NewReader("a picture"), nil)
	if err != nil {
		log.Fatal(err)
	}
	// up.URL and up.Pointer (key, digest, size) go in the AttachmentPointer.
	fmt.Println(up.Size, up.Pointer.Size, len(up.Pointer.Digest))

	var plain bytes.Buffer
	if _, err := c.DownloadAttachment(ctx, up.URL, up.Pointer, &plain, nil); err != nil {
		log.Fatal(err)
	}
	fmt.Println(plain.String())

	_, err = c.Download(ctx, "no-such-file", &plain, nil)
	fmt.Println(errors.Is(err, fileserver.ErrNotFound))
	// Output:
	// 592 9 32
	// a picture
	// true
}

// Progress reports arrive as the source is read and encrypted, when the request leaves, and
// when the server has answered.
func ExampleUploadOptions_progress() {
	fs, _ := filesd.Start(context.Background())
	defer fs.Close()
	server, _ := onion.NewServer(fs.URL(), fs.PublicKey())
	c, _ := fileserver.New(fileserver.Config{Transport: &onion.DirectServerTransport{}, Server: server})

	opts := &fileserver.UploadOptions{Progress: func(p fileserver.Progress) {
		fmt.Println(p.Stage, p.Done, p.Total)
	}}
	if _, err := c.UploadAttachment(context.Background(), strings.NewReader("0123456789"), opts); err != nil {
		log.Fatal(err)
	}
	// Output:
	// reading 10 10
	// sending 0 592
	// done 592 592
}

func ExampleParseFileURL() {
	u, err := fileserver.ParseFileURL("http://filev2.getsession.org/file/tKO2VVg1JPHwgZuvqK_7bDHJeSr4UJ_8i13ETlwAn0jB#d")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.Server, u.ID, u.Deterministic, u.HasKey)
	// Output: http://filev2.getsession.org tKO2VVg1JPHwgZuvqK_7bDHJeSr4UJ_8i13ETlwAn0jB true false
}
