-- +goose Up
-- Bulk imports from CSV (BULK-1): each dry run is stored as an import in
-- status 'planned' with its plan (gzip-compressed JSON, rows keyed by
-- email); committing queues it for the import runner, which leases it as
-- the report runner leases reports and applies its rows in batches, each
-- batch's rows and its import_batches row in one transaction, so a run
-- interrupted anywhere goes on with the batches not yet recorded, and a
-- batch is applied once however many runners try it.
CREATE TABLE imports (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id         BIGINT  NOT NULL REFERENCES orgs (id),
    requested_by   BIGINT  REFERENCES users (id),
    status         TEXT    NOT NULL CHECK (status IN ('planned', 'queued', 'running', 'done', 'failed')),
    file_name      TEXT    NOT NULL DEFAULT '',
    create_teams   BOOLEAN NOT NULL DEFAULT FALSE,
    rows_total     BIGINT  NOT NULL DEFAULT 0,
    seats_reserved BIGINT  NOT NULL DEFAULT 0,
    attempts       BIGINT  NOT NULL DEFAULT 0,
    last_error     TEXT    NOT NULL DEFAULT '',
    summary        TEXT    NOT NULL,
    result         TEXT    NOT NULL DEFAULT '',
    plan           BYTEA   NOT NULL,
    created_at     BIGINT  NOT NULL,
    committed_at   BIGINT,
    started_at     BIGINT,
    finished_at    BIGINT,
    lease_until    BIGINT
);
CREATE INDEX imports_org ON imports (org_id, id);
CREATE INDEX imports_queue ON imports (status, id) WHERE status IN ('queued', 'running');
CREATE INDEX imports_planned ON imports (created_at) WHERE status = 'planned';

-- The batches of rows an import's job has applied, by their first row
-- (the plan's index), with what they did.
CREATE TABLE import_batches (
    import_id  BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    first_row  BIGINT NOT NULL,
    row_count  BIGINT NOT NULL DEFAULT 0,
    invited    BIGINT NOT NULL DEFAULT 0,
    reinvited  BIGINT NOT NULL DEFAULT 0,
    updated    BIGINT NOT NULL DEFAULT 0,
    unchanged  BIGINT NOT NULL DEFAULT 0,
    failed     BIGINT NOT NULL DEFAULT 0,
    seats_used BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (import_id, first_row)
);

-- The rows an import's commit could not apply, with the reason.
CREATE TABLE import_failures (
    import_id BIGINT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    line      BIGINT NOT NULL,
    email     TEXT   NOT NULL,
    reason    TEXT   NOT NULL,
    cells     TEXT   NOT NULL,
    PRIMARY KEY (import_id, line)
);

-- An import's invitations wait in their own lane of the outbox, so that a
-- single invitation never waits behind 100,000 of them.
ALTER TABLE outbox ADD COLUMN bulk BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX outbox_due_lane ON outbox (bulk, next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;

-- +goose Down
DROP INDEX outbox_due_lane;
ALTER TABLE outbox DROP COLUMN bulk;
DROP TABLE import_failures;
DROP TABLE import_batches;
DROP TABLE imports;
