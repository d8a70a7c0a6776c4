-- +goose Up
-- A change to a team's member counts is written as a row of its own, folded
-- into the team's counts now and then (sqlstore.DB.FoldTeamCounts), rather
-- than as an update of the team's row. The update locked the row until the
-- commit: on PostgreSQL every invitation of an org holds the org's seats row
-- from its seat to its commit, and the counts' statement and its round trip
-- were part of that time, during which the org's other invitations waited.
-- A row inserted locks nothing but the team's key, so the changes go with
-- the seat's statement, or with any other. A team's counts are its row's
-- plus its changes not yet folded.
CREATE TABLE team_count_changes (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id          BIGINT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    primary_change   BIGINT NOT NULL,
    secondary_change BIGINT NOT NULL,
    CHECK (primary_change <> 0 OR secondary_change <> 0)
);
CREATE INDEX team_count_changes_team ON team_count_changes (team_id) INCLUDE (primary_change, secondary_change);

-- +goose Down
UPDATE teams SET
    primary_count = primary_count + c.primary_change,
    secondary_count = secondary_count + c.secondary_change
FROM (SELECT team_id, sum(primary_change) AS primary_change, sum(secondary_change) AS secondary_change
    FROM team_count_changes GROUP BY team_id) c
WHERE teams.id = c.team_id;
DROP TABLE team_count_changes;
