-- +goose Up
CREATE TABLE reports (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       BIGINT  NOT NULL REFERENCES orgs (id),
    requested_by BIGINT  NOT NULL REFERENCES users (id),
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_written BIGINT  NOT NULL DEFAULT 0,
    rows_total   BIGINT  NOT NULL DEFAULT 0,
    byte_size    BIGINT  NOT NULL DEFAULT 0,
    attempts     BIGINT  NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   BIGINT  NOT NULL,
    started_at   BIGINT,
    finished_at  BIGINT,
    expires_at   BIGINT,
    lease_until  BIGINT
);
CREATE INDEX reports_org ON reports (org_id, id);
CREATE INDEX reports_queue ON reports (status, id);
-- One report at a time per org: at most one queued or running.
CREATE UNIQUE INDEX reports_one_active ON reports (org_id) WHERE status IN ('queued', 'running');

-- The finished CSV, gzip-compressed, in chunks every instance can read.
CREATE TABLE report_chunks (
    report_id BIGINT  NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    seq       BIGINT  NOT NULL,
    data      BYTEA   NOT NULL,
    PRIMARY KEY (report_id, seq)
);

-- +goose Down
DROP TABLE report_chunks;
DROP TABLE reports;
