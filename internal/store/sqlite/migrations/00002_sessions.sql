-- +goose Up
CREATE TABLE sessions (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES orgs (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE password_resets (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX password_resets_user ON password_resets (user_id);

CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES orgs (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   BLOB    NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at   INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX api_tokens_org ON api_tokens (org_id, id);

-- Where a message went: 'smtp', or 'mailbox' when no SMTP server is set and
-- the Owner reads it in the console.
ALTER TABLE outbox ADD COLUMN delivered_via TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_org ON outbox (org_id, id);

-- +goose Down
DROP INDEX outbox_org;
ALTER TABLE outbox DROP COLUMN delivered_via;
DROP TABLE api_tokens;
DROP TABLE password_resets;
DROP TABLE sessions;
