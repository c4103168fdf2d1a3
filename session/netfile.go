package session

import (
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/onion"
)

// EnvNetwork is the environment variable that NetworkConfigFromEnv and NetworkFileFromEnv read:
// the path of a network file. `sessionctl devnet` writes one and prints the line to export, so
// that connecting a program to a running devnet is one line:
//
//	cfg, err := session.NetworkConfigFromEnv() // mainnet when SESSIONGO_NETWORK is unset
//	client, err := session.NewClient(session.WithNetworkConfig(cfg))
const EnvNetwork = "SESSIONGO_NETWORK"

// ErrNetworkFile reports a network file that cannot be read or does not describe a network.
var ErrNetworkFile = errors.New("session: invalid network file")

// NetworkFile is a network described in a JSON file, as `sessionctl devnet` writes it: its seeds,
// the CA that signs their certificates, its file server and community rooms. Config turns it
// into a NetworkConfig.
type NetworkFile struct {
	// Seeds are the seed URLs ("https://127.0.0.1:port"; a trailing "/json_rpc" is accepted).
	Seeds []string `json:"seeds"`
	// CACertPEM is the PEM certificate of the CA to trust for the seeds (and, in direct mode,
	// for the servers); empty: the system roots.
	CACertPEM string `json:"ca_cert_pem,omitempty"`
	// PathDiversity is "subnets" (the default, for the real network), "ips" or "nodes" (a
	// devnet, whose nodes all share 127.0.0.1).
	PathDiversity string `json:"path_diversity,omitempty"`
	// Direct talks to nodes and servers without onion paths.
	Direct bool `json:"direct,omitempty"`
	// FileServer is the network's file server (nil: Session's).
	FileServer *FileServerInfo `json:"file_server,omitempty"`
	// Communities are join URLs of community rooms on the network.
	Communities []string `json:"communities,omitempty"`
}

// FileServerInfo locates a file server: its base URL and keys (64 hex digits each). The
// Ed25519 key is optional: it goes into the file URLs of attachments so that other clients can
// find the server.
type FileServerInfo struct {
	URL     string `json:"url"`
	X25519  string `json:"pubkey_x25519"`
	Ed25519 string `json:"pubkey_ed25519,omitempty"`
}

// LoadNetworkFile reads a network file.
func LoadNetworkFile(path string) (*NetworkFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNetworkFile, err)
	}
	var f NetworkFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNetworkFile, path, err)
	}
	if _, err := f.Config(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

// NetworkFileFromEnv reads the network file named by $SESSIONGO_NETWORK; it returns nil and no
// error when the variable is unset or empty.
func NetworkFileFromEnv() (*NetworkFile, error) {
	path := os.Getenv(EnvNetwork)
	if path == "" {
		return nil, nil
	}
	f, err := LoadNetworkFile(path)
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", EnvNetwork, err)
	}
	return f, nil
}

// LoadNetworkConfig reads a network file and returns its NetworkConfig.
func LoadNetworkConfig(path string) (NetworkConfig, error) {
	f, err := LoadNetworkFile(path)
	if err != nil {
		return NetworkConfig{}, err
	}
	return f.Config()
}

// NetworkConfigFromEnv returns the NetworkConfig of the network file named by
// $SESSIONGO_NETWORK, or the zero NetworkConfig (mainnet) when the variable is unset or empty.
func NetworkConfigFromEnv() (NetworkConfig, error) {
	f, err := NetworkFileFromEnv()
	if err != nil || f == nil {
		return NetworkConfig{}, err
	}
	return f.Config()
}

// NormalizeSeedURL returns a seed URL as NetworkConfig.Seeds wants it: without the
// "/json_rpc" path (which the pool appends) or a trailing slash.
func NormalizeSeedURL(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, "/")
	s = strings.TrimSuffix(s, "/json_rpc")
	return strings.TrimSuffix(s, "/")
}

// Config returns the NetworkConfig the file describes.
func (f *NetworkFile) Config() (NetworkConfig, error) {
	var cfg NetworkConfig
	if len(f.Seeds) == 0 {
		return cfg, fmt.Errorf("%w: no seeds", ErrNetworkFile)
	}
	for _, s := range f.Seeds {
		s = NormalizeSeedURL(s)
		if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
			return cfg, fmt.Errorf("%w: seed %q is not an http(s) URL", ErrNetworkFile, s)
		}
		cfg.Seeds = append(cfg.Seeds, s)
	}
	if f.CACertPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(f.CACertPEM)) {
			return cfg, fmt.Errorf("%w: ca_cert_pem holds no PEM certificate", ErrNetworkFile)
		}
		cfg.SeedRootCAs = pool
	}
	switch f.PathDiversity {
	case "", "subnets":
		cfg.PathDiversity = onion.DistinctSubnets
	case "ips":
		cfg.PathDiversity = onion.DistinctIPs
	case "nodes":
		cfg.PathDiversity = onion.DistinctNodes
	default:
		return cfg, fmt.Errorf("%w: path_diversity %q (want subnets, ips or nodes)", ErrNetworkFile, f.PathDiversity)
	}
	cfg.Direct = f.Direct
	if fs := f.FileServer; fs != nil {
		x, err := hexKey(fs.X25519)
		if err != nil {
			return cfg, fmt.Errorf("%w: file_server.pubkey_x25519: %w", ErrNetworkFile, err)
		}
		srv, err := onion.NewServer(fs.URL, x)
		if err != nil {
			return cfg, fmt.Errorf("%w: file_server.url: %w", ErrNetworkFile, err)
		}
		cfg.FileServer = srv
		if fs.Ed25519 != "" {
			ed, err := hexKey(fs.Ed25519)
			if err != nil {
				return cfg, fmt.Errorf("%w: file_server.pubkey_ed25519: %w", ErrNetworkFile, err)
			}
			if got, err := crypto.Ed25519PublicToX25519(ed); err != nil || got != x {
				return cfg, fmt.Errorf("%w: file_server.pubkey_ed25519 is not the Ed25519 form of pubkey_x25519", ErrNetworkFile)
			}
			cfg.FileServerEd25519 = ed
		} else if ed, err := crypto.XEd25519PublicKey(x); err == nil {
			// The Ed25519 key that converts back to the X25519 key, so that file URLs carry one.
			cfg.FileServerEd25519 = ed
		}
	}
	return cfg, nil
}

func hexKey(s string) ([32]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return [32]byte{}, errors.New("want 64 hex digits")
	}
	return [32]byte(b), nil
}
