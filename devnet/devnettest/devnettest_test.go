package devnettest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/sessiongo/sdk/devnet"
	"github.com/sessiongo/sdk/devnet/devnettest"
)

// The network serves during the test and is closed once the test has ended.
func TestStartClosesWithTheTest(t *testing.T) {
	var nw *devnet.Network
	t.Run("test", func(t *testing.T) {
		nw = devnettest.Start(t, devnet.WithNodes(3), devnet.WithSeed(1))
		if len(nw.Nodes()) != 3 {
			t.Fatalf("%d nodes, want 3", len(nw.Nodes()))
		}
		if _, err := nw.AddNodes(context.Background(), 1); err != nil {
			t.Fatalf("a running devnet refused a node: %v", err)
		}
	})
	if _, err := nw.AddNodes(context.Background(), 1); !errors.Is(err, devnet.ErrClosed) {
		t.Fatalf("after the test: %v, want ErrClosed", err)
	}
}
