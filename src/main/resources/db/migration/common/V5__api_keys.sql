-- API keys and tenancy (io.sluice.auth). Portable between SQLite and PostgreSQL: TEXT ids (ULIDs), BIGINT epoch
-- millis, INTEGER 0/1 for flags, NULL for "no per-key limit" (the global limit applies).
-- hash is the hex SHA-256 of the whole key (sk_<id>_<secret>); the secret is never stored. prefix is what lists
-- show so an operator can tell keys apart. A revoked key keeps its row (revoked_at set): ownership stays readable.
CREATE TABLE api_keys (
    id              TEXT    PRIMARY KEY,
    name            TEXT    NOT NULL,
    hash            TEXT    NOT NULL,
    prefix          TEXT    NOT NULL,
    admin           INTEGER NOT NULL,
    max_file_size   BIGINT,
    quota_bytes     BIGINT,
    rate_per_second INTEGER,
    created_at      BIGINT  NOT NULL,
    revoked_at      BIGINT,
    last_used_at    BIGINT
);
-- The key that created a record; NULL when created in open mode (no keys, loopback only) or before this version.
ALTER TABLE uploads ADD COLUMN owner TEXT;
ALTER TABLE resumable_uploads ADD COLUMN owner TEXT;
ALTER TABLE jobs ADD COLUMN owner TEXT;
-- Copied from the job when the event is recorded, so a key's event stream is filtered without a join per event.
ALTER TABLE events ADD COLUMN owner TEXT;
CREATE INDEX uploads_owner ON uploads (owner);
CREATE INDEX resumable_uploads_owner ON resumable_uploads (owner, state);
CREATE INDEX jobs_owner ON jobs (owner, id);
