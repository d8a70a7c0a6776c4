-- +goose Up
-- The version of each org's user list: one more at every transaction that
-- writes the org's users (their teams too, which users.teams carries) or
-- their second steps (the list shows and filters who has one), so that a
-- client holding a page of the list can ask whether it changed and be
-- answered from this one row (If-None-Match, 304) instead of the page.
--
-- Triggers keep it, so that no path that writes users can forget it. They
-- are deferred to the commit, and count once per org and transaction: the
-- row is locked after everything else the transaction locks, so within one
-- org there is no new lock order, and only from its commit's start to its
-- end. (A transaction that wrote users of two orgs would lock their rows in
-- the order it wrote them; none writes two orgs' users.)
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
CREATE CONSTRAINT TRIGGER twostep_factors_count_list_version AFTER INSERT OR UPDATE OR DELETE ON twostep_factors
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION count_user_list_version();

-- +goose Down
DROP TRIGGER twostep_factors_count_list_version ON twostep_factors;
DROP TRIGGER users_count_list_version ON users;
DROP FUNCTION count_user_list_version();
DROP TABLE user_list_versions;
