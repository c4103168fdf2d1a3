package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sessiongo/sdk/store"
)

// Leases in PostgreSQL: every time is the server's clock_timestamp(), so that processes on
// machines whose clocks disagree still agree on who holds what. An acquisition locks the
// lease's row FOR UPDATE; a fenced write locks it FOR SHARE for its whole transaction; so a
// takeover waits for the writes under the old generation to commit, and no write under the old
// generation can commit after it.

// checkLease fails with a *store.LostError unless l is the current, unexpired generation, and
// keeps the lease's row share-locked until the transaction ends.
func checkLease(ctx context.Context, tx pgx.Tx, l store.Lease) error {
	var holder string
	var gen int64
	var expires time.Time
	var live bool
	err := tx.QueryRow(ctx, `SELECT holder, generation, expires_at, expires_at > clock_timestamp()
		FROM leases WHERE name = $1 FOR SHARE`, l.Name).Scan(&holder, &gen, &expires, &live)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || err == nil && gen == 0:
		return &store.LostError{Lease: l, Why: "never granted"}
	case err != nil:
		return err
	case gen != l.Generation || holder != l.Holder:
		return &store.LostError{Lease: l, Why: "now generation " + strconv.FormatInt(gen, 10) + " of " + holder}
	case !live:
		return &store.LostError{Lease: l, Why: "expired at " + expires.Format(time.RFC3339Nano)}
	}
	return nil
}

// AcquireLease implements store.LeaseStore.
func (s *Store) AcquireLease(ctx context.Context, req store.LeaseRequest) (store.Lease, error) {
	if err := store.CheckLeaseRequest(req); err != nil {
		return store.Lease{}, err
	}
	// An unlocked look first: a lease live in someone's hands (the usual contended case: a
	// member asking for an account that its previous owner still serves) is refused without
	// locking its row, since a waiting FOR UPDATE would queue the holder's renewals and fenced
	// writes behind it. A refusal on a stale read is safe (the caller asks again later).
	if req.Replace == 0 {
		var held store.HeldError
		var live bool
		err := s.leases.QueryRow(ctx, `SELECT holder, generation, expires_at, expires_at > clock_timestamp()
			FROM leases WHERE name = $1`, req.Name).Scan(&held.Holder, &held.Generation, &held.Expires, &live)
		switch {
		case err == nil && live && held.Generation > 0:
			held.Name = req.Name
			return store.Lease{}, &held
		case err != nil && !errors.Is(err, pgx.ErrNoRows):
			return store.Lease{}, wrap("acquire lease "+req.Name, err)
		}
	}
	var l store.Lease
	err := pgx.BeginFunc(ctx, s.leases, func(tx pgx.Tx) error {
		// A placeholder row first, so that there is a row to lock even for a lease never
		// held (two first acquisitions then queue on it instead of colliding).
		if _, err := tx.Exec(ctx, `INSERT INTO leases (name, holder, generation, acquired_at, expires_at)
			VALUES ($1, '', 0, 'epoch', 'epoch') ON CONFLICT (name) DO NOTHING`, req.Name); err != nil {
			return err
		}
		var holder string
		var gen int64
		var expires time.Time
		var live bool
		if err := tx.QueryRow(ctx, `SELECT holder, generation, expires_at, expires_at > clock_timestamp()
			FROM leases WHERE name = $1 FOR UPDATE`, req.Name).Scan(&holder, &gen, &expires, &live); err != nil {
			return err
		}
		if live && (req.Replace == 0 || req.Replace != gen) {
			return &store.HeldError{Name: req.Name, Holder: holder, Generation: gen, Expires: expires}
		}
		if live {
			// Taken over (Replace) before it expired: that generation ends now.
			if _, err := tx.Exec(ctx, `UPDATE lease_history SET ended_at = clock_timestamp() WHERE name = $1 AND generation = $2`,
				req.Name, gen); err != nil {
				return err
			}
		}
		l = store.Lease{Name: req.Name, Holder: req.Holder, Generation: gen + 1}
		if err := tx.QueryRow(ctx, `UPDATE leases SET holder = $2, generation = $3, acquired_at = clock_timestamp(),
				expires_at = clock_timestamp() + $4 * interval '1 millisecond'
			WHERE name = $1 RETURNING acquired_at, expires_at`,
			l.Name, l.Holder, l.Generation, req.TTL.Milliseconds()).Scan(&l.Acquired, &l.Expires); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO lease_history (name, generation, holder, acquired_at, ended_at) VALUES ($1, $2, $3, $4, $5)`,
			l.Name, l.Generation, l.Holder, l.Acquired, l.Expires)
		return err
	})
	if err != nil {
		if isUniqueViolation(err) {
			// A history row of this generation exists: the lease table was changed by hand.
			return store.Lease{}, wrap("acquire lease "+req.Name+": lease tables disagree", err)
		}
		return store.Lease{}, wrap("acquire lease "+req.Name, err)
	}
	return l, nil
}

// RenewLease implements store.LeaseStore.
func (s *Store) RenewLease(ctx context.Context, l store.Lease, ttl time.Duration) (store.Lease, error) {
	if err := store.CheckLeaseTTL(ttl); err != nil {
		return store.Lease{}, err
	}
	err := pgx.BeginFunc(ctx, s.renew, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `UPDATE leases SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
			WHERE name = $1 AND generation = $2 AND holder = $3 AND expires_at > clock_timestamp()
			RETURNING expires_at`, l.Name, l.Generation, l.Holder, ttl.Milliseconds()).Scan(&l.Expires)
		if errors.Is(err, pgx.ErrNoRows) {
			if err := checkLease(ctx, tx, l); err != nil {
				return err // says why
			}
			return &store.LostError{Lease: l, Why: "expired"}
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE lease_history SET ended_at = $3 WHERE name = $1 AND generation = $2`, l.Name, l.Generation, l.Expires)
		return err
	})
	if err != nil {
		return store.Lease{}, wrap("renew lease "+l.Name, err)
	}
	return l, nil
}

// RenewLeases implements store.LeaseStore: one UPDATE for all, in one transaction.
func (s *Store) RenewLeases(ctx context.Context, ls []store.Lease, ttl time.Duration) ([]store.Lease, error) {
	if err := store.CheckLeaseTTL(ttl); err != nil {
		return nil, err
	}
	if len(ls) == 0 {
		return nil, nil
	}
	names, gens, holders := make([]string, len(ls)), make([]int64, len(ls)), make([]string, len(ls))
	for i, l := range ls {
		names[i], gens[i], holders[i] = l.Name, l.Generation, l.Holder
	}
	renewed := map[string]time.Time{}
	err := pgx.BeginFunc(ctx, s.renew, func(tx pgx.Tx) error {
		clear(renewed)
		rows, err := tx.Query(ctx, `UPDATE leases l SET expires_at = clock_timestamp() + $4 * interval '1 millisecond'
			FROM unnest($1::text[], $2::bigint[], $3::text[]) AS u(name, generation, holder)
			WHERE l.name = u.name AND l.generation = u.generation AND l.holder = u.holder AND l.expires_at > clock_timestamp()
			RETURNING l.name, l.expires_at`, names, gens, holders, ttl.Milliseconds())
		if err != nil {
			return err
		}
		var rn []string
		var re []time.Time
		for rows.Next() {
			var n string
			var e time.Time
			if err := rows.Scan(&n, &e); err != nil {
				rows.Close()
				return err
			}
			renewed[n] = e
			rn, re = append(rn, n), append(re, e)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(rn) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE lease_history h SET ended_at = u.ended
			FROM unnest($1::text[], $2::timestamptz[]) AS u(name, ended), leases l
			WHERE h.name = u.name AND l.name = u.name AND h.generation = l.generation`, rn, re)
		return err
	})
	if err != nil {
		return nil, wrap("renew leases", err)
	}
	var out []store.Lease
	for _, l := range ls {
		if e, ok := renewed[l.Name]; ok {
			l.Expires = e
			out = append(out, l)
		}
	}
	return out, nil
}

// ReleaseLease implements store.LeaseStore.
func (s *Store) ReleaseLease(ctx context.Context, l store.Lease) error {
	err := pgx.BeginFunc(ctx, s.leases, func(tx pgx.Tx) error {
		var end time.Time
		err := tx.QueryRow(ctx, `UPDATE leases SET expires_at = clock_timestamp()
			WHERE name = $1 AND generation = $2 AND holder = $3 AND expires_at > clock_timestamp()
			RETURNING expires_at`, l.Name, l.Generation, l.Holder).Scan(&end)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // no longer current: nothing to release
		}
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE lease_history SET ended_at = $3, released = true WHERE name = $1 AND generation = $2`,
			l.Name, l.Generation, end)
		return err
	})
	if err != nil {
		return wrap("release lease "+l.Name, err)
	}
	return nil
}

// Leases implements store.LeaseStore.
func (s *Store) Leases(ctx context.Context) ([]store.Lease, error) {
	rows, err := s.leases.Query(ctx, `SELECT name, holder, generation, acquired_at, expires_at FROM leases
		WHERE generation > 0 AND expires_at > clock_timestamp() ORDER BY name`)
	if err != nil {
		return nil, wrap("leases", err)
	}
	defer rows.Close()
	var out []store.Lease
	for rows.Next() {
		var l store.Lease
		if err := rows.Scan(&l.Name, &l.Holder, &l.Generation, &l.Acquired, &l.Expires); err != nil {
			return nil, wrap("leases", err)
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("leases", err)
	}
	return out, nil
}

// LeaseHistory implements store.LeaseStore.
func (s *Store) LeaseHistory(ctx context.Context, name string) ([]store.LeaseRecord, error) {
	rows, err := s.leases.Query(ctx, `SELECT name, generation, holder, acquired_at, ended_at, released FROM lease_history
		WHERE $1 = '' OR name = $1 ORDER BY name, generation`, name)
	if err != nil {
		return nil, wrap("lease history", err)
	}
	defer rows.Close()
	var out []store.LeaseRecord
	for rows.Next() {
		var r store.LeaseRecord
		if err := rows.Scan(&r.Name, &r.Generation, &r.Holder, &r.Acquired, &r.Ended, &r.Released); err != nil {
			return nil, wrap("lease history", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("lease history", err)
	}
	return out, nil
}
