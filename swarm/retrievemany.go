package swarm

import (
	"context"
	"fmt"
)

// RetrieveMany reads several namespaces of s's account in one batch request (one round trip,
// as the official clients poll), asking prefer first when it is a member of the swarm (see
// RetrieveFrom for why a poller keeps to one member). Results and errs are in request order:
// each namespace has a result, verified like RetrieveFrom's, or the error its subrequest got
// (a namespace the signer may not read, say). The returned Node is the member that answered.
// A reply that is not a batch of retrieve results counts as that node's failure, and another
// member is tried.
func (c *Client) RetrieveMany(ctx context.Context, s Signer, reqs []RetrieveRequest, prefer Node) ([]*RetrieveResult, []error, Node, error) {
	if s == nil {
		return nil, nil, Node{}, fmt.Errorf("%w: nil signer", ErrInvalidRequest)
	}
	account := s.AccountID()
	batch := make([]Request, len(reqs))
	for i := range reqs {
		batch[i] = reqs[i]
	}
	if err := checkBatch("batch", batch); err != nil {
		return nil, nil, Node{}, err
	}
	var results []*RetrieveResult
	var errs []error
	r := c.send(ctx, account, sendOpts{prefer: prefer, check: func(body []byte, node Node, _ int64, _ []Node) error {
		subs, err := ParseBatch(body)
		if err == nil && len(subs) != len(reqs) {
			err = fmt.Errorf("%w: %d results for %d requests", ErrInvalidResponse, len(subs), len(reqs))
		}
		if err != nil {
			c.pool.Report(node, OffenseBadReply)
			return err
		}
		res, es := make([]*RetrieveResult, len(reqs)), make([]error, len(reqs))
		for i, sub := range subs {
			if es[i] = sub.Err(); es[i] != nil {
				continue
			}
			got, err := ParseRetrieve(sub.Body)
			if err != nil {
				c.pool.Report(node, OffenseBadReply)
				return fmt.Errorf("namespace %d: %w", reqs[i].Namespace, err)
			}
			if o := got.Verify(account, reqs[i].Namespace, c.Now()); o != 0 {
				c.log.Debug("swarm: retrieved messages dropped", "node", node, "namespace", reqs[i].Namespace,
					"dropped", len(got.Dropped), "offense", o.String())
				c.pool.Report(node, o)
			}
			res[i] = got
		}
		results, errs = res, es
		return nil
	}}, func(now int64) ([]byte, error) {
		return EncodeBatch("batch", s, now, batch...)
	})
	if r.err != nil {
		return nil, nil, r.node, fmt.Errorf("swarm: retrieve: %w", r.err)
	}
	return results, errs, r.node, nil
}
