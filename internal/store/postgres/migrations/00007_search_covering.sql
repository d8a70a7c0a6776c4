-- +goose Up
-- A search that starts from its matches (see FindUsers) reads each matching
-- last name and email's id, sort key and status from these indexes alone,
-- sorts them and reads only the page's users from the table.
DROP INDEX users_org_last;
CREATE INDEX users_org_last_sort ON users (org_id, last_key, sort_key, id, status);
CREATE INDEX users_org_email_sort ON users (org_id, email_key, sort_key, id, status);

-- +goose Down
DROP INDEX users_org_email_sort;
DROP INDEX users_org_last_sort;
CREATE INDEX users_org_last ON users (org_id, last_key);
