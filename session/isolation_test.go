package session_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/fileserver"
	"github.com/sessiongo/sdk/onion"
	pb "github.com/sessiongo/sdk/proto/sessionpb"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/swarm"
)

// hostRecorder is a NetworkConfig.Proxy that records every host the client's HTTP transports
// were about to contact, and stops any that is not a loopback address (so that a failing test
// never reaches the internet).
type hostRecorder struct {
	mu    sync.Mutex
	hosts []string
}

func (h *hostRecorder) proxy(req *http.Request) (*url.URL, error) {
	h.mu.Lock()
	h.hosts = append(h.hosts, req.URL.Hostname())
	h.mu.Unlock()
	if ip := net.ParseIP(req.URL.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("test: %s is outside the devnet", req.URL.Host)
	}
	return nil, nil
}

func (h *hostRecorder) outside() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, host := range h.hosts {
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			out = append(out, host)
		}
	}
	return out
}

// Item 11: a client configured for a devnet never resolves or contacts anything outside it:
// attachment and profile-picture URLs naming other hosts (mainnet's file server or any other),
// the default (mainnet) file server and communities elsewhere are refused with
// ErrOutsideNetwork before any request.
func TestDevnetClientStaysInside(t *testing.T) {
	t.Parallel()
	dn := devnettest.Start(t)
	for _, direct := range []bool{false, true} {
		t.Run(fmt.Sprintf("direct=%v", direct), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			rec := &hostRecorder{}
			cfg := session.NetConfig(dn, direct)
			cfg.Proxy = rec.proxy // no FileServer: the default would be mainnet's
			alice, _ := session.NewTestClient(t, session.WithNetworkConfig(cfg))
			bob, br := session.NewTestClient(t, session.WithNetworkConfig(cfg))

			// A message whose attachments point outside the devnet.
			key := bytes.Repeat([]byte{7}, 64)
			outside := []string{
				fileserver.DefaultURL + "/file/12345",
				"https://files.example.org/file/abcd#p=" + fileserver.DefaultEd25519,
				"https://203.0.113.7:8443/file/abcd#p=" + fileserver.DefaultEd25519,
			}
			dm := &pb.DataMessage{Body: proto.String("files"), Profile: &pb.LokiProfile{DisplayName: proto.String("A"),
				ProfilePicture: proto.String("https://files.example.org/file/pic#p=" + fileserver.DefaultEd25519)}, ProfileKey: bytes.Repeat([]byte{1}, 32)}
			for _, u := range outside {
				dm.Attachments = append(dm.Attachments, &pb.AttachmentPointer{Id: proto.Uint64(1), Url: proto.String(u), Key: key,
					Digest: bytes.Repeat([]byte{9}, 32), Size: proto.Uint32(10)})
			}
			wire, err := session.EncodeMessage(alice.Keys(), bob.AccountID(), &pb.Content{DataMessage: dm}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := base64.StdEncoding.DecodeString(wire)
			if _, err := alice.Network().RPC().Store(ctx, swarm.Unsigned(bob.AccountID()), swarm.StoreRequest{Data: raw, TTL: time.Hour}); err != nil {
				t.Fatal(err)
			}
			m := session.WaitEvent[*session.Message](t, br, bob.PollOnce, nil)
			if len(m.Attachments) != len(outside) {
				t.Fatalf("message %+v", m)
			}
			for _, a := range m.Attachments {
				var got bytes.Buffer
				if _, err := a.Download(ctx, &got); !errors.Is(err, session.ErrOutsideNetwork) || got.Len() != 0 {
					t.Errorf("download of %s: %v", a.URL, err)
				}
			}
			if _, err := bob.Network().DownloadProfilePicture(ctx, m.Profile); !errors.Is(err, session.ErrOutsideNetwork) {
				t.Errorf("profile picture outside: %v", err)
			}
			// Sending a file with no file server configured would go to mainnet's.
			if _, err := alice.SendAttachments(ctx, bob.AccountID(), "", []session.AttachmentFile{{Data: strings.NewReader("x")}}); !errors.Is(err, session.ErrOutsideNetwork) {
				t.Errorf("upload to the default file server: %v", err)
			}
			if err := alice.SetProfilePicture(ctx, []byte("img")); !errors.Is(err, session.ErrOutsideNetwork) {
				t.Errorf("profile picture upload: %v", err)
			}
			// A community elsewhere.
			if _, err := alice.JoinCommunity(ctx, "https://open.getsession.org/session?public_key="+strings.Repeat("a0", 32)); !errors.Is(err, session.ErrOutsideNetwork) {
				t.Errorf("community outside: %v", err)
			}
			if hosts := rec.outside(); len(hosts) > 0 {
				t.Errorf("the client tried to contact %v", hosts)
			}
		})
	}
}

// Isolated set by hand isolates a network whose seeds are not loopback addresses: its own seed
// and file server hosts are inside, anything else is refused before any I/O.
func TestIsolatedByHand(t *testing.T) {
	fs, err := onion.NewServer("https://files.lan:8443", [32]byte{1})
	if err != nil {
		t.Fatal(err)
	}
	nw, err := session.NewNetwork(session.NetworkConfig{Seeds: []string{"https://seed.lan:4443"}, Isolated: true, FileServer: fs,
		Proxy: (&hostRecorder{}).proxy})
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()
	def, err := fileserver.New(fileserver.Config{Transport: nw.Servers()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := def.Upload(ctx, []byte("x"), nil); !errors.Is(err, session.ErrOutsideNetwork) {
		t.Fatalf("upload to the default server through an isolated network: %v", err)
	}
	// The configured file server is inside: the request is let through (and fails later, on
	// the way to a seed that does not exist).
	if _, err := nw.FileServer().Upload(ctx, []byte("x"), nil); err == nil || errors.Is(err, session.ErrOutsideNetwork) {
		t.Fatalf("upload to the configured file server: %v", err)
	}
}
