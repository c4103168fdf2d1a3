package session_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/filesd"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
)

func writeNetworkFile(t *testing.T, f session.NetworkFile) string {
	t.Helper()
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "net.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A network file names everything a client needs: with $SESSIONGO_NETWORK set, one call gives
// a config that exchanges messages and attachments on the devnet.
func TestNetworkConfigFromEnv(t *testing.T) {
	t.Setenv(session.EnvNetwork, "")
	if cfg, err := session.NetworkConfigFromEnv(); err != nil || len(cfg.Seeds) != 0 || cfg.SeedRootCAs != nil {
		t.Fatalf("unset: %+v %v", cfg, err)
	}
	dn := devnettest.Start(t)
	fs, err := filesd.Start(context.Background(), filesd.WithNetwork(dn))
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	x := fs.PublicKey()
	path := writeNetworkFile(t, session.NetworkFile{
		Seeds:         []string{dn.SeedURL() + "/json_rpc"}, // as a seed's RPC URL is often written
		CACertPEM:     string(dn.CACertPEM()),
		PathDiversity: "nodes",
		FileServer:    &session.FileServerInfo{URL: fs.URL(), X25519: hex.EncodeToString(x[:])},
	})
	t.Setenv(session.EnvNetwork, path)
	cfg, err := session.NetworkConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Seeds[0] != dn.SeedURL() || cfg.PathDiversity != onion.DistinctNodes || cfg.FileServer != fs.OnionServer() {
		t.Fatalf("config %+v", cfg)
	}
	if got, err := crypto.Ed25519PublicToX25519(cfg.FileServerEd25519); err != nil || got != x {
		t.Fatalf("file server Ed25519 key does not convert to its X25519 key: %v", err)
	}
	ctx := context.Background()
	alice, _ := session.NewTestClient(t, session.WithNetworkConfig(cfg))
	bob, br := session.NewTestClient(t, session.WithNetworkConfig(cfg))
	data := bytes.Repeat([]byte("x"), 5000)
	if _, err := alice.SendAttachments(ctx, bob.AccountID(), "file", []session.AttachmentFile{{Data: bytes.NewReader(data), FileName: "x.bin"}}); err != nil {
		t.Fatal(err)
	}
	m := session.WaitEvent[*session.Message](t, br, bob.PollOnce, nil)
	if len(m.Attachments) != 1 || !strings.HasPrefix(m.Attachments[0].URL, fs.URL()+"/file/") || !strings.Contains(m.Attachments[0].URL, "#p=") {
		t.Fatalf("attachment %+v", m.Attachments)
	}
	var got bytes.Buffer
	if _, err := m.Attachments[0].Download(ctx, &got); err != nil || !bytes.Equal(got.Bytes(), data) {
		t.Fatalf("download: %v", err)
	}
}

func TestNetworkFileRejectsBadFiles(t *testing.T) {
	dn := devnettest.Start(t)
	good := session.NetworkFile{Seeds: []string{dn.SeedURL()}, CACertPEM: string(dn.CACertPEM())}
	x := strings.Repeat("ab", 32)
	for name, mutate := range map[string]func(*session.NetworkFile){
		"no seeds":       func(f *session.NetworkFile) { f.Seeds = nil },
		"seed not a URL": func(f *session.NetworkFile) { f.Seeds = []string{"127.0.0.1:1"} },
		"CA not PEM":     func(f *session.NetworkFile) { f.CACertPEM = "not a certificate" },
		"diversity":      func(f *session.NetworkFile) { f.PathDiversity = "none" },
		"file server key": func(f *session.NetworkFile) {
			f.FileServer = &session.FileServerInfo{URL: "https://127.0.0.1:1", X25519: "abcd"}
		},
		"file server URL": func(f *session.NetworkFile) { f.FileServer = &session.FileServerInfo{URL: "ftp://x", X25519: x} },
		"Ed25519 mismatch": func(f *session.NetworkFile) {
			f.FileServer = &session.FileServerInfo{URL: "https://127.0.0.1:1", X25519: x, Ed25519: strings.Repeat("cd", 32)}
		},
	} {
		f := good
		mutate(&f)
		if _, err := session.LoadNetworkConfig(writeNetworkFile(t, f)); !errors.Is(err, session.ErrNetworkFile) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for name, content := range map[string]string{"not JSON": "{", "empty": "", "array": "[]"} {
		path := filepath.Join(t.TempDir(), "f.json")
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := session.LoadNetworkFile(path); !errors.Is(err, session.ErrNetworkFile) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := session.LoadNetworkFile(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, session.ErrNetworkFile) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	t.Setenv(session.EnvNetwork, filepath.Join(t.TempDir(), "missing.json"))
	if _, err := session.NetworkConfigFromEnv(); err == nil || !strings.Contains(err.Error(), session.EnvNetwork) {
		t.Errorf("missing file from the environment: %v", err)
	}
	if cfg, err := session.LoadNetworkConfig(writeNetworkFile(t, good)); err != nil || cfg.PathDiversity != onion.DistinctSubnets {
		t.Errorf("good file: %+v %v", cfg, err)
	}
}
