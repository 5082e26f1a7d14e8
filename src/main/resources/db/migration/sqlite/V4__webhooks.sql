-- Events and webhook deliveries (io.sluice.notify).
-- events.id is the Server-Sent Events id that clients resume from (Last-Event-ID), so it must only ever grow, also
-- across restarts and after old events are pruned: SQLite's AUTOINCREMENT never reuses an id. (PostgreSQL, a later
-- issue, will need its own migration with an identity column.)
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    type       TEXT    NOT NULL,
    job_id     TEXT,
    upload_id  TEXT,
    payload    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL
);
CREATE INDEX events_job ON events (job_id, id);
CREATE INDEX events_created ON events (created_at);

-- One row per event that has webhook targets. urls is a JSON array tried in order on every attempt (the later ones
-- are fallbacks). state: pending (waiting for next_attempt_at), delivered, failed (attempts exhausted; a redeliver
-- makes it pending again). payload is the exact body sent, so the signature covers what the API shows.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id        BIGINT  NOT NULL,
    event_type      TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    urls            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    attempt         INTEGER NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    last_url        TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    BIGINT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
