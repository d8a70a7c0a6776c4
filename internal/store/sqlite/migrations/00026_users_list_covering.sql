-- +goose Up
-- The list in name order reads its pages from users_org_sort alone: the
-- index holds every column a page shows. A page of 50 users was 50 lookups
-- of rows spread over the table (a b-tree descent each, and a page read back
-- from the file for most of them once the table outgrows the readers'
-- caches); now it is one range of the index, a few pages long. It costs the
-- index's width (its entries hold the row) and a rewrite of the user's entry
-- at every change of the row, which most changes made already (the status
-- and the names are in it). Without statistics SQLite would now walk the
-- whole org through this index for pages of a status or a role too, and for
-- lookups by email: those statements name their index (see
-- sqlstore.Dialect.IndexedBy). PostgreSQL's plans fetch the same few heap
-- pages in 0.1 ms and keep their narrower index (docs/benchmarks.md, round
-- 13).
DROP INDEX users_org_sort;
CREATE INDEX users_org_sort ON users (org_id, sort_key, id, status, last_key, email_key,
    email, first_name, last_name, role, password_hash, invited_at, invited_by, activated_at, deactivated_at,
    last_sign_in_at, updated_at, version, invitation_expires_at, external_id, scim_deleted_at, teams, two_step);

-- +goose Down
DROP INDEX users_org_sort;
CREATE INDEX users_org_sort ON users (org_id, sort_key, id, status, last_key, email_key);
