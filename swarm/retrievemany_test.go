package swarm_test

import (
	"errors"
	"testing"
	"time"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/swarm"
)

// RetrieveMany reads several namespaces in one round trip from the member asked, each as
// Retrieve would (after its last hash, verified), and gives a namespace the signer may not
// read its own error while the others succeed.
func TestRetrieveMany(t *testing.T) {
	e := startEnv(t)
	ctx := ctxT(t)
	k := keysN(t, 9)
	s := swarm.NewKeysSigner(k)
	var contacts []string
	for _, d := range []string{"c1", "c2"} {
		res, err := e.client.Store(ctx, s, swarm.StoreRequest{Namespace: swarm.NamespaceContacts, Data: []byte(d), TTL: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		contacts = append(contacts, res.Hash)
	}
	if _, err := e.client.Store(ctx, swarm.Unsigned(k.AccountID()), swarm.StoreRequest{Data: []byte("dm"), TTL: time.Hour}); err != nil {
		t.Fatal(err)
	}
	first, node, err := e.client.RetrieveFrom(ctx, s, swarm.RetrieveRequest{Namespace: swarm.NamespaceUserProfile}, swarm.Node{})
	if err != nil || len(first.Messages) != 0 {
		t.Fatalf("%+v %v", first, err)
	}
	reqs := []swarm.RetrieveRequest{
		{Namespace: swarm.NamespaceDefault},
		{Namespace: swarm.NamespaceContacts, LastHash: contacts[0]},
		{Namespace: swarm.NamespaceUserProfile},
	}
	res, errs, answered, err := e.client.RetrieveMany(ctx, s, reqs, node)
	if err != nil || answered != node || len(res) != 3 || len(errs) != 3 {
		t.Fatalf("%v %v %v (%v, asked %v)", res, errs, err, answered, node)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("namespace %d: %v", reqs[i].Namespace, e)
		}
	}
	if len(res[0].Messages) != 1 || string(res[0].Messages[0].Data) != "dm" {
		t.Fatalf("namespace 0: %+v", res[0])
	}
	if len(res[1].Messages) != 1 || res[1].Messages[0].Hash != contacts[1] || res[1].LastHash != contacts[1] {
		t.Fatalf("contacts after the first: %+v", res[1])
	}
	if len(res[2].Messages) != 0 {
		t.Fatalf("profile: %+v", res[2])
	}

	// A signature by the wrong key: every subrequest is refused, each with its own error.
	other := keysN(t, 10)
	_, errs, _, err = e.client.RetrieveMany(ctx, wrongSigner{other.AccountID(), k}, reqs[:2], swarm.Node{})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if !errors.Is(e, swarm.ErrUnauthorized) {
			t.Fatalf("subrequest %d: %v", i, e)
		}
	}
}

// A liar's junk in one namespace of the batch is dropped as Retrieve drops it.
func TestRetrieveManyVerifies(t *testing.T) {
	e := startEnv(t, devnet.WithNodes(5))
	ctx := ctxT(t)
	s := swarm.NewKeysSigner(keysN(t, 51))
	want := storeN(t, e, s, 3)
	_, members := e.nw.SwarmFor(s.AccountID())
	liar := e.swarmNode(t, members[0])
	members[0].SetFaults(devnet.Faults{JunkMessages: 10})
	res, errs, node, err := e.client.RetrieveMany(ctx, s, []swarm.RetrieveRequest{{Namespace: swarm.NamespaceDefault}, {Namespace: swarm.NamespaceContacts}}, liar)
	if err != nil || node != liar || errs[0] != nil {
		t.Fatalf("%v %v (%v)", err, errs, node)
	}
	for _, m := range res[0].Messages {
		if !want[m.Hash] {
			t.Fatalf("junk got through: %s", m.Hash)
		}
	}
	if len(res[0].Dropped) == 0 {
		t.Fatal("nothing dropped")
	}
}
