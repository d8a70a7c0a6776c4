-- +goose Up
-- The version of each org's user list: one more at every write of the
-- org's users (their teams too, which users.teams carries) or of their
-- second steps (the list shows and filters who has one), so that a client
-- holding a page of the list can ask whether it changed and be answered from
-- this one row (If-None-Match, 304) instead of the page. Triggers keep it,
-- so that no path that writes users can forget it. (SQLite has one writer at
-- a time: no lock order to mind, unlike PostgreSQL's deferred trigger.)
CREATE TABLE user_list_versions (
    org_id  INTEGER PRIMARY KEY REFERENCES orgs (id) ON DELETE CASCADE,
    version INTEGER NOT NULL CHECK (version > 0)
);

-- Orgs from before: their lists start at 1, so that their pages have a
-- version to be asked about at once.
INSERT INTO user_list_versions (org_id, version) SELECT id, 1 FROM orgs;

-- +goose StatementBegin
CREATE TRIGGER users_insert_count_list_version AFTER INSERT ON users BEGIN
    INSERT INTO user_list_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_update_count_list_version AFTER UPDATE ON users BEGIN
    INSERT INTO user_list_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER users_delete_count_list_version AFTER DELETE ON users BEGIN
    INSERT INTO user_list_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER twostep_factors_insert_count_list_version AFTER INSERT ON twostep_factors BEGIN
    INSERT INTO user_list_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER twostep_factors_update_count_list_version AFTER UPDATE ON twostep_factors BEGIN
    INSERT INTO user_list_versions (org_id, version) VALUES (NEW.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER twostep_factors_delete_count_list_version AFTER DELETE ON twostep_factors BEGIN
    INSERT INTO user_list_versions (org_id, version) VALUES (OLD.org_id, 1)
        ON CONFLICT (org_id) DO UPDATE SET version = version + 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER twostep_factors_delete_count_list_version;
DROP TRIGGER twostep_factors_update_count_list_version;
DROP TRIGGER twostep_factors_insert_count_list_version;
DROP TRIGGER users_delete_count_list_version;
DROP TRIGGER users_update_count_list_version;
DROP TRIGGER users_insert_count_list_version;
DROP TABLE user_list_versions;
