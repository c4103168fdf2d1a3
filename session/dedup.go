package session

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/swarm"
)

// De-duplication of 1:1 messages by their sealed content.
//
// The store recognises a message it has seen by the storage server's hash, which covers the
// whole stored bytes: for a 1:1 message, a WebSocketMessage wrapping an Envelope. Only the
// Envelope's content (the sealed box) is authenticated; the rest (the decoy proSig, requestId,
// verb and path, unknown fields) is not, so a malicious storage node can serve a message it
// already delivered again, re-encoded, under a new valid hash. The sealed box is what it can
// neither change nor forge, so every 1:1 message of our own inbox also records a content
// marker: a record with no data whose hash is contentMarkerPrefix + base64(SHA-256(content)),
// saved in the same SaveRetrieved batch and account as the message (kept and pruned by the same
// rules). A message whose storage hash is new but whose marker is not is a copy of one already
// retrieved: it is recorded as handled and never delivered. Markers themselves are never
// delivered. Group messages need none: their whole envelope is inside the group encryption.

// contentMarkerPrefix begins the hash of every content marker. No storage hash contains ':'
// (they are base64 of a BLAKE2b digest, recomputed by the swarm client), so the two never mix.
const contentMarkerPrefix = "c:"

// isContentMarker reports whether a seen record's hash is a content marker's.
func isContentMarker(hash string) bool { return strings.HasPrefix(hash, contentMarkerPrefix) }

// contentMarker returns the content marker of a stored 1:1 message (the serialized
// WebSocketMessage), or false when it does not parse as one with content. It only parses: no
// decryption.
func contentMarker(wire []byte) (string, bool) {
	env, err := DecodeEnvelope(wire)
	if err != nil || len(env.GetContent()) == 0 {
		return "", false
	}
	sum := sha256.Sum256(env.GetContent())
	return contentMarkerPrefix + base64.RawStdEncoding.EncodeToString(sum[:]), true
}

// dedupsContent reports whether the messages retrieved for cur are 1:1 messages of our own
// inbox, which are de-duplicated by content.
func (c *Client) dedupsContent(cur store.Cursor) bool {
	return cur.Account == c.id && cur.Swarm == c.id && cur.Namespace == int16(swarm.NamespaceDefault)
}

// withContentMarkers returns the batch to save for the messages retrieved for cur: for our own
// 1:1 inbox, each message followed by its content marker (markers[i] is the marker of in[i], ""
// for a message without one); otherwise in unchanged and no markers.
func (c *Client) withContentMarkers(cur store.Cursor, in []store.Incoming) (batch []store.Incoming, markers []string) {
	if !c.dedupsContent(cur) {
		return in, nil
	}
	batch = make([]store.Incoming, 0, 2*len(in))
	markers = make([]string, len(in))
	for i, m := range in {
		batch = append(batch, m)
		if k, ok := contentMarker(m.Data); ok {
			markers[i] = k
			batch = append(batch, store.Incoming{Hash: k, Namespace: m.Namespace, Timestamp: m.Timestamp, Expiry: m.Expiry})
		}
	}
	return batch, markers
}

// settleContentMarkers runs after SaveRetrieved saved a batch from withContentMarkers (fresh is
// what it returned): it marks the fresh markers handled, and the fresh messages whose content
// was already seen (their marker is not fresh, or an earlier message of the batch claimed it)
// too, so that they are never delivered. The first message carrying a fresh marker claims it,
// whether its own hash is fresh or not (a message seen before markers existed).
func (c *Client) settleContentMarkers(ctx context.Context, in []store.Incoming, markers []string, fresh []store.Incoming) error {
	if markers == nil || len(fresh) == 0 {
		return nil
	}
	isFresh := make(map[string]bool, len(fresh))
	for _, f := range fresh {
		isFresh[f.Hash] = true
	}
	claimed := map[string]bool{}
	done := map[string]bool{}
	for i, m := range in {
		k := markers[i]
		if k == "" || done[m.Hash] {
			continue // no marker, or the same message given twice: judged once
		}
		done[m.Hash] = true
		newContent := isFresh[k] && !claimed[k]
		if newContent {
			claimed[k] = true
			continue
		}
		if isFresh[m.Hash] {
			c.log.Debug("re-encoded copy of a message already retrieved dropped (a replay)", "hash", m.Hash)
			if err := c.markHandled(ctx, c.id, m.Hash); err != nil {
				return err
			}
		}
	}
	for k := range claimed {
		if err := c.markHandled(ctx, c.id, k); err != nil {
			return err
		}
	}
	return nil
}

// markHandled is MarkHandled for store bookkeeping of the fetch: not cut short by ctx, and a
// failure is fatal.
func (c *Client) markHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	if err := c.store.MarkHandled(context.WithoutCancel(ctx), account, hash); err != nil {
		return &fatalError{fmt.Errorf("session: marking message handled: %w", err)}
	}
	return nil
}

// saveOwnContentMarker records the content marker of a message we stored in our own 1:1 inbox
// ourselves (data as stored) as handled, as the message itself is: a re-encoded copy of it served
// later is then not delivered.
func (c *Client) saveOwnContentMarker(ctx context.Context, data []byte, m store.Incoming) {
	k, ok := contentMarker(data)
	if !ok {
		return
	}
	m.Hash = k
	if err := c.store.SaveHandled(ctx, c.id, m); err != nil {
		c.log.Warn("recording our own message's content", "err", err)
	}
}
