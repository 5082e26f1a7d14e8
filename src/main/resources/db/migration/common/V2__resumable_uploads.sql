-- Uploads that arrive over many requests (tus, IETF resumable uploads). upload_offset is the acknowledged
-- length: it is written only after those bytes are durable, so it never exceeds what storage holds.
-- upload_length is NULL while the length is deferred. A finished upload also gets its row in uploads (same id).
CREATE TABLE resumable_uploads (
    id            TEXT PRIMARY KEY,
    upload_length BIGINT,
    upload_offset BIGINT NOT NULL,
    filename      TEXT   NOT NULL,
    metadata      TEXT,
    raw_metadata  TEXT,
    concat        TEXT,
    state         TEXT   NOT NULL,
    client        TEXT,
    expires_at    BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX resumable_uploads_expiry ON resumable_uploads (state, expires_at);
