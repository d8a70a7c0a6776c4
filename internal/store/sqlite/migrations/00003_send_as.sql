-- +goose Up
CREATE TABLE send_as_permissions (
    id             INTEGER PRIMARY KEY,
    org_id         INTEGER NOT NULL REFERENCES orgs (id),
    from_name      TEXT    NOT NULL CHECK (length(from_name) BETWEEN 1 AND 100),
    from_email     TEXT    NOT NULL CHECK (length(from_email) BETWEEN 3 AND 254),
    from_email_key TEXT    NOT NULL,
    reply_to_name  TEXT    NOT NULL DEFAULT '',
    reply_to_email TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (org_id, from_email_key)
);

CREATE TABLE send_as_grants (
    permission_id INTEGER NOT NULL REFERENCES send_as_permissions (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL REFERENCES users (id),
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (permission_id, user_id)
);
CREATE INDEX send_as_grants_user ON send_as_grants (user_id);

-- +goose Down
DROP TABLE send_as_grants;
DROP TABLE send_as_permissions;
