-- Keyset pages of GET /api/v1/uploads (io.sluice.upload.UploadQuery): each order is its column then id, with and
-- without the owner in front (a key sees only its own uploads, an admin every upload). Plain column indexes that
-- SQLite and PostgreSQL both build and both use for a row-value range such as (filename, id) > (?, ?).
-- The newest/oldest orders without an owner use the primary key.
CREATE INDEX uploads_owner_id ON uploads (owner, id);
CREATE INDEX uploads_owner_name ON uploads (owner, filename, id);
CREATE INDEX uploads_owner_size ON uploads (owner, size, id);
CREATE INDEX uploads_name ON uploads (filename, id);
CREATE INDEX uploads_size ON uploads (size, id);
-- uploads_owner (owner) is a prefix of uploads_owner_id: one index fewer to write on every upload.
DROP INDEX uploads_owner;
