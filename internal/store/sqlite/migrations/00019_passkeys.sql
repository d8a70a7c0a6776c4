-- +goose Up
-- Passkeys and security keys (WebAuthn) as the second step of a password
-- sign-in. A passkey is a two-step factor (twostep_factors, kind 'passkey':
-- its credential ID, and its public key, signature counter and the rest as
-- data); here are what WebAuthn needs beside it. Times are microseconds, as
-- everywhere.

-- Each person's WebAuthn user handle: 32 random bytes, never their id or
-- email, the same for all their passkeys.
CREATE TABLE passkey_users (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id),
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    handle     BLOB    NOT NULL UNIQUE CHECK (length(handle) = 32),
    created_at INTEGER NOT NULL
);

-- Begun ceremonies (registration, enrolment, second step, confirmation): the
-- challenge, as go-webauthn's session data, answered once before it
-- expires, on any instance. The browser holds the token behind token_hash;
-- bound_id is the console session (registration, confirmation) or the
-- pending sign-in (signin_challenges: enrolment, second step) it belongs to.
CREATE TABLE passkey_ceremonies (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    token_hash BLOB    NOT NULL UNIQUE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('register', 'enrol', 'signin', 'confirm')),
    bound_id   INTEGER NOT NULL,
    name       TEXT    NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    data       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX passkey_ceremonies_user ON passkey_ceremonies (user_id, expires_at);
CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies (expires_at);

-- +goose Down
DROP TABLE passkey_ceremonies;
DROP TABLE passkey_users;
