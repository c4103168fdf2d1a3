package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sessiongo/sdk/crypto"
	"github.com/sessiongo/sdk/session"
	"github.com/sessiongo/sdk/sns"
	"github.com/sessiongo/sdk/store/sqlite"
)

// Environment variables that give the flags their defaults, so that scripts need not repeat
// -db, -seed and -ca on every command. A flag on the command line wins over its variable.
const (
	envDB      = "SESSIONGO_DB"      // -db
	envAccount = "SESSIONGO_ACCOUNT" // -account
	envNetwork = session.EnvNetwork  // -network: a network file (see 'sessionctl devnet')
	envSeed    = "SESSIONGO_SEED"    // -seed, comma-separated
	envCA      = "SESSIONGO_CA"      // -ca
	envDirect  = "SESSIONGO_DIRECT"  // -direct (true/false)
)

// envHelp is the usage text that lists the variables.
const envHelp = `
environment (defaults for the flags of the same meaning; a flag wins):
  SESSIONGO_DB       -db       SQLite file holding the accounts
  SESSIONGO_ACCOUNT  -account  Account ID to act as
  SESSIONGO_NETWORK  -network  network file written by 'sessionctl devnet'
  SESSIONGO_SEED     -seed     seed node URLs, comma-separated
  SESSIONGO_CA       -ca       PEM file of the CA to trust for the seeds
  SESSIONGO_DIRECT   -direct   true: no onion paths`

// envOr returns $name, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// envBool returns $name as a bool (def when unset or not a bool).
func envBool(name string, def bool) bool {
	if b, err := strconv.ParseBool(os.Getenv(name)); err == nil {
		return b
	}
	return def
}

// wantsJSON reports whether a command line asks for JSON output (-json anywhere before "--").
func wantsJSON(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-json", "--json", "-json=true", "--json=true", "-json=1", "--json=1":
			return true
		}
	}
	return false
}

// addJSONFlag adds -json to a command.
func addJSONFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print the result as JSON (one object; 'listen' prints one per line)")
}

// emit prints v as one line of JSON when asJSON, else calls text.
func emit(w io.Writer, asJSON bool, v any, text func(io.Writer)) error {
	if asJSON {
		return json.NewEncoder(w).Encode(v)
	}
	text(w)
	return nil
}

// checkDBDir fails with a clear message when the directory of a database path does not exist
// (SQLite itself reports "out of memory (14)").
func checkDBDir(path string) error {
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil
	}
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("-db %s: the directory %s does not exist: create it first", path, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("-db %s: %s is not a directory", path, dir)
	}
	return nil
}

// openStore opens the account file. With create false the file must exist.
func openStore(ctx context.Context, path string, create bool) (*sqlite.Store, error) {
	if err := checkDBDir(path); err != nil {
		return nil, err
	}
	if !create && path != ":memory:" {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no account file %s: create one with 'sessionctl new -db %s' or import one with 'sessionctl import -db %s'", path, path, path)
		}
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	return st, nil
}

// parseAccountArg parses an Account ID given on the command line (what names the flag or
// argument, e.g. "-group"), keeping the SDK's explanation of what is wrong with it.
func parseAccountArg(what, s string) (crypto.AccountID, error) {
	id, err := crypto.ParseAccountID(strings.TrimSpace(s))
	if err != nil {
		return id, usageError{fmt.Errorf("%s: %w", what, err)}
	}
	return id, nil
}

// looksLikeAccountID reports whether s was meant as an Account ID rather than a Session name:
// long and all hex digits, or not a valid name at all.
func looksLikeAccountID(s string) bool {
	if _, err := sns.NormalizeName(s); err != nil {
		return true
	}
	if len(s) < 40 {
		return false
	}
	for _, c := range strings.ToLower(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// resolveRecipient turns -to into an Account ID: an Account ID as is, else a Session name looked
// up through the network. A mistyped Account ID is reported as such, not as a failed name
// lookup.
func resolveRecipient(ctx context.Context, nw *session.Network, what, to string) (crypto.AccountID, error) {
	to = strings.TrimSpace(to)
	id, idErr := crypto.ParseAccountID(to)
	if idErr == nil {
		if id.Prefix() != crypto.PrefixStandard {
			return id, usageError{fmt.Errorf("%s: %s is not a standard (05) Account ID: only those receive messages (a blinded 15 ID seen in a community is reached with 'sessionctl community dm')", what, id)}
		}
		return id, nil
	}
	if looksLikeAccountID(to) {
		return id, usageError{fmt.Errorf("%s: %w", what, idErr)}
	}
	id, err := nw.ResolveName(ctx, to)
	if err != nil {
		return id, fmt.Errorf("%s %q: not an Account ID (66 hex digits starting with 05), and the name lookup failed: %w", what, to, err)
	}
	return id, nil
}

// explain rewrites SDK errors whose advice names Go API (options) into the flags of this tool.
func explain(err error, db string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, session.ErrAmbiguousAccount):
		return fmt.Errorf("%s holds several accounts: choose one with -account (or $%s); 'sessionctl id -db %s' lists them", db, envAccount, db)
	}
	return err
}

// timeJSON formats a time for JSON output (RFC 3339 with milliseconds, UTC; "" when zero).
func timeJSON(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

// idJSON formats an Account ID for JSON output ("" when zero).
func idJSON(id crypto.AccountID) string {
	if id == (crypto.AccountID{}) {
		return ""
	}
	return id.String()
}
