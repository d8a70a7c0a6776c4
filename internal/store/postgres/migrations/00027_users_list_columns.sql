-- +goose Up
-- SQLite's users_org_sort keeps only the columns a listing shows (see its
-- migration 00027); PostgreSQL's never held them (its 00026). Nothing
-- changes here; the version keeps the dialects' migrations in step.
SELECT 1;

-- +goose Down
SELECT 1;
