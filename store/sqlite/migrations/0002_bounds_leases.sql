-- Seen-message records are kept until their own expiry bounded from the time they were saved
-- (store.KeepUntil), whatever expiry a node claimed; existing rows get the bound from now.
ALTER TABLE messages ADD COLUMN keep_until INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET keep_until =
    MIN(CASE WHEN expiry = 0 THEN 9223372036854775807 ELSE MAX(expiry, CAST(strftime('%s', 'now') AS INTEGER) * 1000) END,
        CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 2592000000)
    + 172800000;
DROP INDEX messages_expiry;
CREATE INDEX messages_keep ON messages (handled, keep_until);

-- Records per store account, kept with every insert and delete so that the bound
-- (store.MaxSeenPerAccount) costs one row update per batch.
CREATE TABLE inbox_sizes (
    account BLOB PRIMARY KEY,
    n       INTEGER NOT NULL
);
INSERT INTO inbox_sizes (account, n) SELECT account, COUNT(*) FROM messages GROUP BY account;

-- The current generation of each lease (times in ms of the local clock: SQLite's processes
-- share one machine). A released lease has expires_at = the release time.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    acquired_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);

-- Every generation of every lease: ended_at is the last expiry granted, or the release or
-- takeover time.
CREATE TABLE lease_history (
    name        TEXT NOT NULL,
    generation  INTEGER NOT NULL,
    holder      TEXT NOT NULL,
    acquired_at INTEGER NOT NULL,
    ended_at    INTEGER NOT NULL,
    released    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, generation)
);
CREATE INDEX lease_history_ended ON lease_history (ended_at);
