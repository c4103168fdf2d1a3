// Package sqlite is a store.Store in one SQLite file (through the pure-Go modernc.org/sqlite
// driver, no cgo), holding any number of accounts, with numbered migrations. It is the default
// of the examples and sessionctl. It lives apart from package store so that programs keeping
// their state in memory (or in PostgreSQL) never download or link SQLite.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/sqlstore"
	"github.com/sessiongo/sdk/store"
	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a store.Store in one SQLite file. Open it with Open, or New for a *sql.DB you manage.
//
// Several processes may open one file (leases keep each account in one of them): every write is
// a BEGIN IMMEDIATE transaction, so writers queue on SQLite's lock (busy_timeout) instead of
// failing, and lease times are read from the machine's clock, which those processes share.
type Store struct {
	db      *sql.DB
	owned   bool
	maxSeen int
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the database file at path and brings its schema up to
// date. Use ":memory:" for a private in-memory database.
//
// The directory of path must exist: Open does not create directories, and says so rather than
// leaving SQLite's "unable to open database file" for the first query.
func Open(ctx context.Context, path string, opts ...store.Option) (*Store, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: open %s: %w", path, err)
	}
	// One connection: SQLite serialises writers anyway, and ":memory:" is per connection.
	db.SetMaxOpenConns(1)
	s, err := New(ctx, db, opts...)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store/sqlite: open %s: %w", path, err)
	}
	s.owned = true
	return s, nil
}

// ErrBadPath reports a database path that cannot be a SQLite file: its directory is missing or
// is not a directory, or the path is a directory.
var ErrBadPath = errors.New("store/sqlite: bad database path")

func checkPath(path string) error {
	if path == ":memory:" {
		return nil
	}
	if path == "" {
		return fmt.Errorf("%w: empty path (use \":memory:\" for a database in memory)", ErrBadPath)
	}
	if strings.ContainsAny(path, "?#") {
		return fmt.Errorf("%w: %q contains '?' or '#', which SQLite would read as URI parameters; rename the file", ErrBadPath, path)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%w: %s is a directory; give a file name inside it (e.g. %s)", ErrBadPath, path, filepath.Join(path, "session.db"))
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: directory %s does not exist; create it first (mkdir -p %s): %w", ErrBadPath, dir, dir, fs.ErrNotExist)
	case err != nil:
		return fmt.Errorf("%w: %s: %w", ErrBadPath, dir, err)
	case !fi.IsDir():
		return fmt.Errorf("%w: %s is not a directory", ErrBadPath, dir)
	}
	return nil
}

// New uses db, an open SQLite database (driver "sqlite" of modernc.org/sqlite), and applies
// any migrations it lacks. Close does not close db.
func New(ctx context.Context, db *sql.DB, opts ...store.Option) (*Store, error) {
	s := &Store{db: db, maxSeen: store.ApplyOptions(opts).MaxSeenPerAccount}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SchemaVersion is the number of the newest migration this package applies.
func SchemaVersion() int {
	ms, err := sqlstore.Migrations(migrationFS, "migrations", "store/sqlite")
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate applies the missing migrations in one immediate transaction, so that processes
// opening the file at once apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqlstore.Migrations(migrationFS, "migrations", "store/sqlite")
	if err != nil {
		return err
	}
	return s.tx(ctx, func(tx *sql.Conn) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("store/sqlite: migrate: %w", err)
		}
		var cur int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
			return fmt.Errorf("store/sqlite: migrate: reading version: %w", err)
		}
		if cur > len(ms) {
			return fmt.Errorf("store/sqlite: database schema version %d is newer than this SDK's %d: upgrade the SDK", cur, len(ms))
		}
		for _, m := range ms[cur:] {
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("store/sqlite: migrate %s: %w", m.Name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, m.Version); err != nil {
				return fmt.Errorf("store/sqlite: migrate %s: %w", m.Name, err)
			}
		}
		return nil
	})
}

// Close closes the database if Open opened it.
func (s *Store) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}

// tx runs f in a BEGIN IMMEDIATE transaction (the write lock taken at once: no deadlock between
// two readers upgrading) after checking the fence of ctx, if any (store.FenceOf), in the same
// transaction.
func (s *Store) tx(ctx context.Context, f func(tx *sql.Conn) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store/sqlite: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		return fmt.Errorf("store/sqlite: begin: %w", err)
	}
	defer func() {
		if err != nil {
			// Roll back even when ctx ended: the connection goes back to the pool.
			_, _ = conn.ExecContext(context.WithoutCancel(ctx), `ROLLBACK`)
		}
	}()
	if fence, ok := store.FenceOf(ctx); ok {
		if err := checkLease(ctx, conn, fence, time.Now()); err != nil {
			return err
		}
	}
	if err := f(conn); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `COMMIT`); err != nil {
		return fmt.Errorf("store/sqlite: commit: %w", err)
	}
	return nil
}

// exec runs one statement: alone (SQLite makes it atomic) or, fenced, in a transaction with
// the lease check.
func (s *Store) exec(ctx context.Context, what, query string, args ...any) error {
	var err error
	if _, fenced := store.FenceOf(ctx); !fenced {
		_, err = s.db.ExecContext(ctx, query, args...)
	} else {
		err = s.tx(ctx, func(q *sql.Conn) error {
			_, err := q.ExecContext(ctx, query, args...)
			return err
		})
		var lost *store.LostError
		if errors.As(err, &lost) {
			return err
		}
	}
	if err != nil {
		return fmt.Errorf("store/sqlite: %s: %w", what, err)
	}
	return nil
}

// querier is what the statements run on: a connection inside a transaction, or the pool.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// PutAccount implements store.AccountStore.
func (s *Store) PutAccount(ctx context.Context, a store.Account) error {
	return s.tx(ctx, func(q *sql.Conn) error { return putAccount(ctx, q, a) })
}

func putAccount(ctx context.Context, q querier, a store.Account) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	_, err := q.ExecContext(ctx, `INSERT INTO accounts (id, seed, name, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seed = excluded.seed, name = excluded.name`,
		a.ID[:], a.Seed[:], a.Name, sqlstore.MS(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("store/sqlite: put account %s: %w", a.ID, err)
	}
	return nil
}

func scanAccount(sc interface{ Scan(...any) error }) (store.Account, error) {
	var a store.Account
	var id, seed []byte
	var created int64
	if err := sc.Scan(&id, &seed, &a.Name, &created); err != nil {
		return a, err
	}
	if len(id) != crypto.AccountIDSize || len(seed) != 32 {
		return a, fmt.Errorf("store/sqlite: corrupt account row (id %d bytes, seed %d bytes)", len(id), len(seed))
	}
	a.ID = crypto.AccountID(id)
	a.Seed = [32]byte(seed)
	a.CreatedAt = sqlstore.FromMS(created)
	return a, nil
}

// GetAccount implements store.AccountStore.
func (s *Store) GetAccount(ctx context.Context, id crypto.AccountID) (store.Account, error) {
	row := s.db.QueryRowContext(ctx, `SELECT id, seed, name, created_at FROM accounts WHERE id = ?`, id[:])
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Account{}, store.ErrNotFound
	}
	if err != nil {
		return store.Account{}, fmt.Errorf("store/sqlite: get account %s: %w", id, err)
	}
	return a, nil
}

// Accounts implements store.AccountStore.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, seed, name, created_at FROM accounts ORDER BY created_at, hex(id)`)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: list accounts: %w", err)
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("store/sqlite: list accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAccount implements store.AccountStore.
func (s *Store) DeleteAccount(ctx context.Context, id crypto.AccountID) error {
	return s.tx(ctx, func(q *sql.Conn) error { return deleteAccount(ctx, q, id) })
}

func deleteAccount(ctx context.Context, q querier, id crypto.AccountID) error {
	for _, stmt := range []string{
		`DELETE FROM accounts WHERE id = ?`,
		`DELETE FROM cursors WHERE account = ?`,
		`DELETE FROM messages WHERE account = ?`,
		`DELETE FROM inbox_sizes WHERE account = ?`,
	} {
		if _, err := q.ExecContext(ctx, stmt, id[:]); err != nil {
			return fmt.Errorf("store/sqlite: delete account %s: %w", id, err)
		}
	}
	// substr rather than LIKE: the prefix is matched exactly, with no wildcards.
	prefix := id.String() + "/"
	if _, err := q.ExecContext(ctx, `DELETE FROM kv WHERE substr(key, 1, ?) = ?`, len(prefix), prefix); err != nil {
		return fmt.Errorf("store/sqlite: delete account %s: %w", id, err)
	}
	return nil
}

// LastHash implements store.InboxStore.
func (s *Store) LastHash(ctx context.Context, c store.Cursor) (string, error) {
	var h string
	err := s.db.QueryRowContext(ctx, `SELECT last_hash FROM cursors WHERE account = ? AND swarm = ? AND namespace = ?`,
		c.Account[:], c.Swarm[:], c.Namespace).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store/sqlite: last hash: %w", err)
	}
	return h, nil
}

// SaveRetrieved implements store.InboxStore.
func (s *Store) SaveRetrieved(ctx context.Context, c store.Cursor, msgs []store.Incoming, lastHash string) ([]store.Incoming, error) {
	var fresh []store.Incoming
	err := s.tx(ctx, func(q *sql.Conn) error {
		fresh = fresh[:0]
		now := time.Now()
		for _, in := range msgs {
			res, err := q.ExecContext(ctx, `INSERT INTO messages (account, hash, namespace, data, ts, expiry, keep_until)
				VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, hash) DO NOTHING`,
				c.Account[:], in.Hash, in.Namespace, in.Data, sqlstore.MS(in.Timestamp), sqlstore.MS(in.Expiry), sqlstore.MS(store.SeenUntil(now)))
			if err != nil {
				return fmt.Errorf("store/sqlite: save message: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				fresh = append(fresh, in)
			}
		}
		if lastHash != "" {
			_, err := q.ExecContext(ctx, `INSERT INTO cursors (account, swarm, namespace, last_hash) VALUES (?, ?, ?, ?)
				ON CONFLICT (account, swarm, namespace) DO UPDATE SET last_hash = excluded.last_hash`,
				c.Account[:], c.Swarm[:], c.Namespace, lastHash)
			if err != nil {
				return fmt.Errorf("store/sqlite: save last hash: %w", err)
			}
		}
		return s.grew(ctx, q, c.Account, len(fresh))
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// grew counts added records of account and, past the bound, forgets its oldest handled ones.
func (s *Store) grew(ctx context.Context, q querier, account crypto.AccountID, added int) error {
	if added == 0 {
		return nil
	}
	var n int
	err := q.QueryRowContext(ctx, `INSERT INTO inbox_sizes (account, n) VALUES (?, ?)
		ON CONFLICT (account) DO UPDATE SET n = n + excluded.n RETURNING n`, account[:], added).Scan(&n)
	if err != nil {
		return fmt.Errorf("store/sqlite: count records: %w", err)
	}
	evict := store.Evict(n, s.maxSeen)
	if evict == 0 {
		return nil
	}
	res, err := q.ExecContext(ctx, `DELETE FROM messages WHERE seq IN
		(SELECT seq FROM messages WHERE account = ? AND handled = 1 ORDER BY seq LIMIT ?)`, account[:], evict)
	if err != nil {
		return fmt.Errorf("store/sqlite: bound records: %w", err)
	}
	gone, _ := res.RowsAffected()
	if _, err := q.ExecContext(ctx, `UPDATE inbox_sizes SET n = n - ? WHERE account = ?`, gone, account[:]); err != nil {
		return fmt.Errorf("store/sqlite: count records: %w", err)
	}
	return nil
}

// Pending implements store.InboxStore.
func (s *Store) Pending(ctx context.Context, account crypto.AccountID) ([]store.Incoming, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT hash, namespace, data, ts, expiry, keep_until FROM messages
		WHERE account = ? AND handled = 0 ORDER BY seq`, account[:])
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: pending: %w", err)
	}
	defer rows.Close()
	var out []store.Incoming
	for rows.Next() {
		var in store.Incoming
		var ts, exp, keep int64
		if err := rows.Scan(&in.Hash, &in.Namespace, &in.Data, &ts, &exp, &keep); err != nil {
			return nil, fmt.Errorf("store/sqlite: pending: %w", err)
		}
		in.Timestamp, in.Expiry = sqlstore.FromMS(ts), sqlstore.FromMS(exp)
		in.Saved = store.SavedAt(sqlstore.FromMS(keep))
		out = append(out, in)
	}
	return out, rows.Err()
}

// MarkHandled implements store.InboxStore.
func (s *Store) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	return s.exec(ctx, "mark handled", `UPDATE messages SET handled = 1, data = NULL WHERE account = ? AND hash = ?`, account[:], hash)
}

// SaveHandled implements store.InboxStore.
func (s *Store) SaveHandled(ctx context.Context, account crypto.AccountID, in store.Incoming) error {
	return s.tx(ctx, func(q *sql.Conn) error {
		res, err := q.ExecContext(ctx, `UPDATE messages SET handled = 1, data = NULL WHERE account = ? AND hash = ?`, account[:], in.Hash)
		if err != nil {
			return fmt.Errorf("store/sqlite: save handled: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		_, err = q.ExecContext(ctx, `INSERT INTO messages (account, hash, namespace, data, ts, expiry, keep_until, handled)
			VALUES (?, ?, ?, NULL, ?, ?, ?, 1)`,
			account[:], in.Hash, in.Namespace, sqlstore.MS(in.Timestamp), sqlstore.MS(in.Expiry), sqlstore.MS(store.SeenUntil(time.Now())))
		if err != nil {
			return fmt.Errorf("store/sqlite: save handled: %w", err)
		}
		return s.grew(ctx, q, account, 1)
	})
}

// Prune implements store.InboxStore.
func (s *Store) Prune(ctx context.Context, now time.Time) error {
	return s.tx(ctx, func(q *sql.Conn) error {
		res, err := q.ExecContext(ctx, `DELETE FROM messages WHERE handled = 1 AND keep_until < ?`, sqlstore.MS(now))
		if err != nil {
			return fmt.Errorf("store/sqlite: prune: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if _, err := q.ExecContext(ctx, `UPDATE inbox_sizes SET n = (SELECT COUNT(*) FROM messages m WHERE m.account = inbox_sizes.account)`); err != nil {
				return fmt.Errorf("store/sqlite: prune: %w", err)
			}
			if _, err := q.ExecContext(ctx, `DELETE FROM inbox_sizes WHERE n = 0`); err != nil {
				return fmt.Errorf("store/sqlite: prune: %w", err)
			}
		}
		// Lease generations that ended long ago; the current one stays in leases.
		if _, err := q.ExecContext(ctx, `DELETE FROM lease_history WHERE ended_at < ?`, sqlstore.MS(now.Add(-store.MaxMessageTTL))); err != nil {
			return fmt.Errorf("store/sqlite: prune lease history: %w", err)
		}
		return nil
	})
}

// GetValue implements store.KVStore.
func (s *Store) GetValue(ctx context.Context, bucket, key string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM kv WHERE bucket = ? AND key = ?`, bucket, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: get %s/%s: %w", bucket, key, err)
	}
	return v, nil
}

// PutValue implements store.KVStore.
func (s *Store) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return s.exec(ctx, "put "+bucket+"/"+key, `INSERT INTO kv (bucket, key, value) VALUES (?, ?, ?)
		ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value`, bucket, key, value)
}

// DeleteValue implements store.KVStore.
func (s *Store) DeleteValue(ctx context.Context, bucket, key string) error {
	return s.exec(ctx, "delete "+bucket+"/"+key, `DELETE FROM kv WHERE bucket = ? AND key = ?`, bucket, key)
}
