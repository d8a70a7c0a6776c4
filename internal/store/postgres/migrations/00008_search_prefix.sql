-- +goose Up
-- A search of three or more letters walks, in name order, the last names and
-- the emails that begin with its first three letters, through these
-- indexes, as the list walks users_org_sort: so each of the search's three
-- kinds of match is read already sorted, and only until a page is full,
-- however many users match (see FindUsers). Shorter searches read a range
-- of them. They replace 00007's indexes, which held the matches in last
-- name and email order, so that every match had to be read and sorted.
DROP INDEX users_org_last_sort;
DROP INDEX users_org_email_sort;
CREATE INDEX users_org_last_prefix ON users (org_id, substr(last_key, 1, 3), sort_key, id) INCLUDE (last_key, status, role);
CREATE INDEX users_org_email_prefix ON users (org_id, substr(email_key, 1, 3), sort_key, id) INCLUDE (email_key, status, role);

-- +goose Down
DROP INDEX users_org_email_prefix;
DROP INDEX users_org_last_prefix;
CREATE INDEX users_org_last_sort ON users (org_id, last_key, sort_key, id, status);
CREATE INDEX users_org_email_sort ON users (org_id, email_key, sort_key, id, status);
