package muster

import "time"

// Session is a signed-in browser. Only the hash of its cookie's token is
// stored; deleting the row signs the browser out on its next request, on
// every instance (AUTH-3, DEA-1).
type Session struct {
	ID         int64
	OrgID      int64
	UserID     int64
	TokenHash  []byte
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time
	IP         string
	UserAgent  string
	// Method is how the session began: SessionPassword, SessionSSO or
	// SessionRecovery.
	Method string
	// SSOSID is the identity provider's session id ("sid") of an SSO
	// session, for back-channel logout; "" otherwise.
	SSOSID string
}

// PasswordReset is a single-use, short-lived link to set a new password
// (AUTH-2).
type PasswordReset struct {
	ID        int64
	OrgID     int64
	UserID    int64
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// Outbox delivery routes.
const (
	DeliveredBySMTP    = "smtp"
	DeliveredToMailbox = "mailbox"
)

// OutboxFilter selects outbox messages, newest first.
type OutboxFilter struct {
	OrgID    int64
	BeforeID int64
	Limit    int
}

// APIToken lets a program call the API as its creator, with the creator's
// current role as its ceiling (API-1). Only the hash of the secret is kept.
type APIToken struct {
	ID         int64
	OrgID      int64
	UserID     int64
	Name       string
	TokenHash  []byte
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time // zero: never
	RevokedAt  time.Time

	CreatorName string // filled by listings
	// Creator is the token's user as they are now, filled by
	// FindAPITokenByHash: the token acts as them, with their status and
	// role.
	Creator *User
	// UserListVersion is the org's user-list version (Tx.UserListVersion)
	// as FindAPITokenByHash read it, with the token: the request's reads of
	// the list need not read it again. 0 from other reads.
	UserListVersion int64
}

// APITokenPrefix starts every API token, so that a leaked one is easy to
// recognise in logs and by secret scanners.
const APITokenPrefix = "mst_"
