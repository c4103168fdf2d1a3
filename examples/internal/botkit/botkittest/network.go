package botkittest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/session"
)

// startNetwork starts an 8-node devnet for t, with a community server holding rooms if there are
// any, and writes its network file, naming the rooms; it returns the file and the rooms' join
// URLs.
func startNetwork(t *testing.T, rooms []sogsd.RoomConfig) (netFile string, urls []string) {
	t.Helper()
	dn := devnettest.Start(t, devnet.WithNodes(8))
	if len(rooms) > 0 {
		srv, err := sogsd.Start(Context(t), sogsd.WithNetwork(dn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		for _, r := range rooms {
			if err := srv.CreateRoom(r); err != nil {
				t.Fatal(err)
			}
			urls = append(urls, srv.JoinURL(r.Token))
		}
	}
	return NetworkFile(t, dn, urls), urls
}

// NetworkFile writes the network file of dn, naming the given community rooms, into a
// directory of t and returns its path.
func NetworkFile(t *testing.T, dn *devnet.Network, rooms []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "devnet.json")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	nf := session.NetworkFile{Seeds: []string{dn.SeedURL()}, CACertPEM: string(dn.CACertPEM()), PathDiversity: "nodes",
		Communities: rooms}
	if err := errors.Join(json.NewEncoder(f).Encode(nf), f.Close()); err != nil {
		t.Fatal(err)
	}
	return path
}
