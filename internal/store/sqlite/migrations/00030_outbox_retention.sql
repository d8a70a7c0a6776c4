-- +goose Up
-- Email that was sent, or failed for good, is deleted OutboxRetention
-- after it finished (service.DeleteExpired): the outbox no longer keeps
-- every rendered email, a few kilobytes each, for as long as the server
-- runs. This index finds them without reading the mail still waiting.
CREATE INDEX outbox_finished ON outbox (COALESCE(sent_at, failed_at)) WHERE sent_at IS NOT NULL OR failed_at IS NOT NULL;

-- +goose Down
DROP INDEX outbox_finished;
