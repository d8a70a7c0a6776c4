-- +goose Up
-- Leave a tenth of each page of users free, so that a change that writes
-- no indexed column (a user's teams, from an identity provider's group push
-- or a bulk team action; a password) can put the row's new version beside
-- the old one, a HOT update, rather than on another page with a new entry
-- in each of the table's 13 indexes. Pages written from now on keep the
-- room; pages written before gain it only when the table is rewritten
-- (VACUUM FULL, or a dump and restore).
ALTER TABLE users SET (fillfactor = 90);

-- +goose Down
ALTER TABLE users RESET (fillfactor);
