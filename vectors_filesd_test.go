package sdk_test

import (
	"testing"

	"github.com/sessiongo/sdk/devnet/filesd"
)

// Vector handlers for the devnet file server (issue 5): the content-addressed file ID of
// sogs.json.

func init() {
	registerVectors("fileserver_content_id", vFileserverContentID)
}

// vFileserverContentID checks the fileserver_content_id cases.
func vFileserverContentID(t *testing.T, c vcase) {
	if got, want := filesd.ContentID(c.hex("data")), c.str("id"); got != want {
		t.Fatalf("ContentID = %s, want %s", got, want)
	}
}
