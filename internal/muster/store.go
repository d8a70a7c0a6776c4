package muster

import (
	"context"
	"strconv"
	"time"
)

// Store is the durable state. Implementations hold data and keep the schema's
// constraints; they never make authorization or lifecycle decisions, which
// belong to the service layer.
type Store interface {
	// Update runs fn in a read-write transaction, committed when fn returns
	// nil and rolled back otherwise. When the database ends the transaction
	// for a reason that is nobody's fault (a deadlock, PostgreSQL's
	// serialization failure), Update runs fn again in a new one, a few
	// times at most: fn must be safe to run more than once, keeping nothing
	// from an earlier run but what it overwrites.
	Update(ctx context.Context, fn func(Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Tx) error) error
	// ViewBulk is View for a transaction that reads much of the database
	// once (an export, a report's download): it runs where it does not push
	// out of the caches the pages that every request reads.
	ViewBulk(ctx context.Context, fn func(Tx) error) error
	// Read runs fn, which only reads, outside a transaction: each statement
	// sees what was committed before it began, and a later statement may
	// see later commits. For reads that need no single moment (the checks
	// made on every request, the actor and then a page), which a
	// transaction would cost PostgreSQL two more round trips: BEGIN and
	// COMMIT.
	Read(ctx context.Context, fn func(Tx) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	Close() error
}

// Tx is one transaction. Methods that find one row return an ENOTFOUND error
// when it does not exist; a unique constraint broken by a write returns
// ECONFLICT. It is composed of one interface per area, so that a reader (or
// a fake in a test) finds an area's methods together.
type Tx interface {
	OrgTx
	TeamTx
	UserTx
	InvitationTx
	AuditTx
	OutboxTx
	SessionTx
	PasswordResetTx
	SendAsTx
	ReportTx
	IdempotencyTx
	APITokenTx
	RateLimitTx
	SSOTx
	SCIMTokenTx
	WebhookTx
	TwoStepTx
	ImportTx
	PasskeyTx
}

// OrgTx reads and writes organizations and their seats.
type OrgTx interface {
	CountOrgs(ctx context.Context) (int, error)
	CreateOrg(ctx context.Context, org *Org) error
	FindOrg(ctx context.Context, id int64) (*Org, error)
	// FindOrgSharingTeams is FindOrg, TeamTx.ShareTeams of the org's teams
	// among teamIDs and WebhookTx.FindWebhookSubscribers of the org in one
	// statement: what an invitation reads of the three.
	FindOrgSharingTeams(ctx context.Context, id int64, teamIDs []int64) (*Org, []int64, []*WebhookSubscriber, error)
	// FindOrgByName finds the organization named name, ignoring case. Names
	// need not be unique: a name that several organizations have is refused
	// with ECONFLICT, naming their IDs.
	FindOrgByName(ctx context.Context, name string) (*Org, error)
	// TakeSeat increments the org's used seats if one is free and reports
	// whether it did.
	TakeSeat(ctx context.Context, orgID int64) (bool, error)
	ReleaseSeat(ctx context.Context, orgID int64) error
	// SetLicenseTotal sets the total unless it is below the used seats, and
	// reports whether it did.
	SetLicenseTotal(ctx context.Context, orgID int64, total int) (bool, error)
	SetEmailAtScale(ctx context.Context, orgID int64, on bool) error
}

// TeamTx reads and writes teams. Memberships are written with their users
// (UserTx); the store keeps each team's member counts as they change.
type TeamTx interface {
	CreateTeam(ctx context.Context, team *Team) error
	// FindTeam finds the org's team; in a write transaction it locks the
	// team's row until the commit, for a transaction that changes the team.
	FindTeam(ctx context.Context, orgID, id int64) (*Team, error)
	// FindTeamToEdit is FindTeam for a transaction that changes the team's
	// members and perhaps its name (an identity provider's group change):
	// other such transactions wait for it, those that only refer to the
	// team (FindTeamShared) do not, and its rename takes the row's
	// strongest lock from there without waiting on another edit that
	// holds a share of it, as two share-locked edits would, each for the
	// other.
	FindTeamToEdit(ctx context.Context, orgID, id int64) (*Team, error)
	// FindTeamShared is FindTeam for a transaction that only refers to the
	// team (a membership): the team cannot be removed until the commit, but
	// other such transactions need not wait for it.
	FindTeamShared(ctx context.Context, orgID, id int64) (*Team, error)
	// ShareTeams is FindTeamShared of several teams in one statement: it
	// returns the ids among ids of the org's teams, share-locked, in
	// increasing order.
	ShareTeams(ctx context.Context, orgID int64, ids []int64) ([]int64, error)
	FindTeamByName(ctx context.Context, orgID int64, name string) (*Team, error)
	FindDefaultTeam(ctx context.Context, orgID int64) (*Team, error)
	// FindTeams lists the org's teams, the Default Team first and then by
	// name, with their member counts.
	FindTeams(ctx context.Context, orgID int64) ([]*Team, error)
	// FindTeamNames lists the org's teams in FindTeams' order, their names
	// alone.
	FindTeamNames(ctx context.Context, orgID int64) ([]TeamName, error)
	// FindTeamsByID lists the org's teams among ids (another org's are not
	// among them) as FindTeams does: what a few users' teams need, read
	// without reading every team of the org.
	FindTeamsByID(ctx context.Context, orgID int64, ids []int64) ([]*Team, error)
	// RenameTeam renames the team, increments its version and sets its
	// updated_at to team.UpdatedAt.
	RenameTeam(ctx context.Context, team *Team, name string) error
	// DeleteTeam removes the team and its secondary memberships, after moving
	// the primary memberships that remain (of deactivated and withdrawn
	// users) to moveTo.
	DeleteTeam(ctx context.Context, orgID, id, moveTo int64) error
	// SetTeamExternalID sets the team's external ID, increments its
	// version and sets its updated_at to team.UpdatedAt.
	SetTeamExternalID(ctx context.Context, team *Team, externalID string) error
	// MarkTeamMembersChanged increments the team's version, and sets its
	// updated_at to team.UpdatedAt, after its members
	// changed through an edit of the team, which holds it (FindTeamToEdit),
	// so that the version an identity provider read before no longer
	// matches: a SCIM group's members are part of the group.
	MarkTeamMembersChanged(ctx context.Context, team *Team) error
	// FindTeamMembers lists, by team, the Pending and Active users, not
	// deleted through SCIM, who have one of the org's teams among teamIDs
	// as primary or secondary team, in id order: a page of teams' members
	// in one read.
	FindTeamMembers(ctx context.Context, orgID int64, teamIDs ...int64) (map[int64][]Member, error)
	// SelectTeams returns the page of teams sel selects, in FindTeams'
	// order.
	SelectTeams(ctx context.Context, sel Selection) ([]*Team, error)
	// CountSelectedTeams counts the teams sel selects, ignoring its Offset
	// and Limit.
	CountSelectedTeams(ctx context.Context, sel Selection) (int, error)
}

// UserTx reads and writes users with their memberships.
type UserTx interface {
	CreateUser(ctx context.Context, user *User) error
	// CreateUsers is CreateUser of several users in a few statements (an
	// import's batch).
	CreateUsers(ctx context.Context, users []*User) error
	// UpdateUser writes every field of user and its teams, and increments
	// its version.
	UpdateUser(ctx context.Context, user *User) error
	// SetUsersTeams writes the teams (PrimaryTeamID, SecondaryTeamIDs) and
	// UpdatedAt of each of the users, all of one org, and increments their
	// versions, in a few statements for any number (a group's members
	// changed); the rest of each row stays as it is. The transaction has
	// locked the users (LockUsers): on PostgreSQL a user another
	// transaction changed since is not found (ENOTFOUND).
	SetUsersTeams(ctx context.Context, users []*User) error
	// FindUser finds the org's user; in a write transaction it locks the
	// user's row until the commit, for a transaction that changes the user.
	FindUser(ctx context.Context, orgID, id int64) (*User, error)
	// PeekUser is FindUser without the lock, for a user the transaction
	// reads but does not change: the actor, whose concurrent requests would
	// otherwise run one at a time.
	PeekUser(ctx context.Context, orgID, id int64) (*User, error)
	// FindUserAndPeek is FindUser of id and PeekUser of peekID, in one
	// statement where round trips cost: a change to a user reads its actor
	// and the user together. ENOTFOUND when either is missing (FindUser and
	// PeekUser alone tell which).
	FindUserAndPeek(ctx context.Context, orgID, id, peekID int64) (found, peeked *User, err error)
	// FindUsersByID finds the org's users with the ids, in id order,
	// without locks; ids of no user of the org are left out.
	FindUsersByID(ctx context.Context, orgID int64, ids []int64) ([]*User, error)
	// LockUsers is FindUsersByID that locks the users' rows, in id order,
	// in a write transaction (as FindUser does one user's), for a
	// transaction that changes them.
	LockUsers(ctx context.Context, orgID int64, ids []int64) ([]*User, error)
	// FindUserByEmail finds the org's user with email, ignoring case.
	FindUserByEmail(ctx context.Context, orgID int64, email string) (*User, error)
	// FindLiveUserByEmail finds the Pending or Active user with email in any
	// org, ignoring case.
	FindLiveUserByEmail(ctx context.Context, email string) (*User, error)
	FindUsers(ctx context.Context, filter UserFilter) ([]*User, error)
	// FindUserListing finds FindUsers's users as a listing shows them:
	// without their PasswordHash, ExternalID, UpdatedAt and SCIMDeletedAt,
	// which it reads faster. Such a user is for showing, never for writing
	// back (UpdateUser writes every field).
	FindUserListing(ctx context.Context, filter UserFilter) ([]*User, error)
	// UserListVersion is the version of the org's user list: it grows with
	// every committed transaction that writes the org's users (their teams
	// too) or their second steps, and is 0 before the first.
	UserListVersion(ctx context.Context, orgID int64) (int64, error)
	// CountUsers counts the users filter selects, After and Limit aside,
	// reading at most limit of them: a count of limit means "limit or
	// more".
	CountUsers(ctx context.Context, filter UserFilter, limit int) (int, error)
	// ExportUsers returns up to limit users of the org with IDs above
	// afterID, in ID order, of every status but withdrawn, with their teams
	// and the name of whoever invited them.
	ExportUsers(ctx context.Context, orgID, afterID int64, limit int) ([]*ExportedUser, error)
	// CountExportUsers counts the users an export of the org writes.
	CountExportUsers(ctx context.Context, orgID int64) (int, error)
	// SelectUsers returns the page of users sel selects, in id order.
	SelectUsers(ctx context.Context, sel Selection) ([]*User, error)
	// CountSelectedUsers counts the users sel selects, ignoring its Offset
	// and Limit.
	CountSelectedUsers(ctx context.Context, sel Selection) (int, error)
}

// InvitationTx reads and writes invitation links.
type InvitationTx interface {
	// CreateInvitation writes the link and its expiry on its user. It
	// does not set inv.ID: nothing reads it back before the link is found
	// by its token, and a single link may then go with the transaction's
	// next statement.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// CreateInvitations is CreateInvitation of several links in a few
	// statements.
	CreateInvitations(ctx context.Context, invs []*Invitation) error
	FindInvitationByTokenHash(ctx context.Context, hash []byte) (*Invitation, error)
	// UseInvitation marks a live invitation used and reports whether this
	// call did it (false when another call got there first).
	UseInvitation(ctx context.Context, id int64, now time.Time) (bool, error)
	// RevokeInvitations ends every live invitation of the user.
	RevokeInvitations(ctx context.Context, userID int64, reason string, now time.Time) error
}

// AuditTx writes and reads the audit log.
type AuditTx interface {
	// CreateAuditEvents writes events in a few statements and sets their
	// IDs. With subscribersOf not 0, it returns that org's enabled webhook
	// endpoints too (as FindWebhookSubscribers does), read by the statement
	// that writes the first event: every change writes its audit events
	// and then derives webhook events from them for those endpoints (EVT-1),
	// so the change pays one round trip for both.
	CreateAuditEvents(ctx context.Context, events []*AuditEvent, subscribersOf int64) ([]*WebhookSubscriber, error)
	// QueueAuditEvents writes events whose IDs nothing reads (their org's
	// webhook endpoints want none of them), leaving the IDs 0: on
	// PostgreSQL with the transaction's next statement, as writes that
	// wait for it, not in a round trip of their own.
	QueueAuditEvents(ctx context.Context, events []*AuditEvent) error
	FindAuditEvents(ctx context.Context, filter AuditFilter) ([]*AuditEvent, error)
}

// OutboxTx queues email and keeps its delivery state (INV-6).
type OutboxTx interface {
	// CreateOutboxMessage queues msg, due at once. It does not set msg.ID,
	// so that a single message may go with the transaction's next
	// statement.
	CreateOutboxMessage(ctx context.Context, msg *OutboxMessage) error
	// CreateOutboxMessages is CreateOutboxMessage of several emails in a
	// few statements.
	CreateOutboxMessages(ctx context.Context, msgs []*OutboxMessage) error
	// LeaseOutboxMessages claims up to limit messages that are due at now
	// and not leased by another sender, until the lease ends at until. Two
	// senders, on any instances, never claim the same message.
	LeaseOutboxMessages(ctx context.Context, now, until time.Time, limit int) ([]*OutboxMessage, error)
	// MarkOutboxSent records the messages as sent by via.
	MarkOutboxSent(ctx context.Context, ids []int64, via string, now time.Time) error
	MarkOutboxRetry(ctx context.Context, id int64, next time.Time, lastError string) error
	MarkOutboxFailed(ctx context.Context, id int64, now time.Time, lastError string) error
	// DeleteFinishedOutboxMessages deletes the messages sent, or failed
	// for good, before before; mail still waiting stays, however old.
	DeleteFinishedOutboxMessages(ctx context.Context, before time.Time) (int, error)
	FindOutboxMessages(ctx context.Context, filter OutboxFilter) ([]*OutboxMessage, error)
	FindOutboxMessage(ctx context.Context, orgID, id int64) (*OutboxMessage, error)
}

// SessionTx reads and writes console sessions (AUTH-3).
type SessionTx interface {
	CreateSession(ctx context.Context, s *Session) error
	FindSessionByTokenHash(ctx context.Context, hash []byte) (*Session, error)
	FindUserSessions(ctx context.Context, userID int64) ([]*Session, error)
	TouchSession(ctx context.Context, id int64, now time.Time) error
	DeleteSession(ctx context.Context, userID, id int64) (bool, error)
	// DeleteUserSessions ends every session of the user but keepID (0 for
	// none).
	DeleteUserSessions(ctx context.Context, userID, keepID int64) error
	// EndUserAccess ends at once whatever lets the user in or acts in
	// their name: their live invitations (revoked for reason), password
	// reset links, sessions, browsers remembered to skip their second step
	// (AUTH-7) and API tokens (DEA-1), and their Send As
	// grants (SEND-2; the versions of the permissions concerned
	// incremented). It returns those permissions, without their UserIDs, by
	// From Email.
	EndUserAccess(ctx context.Context, userID int64, reason string, now time.Time) ([]*SendAsPermission, error)
}

// PasswordResetTx reads and writes password reset links (AUTH-2).
type PasswordResetTx interface {
	CreatePasswordReset(ctx context.Context, r *PasswordReset) error
	FindPasswordResetByTokenHash(ctx context.Context, hash []byte) (*PasswordReset, error)
	// UsePasswordResets marks every unused reset link of the user used and
	// reports whether the one with id was among them.
	UsePasswordResets(ctx context.Context, userID, id int64, now time.Time) (bool, error)
	// EndPasswordResets marks every unused reset link of the user used: a
	// link lives no longer than the password and status it was asked for.
	EndPasswordResets(ctx context.Context, userID int64, now time.Time) error
}

// SendAsTx reads and writes Send As permissions and their grants.
type SendAsTx interface {
	// CreateSendAs inserts the permission and its grants.
	CreateSendAs(ctx context.Context, p *SendAsPermission) error
	// UpdateSendAs writes the permission's fields, grants it to the users
	// added, takes it from the users removed and increments its version.
	UpdateSendAs(ctx context.Context, p *SendAsPermission, added, removed []int64) error
	DeleteSendAs(ctx context.Context, orgID, id int64) error
	// FindSendAs finds the org's permission; in a write transaction it
	// locks it until the commit.
	FindSendAs(ctx context.Context, orgID, id int64) (*SendAsPermission, error)
	FindSendAsByEmail(ctx context.Context, orgID int64, email string) (*SendAsPermission, error)
	// FindSendAsPermissions lists the org's permissions by From Email.
	FindSendAsPermissions(ctx context.Context, orgID int64) ([]*SendAsPermission, error)
	// FindSendAsSummaries lists the org's permissions by From Email, and
	// FindSendAsSummary finds one, with their UserCount but not their
	// UserIDs.
	FindSendAsSummaries(ctx context.Context, orgID int64) ([]*SendAsPermission, error)
	FindSendAsSummary(ctx context.Context, orgID, id int64) (*SendAsPermission, error)
	// FindUserSendAs lists the permissions granted to the user, without
	// their users (other people's grants are not the user's business, and
	// one granted with Select All has thousands).
	FindUserSendAs(ctx context.Context, userID int64) ([]*SendAsPermission, error)
	// LockActiveUserIDs lists the IDs of the org's Active users who do not
	// hold the Send As permission without (0 for none), in ID order, and
	// locks their rows: a deactivation, which takes away a user's grants,
	// waits until the grants the transaction writes are there to take.
	LockActiveUserIDs(ctx context.Context, orgID, without int64) ([]int64, error)
}

// ReportTx reads and writes user-list reports and their chunks (AUD-1).
type ReportTx interface {
	CreateReport(ctx context.Context, r *Report) error
	FindReport(ctx context.Context, orgID, id int64) (*Report, error)
	// FindActiveReport finds the org's queued or running report.
	FindActiveReport(ctx context.Context, orgID int64) (*Report, error)
	// FindUserReports lists the newest limit reports the user asked for,
	// newest first.
	FindUserReports(ctx context.Context, orgID, userID int64, limit int) ([]*Report, error)
	// LeaseReport claims the oldest queued report, or a running one whose
	// runner's lease has ended, and marks it running until until.
	LeaseReport(ctx context.Context, now, until time.Time) (*Report, error)
	// UpdateReportProgress records rows written and extends the lease.
	UpdateReportProgress(ctx context.Context, id int64, rowsWritten, rowsTotal int, leaseUntil time.Time) error
	DeleteReportChunks(ctx context.Context, id int64) error
	AppendReportChunk(ctx context.Context, id int64, seq int, data []byte) error
	// ReportChunk returns chunk seq of a report, ENOTFOUND past the last.
	ReportChunk(ctx context.Context, id int64, seq int) ([]byte, error)
	// FinishReport marks the report done if attempt is still its latest
	// run, and reports whether it did.
	FinishReport(ctx context.Context, r *Report, attempt int) (bool, error)
	FailReport(ctx context.Context, id int64, now, expiresAt time.Time, lastError string) error
	// DeleteExpiredReports deletes finished reports that expired before now.
	DeleteExpiredReports(ctx context.Context, now time.Time) (int, error)
}

// IdempotencyTx keeps the outcomes of changes made under an idempotency key.
type IdempotencyTx interface {
	// ClaimIdempotencyKey inserts rec, without its outcome, unless its key
	// exists, and reports whether it did; a record created before
	// expiredBefore is replaced. A transaction that claims a key another
	// uncommitted transaction claimed waits for that one to end.
	ClaimIdempotencyKey(ctx context.Context, rec *IdempotencyRecord, expiredBefore time.Time) (bool, error)
	// CompleteIdempotencyKey stores the outcome of the change of the key
	// that this transaction claimed.
	CompleteIdempotencyKey(ctx context.Context, rec *IdempotencyRecord) error
	// FindIdempotencyRecord finds the record of a key created at or after
	// expiredBefore.
	FindIdempotencyRecord(ctx context.Context, orgID, userID int64, key string, expiredBefore time.Time) (*IdempotencyRecord, error)
	// DeleteExpiredIdempotencyRecords deletes records created before
	// expiredBefore and reports how many.
	DeleteExpiredIdempotencyRecords(ctx context.Context, expiredBefore time.Time) (int, error)
}

// APITokenTx reads and writes API tokens (API-1).
type APITokenTx interface {
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// FindAPITokenByHash finds a token with its creator and its org's
	// user-list version, in one statement.
	FindAPITokenByHash(ctx context.Context, hash []byte) (*APIToken, error)
	// FindAPITokens lists the org's live (unrevoked) tokens, newest first.
	FindAPITokens(ctx context.Context, orgID int64) ([]*APIToken, error)
	RevokeAPIToken(ctx context.Context, orgID, id int64, now time.Time) (bool, error)
	TouchAPIToken(ctx context.Context, id int64, now time.Time) error
}

// SSOTx reads and writes single sign-on (AUTH-6): connections, domains,
// identities, sign-ins in flight, recovery codes and the sessions they
// end.
type SSOTx interface {
	// FindSSOConnection finds the org's connection without a lock: sign-ins
	// and every request read it, and must not wait for each other.
	FindSSOConnection(ctx context.Context, orgID int64) (*SSOConnection, error)
	// LockSSOConnection is FindSSOConnection for a transaction that changes
	// the connection: in a write transaction it locks it until the commit.
	LockSSOConnection(ctx context.Context, orgID int64) (*SSOConnection, error)
	// SaveSSOConnection inserts the connection or writes its every field.
	SaveSSOConnection(ctx context.Context, c *SSOConnection) error
	// FindSSOConnectionsByClient finds the connections with the issuer and
	// client ID, for a back-channel logout token.
	FindSSOConnectionsByClient(ctx context.Context, issuer, clientID string) ([]*SSOConnection, error)

	CreateSSODomain(ctx context.Context, d *SSODomain) error
	// FindSSODomain finds the org's domain; in a write transaction it locks
	// it until the commit.
	FindSSODomain(ctx context.Context, orgID, id int64) (*SSODomain, error)
	// FindSSODomains lists the org's domains by name.
	FindSSODomains(ctx context.Context, orgID int64) ([]*SSODomain, error)
	// FindVerifiedSSODomain finds the verified domain named domain, of
	// whichever organization verified it.
	FindVerifiedSSODomain(ctx context.Context, domain string) (*SSODomain, error)
	// UpdateSSODomain writes the domain's verification and check times. A
	// domain verified by another organization is ECONFLICT.
	UpdateSSODomain(ctx context.Context, d *SSODomain) error
	DeleteSSODomain(ctx context.Context, orgID, id int64) (bool, error)
	// ClaimSSODomainChecks claims up to limit verified domains last checked
	// before before, by setting their check time to now, and returns them;
	// on PostgreSQL it skips domains another instance is claiming.
	ClaimSSODomainChecks(ctx context.Context, before, now time.Time, limit int) ([]*SSODomain, error)

	// CreateSSOIdentity links an identity; an identity linked already, or a
	// user linked to another subject of the issuer, is ECONFLICT.
	CreateSSOIdentity(ctx context.Context, id *SSOIdentity) error
	FindSSOIdentity(ctx context.Context, orgID int64, issuer, subject string) (*SSOIdentity, error)
	// FindUserSSOIdentity finds the user's identity at issuer.
	FindUserSSOIdentity(ctx context.Context, userID int64, issuer string) (*SSOIdentity, error)
	// DeleteSSOIdentity unlinks an identity of the org.
	DeleteSSOIdentity(ctx context.Context, orgID, id int64) error

	CreateSSOLogin(ctx context.Context, l *SSOLogin) error
	FindSSOLogin(ctx context.Context, stateHash []byte) (*SSOLogin, error)
	// UseSSOLogin marks the login used unless it was, and reports whether
	// this call did: a callback is taken once.
	UseSSOLogin(ctx context.Context, id int64, now time.Time) (bool, error)
	// DeleteExpiredSSOLogins deletes logins that expired before now.
	DeleteExpiredSSOLogins(ctx context.Context, now time.Time) (int, error)

	// ReplaceRecoveryCodes deletes the user's recovery codes and stores the
	// hashes as new ones (none: the user has none left).
	ReplaceRecoveryCodes(ctx context.Context, orgID, userID int64, hashes [][]byte, now time.Time) error
	// UseRecoveryCode marks the user's unused code with hash used and
	// reports whether there was one.
	UseRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) (bool, error)
	// CountRecoveryCodes counts the user's unused codes.
	CountRecoveryCodes(ctx context.Context, userID int64) (int, error)

	// DeleteSessionsBySID ends the org's sessions that began at the
	// identity provider's session sid (of the user, when userID is not 0)
	// and returns how many.
	DeleteSessionsBySID(ctx context.Context, orgID, userID int64, sid string) (int, error)
	// DeleteOrgSessions ends every session of the org that began with
	// method and returns how many.
	DeleteOrgSessions(ctx context.Context, orgID int64, method string) (int, error)
}

// SCIMTokenTx reads and writes SCIM tokens (SCIM-1).
type SCIMTokenTx interface {
	CreateSCIMToken(ctx context.Context, t *SCIMToken) error
	FindSCIMTokenByHash(ctx context.Context, hash []byte) (*SCIMToken, error)
	// FindSCIMToken finds the org's token, revoked or not.
	FindSCIMToken(ctx context.Context, orgID, id int64) (*SCIMToken, error)
	// FindSCIMTokens lists the org's live (unrevoked) tokens, newest first.
	FindSCIMTokens(ctx context.Context, orgID int64) ([]*SCIMToken, error)
	RevokeSCIMToken(ctx context.Context, orgID, id int64, now time.Time) (bool, error)
	TouchSCIMToken(ctx context.Context, id int64, now time.Time) error
}

// UserFilter selects users for a listing, in the order Sort and Desc give.
type UserFilter struct {
	OrgID int64
	// Query matches a prefix of the first name, last name, full name or
	// email, ignoring case.
	Query string
	// Status selects one status; empty means every status but withdrawn.
	Status Status
	Role   Role
	TeamID int64
	// PrimaryOnly narrows TeamID to the users whose primary team it is.
	PrimaryOnly bool
	// TwoStep selects the users with ("on") or without ("off") a second
	// factor on; empty selects both (AUTH-7).
	TwoStep string
	// SendAsID, when not zero, selects the users who hold that Send As
	// permission (SendAsHeld) or those who do not. SendAsMany says that
	// many of the users walked hold it (a tenth or more): the walk then
	// looks up each user's grant, which soon fills a page, rather than
	// sorting every holder.
	SendAsID   int64
	SendAsHeld bool
	SendAsMany bool
	// Sort is the order; empty means by name. Desc reverses it.
	Sort UserSort
	Desc bool
	// After is where the page starts: past this user, in the order.
	After *UserCursor
	Limit int
}

// UserSort is an order of the user list: by one column, ties broken by
// name (for role and status) and then by id, so that every order is total
// and a page's last user says exactly where the next page begins.
type UserSort string

// The orders of the user list. Role and status sort by their codes, which
// sort as their labels do (Admin, Basic User, Manager, Owner; Active,
// Deactivated, Pending). Users who never signed in come first in
// last-sign-in order, last when it is reversed.
const (
	SortName       UserSort = "name"
	SortEmail      UserSort = "email"
	SortRole       UserSort = "role"
	SortStatus     UserSort = "status"
	SortInvited    UserSort = "invited"
	SortLastSignIn UserSort = "last_sign_in"
)

// UserSorts lists every order.
var UserSorts = []UserSort{SortName, SortEmail, SortRole, SortStatus, SortInvited, SortLastSignIn}

// ParseUserSort returns the order named s; empty is by name.
func ParseUserSort(s string) (UserSort, bool) {
	if s == "" {
		return SortName, true
	}
	for _, o := range UserSorts {
		if string(o) == s {
			return o, true
		}
	}
	return "", false
}

// Cursor returns the position of u in the order: a page that starts after
// it starts with the user that follows u.
func (o UserSort) Cursor(u *User) *UserCursor {
	c := &UserCursor{SortKey: SearchKey(u.FirstName + " " + u.LastName), ID: u.ID}
	switch o {
	case SortEmail:
		c.Key = NormalizeEmail(u.Email)
	case SortRole:
		c.Key = string(u.Role)
	case SortStatus:
		c.Key = string(u.Status)
	case SortInvited:
		c.Key = strconv.FormatInt(micros(u.InvitedAt), 10)
	case SortLastSignIn:
		c.Key = strconv.FormatInt(micros(u.LastSignInAt), 10)
	}
	return c
}

// micros is t in microseconds since the Unix epoch, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// UserCursor is the position after which a page of users starts: the last
// user's values of the order's columns and their id.
type UserCursor struct {
	// Key is the order's first column unless it is by name: the email key,
	// the role, the status, or a time in microseconds (0 for never).
	Key string
	// SortKey is the name's sort key (SearchKey of the full name): the
	// order's column by name, and the tie-break of role and status.
	SortKey string
	ID      int64
}

// AuditFilter selects audit events, newest first.
type AuditFilter struct {
	OrgID    int64
	ActorID  int64
	TargetID int64
	// TargetType goes with TargetID (TargetUser, TargetTeam…).
	TargetType string
	Action     string
	// OriginPrefix selects events whose origin starts with it, such as
	// SCIMOriginPrefix.
	OriginPrefix string
	Since        time.Time
	Until        time.Time
	BeforeID     int64
	Limit        int
}
