-- +goose Up
-- An org's seats move to a row of their own. Every invitation and
-- deactivation updates the seat counter and holds its row's lock until the
-- commit; on the org's row, that lock met the key-share lock each foreign key
-- to the org takes (an invitation's user, link, email, audit event and
-- list version: five), and each of those became a multixact beside the
-- seat's lock. The org's row is now updated only by its settings.
CREATE TABLE org_seats (
    org_id        BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    license_total BIGINT NOT NULL CHECK (license_total >= 1),
    seats_used    BIGINT NOT NULL DEFAULT 0 CHECK (seats_used >= 0 AND seats_used <= license_total)
);
INSERT INTO org_seats (org_id, license_total, seats_used) SELECT id, license_total, seats_used FROM orgs;
ALTER TABLE orgs DROP COLUMN seats_used, DROP COLUMN license_total;

-- +goose Down
ALTER TABLE orgs ADD COLUMN license_total BIGINT NOT NULL DEFAULT 1 CHECK (license_total >= 1),
    ADD COLUMN seats_used BIGINT NOT NULL DEFAULT 0;
UPDATE orgs SET license_total = s.license_total, seats_used = s.seats_used FROM org_seats s WHERE s.org_id = orgs.id;
ALTER TABLE orgs ALTER COLUMN license_total DROP DEFAULT,
    ADD CHECK (seats_used >= 0 AND seats_used <= license_total);
DROP TABLE org_seats;
