package swarm

import (
	"testing"
	"time"
)

// fakeLocal is a settable local clock.
type fakeLocal struct{ t time.Time }

func (f *fakeLocal) now() time.Time { return f.t }

func nodeKey(i int) [32]byte { return [32]byte{byte(i), byte(i >> 8), 1} }

func TestClockAgreement(t *testing.T) {
	local := &fakeLocal{t: time.UnixMilli(1_800_000_000_000)}
	c := newNetClock(local.now, func() int { return 20 })
	at := local.t
	hour := time.Hour.Milliseconds()
	obs := func(i int, offset int64) (bool, bool) {
		return c.observe(nodeKey(i), at.UnixMilli()+offset, at, at)
	}
	// One node, however honest, does not set the clock alone.
	if out, moved := obs(1, hour); out || moved || c.offsetDuration() != 0 {
		t.Fatalf("one sample moved the clock: %v %v %v", out, moved, c.offsetDuration())
	}
	obs(2, hour+2000)
	if _, moved := obs(3, hour-1000); !moved || c.offsetDuration() != time.Hour {
		t.Fatalf("three agreeing nodes: offset %v", c.offsetDuration())
	}
	// A liar far off is an outlier and moves nothing, whatever it says, for as long as it says it.
	for i := 0; i < 10; i++ {
		if out, moved := obs(4, -57*365*24*hour); !out || moved {
			t.Fatalf("liar: outlier %v moved %v", out, moved)
		}
		if c.offsetDuration() != time.Hour {
			t.Fatalf("liar moved the clock to %v", c.offsetDuration())
		}
	}
	// "t": 1 is no time at all.
	if out, moved := c.observe(nodeKey(5), 1, at, at); !out || moved {
		t.Fatal(`"t": 1 accepted`)
	}
	// Honest nodes agreeing on a new time move it (a local clock jump), the liar does not hold
	// it: the new group must outnumber the old one.
	for i := 6; i < 12; i++ {
		obs(i, 3*hour)
	}
	if c.offsetDuration() != 3*time.Hour {
		t.Fatalf("six nodes at +3h (three older samples at +1h, one liar): offset %v", c.offsetDuration())
	}
}

func TestClockTiesAndSmallNetworks(t *testing.T) {
	local := &fakeLocal{t: time.UnixMilli(1_800_000_000_000)}
	at := local.t
	// Two camps of the same size: nothing moves.
	c := newNetClock(local.now, func() int { return 2 })
	c.observe(nodeKey(1), at.UnixMilli()+60_000, at, at)
	c.observe(nodeKey(2), at.UnixMilli()+60_500, at, at)
	if c.offsetDuration() != 60250*time.Millisecond {
		t.Fatalf("two nodes of a two-node network: %v", c.offsetDuration())
	}
	c.observe(nodeKey(3), at.UnixMilli()-600_000, at, at)
	c.observe(nodeKey(4), at.UnixMilli()-600_000, at, at)
	if c.offsetDuration() != 60250*time.Millisecond {
		t.Fatalf("a tie moved the clock: %v", c.offsetDuration())
	}
	// A one-node network: that node is the network's time.
	one := newNetClock(local.now, func() int { return 1 })
	one.observe(nodeKey(1), at.UnixMilli()+5000, at, at)
	if one.offsetDuration() != 5*time.Second {
		t.Fatalf("one-node network: %v", one.offsetDuration())
	}
	// The sample is taken at the middle of the round trip.
	mid := newNetClock(local.now, func() int { return 1 })
	mid.observe(nodeKey(1), at.UnixMilli()+1000, at, at.Add(2*time.Second))
	if mid.offsetDuration() != 0 {
		t.Fatalf("round trip middle: %v", mid.offsetDuration())
	}
	// Samples age out: a node heard from long ago does not count.
	old := newNetClock(local.now, func() int { return 20 })
	for i := 0; i < 2; i++ {
		old.observe(nodeKey(i), at.UnixMilli()+hourMs, at, at)
	}
	later := at.Add(clockSampleLife + time.Minute)
	old.observe(nodeKey(9), later.UnixMilli()+hourMs, later, later)
	if old.offsetDuration() != 0 {
		t.Fatalf("stale samples counted: %v", old.offsetDuration())
	}
}

const hourMs = int64(time.Hour / time.Millisecond)

func TestClockBoundedSamples(t *testing.T) {
	local := &fakeLocal{t: time.UnixMilli(1_800_000_000_000)}
	c := newNetClock(local.now, func() int { return 1000 })
	for i := 0; i < 10*clockMaxSamples; i++ {
		local.t = local.t.Add(time.Millisecond)
		c.observe(nodeKey(i), local.t.UnixMilli()+int64(i%3), local.t, local.t)
	}
	if len(c.samples) != clockMaxSamples {
		t.Fatalf("%d samples kept", len(c.samples))
	}
}
