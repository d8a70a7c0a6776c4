-- +goose Up
-- Attempts counted per limiter key (AUTH-1): a sign-in's account, client
-- address or both, a password reset's account. Kept in the database so that
-- every instance over it shares one budget and a restart forgets nothing.
-- Keys are hashed (see service/ratelimit.go): no email or address is kept.
-- A row counts until expires_at (microseconds, as every time here); next_at,
-- when not 0, is the earliest time of the next attempt.
CREATE TABLE rate_limits (
    limit_key  TEXT    PRIMARY KEY,
    attempts   BIGINT  NOT NULL CHECK (attempts >= 0),
    next_at    BIGINT  NOT NULL DEFAULT 0,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX rate_limits_expires_at ON rate_limits (expires_at);

-- +goose Down
DROP TABLE rate_limits;
