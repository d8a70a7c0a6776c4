-- +goose Up
-- Each team keeps the number of its Pending and Active members of each kind,
-- changed in the same transaction as the memberships and statuses it counts,
-- so that the Teams tab and a team's page read them in O(1) rather than
-- counting every membership (a second at a million users).
ALTER TABLE teams ADD COLUMN primary_count BIGINT NOT NULL DEFAULT 0 CHECK (primary_count >= 0);
ALTER TABLE teams ADD COLUMN secondary_count BIGINT NOT NULL DEFAULT 0 CHECK (secondary_count >= 0);
UPDATE teams SET
    primary_count = (SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE m.team_id = teams.id AND m.kind = 'primary' AND u.status IN ('pending', 'active')),
    secondary_count = (SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE m.team_id = teams.id AND m.kind = 'secondary' AND u.status IN ('pending', 'active'));

-- Versions back optimistic concurrency (the API's ETag and If-Match): each
-- increases when what an administrator edits changes (a team's name; a
-- permission and its grants; an organization's settings), not when people
-- join a team or take a seat.
ALTER TABLE teams ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE send_as_permissions ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE orgs ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

-- +goose Down
ALTER TABLE orgs DROP COLUMN version;
ALTER TABLE send_as_permissions DROP COLUMN version;
ALTER TABLE teams DROP COLUMN version;
ALTER TABLE teams DROP COLUMN secondary_count;
ALTER TABLE teams DROP COLUMN primary_count;
