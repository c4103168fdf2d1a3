package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sessiongo/sdk/store"
	"github.com/sessiongo/sdk/store/postgres"
)

// envPostgresDSN gives -dsn its default (the same variable the tests use).
const envPostgresDSN = "SESSIONGO_POSTGRES_DSN"

func init() {
	commands["leases"] = command{summary: "show which process holds each account (leases of clients and fleets), and their history", run: runLeases}
}

// leaseRow is a lease as printed (and as -json writes it).
type leaseRow struct {
	Name       string    `json:"name"`
	Account    string    `json:"account,omitempty"`
	Fleet      string    `json:"fleet,omitempty"` // for a fleet member's lease
	Holder     string    `json:"holder"`
	Generation int64     `json:"generation"`
	Acquired   time.Time `json:"acquired"`
	Expires    time.Time `json:"expires,omitempty"`
	Ended      time.Time `json:"ended,omitempty"`
	Released   bool      `json:"released,omitempty"`
}

func runLeases(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("leases", "", "Shows the current account leases (which process serves which account) and the fleet\n"+
		"members, from a SQLite file (-db) or a PostgreSQL database (-dsn). With -history, every\n"+
		"generation of the leases instead, checked for overlaps.", stderr)
	db := addDBFlag(fs)
	dsn := fs.String("dsn", os.Getenv(envPostgresDSN), "PostgreSQL connection string (default: $"+envPostgresDSN+"); overrides -db")
	history := fs.Bool("history", false, "print every generation of the leases, oldest first, and check that none overlap")
	account := fs.String("account", "", "only this account's lease (with -history, its history)")
	asJSON := addJSONFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := openLeaseStore(ctx, *db, *dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	name := ""
	if *account != "" {
		id, err := parseAccountArg("-account", *account)
		if err != nil {
			return err
		}
		name = store.AccountLease(id)
	}
	if *history {
		recs, err := st.LeaseHistory(ctx, name)
		if err != nil {
			return err
		}
		rows := make([]leaseRow, 0, len(recs))
		for _, r := range recs {
			row := describeLease(r.Name, r.Holder, r.Generation, r.Acquired)
			row.Ended, row.Released = r.Ended, r.Released
			rows = append(rows, row)
		}
		overlap := store.CheckLeaseHistory(recs)
		out := struct {
			Leases  []leaseRow `json:"history"`
			Overlap string     `json:"overlap,omitempty"`
		}{rows, ""}
		if overlap != nil {
			out.Overlap = overlap.Error()
		}
		if err := emit(stdout, *asJSON, out, func(w io.Writer) {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LEASE\tGEN\tHOLDER\tACQUIRED\tENDED")
			for _, r := range rows {
				end := r.Ended.Format(time.RFC3339Nano)
				if r.Released {
					end += " (released)"
				}
				fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", r.label(), r.Generation, r.Holder, r.Acquired.Format(time.RFC3339Nano), end)
			}
			tw.Flush()
			if overlap == nil {
				fmt.Fprintf(w, "%d generations, no overlap\n", len(rows))
			}
		}); err != nil {
			return err
		}
		if overlap != nil {
			return fmt.Errorf("lease history: %w", overlap)
		}
		return nil
	}
	ls, err := st.Leases(ctx)
	if err != nil {
		return err
	}
	var rows []leaseRow
	members := map[string]int{} // fleet member -> accounts held
	for _, l := range ls {
		if name != "" && l.Name != name {
			continue
		}
		row := describeLease(l.Name, l.Holder, l.Generation, l.Acquired)
		row.Expires = l.Expires
		rows = append(rows, row)
	}
	for _, r := range rows {
		if r.Account != "" {
			members[r.Holder]++
		}
	}
	return emit(stdout, *asJSON, struct {
		Leases []leaseRow `json:"leases"`
	}{rows}, func(w io.Writer) {
		if len(rows) == 0 {
			fmt.Fprintln(w, "no lease is held: no process serves any account of this store")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LEASE\tGEN\tHOLDER\tEXPIRES IN")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%v\n", r.label(), r.Generation, r.Holder, time.Until(r.Expires).Round(time.Millisecond))
		}
		tw.Flush()
		holders := make([]string, 0, len(members))
		for h := range members {
			holders = append(holders, h)
		}
		sort.Strings(holders)
		for _, h := range holders {
			fmt.Fprintf(w, "%s holds %d account(s)\n", store.DescribeHolder(h), members[h])
		}
	})
}

// describeLease tells an account's lease from a fleet member's.
func describeLease(name, holder string, gen int64, acquired time.Time) leaseRow {
	row := leaseRow{Name: name, Holder: holder, Generation: gen, Acquired: acquired}
	if id, ok := (store.Lease{Name: name}).Account(); ok {
		row.Account = id.String()
	} else if rest, ok := strings.CutPrefix(name, "fleet/"); ok {
		if fleet, _, ok := strings.Cut(rest, "/member/"); ok {
			row.Fleet = fleet
		}
	}
	return row
}

func (r leaseRow) label() string {
	switch {
	case r.Account != "":
		return r.Account
	case r.Fleet != "":
		return "member of fleet " + r.Fleet
	}
	return r.Name
}

// openLeaseStore opens the PostgreSQL database of dsn, else the SQLite file.
func openLeaseStore(ctx context.Context, db, dsn string) (store.Store, error) {
	if dsn != "" {
		st, err := postgres.Open(ctx, dsn)
		if err != nil {
			return nil, fmt.Errorf("-dsn: %w", err)
		}
		return st, nil
	}
	st, err := openStore(ctx, db, false)
	if err != nil {
		return nil, err
	}
	return st, nil
}
