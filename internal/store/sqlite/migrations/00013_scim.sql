-- +goose Up
-- SCIM (SCIM-1). An identity provider's own ids of users and teams, which it
-- sends as externalId and filters on; empty when none was given.
ALTER TABLE users ADD COLUMN external_id TEXT NOT NULL DEFAULT '' CHECK (length(external_id) <= 255);
ALTER TABLE teams ADD COLUMN external_id TEXT NOT NULL DEFAULT '' CHECK (length(external_id) <= 255);
CREATE INDEX users_org_external_id ON users (org_id, external_id) WHERE external_id <> '';
-- When an identity provider deleted the user through SCIM: SCIM answers 404
-- for them from then on; the console keeps them, Deactivated, with their
-- history. An invitation again clears it.
ALTER TABLE users ADD COLUMN scim_deleted_at INTEGER;

-- SCIM tokens select their organization and act for its identity provider.
-- Only the hash of the secret is kept.
CREATE TABLE scim_tokens (
    id           INTEGER PRIMARY KEY,
    org_id       INTEGER NOT NULL REFERENCES orgs (id),
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   BLOB    NOT NULL UNIQUE,
    created_by   INTEGER REFERENCES users (id),
    created_by_label TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX scim_tokens_org ON scim_tokens (org_id, id);

-- The Provisioning page lists the org's recent changes made through SCIM.
CREATE INDEX audit_events_origin ON audit_events (org_id, origin, id);

-- +goose Down
DROP INDEX audit_events_origin;
DROP TABLE scim_tokens;
ALTER TABLE users DROP COLUMN scim_deleted_at;
DROP INDEX users_org_external_id;
ALTER TABLE teams DROP COLUMN external_id;
ALTER TABLE users DROP COLUMN external_id;
