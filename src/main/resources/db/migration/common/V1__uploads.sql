-- Portable between SQLite and PostgreSQL: TEXT ids (ULIDs, sortable by creation), BIGINT epoch millis.
CREATE TABLE uploads (
    id           TEXT PRIMARY KEY,
    filename     TEXT   NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    storage_key  TEXT   NOT NULL,
    client       TEXT,
    metadata     TEXT,
    created_at   BIGINT NOT NULL
);
