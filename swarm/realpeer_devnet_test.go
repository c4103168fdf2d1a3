package swarm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/swarm"
)

// Issue 12 item 1 against devnet, whose swarm members now answer as the real ones do: a repeated
// store comes back with "already": true from the entry node and "already": 1 from the others,
// and it succeeds.
func TestRepeatStoreSucceeds(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(6))
	ctx := ctxT(t)
	s := swarm.NewKeysSigner(keysN(t, 41))
	req := swarm.StoreRequest{Namespace: swarm.NamespaceContacts, Data: []byte("same config"), TTL: time.Hour}
	if _, err := e.client.Store(ctx, s, req); err != nil {
		t.Fatal(err)
	}
	res, err := e.client.Store(ctx, s, req)
	if err != nil {
		t.Fatalf("repeated store: %v", err)
	}
	if len(res.Swarm) < 2 || res.Succeeded() != len(res.Swarm) {
		t.Fatalf("repeated store: %+v", res)
	}
	for k, m := range res.Swarm {
		if !m.Already {
			t.Errorf("member %s does not say it already had the message", k[:8])
		}
	}
}

// Issue 12 item 3 against devnet's reproduction of the storage server bug: delete_before over
// all namespaces deletes, then answers 500 (or 200 with empty lists); the Client says what it
// knows instead of "nothing deleted".
func TestDeleteBeforeAllUncertain(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(6))
	ctx := ctxT(t)
	s := swarm.NewKeysSigner(keysN(t, 42))
	for _, n := range e.nw.Nodes() {
		n.SetFaults(devnet.Faults{DeleteBeforeAll: devnet.DeleteBeforeAllFails})
	}
	store := func(ns swarm.Namespace, data string) {
		t.Helper()
		if _, err := e.client.Store(ctx, s, swarm.StoreRequest{Namespace: ns, Data: []byte(data), TTL: time.Hour}); err != nil {
			t.Fatal(err)
		}
	}
	store(0, "a")
	store(swarm.NamespaceContacts, "b")
	// Deletes reach a second ahead: the learned network clock may step back a few ms between a
	// store and the delete that follows it.
	_, err := e.client.DeleteBefore(ctx, s, swarm.DeleteBeforeRequest{AllNamespaces: true, Before: e.client.Now().Add(time.Second)})
	var ue *swarm.UncertainError
	if !errors.Is(err, swarm.ErrOutcomeUnknown) || !errors.As(err, &ue) || !errors.Is(err, swarm.ErrServer) {
		t.Fatalf("delete_before all after a mid-delete failure: %v", err)
	}
	if ue.Later == nil || ue.Later.Succeeded() == 0 || !ue.Later.Unlisted {
		t.Fatalf("the retry's result is missing or not marked unlisted: %+v", ue.Later)
	}
	for _, m := range ue.Later.Swarm {
		if len(m.DeletedByNamespace) != 0 {
			t.Fatalf("the retry found messages to delete: %+v", m)
		}
	}
	res, err := e.client.Retrieve(ctx, s, swarm.RetrieveRequest{})
	if err != nil || len(res.Messages) != 0 {
		t.Fatalf("messages left after the failed delete: %+v %v", res, err)
	}

	// The other recorded outcome: 200 with every list empty although messages were deleted.
	for _, n := range e.nw.Nodes() {
		n.SetFaults(devnet.Faults{DeleteBeforeAll: devnet.DeleteBeforeAllUnlisted})
	}
	store(0, "c")
	got, err := e.client.DeleteBefore(ctx, s, swarm.DeleteBeforeRequest{AllNamespaces: true, Before: e.client.Now().Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Unlisted {
		t.Fatalf("empty lists of a delete_before over all namespaces reported as complete: %+v", got)
	}
	// One namespace: the lists are complete.
	for _, n := range e.nw.Nodes() {
		n.SetFaults(devnet.Faults{})
	}
	store(0, "d")
	got, err = e.client.DeleteBefore(ctx, s, swarm.DeleteBeforeRequest{Before: e.client.Now().Add(time.Second)})
	if err != nil || got.Unlisted || got.Succeeded() == 0 {
		t.Fatalf("%+v %v", got, err)
	}
	for _, m := range got.Swarm {
		if len(m.Deleted) != 1 {
			t.Fatalf("one-namespace delete_before lists %v", m.Deleted)
		}
	}
}
