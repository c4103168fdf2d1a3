// Package postgres is a store.Store in PostgreSQL (through pgx v5 and its pool), for fleets of
// processes sharing one database: the same interfaces and conformance suite as store/sqlite,
// numbered migrations (a database of a newer SDK is refused), every multi-step change in one
// transaction, and leases on the database server's clock, so that fenced writes are judged by
// the database, not by the clocks of the processes.
//
// A store lives in the schema that the connection's search_path names (e.g. a DSN ending in
// "search_path=bots"), so several independent stores can share one database.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/internal/sqlstore"
	"github.com/sessiongo/sdk/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is a store.Store in a PostgreSQL database. Open it with Open, or New for a pool you
// manage.
type Store struct {
	pool *pgxpool.Pool
	// leases serves the lease operations (acquire, release, listing) and renew the renewals:
	// pools of their own, so that neither a burst of work nor a burst of acquisitions (a
	// member taking over a hundred accounts at once) can starve the renewals of the leases it
	// already holds. New uses pool for all three.
	leases  *pgxpool.Pool
	renew   *pgxpool.Pool
	owned   bool
	maxSeen int
}

var _ store.Store = (*Store)(nil)

// IdleInTransactionTimeout is the idle_in_transaction_session_timeout Open sets unless the DSN
// names one (see Open). A pool given to New should set it too.
const IdleInTransactionTimeout = "2s"

// ErrSchemaTooNew reports a database written by a newer SDK: it is left untouched.
var ErrSchemaTooNew = errors.New("store/postgres: database schema is newer than this SDK")

// Open connects to the database of dsn (a libpq connection string or URL, e.g.
// "postgres://bot@db.example/bots?sslmode=verify-full") through a connection pool and brings its
// schema up to date.
func Open(ctx context.Context, dsn string, opts ...store.Option) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: bad connection string: %w", err)
	}
	// A process cut off from the database in the middle of a transaction would keep its row
	// locks (a lease's row among them) until the server notices, which TCP alone may take
	// hours to do: the other members could not take its accounts over. The store's
	// transactions never wait for anything but the next statement, so the server may end a
	// session idle in one for 2 s. A DSN may set its own value.
	if _, set := cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"]; !set {
		cfg.ConnConfig.RuntimeParams["idle_in_transaction_session_timeout"] = IdleInTransactionTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store/postgres: connect: %w", err)
	}
	s, err := New(ctx, pool, opts...)
	if err != nil {
		pool.Close()
		return nil, err
	}
	pools := make([]*pgxpool.Pool, 2)
	for i, size := range []int32{leasePoolSize, renewPoolSize} {
		lcfg := cfg.Copy()
		lcfg.MaxConns, lcfg.MinConns = size, 0
		if pools[i], err = pgxpool.NewWithConfig(ctx, lcfg); err != nil {
			pool.Close()
			if i > 0 {
				pools[0].Close()
			}
			return nil, fmt.Errorf("store/postgres: connect: %w", err)
		}
	}
	s.leases, s.renew, s.owned = pools[0], pools[1], true
	return s, nil
}

// leasePoolSize and renewPoolSize size the pools for lease operations: single-row statements
// of a few milliseconds (a renewal is one statement for all the leases of a process), so a few
// connections serve thousands of leases a second.
const (
	leasePoolSize = 4
	renewPoolSize = 2
)

// New uses pool and applies any migrations it lacks. Close does not close pool.
func New(ctx context.Context, pool *pgxpool.Pool, opts ...store.Option) (*Store, error) {
	s := &Store{pool: pool, leases: pool, renew: pool, maxSeen: store.ApplyOptions(opts).MaxSeenPerAccount}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Pool returns the store's connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool if Open opened it.
func (s *Store) Close() error {
	if s.owned {
		s.pool.Close()
		s.leases.Close()
		s.renew.Close()
	}
	return nil
}

// SchemaVersion is the number of the newest migration this package applies.
func SchemaVersion() int {
	ms, err := sqlstore.Migrations(migrationFS, "migrations", "store/postgres")
	if err != nil {
		return 0
	}
	return len(ms)
}

// migrate applies the missing migrations in one transaction under an advisory lock of the
// schema, so that processes starting together apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqlstore.Migrations(migrationFS, "migrations", "store/postgres")
	if err != nil {
		return err
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('sessiongo.migrate.' || current_schema()))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)`); err != nil {
			return err
		}
		var cur int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
			return err
		}
		if cur > len(ms) {
			return fmt.Errorf("%w (database %d, SDK %d): upgrade the SDK", ErrSchemaTooNew, cur, len(ms))
		}
		for _, m := range ms[cur:] {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version) VALUES ($1)`, m.Version); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrSchemaTooNew) {
			return err
		}
		return fmt.Errorf("store/postgres: migrate: %w", err)
	}
	return nil
}

// tx runs f in a transaction, after checking the fence of ctx, if any (store.FenceOf), in it:
// the check takes a share lock on the lease's row, so that no acquisition can commit between
// the check and the write.
func (s *Store) tx(ctx context.Context, f func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if fence, ok := store.FenceOf(ctx); ok {
			if err := checkLease(ctx, tx, fence); err != nil {
				return err
			}
		}
		return f(tx)
	})
}

// exec runs one statement: alone, or fenced in a transaction.
func (s *Store) exec(ctx context.Context, what, sql string, args ...any) error {
	var err error
	if _, fenced := store.FenceOf(ctx); !fenced {
		_, err = s.pool.Exec(ctx, sql, args...)
	} else {
		err = s.tx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, sql, args...)
			return err
		})
	}
	if err != nil {
		return wrap(what, err)
	}
	return nil
}

// wrap adds context to a database error, leaving lease errors as they are.
func wrap(what string, err error) error {
	var lost *store.LostError
	if errors.As(err, &lost) || errors.Is(err, store.ErrAccountInUse) {
		return err
	}
	return fmt.Errorf("store/postgres: %s: %w", what, err)
}

// PutAccount implements store.AccountStore.
func (s *Store) PutAccount(ctx context.Context, a store.Account) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = time.Now()
	}
	return s.exec(ctx, "put account "+a.ID.String(), `INSERT INTO accounts (id, seed, name, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET seed = excluded.seed, name = excluded.name`, a.ID[:], a.Seed[:], a.Name, sqlstore.MS(a.CreatedAt))
}

func scanAccount(row pgx.Row) (store.Account, error) {
	var a store.Account
	var id, seed []byte
	var created int64
	if err := row.Scan(&id, &seed, &a.Name, &created); err != nil {
		return a, err
	}
	if len(id) != crypto.AccountIDSize || len(seed) != 32 {
		return a, fmt.Errorf("store/postgres: corrupt account row (id %d bytes, seed %d bytes)", len(id), len(seed))
	}
	a.ID = crypto.AccountID(id)
	a.Seed = [32]byte(seed)
	a.CreatedAt = sqlstore.FromMS(created)
	return a, nil
}

// GetAccount implements store.AccountStore.
func (s *Store) GetAccount(ctx context.Context, id crypto.AccountID) (store.Account, error) {
	a, err := scanAccount(s.pool.QueryRow(ctx, `SELECT id, seed, name, created_at FROM accounts WHERE id = $1`, id[:]))
	if errors.Is(err, pgx.ErrNoRows) {
		return store.Account{}, store.ErrNotFound
	}
	if err != nil {
		return store.Account{}, wrap("get account "+id.String(), err)
	}
	return a, nil
}

// Accounts implements store.AccountStore.
func (s *Store) Accounts(ctx context.Context) ([]store.Account, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, seed, name, created_at FROM accounts ORDER BY created_at, id`)
	if err != nil {
		return nil, wrap("list accounts", err)
	}
	defer rows.Close()
	var out []store.Account
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, wrap("list accounts", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list accounts", err)
	}
	return out, nil
}

// DeleteAccount implements store.AccountStore.
func (s *Store) DeleteAccount(ctx context.Context, id crypto.AccountID) error {
	prefix := []byte(id.String() + "/")
	err := s.tx(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM accounts WHERE id = $1`,
			`DELETE FROM cursors WHERE account = $1`,
			`DELETE FROM messages WHERE account = $1`,
			`DELETE FROM inbox_sizes WHERE account = $1`,
		} {
			if _, err := tx.Exec(ctx, q, id[:]); err != nil {
				return err
			}
		}
		// The prefix compared as bytes, with no pattern characters.
		_, err := tx.Exec(ctx, `DELETE FROM kv WHERE substring(key FROM 1 FOR $1) = $2`, len(prefix), prefix)
		return err
	})
	if err != nil {
		return wrap("delete account "+id.String(), err)
	}
	return nil
}

// LastHash implements store.InboxStore.
func (s *Store) LastHash(ctx context.Context, c store.Cursor) (string, error) {
	var h []byte
	err := s.pool.QueryRow(ctx, `SELECT last_hash FROM cursors WHERE account = $1 AND swarm = $2 AND namespace = $3`,
		c.Account[:], c.Swarm[:], c.Namespace).Scan(&h)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", wrap("last hash", err)
	}
	return string(h), nil
}

// SaveRetrieved implements store.InboxStore.
func (s *Store) SaveRetrieved(ctx context.Context, c store.Cursor, msgs []store.Incoming, lastHash string) ([]store.Incoming, error) {
	// One row per hash, the first given; all inserted by one statement, in order.
	now := time.Now()
	seen := make(map[string]bool, len(msgs))
	var uniq []store.Incoming
	hashes, nss, datas := [][]byte{}, []int16{}, [][]byte{}
	tss, exps, keeps := []int64{}, []int64{}, []int64{}
	for _, in := range msgs {
		if seen[in.Hash] {
			continue
		}
		seen[in.Hash] = true
		uniq = append(uniq, in)
		hashes = append(hashes, []byte(in.Hash))
		nss = append(nss, in.Namespace)
		datas = append(datas, in.Data)
		tss = append(tss, sqlstore.MS(in.Timestamp))
		exps = append(exps, sqlstore.MS(in.Expiry))
		keeps = append(keeps, sqlstore.MS(store.SeenUntil(now)))
	}
	var fresh []store.Incoming
	err := s.tx(ctx, func(tx pgx.Tx) error {
		fresh = fresh[:0]
		if len(uniq) > 0 {
			rows, err := tx.Query(ctx, `INSERT INTO messages (account, hash, namespace, data, ts, expiry, keep_until)
				SELECT $1, h, ns, d, ts, ex, ku
				FROM unnest($2::bytea[], $3::smallint[], $4::bytea[], $5::bigint[], $6::bigint[], $7::bigint[])
					WITH ORDINALITY AS u(h, ns, d, ts, ex, ku, ord)
				ORDER BY ord
				ON CONFLICT (account, hash) DO NOTHING
				RETURNING hash`, c.Account[:], hashes, nss, datas, tss, exps, keeps)
			if err != nil {
				return err
			}
			inserted := map[string]bool{}
			for rows.Next() {
				var h []byte
				if err := rows.Scan(&h); err != nil {
					rows.Close()
					return err
				}
				inserted[string(h)] = true
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, in := range uniq {
				if inserted[in.Hash] {
					fresh = append(fresh, in)
				}
			}
		}
		if lastHash != "" {
			if _, err := tx.Exec(ctx, `INSERT INTO cursors (account, swarm, namespace, last_hash) VALUES ($1, $2, $3, $4)
				ON CONFLICT (account, swarm, namespace) DO UPDATE SET last_hash = excluded.last_hash`,
				c.Account[:], c.Swarm[:], c.Namespace, []byte(lastHash)); err != nil {
				return err
			}
		}
		return s.grew(ctx, tx, c.Account, len(fresh))
	})
	if err != nil {
		return nil, wrap("save retrieved", err)
	}
	return fresh, nil
}

// grew counts added records of account and, past the bound, forgets its oldest handled ones.
func (s *Store) grew(ctx context.Context, tx pgx.Tx, account crypto.AccountID, added int) error {
	if added == 0 {
		return nil
	}
	var n int
	if err := tx.QueryRow(ctx, `INSERT INTO inbox_sizes (account, n) VALUES ($1, $2)
		ON CONFLICT (account) DO UPDATE SET n = inbox_sizes.n + excluded.n RETURNING n`, account[:], added).Scan(&n); err != nil {
		return err
	}
	evict := store.Evict(n, s.maxSeen)
	if evict == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `WITH gone AS (
			DELETE FROM messages WHERE seq IN
				(SELECT seq FROM messages WHERE account = $1 AND handled ORDER BY seq LIMIT $2)
			RETURNING 1)
		UPDATE inbox_sizes SET n = n - (SELECT count(*) FROM gone) WHERE account = $1`, account[:], evict)
	return err
}

// Pending implements store.InboxStore.
func (s *Store) Pending(ctx context.Context, account crypto.AccountID) ([]store.Incoming, error) {
	rows, err := s.pool.Query(ctx, `SELECT hash, namespace, data, ts, expiry, keep_until FROM messages
		WHERE account = $1 AND NOT handled ORDER BY seq`, account[:])
	if err != nil {
		return nil, wrap("pending", err)
	}
	defer rows.Close()
	var out []store.Incoming
	for rows.Next() {
		var in store.Incoming
		var h []byte
		var ts, exp, keep int64
		if err := rows.Scan(&h, &in.Namespace, &in.Data, &ts, &exp, &keep); err != nil {
			return nil, wrap("pending", err)
		}
		in.Hash = string(h)
		in.Timestamp, in.Expiry = sqlstore.FromMS(ts), sqlstore.FromMS(exp)
		in.Saved = store.SavedAt(sqlstore.FromMS(keep))
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("pending", err)
	}
	return out, nil
}

// MarkHandled implements store.InboxStore.
func (s *Store) MarkHandled(ctx context.Context, account crypto.AccountID, hash string) error {
	return s.exec(ctx, "mark handled", `UPDATE messages SET handled = true, data = NULL WHERE account = $1 AND hash = $2`,
		account[:], []byte(hash))
}

// SaveHandled implements store.InboxStore.
func (s *Store) SaveHandled(ctx context.Context, account crypto.AccountID, in store.Incoming) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var inserted bool
		err := tx.QueryRow(ctx, `INSERT INTO messages (account, hash, namespace, data, ts, expiry, keep_until, handled)
			VALUES ($1, $2, $3, NULL, $4, $5, $6, true)
			ON CONFLICT (account, hash) DO UPDATE SET handled = true, data = NULL
			RETURNING (xmax = 0)`,
			account[:], []byte(in.Hash), in.Namespace, sqlstore.MS(in.Timestamp), sqlstore.MS(in.Expiry), sqlstore.MS(store.SeenUntil(time.Now()))).Scan(&inserted)
		if err != nil {
			return err
		}
		if inserted {
			return s.grew(ctx, tx, account, 1)
		}
		return nil
	})
	if err != nil {
		return wrap("save handled", err)
	}
	return nil
}

// Prune implements store.InboxStore.
func (s *Store) Prune(ctx context.Context, now time.Time) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `WITH gone AS (DELETE FROM messages WHERE handled AND keep_until < $1 RETURNING account)
			UPDATE inbox_sizes s SET n = s.n - g.c FROM (SELECT account, count(*) AS c FROM gone GROUP BY account) g
			WHERE s.account = g.account`, sqlstore.MS(now)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM inbox_sizes WHERE n <= 0`); err != nil {
			return err
		}
		// Lease generations that ended long ago; the current one stays in leases.
		_, err := tx.Exec(ctx, `DELETE FROM lease_history WHERE ended_at < $1`, now.Add(-store.MaxMessageTTL))
		return err
	})
	if err != nil {
		return wrap("prune", err)
	}
	return nil
}

// GetValue implements store.KVStore.
func (s *Store) GetValue(ctx context.Context, bucket, key string) ([]byte, error) {
	var v []byte
	err := s.pool.QueryRow(ctx, `SELECT value FROM kv WHERE bucket = $1 AND key = $2`, []byte(bucket), []byte(key)).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, wrap("get "+bucket+"/"+key, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, nil
}

// PutValue implements store.KVStore.
func (s *Store) PutValue(ctx context.Context, bucket, key string, value []byte) error {
	if value == nil {
		value = []byte{}
	}
	return s.exec(ctx, "put "+bucket+"/"+key, `INSERT INTO kv (bucket, key, value) VALUES ($1, $2, $3)
		ON CONFLICT (bucket, key) DO UPDATE SET value = excluded.value`, []byte(bucket), []byte(key), value)
}

// DeleteValue implements store.KVStore.
func (s *Store) DeleteValue(ctx context.Context, bucket, key string) error {
	return s.exec(ctx, "delete "+bucket+"/"+key, `DELETE FROM kv WHERE bucket = $1 AND key = $2`, []byte(bucket), []byte(key))
}

// isUniqueViolation reports a unique-constraint error.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
