-- +goose Up
-- users_org_sort holds the columns a listing shows (sqlstore.listColumns),
-- no longer every column: a page of the list reads no password hash, no
-- identity provider's id and no time it does not show, so the index need not
-- keep a copy of them. Its entries are shorter by the hash (about 100 bytes
-- for every user with a password), and no index holds the hashes but the
-- table's own.
DROP INDEX users_org_sort;
CREATE INDEX users_org_sort ON users (org_id, sort_key, id, status, last_key, email_key,
    email, first_name, last_name, role, invited_at, invited_by, activated_at, deactivated_at,
    last_sign_in_at, version, invitation_expires_at, teams, two_step);

-- +goose Down
DROP INDEX users_org_sort;
CREATE INDEX users_org_sort ON users (org_id, sort_key, id, status, last_key, email_key,
    email, first_name, last_name, role, password_hash, invited_at, invited_by, activated_at, deactivated_at,
    last_sign_in_at, updated_at, version, invitation_expires_at, external_id, scim_deleted_at, teams, two_step);
