// Package pgtest gives tests a real PostgreSQL server.
//
// When SESSIONGO_POSTGRES_DSN (a libpq connection string or URL) is set, tests use that server.
// Otherwise the first test that asks starts a throwaway cluster from the installed server
// binaries (initdb, then postgres on a temporary directory, listening on a Unix socket only),
// shared by the test binary and stopped by Main at the end (or, if the binary dies, by the
// kernel's parent-death signal). Run as root, the server runs as the "postgres" user that the
// Debian package creates, since PostgreSQL refuses to run as root.
//
// Each DSN call gives the test an empty schema of its own. With neither a DSN nor the binaries,
// tests fail under CI (CI set) and skip elsewhere, saying how to enable them.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"crypto/rand"
	"encoding/hex"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// EnvDSN names the variable holding an external server's connection string.
const EnvDSN = "SESSIONGO_POSTGRES_DSN"

// Enable says how to run the PostgreSQL tests.
const Enable = "set " + EnvDSN + " to a PostgreSQL connection string, or install the PostgreSQL server package (Debian: apt-get install postgresql) so that the tests start their own cluster"

var (
	mu      sync.Mutex
	started *cluster
	baseDSN string
	skipMsg string
	failErr error
	tried   bool
)

type cluster struct {
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Main runs the tests and then stops the cluster if one was started: call it from TestMain as
// os.Exit(pgtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	Stop()
	return code
}

// Stop stops the throwaway cluster, if any, and removes its directory.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if started == nil {
		return
	}
	c := started
	started = nil
	_ = c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown: disconnects clients
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	_ = os.RemoveAll(c.dir)
}

// DSN returns the connection string of a fresh, empty schema for t on the test server (dropped
// when t ends), starting the server on first use. Without a server it fails t under CI and
// skips it elsewhere.
func DSN(t testing.TB) string {
	t.Helper()
	base := Server(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "t_" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, base); err == nil {
			_, _ = conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	return WithParam(base, "search_path", schema)
}

// Server returns the connection string of the test server (its default schema), starting it on
// first use; see DSN.
func Server(t testing.TB) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if !tried {
		tried = true
		baseDSN, skipMsg, failErr = find()
	}
	switch {
	case failErr != nil:
		t.Fatalf("pgtest: %v", failErr)
	case skipMsg != "" && os.Getenv("CI") != "":
		t.Fatalf("pgtest: PostgreSQL is required under CI: %s (%s)", skipMsg, Enable)
	case skipMsg != "":
		t.Skipf("pgtest: PostgreSQL tests skipped: %s; to run them, %s", skipMsg, Enable)
	}
	return baseDSN
}

// WithParam returns dsn (keyword/value or URL form) with a run-time parameter set.
func WithParam(dsn, key, value string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err == nil {
			q := u.Query()
			q.Set(key, value)
			u.RawQuery = q.Encode()
			return u.String()
		}
	}
	return dsn + " " + key + "=" + value
}

// Target returns where the server of dsn listens, for net.Dial: ("unix", socket path) or
// ("tcp", host:port). Tests put proxies in front of it.
func Target(dsn string) (network, address string, err error) {
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		return "", "", err
	}
	if strings.HasPrefix(cfg.Host, "/") {
		return "unix", filepath.Join(cfg.Host, ".s.PGSQL."+strconv.Itoa(int(cfg.Port))), nil
	}
	return "tcp", fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), nil
}

// find picks the server: the environment's, else a new cluster. It returns a reason to skip when
// there is neither.
func find() (dsn, skip string, err error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn, "", nil
	}
	bin := binDir()
	if bin == "" {
		return "", "no " + EnvDSN + " and no PostgreSQL server binaries (initdb, postgres) found", nil
	}
	c, dsn, err := start(bin)
	if err != nil {
		return "", "", fmt.Errorf("starting a throwaway cluster from %s: %w", bin, err)
	}
	started = c
	return dsn, "", nil
}

// binDir finds initdb and postgres: on PATH, else in the newest /usr/lib/postgresql/*/bin.
func binDir() string {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return vi > vj
	})
	for _, d := range dirs {
		_, e1 := os.Stat(filepath.Join(d, "initdb"))
		_, e2 := os.Stat(filepath.Join(d, "postgres"))
		if e1 == nil && e2 == nil {
			return d
		}
	}
	return ""
}

func start(bin string) (*cluster, string, error) {
	// PostgreSQL refuses to run as root: then run it as the "postgres" user.
	var cred *syscall.Credential
	var uid, gid = -1, -1
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, "", errors.New(`running as root needs the "postgres" user (created by the postgresql package) to run the server: ` + err.Error())
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	dir, err := os.MkdirTemp("", "sessiongo-pg-")
	if err != nil {
		return nil, "", err
	}
	fail := func(err error) (*cluster, string, error) {
		os.RemoveAll(dir)
		return nil, "", err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return fail(err)
	}
	if cred != nil {
		// The server's user must reach its directory: 0755 on the top (it holds nothing
		// secret: the socket and the log), the data directory its own.
		if err := os.Chmod(dir, 0o755); err != nil {
			return fail(err)
		}
		for _, p := range []string{dir, data} {
			if err := os.Chown(p, uid, gid); err != nil {
				return fail(err)
			}
		}
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "--auth=trust",
		"-E", "UTF8", "--no-sync", "--no-instructions")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	initdb.Env = append(os.Environ(), "LC_ALL=C")
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %v\n%s", err, out))
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return fail(err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-k", dir, "-p", "5432",
		"-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB",
		"-c", "log_min_messages=warning")
	cmd.Stdout, cmd.Stderr = logf, logf
	// The server dies with the test binary, whatever happens to it (Pdeathsig is set after the
	// change of user in the child, so it holds).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fail(fmt.Errorf("postgres: %w", err))
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	c := &cluster{dir: dir, cmd: cmd, done: done}
	dsn := fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres sslmode=disable", dir)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := pgx.Connect(ctx, dsn)
		if err == nil {
			conn.Close(ctx)
			cancel()
			return c, dsn, nil
		}
		cancel()
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return fail(fmt.Errorf("postgres exited: %s", log))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			return fail(fmt.Errorf("postgres did not accept connections within 60 s: %v\n%s", err, log))
		}
	}
}
