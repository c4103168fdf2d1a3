package fleet_test

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/devnet/devnettest"
	"github.com/sessiongo/sdk/devnet/sogsd"
	"github.com/sessiongo/sdk/fleet"
	"github.com/sessiongo/sdk/onion"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/postgres"
	"github.com/sessiongo/sdk/store/postgres/pgtest"
)

// The fleet acceptance test (issue 17) runs fleet members as real processes: the test binary
// re-executes itself with childEnv set, and TestMain runs the member instead of the tests.
const childEnv = "SESSIONGO_FLEET_CHILD"

func TestMain(m *testing.M) {
	if cfg := os.Getenv(childEnv); cfg != "" {
		os.Exit(childMain(cfg))
	}
	os.Exit(pgtest.Main(m))
}

type childConfig struct {
	DSN   string        `json:"dsn"`
	Seeds []string      `json:"seeds"`
	CA    []byte        `json:"ca"`
	TTL   time.Duration `json:"ttl"`
	Poll  time.Duration `json:"poll"`
	Log   string        `json:"log"`
	// Debug, when set, names a file for the member's own log (fleet and Clients, warnings
	// and up): set with SESSIONGO_FLEET_LOG_DIR, for looking into a failure.
	Debug string `json:"debug,omitempty"`
}

// childMain is one fleet member: it serves its share until SIGTERM and logs every delivery
// ("D unixnano member account generation text") and every stop ("S unixnano member account
// error") with one write each, so that a SIGKILL loses no line that was written.
func childMain(raw string) int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "child config:", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	logf, err := os.OpenFile(cfg.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer logf.Close()
	st, err := postgres.Open(ctx, cfg.DSN)
	if err != nil {
		fmt.Fprintln(os.Stderr, "store:", err)
		return 2
	}
	defer st.Close()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(cfg.CA)
	nw, err := session.NewNetwork(session.NetworkConfig{Seeds: cfg.Seeds, SeedRootCAs: roots, Direct: true, PathDiversity: onion.DistinctNodes})
	if err != nil {
		fmt.Fprintln(os.Stderr, "network:", err)
		return 2
	}
	defer nw.Close()
	var f *fleet.Fleet
	var clientsMu sync.Mutex
	clients := map[crypto.AccountID]*session.Client{} // each account's latest Client here
	write := func(format string, args ...any) {
		_, _ = logf.WriteString(fmt.Sprintf(format, args...) + "\n")
	}
	logger := slog.New(slog.DiscardHandler)
	if cfg.Debug != "" {
		df, err := os.OpenFile(fmt.Sprintf(cfg.Debug, os.Getpid()), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		defer df.Close()
		logger = slog.New(slog.NewTextHandler(df, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	f, err = fleet.New(fleet.Config{Store: st, Name: "acceptance", LeaseTTL: cfg.TTL, Logger: logger,
		ClientOptions: []session.Option{session.WithNetwork(nw), session.WithPollInterval(cfg.Poll), session.WithLogger(logger)},
		Setup: func(_ context.Context, c *session.Client) error {
			id := c.AccountID()
			clientsMu.Lock()
			clients[id] = c
			clientsMu.Unlock()
			c.AddEventHandler(func(evt session.Event) {
				var text string
				switch e := evt.(type) {
				case *session.Message:
					text = e.Text
				case *session.GroupMessage:
					text = e.Text
				case *session.CommunityMessage:
					text = e.Text
				default:
					return
				}
				l, _ := c.Lease() // held now, or held last if lost while this event was under way
				write("D %d %s %s %d %s", time.Now().UnixNano(), f.Member(), id, l.Generation, text)
			})
			return nil
		},
		OnStop: func(account crypto.AccountID, err error) {
			// The generation it served: an attempt is the account's only one in this
			// member until it is over (or abandoned, when its Client no longer holds it).
			clientsMu.Lock()
			c := clients[account]
			clientsMu.Unlock()
			var gen int64
			if c != nil {
				l, _ := c.Lease()
				gen = l.Generation
			}
			write("S %d %s %s %d %q", time.Now().UnixNano(), f.Member(), account, gen, fmt.Sprint(err))
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	write("M %d %s %d", time.Now().UnixNano(), f.Member(), os.Getpid())
	// Pauses of this process (a stalled machine, a starved process): a handler that passed
	// the lease check just before one runs after it, maybe past the lease's end, which no
	// lease can prevent (a handler's own effects are not fenced). "P start member - end".
	go func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			now := time.Now()
			if now.Sub(last) > 100*time.Millisecond {
				write("P %d %s - %d", last.UnixNano(), f.Member(), now.UnixNano())
			}
			last = now
		}
	}()
	if err := f.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "fleet:", err)
		return 1
	}
	return 0
}

// proxy forwards TCP connections to the database; Down makes it a black hole (connections hang,
// as in a network partition), Up resumes.
type proxy struct {
	ln             net.Listener
	network, addr  string
	mu             sync.Mutex
	down           bool
	cond           *sync.Cond
	conns          map[net.Conn]bool
	closed         bool
	wg             sync.WaitGroup
	forwardedBytes atomic.Int64
}

func startProxy(t *testing.T, network, addr string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, network: network, addr: addr, conns: map[net.Conn]bool{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func (p *proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial(p.network, p.addr)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *proxy) pipe(src, dst net.Conn) {
	defer p.wg.Done()
	defer src.Close()
	defer dst.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.down && !p.closed {
				p.cond.Wait()
			}
			closed := p.closed
			p.mu.Unlock()
			if closed {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			p.forwardedBytes.Add(int64(n))
		}
		if err != nil {
			return
		}
	}
}

func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	p.down = down
	p.cond.Broadcast()
	p.mu.Unlock()
}

func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

// child is one member process.
type child struct {
	cmd    *exec.Cmd
	member string
	proxy  *proxy
	done   chan struct{}
	killed bool
}

// viaProxy returns dsn pointing at the proxy's port on 127.0.0.1.
func viaProxy(dsn string, port int) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			u.Host = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			return u.String()
		}
	}
	return dsn + fmt.Sprintf(" host=127.0.0.1 port=%d", port)
}

type logLine struct {
	kind    byte
	at      time.Time
	member  string
	account string
	gen     int64
	text    string
	until   time.Time // a pause's end
}

func readLog(t *testing.T, path string) []logLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []logLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 6)
		if len(parts) < 4 {
			continue
		}
		ns, _ := strconv.ParseInt(parts[1], 10, 64)
		l := logLine{kind: parts[0][0], at: time.Unix(0, ns), member: parts[2], account: parts[3]}
		switch l.kind {
		case 'D':
			if len(parts) < 6 {
				t.Fatalf("torn log line %q", sc.Text())
			}
			l.gen, _ = strconv.ParseInt(parts[4], 10, 64)
			l.text = parts[5]
		case 'S':
			if len(parts) < 6 {
				t.Fatalf("torn log line %q", sc.Text())
			}
			l.gen, _ = strconv.ParseInt(parts[4], 10, 64)
			l.text = parts[5]
		case 'P':
			end, _ := strconv.ParseInt(parts[4], 10, 64)
			l.until = time.Unix(0, end)
		}
		out = append(out, l)
	}
	return out
}

// Issue 17's acceptance: 3 member processes, 300 accounts, steady 1:1, group and community
// traffic on a devnet this test runs (the members reach it over loopback); 10 times a member is
// killed with SIGKILL and a new one started; then a member is cut off from the database. Its
// accounts resume on the others within two lease TTLs, no message is lost, every duplicate
// comes from a member that died or was cut off before it could record the message as handled,
// no account was ever held by two members at once (the database's lease history), every
// delivery happened under the delivering member's lease, and the cut-off member stopped
// before its leases could be taken.
func TestFleetProcesses(t *testing.T) {
	accounts, kills, ttl := 300, 10, 3*time.Second
	if raceEnabled {
		// The race detector makes every process several times slower: a smaller fleet and
		// longer leases, same checks.
		accounts, kills, ttl = 60, 3, 5*time.Second
	}
	const poll = time.Second
	const groupSize, roomSize = 10, 10
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	testStart := time.Now()
	dsn := pgtest.DSN(t)
	network, addr, err := pgtest.Target(dsn)
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	dn := devnettest.Start(t)
	// The room's post rate limit is for people; the fleet test posts 2.5 messages a second.
	sogs, err := sogsd.Start(ctx, sogsd.WithNetwork(dn), sogsd.WithPostRateLimit(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer sogs.Close()
	if err := sogs.CreateRoom(sogsd.RoomConfig{Token: "lobby"}); err != nil {
		t.Fatal(err)
	}
	room := sogs.JoinURL("lobby")
	netCfg := session.NetworkConfig{Seeds: []string{dn.SeedURL()}, SeedRootCAs: dn.CertPool(), Direct: true, PathDiversity: onion.DistinctNodes}
	nw, err := session.NewNetwork(netCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer nw.Close()

	// The accounts, in the shared database.
	ids := make([]crypto.AccountID, accounts)
	for i := range ids {
		k, _ := crypto.GenerateKeys(nil)
		ids[i] = k.AccountID()
		if err := st.PutAccount(ctx, store.Account{ID: ids[i], Seed: k.Seed(), Name: fmt.Sprint("bot", i)}); err != nil {
			t.Fatal(err)
		}
	}
	group, inRoom := ids[:groupSize], ids[groupSize:groupSize+roomSize]
	asAccount := func(id crypto.AccountID, f func(*session.Client) error) {
		t.Helper()
		c, err := session.NewClient(session.WithNetwork(nw), session.WithStore(st), session.WithAccount(id))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := f(c); err != nil {
			t.Fatal(err)
		}
	}
	admin, err := session.NewClient(session.WithNetwork(nw))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	g, err := admin.CreateGroup(ctx, "fleet", group...)
	if err != nil {
		t.Fatal(err)
	}
	var setup sync.WaitGroup
	for _, id := range group {
		setup.Add(1)
		go func() {
			defer setup.Done()
			asAccount(id, func(c *session.Client) error {
				invited := make(chan struct{}, 1)
				c.AddEventHandler(func(evt session.Event) {
					if inv, ok := evt.(*session.GroupInvite); ok && inv.Group == g.ID {
						select {
						case invited <- struct{}{}:
						default:
						}
					}
				})
				for {
					if err := c.PollOnce(ctx); err != nil {
						return err
					}
					select {
					case <-invited:
						return c.AcceptGroupInvite(ctx, g.ID)
					case <-ctx.Done():
						return ctx.Err()
					case <-time.After(100 * time.Millisecond):
					}
				}
			})
		}()
	}
	for _, id := range inRoom {
		setup.Add(1)
		go func() {
			defer setup.Done()
			asAccount(id, func(c *session.Client) error { _, err := c.JoinCommunity(ctx, room); return err })
		}()
	}
	setup.Wait()
	poster, err := session.NewClient(session.WithNetwork(nw))
	if err != nil {
		t.Fatal(err)
	}
	defer poster.Close()
	if _, err := poster.JoinCommunity(ctx, room); err != nil {
		t.Fatal(err)
	}

	// The members.
	dir, debug := t.TempDir(), ""
	if keep := os.Getenv("SESSIONGO_FLEET_LOG_DIR"); keep != "" {
		// For looking into a failure: the deliveries stay there, with each member's own log
		// and stderr, where a failed takeover also leaves the live members' goroutine dumps.
		dir, debug = keep, filepath.Join(keep, "member-%d.log")
	}
	logPath := filepath.Join(dir, "deliveries.log")
	var mu sync.Mutex
	var children []*child
	startChild := func() *child {
		t.Helper()
		p := startProxy(t, network, addr)
		cfg, _ := json.Marshal(childConfig{DSN: pgtest.WithParam(viaProxy(dsn, p.port()), "pool_max_conns", "8"),
			Seeds: []string{dn.SeedURL()}, CA: dn.CACertPEM(), TTL: ttl, Poll: poll, Log: logPath, Debug: debug})
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(cfg))
		cmd.Stderr = &prefixWriter{t: t}
		if debug != "" {
			ef, err := os.CreateTemp(dir, "member-*.err")
			if err != nil {
				t.Fatal(err)
			}
			defer ef.Close()
			cmd.Stderr = ef
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c := &child{cmd: cmd, proxy: p, done: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(c.done) }()
		// Learn its member identity from its first log line.
		deadline := time.Now().Add(30 * time.Second)
		for c.member == "" {
			for _, l := range readLogIfAny(logPath) {
				if l.kind == 'M' && l.account == strconv.Itoa(cmd.Process.Pid) {
					c.member = l.member
				}
			}
			if time.Now().After(deadline) {
				t.Fatal("a member process never started")
			}
			time.Sleep(20 * time.Millisecond)
		}
		mu.Lock()
		children = append(children, c)
		mu.Unlock()
		return c
	}
	defer func() {
		for _, c := range children {
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}()
	live := func() []string {
		var out []string
		for _, c := range children {
			if !c.killed {
				out = append(out, c.member)
			}
		}
		sort.Strings(out)
		return out
	}
	settled := func(why string) time.Duration {
		t.Helper()
		start := time.Now()
		want := live()
		for {
			ms, err1 := fleet.Members(ctx, st, "acceptance")
			hs, err2 := fleet.Holders(ctx, st)
			ok := err1 == nil && err2 == nil && fmt.Sprint(ms) == fmt.Sprint(want)
			for _, id := range ids {
				if !ok {
					break
				}
				ok = hs[id].Holder == fleet.Owner(id, want)
			}
			if ok {
				return time.Since(start)
			}
			if time.Since(start) > 60*time.Second || ctx.Err() != nil {
				dumpMembers(children, debug)
				t.Fatalf("%s: the fleet never settled (members %v, want %v, %d accounts held)", why, ms, want, len(hs))
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for i := 0; i < 3; i++ {
		startChild()
	}
	t.Logf("setup done in %v; 3 members serving %d accounts after %v", time.Since(testStart), accounts, settled("start"))

	// Steady traffic until stopped: 1:1 to random accounts, group and community messages.
	expected := map[string]bool{} // account/text
	var expMu sync.Mutex
	expect := func(id crypto.AccountID, text string, ok bool) {
		expMu.Lock()
		if ok {
			expected[id.String()+"/"+text] = true
		} else {
			delete(expected, id.String()+"/"+text)
		}
		expMu.Unlock()
	}
	trafficCtx, stopTraffic := context.WithCancel(ctx)
	var traffic sync.WaitGroup
	defer func() { stopTraffic(); traffic.Wait() }() // also when the test fails early
	var sendErrs atomic.Int64
	var firstErrs sync.Map
	sendFailed := func(kind string, err error) {
		sendErrs.Add(1)
		if _, loaded := firstErrs.LoadOrStore(kind, err); !loaded {
			t.Logf("%s send failed: %v", kind, err)
		}
	}
	every := func(d time.Duration, f func(i int)) {
		traffic.Add(1)
		go func() {
			defer traffic.Done()
			tick := time.NewTicker(d)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-trafficCtx.Done():
					return
				case <-tick.C:
				}
				f(i)
			}
		}()
	}
	sender, err := session.NewClient(session.WithNetwork(nw))
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	every(40*time.Millisecond, func(i int) {
		id := ids[rand.IntN(len(ids))]
		text := fmt.Sprint("dm-", i)
		// Expected before sending (it may be delivered before SendText returns); a send
		// that failed is not expected (though it may arrive).
		expect(id, text, true)
		if _, err := sender.SendText(ctx, id, text, session.WithoutSync()); err != nil {
			sendFailed("1:1", err)
			expect(id, text, false)
		}
	})
	every(400*time.Millisecond, func(i int) {
		text := fmt.Sprint("grp-", i)
		for _, id := range group {
			expect(id, text, true)
		}
		if _, err := admin.SendGroupText(ctx, g.ID, text); err != nil {
			sendFailed("group", err)
			for _, id := range group {
				expect(id, text, false)
			}
		}
	})
	every(400*time.Millisecond, func(i int) {
		text := fmt.Sprint("room-", i)
		for _, id := range inRoom {
			expect(id, text, true)
		}
		if _, err := poster.SendCommunityMessage(ctx, room, text); err != nil {
			sendFailed("community", err)
			for _, id := range inRoom {
				expect(id, text, false)
			}
		}
	})

	// Kills and restarts.
	type cut struct {
		member string
		at     time.Time
	}
	var cuts []cut
	var takeovers []time.Duration
	for k := 0; k < kills; k++ {
		time.Sleep(time.Duration(500+rand.IntN(1000)) * time.Millisecond)
		var victim *child
		for _, c := range children {
			if !c.killed {
				victim = c
				break
			}
		}
		held, _ := fleet.Holders(ctx, st)
		var its []crypto.AccountID
		for id, l := range held {
			if l.Holder == victim.member {
				its = append(its, id)
			}
		}
		killedAt := time.Now()
		_ = victim.cmd.Process.Signal(syscall.SIGKILL)
		<-victim.done
		victim.killed = true
		cuts = append(cuts, cut{victim.member, killedAt})
		for {
			hs, err := fleet.Holders(ctx, st)
			n := 0
			for _, id := range its {
				if l, ok := hs[id]; ok && l.Holder != victim.member {
					n++
				}
			}
			if err == nil && n == len(its) {
				break
			}
			if time.Since(killedAt) > 30*time.Second {
				dumpMembers(children, debug)
				t.Fatalf("kill %d: %d of %d accounts of the killed member never taken over", k, len(its)-n, len(its))
			}
			time.Sleep(20 * time.Millisecond)
		}
		takeovers = append(takeovers, time.Since(killedAt))
		startChild()
		t.Logf("kill %d: %d accounts taken over in %v; restarted member settled in %v", k, len(its), takeovers[k], settled(fmt.Sprint("restart ", k)))
	}

	// A partition: one member loses the database.
	time.Sleep(time.Second)
	var cutOff *child
	for _, c := range children {
		if !c.killed {
			cutOff = c
		}
	}
	held, _ := fleet.Holders(ctx, st)
	cutAccounts := map[string]store.Lease{}
	for id, l := range held {
		if l.Holder == cutOff.member {
			cutAccounts[id.String()] = l
		}
	}
	cutOff.proxy.setDown(true)
	cutAt := time.Now()
	cuts = append(cuts, cut{cutOff.member, cutAt})
	for {
		hs, _ := fleet.Holders(ctx, st)
		n := 0
		for id := range cutAccounts {
			acct, _ := crypto.ParseAccountID(id)
			if l, ok := hs[acct]; ok && l.Holder != cutOff.member {
				n++
			}
		}
		if n == len(cutAccounts) {
			break
		}
		if time.Since(cutAt) > 30*time.Second {
			t.Fatalf("the cut-off member's accounts were never taken over (%d of %d)", n, len(cutAccounts))
		}
		time.Sleep(20 * time.Millisecond)
	}
	partitionTakeover := time.Since(cutAt)
	time.Sleep(ttl)
	cutOff.proxy.setDown(false)
	// It comes back: it rejoins and takes its share again, under new generations.
	t.Logf("the cut-off member is back; rebalanced after %v", settled("after the partition"))

	time.Sleep(2 * time.Second)
	stopTraffic()
	traffic.Wait()
	// Everything sent is delivered.
	deadline := time.Now().Add(90 * time.Second)
	var missing []string
	for {
		got := map[string]int{}
		for _, l := range readLog(t, logPath) {
			if l.kind == 'D' {
				got[l.account+"/"+l.text]++
			}
		}
		missing = missing[:0]
		expMu.Lock()
		for k := range expected {
			if got[k] == 0 {
				missing = append(missing, k)
			}
		}
		expMu.Unlock()
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("%d of %d messages lost, e.g. %v", len(missing), len(expected), missing[:min(5, len(missing))])
	}
	for _, c := range signalMembers(children, syscall.SIGTERM, 30*time.Second) {
		t.Errorf("member %s did not stop on SIGTERM", c.member)
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	for _, c := range children {
		c.killed = true
	}

	// The database's own history: no overlap, and every delivery under the deliverer's lease.
	hist, err := st.LeaseHistory(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := store.CheckLeaseHistory(hist); err != nil {
		t.Fatalf("two members held one account at once: %v", err)
	}
	gens := map[string]store.LeaseRecord{}
	for _, h := range hist {
		gens[h.Name+"/"+strconv.FormatInt(h.Generation, 10)] = h
	}
	lines := readLog(t, logPath)
	deliveries := map[string][]logLine{}
	stops := map[string][]logLine{} // member/account -> stops
	stopReasons := map[string]int{}
	pauses := map[string][]logLine{} // member -> its pauses
	for _, l := range lines {
		if l.kind == 'P' {
			pauses[l.member] = append(pauses[l.member], l)
		}
	}
	// pausedAcross reports a pause of member that spans the last tenth of a lease ending at
	// end, up to a delivery at at: a handler that passed the lease check (before 9/10 of the
	// TTL) and ran after a pause, past the lease's end.
	pausedAcross := func(member string, end, at time.Time) bool {
		for _, p := range pauses[member] {
			if p.at.Before(end) && p.until.After(end.Add(-ttl/10)) && at.Sub(p.until) < ttl/10 {
				return true
			}
		}
		return false
	}
	excused, npauses := 0, 0
	for _, ps := range pauses {
		npauses += len(ps)
	}
	for _, l := range lines {
		switch l.kind {
		case 'D':
			h, ok := gens[l.account+"/"+strconv.FormatInt(l.gen, 10)]
			switch {
			case ok && h.Holder == l.member && !l.at.Before(h.Acquired) && l.at.Before(h.Ended):
			case ok && h.Holder == l.member && !l.at.Before(h.Ended) && pausedAcross(l.member, h.Ended, l.at):
				excused++
			default:
				t.Errorf("%s delivered to %s by %s at %v outside its lease (generation %d: %+v)", l.text, l.account, l.member, l.at, l.gen, h)
			}
			k := l.account + "/" + l.text
			deliveries[k] = append(deliveries[k], l)
		case 'S':
			stops[l.member+"/"+l.account] = append(stops[l.member+"/"+l.account], l)
			reason := l.text
			if i := strings.Index(reason, ":"); i > 0 {
				reason = reason[:i]
			}
			stopReasons[reason]++
		}
	}
	t.Logf("stops by reason: %v", stopReasons)
	// Duplicates: the documented crash window. A member may have handled a message and then
	// stopped serving the account (killed, cut off, or its lease not renewed in time) before it
	// recorded the message as handled; the next holder, under a newer generation, delivers it
	// again. Every duplicate must be such a case.
	cutMembers := map[string]time.Time{}
	for _, c := range cuts {
		cutMembers[c.member] = c.at
	}
	endOf := func(member, account string, gen int64, after time.Time) time.Time {
		end := time.Time{}
		if at, ok := cutMembers[member]; ok && !at.Before(after.Add(-ttl)) {
			end = at
		}
		// The database's own record: the generation was lost (expired, or taken from a
		// holder known dead), not released; unless the member said it handed that generation
		// over cleanly (a nil stop), which must then have recorded every delivery.
		clean := false
		for _, s := range stops[member+"/"+account] {
			clean = clean || s.gen == gen && s.text == `"<nil>"`
		}
		if h, ok := gens[account+"/"+strconv.FormatInt(gen, 10)]; ok && !clean && !h.Released && h.Holder == member &&
			!h.Ended.Before(after) && (end.IsZero() || h.Ended.Before(end)) {
			end = h.Ended
		}
		for _, s := range stops[member+"/"+account] {
			if s.text != `"<nil>"` && !s.at.Before(after) && (end.IsZero() || s.at.Before(end)) {
				end = s.at
			}
		}
		return end
	}
	dups, crashes := 0, map[string]int{}
	for k, ds := range deliveries {
		for i, d := range ds[:len(ds)-1] {
			dups++
			end := endOf(d.member, d.account, d.gen, d.at)
			next := ds[i+1]
			switch {
			case end.IsZero() || end.After(d.at.Add(ttl+time.Second)):
				t.Errorf("%s delivered twice outside the crash window: first by %s at %v (its service of the account ended at %v), then by %s (generation %d)",
					k, d.member, d.at, end, next.member, next.gen)
			case next.gen <= d.gen:
				t.Errorf("%s delivered twice under one generation (%d then %d)", k, d.gen, next.gen)
			default:
				crashes[d.member]++
			}
		}
	}
	// The cut-off member stopped every account it held before its lease could be taken.
	for acct, l := range cutAccounts {
		h := gens[acct+"/"+strconv.FormatInt(l.Generation, 10)]
		var stoppedAt time.Time
		for _, s := range stops[cutOff.member+"/"+acct] {
			if s.at.After(cutAt) && (stoppedAt.IsZero() || s.at.Before(stoppedAt)) {
				stoppedAt = s.at
			}
		}
		if stoppedAt.IsZero() || !stoppedAt.Before(h.Ended) {
			t.Errorf("the cut-off member stopped %s at %v, not before its lease ended (%v)", acct, stoppedAt, h.Ended)
		}
	}
	var worst time.Duration
	for _, d := range takeovers {
		worst = max(worst, d)
	}
	// The takeover bound is a matter of time, which a machine running many times more work than
	// it has cores cannot keep (every process starves); the correctness checks above hold
	// whatever the load.
	if worst > 2*ttl || partitionTakeover > 2*ttl+ttl/2 {
		if load, ok := overloaded(); ok {
			t.Logf("takeover took %v after a kill and %v after a partition, beyond two lease TTLs (%v): not checked, the machine is overloaded (load %.1f on %d cores)",
				worst, partitionTakeover, 2*ttl, load, runtime.NumCPU())
		} else {
			t.Errorf("takeover took %v after a kill and %v after a partition; want within two lease TTLs (%v)", worst, partitionTakeover, 2*ttl)
		}
	}
	total := 0
	for _, ds := range deliveries {
		total += len(ds)
	}
	sort.Slice(takeovers, func(i, j int) bool { return takeovers[i] < takeovers[j] })
	t.Logf("%d accounts, %d kills, TTL %v: takeover after SIGKILL median %v, worst %v; after a partition %v; %d messages expected, %d deliveries, %d duplicates (all in the crash window, by member: %v), %d lost; %d lease generations; %d send errors; %d member pauses over 100 ms, %d deliveries after a lease's end excused by one",
		accounts, kills, ttl, takeovers[len(takeovers)/2], worst, partitionTakeover, len(expected), total, dups, crashes, len(missing), len(hist), sendErrs.Load(), npauses, excused)
}

// dumpMembers has the live members write their goroutines to their stderr (SIGQUIT), when
// their logs are kept (debug).
func dumpMembers(cs []*child, debug string) {
	if debug == "" {
		return
	}
	signalMembers(cs, syscall.SIGQUIT, 5*time.Second)
}

// signalMembers sends sig to the live members and waits up to wait for each to exit; it returns
// those that did not.
func signalMembers(cs []*child, sig os.Signal, wait time.Duration) []*child {
	var live, stuck []*child
	for _, c := range cs {
		if !c.killed {
			_ = c.cmd.Process.Signal(sig)
			live = append(live, c)
		}
	}
	for _, c := range live {
		select {
		case <-c.done:
		case <-time.After(wait):
			stuck = append(stuck, c)
		}
	}
	return stuck
}

// overloaded reports the 1-minute load average when it exceeds three runnable tasks per core.
func overloaded() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, false
	}
	load, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return 0, false
	}
	return load, load > 3*float64(runtime.NumCPU())
}

func readLogIfAny(path string) []logLine {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []logLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), " ", 4)
		if len(parts) == 4 && parts[0] == "M" {
			out = append(out, logLine{kind: 'M', member: parts[2], account: parts[3]})
		}
	}
	return out
}

// prefixWriter copies a child's stderr into the test log.
type prefixWriter struct{ t *testing.T }

func (w *prefixWriter) Write(b []byte) (int, error) {
	w.t.Logf("member: %s", strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

var _ io.Writer = (*prefixWriter)(nil)
