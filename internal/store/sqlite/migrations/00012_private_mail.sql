-- +goose Up
-- An email whose body is for its recipient alone (a password reset link) is
-- private: the Owner's mailbox shows that it was sent, not what it says.
ALTER TABLE outbox ADD COLUMN private BOOLEAN NOT NULL DEFAULT FALSE;
-- Reset emails queued before this version carry live links too.
UPDATE outbox SET private = TRUE WHERE body_text LIKE '%/password-reset/%';

-- +goose Down
ALTER TABLE outbox DROP COLUMN private;
