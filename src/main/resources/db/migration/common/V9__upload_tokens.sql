-- Application-signed upload tokens (io.sluice.auth.TokenVerifier). Records made with a token are owned by
-- 'sub:<subject>' in the existing owner columns (key ids never contain ':'), so no owner column changes here.
-- POST /api/v1/tokens/revoke: every token of the subject whose iat is not after revoked_at (epoch millis) is refused.
-- In the database, so a revocation survives restarts and holds on every node sharing it.
CREATE TABLE token_revocations (
    subject    TEXT   PRIMARY KEY,
    revoked_at BIGINT NOT NULL
);
-- The uploads each token created, for its sluice.maxUploads claim. token_id is 'jti:<jti>' when the token has a
-- jti, else 'sha256:<hex of the token>'. expires_at (the token's exp, epoch millis) lets expired rows be pruned.
CREATE TABLE token_uploads (
    token_id   TEXT    PRIMARY KEY,
    subject    TEXT    NOT NULL,
    created    INTEGER NOT NULL,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX token_uploads_expires ON token_uploads (expires_at);
