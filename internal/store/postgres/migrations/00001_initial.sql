-- Times are BIGINT microseconds since the Unix epoch (UTC) in both dialects,
-- so one set of queries serves both and keyset pagination orders exactly.

-- +goose Up
CREATE TABLE orgs (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    region         TEXT    NOT NULL CHECK (length(region) BETWEEN 1 AND 20),
    license_total  BIGINT  NOT NULL CHECK (license_total >= 1),
    seats_used     BIGINT  NOT NULL DEFAULT 0 CHECK (seats_used >= 0 AND seats_used <= license_total),
    email_at_scale BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT  NOT NULL
);

CREATE TABLE teams (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     BIGINT  NOT NULL REFERENCES orgs (id),
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    name_key   TEXT COLLATE "C" NOT NULL,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL,
    UNIQUE (org_id, name_key)
);
CREATE UNIQUE INDEX teams_one_default ON teams (org_id) WHERE is_default;

CREATE TABLE users (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          BIGINT  NOT NULL REFERENCES orgs (id),
    email           TEXT    NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    email_key       TEXT COLLATE "C" NOT NULL,
    first_name      TEXT    NOT NULL CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name       TEXT    NOT NULL CHECK (length(last_name) BETWEEN 1 AND 100),
    sort_key        TEXT COLLATE "C" NOT NULL,
    last_key        TEXT COLLATE "C" NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'basic')),
    status          TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'deactivated', 'withdrawn')),
    password_hash   TEXT    NOT NULL DEFAULT '',
    invited_at      BIGINT  NOT NULL,
    invited_by      BIGINT  REFERENCES users (id),
    activated_at    BIGINT,
    deactivated_at  BIGINT,
    last_sign_in_at BIGINT,
    updated_at      BIGINT  NOT NULL,
    version         BIGINT  NOT NULL DEFAULT 1,
    UNIQUE (org_id, email_key)
);
-- An email is a login name: unique among Pending and Active users of the
-- whole deployment. Deactivated and withdrawn records keep theirs for history.
CREATE UNIQUE INDEX users_live_email ON users (email_key) WHERE status IN ('pending', 'active');
CREATE UNIQUE INDEX users_one_owner ON users (org_id) WHERE role = 'owner';
-- The list walks users_org_sort in name order; it also holds what the
-- list's filters and search test (status, last_key, email_key), so that a
-- walk reads the table only for the rows it returns. (SQLite, which has no
-- INCLUDE, has them as trailing key columns.)
CREATE INDEX users_org_sort ON users (org_id, sort_key, id) INCLUDE (status, last_key, email_key);
CREATE INDEX users_org_last ON users (org_id, last_key);
CREATE INDEX users_org_status_sort ON users (org_id, status, sort_key, id);
CREATE INDEX users_org_role_sort ON users (org_id, role, sort_key, id);

CREATE TABLE memberships (
    user_id BIGINT  NOT NULL REFERENCES users (id),
    team_id BIGINT  NOT NULL REFERENCES teams (id),
    kind    TEXT    NOT NULL CHECK (kind IN ('primary', 'secondary')),
    -- One row per user and team: a team is never both kinds for one user.
    -- The key holds kind too, so a user's memberships are read from it
    -- alone (SQLite stores the rows in key order: WITHOUT ROWID).
    PRIMARY KEY (user_id, team_id) INCLUDE (kind)
);
CREATE UNIQUE INDEX memberships_one_primary ON memberships (user_id) WHERE kind = 'primary';
CREATE INDEX memberships_team ON memberships (team_id, kind, user_id);

CREATE TABLE invitations (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id         BIGINT  NOT NULL REFERENCES orgs (id),
    user_id        BIGINT  NOT NULL REFERENCES users (id),
    token_hash     BYTEA   NOT NULL UNIQUE,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    used_at        BIGINT,
    revoked_at     BIGINT,
    revoked_reason TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX invitations_user ON invitations (user_id, id);

CREATE TABLE audit_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id       BIGINT  NOT NULL REFERENCES orgs (id),
    actor_id     BIGINT,
    actor_label  TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target_type  TEXT    NOT NULL,
    target_id    BIGINT  NOT NULL,
    target_label TEXT    NOT NULL,
    before_json  JSONB,
    after_json   JSONB,
    origin       TEXT    NOT NULL,
    created_at   BIGINT  NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_actor ON audit_events (org_id, actor_id, id);
CREATE INDEX audit_events_target ON audit_events (org_id, target_type, target_id, id);
CREATE INDEX audit_events_action ON audit_events (org_id, action, id);

CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          BIGINT  REFERENCES orgs (id),
    message_id      TEXT    NOT NULL UNIQUE,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body_text       TEXT    NOT NULL,
    body_html       TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    lease_until     BIGINT,
    sent_at         BIGINT,
    failed_at       BIGINT,
    last_error      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

-- +goose Down
DROP TABLE outbox;
DROP TABLE audit_events;
DROP TABLE invitations;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE teams;
DROP TABLE orgs;
