package muster

import "time"

// Status is where a user is in the lifecycle (SPEC §3).
type Status string

const (
	StatusPending     Status = "pending"
	StatusActive      Status = "active"
	StatusDeactivated Status = "deactivated"
	// StatusWithdrawn marks an invitation that was withdrawn. Such users leave
	// the user list; the record stays for the audit trail.
	StatusWithdrawn Status = "withdrawn"
)

// ParseStatus returns the status named s.
func ParseStatus(s string) (Status, bool) {
	switch Status(s) {
	case StatusPending, StatusActive, StatusDeactivated, StatusWithdrawn:
		return Status(s), true
	}
	return "", false
}

// Label is the status as the console shows it.
func (s Status) Label() string {
	switch s {
	case StatusPending:
		return "Pending"
	case StatusActive:
		return "Active"
	case StatusDeactivated:
		return "Deactivated"
	case StatusWithdrawn:
		return "Withdrawn"
	}
	return string(s)
}

// HoldsSeat reports whether a user in this status holds a license seat (LIC-1).
func (s Status) HoldsSeat() bool { return s == StatusPending || s == StatusActive }

// Org is a customer account.
type Org struct {
	ID           int64
	Name         string
	Region       string
	LicenseTotal int
	// SeatsUsed counts Pending and Active users. It is kept in the same
	// transaction as every change of status so the seat check stays O(1).
	SeatsUsed    int
	EmailAtScale bool
	CreatedAt    time.Time
	// Version increases with every change of the settings (license total,
	// Email at Scale), not of SeatsUsed; it backs the API's If-Match.
	Version int64
	// SSOEnabled says that the org's single sign-on connection is on, so
	// its invitations offer it. Read with the org, written with the
	// connection.
	SSOEnabled bool
}

// SeatsFree is the number of seats left.
func (o *Org) SeatsFree() int { return max(o.LicenseTotal-o.SeatsUsed, 0) }

// User is a person in one organization.
type User struct {
	ID        int64
	OrgID     int64
	Email     string
	FirstName string
	LastName  string
	Role      Role
	Status    Status
	// PasswordHash is never encoded: a user is stored as the outcome of a
	// change (an idempotency record) and must not carry it there.
	PasswordHash  string `json:"-"`
	InvitedAt     time.Time
	InvitedByID   int64 // 0 when created by an operator or the first-run page
	ActivatedAt   time.Time
	DeactivatedAt time.Time
	LastSignInAt  time.Time
	UpdatedAt     time.Time
	// Version increases with every change; it backs optimistic concurrency
	// (ETag/If-Match) in the API.
	Version int64

	PrimaryTeamID    int64
	SecondaryTeamIDs []int64

	// ExternalID is the identity provider's own id of the user, which SCIM
	// stores and filters on (SCIM-1); empty when none was given.
	ExternalID string
	// SCIMDeletedAt is when an identity provider deleted the user through
	// SCIM: the user was deactivated (or their invitation withdrawn) then,
	// SCIM answers 404 for them since, and the console keeps them and their
	// history. Zero otherwise; an invitation again clears it.
	SCIMDeletedAt time.Time

	// InvitationExpiresAt is when a Pending user's newest link expires;
	// listings fill it.
	InvitationExpiresAt time.Time
	// TwoStep says the user has a second factor on (AUTH-7); read with the
	// user, so that a page of the list needs no second query for it.
	TwoStep bool
}

// InvitationExpired reports whether a Pending user's link has expired: they
// stay Pending, shown as expired, and can be sent a new one (INV-4).
func (u *User) InvitationExpired(now time.Time) bool {
	return u.Status == StatusPending && !u.InvitationExpiresAt.IsZero() && !now.Before(u.InvitationExpiresAt)
}

// Name is the user's full name.
func (u *User) Name() string {
	switch {
	case u.FirstName == "":
		return u.LastName
	case u.LastName == "":
		return u.FirstName
	}
	return u.FirstName + " " + u.LastName
}

// ExportedUser is a user as the audit user list shows them.
type ExportedUser struct {
	User
	InvitedByName string
}

// Team is a named group of users in an organization.
type Team struct {
	ID        int64
	OrgID     int64
	Name      string
	IsDefault bool
	CreatedAt time.Time
	// Version increases when the team is renamed or its external ID
	// changes, and when an edit of the team (a SCIM group's PUT or PATCH)
	// changes its members; not when people join or leave it through their
	// own edits, invitations and deactivations, which do not write the
	// team's row (docs/benchmarks.md, round 9). It backs the API's and
	// SCIM's If-Match.
	Version int64
	// UpdatedAt is when Version last increased (CreatedAt until then).
	UpdatedAt time.Time
	// ExternalID is the identity provider's own id of the team (a SCIM
	// group's externalId); empty when none was given.
	ExternalID string

	// Counts of the Pending and Active users who have the team as their
	// primary and as a secondary team, kept by the store with every change
	// of a membership or a status.
	PrimaryCount   int
	SecondaryCount int
}

// TeamName is a team's name with its id and whether it is the Default
// Team: what a form's choices and a page's names of teams need, without the
// counts and the rest of a Team, which a list of thousands of teams would
// read for nothing.
type TeamName struct {
	ID        int64
	Name      string
	IsDefault bool
}

// DefaultTeamName is the name of the team every organization starts with.
const DefaultTeamName = "Default Team"

// Invitation is a single-use link that lets a Pending user set a password.
type Invitation struct {
	ID        int64
	OrgID     int64
	UserID    int64
	TokenHash []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
	RevokedAt time.Time
	// RevokedReason says why a link stopped working: "superseded" by a
	// resend, "withdrawn", or "deactivated".
	RevokedReason string
}

// Invitation link states, the Reason of the EGONE error for a dead link.
const (
	LinkExpired    = "expired"
	LinkUsed       = "used"
	LinkSuperseded = "superseded"
	LinkWithdrawn  = "withdrawn"
	LinkInactive   = "inactive"
)

// AuditEvent records who did what to whom (LOG-1).
type AuditEvent struct {
	ID          int64
	OrgID       int64
	ActorID     int64 // 0 for the system or an operator
	ActorLabel  string
	Action      string
	TargetType  string
	TargetID    int64
	TargetLabel string
	Before      map[string]any
	After       map[string]any
	Origin      string
	CreatedAt   time.Time
}

// Audit target types: what an event's TargetID names.
const (
	TargetUser      = "user"
	TargetTeam      = "team"
	TargetOrg       = "org"
	TargetSendAs    = "send_as"
	TargetAPIToken  = "api_token"
	TargetReport    = "report"
	TargetSCIMToken = "scim_token"
	TargetWebhook   = "webhook"
)

// Audit actions.
const (
	ActionOrgCreated          = "org.created"
	ActionLicenseTotalChanged = "org.license_total_changed"
	ActionOwnershipMoved      = "org.ownership_transferred"
	ActionUserInvited         = "user.invited"
	ActionUserReinvited       = "user.invited_again"
	ActionInviteResent        = "user.invite_resent"
	ActionInviteWithdrawn     = "user.invite_withdrawn"
	ActionUserActivated       = "user.activated"
	ActionUserUpdated         = "user.updated"
	ActionUserDeactivated     = "user.deactivated"
	ActionPasswordChanged     = "user.password_changed"
	ActionPasswordReset       = "user.password_reset"
	ActionAPITokenCreated     = "api_token.created"
	ActionAPITokenRevoked     = "api_token.revoked"
	ActionEmailAtScaleChanged = "org.email_at_scale_changed"
	ActionSendAsCreated       = "send_as.created"
	ActionSendAsUpdated       = "send_as.updated"
	ActionSendAsAssigned      = "send_as.assigned"
	ActionSendAsUnassigned    = "send_as.unassigned"
	ActionSendAsDeleted       = "send_as.deleted"
	// ActionSendAsRevoked: a deactivated user's grants were removed, one
	// event for all of their permissions.
	ActionSendAsRevoked   = "send_as.revoked"
	ActionReportRequested = "report.requested"
	ActionTeamCreated     = "team.created"
	ActionTeamRenamed     = "team.renamed"
	ActionTeamRemoved     = "team.removed"
	// ActionSessionsEnded: every session of the user was ended ("Sign out
	// everywhere").
	ActionSessionsEnded = "user.signed_out_everywhere"
	// ActionSessionRevoked: a user ended one of their own sessions (a
	// browser they no longer use, or do not know) from their Sessions page.
	ActionSessionRevoked = "user.session_revoked"
	// ActionInviteLinkCopied: an Owner or Admin took a Pending user's
	// invitation link to pass it on themself; older links stopped working.
	ActionInviteLinkCopied = "user.invite_link_copied"
	// ActionTeamExternalIDChanged: an identity provider set or cleared a
	// team's external ID (SCIM).
	ActionTeamExternalIDChanged = "team.external_id_changed"
	// ActionUserSCIMDeleted: an identity provider deleted the user through
	// SCIM (after deactivating them or withdrawing their invitation).
	ActionUserSCIMDeleted  = "user.scim_deleted"
	ActionSCIMTokenCreated = "scim_token.created"
	ActionSCIMTokenRevoked = "scim_token.revoked"
)

// Audit actions of webhook endpoints (EVT-1).
const (
	ActionWebhookCreated       = "webhook.created"
	ActionWebhookUpdated       = "webhook.updated"
	ActionWebhookSecretRotated = "webhook.secret_rotated"
	ActionWebhookDeleted       = "webhook.deleted"
	// ActionWebhookDisabled: Muster disabled an endpoint that answered 410
	// Gone or failed for WebhookFailingLimit.
	ActionWebhookDisabled    = "webhook.disabled"
	ActionWebhookRedelivered = "webhook.redelivered"
)

// OutboxMessage is an email waiting to be sent, written in the same
// transaction as the change that causes it (INV-6).
type OutboxMessage struct {
	ID        int64
	OrgID     int64
	MessageID string
	To        string
	Subject   string
	Text      string
	HTML      string
	CreatedAt time.Time
	// Private says that the body is for its recipient alone: it carries a
	// secret, such as a password reset link, that lets whoever reads it act
	// as them. The Owner's mailbox shows that it was sent, never what it
	// says; the sender delivers it as it is.
	Private bool
	// Bulk puts the message in the outbox's bulk lane: an import's
	// invitations, which the sender interleaves with other mail so that
	// neither waits for all of the other.
	Bulk bool

	// Delivery state, kept by the sender.
	NextAttemptAt time.Time
	Attempts      int
	SentAt        time.Time
	FailedAt      time.Time
	LastError     string
	DeliveredVia  string
}
