-- +goose Up
-- Two-step verification for password sign-in (AUTH-7). Times are
-- microseconds, as everywhere.

-- A person's second factors. An authenticator app's (totp) secret is sealed
-- with the server's key (AES-256-GCM): Muster must read it back to check a
-- code. last_step is the last time step whose code was accepted, so that no
-- code is accepted twice. A passkey keeps its credential ID and the rest of
-- its credential (data). enabled_at is NULL while an enrolment waits for its
-- first code.
CREATE TABLE twostep_factors (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs (id),
    user_id       INTEGER NOT NULL REFERENCES users (id),
    kind          TEXT    NOT NULL CHECK (kind IN ('totp', 'passkey')),
    name          TEXT    NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    secret        BLOB,
    credential_id BLOB,
    data          BLOB,
    last_step     INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    enabled_at    INTEGER,
    last_used_at  INTEGER,
    CHECK (kind <> 'totp' OR secret IS NOT NULL)
);
CREATE INDEX twostep_factors_user ON twostep_factors (user_id);
-- One authenticator app per person.
CREATE UNIQUE INDEX twostep_factors_totp ON twostep_factors (user_id) WHERE kind = 'totp';
CREATE UNIQUE INDEX twostep_factors_credential ON twostep_factors (credential_id) WHERE credential_id IS NOT NULL;

-- A person's single-use recovery codes, hashed (SHA-256 of 80 random bits).
CREATE TABLE twostep_recovery_codes (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    code_hash  BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX twostep_recovery_codes_user ON twostep_recovery_codes (user_id);

-- Sign-ins whose password was right, waiting for their second step (or
-- their enrolment): no session exists until it passes. The browser holds
-- the token behind token_hash; data is what a factor kind keeps between
-- asking and checking (a WebAuthn challenge).
CREATE TABLE signin_challenges (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    token_hash BLOB    NOT NULL UNIQUE,
    data       BLOB,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX signin_challenges_expires_at ON signin_challenges (expires_at);

-- An organization's rule: whom it requires two-step verification of, the
-- grace period of those without a factor, and whether a browser may be
-- remembered.
CREATE TABLE twostep_policies (
    org_id           INTEGER PRIMARY KEY REFERENCES orgs (id),
    scope            TEXT    NOT NULL CHECK (scope IN ('off', 'everyone', 'admins')),
    grace_days       INTEGER NOT NULL CHECK (grace_days BETWEEN 0 AND 90),
    remember_browser BOOLEAN NOT NULL DEFAULT FALSE,
    required_since   INTEGER,
    updated_at       INTEGER NOT NULL
);

-- Browsers that skip a person's second step until expires_at, by the hash
-- of the token in their cookie.
CREATE TABLE remembered_browsers (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    token_hash BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX remembered_browsers_user ON remembered_browsers (user_id);
CREATE INDEX remembered_browsers_expires_at ON remembered_browsers (expires_at);

-- +goose Down
DROP TABLE remembered_browsers;
DROP TABLE twostep_policies;
DROP TABLE signin_challenges;
DROP TABLE twostep_recovery_codes;
DROP TABLE twostep_factors;
