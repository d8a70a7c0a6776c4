-- +goose Up
-- When a Pending user's newest link expires, kept on the user's row (set
-- with each new link) so that a page of users is marked without a second
-- query into the invitations.
ALTER TABLE users ADD COLUMN invitation_expires_at BIGINT;
UPDATE users SET invitation_expires_at = (
    SELECT max(i.expires_at) FROM invitations i
    WHERE i.user_id = users.id AND i.used_at IS NULL AND i.revoked_at IS NULL)
WHERE status = 'pending';

-- +goose Down
ALTER TABLE users DROP COLUMN invitation_expires_at;
