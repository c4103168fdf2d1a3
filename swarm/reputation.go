package swarm

import (
	"sync"
	"time"
)

// Offense is something a node did that shows it is lying or broken. The pool counts offenses
// against the node (Pool.Report); a node whose score reaches the ban level is left out of the
// pool's answers (Nodes, RandomNodes, Swarm), so it is chosen neither for onion paths nor as the
// swarm member a request goes to, for BanTime.
type Offense uint8

const (
	// OffenseNotFound: an onion hop answered 502 "Next node not found" for this node. Twice
	// within two minutes bans it (a node that is gone, or that the network does not know).
	OffenseNotFound Offense = iota + 1
	// OffenseBadMessage: a retrieved message whose hash does not match its data, whose expiry
	// is beyond the protocol's maximum TTL, or whose data is over the size limit. Nodes cannot
	// do this by mistake: it bans at once.
	OffenseBadMessage
	// OffenseBadSignature: a member's signature over its part of a recursive reply (a store
	// result) does not verify. Bans at once.
	OffenseBadSignature
	// OffenseBadReply: a 200 reply that does not parse, or that contradicts the request (a
	// store result naming another hash). Twice within two minutes bans.
	OffenseBadReply
	// OffenseClock: a "t" that the other nodes do not agree with, or messages that are
	// expired or stamped in the future by more than the clock tolerance.
	OffenseClock
)

func (o Offense) String() string {
	switch o {
	case OffenseNotFound:
		return "not found by a hop"
	case OffenseBadMessage:
		return "impossible message"
	case OffenseBadSignature:
		return "bad signature"
	case OffenseBadReply:
		return "bad reply"
	case OffenseClock:
		return "clock disagreement"
	}
	return "offense"
}

// weight is what one offense adds to a node's score; banScore bans.
func (o Offense) weight() float64 {
	switch o {
	case OffenseBadMessage, OffenseBadSignature:
		return banScore
	case OffenseNotFound, OffenseBadReply:
		return banScore * 0.6 // two within two minutes reach banScore despite the decay
	case OffenseClock:
		return banScore / 5
	}
	return 0
}

const (
	banScore = 10.0
	// scoreDecay is how fast a score is forgiven: one point a minute, so occasional
	// disagreements never add up to a ban, and a "not found" is forgotten after six minutes.
	scoreDecay = 1.0 / float64(time.Minute)
	// BanTime is how long a node whose offenses reached the ban level is left out of the
	// pool's answers. After it the node starts again from a clean score.
	BanTime = time.Hour
	// maxReputations bounds the nodes with a live score or ban.
	maxReputations = 4096
)

type repState struct {
	score  float64
	at     time.Time // when score was last updated
	banned time.Time // ban end (zero: not banned)
}

// reputation holds the scores of the nodes that offended recently. The zero value is ready.
type reputation struct {
	mu    sync.Mutex
	nodes map[[32]byte]*repState
	now   func() time.Time // nil: time.Now
}

func (r *reputation) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// report adds an offense and reports whether the node is now banned (newly or still).
func (r *reputation) report(key [32]byte, o Offense) (banned, newly bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock()
	if r.nodes == nil {
		r.nodes = map[[32]byte]*repState{}
	}
	s := r.nodes[key]
	if s == nil {
		if len(r.nodes) >= maxReputations {
			r.pruneLocked(now)
		}
		if len(r.nodes) >= maxReputations {
			return false, false // under a flood of keys: forget nothing already banned
		}
		s = &repState{at: now}
		r.nodes[key] = s
	}
	if !s.banned.IsZero() && now.After(s.banned) {
		*s = repState{at: now}
	}
	if !s.banned.IsZero() {
		return true, false
	}
	s.score = max(0, s.score-float64(now.Sub(s.at))*scoreDecay) + o.weight()
	s.at = now
	if s.score >= banScore {
		s.banned = now.Add(BanTime)
		return true, true
	}
	return false, false
}

func (r *reputation) banned(key [32]byte) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.nodes[key]
	return s != nil && !s.banned.IsZero() && r.clock().Before(s.banned)
}

// anyBanned reports whether there is a live ban, for the fast path of filter.
func (r *reputation) anyBanned() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock()
	for _, s := range r.nodes {
		if !s.banned.IsZero() && now.Before(s.banned) {
			return true
		}
	}
	return false
}

func (r *reputation) pruneLocked(now time.Time) {
	for k, s := range r.nodes {
		switch {
		case !s.banned.IsZero() && now.After(s.banned):
			delete(r.nodes, k)
		case s.banned.IsZero() && s.score-float64(now.Sub(s.at))*scoreDecay <= 0:
			delete(r.nodes, k)
		}
	}
}

// filter returns the nodes that are not banned; when every node is banned it returns them all
// (a request to a node we distrust, whose replies are verified, beats no request).
func (r *reputation) filter(nodes []Node) []Node {
	if len(nodes) == 0 || !r.anyBanned() {
		return nodes
	}
	out := make([]Node, 0, len(nodes))
	for _, n := range nodes {
		if !r.banned(n.Ed25519) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nodes
	}
	return out
}

// Report counts an offense against node (see Offense). Once its offenses reach the ban level,
// the node is left out of Nodes, RandomNodes and Swarm for BanTime (unless every candidate is
// banned), which keeps it out of new onion paths and swarm choices. Transports and the Client
// report what they see; applications may report too.
func (p *Pool) Report(node Node, o Offense) {
	banned, newly := p.rep.report(node.Ed25519, o)
	if newly {
		p.log.Warn("swarm: node banned", "node", node, "offense", o.String(), "for", BanTime)
	} else if !banned {
		p.log.Debug("swarm: node offense", "node", node, "offense", o.String())
	}
}

// Banned reports whether node is currently banned for its offenses (see Report).
func (p *Pool) Banned(node Node) bool { return p.rep.banned(node.Ed25519) }
