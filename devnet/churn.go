package devnet

import (
	"context"
	"fmt"
)

// Swarm changes at run time. Each change is a new "block": oxend's assignment runs again, then data
// moves as storage servers move it (spec section 5): a node whose swarm gained members pushes all
// its messages to the newcomers; messages whose account now maps to a newly created swarm are pushed
// to that swarm; a node whose swarm was dissolved pushes every message to the swarm it now maps to.
// Like the real sn.data push, pushed rows carry no namespace and land in namespace 0 on the
// receiver (an upstream quirk the spec records); the hash, timestamp and expiry are kept. Nodes do
// not delete data they are no longer responsible for.

// AddNodes starts n new nodes, registers them and re-runs the swarm assignment.
func (nw *Network) AddNodes(ctx context.Context, n int) ([]*Node, error) {
	if nw.isClosed() {
		return nil, ErrClosed
	}
	var added []*Node
	for i := 0; i < n; i++ {
		if err := ctx.Err(); err != nil {
			for _, a := range added {
				a.Stop()
			}
			return nil, err
		}
		node, err := nw.newNode()
		if err != nil {
			return nil, err
		}
		if err := node.listen(""); err != nil {
			for _, a := range added {
				a.Stop()
			}
			return nil, err
		}
		added = append(added, node)
	}
	nw.changeMembership(func() {
		for _, a := range added {
			nw.nodes = append(nw.nodes, a)
			nw.byEd[a.edPub] = a
		}
	})
	return added, nil
}

// RemoveNode deregisters a node (as if it left the network), stops it and re-runs the assignment.
// Its data is lost with it; the rest of its swarm keeps their copies.
func (nw *Network) RemoveNode(ctx context.Context, node *Node) error {
	if nw.isClosed() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, ok := nw.Node(node.edPub); !ok {
		return fmt.Errorf("%w: %s", ErrUnknownNode, node)
	}
	nw.changeMembership(func() {
		for i, m := range nw.nodes {
			if m == node {
				nw.nodes = append(nw.nodes[:i:i], nw.nodes[i+1:]...)
				break
			}
		}
		delete(nw.byEd, node.edPub)
		delete(nw.assign, node.edPub)
	})
	node.Stop()
	return nil
}

// Reassign advances the chain by one block and re-runs the assignment without changing membership.
// With an unchanged membership oxend's rules keep every node where it is.
func (nw *Network) Reassign() { nw.changeMembership(func() {}) }

// changeMembership applies a registration change, re-runs the assignment and pushes data.
func (nw *Network) changeMembership(apply func()) {
	nw.mu.Lock()
	oldAssign := make(map[[32]byte]uint64, len(nw.assign))
	for k, v := range nw.assign {
		oldAssign[k] = v
	}
	oldSwarms := map[uint64]bool{}
	for _, id := range nw.swarmIDs {
		oldSwarms[id] = true
	}
	apply()
	nw.reassignLocked()
	newSwarms := map[uint64]bool{}
	for _, id := range nw.swarmIDs {
		newSwarms[id] = true
	}
	type push struct {
		to   *Node
		msgs []message
	}
	var pushes []push
	for _, n := range nw.nodes {
		oldID, existed := oldAssign[n.edPub]
		if !existed {
			continue // a new node has nothing to push
		}
		newID := nw.assign[n.edPub]
		now := n.nowMS()
		all := n.store.all(now)
		if len(all) == 0 {
			continue
		}
		if !newSwarms[oldID] {
			// My swarm was dissolved: every message goes to the swarm it now maps to.
			for _, m := range all {
				for _, to := range nw.membersLocked(nw.swarmForLocked(m.owner)) {
					if to != n {
						pushes = append(pushes, push{to, []message{m}})
					}
				}
			}
			continue
		}
		if oldID == newID {
			// Newcomers to my swarm get everything I have.
			for _, to := range nw.membersLocked(newID) {
				if prev, ok := oldAssign[to.edPub]; to != n && (!ok || prev != newID) {
					pushes = append(pushes, push{to, all})
				}
			}
		}
		// Messages whose account now maps to a brand-new swarm go there.
		for _, m := range all {
			target := nw.swarmForLocked(m.owner)
			if !oldSwarms[target] && target != newID {
				for _, to := range nw.membersLocked(target) {
					pushes = append(pushes, push{to, []message{m}})
				}
			}
		}
	}
	height, swarms := nw.height, len(nw.swarmIDs)
	nw.mu.Unlock()
	nw.log.Debug("devnet: swarms reassigned", "height", height, "swarms", swarms, "pushes", len(pushes))
	for _, p := range pushes {
		moved := make([]message, len(p.msgs))
		for i, m := range p.msgs {
			m.ns = 0 // sn.data carries no namespace
			moved[i] = m
		}
		p.to.store.putBulk(moved, p.to.nowMS())
	}
}
