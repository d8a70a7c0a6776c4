-- +goose Up
-- Webhook endpoints, the events written with the changes they report (an
-- outbox), one delivery per event and endpoint, and the delivery log
-- (EVT-1).
CREATE TABLE webhook_endpoints (
    id                    INTEGER PRIMARY KEY,
    org_id                INTEGER NOT NULL REFERENCES orgs (id),
    url                   TEXT    NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    description           TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 500),
    -- Space-separated; empty for every type.
    event_types           TEXT    NOT NULL DEFAULT '',
    enabled               BOOLEAN NOT NULL,
    disabled_reason       TEXT    NOT NULL DEFAULT '',
    disabled_at           INTEGER,
    -- Signing secrets, sealed with the server's key (AES-256-GCM).
    secret                BLOB    NOT NULL,
    previous_secret       BLOB,
    previous_secret_until INTEGER,
    failing_since         INTEGER,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    -- Deleted endpoints stay until the janitor removes their deliveries, so
    -- that a transaction writing an event for one never breaks a key.
    deleted_at            INTEGER,
    version               INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id);

CREATE TABLE webhook_events (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    msg_id     TEXT    NOT NULL UNIQUE,
    event_type TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES orgs (id),
    endpoint_id     INTEGER NOT NULL REFERENCES webhook_endpoints (id),
    event_id        INTEGER NOT NULL REFERENCES webhook_events (id),
    subject         TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    lease_seq       INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    last_attempt_at INTEGER,
    finished_at     INTEGER,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT ''
);
-- What a sender claims: an endpoint's due deliveries, oldest due first, in
-- the order of the claim's ORDER BY, so that a claim reads only the first
-- few whatever the planner's estimates.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at, id) WHERE state = 'pending';
-- The order of a subject's deliveries: the earliest pending one goes first.
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries (endpoint_id, subject, id) WHERE state = 'pending';
-- The delivery log, newest first.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, id);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (finished_at) WHERE state <> 'pending';

CREATE TABLE webhook_attempts (
    id           INTEGER PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id),
    endpoint_id  INTEGER NOT NULL,
    attempted_at INTEGER NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    latency_us   INTEGER NOT NULL DEFAULT 0,
    response     TEXT    NOT NULL DEFAULT '',
    error        TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- +goose Down
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_events;
DROP TABLE webhook_endpoints;
