-- Presigned direct uploads (io.sluice.upload.PresignService). The id is the upload id and the blob key once the
-- bytes are recorded. storage: 'local' (a Sluice-signed PUT to Sluice itself) or 'presigner' (a PUT straight to
-- object storage). state: pending (waiting for the bytes) or completed (the upload and its job are recorded;
-- job_id is that job). lock_owner/lock_until: the one request or sweep (of any process) working on a pending row,
-- so two PUTs, a PUT and a completion, or a completion and the sweeper never act on its blob at the same time.
-- owner: the API key that asked for the URL (null in open mode); the upload record inherits it. Times are epoch
-- millis.
CREATE TABLE presigned_uploads (
    id           TEXT PRIMARY KEY,
    filename     TEXT   NOT NULL,
    size         BIGINT NOT NULL,
    content_type TEXT   NOT NULL,
    pipeline     TEXT,
    storage      TEXT   NOT NULL,
    state        TEXT   NOT NULL,
    client       TEXT,
    job_id       TEXT,
    lock_owner   TEXT,
    lock_until   BIGINT,
    expires_at   BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    completed_at BIGINT,
    owner        TEXT
);
CREATE INDEX presigned_uploads_expiry ON presigned_uploads (state, expires_at);

-- Webhook deliveries claimed by one sending process for one attempt (several processes send: serve, worker):
-- claimed_by is that process's sender, claimed_until the end of its claim (epoch millis); a claim that ran out (the
-- process died mid-attempt) may be taken by another sender.
ALTER TABLE webhook_deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE webhook_deliveries ADD COLUMN claimed_until BIGINT;
