-- +goose Up
-- A change to a team's member counts is a row of its own, folded into the
-- team's counts now and then, as on PostgreSQL, where an update of the
-- team's row held its lock until the commit (see the PostgreSQL migration).
-- SQLite has one writer at a time; the table is the same so that one set of
-- queries serves both.
CREATE TABLE team_count_changes (
    id               INTEGER PRIMARY KEY,
    team_id          INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    primary_change   INTEGER NOT NULL,
    secondary_change INTEGER NOT NULL,
    CHECK (primary_change <> 0 OR secondary_change <> 0)
);
CREATE INDEX team_count_changes_team ON team_count_changes (team_id, primary_change, secondary_change);

-- +goose Down
UPDATE teams SET
    primary_count = primary_count
        + (SELECT coalesce(sum(c.primary_change), 0) FROM team_count_changes c WHERE c.team_id = teams.id),
    secondary_count = secondary_count
        + (SELECT coalesce(sum(c.secondary_change), 0) FROM team_count_changes c WHERE c.team_id = teams.id);
DROP TABLE team_count_changes;
