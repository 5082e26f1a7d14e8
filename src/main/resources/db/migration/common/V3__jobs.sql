-- Background jobs: the durable queue of io.sluice.jobs. Portable between SQLite and PostgreSQL: TEXT ids (ULIDs,
-- sortable by creation), BIGINT epoch millis written from the database clock, INTEGER 0/1 for flags.
-- attempt counts claims and only grows: with lease_owner it is the fencing token every write after a claim checks.
-- max_attempts is the value attempt may reach; a retry or a graceful-stop release raises it instead of lowering
-- attempt. No foreign key to uploads: deleting an upload must not be blocked by, or silently erase, job history.
CREATE TABLE jobs (
    id               TEXT    PRIMARY KEY,
    upload_id        TEXT,
    pipeline         TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    attempt          INTEGER NOT NULL,
    max_attempts     INTEGER NOT NULL,
    run_at           BIGINT  NOT NULL,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    timeout_ms       BIGINT  NOT NULL,
    progress         INTEGER NOT NULL,
    stage            TEXT,
    eta_seconds      BIGINT,
    error_code       TEXT,
    error_message    TEXT,
    result           TEXT,
    idempotency_key  TEXT    NOT NULL UNIQUE,
    cancel_requested INTEGER NOT NULL,
    created_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    updated_at       BIGINT  NOT NULL
);
-- The claim: queued jobs of some pipelines whose run_at has come, oldest first.
CREATE INDEX jobs_claim ON jobs (state, pipeline, run_at);
-- The rescue: running jobs whose lease expired.
CREATE INDEX jobs_lease ON jobs (state, lease_expires_at);
-- Pruning: finished jobs by finish time (NULL while unfinished).
CREATE INDEX jobs_finished ON jobs (finished_at);
CREATE INDEX jobs_upload ON jobs (upload_id);
