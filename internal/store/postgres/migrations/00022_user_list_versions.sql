-- +goose Up
-- The version of each org's user list: one more at every transaction that
-- writes the org's users (their teams too, which users.teams carries), so
-- that a client holding a page of the list can ask whether it changed and be
-- answered from this one row (If-None-Match, 304) instead of the page.
--
-- A trigger keeps it, so that no path that writes users can forget it. It is
-- deferred to the commit, and counts once per org and transaction: the row
-- is locked after everything else the transaction locks (no new deadlock
-- order) and only from its commit's start to its end (writes to one org
-- already wait on the seat counter longer than that).
CREATE TABLE user_list_versions (
    org_id  BIGINT PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    version BIGINT NOT NULL CHECK (version > 0)
);

-- Orgs from before: their lists start at 1, so that their pages have a
-- version to be asked about at once.
INSERT INTO user_list_versions (org_id, version) SELECT id, 1 FROM orgs;

-- +goose StatementBegin
CREATE FUNCTION count_user_list_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    org BIGINT := CASE TG_OP WHEN 'DELETE' THEN OLD.org_id ELSE NEW.org_id END;
BEGIN
    -- The org last counted in this transaction (a setting local to it):
    -- the import of 10,000 users counts once, not 10,000 times.
    IF current_setting('muster.user_list_counted', true) = org::text THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('muster.user_list_counted', org::text, true);
    INSERT INTO user_list_versions (org_id, version) VALUES (org, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = user_list_versions.version + 1;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE CONSTRAINT TRIGGER users_count_list_version AFTER INSERT OR UPDATE OR DELETE ON users
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_user_list_version();

-- +goose Down
DROP TRIGGER users_count_list_version ON users;
DROP FUNCTION count_user_list_version();
DROP TABLE user_list_versions;
