-- +goose Up
-- An org's seats move to a row of their own, as on PostgreSQL, where the seat
-- counter's lock met the key-share locks of the foreign keys to the org's row
-- (see the PostgreSQL migration). SQLite has one writer at a time and no
-- such locks; the table is the same so that one set of queries serves both.
CREATE TABLE org_seats (
    org_id        INTEGER PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    license_total INTEGER NOT NULL CHECK (license_total >= 1),
    seats_used    INTEGER NOT NULL DEFAULT 0 CHECK (seats_used >= 0 AND seats_used <= license_total)
);
INSERT INTO org_seats (org_id, license_total, seats_used) SELECT id, license_total, seats_used FROM orgs;
ALTER TABLE orgs DROP COLUMN seats_used;
ALTER TABLE orgs DROP COLUMN license_total;

-- +goose Down
ALTER TABLE orgs ADD COLUMN license_total INTEGER NOT NULL DEFAULT 1 CHECK (license_total >= 1);
ALTER TABLE orgs ADD COLUMN seats_used INTEGER NOT NULL DEFAULT 0 CHECK (seats_used >= 0 AND seats_used <= license_total);
UPDATE orgs SET license_total = (SELECT s.license_total FROM org_seats s WHERE s.org_id = orgs.id),
    seats_used = (SELECT s.seats_used FROM org_seats s WHERE s.org_id = orgs.id);
DROP TABLE org_seats;
