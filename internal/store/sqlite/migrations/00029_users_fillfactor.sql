-- +goose Up
-- PostgreSQL's users table leaves room on its pages for updates written
-- beside their rows (its 00029); SQLite has no such setting. Nothing changes
-- here; the version keeps the dialects' migrations in step.
SELECT 1;

-- +goose Down
SELECT 1;
