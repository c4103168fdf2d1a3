package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/sessiongo/sdk/internal/sqlstore"
	"github.com/sessiongo/sdk/store"
)

// Leases in SQLite: times are milliseconds of the local clock, which every process using the
// file shares; each operation is one immediate transaction, so the check and the change cannot
// interleave with another process's.

// checkLease fails with a *store.LostError unless l is the current, unexpired generation.
func checkLease(ctx context.Context, q querier, l store.Lease, now time.Time) error {
	var holder string
	var gen, expires int64
	err := q.QueryRowContext(ctx, `SELECT holder, generation, expires_at FROM leases WHERE name = ?`, l.Name).Scan(&holder, &gen, &expires)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return &store.LostError{Lease: l, Why: "never granted"}
	case err != nil:
		return fmt.Errorf("store/sqlite: checking lease: %w", err)
	case gen != l.Generation || holder != l.Holder:
		return &store.LostError{Lease: l, Why: "now generation " + strconv.FormatInt(gen, 10) + " of " + holder}
	case expires <= now.UnixMilli():
		return &store.LostError{Lease: l, Why: "expired at " + sqlstore.FromMS(expires).Format(time.RFC3339Nano)}
	}
	return nil
}

// AcquireLease implements store.LeaseStore.
func (s *Store) AcquireLease(ctx context.Context, req store.LeaseRequest) (store.Lease, error) {
	if err := store.CheckLeaseRequest(req); err != nil {
		return store.Lease{}, err
	}
	var l store.Lease
	err := s.tx(ctx, func(q *sql.Conn) error {
		now := time.Now().UnixMilli()
		var holder string
		var gen, expires int64
		err := q.QueryRowContext(ctx, `SELECT holder, generation, expires_at FROM leases WHERE name = ?`, req.Name).Scan(&holder, &gen, &expires)
		held := err == nil
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store/sqlite: acquire lease: %w", err)
		}
		if held && expires > now && (req.Replace == 0 || req.Replace != gen) {
			return &store.HeldError{Name: req.Name, Holder: holder, Generation: gen, Expires: sqlstore.FromMS(expires)}
		}
		if held && expires > now {
			// Taken over (Replace) before it expired: that generation ends now.
			if _, err := q.ExecContext(ctx, `UPDATE lease_history SET ended_at = ? WHERE name = ? AND generation = ?`, now, req.Name, gen); err != nil {
				return fmt.Errorf("store/sqlite: acquire lease: %w", err)
			}
		}
		l = store.Lease{Name: req.Name, Holder: req.Holder, Generation: gen + 1, Acquired: sqlstore.FromMS(now), Expires: sqlstore.FromMS(now + req.TTL.Milliseconds())}
		if _, err := q.ExecContext(ctx, `INSERT INTO leases (name, holder, generation, acquired_at, expires_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, generation = excluded.generation,
			acquired_at = excluded.acquired_at, expires_at = excluded.expires_at`,
			l.Name, l.Holder, l.Generation, now, sqlstore.MS(l.Expires)); err != nil {
			return fmt.Errorf("store/sqlite: acquire lease: %w", err)
		}
		if _, err := q.ExecContext(ctx, `INSERT INTO lease_history (name, generation, holder, acquired_at, ended_at) VALUES (?, ?, ?, ?, ?)`,
			l.Name, l.Generation, l.Holder, now, sqlstore.MS(l.Expires)); err != nil {
			return fmt.Errorf("store/sqlite: acquire lease: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Lease{}, err
	}
	return l, nil
}

// RenewLease implements store.LeaseStore.
func (s *Store) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if err := store.CheckLeaseTTL(ttl); err != nil {
		return store.Lease{}, err
	}
	err := s.tx(ctx, func(q *sql.Conn) error {
		now := time.Now()
		if err := checkLease(ctx, q, l, now); err != nil {
			return err
		}
		l.Expires = sqlstore.FromMS(now.UnixMilli() + ttl.Milliseconds())
		return setEnd(ctx, q, l, sqlstore.MS(l.Expires), false)
	})
	if err != nil {
		return store.Lease{}, err
	}
	return l, nil
}

// RenewLeases implements store.LeaseStore.
func (s *Store) RenewLeases(ctx context.Context, ls []store.Lease, ttl time.Duration) ([]store.Lease, error) {
	if err := store.CheckLeaseTTL(ttl); err != nil {
		return nil, err
	}
	var out []store.Lease
	err := s.tx(ctx, func(q *sql.Conn) error {
		out = out[:0]
		now := time.Now()
		for _, l := range ls {
			err := checkLease(ctx, q, l, now)
			var lost *store.LostError
			if errors.As(err, &lost) {
				continue
			}
			if err != nil {
				return err
			}
			l.Expires = sqlstore.FromMS(now.UnixMilli() + ttl.Milliseconds())
			if err := setEnd(ctx, q, l, sqlstore.MS(l.Expires), false); err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func setEnd(ctx context.Context, q querier, l store.Lease, end int64, released bool) error {
	if _, err := q.ExecContext(ctx, `UPDATE leases SET expires_at = ? WHERE name = ? AND generation = ?`, end, l.Name, l.Generation); err != nil {
		return fmt.Errorf("store/sqlite: lease: %w", err)
	}
	if _, err := q.ExecContext(ctx, `UPDATE lease_history SET ended_at = ?, released = ? WHERE name = ? AND generation = ?`,
		end, released, l.Name, l.Generation); err != nil {
		return fmt.Errorf("store/sqlite: lease: %w", err)
	}
	return nil
}

// ReleaseLease implements store.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	return s.tx(ctx, func(q *sql.Conn) error {
		now := time.Now()
		if err := checkLease(ctx, q, l, now); err != nil {
			if errors.Is(err, store.ErrLeaseLost) {
				return nil
			}
			return err
		}
		return setEnd(ctx, q, l, now.UnixMilli(), true)
	})
}

// Leases implements store.LeaseStore.
func (s *Store) Leases(ctx context.Context) ([]store.Lease, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, holder, generation, acquired_at, expires_at FROM leases
		WHERE expires_at > ? ORDER BY name`, time.Now().UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: leases: %w", err)
	}
	defer rows.Close()
	var out []store.Lease
	for rows.Next() {
		var l store.Lease
		var acq, exp int64
		if err := rows.Scan(&l.Name, &l.Holder, &l.Generation, &acq, &exp); err != nil {
			return nil, fmt.Errorf("store/sqlite: leases: %w", err)
		}
		l.Acquired, l.Expires = sqlstore.FromMS(acq), sqlstore.FromMS(exp)
		out = append(out, l)
	}
	return out, rows.Err()
}

// LeaseHistory implements store.LeaseStore.
func (s *Store) LeaseHistory(ctx context.Context, name string) ([]store.LeaseRecord, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, generation, holder, acquired_at, ended_at, released FROM lease_history
		WHERE ? = '' OR name = ? ORDER BY name, generation`, name, name)
	if err != nil {
		return nil, fmt.Errorf("store/sqlite: lease history: %w", err)
	}
	defer rows.Close()
	var out []store.LeaseRecord
	for rows.Next() {
		var r store.LeaseRecord
		var acq, end int64
		if err := rows.Scan(&r.Name, &r.Generation, &r.Holder, &acq, &end, &r.Released); err != nil {
			return nil, fmt.Errorf("store/sqlite: lease history: %w", err)
		}
		r.Acquired, r.Ended = sqlstore.FromMS(acq), sqlstore.FromMS(end)
		out = append(out, r)
	}
	return out, rows.Err()
}
