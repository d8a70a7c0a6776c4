package muster

import (
	"strconv"
	"time"
)

// SCIMToken lets an identity provider (Okta, Entra ID…) provision the users
// and teams of one organization over SCIM (SCIM-1). It acts as
// RoleProvisioner, not as the person who created it, and works until it is
// revoked. Only the hash of the secret is kept. It is not an API token: each
// works only on its own interface.
type SCIMToken struct {
	ID        int64
	OrgID     int64
	Name      string
	TokenHash []byte
	// CreatedByID is the Owner or Admin who created it; 0 for an operator.
	CreatedByID int64
	// CreatedBy names who created it, as they were then ("Olive Owner
	// <olive@example.com>", "Operator").
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// SCIMTokenPrefix starts every SCIM token, so that a leaked one is easy to
// recognise, and is never taken for an API token (APITokenPrefix).
const SCIMTokenPrefix = "mscim_"

// SCIMOrigin is how the audit log names a change a SCIM token made: "scim
// token 3". The Provisioning page lists the events whose origin starts with
// SCIMOriginPrefix.
func SCIMOrigin(tokenID int64) string { return SCIMOriginPrefix + strconv.FormatInt(tokenID, 10) }

// SCIMOriginPrefix starts the origin of every change made through SCIM.
const SCIMOriginPrefix = "scim token "

// Condition selects users or teams by their attributes: the queries that
// identity providers make (SCIM filters), in the domain's words. A
// condition is a comparison (Attr, Op, Value) or, for CondAnd and CondOr,
// the conjunction or disjunction of Of.
type Condition struct {
	Op    CondOp
	Attr  string
	Value string
	Of    []Condition
}

// CondOp is how a Condition compares, or combines its parts.
type CondOp string

const (
	CondEqual    CondOp = "eq" // Attr equals Value (ignoring case for emails and team names)
	CondPrefix   CondOp = "sw" // Attr starts with Value
	CondContains CondOp = "co" // Attr contains Value
	CondAnd      CondOp = "and"
	CondOr       CondOp = "or"
)

// The attributes a Condition compares. Users are compared on AttrID,
// AttrEmail (ignoring case; every op) and AttrExternalID; teams on AttrID,
// AttrName (ignoring case), AttrExternalID and AttrMember (a Pending or
// Active user's id who has the team as primary or secondary team).
const (
	AttrID         = "id"
	AttrEmail      = "email"
	AttrExternalID = "external_id"
	AttrName       = "name"
	AttrMember     = "member"
)

// Selection selects a page of an org's users or teams by a condition, for
// an identity provider and the teams' lists. Users are selected in id
// order, and users deleted through SCIM never are; every other status is,
// withdrawn invitations included (they are the IdP's inactive users).
// Teams are selected in the order of the team list.
type Selection struct {
	OrgID int64
	// Where is the condition; nil selects every user.
	Where *Condition
	// AfterTeam, for teams only, starts the page after that team instead
	// of at Offset: a page by its cursor, which stays in place when teams
	// are added or removed before it.
	AfterTeam *TeamCursor
	Offset    int
	Limit     int
}

// TeamCursor is a team's place in the order of team lists: the Default
// Team first, then the others by NameKey (SearchKey of the name, unique in
// an org).
type TeamCursor struct {
	Default bool
	NameKey string
}

// Member is a Pending or Active user who has a team as primary or
// secondary team, as a SCIM group lists them.
type Member struct {
	UserID int64
	Name   string
}
