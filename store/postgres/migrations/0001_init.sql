-- The SDK's state in PostgreSQL. Byte strings a node or a user chooses (message hashes, KV
-- buckets and keys) are bytea, so that no encoding can make a write fail. Times of messages are
-- milliseconds since 1970 (as in SQLite); lease times are the server's clock.

CREATE TABLE accounts (
    id         bytea PRIMARY KEY,
    seed       bytea NOT NULL,
    name       text NOT NULL DEFAULT '',
    created_at bigint NOT NULL
);

CREATE TABLE cursors (
    account   bytea NOT NULL,
    swarm     bytea NOT NULL,
    namespace smallint NOT NULL,
    last_hash bytea NOT NULL,
    PRIMARY KEY (account, swarm, namespace)
);

-- Messages retrieved for an account: pending until handled, then kept (without data) until
-- keep_until (store.KeepUntil) so that a repeated retrieve recognises them.
CREATE TABLE messages (
    seq        bigserial PRIMARY KEY,
    account    bytea NOT NULL,
    hash       bytea NOT NULL,
    namespace  smallint NOT NULL,
    data       bytea,
    ts         bigint NOT NULL,
    expiry     bigint NOT NULL,
    keep_until bigint NOT NULL,
    handled    boolean NOT NULL DEFAULT false,
    UNIQUE (account, hash)
);
CREATE INDEX messages_pending ON messages (account, handled, seq);
CREATE INDEX messages_keep ON messages (handled, keep_until);

-- Records per store account, for the bound store.MaxSeenPerAccount.
CREATE TABLE inbox_sizes (
    account bytea PRIMARY KEY,
    n       bigint NOT NULL
);

CREATE TABLE kv (
    bucket bytea NOT NULL,
    key    bytea NOT NULL,
    value  bytea NOT NULL,
    PRIMARY KEY (bucket, key)
);

-- The current generation of each lease (generation 0: a placeholder row, never granted).
CREATE TABLE leases (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    generation  bigint NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);

-- Every generation of every lease: ended_at is the last expiry granted, or the release or
-- takeover time.
CREATE TABLE lease_history (
    name        text NOT NULL,
    generation  bigint NOT NULL,
    holder      text NOT NULL,
    acquired_at timestamptz NOT NULL,
    ended_at    timestamptz NOT NULL,
    released    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (name, generation)
);
CREATE INDEX lease_history_ended ON lease_history (ended_at);
