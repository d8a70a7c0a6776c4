-- +goose Up
CREATE TABLE reports (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES orgs (id),
    requested_by INTEGER NOT NULL REFERENCES users (id),
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    rows_written INTEGER NOT NULL DEFAULT 0,
    rows_total   INTEGER NOT NULL DEFAULT 0,
    byte_size    INTEGER NOT NULL DEFAULT 0,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    expires_at   INTEGER,
    lease_until  INTEGER
);
CREATE INDEX reports_org ON reports (org_id, id);
CREATE INDEX reports_queue ON reports (status, id);
-- One report at a time per org: at most one queued or running.
CREATE UNIQUE INDEX reports_one_active ON reports (org_id) WHERE status IN ('queued', 'running');

-- The finished CSV, gzip-compressed, in chunks every instance can read.
CREATE TABLE report_chunks (
    report_id INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (report_id, seq)
);

-- +goose Down
DROP TABLE report_chunks;
DROP TABLE reports;
