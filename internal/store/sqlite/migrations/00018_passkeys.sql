-- +goose Up
-- Passkeys and security keys (WebAuthn) as the second step of a password
-- sign-in. Times are microseconds, as everywhere.

-- Each person's WebAuthn user handle: 32 random bytes, never their id or
-- email, the same for all their passkeys.
CREATE TABLE passkey_users (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id),
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    handle     BLOB    NOT NULL UNIQUE CHECK (length(handle) = 32),
    created_at INTEGER NOT NULL
);

-- A person's passkeys: the credential's public key, never a secret. A
-- credential is registered once across Muster; names are the person's own,
-- unique among their passkeys.
CREATE TABLE passkeys (
    id                 INTEGER PRIMARY KEY,
    org_id             INTEGER NOT NULL REFERENCES orgs (id),
    user_id            INTEGER NOT NULL REFERENCES users (id),
    name               TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    rp_id              TEXT    NOT NULL CHECK (length(rp_id) BETWEEN 1 AND 253),
    credential_id      BLOB    NOT NULL UNIQUE CHECK (length(credential_id) BETWEEN 1 AND 1023),
    public_key         BLOB    NOT NULL CHECK (length(public_key) BETWEEN 1 AND 4096),
    sign_count         INTEGER NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports         TEXT    NOT NULL DEFAULT '' CHECK (length(transports) <= 200),
    aaguid             BLOB    NOT NULL CHECK (length(aaguid) IN (0, 16)),
    flags              INTEGER NOT NULL CHECK (flags BETWEEN 0 AND 255),
    attestation_format TEXT    NOT NULL DEFAULT '' CHECK (length(attestation_format) <= 32),
    created_at         INTEGER NOT NULL,
    last_used_at       INTEGER,
    UNIQUE (user_id, name)
);

-- Begun ceremonies (registration, second step, confirmation): the
-- challenge, as go-webauthn's session data, answered once before it
-- expires, on any instance. The browser holds the token behind token_hash;
-- bound_id is the session or sign-in the ceremony belongs to.
CREATE TABLE passkey_ceremonies (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    token_hash BLOB    NOT NULL UNIQUE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('register', 'signin', 'confirm')),
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
DROP TABLE passkeys;
DROP TABLE passkey_users;
