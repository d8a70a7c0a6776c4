-- +goose Up
-- The Users tab sorts by email, role, status, invited and last sign-in as
-- well as by name, each in keyset pages (see FindUsers): each order walks an
-- index in that order from the cursor, which also holds what the list's
-- filters test (status, role), so that a walk reads the table only for the
-- rows it returns. Status already has users_org_status_sort; the role's
-- index gains the status. A user who never signed in sorts as 0.
CREATE INDEX users_org_email_order ON users (org_id, email_key, id) INCLUDE (status, role);
CREATE INDEX users_org_invited_order ON users (org_id, invited_at, id) INCLUDE (status, role);
CREATE INDEX users_org_signin_order ON users (org_id, (coalesce(last_sign_in_at, 0)), id) INCLUDE (status, role);
DROP INDEX users_org_role_sort;
CREATE INDEX users_org_role_sort ON users (org_id, role, sort_key, id) INCLUDE (status);

-- +goose Down
DROP INDEX users_org_role_sort;
CREATE INDEX users_org_role_sort ON users (org_id, role, sort_key, id);
DROP INDEX users_org_signin_order;
DROP INDEX users_org_invited_order;
DROP INDEX users_org_email_order;
