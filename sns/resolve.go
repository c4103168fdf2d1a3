package sns

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/swarm"
)

// NodeSource gives random storage nodes to ask; *swarm.Pool implements it.
type NodeSource interface {
	RandomNodes(ctx context.Context, n int, skip func(swarm.Node) bool) ([]swarm.Node, error)
}

// ResolverConfig configures a Resolver.
type ResolverConfig struct {
	// Transport carries the lookups (required); an onion transport hides who asks.
	Transport swarm.Transport
	// Nodes gives the nodes to ask (required), normally the client's *swarm.Pool.
	Nodes NodeSource
	// Quorum is how many distinct random nodes are asked; all must agree (default 3).
	Quorum int
	// AllowLegacy lets Resolve decrypt pre-HF16 records (no nonce), which costs 256 MiB and
	// about a second per lookup. Off by default, as in current Session clients.
	AllowLegacy bool
	// Timeout bounds each node's answer (default 15 s).
	Timeout time.Duration
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
}

// Resolver looks names up. It is safe for concurrent use.
type Resolver struct {
	cfg ResolverConfig
	log *slog.Logger
}

// NewResolver returns a Resolver. It does no I/O.
func NewResolver(cfg ResolverConfig) (*Resolver, error) {
	if cfg.Transport == nil || cfg.Nodes == nil {
		return nil, fmt.Errorf("sns: NewResolver needs a Transport and Nodes")
	}
	if cfg.Quorum <= 0 {
		cfg.Quorum = 3
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	r := &Resolver{cfg: cfg, log: cfg.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// DisagreementError says that the asked nodes did not all give the same answer. It matches
// ErrDisagreement.
type DisagreementError struct {
	Name    string
	Answers int // how many different answers came back (not found counts as one)
}

func (e *DisagreementError) Error() string {
	return fmt.Sprintf("sns: nodes disagree on %q (%d different answers)", e.Name, e.Answers)
}

// Is matches ErrDisagreement.
func (e *DisagreementError) Is(target error) bool { return target == ErrDisagreement }

// Record is one node's answer: the encrypted value and nonce, or nothing when the name is not
// registered (Found false).
type Record struct {
	Found      bool
	Ciphertext []byte
	Nonce      []byte // nil for a legacy record
}

// ParseResolveResponse reads a storage node's oxend_request → ons_resolve reply,
// {"result":{"encrypted_value":hex,"nonce":hex},"t":..}, or the bare oxend result.
func ParseResolveResponse(body []byte) (Record, error) {
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return Record{}, fmt.Errorf("%w: %w", ErrInvalidResponse, err)
	}
	inner := body
	if len(env.Result) > 0 && string(env.Result) != "null" {
		inner = env.Result
	}
	var j struct {
		Value *string `json:"encrypted_value"`
		Nonce *string `json:"nonce"`
	}
	if err := json.Unmarshal(inner, &j); err != nil {
		return Record{}, fmt.Errorf("%w: result: %w", ErrInvalidResponse, err)
	}
	if j.Value == nil || *j.Value == "" {
		return Record{}, nil
	}
	ct, err := hex.DecodeString(*j.Value)
	if err != nil || len(ct) > 4096 {
		return Record{}, fmt.Errorf("%w: encrypted_value", ErrInvalidResponse)
	}
	rec := Record{Found: true, Ciphertext: ct}
	// A missing, empty or all-zero nonce marks a legacy record (those were sealed with a zero
	// nonce); a real XChaCha20 nonce is random and never all zero in practice.
	if j.Nonce != nil && *j.Nonce != "" && strings.Trim(*j.Nonce, "0") != "" {
		n, err := hex.DecodeString(*j.Nonce)
		if err != nil {
			return Record{}, fmt.Errorf("%w: nonce", ErrInvalidResponse)
		}
		rec.Nonce = n
	}
	return rec, nil
}

func (a Record) equal(b Record) bool {
	return a.Found == b.Found && bytes.Equal(a.Ciphertext, b.Ciphertext) &&
		(a.Nonce == nil) == (b.Nonce == nil) && bytes.Equal(a.Nonce, b.Nonce)
}

// Resolve returns the Account ID that name is registered to. It asks Quorum distinct random
// nodes at once; every one must answer, and all answers must be the same. Errors:
// ErrInvalidName, ErrNotFound (all nodes say it is not registered), *DisagreementError,
// ErrDecrypt, ErrLegacyRecord, and transport errors (including ctx's).
func (r *Resolver) Resolve(ctx context.Context, name string) (crypto.AccountID, error) {
	n, err := NormalizeName(name)
	if err != nil {
		return crypto.AccountID{}, err
	}
	hash, _ := NameHash(n)
	body, err := json.Marshal(map[string]any{
		"method": "oxend_request",
		"params": map[string]any{
			"endpoint": "ons_resolve",
			"params":   map[string]any{"type": 0, "name_hash": base64.StdEncoding.EncodeToString(hash[:])},
		},
	})
	if err != nil {
		return crypto.AccountID{}, err
	}
	nodes, err := r.cfg.Nodes.RandomNodes(ctx, r.cfg.Quorum, nil)
	if err != nil {
		return crypto.AccountID{}, fmt.Errorf("sns: resolve %q: %w", n, err)
	}
	if len(nodes) < r.cfg.Quorum {
		return crypto.AccountID{}, fmt.Errorf("sns: resolve %q: %w: %d nodes for a quorum of %d", n, swarm.ErrNoNodes, len(nodes), r.cfg.Quorum)
	}
	records := make([]Record, len(nodes))
	g, gctx := errgroup.WithContext(ctx)
	for i, node := range nodes {
		g.Go(func() error {
			nctx, cancel := context.WithTimeout(gctx, r.cfg.Timeout)
			defer cancel()
			resp, err := r.cfg.Transport.Send(nctx, node, body)
			if err != nil {
				return fmt.Errorf("sns: resolve %q at %s: %w", n, node, err)
			}
			rec, err := ParseResolveResponse(resp)
			if err != nil {
				return fmt.Errorf("sns: resolve %q at %s: %w", n, node, err)
			}
			records[i] = rec
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return crypto.AccountID{}, err
	}
	distinct := []Record{records[0]}
	for _, rec := range records[1:] {
		known := false
		for _, d := range distinct {
			if d.equal(rec) {
				known = true
				break
			}
		}
		if !known {
			distinct = append(distinct, rec)
		}
	}
	if len(distinct) > 1 {
		r.log.Debug("sns: nodes disagree", "name", n, "answers", len(distinct))
		return crypto.AccountID{}, &DisagreementError{Name: n, Answers: len(distinct)}
	}
	rec := records[0]
	if !rec.Found {
		return crypto.AccountID{}, fmt.Errorf("%w: %q", ErrNotFound, n)
	}
	if rec.Nonce == nil && !r.cfg.AllowLegacy {
		return crypto.AccountID{}, fmt.Errorf("%w: %q", ErrLegacyRecord, n)
	}
	id, err := DecryptRecord(n, rec.Ciphertext, rec.Nonce)
	if err != nil {
		return crypto.AccountID{}, fmt.Errorf("sns: resolve %q: %w", n, err)
	}
	return id, nil
}
