package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/sessiongo/sdk/onion"
)

// ErrOutsideNetwork: a request would leave an isolated network (see [NetworkConfig.Isolated]):
// for example an attachment URL, a profile picture or a community room on a host that is not
// part of the devnet the client is configured for. Nothing was resolved or contacted.
var ErrOutsideNetwork = errors.New("session: outside the configured network")

// isolatedConfig reports whether cfg keeps every connection inside its network: when asked to,
// or when every seed is a loopback address (a devnet).
func isolatedConfig(cfg NetworkConfig) bool {
	if cfg.Isolated {
		return true
	}
	if len(cfg.Seeds) == 0 {
		return false
	}
	for _, s := range cfg.Seeds {
		u, err := url.Parse(s)
		if err != nil || !loopbackHost(u.Hostname()) {
			return false
		}
	}
	return true
}

// loopbackHost reports whether host is a loopback address or "localhost".
func loopbackHost(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// isolation refuses server requests to hosts outside an isolated network before they are
// resolved or sent: only loopback addresses and the hosts the configuration names (the seeds,
// the file server) are inside.
type isolation struct {
	t     onion.ServerTransport
	hosts map[string]bool // lowercase host names of the configuration
}

func newIsolation(cfg NetworkConfig, t onion.ServerTransport) *isolation {
	iso := &isolation{t: t, hosts: map[string]bool{}}
	for _, s := range cfg.Seeds {
		if u, err := url.Parse(s); err == nil {
			iso.hosts[strings.ToLower(u.Hostname())] = true
		}
	}
	if h := cfg.FileServer.URL.Host; h != "" {
		iso.hosts[strings.ToLower(h)] = true
	}
	return iso
}

func (iso *isolation) inside(host string) bool {
	return loopbackHost(host) || iso.hosts[strings.TrimSuffix(strings.ToLower(host), ".")]
}

func (iso *isolation) Do(ctx context.Context, server onion.Server, req *onion.ServerRequest) (*onion.Response, error) {
	if !iso.inside(server.URL.Host) {
		return nil, fmt.Errorf("%w: %s is not part of it (the client is configured for an isolated network such as a devnet, "+
			"which only reaches its own seeds, file server and loopback addresses; set NetworkConfig.FileServer to the network's file server)",
			ErrOutsideNetwork, server.URL.String())
	}
	return iso.t.Do(ctx, server, req)
}
