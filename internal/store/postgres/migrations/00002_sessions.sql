-- +goose Up
CREATE TABLE sessions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       BIGINT  NOT NULL REFERENCES orgs (id),
    user_id      BIGINT  NOT NULL REFERENCES users (id),
    token_hash   BYTEA   NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    ip           TEXT    NOT NULL DEFAULT '',
    user_agent   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE password_resets (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     BIGINT  NOT NULL REFERENCES orgs (id),
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    token_hash BYTEA   NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX password_resets_user ON password_resets (user_id);

CREATE TABLE api_tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       BIGINT  NOT NULL REFERENCES orgs (id),
    user_id      BIGINT  NOT NULL REFERENCES users (id),
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   BYTEA   NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    last_used_at BIGINT,
    expires_at   BIGINT,
    revoked_at   BIGINT
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
