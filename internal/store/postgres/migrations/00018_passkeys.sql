-- +goose Up
-- Passkeys and security keys (WebAuthn) as the second step of a password
-- sign-in. Times are microseconds, as everywhere.

-- Each person's WebAuthn user handle: 32 random bytes, never their id or
-- email, the same for all their passkeys.
CREATE TABLE passkey_users (
    user_id    BIGINT  PRIMARY KEY REFERENCES users (id),
    org_id     BIGINT  NOT NULL REFERENCES orgs (id),
    handle     BYTEA   NOT NULL UNIQUE CHECK (octet_length(handle) = 32),
    created_at BIGINT  NOT NULL
);

-- A person's passkeys: the credential's public key, never a secret. A
-- credential is registered once across Muster; names are the person's own,
-- unique among their passkeys.
CREATE TABLE passkeys (
    id                 BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id             BIGINT  NOT NULL REFERENCES orgs (id),
    user_id            BIGINT  NOT NULL REFERENCES users (id),
    name               TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    rp_id              TEXT    NOT NULL CHECK (length(rp_id) BETWEEN 1 AND 253),
    credential_id      BYTEA   NOT NULL UNIQUE CHECK (octet_length(credential_id) BETWEEN 1 AND 1023),
    public_key         BYTEA   NOT NULL CHECK (octet_length(public_key) BETWEEN 1 AND 4096),
    sign_count         BIGINT  NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
    transports         TEXT    NOT NULL DEFAULT '' CHECK (length(transports) <= 200),
    aaguid             BYTEA   NOT NULL CHECK (octet_length(aaguid) IN (0, 16)),
    flags              BIGINT  NOT NULL CHECK (flags BETWEEN 0 AND 255),
    attestation_format TEXT    NOT NULL DEFAULT '' CHECK (length(attestation_format) <= 32),
    created_at         BIGINT  NOT NULL,
    last_used_at       BIGINT,
    UNIQUE (user_id, name)
);

-- Begun ceremonies (registration, second step, confirmation): the
-- challenge, as go-webauthn's session data, answered once before it
-- expires, on any instance. The browser holds the token behind token_hash;
-- bound_id is the session or sign-in the ceremony belongs to.
CREATE TABLE passkey_ceremonies (
    id         BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id     BIGINT  NOT NULL REFERENCES orgs (id),
    user_id    BIGINT  NOT NULL REFERENCES users (id),
    token_hash BYTEA   NOT NULL UNIQUE,
    purpose    TEXT    NOT NULL CHECK (purpose IN ('register', 'signin', 'confirm')),
    bound_id   BIGINT  NOT NULL,
    name       TEXT    NOT NULL DEFAULT '' CHECK (length(name) <= 100),
    data       BYTEA   NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    used_at    BIGINT
);
CREATE INDEX passkey_ceremonies_user ON passkey_ceremonies (user_id, expires_at);
CREATE INDEX passkey_ceremonies_expires_at ON passkey_ceremonies (expires_at);

-- +goose Down
DROP TABLE passkey_ceremonies;
DROP TABLE passkeys;
DROP TABLE passkey_users;
