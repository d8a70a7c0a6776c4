-- +goose Up
-- Single sign-on over OpenID Connect (AUTH-6). Times are microseconds, as
-- everywhere.

-- One connection per organization. The client secret is sealed with the
-- server's key (AES-256-GCM) and never read back but to call the provider.
-- version increases with every change of issuer, client or scopes; the last
-- successful test sign-in records who ran it and with which version.
CREATE TABLE sso_connections (
    org_id         INTEGER PRIMARY KEY REFERENCES orgs (id),
    issuer         TEXT    NOT NULL,
    client_id      TEXT    NOT NULL,
    client_secret  BLOB    NOT NULL,
    scopes         TEXT    NOT NULL DEFAULT '',
    enabled        BOOLEAN NOT NULL DEFAULT FALSE,
    jit            BOOLEAN NOT NULL DEFAULT FALSE,
    required       BOOLEAN NOT NULL DEFAULT FALSE,
    version        INTEGER NOT NULL DEFAULT 1,
    tested_by      INTEGER REFERENCES users (id),
    tested_version INTEGER NOT NULL DEFAULT 0,
    tested_at      INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
-- Back-channel logout finds the connection a logout token is for.
CREATE INDEX sso_connections_client ON sso_connections (issuer, client_id);

-- Email domains an organization claims; verified by a DNS TXT record. A
-- domain is verified by one organization at most.
CREATE TABLE sso_domains (
    id              INTEGER PRIMARY KEY,
    org_id          INTEGER NOT NULL REFERENCES orgs (id),
    domain          TEXT    NOT NULL CHECK (length(domain) BETWEEN 3 AND 253),
    token           TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,
    verified_at     INTEGER,
    last_checked_at INTEGER,
    UNIQUE (org_id, domain)
);
CREATE UNIQUE INDEX sso_domains_verified ON sso_domains (domain) WHERE verified_at IS NOT NULL;
CREATE INDEX sso_domains_check ON sso_domains (last_checked_at) WHERE verified_at IS NOT NULL;

-- A person at an identity provider, (issuer, subject), linked to a user.
CREATE TABLE sso_identities (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    email      TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    UNIQUE (org_id, issuer, subject),
    UNIQUE (user_id, issuer)
);

-- Sign-ins between the redirect to the provider and its callback, which may
-- reach another instance. The browser holds the secret behind browser_hash.
CREATE TABLE sso_logins (
    id            INTEGER PRIMARY KEY,
    org_id        INTEGER NOT NULL REFERENCES orgs (id),
    state_hash    BLOB    NOT NULL UNIQUE,
    browser_hash  BLOB    NOT NULL,
    nonce         TEXT    NOT NULL,
    purpose       TEXT    NOT NULL CHECK (purpose IN ('signin', 'test')),
    user_id       INTEGER REFERENCES users (id),
    invitation_id INTEGER REFERENCES invitations (id),
    version       INTEGER NOT NULL,
    next          TEXT    NOT NULL DEFAULT '/',
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);
CREATE INDEX sso_logins_expires_at ON sso_logins (expires_at);

-- The Owner's single-use recovery codes, hashed.
CREATE TABLE sso_recovery_codes (
    id         INTEGER PRIMARY KEY,
    org_id     INTEGER NOT NULL REFERENCES orgs (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    code_hash  BLOB    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX sso_recovery_codes_user ON sso_recovery_codes (user_id);

-- How each session began: requiring SSO ends 'password' sessions. An SSO
-- session keeps the provider's session id (sid) for back-channel logout.
ALTER TABLE sessions ADD COLUMN method TEXT NOT NULL DEFAULT 'password'
    CHECK (method IN ('password', 'sso', 'recovery'));
ALTER TABLE sessions ADD COLUMN sso_sid TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_sso_sid ON sessions (org_id, sso_sid) WHERE sso_sid <> '';

-- +goose Down
DROP INDEX sessions_sso_sid;
ALTER TABLE sessions DROP COLUMN sso_sid;
ALTER TABLE sessions DROP COLUMN method;
DROP TABLE sso_recovery_codes;
DROP TABLE sso_logins;
DROP TABLE sso_identities;
DROP TABLE sso_domains;
DROP TABLE sso_connections;
