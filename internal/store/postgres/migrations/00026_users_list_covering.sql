-- +goose Up
-- SQLite's users_org_sort now holds every column a page of the list shows
-- (see its migration 00026). PostgreSQL keeps its narrower index: its plans
-- read a page by cursor from 54 buffers in under 0.1 ms at any depth, and an
-- index-only scan would still visit the heap of every page the visibility
-- map does not know to be all-visible. Nothing changes here; the version
-- keeps the dialects' migrations in step.
SELECT 1;

-- +goose Down
SELECT 1;
