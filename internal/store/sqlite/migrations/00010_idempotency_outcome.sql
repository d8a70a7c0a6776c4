-- +goose Up
-- An idempotency key is now written in the same transaction as the change
-- made under it, with the change's outcome, so that a committed change
-- always has its outcome and a crash leaves no key "running" (API-3). The
-- keys of the old scheme, which stored HTTP responses, are transient (24
-- hours) and are dropped.
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    org_id       INTEGER NOT NULL REFERENCES orgs (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    idem_key     TEXT    NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
    request_hash BLOB    NOT NULL,
    -- NULL only inside the transaction that claimed the key.
    outcome      BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- +goose Down
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    org_id       INTEGER NOT NULL REFERENCES orgs (id),
    user_id      INTEGER NOT NULL REFERENCES users (id),
    idem_key     TEXT    NOT NULL CHECK (length(idem_key) BETWEEN 1 AND 255),
    request_hash BLOB    NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    content_type TEXT    NOT NULL DEFAULT '',
    body         BLOB,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
