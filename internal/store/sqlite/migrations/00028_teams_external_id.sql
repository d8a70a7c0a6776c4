-- +goose Up
-- Identity providers look a group up by its external ID (SCIM's
-- externalId eq) as they look up users by theirs; with thousands of pushed
-- groups, that lookup read every team of the org.
CREATE INDEX teams_org_external_id ON teams (org_id, external_id) WHERE external_id <> '';

-- +goose Down
DROP INDEX teams_org_external_id;
