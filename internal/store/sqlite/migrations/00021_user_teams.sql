-- +goose Up
-- Each user's teams as a page of users reads them ("3,p7,12": the team
-- ids in increasing order, the primary's marked), kept on the user's row by
-- every write of the memberships (sqlstore's CreateUsers, UpdateUser and
-- DeleteTeam), so that a page of 50 users does not aggregate 50 users'
-- memberships: that was half of a page's time in PostgreSQL.
ALTER TABLE users ADD COLUMN teams TEXT;
UPDATE users SET teams = (SELECT string_agg(CASE m.kind WHEN 'primary' THEN 'p' ELSE '' END || m.team_id, ',')
    FROM memberships m WHERE m.user_id = users.id);

-- +goose Down
ALTER TABLE users DROP COLUMN teams;
