-- Accounts and their keys. The seed is secret.
CREATE TABLE accounts (
    id         BLOB PRIMARY KEY,
    seed       BLOB NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);

-- Last retrieved hash per (account, swarm, namespace).
CREATE TABLE cursors (
    account   BLOB NOT NULL,
    swarm     BLOB NOT NULL,
    namespace INTEGER NOT NULL,
    last_hash TEXT NOT NULL,
    PRIMARY KEY (account, swarm, namespace)
);

-- Messages retrieved for an account: pending until handled, then kept (without data) until they
-- expire so that a repeated retrieve recognises them.
CREATE TABLE messages (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    account   BLOB NOT NULL,
    hash      TEXT NOT NULL,
    namespace INTEGER NOT NULL,
    data      BLOB,
    ts        INTEGER NOT NULL,
    expiry    INTEGER NOT NULL,
    handled   INTEGER NOT NULL DEFAULT 0,
    UNIQUE (account, hash)
);
CREATE INDEX messages_pending ON messages (account, handled, seq);
CREATE INDEX messages_expiry ON messages (handled, expiry);

-- Small opaque records owned by other packages (node pool, swarm cache, ...).
CREATE TABLE kv (
    bucket TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
);
