-- +goose Up
-- When a team last changed (a SCIM group's meta.lastModified), written with
-- its version: a rename, a new external ID, members changed by an edit of
-- the team. Until then, a team last changed when it was created.
ALTER TABLE teams ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE teams SET updated_at = created_at;

-- +goose Down
ALTER TABLE teams DROP COLUMN updated_at;
