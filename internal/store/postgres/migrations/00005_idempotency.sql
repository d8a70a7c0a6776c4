-- +goose Up
-- The first response to an API POST with an Idempotency-Key, replayed for
-- repeats within 24 hours. status_code 0 marks a request still running.
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

-- +goose Down
DROP TABLE idempotency_keys;
