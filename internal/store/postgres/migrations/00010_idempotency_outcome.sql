-- +goose Up
-- An idempotency key is now written in the same transaction as the change
-- made under it, with the change's outcome, so that a committed change
-- always has its outcome and a crash leaves no key "running" (API-3). The
-- keys of the old scheme, which stored HTTP responses, are transient (24
-- hours) and are dropped.
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    org_id       BIGINT  NOT NULL REFERENCES orgs (id),
    user_id      BIGINT  NOT NULL REFERENCES users (id),
    idem_key     TEXT    NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
    request_hash BYTEA   NOT NULL,
    -- NULL only inside the transaction that claimed the key.
    outcome      BYTEA,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (org_id, user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    org_id       BIGINT  NOT NULL REFERENCES orgs (id),
    user_id      BIGINT  NOT NULL REFERENCES users (id),
    idem_key     TEXT    NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
    request_hash BYTEA   NOT NULL,
    status_code  BIGINT  NOT NULL DEFAULT 0,
    content_type TEXT    NOT NULL DEFAULT '',
    body         BYTEA,
    created_at   BIGINT  NOT NULL,
    PRIMARY KEY (org_id, user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
