package session

import (
	"testing"
	"time"
	"unsafe"
)

// wallStepped returns t (a reading with a monotonic clock) with its wall clock moved by d
// (whole seconds) and its monotonic reading kept: what a step of the system clock, or a
// suspend (which Linux's monotonic clock does not count), does between two readings. It
// writes time.Time's wall field (seconds since 1885 in bits 30 to 62 when the monotonic bit
// is set); the caller checks that the result is what it should be.
func wallStepped(t time.Time, d time.Duration) time.Time {
	p := (*struct {
		wall uint64
		ext  int64
		loc  *time.Location
	})(unsafe.Pointer(&t))
	p.wall += uint64(int64(d/time.Second)) << 30
	return t
}

// The config lane's push is due at most five push delays after the first change of a burst, on
// the lanes' clock (monotonic, since the scheduler started), also when the wall clock moved
// forward since then (a suspend, a clock step): a burst limit read on the wall clock put the
// push off by as much as the wall clock moved, for every burst until the process restarted.
func TestConfigKickLimitAfterWallClockStep(t *testing.T) {
	c, err := NewClient(WithNetworkConfig(NetworkConfig{Seeds: []string{"https://127.0.0.1:1"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const step = 8 * time.Hour // the machine slept for a night after the scheduler started
	s := newScheduler(1)
	epoch := s.epoch
	s.epoch = wallStepped(epoch, -step)
	if later := time.Now(); later.Sub(s.epoch) != later.Sub(epoch) || s.epoch.Round(0) != epoch.Round(0).Add(-step) {
		t.Fatal("wallStepped: time.Time's layout changed; this test must fake the step another way")
	}
	r := &runState{c: c, s: s}
	c.run = r // a run on s alone, whose loop never starts: only its config lane is queued
	defer func() { c.run = nil }()
	l := &r.lanes[laneConfig]
	l.run, l.kind, l.index = r, laneConfig, -1
	s.mu.Lock()
	l.due = s.now() + int64(time.Hour) // its next regular poll
	s.pushLocked(l)
	s.mu.Unlock()

	const delay = 20 * time.Millisecond
	s.kickConfig(c, delay) // a burst of changes begins
	time.Sleep(6 * delay)
	s.kickConfig(c, delay) // and goes on past five delays: push now
	s.mu.Lock()
	late := time.Duration(l.due - s.now())
	s.mu.Unlock()
	if late > delay {
		t.Fatalf("config push due in %v, want at most %v", late, delay)
	}
}
