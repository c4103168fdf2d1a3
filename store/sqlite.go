package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sessiongo/sdk/crypto"
	_ "modernc.org/sqlite" // pure-Go SQLite driver, registered as "sqlite"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// SQLite is a Store in one SQLite file (through the pure-Go modernc.org/sqlite driver), holding
// any number of accounts. Open it with OpenSQLite, or NewSQLite for a *sql.DB you manage.
type SQLite struct {
	db    *sql.DB
	owned bool
}

var _ Store = (*SQLite)(nil)

// OpenSQLite opens (creating if needed) the database file at path and brings its schema up to
// date. Use ":memory:" for a private in-memory database.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	if path != ":memory:" {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// One connection: SQLite serialises writers anyway, and ":memory:" is per connection.
	db.SetMaxOpenConns(1)
	s, err := NewSQLite(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.owned = true
	return s, nil
}

// NewSQLite uses db, an open SQLite database (driver "sqlite" of modernc.org/sqlite), and applies
// any migrations it lacks. Close does not close db.
func NewSQLite(ctx context.Context, db *sql.DB) (*SQLite, error) {
	s := &SQLite{db: db}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("store: migration file %q is not named NNNN_name.sql", e.Name())
		}
		b, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{v, e.Name(), string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("store: migrations are not numbered 1..n (found %s)", m.name)
		}
	}
	return out, nil
}

// SchemaVersion is the number of the newest migration this package applies.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil {
		return 0
	}
	return len(ms)
}

func (s *SQLite) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	var cur int
	err = s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur)
	if err != nil {
		return fmt.Errorf("store: migrate: reading version: %w", err)
	}
	if cur > len(ms) {
		return fmt.Errorf("store: database schema version %d is newer than this SDK's %d", cur, len(ms))
	}
	for _, m := range ms[cur:] {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, m.version); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migrate %s: %w", m.name, err)
		}
	}
	return nil
}

// Close closes the database if OpenSQLite opened it.
func (s *SQLite) Close() error {
	if s.owned {
		return s.db.Close()
	}
	return nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// PutAccount implements AccountStore.
func (s *SQLite) PutAccount(ctx context.Context, a Account) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO accounts (id, seed, name, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET seed = excluded.seed, name = excluded.name`,
		a.ID[:], a.Seed[:], a.Name, ms(a.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: put account %s: %w", a.ID, err)
	}
	return nil
}

func scanAccount(sc interface{ Scan(...any) error }) (Account, error) {
	var a Account
	var id, seed []byte
	var created int64
	if err := sc.Scan(&id, &seed, &a.Name, &created); err != nil {
		return a, err
	}
	if len(id) != crypto.AccountIDSize || len(seed) != 32 {
		return a, fmt.Errorf("store: corrupt account row (id %d bytes, seed %d bytes)", len(id), len(seed))
	}
	a.ID = crypto.AccountID(id)
	a.Seed = [32]byte(seed)
	a.CreatedAt = fromMS(created)
	return a, nil
}

// GetAccount implements AccountStore.
func (s *SQLite) GetAccount(ctx context.Context, id crypto.AccountID) (Account, error) {
	row := s.db.QueryRowContext(ctx, `SELECT id, seed, name, created_at FROM accounts WHERE id = ?`, id[:])
	a, err := scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, ErrNotFound
	}
	if err != nil {
		return Account{}, fmt.Errorf("store: get account %s: %w", id, err)
	}
	return a, nil
}

// Accounts implements AccountStore.
func (s *SQLite) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, seed, name, created_at FROM accounts ORDER BY created_at, hex(id)`)
	if err != nil {
		return nil, fmt.Errorf("store: list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list accounts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// DeleteAccount implements AccountStore.
func (s *SQLite) DeleteAccount(ctx context.Context, id crypto.AccountID) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []string{
			`DELETE FROM accounts WHERE id = ?`,
			`DELETE FROM cursors WHERE account = ?`,
			`DELETE FROM messages WHERE account = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, id[:]); err != nil {
				return fmt.Errorf("store: delete account %s: %w", id, err)
			}
		}
		// substr rather than LIKE: the prefix is matched exactly, with no wildcards.
		prefix := id.String() + "/"
		if _, err := tx.ExecContext(ctx, `DELETE FROM kv WHERE substr(key, 1, ?) = ?`, len(prefix), prefix); err != nil {
			return fmt.Errorf("store: delete account %s: %w", id, err)
		}
		return nil
	})
}

func (s *SQLite) inTx(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := f(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// LastHash implements InboxStore.
func (s *SQLite) LastHash(ctx context.Context, c Cursor) (string, error) {
	var h string
	err := s.db.QueryRowContext(ctx, `SELECT last_hash FROM cursors WHERE account = ? AND swarm = ? AND namespace = ?`,
		c.Account[:], c.Swarm[:], c.Namespace).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: last hash: %w", err)
	}
	return h, nil
}

// SaveRetrieved implements InboxStore.
func (s *SQLite) SaveRetrieved(ctx context.Context, c Cursor, msgs []Incoming, lastHash string) ([]Incoming, error) {
	var fresh []Incoming
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		fresh = fresh[:0]
		for _, in := range msgs {
			res, err := tx.ExecContext(ctx, `INSERT INTO messages (account, hash, namespace, data, ts, expiry)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (account, hash) DO NOTHING`,
				c.Account[:], in.Hash, in.Namespace, in.Data, ms(in.Timestamp), ms(in.Expiry))
			if err != nil {
				return fmt.Errorf("store: save message: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 1 {
				fresh = append(fresh, in)
			}
		}
		if lastHash != "" {
			_, err := tx.ExecContext(ctx, `INSERT INTO cursors (account, swarm, namespace, last_hash) VALUES (?, ?, ?, ?)
				ON CONFLICT (account, swarm, namespace) DO UPDATE SET last_hash = excluded.last_hash`,
				c.Account[:], c.Swarm[:], c.Namespace, lastHash)
			if err != nil {
				return fmt.Errorf("store: save last hash: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return fresh, nil
}

// Pending implements InboxStore.
func (s *SQLite) Pending(ctx context.Context, account crypto.AccountID) ([]Incoming, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT hash, namespace, data, ts, expiry FROM messages
		WHERE account = ? AND handled = 0 ORDER BY seq`, account[:])
	if err != nil {
		return nil, fmt.Errorf("store: pending: %w", err)
	}
	defer rows.Close()
	var out []Incoming
	for rows.Next() {
		var in Incoming
		var ts, exp int64
		if err := rows.Scan(&in.Hash, &in.Namespace, &in.Data, &ts, &exp); err != nil {
			return nil, fmt.Errorf("store: pending: %w", err)
		}
		in.Timestamp, in.Expiry = fromMS(ts), fromMS(exp)
		out = append(out, in)
	}
	return out, rows.Err()
}

// MarkHandled implements InboxStore.
func (s *SQLite) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	_, err := s.db.ExecContext(ctx, `UPDATE messages SET handled = 1, data = NULL WHERE account = ? AND hash = ?`, account[:], hash)
	if err != nil {
		return fmt.Errorf("store: mark handled: %w", err)
	}
	return nil
}

// SaveHandled implements InboxStore.
func (s *SQLite) SaveHandled(ctx context.Context, account crypto.AccountID, in Incoming) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO messages (account, hash, namespace, data, ts, expiry, handled)
		VALUES (?, ?, ?, NULL, ?, ?, 1) ON CONFLICT (account, hash) DO UPDATE SET handled = 1, data = NULL`,
		account[:], in.Hash, in.Namespace, ms(in.Timestamp), ms(in.Expiry))
	if err != nil {
		return fmt.Errorf("store: save handled: %w", err)
	}
	return nil
}

// Prune implements InboxStore.
func (s *SQLite) Prune(ctx context.Context, t time.Time) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM messages WHERE handled = 1 AND expiry != 0 AND expiry < ?`, ms(t))
	if err != nil {
		return fmt.Errorf("store: prune: %w", err)
	}
	return nil
}

// GetValue implements KVStore.
func (s *SQLite) GetValue(ctx context.Context, bucket, key string) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM kv WHERE bucket = ? AND key = ?`, bucket, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: get %s/%s: %w", bucket, key, err)
	}
	return v, nil
}

// PutValue implements KVStore.
func (s *SQLite) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO kv (bucket, key, value) VALUES (?, ?, ?)
		ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value`, bucket, key, value)
	if err != nil {
		return fmt.Errorf("store: put %s/%s: %w", bucket, key, err)
	}
	return nil
}

// DeleteValue implements KVStore.
func (s *SQLite) DeleteValue(ctx context.Context, bucket, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM kv WHERE bucket = ? AND key = ?`, bucket, key)
	if err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", bucket, key, err)
	}
	return nil
}
